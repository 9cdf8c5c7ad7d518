"""Benchmark: ``opt.step()`` alone, tinygrad_edu's C kernels and NumPy reference against torch.optim.

The parameters are those of the three training benchmarks (bench_train.py), float32, with
fixed gradients already in ``.grad``, so only the update is timed:

    mlp     Linear 784-256, Linear 256-10                                 4 tensors, 203,530 values
    lenet   LeNet-5: Conv 1-6 5x5, Conv 6-16 5x5, Linear 400-120-84-10   10 tensors,  61,706 values
    lstm    LSTM(28 -> 128) + Linear 128-10                               6 tensors,  84,490 values

Optimisers: SGD (lr 0.1), SGD with momentum 0.9, Adam (lr 1e-3). Contenders, interleaved in one
process, medians of rounds: tinygrad_edu with the C backend (csrc/optim.c: one pass per parameter),
with the NumPy reference backend (one NumPy pass per line of the algorithm), and PyTorch's default
(foreach) implementation. The last column is the part of the C step spent in Python (the step's
time minus the same C kernels called directly with ready pointers), per parameter tensor.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_optim.py [--rounds R] [--steps S]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # after the thread setting
from _common import median_seconds

import tinygrad_edu as tg
from tinygrad_edu import optim

SHAPES = {
    "mlp": [(256, 784), (256,), (10, 256), (10,)],
    "lenet": [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,)],
    "lstm": [(512, 28), (512, 128), (512,), (512,), (10, 128), (10,)],
}
OPTIMIZERS = {"SGD": ("SGD", {"lr": 0.1}), "SGD momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
              "Adam": ("Adam", {"lr": 1e-3})}


def tg_step(model: str, optimizer: str, backend_name: str):
    """(optimizer, params) of tinygrad_edu with fixed gradients; step() runs on `backend_name`."""
    rng = np.random.default_rng(0)
    params = [tg.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in SHAPES[model]]
    for p in params:
        p.grad = tg.Tensor(rng.standard_normal(p.shape).astype(np.float32) * 1e-3)
    name, options = OPTIMIZERS[optimizer]
    opt = getattr(optim, name)(params, **options)

    def step() -> None:
        with tg.backend.using(backend_name):
            opt.step()

    return opt, params, step


def raw_c_calls(opt, params):
    """The C kernels of one step called directly with ready pointers: the step without Python."""
    from tinygrad_edu.backend import c

    ffi, lib = c.ffi, c.lib
    pointer = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    calls = []
    for p in params:
        state, group = opt.state[p], opt.param_groups[0]
        if "exp_avg" in state:
            calls.append((lib.tg_adam_update_f32, (pointer(p.data), pointer(p.grad.data), pointer(state["exp_avg"]),
                                                   pointer(state["exp_avg_sq"]), ffi.NULL, p.data.size, group["lr"],
                                                   0.9, 0.999, 1e-8, 0.0, 0, 0, group["lr"], 1.0)))
        else:
            buffer = state.get("momentum_buffer")
            calls.append((lib.tg_sgd_update_f32, (pointer(p.data), pointer(p.grad.data),
                                                  ffi.NULL if buffer is None else pointer(buffer), p.data.size,
                                                  group["lr"], group["momentum"], 0.0, 0.0, 0, 0, 0)))

    def run() -> None:
        for kernel, arguments in calls:
            kernel(*arguments)

    return run


def torch_step(torch, model: str, optimizer: str):
    """torch.optim's step() (default implementation) on the same values."""
    rng = np.random.default_rng(0)
    params = [torch.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in SHAPES[model]]
    for p in params:
        p.grad = torch.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 1e-3)
    name, options = OPTIMIZERS[optimizer]
    return getattr(torch.optim, name)(params, **options).step


def ratio(rounds: list[dict[str, float]], a: str, b: str) -> str:
    """Median over rounds of the per-round ratio a / b ("–" if a contender is missing)."""
    if a not in rounds[0] or b not in rounds[0]:
        return "–"
    return f"{np.median([r[a] / r[b] for r in rounds]):.2f}x"


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians are reported")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per round and contender")
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    has_c = "c" in tg.backend.available()
    print(f"# opt.step() in µs, float32, 1 thread, median of {args.rounds} rounds x {args.steps} steps; "
          f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else ""))
    print("| model | optimiser | tg C | tg NumPy backend | torch | C / torch | NumPy / torch | Python µs per tensor |")
    print("|---|---|---|---|---|---|---|---|")
    for model in SHAPES:
        for optimizer in OPTIMIZERS:
            contenders = {"numpy": tg_step(model, optimizer, "numpy")[2]}
            if has_c:
                opt, params, contenders["c"] = tg_step(model, optimizer, "c")
                contenders["c"]()  # creates the state the raw calls point to
                contenders["raw"] = raw_c_calls(opt, params)
            if torch is not None:
                contenders["torch"] = torch_step(torch, model, optimizer)
            rounds = [{k: median_seconds(fn, args.steps) * 1e6 for k, fn in contenders.items()}
                      for _ in range(args.rounds)]
            med = {k: float(np.median([r[k] for r in rounds])) for k in contenders}
            python = (f"{(med['c'] - med['raw']) / len(SHAPES[model]):.1f}" if has_c else "–")
            print(f"| {model} | {optimizer} | {med.get('c', float('nan')):.1f} | {med['numpy']:.1f} | "
                  f"{med.get('torch', float('nan')):.1f} | {ratio(rounds, 'c', 'torch')} | "
                  f"{ratio(rounds, 'numpy', 'torch')} | {python} |", flush=True)


if __name__ == "__main__":
    main()
