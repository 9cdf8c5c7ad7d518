"""tg.special against torch.special: values and gradients on each function's domain (float64 to
1e-10 where PyTorch itself is that accurate, float32), shapes and values drawn by hypothesis,
gradcheck and gradgradcheck of every op, the special values (poles, ±inf, nan, 0), node names,
dtypes and errors.

Where PyTorch is less accurate than 1e-10 the tolerance says so (measured against mpmath at 40
digits while writing these tests): its trigamma (polygamma(1, ·), also digamma's gradient) is off
by up to 5e-10 relative near x = 1.13, and its ndtr is 0 below x ≈ −8.3.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.testing import assert_matches_torch, gradcheck, gradgradcheck
from tinygrad_edu.testing import strategies as tst

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

POLES = tuple(float(k) for k in range(-9, 1))  # lgamma, digamma, polygamma: keep 0.05 away from these

# name: (tinygrad_edu function, torch function, (low, high), points to avoid, float64 rtol)
UNARY = {
    "gammaln": (tg.special.gammaln, torch.special.gammaln, (-8.0, 12.0), POLES, 1e-9),
    "digamma": (tg.special.digamma, torch.special.digamma, (-8.0, 12.0), POLES, 1e-9),
    "polygamma_1": (lambda x: tg.special.polygamma(1, x), lambda x: torch.special.polygamma(1, x), (-8.0, 12.0), POLES,
                    1e-9),
    "polygamma_2": (lambda x: tg.special.polygamma(2, x), lambda x: torch.special.polygamma(2, x), (0.05, 12.0), (),
                    1e-10),
    "polygamma_3_negative": (lambda x: tg.special.polygamma(3, x), lambda x: torch.special.polygamma(3, x),
                             (-5.0, 0.0), POLES, 1e-10),
    "erfinv": (tg.special.erfinv, torch.special.erfinv, (-0.99, 0.99), (), 1e-10),
    "erfcx": (tg.special.erfcx, torch.special.erfcx, (-5.0, 40.0), (), 1e-10),
    "ndtr": (tg.special.ndtr, torch.special.ndtr, (-6.0, 6.0), (), 1e-10),
    "ndtri": (tg.special.ndtri, torch.special.ndtri, (0.001, 0.999), (), 1e-10),
    "log_ndtr": (tg.special.log_ndtr, torch.special.log_ndtr, (-30.0, 6.0), (), 1e-10),
    "i0": (tg.special.i0, torch.special.i0, (-40.0, 40.0), (), 1e-10),
    "i1": (tg.special.i1, torch.special.i1, (-40.0, 40.0), (), 1e-10),
    "i0e": (tg.special.i0e, torch.special.i0e, (-100.0, 100.0), (), 1e-10),
    "i1e": (tg.special.i1e, torch.special.i1e, (-100.0, 100.0), (), 1e-10),
    "erfc": (tg.special.erfc, torch.special.erfc, (-5.0, 25.0), (), 1e-10),
    "entr": (tg.special.entr, torch.special.entr, (0.01, 5.0), (), 1e-10),
    # near 0 both libraries' slope (cos πx − sinc x)/x cancels: compared away from it
    "sinc": (tg.special.sinc, torch.special.sinc, (-5.0, 5.0), (0.0,), 1e-10),
    "multigammaln_3": (lambda x: tg.special.multigammaln(x, 3), lambda x: torch.special.multigammaln(x, 3),
                       (1.1, 10.0), (), 1e-10),
}


@pytest.mark.parametrize("name", list(UNARY))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_special_matches_torch_on_drawn_values(name, data):
    ours, theirs, (low, high), avoid, rtol = UNARY[name]
    x = data.draw(tst.well_conditioned_arrays(tst.shapes(0, 3, 1, 4), np.float64, low, high, avoid, margin=0.05),
                  label="x")
    assert_matches_torch(ours, theirs, x, rtol=rtol, atol=1e-12)
    assert_matches_torch(ours, theirs, x.astype(np.float32), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["xlogy", "xlog1py"])
@settings(max_examples=8, deadline=None)
@given(shapes=tst.broadcastable_shapes(max_dims=3, max_side=4), seed=st.integers(0, 2**16))
def test_xlogy_and_xlog1py_match_torch_broadcast(name, shapes, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shapes[0]) * (rng.random(shapes[0]) > 0.2)  # some exact zeros
    y = rng.uniform(0.1, 5.0, shapes[1])
    ours, theirs = getattr(tg.special, name), getattr(torch.special, name)
    assert_matches_torch(ours, theirs, x, y, rtol=1e-10, atol=1e-12)
    assert_matches_torch(ours, theirs, x.astype(np.float32), y.astype(np.float32))


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
@settings(max_examples=8, deadline=None)
@given(shapes=tst.broadcastable_shapes(max_dims=2, max_side=4), seed=st.integers(0, 2**16))
def test_incomplete_gamma_matches_torch(name, shapes, seed):
    """Values (torch's are accurate to ~1e-9 for large a, ours ~1e-12) and ∂/∂x; a needs no gradient."""
    rng = np.random.default_rng(seed)
    a = 10 ** rng.uniform(-2, 2, shapes[0])
    x = np.broadcast_to(a, np.broadcast_shapes(a.shape, shapes[1])) * rng.uniform(0.05, 3.0, shapes[1])
    ours, theirs = getattr(tg.special, name), getattr(torch.special, name)
    assert_matches_torch(lambda y: ours(tg.tensor(a), y), lambda y: theirs(torch.tensor(a), y), x, rtol=1e-8,
                         atol=1e-14)
    assert_matches_torch(lambda y: ours(tg.tensor(a.astype(np.float32)), y),
                         lambda y: theirs(torch.tensor(a.astype(np.float32)), y), x.astype(np.float32), atol=1e-5)


def test_incomplete_gamma_special_values_and_a_gradient():
    a = np.array([0.0, -1.0, 0.5, 2.0, 2.0, 1e-3, 100.0, 1.0])
    x = np.array([1.0, 1.0, 0.0, -1.0, np.inf, 5.0, 90.0, np.nan])
    for name in ("gammainc", "gammaincc"):
        _assert_same_values(getattr(tg.special, name)(tg.tensor(a), tg.tensor(x)),
                            getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)), rtol=1e-8)
    with pytest.raises(NotImplementedError, match="IgammaBackward0: the derivative with respect to a"):
        tg.special.gammainc(tg.tensor([2.0], requires_grad=True), tg.tensor([1.5])).backward()
    x = tg.tensor([0.5, 3.0], dtype=tg.float64, requires_grad=True)
    assert gradgradcheck(lambda y: tg.special.gammaincc(tg.tensor([1.5, 4.0]), y), [x])


