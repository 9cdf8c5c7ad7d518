"""Benchmark: whole training steps of three small models, tinygrad_edu against PyTorch (issue 9).

One step = zero_grad, forward, cross-entropy loss, backward, optimiser step, ``loss.item()``,
batch 64, float32:

    mlp     Linear 784-256, ReLU, Linear 256-10                          SGD (lr 0.1)
    lenet   LeNet-5: Conv 1-6 5x5 pad 2, ReLU, MaxPool 2, Conv 6-16 5x5, ReLU, MaxPool 2,
            Linear 400-120, ReLU, Linear 120-84, ReLU, Linear 84-10     Adam (lr 1e-3)
    lstm    LSTM(28 -> 128, batch_first) over 28 steps, Linear 128-10 on the last h   Adam (lr 1e-3)

Each model is built once in tinygrad_edu (its own initialisation) and copied into PyTorch, so
both start from the same weights; before timing, one step of each is checked: the loss and
the updated weights must agree to float32 rounding (the comparison is of the same computation).
Three contenders run in the same process, interleaved, medians of rounds: tinygrad_edu with the
C backend, the same code with its NumPy reference backend (``tg.backend.using("numpy")``), and
PyTorch (if installed). One thread each (OPENBLAS_NUM_THREADS=1, tg.backend.set_num_threads(1),
torch.set_num_threads(1), set before the imports): the reliable figures on a shared machine.
The 2-thread table follows, from a child process started with ``--threads 2``.

Peak memory: each (framework, model) pair trains 10 steps in a fresh child process that imports
only its own framework and reports its peak RSS (VmHWM; ``getrusage`` where /proc is missing).

Run:  python benchmarks/bench_train.py [--threads N] [--rounds R] [--steps S] [--models mlp,lstm]
                                       [--quick] [--no-2-threads] [--no-memory]
"""

from __future__ import annotations

import argparse
import os
import sys

MODELS = ("mlp", "lenet", "lstm")
BATCH = 64


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported")
    parser.add_argument("--steps", type=int, default=15, help="timed steps per round and contender")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before each round's timing")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--quick", action="store_true", help="2 rounds of 5 steps, 1 thread, no memory table")
    parser.add_argument("--no-2-threads", action="store_true", help="skip the 2-thread table")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS table")
    parser.add_argument("--rss-child", nargs=2, metavar=("FRAMEWORK", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.steps, args.warmup = 2, 5, 1
        args.no_2_threads = args.no_memory = True
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    return args


if __name__ == "__main__":  # thread counts of BLAS libraries are fixed when numpy is imported
    _args = parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(_args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(_args.threads))

import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_name, rerun_with_two_threads, settle  # noqa: E402

# ---- the models, once per framework ----------------------------------------------------------
#
# Both frameworks build the same layers under the same attribute names, so their state dicts
# have the same keys ("0.weight", "lstm.weight_ih_l0", ...) and one loads into the other.


def _layers(nn: Any, model: str) -> list[Any]:
    """The layer list of the MLP or LeNet-5, written once for both frameworks (their nn APIs match)."""
    if model == "mlp":
        return [nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)]
    return [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)]


def _lstm_classifier(nn: Any) -> Any:
    """LSTM(28 → 128, batch_first) + Linear(128 → 10) on the last time step, in ``nn``'s framework."""

    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.fc = nn.Linear(128, 10)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    return LSTMClassifier()


def build(framework: Any, model: str) -> Any:
    """The model in ``framework`` (the module ``tinygrad_edu`` or ``torch``)."""
    nn = framework.nn
    return _lstm_classifier(nn) if model == "lstm" else nn.Sequential(*_layers(nn, model))


def make_optimizer(framework: Any, model: str, net: Any) -> Any:
    """SGD(lr 0.1) for the MLP, Adam(lr 1e-3) for LeNet-5 and the LSTM."""
    if model == "mlp":
        return framework.optim.SGD(net.parameters(), lr=0.1)
    return framework.optim.Adam(net.parameters(), lr=1e-3)


def make_batch(model: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed float32 input batch and int64 labels of the model's input shape."""
    rng = np.random.default_rng(seed)
    shape = {"mlp": (BATCH, 784), "lenet": (BATCH, 1, 28, 28), "lstm": (BATCH, 28, 28)}[model]
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, BATCH).astype(np.int64)


