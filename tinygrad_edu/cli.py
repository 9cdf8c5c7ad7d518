"""``python -m tinygrad_edu``: train, evaluate and benchmark from the command line.

    python -m tinygrad_edu train                      # a small CNN on the shipped digits
    python -m tinygrad_edu train --model mlp --epochs 5 --out runs/mlp
    python -m tinygrad_edu evaluate runs/cnn-digits   # accuracy, per-class P/R/F1, confusion matrix
    python -m tinygrad_edu bench                      # the scripts in benchmarks/
    python -m tinygrad_edu compress --quick           # pruning / int8 / distillation report

``train`` splits the data into training/validation/test sets with a fixed seed
(``SPLIT_SEED``, independent of ``--seed``), so ``evaluate`` later sees the same test set.
It writes ``OUT/model.safetensors`` (the model's state dict, with the model name and
input shape in the metadata), ``OUT/metrics.json``, the per-epoch checkpoint and, when
matplotlib is installed, ``OUT/history.png``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import data, datasets, metrics, nn, optim, random, serialization, training

SPLIT_SEED = 0  # the train/val/test split of the digits never changes, whatever --seed says
VAL_FRACTION = TEST_FRACTION = 0.15
NUM_CLASSES = 10
MODELS = ("cnn", "mlp", "lstm")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad")
DEFAULTS = {"model": "cnn", "dataset": "digits", "epochs": 15, "batch_size": 32, "optimizer": "adam",
            "lr": 1e-2, "seed": 0}
MODEL_FILE, METRICS_FILE = "model.safetensors", "metrics.json"


class UsageError(Exception):
    """A problem with what the user asked for: printed as one line, no traceback."""


# ---- models --------------------------------------------------------------------------

class RowLSTM(nn.Module):
    """Reads an image row by row: x (N, C, H, W) → a sequence of H vectors of size C·W → LSTM → Linear."""

    def __init__(self, row_features: int, hidden_size: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(row_features, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.shape
        rows = x.permute(0, 2, 1, 3).reshape(n, h, c * w)
        _, (h_n, _) = self.lstm(rows)
        return self.head(h_n[-1])  # the last layer's hidden state after the last row


def build_model(name: str, input_shape: Sequence[int]) -> Any:
    """The command line's models for (1, H, W) images and ten classes.

    cnn:  Conv(1→16, 3x3) ReLU MaxPool2 → Conv(16→32, 3x3) ReLU MaxPool2 → Flatten → Linear(→10)
    mlp:  Flatten → Linear(H·W → 128) ReLU → Linear(128 → 10)
    lstm: the image's H rows as a sequence of W-vectors → LSTM(W → 64) → Linear(64 → 10) on the last hidden state
    """
    channels, height, width = input_shape
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * (height // 4) * (width // 4), NUM_CLASSES),
        )
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, 128), nn.ReLU(),
                             nn.Linear(128, NUM_CLASSES))
    if name == "lstm":
        return RowLSTM(channels * width, 64)
    raise UsageError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def build_optimizer(name: str, parameters: Any, lr: float) -> Any:
    """The optimiser called ``name`` over ``parameters`` with learning rate ``lr``."""
    classes = {"adam": optim.Adam, "adamw": optim.AdamW, "sgd": optim.SGD, "rmsprop": optim.RMSprop,
               "adagrad": optim.Adagrad}
    if name not in classes:
        raise UsageError(f"unknown optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")
    if name == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=0.9)
    return classes[name](parameters, lr=lr)


# ---- data ----------------------------------------------------------------------------

def load_splits(dataset: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (x, y), "val": ..., "test": ...}`` for ``digits`` or an MNIST folder.

    digits: one fixed split (SPLIT_SEED) of the 1,797 images into 70/15/15 %.
    MNIST:  the t10k files are the test set; 15 % of the training files (fixed seed) validate.
    """
    if dataset == "digits":
        x, y = datasets.load_digits()
        train, val, test = data.train_val_test_split(x, y, val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION,
                                                     seed=SPLIT_SEED)
        return {"train": train, "val": val, "test": test}
    folder = Path(dataset)
    if not folder.is_dir():
        raise UsageError(f"--dataset must be 'digits' or a folder with MNIST IDX files; {dataset!r} is neither")
    train_set, test_set = datasets.MNIST(folder, train=True), datasets.MNIST(folder, train=False)
    everything = np.arange(len(train_set))
    train_rows, val_rows, _ = data.train_val_test_split(everything, val_fraction=VAL_FRACTION, test_fraction=0.0,
                                                        seed=SPLIT_SEED)
    return {"train": train_set.get_batch(train_rows), "val": train_set.get_batch(val_rows),
            "test": test_set.get_batch(np.arange(len(test_set)))}