@settings(max_examples=8, deadline=None)
@given(shapes=tst.broadcastable_shapes(max_dims=2, max_side=4), seed=st.integers(0, 2**16))
def test_zeta_matches_torch(shapes, seed):
    """Values and ∂/∂q for s in (1.1, 30), q in (0.05, 50); at negative q and integer s the sum as torch."""
    rng = np.random.default_rng(seed)
    s, q = rng.uniform(1.1, 30.0, shapes[0]), 10 ** rng.uniform(-1.3, 1.7, shapes[1])
    assert_matches_torch(lambda y: tg.special.zeta(tg.tensor(s), y), lambda y: torch.special.zeta(torch.tensor(s), y),
                         q, rtol=1e-10, atol=1e-300)
    assert_matches_torch(lambda y: tg.special.zeta(tg.tensor(s.astype(np.float32)), y),
                         lambda y: torch.special.zeta(torch.tensor(s.astype(np.float32)), y), q.astype(np.float32))
    special_s = np.array([2.0, 1.0, 0.5, 2.0, 2.0, 3.0, 2.5])
    special_q = np.array([1.0, 1.0, 1.0, 0.0, -1.5, -1.5, -1.5])
    edges = np.array([[2.0, 0.5], [2.0, np.inf], [2.0, np.nan], [2.0, -np.inf], [np.inf, 2.0], [3.0, 0.25]]).T
    _assert_same_values(tg.special.zeta(*map(tg.tensor, edges)), torch.special.zeta(*map(torch.tensor, edges)),
                        rtol=1e-14)  # one batch: the s = inf element left ζ(2, 0.5) unshifted (−1.1e9)
    _assert_same_values(tg.special.zeta(tg.tensor(special_s), tg.tensor(special_q)),
                        torch.special.zeta(torch.tensor(special_s), torch.tensor(special_q)))


