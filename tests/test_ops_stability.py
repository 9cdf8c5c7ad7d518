"""Numerical stability at extreme inputs: ±1000 give finite values, gradients and second
derivatives, equal to PyTorch's, in float32 and float64 (the value checks at ±1000 written
from the formulas are in test_formulas.py). And the fused ops against their composite
twins built from primitive ops (STYLE §2.7), where the composite is safe to evaluate."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import grad
from tinygrad_edu.testing import assert_matches_torch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

EXTREME = np.array([[1000.0, -1000.0, 0.0, 999.0], [-1000.0, -1000.0, -999.0, 5.0], [88.0, 89.0, 710.0, -710.0]])

STABLE_OPS = {
    "sigmoid": (lambda x: x.sigmoid(), None),
    "tanh": (lambda x: x.tanh(), None),
    "logsumexp": (lambda x: x.logsumexp(-1), None),
    "logsumexp_all": (lambda x: x.logsumexp((0, 1)), None),
    "log_softmax": (lambda x: x.log_softmax(-1), None),
    "log_softmax_dim0": (lambda x: x.log_softmax(0), None),
    "softmax": (lambda x: x.softmax(-1), None),
    "gelu": (lambda x: x.gelu(), lambda x: torch.nn.functional.gelu(x)),
    "gelu_tanh": (lambda x: x.gelu(approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", STABLE_OPS)
def test_extreme_inputs_match_torch_and_stay_finite(name, dtype, backend):
    fn, torch_fn = STABLE_OPS[name]
    x = EXTREME.astype(dtype)
    assert_matches_torch(fn, torch_fn or fn, x, dtype=dtype)
    t = tg.tensor(x, requires_grad=True)
    y = fn(t)
    (g,) = grad(y, t, tg.tensor(np.ones(y.shape, dtype=dtype)), create_graph=True)
    (gg,) = grad((g * g).sum(), t)
    for what, value in (("value", y), ("gradient", g), ("second derivative", gg)):
        assert value.dtype == dtype, f"{name}: {what} is {value.dtype}"
        assert np.all(np.isfinite(value.data)), f"{name}: {what} is not finite at ±1000: {value.data}"


def test_sigmoid_saturates_exactly_as_the_formula_says():
    # σ(1000) = 1 and σ(−1000) = e^−1000 (0 in floating point); σ' = σ(1 − σ) is 0 at both ends
    x = tg.tensor(np.array([1000.0, -1000.0, -30.0]), requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_allclose(y.data, [1.0, 0.0, np.exp(-30.0) / (1 + np.exp(-30.0))], rtol=1e-14)
    (g,) = grad(y.sum(), x)
    np.testing.assert_allclose(g.data, [0.0, 0.0, np.exp(-30.0) / (1 + np.exp(-30.0)) ** 2], rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_rows_holding_infinities_are_nan_like_torch(op, dtype, recwarn):
    # (x − max) is inf − inf = nan in a row with +inf, and −inf − (−inf) in an all −inf row:
    # PyTorch makes such a row all nan, and so must we, without NumPy warnings
    x = np.array([[np.inf, 1.0, 2.0], [1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf], [-np.inf, 0.0, 1.0],
                  [np.inf, np.inf, -np.inf]], dtype=dtype)
    ours = getattr(tg.tensor(x), op)(-1).data
    theirs = getattr(torch.tensor(x), op)(-1).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert ours.dtype == dtype
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_log_softmax_at_1000_equals_the_shifted_formula():
    # log_softmax(x)_i = (x_i − m) − log Σ_j e^(x_j − m), with m = max x: exact at any scale
    x = np.array([1000.0, 998.0, -1000.0])
    shifted = x - x.max()
    expected = shifted - np.log(np.sum(np.exp(shifted)))
    np.testing.assert_allclose(tg.tensor(x).log_softmax(0).data, expected, rtol=1e-12, atol=1e-12)  # 1000·ε rounding


COMPOSITE_TWINS = {
    "softmax": (lambda x: x.softmax(-1), lambda x: x.exp() / x.exp().sum(-1, keepdim=True)),
    "log_softmax": (lambda x: x.log_softmax(-1), lambda x: x - x.logsumexp(-1, keepdim=True)),
    "log_softmax_via_log": (lambda x: x.log_softmax(0), lambda x: (x.exp() / x.exp().sum(0)).log()),
    "logsumexp": (lambda x: x.logsumexp(1), lambda x: x.exp().sum(1).log()),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1.0 / (1.0 + (-x).exp())),
    "gelu_tanh": (lambda x: x.gelu(approximate="tanh"), lambda x: 0.5 * x * (1.0 + (0.7978845608028654 * (
        x + 0.044715 * x**3)).tanh())),
}


@pytest.mark.parametrize("name", COMPOSITE_TWINS)
def test_fused_op_equals_its_composite_twin_up_to_second_derivatives(name):
    fused, composite = COMPOSITE_TWINS[name]
    x = tg.tensor(np.random.default_rng(3).standard_normal((3, 5)) * 3, requires_grad=True)
    seed = tg.tensor(np.random.default_rng(4).standard_normal(fused(x).shape))
    results = []
    for fn in (fused, composite):
        y = fn(x)
        (g,) = grad(y, x, seed, create_graph=True)
        (gg,) = grad((g * g).sum(), x)
        results.append((y.data, g.data, gg.data))
    for what, ours, twin in zip(("value", "gradient", "second derivative"), *results):
        np.testing.assert_allclose(ours, twin, rtol=1e-10, atol=1e-12, err_msg=f"{name}: {what}")


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 3e38, 1000.0])
SPECIAL_OPS = {
    "div": lambda x, w: x / w,
    "mul": lambda x, w: x * w,
    "pow": lambda x, w: x ** w,
    "exp": lambda x, w: x.exp(),
    "log": lambda x, w: x.log(),
    "sqrt": lambda x, w: x.sqrt(),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", SPECIAL_OPS)
def test_special_values_give_torch_results_without_numpy_warnings(name, dtype, recwarn):
    # every pair of special values (1/0 = inf, 0/0 = nan, 0·inf = nan, 0⁻¹, overflow): the
    # value PyTorch gives, and no RuntimeWarning from NumPy (PyTorch prints none either)
    x, w = (a.astype(dtype) for a in np.meshgrid(SPECIAL, SPECIAL))
    ours = SPECIAL_OPS[name](tg.tensor(x), tg.tensor(w)).data
    theirs = SPECIAL_OPS[name](torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("name", SPECIAL_OPS)
def test_special_values_ignore_the_users_numpy_error_state_and_leave_it_alone(name):
    # PyTorch never raises on special values or underflow (1e-30² in float32), so neither do
    # the ops when the user has asked NumPy to raise; the user's own setting holds around them
    values = np.concatenate([SPECIAL, [1e-30, -1e-30]])
    x, w = (tg.tensor(a.astype(np.float32)) for a in np.meshgrid(values, values))
    with np.errstate(all="raise"):
        ours = SPECIAL_OPS[name](x, w).data
        assert np.geterr() == {"divide": "raise", "over": "raise", "under": "raise", "invalid": "raise"}
        with pytest.raises(FloatingPointError):
            np.float32(1e-30) * np.float32(1e-30)
    theirs = SPECIAL_OPS[name](torch.tensor(x.data), torch.tensor(w.data)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("kwargs", [{"dim": 1}, {"dim": 1, "unbiased": False, "keepdim": True}, {"correction": 0}])
def test_std_of_a_constant_slice_has_slope_zero_as_torch(kwargs, dtype):
    # √ has an infinite slope at 0, and var's slope is 0 there: the chain rule alone gives
    # nan; PyTorch's std backward takes 0 (a constant feature must not poison the gradients)
    x = np.array([[2.0, 2.0, 2.0], [1.0, -1.0, 0.5]], dtype)
    results = []
    for lib in (tg, torch):
        t = lib.tensor(x, requires_grad=True)
        y = t.std(**kwargs)
        y.backward(lib.tensor(np.linspace(1.5, -2.0, y.numel()).reshape(tuple(y.shape)).astype(dtype)))
        results.append((y.detach().numpy(), t.grad.numpy()))
    (ours, our_grad), (theirs, their_grad) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6, atol=1e-7)
    assert np.isfinite(our_grad).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quotient_gradient_for_a_tiny_divisor_is_finite_as_torch(dtype):
    """∂(x/w)/∂w = −x/w² computed as −(x/w)/w: w² underflows to 0 for |w| < 1e-19 in float32
    (and 1e-162 in float64), the quotient taken twice does not."""
    tiny = 1e-20 if dtype == np.float32 else 1e-170
    x_values, w_values = np.array([0.0, 1.0, 3e-30], dtype), np.array([tiny, tiny, tiny * 1e-5], dtype)
    x, w = tg.tensor(x_values, requires_grad=True), tg.tensor(w_values, requires_grad=True)
    (x / w).sum().backward()
    tx, tw = torch.tensor(x_values, requires_grad=True), torch.tensor(w_values, requires_grad=True)
    (tx / tw).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
    assert not np.isnan(w.grad.numpy()).any()
