"""Benchmark: LeNet-5 convolution and max-pooling layers (batch 64) and grouped convolutions, fwd + bwd, float32.

tinygrad_edu's C kernels against the NumPy reference and PyTorch, in one process, medians
of interleaved rounds. One thread each (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1),
set before the imports), which are the reliable figures on a shared machine; the 2-thread
figures follow in a second table, from a child process started with ``--threads 2`` (BLAS
thread counts are fixed at import). There the C conv kernels split their sample blocks over
2 threads too (``tg.backend.set_num_threads``); the pooling kernels stay single-threaded.

Each case times the whole layer step as a training step runs it:
    conv:  y = conv2d(x, w); ∂L/∂x = conv2d_grad_input(gy, w); ∂L/∂w = conv2d_grad_weight(x, gy)
           (grouped rows: the same with groups = G, one call each; a MobileNet-style depthwise 3×3
           and a groups = 2 layer, batch 16; then CIFAR-style 3×3 layers with 32/64/128 channels,
           whose products go through the main GEMM kernel)
    pool:  y, idx = max_pool2d(x); ∂L/∂x = max_pool2d_grad(gy, idx)
PyTorch runs the same forward and ``backward(gy)`` through autograd (x and w require grad).

Run:  python benchmarks/bench_conv2d.py [--threads N] [--rounds R] [--no-2-threads] [--only TEXT]
"""

from __future__ import annotations

import argparse

from _common import bench_arguments


def _layer_filter(parser: argparse.ArgumentParser) -> None:
    """This script's own option: a subset of the layers."""
    parser.add_argument("--only", default="", metavar="TEXT",
                        help="run only the layers whose name contains TEXT (e.g. 'conv2', 'maxpool', 'B16')")


_args = bench_arguments(__doc__, rounds=7, add_arguments=_layer_filter)  # before NumPy is imported

import os  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402
from _common import cpu_name, median_seconds, python_cost_us, rerun_with_two_threads, settle  # noqa: E402

from tinygrad_edu.backend import c as c_backend  # noqa: E402
from tinygrad_edu.backend import numpy_ref  # noqa: E402

c_backend.set_num_threads(_args.threads)

try:
    import torch

    torch.set_num_threads(_args.threads)
except ImportError:  # the benchmark still compares C with NumPy
    torch = None

# (name, N, C, H, W, O, k, padding, groups)
CONV_LAYERS = [("conv1 1->6 5x5 pad 2, 28x28 B64", 64, 1, 28, 28, 6, 5, 2, 1),
               ("conv2 6->16 5x5, 14x14 B64", 64, 6, 14, 14, 16, 5, 0, 1),
               ("depthwise 32ch 3x3 pad 1, 56x56 B16", 16, 32, 56, 56, 32, 3, 1, 32),
               ("groups=2 32->64 3x3 pad 1, 28x28 B16", 16, 32, 28, 28, 64, 3, 1, 2),
               ("3->32 3x3 pad 1, 32x32 B32", 32, 3, 32, 32, 32, 3, 1, 1),
               ("32->64 3x3 pad 1, 28x28 B16", 16, 32, 28, 28, 64, 3, 1, 1),
               ("64->128 3x3 pad 1, 16x16 B16", 16, 64, 16, 16, 128, 3, 1, 1)]
# (name, N, C, H, W)
POOL_LAYERS = [("maxpool1 2x2 on 6x28x28 B64", 64, 6, 28, 28), ("maxpool2 2x2 on 16x10x10 B64", 64, 16, 10, 10)]
ONE = (1, 1)


