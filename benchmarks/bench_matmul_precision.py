"""Benchmark: float32 matmul at each ``set_float32_matmul_precision`` ("highest", "high", "medium").

tinygrad_edu's C matmul at each precision ("highest": the float32 FMA GEMM; "high": bf16x3 on AMX,
C = A_hi·B_hi + A_hi·B_lo + A_lo·B_hi; "medium": one bfloat16 pass, csrc/gemm_amx.c) against
``np.matmul`` (always float32) and ``torch.matmul`` at the same torch precision (on a CPU torch 2.13
computes "medium" in bfloat16 through oneDNN and "high" in float32). One process, interleaved rounds,
medians of wall time; 1 thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1), set before the
imports), then the 2-thread table from a child process. Then the accuracy: on N(0, 1) inputs, the
max over C's elements of |C − C64| / max|C64| and of |C − C64| / (|A|·|B|), C64 the float64 product of
the same float32 inputs, ours and torch's per precision.

Shapes: 512³, 1024³, 2048³ and the MLP 784-256-10's fc1 products at batch 64 (forward X·W, ∂W = Xᵀ·∂Y,
∂X = ∂Y·Wᵀ, and nn.Linear's x·Wᵀ). Issue 3's target: float32 1024³ at least 1.5× NumPy ("high").

Run:  python benchmarks/bench_matmul_precision.py [--threads N] [--rounds R] [--no-2-threads] [--only TEXT]
"""

from __future__ import annotations

import argparse

from _common import bench_arguments


def _shape_filter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", default="", metavar="TEXT", help="run only the shapes whose name contains TEXT")


_args = bench_arguments(__doc__, rounds=7, add_arguments=_shape_filter)  # before NumPy is imported

import os  # noqa: E402

import numpy as np  # noqa: E402
from _common import cpu_name, median_seconds, rerun_with_two_threads, settle  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu.backend import c  # noqa: E402

try:
    import torch

    torch.set_num_threads(_args.threads)
except ImportError:  # the benchmark still compares with NumPy
    torch = None

PRECISIONS = ("highest", "high", "medium")
# (name, m, k, n, layout): "nt" = B a transposed view, "tn" = A a transposed view (as training passes them)
SHAPES = [("512^3", 512, 512, 512, "nn"), ("1024^3", 1024, 1024, 1024, "nn"), ("2048^3", 2048, 2048, 2048, "nn"),
          ("mlp fc1 X.W (64x784)@(784x256)", 64, 784, 256, "nn"),
          ("mlp fc1 dW X^T.dY (784x64)@(64x256)", 784, 64, 256, "tn"),
          ("mlp fc1 dX dY.W^T (64x256)@(256x784)", 64, 256, 784, "nt"),
          ("mlp fc1 layer x.W^T (64x784)@(784x256)", 64, 784, 256, "nt")]


def operands(m: int, k: int, n: int, layout: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = rng.standard_normal((k, m) if layout == "tn" else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if layout == "nt" else (k, n)).astype(np.float32)
    return (a.T if layout == "tn" else a), (b.T if layout == "nt" else b)


def at_precision(precision: str, fn):
    """fn run with tinygrad_edu's and torch's float32 matmul precision set to `precision`."""
    def run():
        tg.set_float32_matmul_precision(precision)
        if torch is not None:
            torch.set_float32_matmul_precision(precision)
        return fn()
    return run


def contenders(a: np.ndarray, b: np.ndarray) -> dict[str, object]:
    """name -> zero-argument call, the precision set inside the call (so the rounds can interleave)."""
    calls = {"numpy": lambda: np.matmul(a, b)}
    for precision in PRECISIONS:
        calls[f"ours {precision}"] = at_precision(precision, lambda: c.matmul(a, b))
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            calls[f"torch {precision}"] = at_precision(precision, lambda ta=ta, tb=tb: torch.matmul(ta, tb))
    return calls


def speed_table(rng: np.random.Generator) -> None:
    print("| shape | precision | ours GF/s | NumPy GF/s | torch GF/s | ours / NumPy | ours / torch |")
    print("|---|---|---|---|---|---|---|")
    for name, m, k, n, layout in SHAPES:
        if _args.only not in name:
            continue
        a, b = operands(m, k, n, layout, rng)
        flops = 2.0 * m * k * n
        calls = contenders(a, b)
        repeats = max(3, min(50, int(2e9 / flops)))
        seconds = {key: [] for key in calls}
        for _ in range(_args.rounds):
            for key, fn in calls.items():
                settle(_args.threads)
                seconds[key].append(median_seconds(fn, repeats))
        rate = {key: flops / float(np.median(s)) / 1e9 for key, s in seconds.items()}
        for precision in PRECISIONS:
            ours, theirs = rate[f"ours {precision}"], rate.get(f"torch {precision}")
            print(f"| {name} | {precision} | {ours:.0f} | {rate['numpy']:.0f} | "
                  f"{f'{theirs:.0f}' if theirs else '-'} | {ours / rate['numpy']:.2f}x | "
                  f"{f'{ours / theirs:.2f}x' if theirs else '-'} |", flush=True)


def accuracy_table(rng: np.random.Generator, size: int = 1024) -> None:
    a, b = operands(size, size, size, "nn", rng)
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    scale = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))
    print(f"\naccuracy, {size}^3, N(0, 1) inputs: max |C - C64| / max |C64|  and  max (|C - C64| / (|A||B|))")
    print("| precision | ours | torch |")
    print("|---|---|---|")
    for precision in PRECISIONS:
        cells = []
        for key, fn in contenders(a, b).items():
            if key.endswith(precision):
                error = np.abs(np.asarray(fn(), dtype=np.float64) - exact)
                cells.append(f"{error.max() / np.abs(exact).max():.2e} / {np.max(error / scale):.2e}")
        print(f"| {precision} | {' | '.join(cells)} |")


def main() -> None:
    tg.backend.set_num_threads(_args.threads)
    rng = np.random.default_rng(0)
    print(f"# {cpu_name()}, {os.cpu_count()} CPUs; numpy {np.__version__}; torch "
          f"{torch.__version__ if torch else 'not installed'}; C kernels at {tg.backend.isa()}, AMX "
          f"{'used' if c.amx_usable() else 'absent'}; {_args.threads} thread(s); median of {_args.rounds} rounds")
    try:
        speed_table(rng)
        if _args.threads == 1:
            accuracy_table(rng)
    finally:
        tg.set_float32_matmul_precision("highest")
    if _args.threads == 1 and not _args.no_2_threads:
        rerun_with_two_threads(__file__, _args.rounds)


if __name__ == "__main__":
    main()
