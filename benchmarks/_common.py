"""Helpers shared by the benchmark scripts: the machine's name, timers and the 2-thread rerun."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from collections.abc import Callable


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one, else what platform knows."""
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def rerun_with_two_threads(script: str, rounds: int) -> None:
    """Print the 2-thread table from a child process: BLAS thread counts are fixed at import."""
    print()
    sys.stdout.flush()
    subprocess.run([sys.executable, script, "--threads", "2", "--rounds", str(rounds)], check=True)


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
