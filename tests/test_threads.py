"""The runner of parallel regions (csrc/threads.c): a pool of worker threads that every kernel's
region is split over, and its behaviours that no single kernel test reaches.

``tg_parallel_probe`` runs one region as the kernels run theirs, part i adding 1 to runs[i]: every
part must run exactly once, whatever the thread count, the part count (more parts than threads
too), the idle time before the region (workers still spinning or already blocked), another Python
thread's regions at the same time (cffi releases the GIL), set_num_threads going up and down, and a
fork() after the pool has started. The products that cross gemm.c's threshold are checked against
the NumPy reference at 1, 2 and 3 threads on every instruction-set level this CPU runs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from helpers import c_isa_names, temporarily
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c
BEST_ISA, ISAS = c_isa_names()


def threads(n: int) -> contextlib.AbstractContextManager[None]:
    """Run the block with `n` kernel threads."""
    return temporarily(c.set_num_threads, c.get_num_threads, n)


def spin_window(us: int) -> contextlib.AbstractContextManager[None]:
    """Run the block with the workers' spin window set to `us` microseconds."""
    return temporarily(c.set_thread_spin_us, c.get_thread_spin_us, us)


def probe(parts: int, runs: np.ndarray | None = None, work: int = 2000) -> np.ndarray:
    """Run one region of `parts` parts (each `work` loop iterations, ~4 ns each) adding into `runs`."""
    if runs is None:
        runs = np.zeros(max(parts, 1), np.int32)
    c.lib.tg_parallel_probe(parts, c.ffi.from_buffer("int32_t[]", runs), work)
    return runs


def big_product(dtype: type, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Operands whose product (2·256·512·2048 = 2^29 flops) gemm.c splits over threads."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((256, 512)).astype(dtype), rng.standard_normal((512, 2048)).astype(dtype))


def assert_product(a: np.ndarray, b: np.ndarray, actual: np.ndarray) -> None:
    expected = ref.matmul(a, b)
    assert actual.dtype == expected.dtype
    tol = 1e-4 if actual.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * np.abs(expected).max())


@settings(max_examples=40, deadline=None)
@given(n_threads=st.integers(1, 4), parts=st.sampled_from([0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 256, 300]),
       work=st.sampled_from([0, 100, 20000]))
def test_every_part_runs_exactly_once(n_threads, parts, work):
    """More parts than threads included: the parts left over run on whichever thread is free."""
    with threads(n_threads):
        runs = probe(parts, work=work)
    assert runs.tolist() == [1] * parts or (parts == 0 and runs.tolist() == [0])


@pytest.mark.parametrize("n_threads", [2, 3])
def test_many_regions_back_to_back(n_threads):
    runs = np.zeros(n_threads, np.int32)
    with threads(n_threads):
        for _ in range(3000):
            probe(n_threads, runs, work=50)
    assert runs.tolist() == [3000] * n_threads


@pytest.mark.parametrize("spin_us", [0, 100, 2000])
@pytest.mark.parametrize("idle_s", [0.0, 0.0005, 0.003, 0.02])
def test_regions_after_idle_time(idle_s, spin_us):
    """The workers spin for a while after a region, then block: both kinds of wake-up must work,
    whatever the spin window (0: they block at once)."""
    runs = np.zeros(2, np.int32)
    with threads(2), spin_window(spin_us):
        for _ in range(5):
            time.sleep(idle_s)
            probe(2, runs, work=5000)
    assert runs.tolist() == [5, 5]


