"""Benchmark: float64 matmul emulated on AMX-INT8 tiles (Ozaki scheme II) against NumPy and the native kernel.

``tg.backend.set_float64_matmul_emulation(moduli)`` computes float64 products from exact int8 tile
products modulo ``moduli`` pairwise coprime integers ≤ 256 (csrc/gemm_ozaki.c). For n×n×n products
(n = 512, 1024, 2048) of standard-normal matrices this prints, per method, the median time over
interleaved rounds, the GFLOP/s equivalent 2n³/t, the ratio NumPy time / time and the accuracy
max_ij |C − C_exact|_ij / (|A|·|B|)_ij. C_exact: each row of A and column of B cut into three
21-bit fixed-point slices (A = A0 + A1 + A2 up to 2^-63 of the row's largest value), the nine slice
products are exact in float64 (21 + 21 + log2 n ≤ 53 bits) and are summed with TwoSum.
1 thread: CPU time of the process (time.process_time: the machine is shared, CPU time ignores the
waits); 2 threads: wall time, in a child process. Issue 3's target: float64 1024³ at least 1.5×
NumPy at the same thread count.

Run:  python benchmarks/bench_f64_emulation.py [--threads N] [--rounds R] [--no-2-threads] [--sizes 512,1024]
"""

from __future__ import annotations

import argparse

from _common import bench_arguments


def _sizes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", default="512,1024,2048", help="comma-separated n of the n³ products")


_args = bench_arguments(__doc__, rounds=5, add_arguments=_sizes)  # before NumPy is imported

import time  # noqa: E402

import numpy as np  # noqa: E402
from _common import cpu_name, rerun_with_two_threads, settle  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu.backend import c  # noqa: E402

METHODS = ("numpy", "native", "emulated 12", "emulated 13", "emulated 14")


def exact_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A·B to about 2^-63 of |A|·|B| (see the module docstring): sliced operands, exact slice products, TwoSum."""
    def slices(x: np.ndarray, axis: int) -> list[np.ndarray]:
        largest = np.max(np.abs(x), axis=axis, keepdims=True)
        top = np.ceil(np.log2(np.where(largest > 0, largest, 1.0)))
        parts, rest = [], x.copy()
        for s in range(1, 4):
            unit = np.ldexp(1.0, (top - 21 * s).astype(int))
            part = np.round(rest / unit) * unit
            parts.append(part)
            rest = rest - part
        return parts

    high = np.zeros((a.shape[0], b.shape[1]))
    low = np.zeros_like(high)
    for slice_a in slices(a, 1):
        for slice_b in slices(b, 0):
            product = slice_a @ slice_b
            total = high + product
            back = total - high
            low += (high - (total - back)) + (product - back)
            high = total
    return high + low


def run(method: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if method == "numpy":
        return a @ b
    tg.backend.set_float64_matmul_emulation(None if method == "native" else int(method.split()[1]))
    return c.matmul(a, b)


def main() -> None:
    c.set_num_threads(_args.threads)
    clock = time.process_time if _args.threads == 1 else time.perf_counter
    print(f"float64 matmul emulated on AMX-INT8 (Ozaki scheme II), {cpu_name()}, {_args.threads} thread(s), "
          f"AMX {'usable' if c.amx_usable() else 'NOT usable: the emulated rows run natively'}, "
          f"medians of {_args.rounds} interleaved rounds ({clock.__name__})")
    print("| n^3 | method | ms | GFLOP/s equiv. | x NumPy | max err / (|A||B|) |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n in (int(s) for s in _args.sizes.split(",")):
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        exact, scale = exact_product(a, b), np.abs(a) @ np.abs(b)
        errors = {m: float(np.max(np.abs(run(m, a, b) - exact) / scale)) for m in METHODS}
        times: dict[str, list[float]] = {m: [] for m in METHODS}
        for _ in range(_args.rounds):
            for method in METHODS:
                settle(_args.threads)
                run(method, a, b)  # the setting's first call makes its workspace
                start = clock()
                run(method, a, b)
                times[method].append(clock() - start)
        tg.backend.set_float64_matmul_emulation(None)
        medians = {m: float(np.median(t)) for m, t in times.items()}
        for method in METHODS:
            t = medians[method]
            print(f"| {n}^3 | {method} | {t * 1e3:.2f} | {2 * n**3 / t / 1e9:.1f} | {medians['numpy'] / t:.2f}x "
                  f"| {errors[method]:.1e} |")
    if _args.threads == 1 and not _args.no_2_threads:
        rerun_with_two_threads(__file__, _args.rounds)


if __name__ == "__main__":
    main()
