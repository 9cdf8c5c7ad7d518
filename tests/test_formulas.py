"""The activation and loss formulas of the source documents (FORMULAS.md, "Model pieces"),
checked literally: NumPy written from the formula on one side, the library on the other."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tinygrad_edu as tg
from tinygrad_edu.autograd import grad

finite = arrays(np.float64, st.integers(1, 12), elements=st.floats(-30, 30))


@settings(max_examples=30, deadline=None)
@given(finite)
def test_sigmoid_is_one_over_one_plus_exp_minus_x(x):
    # σ(x) = 1 / (1 + e^{−x});  σ'(x) = σ(x)(1 − σ(x))
    t = tg.tensor(x, requires_grad=True)
    y = t.sigmoid()
    expected = 1.0 / (1.0 + np.exp(-x))
    np.testing.assert_allclose(y.data, expected, rtol=1e-13, atol=1e-300)
    (gx,) = grad(y.sum(), t)
    np.testing.assert_allclose(gx.data, expected * (1.0 - expected), rtol=1e-12, atol=1e-300)


@settings(max_examples=30, deadline=None)
@given(finite)
def test_tanh_is_the_ratio_of_exponentials(x):
    # tanh x = (e^x − e^{−x}) / (e^x + e^{−x});  tanh' = 1 − tanh²
    t = tg.tensor(x, requires_grad=True)
    y = t.tanh()
    expected = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-15)
    (gx,) = grad(y.sum(), t)
    np.testing.assert_allclose(gx.data, 1.0 - expected**2, rtol=1e-9, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(finite)
def test_relu_is_max_of_zero_and_x(x):
    # ReLU(x) = max(0, x);  ReLU'(x) = [x > 0]
    t = tg.tensor(x, requires_grad=True)
    y = t.relu()
    np.testing.assert_array_equal(y.data, np.maximum(0.0, x))
    (gx,) = grad(y.sum(), t)
    np.testing.assert_array_equal(gx.data, (x > 0).astype(np.float64))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.integers(0, 2**31 - 1))
def test_mse_is_mean_of_squared_differences(n, seed):
    # MSE = (1/n) Σ (y_i − ŷ_i)²;  ∂MSE/∂ŷ_i = −(2/n)(y_i − ŷ_i)
    rng = np.random.default_rng(seed)
    y, y_hat = rng.standard_normal(n), rng.standard_normal(n)
    pred = tg.tensor(y_hat, requires_grad=True)
    mse = ((tg.tensor(y) - pred) ** 2).mean()
    assert mse.item() == pytest.approx(np.sum((y - y_hat) ** 2) / n, rel=1e-13)
    (g,) = grad(mse, pred)
    np.testing.assert_allclose(g.data, -(2.0 / n) * (y - y_hat), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.integers(0, 2**31 - 1))
def test_binary_cross_entropy_formula(n, seed):
    # BCE = −(1/n) Σ [y log ŷ + (1 − y) log(1 − ŷ)];  ∂BCE/∂ŷ_i = (ŷ_i − y_i) / (n ŷ_i (1 − ŷ_i))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(np.float64)
    y_hat = rng.uniform(0.05, 0.95, n)
    pred = tg.tensor(y_hat, requires_grad=True)
    target = tg.tensor(y)
    bce = -(target * pred.log() + (1.0 - target) * (1.0 - pred).log()).mean()
    expected = -np.sum(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)) / n
    assert bce.item() == pytest.approx(expected, rel=1e-13)
    (g,) = grad(bce, pred)
    np.testing.assert_allclose(g.data, (y_hat - y) / (n * y_hat * (1 - y_hat)), rtol=1e-11)


def test_stable_sigmoid_logsumexp_log_softmax_at_plus_minus_1000():
    x = tg.tensor(np.array([1000.0, -1000.0, 0.0, 999.0]), requires_grad=True)
    for fn in (lambda t: t.sigmoid(), lambda t: t.logsumexp(0), lambda t: t.log_softmax(0), lambda t: t.softmax(0)):
        y = fn(x)
        (g,) = grad(y.sum(), x)
        assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(g.data))
    np.testing.assert_allclose(x.sigmoid().data, [1.0, 0.0, 0.5, 1.0])
    assert x.logsumexp(0).item() == pytest.approx(1000.0 + np.log1p(np.exp(-1.0)), rel=1e-15)