def conv_steps(N, C, H, W, O, k, p, groups, rng):
    """The fwd+bwd step of one conv layer for each implementation, as zero-argument callables."""
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    w = rng.standard_normal((O, C // groups, k, k)).astype(np.float32)
    pad = (p, p)
    gy = rng.standard_normal(numpy_ref.conv2d(x, w, ONE, pad, ONE, groups).shape).astype(np.float32)

    def step(kernels):
        def run():
            kernels.conv2d(x, w, ONE, pad, ONE, groups)
            kernels.conv2d_grad_input(gy, w, (H, W), ONE, pad, ONE, groups)
            kernels.conv2d_grad_weight(x, gy, (k, k), ONE, pad, ONE, groups)
        return run

    steps = {"tinygrad_edu C": step(c_backend), "NumPy reference": step(numpy_ref)}
    if torch is not None:
        tx, tw, tgy = (torch.from_numpy(a.copy()) for a in (x, w, gy))
        tx.requires_grad_(True)
        tw.requires_grad_(True)

        def torch_step():
            tx.grad = tw.grad = None
            torch.nn.functional.conv2d(tx, tw, padding=p, groups=groups).backward(tgy)
        steps["PyTorch"] = torch_step
    return steps


def pool_steps(N, C, H, W, rng):
    """The fwd+bwd step of one 2x2 max-pool layer for each implementation."""
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    gy = rng.standard_normal((N, C, H // 2, W // 2)).astype(np.float32)

    def step(kernels):
        def run():
            _, indices = kernels.max_pool2d(x, (2, 2), (2, 2), (0, 0))
            kernels.max_pool2d_grad(gy, indices, x.shape)
        return run

    steps = {"tinygrad_edu C": step(c_backend), "NumPy reference": step(numpy_ref)}
    if torch is not None:
        tx, tgy = torch.from_numpy(x.copy()).requires_grad_(True), torch.from_numpy(gy)

        def torch_step():
            tx.grad = None
            torch.nn.functional.max_pool2d(tx, 2).backward(tgy)
        steps["PyTorch"] = torch_step
    return steps


def call_costs_us() -> dict[str, float]:
    """µs of Python per call of each C conv/pool function: a tiny problem minus its bare C kernel call."""
    ffi, lib = c_backend.ffi, c_backend.lib
    x, w, gy = np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 1, 1), np.float32), np.ones((1, 1, 2, 2), np.float32)
    # indices: zeros, valid argmax positions (np.empty's garbage could make C return early with an error status)
    y, y_pool, indices = np.empty((1, 1, 2, 2), np.float32), np.empty((1, 1, 1, 1), np.float32), np.zeros(
        (1, 1, 1, 1), np.int64)
    conv = ffi.new("struct tg_conv2d_geometry *", (1, 1, 2, 2, 1, 1, 1, 1, 1, 0, 0, 1, 1, 2, 2, 1))
    pool = ffi.new("struct tg_pool2d_geometry *", (1, 2, 2, 2, 2, 2, 2, 0, 0, 1, 1, 1, 1))
    work = np.empty(lib.tg_conv2d_workspace_f32(1, conv), np.float32)
    px, pw, pgy, py, pwork = (ffi.from_buffer("float[]", a) for a in (x, w, gy, y, work))
    py_pool, pindices = ffi.from_buffer("float[]", y_pool), ffi.from_buffer("int64_t[]", indices)
    zero, two, n_work = (0, 0), (2, 2), work.size
    # The kernels are bound here, as the adapters' plans hold them: a lookup inside the bare call
    # (lib.tg_…, ~0.04 µs) would be subtracted from the Python cost.
    conv2d, grad_input, grad_weight = lib.tg_conv2d_f32, lib.tg_conv2d_grad_input_f32, lib.tg_conv2d_grad_weight_f32
    max_pool, max_pool_grad = lib.tg_max_pool2d_f32, lib.tg_max_pool2d_grad_f32
    cases = {
        "conv2d": (lambda: c_backend.conv2d(x, w, ONE, zero, ONE),
                   lambda: conv2d(conv, px, pw, py, pwork, n_work)),
        "conv2d_grad_input": (lambda: c_backend.conv2d_grad_input(gy, w, (2, 2), ONE, zero, ONE),
                              lambda: grad_input(conv, pgy, pw, py, pwork, n_work)),
        "conv2d_grad_weight": (lambda: c_backend.conv2d_grad_weight(x, gy, (1, 1), ONE, zero, ONE),
                               lambda: grad_weight(conv, px, pgy, pw, pwork, n_work)),
        "max_pool2d": (lambda: c_backend.max_pool2d(x, two, two, zero),
                       lambda: max_pool(pool, px, py_pool, pindices)),
        "max_pool2d_grad": (lambda: c_backend.max_pool2d_grad(y_pool, indices, x.shape),
                            lambda: max_pool_grad(pool, py_pool, pindices, py)),
    }
    return {name: python_cost_us(call, bare) for name, (call, bare) in cases.items()}


def main() -> None:
    rng = np.random.default_rng(0)
    cases = [(name, conv_steps(*shape, rng)) for name, *shape in CONV_LAYERS if _args.only in name]
    cases += [(name, pool_steps(*shape, rng)) for name, *shape in POOL_LAYERS if _args.only in name]
    isa = {0: "portable", 1: "AVX2", 2: "AVX-512"}[c_backend.lib.tg_isa_level()]
    print(f"# {cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'absent'}; threads {_args.threads}; C kernels: {isa}")
    if _args.threads == 1:
        costs = ", ".join(f"{name} {us:.2f}" for name, us in call_costs_us().items())
        print(f"# Python cost of one call (µs): {costs}")
    print(f"{'layer (f32, fwd+bwd)':38s} {'C ms':>8s} {'NumPy ms':>9s} {'torch ms':>9s} "
          f"{'C/NumPy':>8s} {'C/torch':>8s}")
    for name, steps in cases:
        rounds = {label: [] for label in steps}
        for _ in range(_args.rounds):  # interleaved, so a busy moment hits every contestant
            for label, fn in steps.items():
                settle(_args.threads)
                rounds[label].append(median_seconds(fn, 5))
        ms = {label: 1e3 * float(np.median(values)) for label, values in rounds.items()}
        c_ms, np_ms, torch_ms = ms["tinygrad_edu C"], ms["NumPy reference"], ms.get("PyTorch", float("nan"))
        print(f"{name:38s} {c_ms:8.3f} {np_ms:9.3f} {torch_ms:9.3f} {np_ms / c_ms:7.2f}x {torch_ms / c_ms:7.2f}x")
    if _args.threads == 1 and not _args.no_2_threads:
        rerun_with_two_threads(__file__, _args.rounds)


if __name__ == "__main__":
    main()