def copy_weights_to_torch(tg_net: Any, torch_net: Any, torch: Any) -> None:
    """Load tinygrad_edu's weights into the PyTorch model (same keys, copied arrays)."""
    state = {k: torch.from_numpy(np.array(v.data, copy=True)) for k, v in tg_net.state_dict().items()}
    torch_net.load_state_dict(state)


def training_step(framework: Any, net: Any, opt: Any, x: Any, y: Any) -> Callable[[], float]:
    """One step as a zero-argument callable returning the loss (its ``.item()`` ends the step)."""
    cross_entropy = framework.nn.functional.cross_entropy

    def step() -> float:
        opt.zero_grad()
        loss = cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def tg_contender(tg: Any, model: str, backend: str | None = None) -> tuple[Any, Callable[[], float]]:
    """(net, step) for tinygrad_edu; ``backend`` runs each step under ``tg.backend.using``."""
    net = build(tg, model)
    x, y = make_batch(model)
    step = training_step(tg, net, make_optimizer(tg, model, net), tg.Tensor(x), tg.Tensor(y))
    if backend is None:
        return net, step

    def step_on_backend() -> float:
        with tg.backend.using(backend):
            return step()

    return net, step_on_backend


def torch_contender(torch: Any, model: str, tg_net: Any | None) -> tuple[Any, Callable[[], float]]:
    """(net, step) for PyTorch, starting from ``tg_net``'s weights when given."""
    net = build(torch, model)
    if tg_net is not None:
        copy_weights_to_torch(tg_net, net, torch)
    x, y = make_batch(model)
    return net, training_step(torch, net, make_optimizer(torch, model, net), torch.from_numpy(x), torch.from_numpy(y))


def first_step_agreement(tg: Any, torch: Any, model: str) -> tuple[float, float, float]:
    """One step from the same weights in both: (tg loss, torch loss, max |Δ| of the updated weights
    relative to the largest weight change), the evidence that both compute the same thing."""
    tg_net, tg_step = tg_contender(tg, model)
    torch_net, torch_step = torch_contender(torch, model, tg_net)
    before = {k: np.array(v.data, copy=True) for k, v in tg_net.state_dict().items()}
    tg_loss, torch_loss = tg_step(), torch_step()
    torch_after = {k: v.detach().numpy() for k, v in torch_net.state_dict().items()}
    worst = 0.0
    for key, w in tg_net.state_dict().items():
        change = np.abs(torch_after[key] - before[key]).max()
        worst = max(worst, float(np.abs(w.data - torch_after[key]).max() / max(change, 1e-12)))
    return tg_loss, torch_loss, worst


# ---- timing -----------------------------------------------------------------------------------


def _median_step_ms(step: Callable[[], float], steps: int, warmup: int) -> tuple[float, float, float]:
    """Median wall-clock and process-CPU milliseconds per step, after ``warmup`` untimed steps, and
    the minor page faults per timed step.

    CPU time leaves out the time the process waited for a core, so on a shared machine it
    is the steadier figure for single-threaded runs (with 2 threads it adds both threads up).
    Page faults should be ~0 once warm: each one is a fresh page the kernel zeroes (~1 µs); a
    steady stream of them means malloc hands memory back and forth (see backend's mallopt).
    """
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        step()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps
    return 1e3 * float(np.median(wall)), 1e3 * float(np.median(cpu)), faults