def test_zeta_gradients_and_errors():
    q = tg.tensor([0.5, 2.0, 7.0], dtype=tg.float64, requires_grad=True)
    assert gradgradcheck(lambda y: tg.special.zeta(tg.tensor([2.0, 3.5, 1.5]), y), [q])
    with pytest.raises(NotImplementedError, match="SpecialZetaBackward0: the derivative with respect to x"):
        tg.special.zeta(tg.tensor([2.0], requires_grad=True), tg.tensor([1.0])).backward()
    assert tg.special.zeta(tg.tensor([2.0]), q[:1]).grad_fn.name() == "SpecialZetaBackward0"


def _assert_same_values(ours, theirs, rtol=1e-12):
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=0, equal_nan=True)
    assert ours.dtype == theirs.numpy().dtype


def _assert_same_as_torch(name, *arrays):
    """tg.special.<name> and torch.special.<name> agree (to 1e-12, nan where torch has nan) on ``arrays``."""
    _assert_same_values(getattr(tg.special, name)(*map(tg.tensor, arrays)),
                        getattr(torch.special, name)(*map(torch.tensor, arrays)))


def test_special_values_match_torch():
    poles = np.array([0.0, -0.0, -1.0, -2.0, -2.5, 1.0, 2.0, np.inf, -np.inf, np.nan, 1e-300, 1e300])
    for name in ("gammaln", "digamma"):
        _assert_same_as_torch(name, poles)
    edges = np.array([-1.0, 1.0, -1.5, 2.0, 0.0, -0.0, 1e-300, np.nan, 1 - 1e-16])
    _assert_same_as_torch("erfinv", edges)
    probabilities = np.array([0.0, 1.0, -0.5, 1.5, 0.5, 1e-300, np.nan])
    _assert_same_as_torch("ndtri", probabilities)
    wide = np.array([-np.inf, -1e5, -40.0, 0.0, 40.0, 1e5, np.inf, np.nan])
    for name in ("erfcx", "ndtr", "log_ndtr", "sinc", "erfc", "i0e", "i1e"):
        _assert_same_as_torch(name, wide)
    for name in ("i0", "i1"):  # at ±inf torch gives nan; I₀(±inf) = inf, I₁(±inf) = ±inf
        _assert_same_as_torch(name, wide[1:-2])
        np.testing.assert_array_equal(getattr(tg.special, name)(tg.tensor(wide[[0, -2]])).numpy(),
                                      [np.inf if name == "i0" else -np.inf, np.inf])
    entropy = np.array([0.0, -1.0, np.inf, np.nan, 1e-300])
    _assert_same_as_torch("entr", entropy)
    x, y = np.array([0.0, 0.0, 0.0, 1.0, 0.0]), np.array([0.0, -1.0, np.nan, 0.0, np.inf])
    for name in ("xlogy", "xlog1py"):
        _assert_same_as_torch(name, x, y)


def test_polygamma_at_the_pole_zero_matches_torch():
    x = np.array([0.0, -0.0])  # the same infinity at both zeros, whatever the sign of 1/x^(n+1)
    for n in (1, 2, 3, 4):
        _assert_same_values(tg.special.polygamma(n, tg.tensor(x)), torch.special.polygamma(n, torch.tensor(x)))


def test_polygamma_at_negative_half_integers_keeps_the_reflection_exact():
    """ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(1 − x) − π^(n+1) Pₙ(cot πx) for even n, with cot πx = 0 and Pₙ odd at x = −k − ½:
    ψ⁽ⁿ⁾(−k − ½) = ψ⁽ⁿ⁾(k + 3/2) (torch's own is off by up to 1e-7 there for n = 6)."""
    k = np.arange(12.0)
    for n in (2, 4, 6):
        np.testing.assert_allclose(tg.special.polygamma(n, tg.tensor(-k - 0.5)).numpy(),
                                   tg.special.polygamma(n, tg.tensor(k + 1.5)).numpy(), rtol=1e-14)


def test_gradients_at_special_points_match_torch():
    """xlogy's ∂/∂x at x = 0 (0 for y ≤ 0), sinc's slope at 0, i1's at 0, entr's at 0."""
    x, y = np.array([0.0, 0.0, 2.0, 0.0]), np.array([0.0, -1.0, 3.0, 2.0])
    assert_matches_torch(tg.special.xlogy, torch.special.xlogy, x, y)
    for name in ("sinc", "i1", "i0", "i1e", "i0e", "erfinv", "ndtri"):
        assert_matches_torch(getattr(tg.special, name), getattr(torch.special, name), np.array([0.0, 0.5]))
    assert_matches_torch(tg.special.entr, torch.special.entr, np.array([0.0, 0.5]))


