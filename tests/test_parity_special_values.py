"""Reductions over special values (inf, -inf, nan, overflow) against PyTorch: the same values,
and no NumPy RuntimeWarning (PyTorch computes inf + (-inf) = nan silently)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

INF, NAN = float("inf"), float("nan")
SPECIAL_ROWS = {
    "inf and -inf": [INF, -INF, 1.0],
    "two inf": [INF, INF, 1.0],
    "nan": [NAN, 1.0, 2.0],
    "all -inf": [-INF, -INF, -INF],
    "overflowing squares": [3e38, 3e38, 1.0],  # x² overflows float32 (and the sum of 3e38s)
}
REDUCTIONS = {
    "sum": lambda x: x.sum(),
    "sum dim": lambda x: x.sum(1),
    "mean": lambda x: x.mean(),
    "mean dim": lambda x: x.mean(1, keepdim=True),
    "var": lambda x: x.var(1),
    "std": lambda x: x.std(),
    "norm": lambda x: x.norm(dim=1),
    "norm p=3": lambda x: x.norm(3.0),
    "amax": lambda x: x.amax(1),
    "amin": lambda x: x.amin(),
    "logsumexp": lambda x: x.logsumexp(1),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("row", SPECIAL_ROWS)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_of_special_values_match_torch_without_warnings(name, row, dtype):
    x = np.array([SPECIAL_ROWS[row], [1.0, 2.0, 3.0]], dtype=dtype)
    fn = REDUCTIONS[name]
    expected = fn(torch.tensor(x)).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any NumPy RuntimeWarning fails the test
        ours = fn(tg.tensor(x))
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours.data, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, equal_nan=True)


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "norm"])
def test_gradients_through_special_values_match_torch_without_warnings(name):
    x = np.array([SPECIAL_ROWS["inf and -inf"], SPECIAL_ROWS["nan"]])
    fn = REDUCTIONS[name]
    xt = torch.tensor(x, requires_grad=True)
    fn(xt).sum().backward()
    xg = tg.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn(xg).sum().backward()
    np.testing.assert_allclose(xg.grad.data, xt.grad.numpy(), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("name", ["var", "std"])
def test_no_degrees_of_freedom_warn_like_torch_naming_the_op(name):
    """N ≤ correction: nan as torch, with one UserWarning (torch's kind) that names the op and the
    sizes, and not NumPy's RuntimeWarning from inside np.var."""
    x = np.array([[1.0], [2.0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = getattr(tg.tensor(x), name)(1)
    with warnings.catch_warnings(record=True) as torch_caught:
        warnings.simplefilter("always")
        theirs = getattr(torch.tensor(x), name)(1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # nan, nan
    assert [w.category for w in caught] == [w.category for w in torch_caught] == [UserWarning]
    assert str(caught[0].message).startswith(f"{name}(): degrees of freedom is <= 0 (1 elements per slice")
    assert caught[0].filename == __file__  # points at the caller's line