def time_model(tg: Any, torch: Any | None, model: str,
               args: argparse.Namespace) -> dict[str, tuple[float, float, float]]:
    """Per contender: (wall ms, CPU ms, page faults) per step, the medians of interleaved rounds' medians."""
    tg_net, tg_step = tg_contender(tg, model)
    contenders = {"tg": tg_step, "tg-numpy": tg_contender(tg, model, "numpy")[1]}
    if torch is not None:
        contenders["torch"] = torch_contender(torch, model, tg_net)[1]
    rounds: dict[str, list[tuple[float, float, float]]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, step in contenders.items():
            settle(args.threads)
            rounds[name].append(_median_step_ms(step, args.steps, args.warmup))
    return {name: tuple(np.median(np.array(ms), axis=0).tolist()) for name, ms in rounds.items()}


# ---- peak memory, one fresh process per (framework, model) ----------------------------------


def rss_child(framework_name: str, model: str) -> None:
    """Train ``model`` for a few steps in this (fresh) process and print its peak RSS in MB."""
    if framework_name == "torch":
        import torch

        torch.set_num_threads(1)
        _, step = torch_contender(torch, model, None)
    else:
        import tinygrad_edu as tg

        tg.backend.set_num_threads(1)
        _, step = tg_contender(tg, model, None if framework_name == "tg" else "numpy")
    for _ in range(10):
        step()
    print(_own_peak_rss_mb())


def _own_peak_rss_mb() -> float:
    """This process's peak RSS in MB: VmHWM where Linux has it, else ru_maxrss.

    (ru_maxrss survives fork and exec: a child started by a 300 MB parent would report
    at least 300 MB. VmHWM belongs to the address space, which exec replaces.)
    """
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale / 1024


def peak_rss_mb(framework_name: str, model: str) -> float:
    """Peak RSS (MB) of a child process that imports ``framework_name`` and trains ``model``."""
    out = subprocess.run([sys.executable, __file__, "--rss-child", framework_name, model],
                         capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if out.returncode != 0:
        raise RuntimeError(f"peak-RSS child ({framework_name}, {model}) failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.split()[-1])


# ---- the report ----------------------------------------------------------------------------------


def main(args: argparse.Namespace) -> None:
    """Check agreement, time every model, print the tables (and rerun at 2 threads)."""
    if args.rss_child:
        rss_child(*args.rss_child)
        return
    import tinygrad_edu as tg

    tg.backend.set_num_threads(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:  # the benchmark still compares the C backend with the NumPy one
        torch = None
    if args.threads == 1:
        print(f"# {platform.machine()}, {cpu_name()}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
              f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; C kernels at "
              f"{tg.backend.isa()}; batch {BATCH}, float32; median of {args.rounds} rounds x {args.steps} steps")
        if torch is not None:
            for model in args.models:
                tg_loss, torch_loss, worst = first_step_agreement(tg, torch, model)
                print(f"# {model}: first-step loss tg {tg_loss:.6f} torch {torch_loss:.6f}; updated weights "
                      f"differ by at most {worst:.1e} of the step")
    print(f"\n| model, {args.threads} thread(s) | tg ms | tg NumPy-backend ms | torch ms | tg / torch | "
          "NumPy-backend / tg | same by CPU time: tg / torch, NumPy-backend / tg |")
    print("|---|---|---|---|---|---|---|")
    for model in args.models:
        ms = time_model(tg, torch, model, args)
        (tg_ms, tg_cpu, _), (np_ms, np_cpu, _) = ms["tg"], ms["tg-numpy"]
        torch_ms, torch_cpu, _ = ms.get("torch", (float("nan"),) * 3)
        print(f"| {model} | {tg_ms:.3f} | {np_ms:.3f} | {torch_ms:.3f} | {tg_ms / torch_ms:.2f}x | "
              f"{np_ms / tg_ms:.2f}x | {tg_cpu / torch_cpu:.2f}x, {np_cpu / tg_cpu:.2f}x |", flush=True)
        faulting = {name: v[2] for name, v in ms.items() if v[2] >= 10}
        if faulting:  # the timings then include the kernel zeroing fresh pages
            print(f"<!-- {model}: page faults per step " + ", ".join(f"{k} {v:.0f}" for k, v in faulting.items())
                  + " -->", flush=True)
    if args.threads == 1 and not args.no_memory:
        frameworks = ["tg", "tg-numpy"] + (["torch"] if torch is not None else [])
        print("\n| peak RSS MB (fresh process, 10 steps) | " + " | ".join(frameworks) + " |")
        print("|---|" + "---|" * len(frameworks))
        for model in args.models:
            print(f"| {model} | " + " | ".join(f"{peak_rss_mb(f, model):.0f}" for f in frameworks) + " |", flush=True)
    if args.threads == 1 and not args.no_2_threads:
        rerun_with_two_threads(__file__, args.rounds)


if __name__ == "__main__":
    main(_args)
