"""float64 matmul emulated with int8 AMX tile products (Ozaki scheme II): ``backend.set_float64_matmul_emulation``.

csrc/gemm_ozaki.c has the scheme. Row i of A and column j of B are scaled by powers of two to 2-norm
≤ 2^γ and rounded to integers; the integer product is exact (N moduli, CRT), so the only error is
the rounding, |δa_ip| ≤ 2^-Ea_i−1 ≤ 2^-γ‖a_i‖ (2^-Ea_i = 2^(⌈log2‖a_i‖⌉−γ) < 2^(1−γ)‖a_i‖), and
by Cauchy–Schwarz, elementwise,
    |C − AB|_ij ≤ (2·√k·2^-γ + k·2^-2γ)·‖a_i‖‖b_j‖ + 2^-52·|C|_ij     (the last term: C's rounding).
The tests check that bound against a long-double reference (x86's 64-bit significand: its own error
is ~k·2^-64 relative, far below), that a plan with a modulus too few or a wrong CRT weight breaks it,
exact results for small integers (every a·2^E is then an integer: nothing is rounded), the same bits
at 1 and 2 threads and for transposed, strided and batched operands, and the fallbacks: inputs
holding inf or NaN, exponents outside 2^±900, k > 65536, the ISA below avx512 give the native
float64 result bit for bit. On a CPU without AMX the emulation tests skip (the fallback ones run).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
from helpers import amx_and_best_isa
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

AMX, BEST_ISA = amx_and_best_isa()

needs_amx = pytest.mark.skipif(not AMX, reason="this CPU or OS has no AMX (the fallback is tested instead)")

# around the kernel's tiles: 16-line tiles, 32×32 C blocks, 64 k per tile; 1 and primes (k > 512, more than one
# pass of the products, and B by rows wider than 256 columns: their own tests below)
SIDES = [1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 97]
INNER = [1, 3, 13, 63, 64, 65, 127, 128, 129, 191]
MODULI = 13  # the smallest count at γ = 50 (the cap)


@pytest.fixture(autouse=True)
def _restore_settings() -> Iterator[None]:
    """Every test ends with native float64, the best ISA and 1 thread."""
    yield
    tg.backend.set_float64_matmul_emulation(None)
    c.set_isa(BEST_ISA)
    c.set_num_threads(1)


def emulated(a: np.ndarray, b: np.ndarray, moduli: int = MODULI) -> np.ndarray:
    tg.backend.set_float64_matmul_emulation(moduli)
    try:
        return c.matmul(a, b)
    finally:
        tg.backend.set_float64_matmul_emulation(None)


def bound(a: np.ndarray, b: np.ndarray, gamma: int, result: np.ndarray) -> np.ndarray:
    """The elementwise error bound of the module docstring."""
    k = a.shape[-1]
    norms = np.linalg.norm(a, axis=-1)[..., :, None] * np.linalg.norm(b, axis=-2)[..., None, :]
    return (2 * math.sqrt(k) * 2.0**-gamma + k * 2.0**(-2 * gamma)) * norms + 2.0**-52 * np.abs(result)


def reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(a.astype(np.longdouble), b.astype(np.longdouble))


def normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def test_plan_constants_are_the_crt() -> None:
    for count in (1, 2, 12, 13, 16):
        plan = c.ozaki_plan(count)
        moduli = [int(plan.modulus[i]) for i in range(count)]
        big_m = math.prod(moduli)
        assert moduli == c.ozaki_moduli(count) and all(m <= 256 for m in moduli)
        assert all(math.gcd(x, y) == 1 for i, x in enumerate(moduli) for y in moduli[i + 1:])
        assert 2.0 ** (2 * plan.gamma + 1) < big_m and plan.gamma <= 50
        for i, m in enumerate(moduli):
            weight = int(plan.w1[i]) + round(plan.w2[i])
            exact = (big_m // m) * pow(big_m // m, -1, m) % big_m
            assert abs(weight - exact) <= exact * 2.0**-52 + 1  # w2 is rounded, w1 exact
            assert exact % m == 1 and all(exact % other == 0 for other in moduli if other != m)
        assert int(plan.m1) + round(plan.m2) == pytest.approx(big_m, rel=2.0**-52)


@needs_amx
@settings(max_examples=40, deadline=None)
@given(m=st.sampled_from(SIDES), n=st.sampled_from(SIDES), k=st.sampled_from(INNER), seed=st.integers(0, 2**31))
def test_error_within_bound(m: int, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = normal(rng, m, k), normal(rng, k, n)
    got = emulated(a, b)
    gamma = c.ozaki_plan(MODULI).gamma
    assert np.all(np.abs(got - reference(a, b)) <= bound(a, b, gamma, got))


@needs_amx
def test_accuracy_near_float64_and_fewer_moduli_lose_it() -> None:
    """13 moduli: max |C − AB|/(|A||B|) ≤ 2e-14 on normals (measured 5e-15 at 1024³); 11 moduli (γ = 43)
    is over 1e-13, so a dropped modulus shows."""
    rng = np.random.default_rng(0)
    a, b = normal(rng, 96, 200), normal(rng, 200, 80)
    exact, scale = reference(a, b), np.abs(a) @ np.abs(b)
    assert np.max(np.abs(emulated(a, b) - exact) / scale) < 2e-14
    assert np.max(np.abs(emulated(a, b, 11) - exact) / scale) > 1e-13


@needs_amx
@pytest.mark.parametrize("broken", ["modulus dropped", "weight off by M/m"])
def test_a_broken_plan_breaks_the_bound(broken: str) -> None:
    """The bound test would catch a missing modulus or a wrong CRT weight: run the C kernel on a corrupted plan."""
    rng = np.random.default_rng(1)
    m, k, n = 40, 70, 36
    a, b = normal(rng, m, k), normal(rng, k, n)
    plan = c.ozaki_plan(MODULI)
    if broken == "modulus dropped":
        plan.moduli = MODULI - 1  # the last modulus' residues are not summed, γ still assumes all of M
    else:
        plan.w1[3] += plan.m1 / plan.modulus[3]  # W_3 + M/m_3: ≢ 0 modulo m_3's neighbours' product
    out = np.empty((m, n))
    work = np.empty(c.lib.tg_ozaki_workspace(MODULI, m, n, k, 1), dtype=np.uint8)
    as_double = c.ffi.cast
    status = c.lib.tg_gemm_ozaki_f64(plan, 1, m, n, k, as_double("double *", c.ffi.from_buffer(a)), 0, k, 1,
                                     as_double("double *", c.ffi.from_buffer(b)), 0, n, 1, 0.0,
                                     as_double("double *", c.ffi.from_buffer(out)), 0, n, 1,
                                     c.ffi.from_buffer(work), work.size)
    assert status == 0
    assert not np.all(np.abs(out - reference(a, b)) <= bound(a, b, plan.gamma, out))


@needs_amx
@settings(max_examples=15, deadline=None)
@given(m=st.sampled_from(SIDES), n=st.sampled_from(SIDES), k=st.sampled_from(INNER), seed=st.integers(0, 2**31))
def test_small_integers_exact(m: int, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(-8, 9, (m, k)).astype(np.float64)
    b = rng.integers(-8, 9, (k, n)).astype(np.float64)
    np.testing.assert_array_equal(emulated(a, b), a @ b)


@needs_amx
@pytest.mark.parametrize("layout", ["a.T", "b.T", "both.T", "strided", "batched", "broadcast"])
def test_layouts_give_the_same_bits(layout: str) -> None:
    rng = np.random.default_rng(2)
    a, b = normal(rng, 3, 37, 70), normal(rng, 3, 70, 45)
    expected = np.stack([emulated(a[t], b[t]) for t in range(3)])
    if layout == "a.T":
        got = np.stack([emulated(np.ascontiguousarray(a[t].T).T, b[t]) for t in range(3)])
    elif layout == "b.T":
        got = np.stack([emulated(a[t], np.ascontiguousarray(b[t].T).T) for t in range(3)])
    elif layout == "both.T":
        got = np.stack([emulated(np.asfortranarray(a[t]), np.asfortranarray(b[t])) for t in range(3)])
    elif layout == "strided":
        wide_a, wide_b = np.repeat(a, 2, axis=-1), np.repeat(b, 2, axis=-1)
        got = np.stack([emulated(np.ascontiguousarray(wide_a[t])[:, ::2], wide_b[t][:, ::2]) for t in range(3)])
    elif layout == "batched":
        got = emulated(a, b)
    else:
        got, expected = emulated(a, b[0]), np.stack([emulated(a[t], b[0]) for t in range(3)])
    np.testing.assert_array_equal(got, expected)


@needs_amx
def test_long_k_sums_carry_over_between_passes() -> None:
    """k = 1100: the products run k in passes of 512 (sums kept between passes, a short last pass); small
    integers are exact, so any lost or doubled pass shows."""
    rng = np.random.default_rng(10)
    a = rng.integers(-8, 9, (40, 1100)).astype(np.float64)
    b = rng.integers(-8, 9, (1100, 50)).astype(np.float64)
    np.testing.assert_array_equal(emulated(a, b), a @ b)


@needs_amx
def test_wide_b_by_rows_goes_256_columns_at_a_time() -> None:
    """B stored by rows is split 256 columns at a time (a partial second group at 300 columns): the bits of
    B stored by columns (split 16 columns at a time, another path), within the bound; a NaN in the second
    group falls back to the native result."""
    rng = np.random.default_rng(9)
    a, b = normal(rng, 20, 70), normal(rng, 70, 300)
    got = emulated(a, b)
    np.testing.assert_array_equal(got, emulated(a, np.asfortranarray(b)))
    assert np.all(np.abs(got - reference(a, b)) <= bound(a, b, c.ozaki_plan(MODULI).gamma, got))
    b[3, 290] = np.nan
    np.testing.assert_array_equal(emulated(a, b), c.matmul(a, b))


@needs_amx
def test_one_and_two_threads_give_the_same_bits() -> None:
    rng = np.random.default_rng(3)
    a, b = normal(rng, 161, 130), normal(rng, 130, 203)  # 161·203·130 > 2^21 multiply-adds: threads split it
    one = emulated(a, b)
    c.set_num_threads(2)
    np.testing.assert_array_equal(emulated(a, b), one)
    assert np.all(np.abs(one - reference(a, b)) <= bound(a, b, c.ozaki_plan(MODULI).gamma, one))


@needs_amx
def test_zero_rows_and_columns_give_zeros() -> None:
    rng = np.random.default_rng(4)
    a, b = normal(rng, 33, 65), normal(rng, 65, 34)
    a[5] = 0
    b[:, 7] = 0
    got = emulated(a, b)
    assert np.all(got[5] == 0) and np.all(got[:, 7] == 0)
    assert np.all(np.abs(got - reference(a, b)) <= bound(a, b, c.ozaki_plan(MODULI).gamma, got))


def test_emulation_differs_from_native_only_where_it_runs() -> None:
    rng = np.random.default_rng(5)
    a, b = normal(rng, 40, 50), normal(rng, 50, 30)
    native = c.matmul(a, b)
    assert np.array_equal(emulated(a, b), native) != AMX  # normals: some bits differ when it runs


@pytest.mark.parametrize("case", ["inf", "nan", "huge", "tiny", "long k", "isa avx2", "isa portable"])
def test_fallbacks_give_the_native_result(case: str) -> None:
    rng = np.random.default_rng(6)
    k = 65537 if case == "long k" else 40
    a, b = normal(rng, 3 if case == "long k" else 20, k), normal(rng, k, 2 if case == "long k" else 24)
    if case == "inf":
        a[2, 3] = np.inf
    elif case == "nan":
        b[4, 5] = np.nan
    elif case == "huge":
        a[1] *= 2.0**950
    elif case == "tiny":
        b[:, 2] *= 2.0**-950
    elif case.startswith("isa"):
        c.set_isa(case.split()[1])
    with np.errstate(invalid="ignore", over="ignore"):
        np.testing.assert_array_equal(emulated(a, b), c.matmul(a, b))


def test_float32_is_unchanged() -> None:
    rng = np.random.default_rng(7)
    a, b = normal(rng, 40, 50).astype(np.float32), normal(rng, 50, 30).astype(np.float32)
    np.testing.assert_array_equal(emulated(a, b), c.matmul(a, b))


@pytest.mark.parametrize("value", [0, 17, -1, 13.0, "13", True])
def test_bad_settings_raise(value: object) -> None:
    with pytest.raises(ValueError, match="set_float64_matmul_emulation"):
        tg.backend.set_float64_matmul_emulation(value)
    assert tg.backend.get_float64_matmul_emulation() is None


def test_setting_is_kept_and_numpy_backend_computes_natively() -> None:
    tg.backend.set_float64_matmul_emulation(MODULI)
    assert tg.backend.get_float64_matmul_emulation() == MODULI
    rng = np.random.default_rng(8)
    a, b = normal(rng, 20, 30), normal(rng, 30, 10)
    with tg.backend.using("numpy"):
        np.testing.assert_array_equal(tg.backend.matmul(a, b), a @ b)
