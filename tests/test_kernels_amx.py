"""float32 matmul precision, torch's ``set_float32_matmul_precision``, and the AMX kernels behind it.

``tg.set_float32_matmul_precision("highest" | "high" | "medium")`` chooses how float32 products are
computed inside (csrc/gemm_amx.c has the derivations):
    "highest"  float32 FMA GEMM, bit for bit the result without the setting;
    "high"     bf16x3: a = hi + lo (hi = bf16(a), lo = bf16(a − hi), |a − hi − lo| ≤ 2^-16 |a|),
               C = A_hi·B_hi + A_hi·B_lo + A_lo·B_hi on AMX, so
               |C − C64| ≤ (3.01·2^-16 + 3.1·k·2^-24) · (|A|·|B|)  elementwise,
    "medium"   C = A_hi·B_hi:  |C − C64| ≤ (2.01·2^-8 + 1.02·k·2^-24) · (|A|·|B|),
where C64 is the float64 product of the float32 inputs. The tests check these bounds on shapes drawn
by hypothesis around the kernel's tiles (16-row tiles, 32×32 C blocks, 32 k per tile as 16 pairs, so
odd k and k not a multiple of 32) and cache blocks (KC = NC = 1024, MC = 128), with transposed and
strided operands (which must give the same bits as contiguous ones), batches, 1 and 2 threads (the
same bits), and check that "medium" breaks the "high" bound (so the bound would catch lost lo
products). Products AMX does not take give exactly the FMA result: below the size threshold (a side
< 32 or 2mnk < 2^18), inputs holding inf or NaN, float64, the NumPy backend, the ISA capped below
avx512, and AMX switched off with ``backend.c.allow_amx(False)`` (the switch for tests: the FMA path
on an AMX machine; TINYGRAD_EDU_ISA=avx2 or portable means no AMX too).
On a CPU without AMX the tests that need it skip; everything else still runs.
torch 2.13 on a CPU honours "medium" (bfloat16 through oneDNN) and ignores "high" (float32, the same
as "highest"); the last test checks that and compares the two "medium"s.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from helpers import amx_and_best_isa, temporarily
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

AMX, BEST_ISA = amx_and_best_isa()

needs_amx = pytest.mark.skipif(not AMX, reason="this CPU or OS has no AMX-BF16 (the FMA path is tested instead)")

# Around the tiles and blocks, all ≥ 32 so that AMX takes them (AMX_MIN_SIDE in gemm_amx.c).
SIDES = [32, 33, 47, 48, 49, 63, 64, 65, 97, 130]
INNER = [32, 33, 35, 63, 64, 65, 95, 127, 257]


@pytest.fixture(autouse=True)
def _restore_settings() -> Iterator[None]:
    """Every test starts and ends at "highest", AMX allowed, the best ISA and 1 thread."""
    yield
    tg.set_float32_matmul_precision("highest")
    if "c" in tg.backend.available():
        c.allow_amx(True)
        c.set_isa(BEST_ISA)
        c.set_num_threads(1)


def precision(name: str) -> contextlib.AbstractContextManager[None]:
    """Run the block at float32 matmul precision `name`."""
    return temporarily(tg.set_float32_matmul_precision, tg.get_float32_matmul_precision, name)


def c_matmul(a: np.ndarray, b: np.ndarray, mode: str) -> np.ndarray:
    with precision(mode):
        return c.matmul(a, b)


def operands(seed: int, m: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)


def bound(mode: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The elementwise error bound of `mode` (module docstring) for the product a·b."""
    k = a.shape[-1]
    rel = 3.01 * 2.0**-16 + 3.1 * k * 2.0**-24 if mode == "high" else 2.01 * 2.0**-8 + 1.02 * k * 2.0**-24
    return rel * np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64))