# ---- gradcheck and gradgradcheck -----------------------------------------------------------------

GRADCHECKED = {
    "gammaln": (tg.special.gammaln, [0.3, 1.7, 4.2, -1.5]),
    "digamma": (tg.special.digamma, [0.3, 1.7, 4.2, -1.5]),
    "polygamma_2": (lambda x: tg.special.polygamma(2, x), [0.3, 1.7, 14.2, -1.5]),
    "erfinv": (tg.special.erfinv, [-0.8, 0.1, 0.6]),
    "erfcx": (tg.special.erfcx, [-1.0, 0.5, 30.0]),
    "ndtr": (tg.special.ndtr, [-3.0, 0.2, 2.0]),
    "ndtri": (tg.special.ndtri, [0.05, 0.5, 0.9]),
    "log_ndtr": (tg.special.log_ndtr, [-20.0, -1.0, 3.0]),
    "i0": (tg.special.i0, [-2.0, 0.3, 35.0]),
    "i1": (tg.special.i1, [-2.0, 0.3, 35.0]),
    "i0e": (tg.special.i0e, [-2.0, 0.3, 35.0]),
    "i1e": (tg.special.i1e, [-2.0, 0.3, 35.0]),
    "erfc": (tg.special.erfc, [-2.0, 0.3, 5.0]),
    "entr": (tg.special.entr, [0.2, 1.5]),
    "sinc": (tg.special.sinc, [-1.3, 0.4, 2.2]),
    "xlogy": (lambda x: tg.special.xlogy(x, x * x + 0.5), [-1.0, 0.5, 2.0]),
    "xlog1py": (lambda x: tg.special.xlog1py(x, x * x), [-1.0, 0.5, 2.0]),
    "multigammaln": (lambda x: tg.special.multigammaln(x, 2), [1.2, 3.0]),
}


@pytest.mark.parametrize("name", list(GRADCHECKED))
def test_special_gradcheck_and_gradgradcheck(name):
    fn, values = GRADCHECKED[name]
    x = tg.tensor(np.array(values), requires_grad=True)
    assert gradcheck(fn, [x], rtol=1e-4)
    assert gradgradcheck(fn, [x], rtol=1e-4)


# ---- names, dtypes, methods, errors ----------------------------------------------------------------

def test_incomplete_gamma_node_names_match_torch():
    x, t = tg.tensor([0.5, 1.5], requires_grad=True), torch.tensor([0.5, 1.5], requires_grad=True)
    for name in ("gammainc", "gammaincc"):
        assert (getattr(tg.special, name)(tg.tensor([2.0, 2.0]), x).grad_fn.name()
                == getattr(torch.special, name)(torch.tensor([2.0, 2.0]), t).grad_fn.name())


NAMED = ["gammaln", "digamma", "erfinv", "erfc", "erfcx", "ndtr", "ndtri", "log_ndtr", "i0", "i1", "i0e", "i1e", "entr",
         "sinc"]


