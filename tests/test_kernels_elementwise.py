"""The erf kernel (csrc/special.c, a vector kernel) against the NumPy reference.

``numpy_ref.erf`` calls Python's math.erf per element (exact to double precision). They must agree
to within one unit in the last place of the result's dtype (float32 too: the kernel's float lanes are
faithful, tests/test_kernels_special_vec.py, where every ISA level is tested), on any shape
(hypothesis: empty, 0-d, odd sizes, non-contiguous views) and at the special values (±0, ±inf, NaN,
the saturation region, x² overflowing).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c


def assert_within_one_ulp(actual: np.ndarray, expected: np.ndarray) -> None:
    """Within one ulp of the reference, in the reference's dtype."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = ~np.isnan(expected)
    ulp = np.spacing(np.abs(expected[finite]).astype(expected.dtype))
    assert np.all(np.abs(actual[finite] - expected[finite]) <= ulp)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_erf_c_matches_the_reference_on_any_shape(data, dtype):
    x = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9),
                             elements=st.floats(-6, 6, width=32 if dtype == np.float32 else 64)))
    assert_within_one_ulp(c.erf(x), ref.erf(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_c_special_values_and_views(dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 3.0, 6.0, -27.0, 1e30], dtype=dtype)
    y = c.erf(x)
    assert_within_one_ulp(y, ref.erf(x))
    assert np.signbit(y[1]) and y[2] == 1 and y[3] == -1  # erf(−0) = −0, erf(±inf) = ±1
    grid = np.linspace(-4, 4, 60, dtype=dtype).reshape(6, 10)
    view = grid.T[::2]  # neither C- nor F-contiguous
    assert_within_one_ulp(c.erf(view), ref.erf(view))


def test_erf_keeps_float16_on_the_reference():
    x = np.linspace(-2, 2, 7, dtype=np.float16)
    with tg.backend.using("c"):  # c.erf raises NoKernelError, the dispatcher runs the reference
        y = tg.backend.erf(x)
    np.testing.assert_array_equal(y, ref.erf(x))
    assert y.dtype == np.float16


def test_erf_op_runs_the_active_backend_kernel():
    x = np.linspace(-3, 3, 11)
    with tg.backend.using("c"):
        np.testing.assert_array_equal(tg.tensor(x).erf().data, c.erf(x))
    with tg.backend.using("numpy"):
        np.testing.assert_array_equal(tg.tensor(x).erf().data, ref.erf(x))