def _loader(split: tuple[Any, Any], batch_size: int, shuffle: bool = False) -> data.DataLoader:
    return data.DataLoader(data.TensorDataset(*split), batch_size=batch_size, shuffle=shuffle)


def _dataset_name(dataset: str) -> str:
    return "digits" if dataset == "digits" else "mnist"


# ---- commands ------------------------------------------------------------------------

def train(args: argparse.Namespace) -> dict[str, Any]:
    """Train, evaluate on the test split, write the model and metrics; return the metrics."""
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        raise UsageError("--epochs and --batch-size must be >= 1 and --lr > 0")
    started = time.perf_counter()
    splits = load_splits(args.dataset)
    input_shape = tuple(int(s) for s in splits["train"][0].shape[1:])
    random.manual_seed(args.seed)
    model = build_model(args.model, input_shape)
    optimizer = build_optimizer(args.optimizer, model.parameters(), args.lr)
    out = Path(args.out or f"runs/{args.model}-{_dataset_name(args.dataset)}")
    out.mkdir(parents=True, exist_ok=True)
    history = training.fit(
        model, _loader(splits["train"], args.batch_size, shuffle=True), nn.CrossEntropyLoss(), optimizer,
        args.epochs, val_loader=_loader(splits["val"], 256), metrics=("accuracy",),
        checkpoint_dir=out, resume=args.resume, progress=not args.no_progress,
    )
    y_true, y_pred = training.predict(model, _loader(splits["test"], 256))
    seconds = time.perf_counter() - started
    result = {
        "test_accuracy": metrics.accuracy(y_true, y_pred),
        "test_f1_macro": metrics.f1_score(y_true, y_pred, average="macro"),
        "history": history.history,
        "seconds": round(seconds, 2),
        "config": {"model": args.model, "dataset": args.dataset, "epochs": args.epochs,
                   "batch_size": args.batch_size, "optimizer": args.optimizer, "lr": args.lr, "seed": args.seed,
                   "split_seed": SPLIT_SEED, "input_shape": list(input_shape)},
    }
    serialization.save(model.state_dict(), out / MODEL_FILE,
                       metadata={"model": args.model, "input_shape": json.dumps(list(input_shape)),
                                 "dataset": args.dataset})
    serialization.atomic_write_bytes(out / METRICS_FILE, [json.dumps(result, indent=2).encode()])
    print(f"test accuracy {result['test_accuracy']:.4f} ({len(y_true)} images) in {seconds:.1f} s; "
          f"wrote {out / MODEL_FILE} and {out / METRICS_FILE}")
    return result


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Print accuracy, per-class precision/recall/F1 and the confusion matrix of a saved model."""
    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise UsageError(f"no model file at {path} (give the file or the --out folder of `train`)")
    info = serialization.load_metadata(path)
    if "model" not in info or "input_shape" not in info:
        raise UsageError(f"{path} was not written by `python -m tinygrad_edu train` (no model name in its metadata)")
    model = build_model(info["model"], json.loads(info["input_shape"]))
    model.load_state_dict(serialization.load(path))
    dataset = args.dataset or info.get("dataset", "digits")
    y_true, y_pred = training.predict(model, _loader(load_splits(dataset)["test"], 256))
    report = classification_report(y_true, y_pred)
    print(f"{info['model']} on the {_dataset_name(dataset)} test split ({len(y_true)} images)\n{report['text']}")
    return report


def classification_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix, with a printable table."""
    per_class = {name: getattr(metrics, name)(y_true, y_pred, average=None, num_classes=NUM_CLASSES)
                 for name in ("precision", "recall", "f1_score")}
    matrix = metrics.confusion_matrix(y_true, y_pred, num_classes=NUM_CLASSES)
    accuracy = metrics.accuracy(y_true, y_pred)
    lines = [f"accuracy {accuracy:.4f}", "", "class  precision  recall  f1-score  support"]
    for c in range(NUM_CLASSES):
        lines.append(f"{c:>5}  {per_class['precision'][c]:>9.4f}  {per_class['recall'][c]:>6.4f}  "
                     f"{per_class['f1_score'][c]:>8.4f}  {matrix[c].sum():>7}")
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)",
              "      " + " ".join(f"{c:>4}" for c in range(NUM_CLASSES))]
    lines += [f"{c:>5} " + " ".join(f"{v:>4}" for v in row) for c, row in enumerate(matrix)]
    return {"accuracy": accuracy, **{k: v.tolist() for k, v in per_class.items()},
            "confusion_matrix": matrix.tolist(), "text": "\n".join(lines)}