@pytest.mark.parametrize("name", NAMED)
def test_node_names_and_dtypes_match_torch(name):
    x = np.array([0.3, 0.7], dtype=np.float32)
    ours = getattr(tg.special, name)(tg.tensor(x, requires_grad=True))
    theirs = getattr(torch.special, name)(torch.tensor(x, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert ours.dtype == np.float32
    assert getattr(tg.special, name)(tg.tensor([1, 2])).dtype == getattr(torch.special, name)(
        torch.tensor([1, 2])).numpy().dtype  # integers become float32


def test_binary_and_polygamma_node_names_match_torch():
    x = tg.tensor([0.5, 1.5], requires_grad=True)
    t = torch.tensor([0.5, 1.5], requires_grad=True)
    for ours, theirs in [(tg.special.xlogy(x, x), torch.special.xlogy(t, t)),
                         (tg.special.xlog1py(x, x), torch.special.xlog1py(t, t)),
                         (tg.special.polygamma(2, x), torch.special.polygamma(2, t)),
                         (tg.special.polygamma(0, x), torch.special.polygamma(0, t))]:
        assert ours.grad_fn.name() == theirs.grad_fn.name()


def test_tensor_methods_aliases_and_top_level_functions():
    x = tg.tensor([0.25, 0.5, 3.0], dtype=tg.float64)
    t = torch.tensor(x.numpy())
    for name in ("lgamma", "digamma", "erfinv", "i0", "sinc", "erfc"):
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(tg.special, name if name != "lgamma"
                                                                             else "gammaln")(x).numpy())
        np.testing.assert_allclose(getattr(tg, name)(x).numpy(), getattr(torch, name)(t).numpy(), rtol=1e-10)
    np.testing.assert_allclose(tg.polygamma(2, x).numpy(), torch.polygamma(2, t).numpy(), rtol=1e-10)
    np.testing.assert_allclose(tg.igamma(x, x * 2).numpy(), torch.igamma(t, t * 2).numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.igammac(x * 2).numpy(), t.igammac(t * 2).numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.polygamma(1).numpy(), t.polygamma(1).numpy(), rtol=1e-9)
    np.testing.assert_allclose((x + 2).mvlgamma(2).numpy(), (t + 2).mvlgamma(2).numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.xlogy(2.0).numpy(), t.xlogy(2.0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tg.xlogy(x, x).numpy(), torch.xlogy(t, t).numpy(), rtol=1e-12)
    np.testing.assert_array_equal(tg.special.expit(x).numpy(), x.sigmoid().numpy())
    np.testing.assert_array_equal(tg.special.psi(x).numpy(), tg.special.digamma(x).numpy())
    np.testing.assert_allclose(tg.special.logit(x, eps=0.3).numpy(), torch.special.logit(t, eps=0.3).numpy(),
                               rtol=1e-12)
    for name in ("erf", "expm1", "log1p", "exp2"):
        np.testing.assert_allclose(getattr(tg.special, name)(x).numpy(), getattr(torch.special, name)(t).numpy(),
                                   rtol=1e-12)


IN_PLACE = [("lgamma_", ()), ("digamma_", ()), ("polygamma_", (2,)), ("mvlgamma_", (1,)), ("erfinv_", ()),
            ("erfc_", ()), ("i0_", ()), ("sinc_", ())]


@pytest.mark.parametrize(("name", "args"), IN_PLACE)
def test_in_place_forms_match_torch(name, args):
    x = np.array([0.3, 0.7, 0.95])
    ours, theirs = tg.tensor(x), torch.tensor(x)
    assert getattr(ours, name)(*args) is ours
    getattr(theirs, name)(*args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)
    with pytest.raises(RuntimeError, match=name):
        getattr(tg.tensor(x, requires_grad=True), name)(*args)


def test_xlogy_in_place_matches_torch():
    ours, theirs = tg.tensor([0.0, 1.5, 2.0]), torch.tensor([0.0, 1.5, 2.0])
    ours.xlogy_(tg.tensor([0.0, 3.0, 0.5]))
    theirs.xlogy_(torch.tensor([0.0, 3.0, 0.5]))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
               "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p",
               "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w"]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_orthogonal_polynomials_match_torch_and_are_differentiable_in_x(name):
    """Values vs torch for n a tensor (negative and fractional included: truncated, 0 below 0) or a number;
    torch has no gradient here, so the gradient is checked by gradcheck and gradgradcheck."""
    x = np.array([[0.3, -0.7, 1.5, 2.0]]).repeat(2, axis=0)
    n = np.array([[0.0, 1.0, 3.0, -1.0], [2.5, 4.0, 6.0, 5.0]])
    ours, theirs = getattr(tg.special, name), getattr(torch.special, name)
    np.testing.assert_allclose(ours(tg.tensor(x), tg.tensor(n)).numpy(),
                               theirs(torch.tensor(x), torch.tensor(n)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours(tg.tensor(x), 5).numpy(), theirs(torch.tensor(x), 5).numpy(), rtol=1e-12)
    xs = tg.tensor(x[0], requires_grad=True)
    assert gradcheck(lambda t: ours(t, tg.tensor(n[1])), [xs])
    assert gradgradcheck(lambda t: ours(t, 4), [xs])


K_FUNCTIONS = ["modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1"]


@pytest.mark.parametrize("name", K_FUNCTIONS)
def test_modified_bessel_k_matches_torch_and_is_twice_differentiable(name):
    """Values vs torch from 1e-10 to 700 and at 0, inf, nan, negative; torch has no gradient here, so
    gradcheck and gradgradcheck check ours (K₀' = −K₁, K₁' = −K₀ − K₁/x and the scaled forms)."""
    x = np.concatenate([10 ** np.random.default_rng(0).uniform(-10, 2.8, 40), [0.0, -1.0, np.inf, np.nan]])
    ours, theirs = getattr(tg.special, name), getattr(torch.special, name)
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-13, atol=0,
                               equal_nan=True)
    assert ours(tg.tensor(x.astype(np.float32))).dtype == np.float32
    xs = tg.tensor(np.array([0.05, 1.3, 25.0]), requires_grad=True)
    assert gradcheck(ours, [xs]) and gradgradcheck(ours, [xs])


JY_FUNCTIONS = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1"]


@pytest.mark.parametrize("name", JY_FUNCTIONS)
def test_bessel_j_and_y_match_torch_and_are_twice_differentiable(name):
    """Values vs torch: to 1e-6 below x = 25, as far as torch's own Cephes-based values go (they are off by
    up to 9e-7 near x = 5 against mpmath), and to 1e-14 beyond, where both use Hankel's expansion; the
    same nan/inf at 0, negative x, ±inf and nan; float32 kept. torch has no gradient here, so gradcheck
    and gradgradcheck check ours (J₀' = −J₁, J₁' = J₀ − J₁/x, Y₀' = −Y₁, Y₁' = Y₀ − Y₁/x)."""
    rng = np.random.default_rng(1)
    near = np.concatenate([rng.uniform(-25, 25, 300), 10 ** rng.uniform(-12, 1.3, 60)])
    far = np.concatenate([rng.uniform(25, 200, 100), -rng.uniform(25, 200, 20)])  # (beyond, torch rounds x − π/4)
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0])
    ours, theirs = getattr(tg.special, name), getattr(torch.special, name)
    for x, atol in ((near, 1e-6), (far, 1e-14), (edges, 1e-15)):
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=0, atol=atol,
                                   equal_nan=True)
    assert ours(tg.tensor(near.astype(np.float32))).dtype == np.float32
    xs = tg.tensor(np.array([0.3, 0.7, 4.2, 19.0, 31.0] + ([-1e-5, 2e-5] if "_j" in name else [])), requires_grad=True)
    assert gradcheck(ours, [xs]) and gradgradcheck(ours, [xs])


