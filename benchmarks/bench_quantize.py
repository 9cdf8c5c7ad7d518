"""Benchmark: int8 against float32 inference of the digits CNN, and the int8 GEMM against the float32 GEMM.

The model is the command line's digits CNN (``cli.build_model("cnn", (1, 8, 8))``: Conv 1→16,
Conv 16→32, Linear 128→10), trained for a few epochs on the digits training split, then
quantised with ``tg.compress.quantize_int8`` (int8 weights, per-output-channel scales, int8
inference through csrc/qgemm.c). Reported:

    accuracy   test split, float32 and int8 (issue 8: int8 costs at most 1 point)
    bytes      parameters + buffers (``model_size_bytes``) and the weights alone (a quarter)
    time       one forward pass on a batch of test images (repeated to --batch rows), float32 and
               int8 interleaved in each round, medians of the rounds; ratio float32 / int8 > 1 means
               int8 is faster; per layer too (the conv and linear layers are what int8 changes)
    GEMM       int8 (m×k)·(k×n) -> int32 in GOP/s (one multiply + one add per term) against the
               float32 GEMM in GFLOP/s, on squares and on the CNN's conv2 shape

One thread (OPENBLAS_NUM_THREADS=1, set before the imports), then the same tables from a child
process with ``--threads 2`` (the C kernels split their work over 2 threads above a size
threshold). On a shared machine the 1-thread figures are the reliable ones.

Run:  python benchmarks/bench_quantize.py [--threads N] [--rounds R] [--batch B] [--epochs E]
"""

from __future__ import annotations

from _common import bench_arguments


def _quantize_arguments(parser) -> None:
    parser.add_argument("--batch", type=int, default=256, help="images per timed forward pass (default 256)")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs of the CNN (default 5)")


_args = bench_arguments(__doc__, rounds=7, add_arguments=_quantize_arguments)  # before NumPy is imported

import os  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402
from _common import cpu_name, median_seconds, rerun_with_two_threads, settle  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import cli, data, nn, optim  # noqa: E402
from tinygrad_edu.backend import c as c_backend  # noqa: E402
from tinygrad_edu.compress import QuantizedConv2d, QuantizedLinear, model_size_bytes, quantize_int8  # noqa: E402

c_backend.set_num_threads(_args.threads)

# (name, m, n, k): int8 (m×k)·(k×n)
GEMM_SHAPES = [("256³", 256, 256, 256), ("512³", 512, 512, 512), ("1024³", 1024, 1024, 1024),
               ("conv2 of the CNN at batch 256: (32×144)·(144×4096)", 32, 4096, 144),
               ("LeNet conv2 at batch 64: (16×150)·(150×6400)", 16, 6400, 150)]


def trained_cnn(epochs: int) -> tuple[nn.Module, dict]:
    """The digits CNN trained with Adam (batch 64) on the training split."""
    tg.manual_seed(0)
    splits = cli.load_splits("digits")
    model = cli.build_model("cnn", (1, 8, 8))
    loader = data.DataLoader(data.TensorDataset(*splits["train"]), batch_size=64, shuffle=True)
    tg.train.fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), epochs,
                 progress=False)
    return model.eval(), splits


def accuracy(model: nn.Module, split: tuple[np.ndarray, np.ndarray]) -> float:
    with tg.no_grad():
        return float(np.mean(model(tg.tensor(split[0])).numpy().argmax(axis=1) == split[1]))