def error_over_bound(mode: str, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> float:
    """max |C − C64| / bound: ≤ 1 when the result keeps its precision's promise."""
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    return float(np.max(np.abs(out - exact) / bound(mode, a, b)))


# ---- the API ---------------------------------------------------------------------------------------


def test_default_is_highest_and_set_get_round_trip():
    assert tg.get_float32_matmul_precision() == "highest"
    for name in ("high", "medium", "highest"):
        tg.set_float32_matmul_precision(name)
        assert tg.get_float32_matmul_precision() == name
        assert tg.backend.get_float32_matmul_precision() == name


def test_unknown_name_warns_like_torch_and_changes_nothing():
    tg.set_float32_matmul_precision("medium")
    with pytest.warns(UserWarning, match="low is not one of 'highest', 'high', or 'medium'"):
        tg.set_float32_matmul_precision("low")
    with pytest.warns(UserWarning, match="HIGH is not one of"):
        tg.set_float32_matmul_precision("HIGH")
    assert tg.get_float32_matmul_precision() == "medium"


@pytest.mark.parametrize("value, type_name", [(3, "int"), (None, "NoneType"), (1.5, "float")])
def test_non_str_raises_runtime_error_like_torch(value: object, type_name: str):
    with pytest.raises(RuntimeError, match=f"set_float32_matmul_precision expects a str, but got {type_name}"):
        tg.set_float32_matmul_precision(value)  # type: ignore[arg-type]
    assert tg.get_float32_matmul_precision() == "highest"


def test_numpy_backend_stores_the_setting_and_computes_in_float32():
    a, b = operands(0, 64, 96, 80)
    with tg.backend.using("numpy"), precision("medium"):
        assert tg.get_float32_matmul_precision() == "medium"
        out = tg.backend.matmul(a, b)
    assert np.array_equal(out, numpy_ref.matmul(a, b))


def test_highest_is_bit_for_bit_the_float32_kernel():
    a, b = operands(1, 130, 257, 97)
    before = c.matmul(a, b)
    tg.set_float32_matmul_precision("high")
    tg.set_float32_matmul_precision("highest")
    assert np.array_equal(c.matmul(a, b), before)


@needs_amx
def test_high_and_medium_take_the_amx_path():
    """Not silently the FMA kernel: both differ from "highest" on random data, and from each other."""
    a, b = operands(2, 64, 128, 64)
    results = {mode: c_matmul(a, b, mode) for mode in ("highest", "high", "medium")}
    assert not np.array_equal(results["high"], results["highest"])
    assert not np.array_equal(results["medium"], results["high"])


# ---- accuracy ------------------------------------------------------------------------------------


@needs_amx
@settings(max_examples=25)
@given(m=st.sampled_from(SIDES), k=st.sampled_from(INNER), n=st.sampled_from(SIDES),
       layout=st.sampled_from(["c", "a.T", "b.T", "both.T", "strided"]), seed=st.integers(0, 2**16))
def test_high_and_medium_within_their_bounds_in_every_layout(m: int, k: int, n: int, layout: str, seed: int):
    """The bounds hold, and a transposed or strided operand gives the same bits as a contiguous one
    (the packing makes the same tiles from either)."""
    a, b = operands(seed, m, k, n)
    views = {"c": (a, b), "a.T": (np.asfortranarray(a), b), "b.T": (a, np.asfortranarray(b)),
             "both.T": (np.asfortranarray(a), np.asfortranarray(b)),
             "strided": (np.repeat(a, 2, axis=1)[:, ::2], np.repeat(b, 3, axis=0)[::3])}
    va, vb = views[layout]
    for mode in ("high", "medium"):
        out = c_matmul(a, b, mode)
        assert out.dtype == np.float32 and out.shape == (m, n)
        assert error_over_bound(mode, a, b, out) <= 1.0
        assert np.array_equal(c_matmul(va, vb, mode), out)


@needs_amx
@pytest.mark.parametrize("m, k, n", [(32, 1025, 40), (40, 2100, 33), (130, 64, 1030), (33, 97, 2100)])
def test_bounds_across_the_cache_blocks(m: int, k: int, n: int):
    """k beyond KC (C goes through memory between K blocks), n beyond NC, m beyond MC."""
    a, b = operands(3, m, k, n)
    for mode in ("high", "medium"):
        assert error_over_bound(mode, a, b, c_matmul(a, b, mode)) <= 1.0


@needs_amx
@pytest.mark.parametrize("k", [33, 64, 257])
def test_dropping_the_lo_products_breaks_the_high_bound(k: int):
    """One pass (hi·hi only, what "medium" computes) is far outside "high"'s bound: the bound would
    catch a kernel that lost the hi·lo or lo·hi products."""
    a, b = operands(4, 64, k, 64)
    assert error_over_bound("high", a, b, c_matmul(a, b, "medium")) > 4.0
    assert error_over_bound("high", a, b, c_matmul(a, b, "high")) <= 1.0


@needs_amx
def test_measured_accuracy_on_normal_inputs():
    """Max relative error vs float64 on N(0, 1) inputs, 256³: high near float32's, medium near bf16's
    (benchmarks/bench_matmul_precision.py prints these numbers)."""
    a, b = operands(5, 256, 256, 256)
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    scale = np.max(np.abs(exact))
    errors = {mode: np.max(np.abs(c_matmul(a, b, mode) - exact)) / scale for mode in ("highest", "high", "medium")}
    assert errors["highest"] < 2e-6 and errors["high"] < 1e-5 and 1e-4 < errors["medium"] < 1e-2


# ---- what AMX does not take: exactly the FMA result ---------------------------------------------------


@needs_amx
def test_inf_and_nan_inputs_give_the_float32_result():
    """A value that is not finite, or that overflows bfloat16 (> 3.3895e38), sends the whole product
    to the FMA GEMM (the packing finds it): the "highest" bits, NaN where NaN."""
    a, b = operands(6, 64, 96, 80)
    for where, value in (((3, 5), np.inf), ((10, 90), -np.inf), ((63, 0), np.nan), ((7, 7), 3.4e38)):
        bad_a = a.copy()
        bad_a[where] = value
        for x, y in ((bad_a, b), (b.T.copy(), bad_a.T.copy())):
            expected = c.matmul(x, y)
            for mode in ("high", "medium"):
                assert np.array_equal(c_matmul(x, y, mode), expected, equal_nan=True)


@needs_amx
def test_denormal_inputs_count_as_zero():
    """The bf16 conversion and TDPBF16PS treat denormals as zero: an A of denormals gives C = 0
    (the float32 result is ~1e-39 there); for |a| ~ 2^-120 lo (~2^-129) is below 2^-126 and dropped,
    so "high" has "medium"'s accuracy there (csrc/gemm_amx.c)."""
    a, b = operands(7, 64, 64, 64)
    tiny = (a * np.float32(1e-39)).astype(np.float32)
    assert np.all(c_matmul(tiny, b, "high") == 0) and np.any(c.matmul(tiny, b) != 0)
    small = (a * np.float32(2.0**-120)).astype(np.float32)
    out = c_matmul(small, b, "high")
    assert error_over_bound("medium", small, b, out) <= 1.0 < error_over_bound("high", small, b, out)


@pytest.mark.parametrize("m, k, n", [(1, 64, 64), (31, 64, 64), (64, 31, 64), (64, 64, 31), (64, 256, 10),
                                     (16, 1000, 40), (32, 32, 32), (0, 40, 40), (40, 0, 40), (40, 40, 0)])
def test_below_the_threshold_and_empty_is_the_float32_result(m: int, k: int, n: int):
    a, b = operands(8, m, k, n)
    expected = c.matmul(a, b)
    for mode in ("high", "medium"):
        out = c_matmul(a, b, mode)
        assert out.shape == (m, n) and out.dtype == np.float32
        assert np.array_equal(out, expected)


@pytest.mark.parametrize("switch", ["allow_amx", "avx2", "portable"])
def test_amx_off_gives_the_fma_result_exactly(switch: str):
    """allow_amx(False), or the ISA capped below avx512: "high" and "medium" are "highest" bit for bit."""
    a, b = operands(9, 130, 257, 97)
    if switch == "allow_amx":
        c.allow_amx(False)
    else:
        c.set_isa(switch)
    assert not c.amx_usable()
    expected = c.matmul(a, b)
    for mode in ("high", "medium"):
        assert np.array_equal(c_matmul(a, b, mode), expected)
    c.allow_amx(True)
    c.set_isa(BEST_ISA)
    assert c.amx_usable() == AMX


def test_float64_never_changes():
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal((130, 257)), rng.standard_normal((257, 97))
    expected = c.matmul(a, b)
    batch = rng.standard_normal((3, 64, 64))
    expected_batch = c.matmul(batch, batch)
    a32 = a.astype(np.float32)
    expected_mixed = c.matmul(a32, b)  # float32 · float64 -> float64
    for mode in ("high", "medium"):
        with precision(mode):
            assert np.array_equal(c.matmul(a, b), expected)
            assert np.array_equal(c.matmul(batch, batch), expected_batch)
            assert np.array_equal(c.matmul(a32, b), expected_mixed)


# ---- batches, threads, the Tensor API ---------------------------------------------------------------


@needs_amx
def test_batched_and_broadcast_products_equal_the_2d_ones():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((3, 40, 70)).astype(np.float32)
    b = rng.standard_normal((70, 50)).astype(np.float32)
    for mode in ("high", "medium"):
        batched = c_matmul(a, b, mode)
        for i in range(3):
            assert np.array_equal(batched[i], c_matmul(a[i], b, mode))
        assert error_over_bound(mode, a, b, batched) <= 1.0


@needs_amx
@pytest.mark.parametrize("shape", [((512, 512), (512, 512)), ((1024, 256), (256, 512)), ((2, 256, 512), (512, 600))])
def test_two_threads_give_the_same_bits(shape: tuple[tuple[int, ...], tuple[int, ...]]):
    """Columns (or rows when C is taller, or the batch) split in whole 32-wide strips: each C block is
    computed by one thread in the same order, so 2 threads change no bit."""
    rng = np.random.default_rng(12)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shape)
    for mode in ("high", "medium"):
        one = c_matmul(a, b, mode)
        c.set_num_threads(2)
        two = c_matmul(a, b, mode)
        c.set_num_threads(1)
        assert np.array_equal(one, two)
        assert error_over_bound(mode, a, b, one) <= 1.0