def test_bessel_j_and_y_satisfy_the_wronskian_and_the_small_x_series():
    """J₁Y₀ − J₀Y₁ = 2/(πx) ties the four together to rounding (A&S 9.1.16), across the switch from the
    recurrence to Hankel's expansion at 25; below 10⁻³ the first series terms give J₀, J₁ to an ulp."""
    x = np.concatenate([np.linspace(1e-3, 60, 3001), 10 ** np.linspace(-8, 6, 200)])
    j0, j1, y0, y1 = (getattr(tg.special, name)(tg.tensor(x)).numpy() for name in JY_FUNCTIONS)
    np.testing.assert_allclose((j1 * y0 - j0 * y1) * (np.pi * x / 2), 1.0, rtol=0, atol=3e-15)
    small = 10 ** np.linspace(-9, -3, 50)
    np.testing.assert_allclose(tg.special.bessel_j0(tg.tensor(small)).numpy(), 1 - small**2 / 4 + small**4 / 64,
                               rtol=4.5e-16)
    np.testing.assert_allclose(tg.special.bessel_j1(tg.tensor(small)).numpy(),
                               small / 2 - small**3 / 16 + small**5 / 384, rtol=4.5e-16)
    assert np.signbit(tg.special.bessel_j1(tg.tensor([-0.0])).numpy()[0])  # odd: J₁(−0) = −0, as torch


@pytest.mark.parametrize("name", ["spherical_bessel_j0", "modified_bessel_i0", "modified_bessel_i1"])
def test_bessel_compositions_and_aliases_match_torch(name):
    x = np.array([0.0, 1e-9, 0.5, -3.0, 40.0])
    np.testing.assert_allclose(getattr(tg.special, name)(tg.tensor(x)).numpy(),
                               getattr(torch.special, name)(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-17)


def test_bad_arguments_raise_and_multigammaln_below_its_domain_is_computed_as_torch():
    x = tg.tensor([0.5, 1.0])
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative integer"):
        tg.special.polygamma(-1, x)
    _assert_same_values(tg.special.multigammaln(x, 3), torch.special.multigammaln(torch.tensor([0.5, 1.0]), 3))
    with pytest.raises(ValueError, match="multigammaln: p must be a positive integer"):
        tg.special.multigammaln(x, 0)