def test_two_python_threads_at_once():
    """cffi releases the GIL: two Python threads' regions overlap; the one that finds the pool busy
    runs its parts alone. Every part still runs once and every product is right."""
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        try:
            runs = np.zeros(3, np.int32)
            for _ in range(400):
                probe(3, runs, work=300)
            assert runs.tolist() == [400] * 3
            for dtype in (np.float32, np.float64):
                a, b = big_product(dtype, seed)
                for _ in range(3):
                    assert_product(a, b, c.matmul(a, b))
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    with threads(2):
        workers = [threading.Thread(target=hammer, args=(seed,)) for seed in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert not errors, errors


def test_spin_window_is_what_the_workers_do():
    """A worker spins for the window after each region: with 5 ms the process uses CPU time while the
    caller sleeps, with 0 it does not (the worker blocks at once)."""

    def cpu_seconds_while_idle(spin_us: int) -> float:
        with threads(2), spin_window(spin_us):
            probe(2)  # the worker exists; it now waits with this window
            time.sleep(0.05)
            start = time.process_time()
            for _ in range(10):
                probe(2, work=10)
                time.sleep(0.02)
            return time.process_time() - start

    spinning, blocking = cpu_seconds_while_idle(5000), cpu_seconds_while_idle(0)
    assert spinning > blocking + 0.02, (spinning, blocking)  # ~0.05 s spun against ~0


def test_spin_window_setting():
    with spin_window(0):
        assert c.get_thread_spin_us() == 0 == tg.backend.get_thread_spin_us()
        c.set_thread_spin_us(750)
        assert c.get_thread_spin_us() == 750
    for bad in (-1, 1_000_001):
        with pytest.raises(ValueError, match="set_thread_spin_us"):
            c.set_thread_spin_us(bad)


@pytest.mark.parametrize(("name", "value", "expected"), [("TINYGRAD_EDU_THREAD_SPIN_US", "0", "1 0"),
                                                         ("TINYGRAD_EDU_NUM_THREADS", "3", "3 2000")])
def test_environment_variables(name, value, expected):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TINYGRAD_EDU_THREAD", "TINYGRAD_EDU_NUM"))}
    script = "import tinygrad_edu as tg; print(tg.backend.get_num_threads(), tg.backend.get_thread_spin_us())"
    done = subprocess.run([sys.executable, "-c", script], env={**env, name: value}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected.split()


@pytest.mark.parametrize(("name", "value"), [("TINYGRAD_EDU_THREAD_SPIN_US", "-5"),
                                             ("TINYGRAD_EDU_THREAD_SPIN_US", "fast"),
                                             ("TINYGRAD_EDU_NUM_THREADS", "0"),
                                             ("TINYGRAD_EDU_NUM_THREADS", "two")])
def test_bad_environment_variables_name_themselves(name, value):
    done = subprocess.run([sys.executable, "-c", "import tinygrad_edu"], env={**os.environ, name: value},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"{name}={value!r}" in done.stderr, done.stderr


@pytest.mark.parametrize("sequence", [[2, 4, 1, 3, 2, 1], [3, 2, 3, 1, 2]])
def test_set_num_threads_up_and_down(sequence):
    a, b = big_product(np.float32, 0)
    try:
        for n in sequence:
            c.set_num_threads(n)
            assert c.lib.tg_get_num_threads() == n
            assert probe(n).tolist() == [1] * n
            assert probe(5).tolist() == [1] * 5
            assert_product(a, b, c.matmul(a, b))
    finally:
        c.set_num_threads(1)


def _child_work(_: int) -> list[int]:
    a, b = big_product(np.float64, 1)
    assert_product(a, b, c.matmul(a, b))
    return [*probe(2, work=20000).tolist(), c.get_num_threads()]


def test_fork_after_the_pool_started():
    """A forked child has only the forking thread: it must start its own workers, not wait for the
    parent's (a deadlock here would hit the timeout). multiprocessing's default on Linux is fork."""
    with threads(2):
        probe(2)  # the parent's workers exist and are spinning
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = pool.map_async(_child_work, range(4)).get(timeout=60)
        assert results == [[1, 1, 2]] * 4
        assert probe(2).tolist() == [1, 1]  # and the parent's pool still works


def test_interpreter_exit_with_workers_alive():
    """Workers blocked or spinning must not keep the process from exiting."""
    script = ("import numpy as np, tinygrad_edu as tg\n"
              "from tinygrad_edu.backend import c\n"
              "c.set_num_threads(3)\n"
              "a = np.ones((256, 512), np.float32); b = np.ones((512, 2048), np.float32)\n"
              "assert (c.matmul(a, b) == 512).all()\n")
    done = subprocess.run([sys.executable, "-c", script], env=os.environ, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_split_products_match_reference(isa, dtype, n_threads):
    """Products above gemm.c's threshold, split by columns (wide C) and by rows (tall C), batched."""
    rng = np.random.default_rng(n_threads)
    a, b = big_product(dtype, n_threads)
    tall_a, tall_b = b.T.copy(), a.T.copy()  # 2048×512 · 512×256: split by rows
    batch_a = rng.standard_normal((8, 256, 256)).astype(dtype)
    batch_b = rng.standard_normal((8, 256, 512)).astype(dtype)
    c.set_isa(isa)
    try:
        with threads(n_threads):
            for x, y in ((a, b), (tall_a, tall_b), (batch_a, batch_b)):
                assert_product(x, y, c.matmul(x, y))
    finally:
        c.set_isa(BEST_ISA)