def benchmarks_folder() -> Path:
    """``benchmarks/`` of the source checkout (next to the package), or of the current directory."""
    for folder in (Path(__file__).resolve().parent.parent / "benchmarks", Path.cwd() / "benchmarks"):
        if folder.is_dir():
            return folder
    return Path.cwd() / "benchmarks"


def bench(args: argparse.Namespace) -> int:
    """Run each ``benchmarks/bench_*.py`` (or those named) in its own process; return the exit code."""
    folder = benchmarks_folder()
    scripts = sorted(folder.glob("bench_*.py")) if folder.is_dir() else []
    if args.names:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in args.names}
        missing = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if missing:
            raise UsageError(f"no benchmark(s) {', '.join(sorted(missing))} in {folder}; "
                             f"available: {', '.join(s.stem for s in scripts) or 'none'}")
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    if not scripts:
        print(f"no benchmarks to run: {folder} holds no bench_*.py scripts (they ship with the source "
              f"checkout, not the installed package)")
        return 1
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=folder.parent).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


# ---- argument parsing ----------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (argparse prints the whole usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def make_parser() -> argparse.ArgumentParser:
    """The parser for ``python -m tinygrad_edu`` and its subcommands."""
    parser = _Parser(prog="python -m tinygrad_edu", description="Train, evaluate and benchmark tinygrad_edu models.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    t = commands.add_parser("train", help="train a model and report its test accuracy",
                            description="Train a model on the shipped digits (or MNIST files), evaluate it on the "
                                        "test split, and write OUT/model.safetensors and OUT/metrics.json.")
    t.add_argument("--model", choices=MODELS, default=DEFAULTS["model"],
                   help="cnn: two conv+pool layers; mlp: one hidden layer of 128; lstm: reads images row by row "
                        "(default: %(default)s)")
    t.add_argument("--dataset", default=DEFAULTS["dataset"], metavar="digits|PATH",
                   help="'digits' (1,797 8x8 images shipped in the package) or a folder holding the four MNIST IDX "
                        "files (raw or .gz) (default: %(default)s)")
    t.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                   help="passes over the training set (default: %(default)s)")
    t.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"],
                   help="samples per gradient step (default: %(default)s)")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS["optimizer"],
                   help="update rule; sgd uses momentum 0.9 (default: %(default)s)")
    t.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="learning rate (default: %(default)s)")
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="seed for initialisation and shuffling; the data split is fixed separately "
                        "(default: %(default)s)")
    t.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default: runs/MODEL-DATASET) for model.safetensors, metrics.json, "
                        "checkpoint.safetensors and history.png")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors if present")
    t.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")

    e = commands.add_parser("evaluate", help="accuracy, per-class precision/recall/F1 and confusion matrix",
                            description="Evaluate a model written by `train` on its dataset's test split.")
    e.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a model.safetensors written by `train`, or the folder holding it")
    e.add_argument("--dataset", default=None, metavar="digits|PATH",
                   help="dataset to evaluate on (default: the one the model was trained on)")

    b = commands.add_parser("bench", help="run the benchmark scripts in benchmarks/",
                            description="Run benchmarks/bench_*.py, each in its own process.")
    b.add_argument("names", nargs="*", metavar="NAME", help="only these benchmarks (e.g. matmul for bench_matmul.py)")

    c = commands.add_parser("compress", help="size/accuracy/speed report of pruning, int8 and distillation",
                            description="Train the digits CNN, then prune it (50%%, 80%%, fine-tuned), quantise it to "
                                        "int8 and distil it into a small student; print one table row per model.")
    c.add_argument("--epochs", type=int, default=None,
                   help="training epochs of the CNN (students: twice as many; fine-tuning: a third) "
                        "(default: 15, or 2 with --quick)")
    c.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed for initialisation and shuffling "
                   "(default: %(default)s)")
    c.add_argument("--quick", action="store_true", help="a few seconds: few epochs and timing runs (for tests)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv``, run the command, turn expected errors into one line and exit code."""
    args = make_parser().parse_args(argv)
    try:
        if args.command == "train":
            train(args)
        elif args.command == "evaluate":
            evaluate(args)
        elif args.command == "compress":
            from .compress.report import run_command  # imported here: tg.compress itself imports this module

            run_command(args)
        else:
            return bench(args)
    except (UsageError, FileNotFoundError, ValueError) as error:
        print(f"python -m tinygrad_edu {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
