"""Benchmark: tinygrad_edu's C matmul against NumPy's and PyTorch's, and against the FMA peak.

Everything runs in one process, interleaved, medians: first the machine's FMA peak (a C loop
of independent FMA chains, csrc/gemm_peak.c, at the ISA level in use), then for each shape the
C GEMM, ``np.matmul`` and ``torch.matmul`` (if installed). One thread each
(OPENBLAS_NUM_THREADS=1 and torch.set_num_threads(1), set before the imports) are the reliable
figures on a shared machine; the 2-thread table follows, from a child process started with
``--threads 2`` (BLAS thread counts are fixed at import).

Shapes: squares 256³, 512³, 1024³, and the training products of issue 3 — the MLP 784-256-10
at batch 64 (forward X·W, ∂W = Xᵀ·∂Y, ∂X = ∂Y·Wᵀ, with the transposes as views, as training
passes them), the same products in the layout nn.Linear runs them (weight stored (out, in)), the
LSTM(28 → 128)'s per-step recurrent products, and the LeNet-5 im2col products of both conv layers
(forward, cols·W layout, ∂W and ∂cols). Also printed: the Python-side cost of one ``c.matmul`` call.

Run:  python benchmarks/bench_matmul.py [--threads N] [--rounds R] [--no-2-threads] [--only TEXT]
"""

from __future__ import annotations

import argparse

from _common import bench_arguments


def _shape_filter(parser: argparse.ArgumentParser) -> None:
    """This script's own option: a subset of the shapes."""
    parser.add_argument("--only", default="", metavar="TEXT",
                        help="run only the shapes whose name contains TEXT (e.g. 'layer', 'fc2', '1024')")


_args = bench_arguments(__doc__, rounds=5, add_arguments=_shape_filter)  # before NumPy is imported

import os  # noqa: E402
import platform  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from _common import cpu_name, median_seconds, python_cost_us, rerun_with_two_threads, settle  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu.backend import c  # noqa: E402

try:
    import torch

    torch.set_num_threads(_args.threads)
except ImportError:  # the benchmark still compares C with NumPy
    torch = None

# (name, m, k, n, layout): "nt" = op(A) as stored, op(B) a transposed view; "tn" the other way round.
SHAPES = [("256^3", 256, 256, 256, "nn"), ("512^3", 512, 512, 512, "nn"), ("1024^3", 1024, 1024, 1024, "nn"),
          ("mlp fc1 X.W (64x784)@(784x256)", 64, 784, 256, "nn"),
          ("mlp fc1 dW X^T.dY (784x64)@(64x256)", 784, 64, 256, "tn"),
          ("mlp fc1 dX dY.W^T (64x256)@(256x784)", 64, 256, 784, "nt"),
          ("mlp fc2 X.W (64x256)@(256x10)", 64, 256, 10, "nn"),
          ("mlp fc2 dW X^T.dY (256x64)@(64x10)", 256, 64, 10, "tn"),
          ("mlp fc2 dX dY.W^T (64x10)@(10x256)", 64, 10, 256, "nt"),
          # the same layers as nn.Linear runs them (weight stored (out, in), as PyTorch's), and the
          # LSTM's recurrent product h·W_hhᵀ (forward) and ∂gates·W_hh (backward), per time step
          ("mlp fc1 layer x.W^T (64x784)@(784x256)", 64, 784, 256, "nt"),
          ("mlp fc1 layer dW dY^T.x (256x64)@(64x784)", 256, 64, 784, "tn"),
          ("mlp fc1 layer dx dY.W (64x256)@(256x784)", 64, 256, 784, "nn"),
          ("mlp fc2 layer x.W^T (64x256)@(256x10)", 64, 256, 10, "nt"),
          ("mlp fc2 layer dW dY^T.x (10x64)@(64x256)", 10, 64, 256, "tn"),
          ("mlp fc2 layer dx dY.W (64x10)@(10x256)", 64, 10, 256, "nn"),
          ("lstm h.W_hh^T (64x128)@(128x512)", 64, 128, 512, "nt"),
          ("lstm dh dG.W_hh (64x512)@(512x128)", 64, 512, 128, "nn"),
          ("conv1 W.cols (6x25)@(25x50176)", 6, 25, 50176, "nn"),
          ("conv1 cols.W (50176x25)@(25x6)", 50176, 25, 6, "nn"),
          ("conv1 dW (6x50176)@(50176x25)^T", 6, 50176, 25, "nt"),
          ("conv2 W.cols (16x150)@(150x6400)", 16, 150, 6400, "nn"),
          ("conv2 cols.W (6400x150)@(150x16)", 6400, 150, 16, "nn"),
          ("conv2 dW (16x6400)@(6400x150)^T", 16, 6400, 150, "nt"),
          ("conv2 dcols (150x16)^T@(16x6400)", 150, 16, 6400, "tn")]