@needs_amx
def test_nan_with_two_threads_gives_the_float32_result():
    """A NaN in the part of B that the second thread packs: that thread sets the shared stop flag, the
    first stops at its next block, and the whole C (half written by AMX) is computed again by the FMA
    GEMM on 2 threads: the "highest" bits."""
    rng = np.random.default_rng(14)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in ((512, 512), (512, 512)))
    b[500, 400] = np.nan
    c.set_num_threads(2)
    expected = c.matmul(a, b)
    for mode in ("high", "medium"):
        assert np.array_equal(c_matmul(a, b, mode), expected, equal_nan=True)


def test_tensor_matmul_and_linear_follow_the_setting():
    a, b = operands(13, 64, 96, 80)
    with precision("high"):
        assert np.array_equal((tg.tensor(a) @ tg.tensor(b)).numpy(), c.matmul(a, b))
        layer = tg.nn.Linear(96, 80, bias=False)
        layer.weight.data[...] = b.T
        assert np.array_equal(layer(tg.tensor(a)).detach().numpy(), c.matmul(a, b))


# ---- against torch --------------------------------------------------------------------------------


@pytest.mark.torch
def test_against_torch_on_cpu():
    """torch (CPU) ignores "high" (float32, its "highest" bits) and computes "medium" in bfloat16; our
    "medium" meets the bound, and with AMX its error is of torch's size (both round to nearest even)."""
    torch = pytest.importorskip("torch")
    a, b = operands(14, 128, 256, 96)
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    previous = torch.get_float32_matmul_precision()
    try:
        theirs = {}
        for mode in ("highest", "high", "medium"):
            torch.set_float32_matmul_precision(mode)
            theirs[mode] = (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()
    finally:
        torch.set_float32_matmul_precision(previous)
    assert np.array_equal(theirs["high"], theirs["highest"])
    ours = c_matmul(a, b, "medium")
    assert error_over_bound("medium", a, b, theirs["medium"]) <= 1.0
    assert error_over_bound("medium", a, b, ours) <= 1.0
    if AMX:
        ratio = np.mean(np.abs(ours - exact)) / np.mean(np.abs(theirs["medium"] - exact))
        assert 0.5 < ratio < 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert error_over_bound("high", a, b, c_matmul(a, b, "high")) <= 1.0
