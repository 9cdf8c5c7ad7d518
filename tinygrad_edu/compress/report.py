"""The compression report: size, accuracy and speed of each method on the shipped digits.

    python -m tinygrad_edu compress [--epochs N] [--seed S] [--quick]

One CNN (the command line's ``cnn``: Conv 1→16, Conv 16→32, Linear 128→10) is trained on the
digits training split (the same fixed split as ``python -m tinygrad_edu train``) and then:

    float32        the trained model as it is
    pruned 50/80%  global magnitude pruning, then fine-tuning with the masks held
    int8           ``quantize_int8``: int8 weights with per-output-channel scales
    student        a small MLP (Flatten → Linear 64→16 → ReLU → Linear 16→10), trained alone
    distilled      the same student, same initial weights, trained by ``distill`` from the CNN
                   (students train for twice the CNN's epochs: they learn more slowly)

Accuracy is on the test split. Sizes are bytes of parameters and buffers
(``model_size_bytes``); a pruned model is also given the bytes of a sparse format:
bitmask + nonzero values (``sparse_size_bytes``), which is smaller than a list of
(index, value) pairs at these densities (⌈n/8⌉ + 4·nnz versus 6·nnz with 16-bit indices
once more than 1 in 16 weights survive). Inference time is the median over several runs
of one forward pass on the whole test split, float32 model and int8 model in the same
process, so the ratio is meaningful on a shared machine; the test images are repeated to
``TIMING_IMAGES`` rows so that the layers' arithmetic, not Python overhead, dominates. The
int8 row's note also gives the time inside the conv/linear layers alone, the only ones
that run int8 arithmetic (ReLU and pooling stay float32 in both models).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import cli, data, nn, optim, random, training
from ..autograd import no_grad
from ..tensor import Tensor
from .distill import distill
from .prune import prune_magnitude, remove_pruning, sparse_size_bytes, sparsity
from .quantize import QuantizedConv2d, QuantizedLinear, model_size_bytes, quantize_int8

BATCH_SIZE = 32
TEACHER_LR, FINETUNE_LR, STUDENT_LR = 1e-2, 1e-3, 1e-2
DEFAULT_EPOCHS, QUICK_EPOCHS = 15, 2
PRUNE_RATES = (0.5, 0.8)
STUDENT_HIDDEN = 16
TIMING_IMAGES = 2048
T, ALPHA = 4.0, 0.9
Row = dict[str, Any]
COLUMNS = (("method", "method", "{}"), ("accuracy", "test acc", "{:.4f}"), ("sparsity", "sparsity", "{:.0%}"),
           ("size_bytes", "bytes (dense)", "{:,}"), ("sparse_bytes", "bytes (sparse)", "{:,}"),
           ("ms", "ms/forward", "{:.2f}"), ("note", "note", "{}"))


def _loader(split: tuple[np.ndarray, np.ndarray], batch_size: int, shuffle: bool = False) -> data.DataLoader:
    return data.DataLoader(data.TensorDataset(*split), batch_size=batch_size, shuffle=shuffle)


def _accuracy(model: nn.Module, split: tuple[np.ndarray, np.ndarray]) -> float:
    y_true, y_pred = training.predict(model, _loader(split, 512))
    return float(np.mean(y_true == y_pred))


class _LayerClock:
    """Adds up the seconds spent inside chosen layers, through forward pre-hooks and hooks."""

    def __init__(self, model: nn.Module, layer_types: tuple[type, ...]) -> None:
        self.seconds, self._started = 0.0, 0.0
        for layer in model.modules():
            if isinstance(layer, layer_types):
                layer.register_forward_pre_hook(self._start)
                layer.register_forward_hook(self._stop)

    def _start(self, module: nn.Module, args: tuple) -> None:
        self._started = time.perf_counter()

    def _stop(self, module: nn.Module, args: tuple, output: Any) -> None:
        self.seconds += time.perf_counter() - self._started


def _median_forward_ms(models: Sequence[nn.Module], x: np.ndarray, repeats: int,
                       layer_types: tuple[type, ...]) -> list[tuple[float, float]]:
    """For each model, the median milliseconds of one forward pass over ``x`` and of the part
    spent in its ``layer_types`` layers (after a warm-up pass).

    The models take turns within each round, so a slow spell of the shared machine hits
    them alike. The hooks that time the layers go on copies, so the models stay as they were."""
    models = [copy.deepcopy(model).eval() for model in models]
    clocks = [_LayerClock(model, layer_types) for model in models]
    batch = Tensor(x)
    times: list[list[tuple[float, float]]] = [[] for _ in models]
    with no_grad():
        for model in models:
            model(batch)
        for _ in range(repeats):
            for model, clock, model_times in zip(models, clocks, times):
                clock.seconds = 0.0
                start = time.perf_counter()
                model(batch)
                model_times.append((time.perf_counter() - start, clock.seconds))
    return [tuple(1000 * statistics.median(column) for column in zip(*model_times)) for model_times in times]


def _train(model: nn.Module, splits: dict, epochs: int, lr: float, distill_from: nn.Module | None = None) -> None:
    loader = _loader(splits["train"], BATCH_SIZE, shuffle=True)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    if distill_from is None:
        training.fit(model, loader, nn.CrossEntropyLoss(), optimizer, epochs, progress=False)
    else:
        distill(model, distill_from, loader, optimizer, epochs, T=T, alpha=ALPHA, progress=False)


def _student(input_features: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(input_features, STUDENT_HIDDEN), nn.ReLU(),
                         nn.Linear(STUDENT_HIDDEN, cli.NUM_CLASSES))


def compression_report(epochs: int = DEFAULT_EPOCHS, seed: int = 0, finetune_epochs: int | None = None,
                       repeats: int = 15) -> list[Row]:
    """Train the digits CNN, compress it every way, and return one row per model.

    ``epochs`` trains the CNN (each student: twice as many); pruned models are fine-tuned for
    ``finetune_epochs`` (default: a third of ``epochs``, at least 1); ``repeats`` forward
    passes are timed. Row keys: method, accuracy, size_bytes, and where they apply
    sparsity, sparse_bytes (bitmask + nonzero values), ms (median time of one forward pass
    over TIMING_IMAGES test images) and layers_ms (the part of it spent in the Linear/Conv2d
    layers or their int8 versions), note.
    """
    if epochs < 1 or repeats < 1:
        raise ValueError(f"compression_report: epochs and repeats must be >= 1, got {epochs} and {repeats}")
    finetune_epochs = max(1, epochs // 3) if finetune_epochs is None else finetune_epochs
    splits = cli.load_splits("digits")
    input_shape = tuple(int(s) for s in splits["train"][0].shape[1:])
    x_test = splits["test"][0]
    x_timing = np.resize(x_test, (TIMING_IMAGES, *input_shape))  # the test images, repeated

    random.manual_seed(seed)
    teacher = cli.build_model("cnn", input_shape)
    _train(teacher, splits, epochs, TEACHER_LR)
    base_accuracy = _accuracy(teacher, splits["test"])
    rows = [{"method": "float32 CNN", "accuracy": base_accuracy, "size_bytes": model_size_bytes(teacher),
             "note": f"{epochs} epochs Adam; ms for {TIMING_IMAGES} images"}]

    for rate in PRUNE_RATES:
        pruned = cli.build_model("cnn", input_shape)
        pruned.load_state_dict(teacher.state_dict())
        prune_magnitude(pruned, rate, scope="global")
        before = _accuracy(pruned, splits["test"])
        _train(pruned, splits, finetune_epochs, FINETUNE_LR)
        row = {"method": f"pruned {rate:.0%} + fine-tune", "accuracy": _accuracy(pruned, splits["test"]),
               "sparsity": sparsity(pruned)["global"], "sparse_bytes": sparse_size_bytes(pruned),
               "note": f"{before:.4f} right after pruning; fine-tuned {finetune_epochs} epoch(s)"}
        row["size_bytes"] = model_size_bytes(remove_pruning(pruned))
        rows.append(row)

    quantized = quantize_int8(teacher, inplace=False)
    weighted_layers = (nn.Linear, nn.Conv2d, QuantizedLinear, QuantizedConv2d)
    (float_ms, float_layers_ms), (int8_ms, int8_layers_ms) = _median_forward_ms([teacher, quantized], x_timing,
                                                                                repeats, weighted_layers)
    rows[0].update(ms=float_ms, layers_ms=float_layers_ms)
    rows.append({"method": "int8 CNN", "accuracy": _accuracy(quantized, splits["test"]),
                 "size_bytes": model_size_bytes(quantized), "ms": int8_ms, "layers_ms": int8_layers_ms,
                 "note": f"{float_ms / int8_ms:.2f}x float32 speed; conv+linear layers "
                         f"{int8_layers_ms:.1f} vs {float_layers_ms:.1f} ms ({float_layers_ms / int8_layers_ms:.2f}x)"})

    random.manual_seed(seed + 1)
    alone = _student(int(np.prod(input_shape)))
    distilled = _student(int(np.prod(input_shape)))
    distilled.load_state_dict(alone.state_dict())  # same start: the loss is the only difference
    _train(alone, splits, 2 * epochs, STUDENT_LR)
    _train(distilled, splits, 2 * epochs, STUDENT_LR, distill_from=teacher)
    for name, student, note in (("student alone", alone, f"{2 * epochs} epochs cross-entropy on labels"),
                                ("student distilled", distilled, f"from the float32 CNN, T={T:g}, alpha={ALPHA:g}")):
        rows.append({"method": name, "accuracy": _accuracy(student, splits["test"]),
                     "size_bytes": model_size_bytes(student), "note": note})
    return rows


def format_report(rows: Sequence[Row]) -> str:
    """The rows as an aligned text table (empty cells where a column does not apply)."""
    cells = [[title for _, title, _ in COLUMNS]]
    cells += [[fmt.format(row[key]) if row.get(key) is not None else "" for key, _, fmt in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i in (0, len(COLUMNS) - 1) else c.rjust(w)
                       for i, (c, w) in enumerate(zip(line, widths))).rstrip() for line in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def run_command(args: argparse.Namespace) -> list[Row]:
    """``python -m tinygrad_edu compress``: print the table (``--quick``: a few seconds)."""
    epochs = args.epochs if args.epochs is not None else (QUICK_EPOCHS if args.quick else DEFAULT_EPOCHS)
    started = time.perf_counter()
    rows = compression_report(epochs=epochs, seed=args.seed, repeats=3 if args.quick else 15)
    print(format_report(rows))
    print(f"\naccuracy on the digits test split; {epochs} epochs; {time.perf_counter() - started:.1f} s")
    return rows