def _median_seconds(fn, flops: float) -> float:
    """Median seconds per call over ~0.1 s of calls (at least 3), after one warm-up call."""
    return median_seconds(fn, repeats=max(3, min(500, int(2e10 / 200 / flops))))


def measure_peak(threads: int, rounds: int) -> dict[str, float]:
    """GFLOP/s of the FMA loop, f32 and f64, on `threads` cores at once (median of rounds)."""
    peaks = {}
    for label, kernel in (("float32", c.lib.tg_peak_fma_f32), ("float64", c.lib.tg_peak_fma_f64)):
        rates = []
        for _ in range(rounds):
            flops = [0.0] * threads

            def run(i: int, kernel=kernel, flops=flops) -> None:  # cffi releases the GIL: cores run in parallel
                flops[i] = kernel(10_000_000)

            workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
            start = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            rates.append(sum(flops) / (time.perf_counter() - start) / 1e9)
        peaks[label] = float(np.median(rates))
    return peaks


def operands(m: int, k: int, n: int, layout: str, dtype, rng) -> tuple[np.ndarray, np.ndarray]:
    """A (m×k) and B (k×n), each a transposed view of stored memory where the layout says so."""
    a = rng.standard_normal((k, m)).astype(dtype).T if layout[0] == "t" else rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((n, k)).astype(dtype).T if layout[1] == "t" else rng.standard_normal((k, n)).astype(dtype)
    return a, b


def call_overhead_us() -> float:
    """µs of Python per c.matmul call: a 1×1 product minus the bare C call (tg_matmul_f32) on the same buffers."""
    a = np.ones((1, 1), np.float32)
    out = np.empty((1, 1), np.float32)
    kernel, work, work_len, _ = c._gemm_workspace(a.dtype)  # c.lib.tg_matmul_f32, as c.matmul calls it
    pa, po = c.ffi.from_buffer("float[]", a), c.ffi.from_buffer("float[]", out)

    def bare() -> None:  # bound beforehand: a lookup here (c.lib.tg_…, ~0.09 µs) would be subtracted from the cost
        kernel(1, 1, 1, pa, 1, 1, pa, 1, 1, po, work, work_len)

    def full() -> None:
        c.matmul(a, a)

    return python_cost_us(full, bare)


def main() -> None:
    tg.backend.set_num_threads(_args.threads)
    rng = np.random.default_rng(0)
    peak = measure_peak(_args.threads, _args.rounds)
    print(f"# {platform.processor() or platform.machine()}, {cpu_name()}, {os.cpu_count()} CPUs; numpy "
          f"{np.__version__}; torch {torch.__version__ if torch else 'not installed'}; C kernels at "
          f"{tg.backend.isa()}; {_args.threads} thread(s); median of {_args.rounds} rounds")
    print(f"# FMA peak ({_args.threads} core(s)): float32 {peak['float32']:.0f} GFLOP/s, "
          f"float64 {peak['float64']:.0f} GFLOP/s")
    if _args.threads == 1:
        print(f"# Python cost of one c.matmul call: {call_overhead_us():.2f} µs")
    print("| shape | dtype | C GF/s | % peak | NumPy GF/s | torch GF/s | C / NumPy | C / torch |")
    print("|---|---|---|---|---|---|---|---|")
    for dtype in (np.float32, np.float64):
        for name, m, k, n, layout in SHAPES:
            if _args.only not in name:
                continue
            a, b = operands(m, k, n, layout, dtype, rng)
            flops = 2.0 * m * k * n
            contenders = {"c": lambda a=a, b=b: c.matmul(a, b), "numpy": lambda a=a, b=b: np.matmul(a, b)}
            if torch is not None:
                ta, tb = torch.from_numpy(a), torch.from_numpy(b)
                contenders["torch"] = lambda ta=ta, tb=tb: torch.matmul(ta, tb)
            seconds = {key: [] for key in contenders}
            for _ in range(_args.rounds):
                for key, fn in contenders.items():
                    settle(_args.threads)
                    seconds[key].append(_median_seconds(fn, flops))
            rate = {key: flops / float(np.median(s)) / 1e9 for key, s in seconds.items()}
            torch_rate = f"{rate['torch']:.1f}" if "torch" in rate else "-"
            vs_torch = f"{rate['c'] / rate['torch']:.2f}x" if "torch" in rate else "-"
            print(f"| {name} | {np.dtype(dtype).name} | {rate['c']:.1f} | "
                  f"{100 * rate['c'] / peak[np.dtype(dtype).name]:.0f}% | {rate['numpy']:.1f} | {torch_rate} | "
                  f"{rate['c'] / rate['numpy']:.2f}x | {vs_torch} |", flush=True)
    if _args.threads == 1 and not _args.no_2_threads:
        rerun_with_two_threads(__file__, _args.rounds)


if __name__ == "__main__":
    main()
