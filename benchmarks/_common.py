"""Helpers shared by the benchmark scripts: arguments, the machine's name, timers and the 2-thread rerun.

Imports nothing heavy: ``bench_arguments`` must run before NumPy is imported.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable


def bench_arguments(doc: str, rounds: int,
                    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Parse ``--threads``, ``--rounds``, ``--no-2-threads`` (plus the script's own) and pin BLAS threads.

    Call it before importing NumPy: OpenBLAS reads its thread count once, at import.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for every library (default 1)")
    parser.add_argument("--rounds", type=int, default=rounds, help="interleaved rounds; the median is reported")
    parser.add_argument("--no-2-threads", action="store_true", help="skip the 2-thread tables")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    return args


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one, else what platform knows."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def rerun_with_two_threads(script: str, rounds: int) -> None:
    """Print the 2-thread table from a child process: BLAS thread counts are fixed at import.

    The child gets this run's own options (e.g. --models, --batch) followed by the thread count and
    rounds, which win because argparse keeps the last value given.
    """
    print()
    sys.stdout.flush()
    subprocess.run([sys.executable, script, *sys.argv[1:], "--threads", "2", "--rounds", str(rounds)], check=True)


# After a call, OpenBLAS's idle worker threads spin for about 0.1 s before they sleep (measured on the
# Zen 3 of session 23: 37 ms of CPU in the 100 ms after a 2-thread np.matmul; PyTorch's OpenMP workers
# a few ms). A contender timed right after NumPy then shares its second core with that spinning thread:
# in the interleaved 2-thread tables, whoever came after NumPy ran at up to a few times below its speed.
SETTLE_SECONDS = 0.15


def settle(threads: int) -> None:
    """Before timing a contender on `threads` > 1 threads: wait until the other libraries' idle threads sleep.

    With one thread nobody spins, and there is nothing to wait for.
    """
    if threads > 1:
        time.sleep(SETTLE_SECONDS)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of `repeats` calls of `fn` after one warm-up call (medians: the machine is shared)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def python_cost_us(call: Callable[[], object], bare: Callable[[], object], calls: int = 2000,
                   rounds: int = 15) -> float:
    """µs that `call` (a backend.c function) spends beyond `bare` (its C kernel on the same buffers).

    Each is timed as the fastest of `rounds` runs of `calls` calls, interleaved: the fastest run is
    the one least disturbed by other processes, which matters for a difference of ~1 µs.
    """
    best = {call: float("inf"), bare: float("inf")}
    for _ in range(rounds):
        for fn in best:
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[fn] = min(best[fn], (time.perf_counter() - start) / calls)
    return (best[call] - best[bare]) * 1e6