def interleaved_ms(fns: dict[str, object], rounds: int, repeats: int = 5) -> dict[str, float]:
    """Median ms of each zero-argument callable; they take turns in every round."""
    times = {label: [] for label in fns}
    for _ in range(rounds):
        for label, fn in fns.items():
            settle(_args.threads)
            times[label].append(median_seconds(fn, repeats))
    return {label: 1e3 * float(np.median(values)) for label, values in times.items()}


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the weights alone: float weight tensors, or int8 ones."""
    total = 0
    for m in model.modules():
        if isinstance(m, (QuantizedLinear, QuantizedConv2d)):
            total += m.weight_int8.data.nbytes
        elif isinstance(m, (nn.Linear, nn.Conv2d)):
            total += m.weight.data.nbytes
    return total


def model_table(model: nn.Module, quantized: nn.Module, splits: dict) -> None:
    test_x = splits["test"][0]
    batch = tg.tensor(np.resize(test_x, (_args.batch, *test_x.shape[1:])))
    if _args.threads == 1:
        acc_f, acc_q = accuracy(model, splits["test"]), accuracy(quantized, splits["test"])
        print(f"test accuracy: float32 {acc_f:.4f}, int8 {acc_q:.4f} (change {100 * (acc_q - acc_f):+.2f} points)")
        print(f"bytes: parameters+buffers float32 {model_size_bytes(model):,}, int8 {model_size_bytes(quantized):,} "
              f"({model_size_bytes(quantized) / model_size_bytes(model):.3f}); weights alone {weight_bytes(model):,} "
              f"-> {weight_bytes(quantized):,} ({weight_bytes(quantized) / weight_bytes(model):.3f})")

    def forward(m):
        def run():
            with tg.no_grad():
                m(batch)
        return run

    ms = interleaved_ms({"float32": forward(model), "int8": forward(quantized)}, _args.rounds)
    print(f"forward pass, batch {_args.batch}: float32 {ms['float32']:.3f} ms, int8 {ms['int8']:.3f} ms, "
          f"float32/int8 {ms['float32'] / ms['int8']:.2f}x")
    print(f"{'layer':44s} {'f32 ms':>8s} {'int8 ms':>8s} {'f32/int8':>9s}")
    with tg.no_grad():
        h = batch
        for float_layer, int8_layer in zip(model, quantized):
            if float_layer is not int8_layer and type(float_layer) is not type(int8_layer):
                steps = {"f": (lambda layer=float_layer, x=h: layer(x)), "q": (lambda layer=int8_layer, x=h: layer(x))}
                layer_ms = interleaved_ms(steps, _args.rounds)
                name = f"{type(float_layer).__name__} {tuple(h.shape[1:])}"
                print(f"{name:44s} {layer_ms['f']:8.3f} {layer_ms['q']:8.3f} {layer_ms['f'] / layer_ms['q']:8.2f}x")
            h = float_layer(h)


def gemm_table() -> None:
    rng = np.random.default_rng(0)
    print(f"{'GEMM':52s} {'int8 GOP/s':>11s} {'f32 GFLOP/s':>12s} {'int8/f32':>9s}")
    for name, m, n, k in GEMM_SHAPES:
        a, b = rng.integers(-128, 128, (m, k), dtype=np.int8), rng.integers(-128, 128, (k, n), dtype=np.int8)
        af, bf = a.astype(np.float32), b.astype(np.float32)
        ms = interleaved_ms({"int8": lambda a=a, b=b: c_backend.qgemm(a, b),
                             "f32": lambda af=af, bf=bf: c_backend.matmul(af, bf)}, _args.rounds, repeats=3)
        ops = 2.0 * m * n * k
        int8_rate, f32_rate = ops / ms["int8"] / 1e6, ops / ms["f32"] / 1e6
        print(f"{name:52s} {int8_rate:11.0f} {f32_rate:12.0f} {int8_rate / f32_rate:8.2f}x")


def main() -> None:
    print(f"# {cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}; "
          f"threads {_args.threads}; C kernels: {c_backend.isa()}, int8 kernel: {c_backend.qgemm_path()}")
    model, splits = trained_cnn(_args.epochs)
    quantized = quantize_int8(model)
    model_table(model, quantized, splits)
    gemm_table()
    if _args.threads == 1 and not _args.no_2_threads:
        rerun_with_two_threads(__file__, _args.rounds)


if __name__ == "__main__":
    main()
