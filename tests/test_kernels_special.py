"""The error-function kernels (csrc/special.c) against their NumPy reference (ops/special.py).

Both run the same methods with the same branch points, the reference in float64 NumPy with
Python's math.erfc, the kernel in C with libm's erfc. Measured against mpmath (40 digits), each is
within 5 ulp of the exact value (module docstring of ops/special.py), so here they must agree to
within ``ULPS`` float64 ulps, and float32 (the kernels' float lanes, ≤ 5 ulp; the reference rounded once) to
``ULPS_F32``, on
any shape (hypothesis: empty, 0-d, odd sizes), on non-contiguous views and at the special values.
The tests against PyTorch are in tests/test_parity_special*.py; those against mpmath, on every ISA
level, in tests/test_kernels_special_vec.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.ops import special

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

ULPS = 8  # float64: each side is within 5 ulp of exact, and most within 3 (ops/special.py)
ULPS_F32 = 6  # float32: the kernel within 5 ulp of exact, the reference within ½

# name -> (NumPy reference, the range drawn from)
REFERENCES = {
    "erfc": (special._erfc, (-7.0, 28.0)),
    "erfcx": (special._erfcx, (-27.0, 1e4)),
    "ndtr": (special._ndtr, (-40.0, 10.0)),
    "log_ndtr": (special._log_ndtr, (-1e3, 10.0)),
    "ndtri": (special._ndtri, (0.0, 1.0)),
    "erfinv": (special._erfinv, (-1.0, 1.0)),
}


def reference(name: str, x: np.ndarray) -> np.ndarray:
    """The NumPy reference in float64, rounded once to x's dtype (as ops/special.py's float32 path)."""
    with np.errstate(all="ignore"):
        y = REFERENCES[name][0](np.atleast_1d(x).astype(np.float64).copy())
        return y.astype(x.dtype).reshape(x.shape)


def assert_close_in_ulps(actual: np.ndarray, expected: np.ndarray, ulps: float) -> None:
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    finite = np.isfinite(expected)
    spacing = np.spacing(np.abs(expected[finite]))
    assert np.all(np.abs(actual[finite] - expected[finite]) <= ulps * spacing), \
        np.max(np.abs(actual[finite] - expected[finite]) / spacing)


@settings(max_examples=15, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(REFERENCES)), dtype=st.sampled_from([np.float32, np.float64]))
def test_special_c_matches_the_reference_on_any_shape(data, name, dtype):
    low, high = REFERENCES[name][1]
    x = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9),
                             elements=st.floats(low, high, width=32 if dtype == np.float32 else 64)))
    assert_close_in_ulps(c.special(name, x), reference(name, x), ULPS if dtype == np.float64 else ULPS_F32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_special_c_matches_the_reference_on_a_grid_and_a_view(name, dtype):
    low, high = REFERENCES[name][1]
    grid = np.linspace(low, high, 4001, dtype=np.float64).astype(dtype)
    assert_close_in_ulps(c.special(name, grid), reference(name, grid), ULPS if dtype == np.float64 else ULPS_F32)
    view = grid[:4000].reshape(40, 100).T[::3]  # neither C- nor F-contiguous
    assert_close_in_ulps(c.special(name, view), reference(name, view), ULPS if dtype == np.float64 else ULPS_F32)


def test_special_c_tails_where_the_naive_formulas_fail():
    x = -np.logspace(0, 2.5, 200)  # Φ(x) underflows below −38.5, erfc(−x/√2) loses x² ulps before that
    assert_close_in_ulps(c.special("log_ndtr", x), reference("log_ndtr", x), ULPS)
    p = np.logspace(-320, -1, 300)  # down to subnormal probabilities
    assert_close_in_ulps(c.special("ndtri", p), reference("ndtri", p), ULPS)
    assert_close_in_ulps(c.special("ndtri", 1.0 - p[p > 1e-16]), reference("ndtri", 1.0 - p[p > 1e-16]), ULPS)
    y = 1.0 - np.logspace(-16, -1, 100)
    assert_close_in_ulps(c.special("erfinv", y), reference("erfinv", y), ULPS)
    # Φ⁻¹(Φ(z)) = z in the left tail, where Φ keeps every digit
    z = -np.linspace(1.0, 37.0, 200)
    np.testing.assert_allclose(c.special("ndtri", c.special("ndtr", z)), z, rtol=4e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_c_special_values(dtype):
    inf, nan = np.inf, np.nan
    cases = {
        "erfc": ([0.0, -0.0, inf, -inf, nan], [1.0, 1.0, 0.0, 2.0, nan]),
        "erfcx": ([0.0, inf, -inf, nan, -30.0], [1.0, 0.0, inf, nan, inf]),
        "ndtr": ([0.0, inf, -inf, nan], [0.5, 1.0, 0.0, nan]),
        "log_ndtr": ([inf, -inf, nan], [0.0, -inf, nan]),
        "ndtri": ([0.0, 1.0, 0.5, -0.1, 1.1, nan], [-inf, inf, 0.0, nan, nan, nan]),
        "erfinv": ([1.0, -1.0, 0.0, 1.5, -1.5, nan], [inf, -inf, 0.0, nan, nan, nan]),
    }
    for name, (x, expected) in cases.items():
        with np.errstate(over="ignore"):
            y = c.special(name, np.array(x, dtype=dtype))
        np.testing.assert_array_equal(y, np.array(expected, dtype=dtype), err_msg=name)
        assert y.dtype == dtype
    assert np.signbit(c.special("erfinv", np.array([-0.0], dtype=dtype))[0])  # erf⁻¹(−0) = −0


def test_special_dispatch_and_float16_fallback():
    x = np.linspace(-2, 2, 9, dtype=np.float16)
    with tg.backend.using("c"):
        assert tg.backend.special("erfc", x) is None  # no kernel: the op runs its NumPy reference
        y = tg.special.erfc(tg.tensor(x)).numpy()
        assert tg.backend.special("erfc", x.astype(np.float32)) is not None
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, reference("erfc", x))
    with tg.backend.using("numpy"):
        assert tg.backend.special("erfc", x.astype(np.float64)) is None
    with pytest.raises(ValueError, match="erfcx"):
        c.special("erfcx", np.arange(3))


def test_special_ops_agree_across_backends():
    x = np.linspace(-6, 6, 301)
    p = np.linspace(0, 1, 301)
    for name, values in (("erfc", x), ("erfcx", x), ("ndtr", x), ("log_ndtr", x), ("ndtri", p), ("erfinv", 2 * p - 1)):
        with tg.backend.using("numpy"):
            expected = getattr(tg.special, name)(tg.tensor(values)).numpy()
        with tg.backend.using("c"):
            actual = getattr(tg.special, name)(tg.tensor(values)).numpy()
        assert_close_in_ulps(actual, expected, ULPS)
