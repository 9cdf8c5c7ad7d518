"""tg.distributions transforms, constraints, biject_to/transform_to and ExponentialFamily against torch.distributions.

Constraints: check() of every new constraint against torch's on valid and invalid values (shapes included).
Transforms: forward, inverse, log|det J| in float64 (rtol 1e-10) and float32 on shapes with batch dims, round
trips, gradients of all three vs torch's, domain/codomain/event dims/bijective/sign/forward_shape/inverse_shape
and __eq__ as torch's. biject_to/transform_to(c)(x) lands in c and equals torch's for every constraint.
TransformedDistribution with the new transforms. ExponentialFamily: the Bregman entropy and KL against the
closed forms (and torch's Bregman KL), gradients included.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import distributions as D  # noqa: N812 - as torch.distributions is often imported

torch = pytest.importorskip("torch")
TD = torch.distributions

pytestmark = pytest.mark.torch

C, TC = D.constraints, TD.constraints


def _np(value: Any) -> np.ndarray:
    return value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)


def _close(ours: Any, theirs: Any, rtol: float, atol: float = 0.0, what: str = "") -> None:
    ours, theirs = _np(ours), _np(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


# -- constraints ------------------------------------------------------------------------------------------------
def _matrices(rng: np.random.Generator) -> list[np.ndarray]:
    a = rng.normal(size=(3, 4, 4))
    psd = a[..., :2] @ np.swapaxes(a[..., :2], -1, -2)             # rank 2: semidefinite, not definite
    return [a, a + np.swapaxes(a, -1, -2), a @ np.swapaxes(a, -1, -2), psd - 1e-3 * np.eye(4), np.tril(a),
            np.tril(np.abs(a)) + np.eye(4), a[..., :3], np.stack([a[0] @ a[0].T, a[1]])]


@pytest.mark.parametrize("name", ["lower_triangular", "lower_cholesky", "square", "symmetric",
                                  "positive_semidefinite", "positive_definite"])
def test_matrix_constraints_match_torch(name: str) -> None:
    for value in _matrices(np.random.default_rng(0)):
        ours = getattr(C, name).check(tg.tensor(value))
        theirs = getattr(TC, name).check(torch.tensor(value))
        np.testing.assert_array_equal(_np(ours), _np(theirs), err_msg=f"{name} on {value.shape}")
    assert getattr(C, name).event_dim == getattr(TC, name).event_dim == 2


def test_multinomial_constraint_matches_torch() -> None:
    values = np.array([[1.0, 2.0, 0.0], [3.0, 2.0, 1.0], [-1.0, 2.0, 0.0], [0.5, 0.5, 0.0]])
    for bound in (3, 6):
        np.testing.assert_array_equal(_np(C.multinomial(bound).check(tg.tensor(values))),
                                      _np(TC.multinomial(bound).check(torch.tensor(values))))
    assert C.multinomial(3).is_discrete and C.multinomial(3).event_dim == 1


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack_constraints_match_torch(dim: int) -> None:
    rng = np.random.default_rng(2)
    value = rng.normal(size=(5, 5, 5))
    ours = C.cat([C.positive, C.real, C.interval(-0.5, 0.5)], dim, [1, 3, 1]).check(tg.tensor(value))
    theirs = TC.cat([TC.positive, TC.real, TC.interval(-0.5, 0.5)], dim, [1, 3, 1]).check(torch.tensor(value))
    np.testing.assert_array_equal(_np(ours), _np(theirs))
    cseq, tseq = [C.positive, C.real, C.unit_interval] * 2, [TC.positive, TC.real, TC.unit_interval] * 2
    value = rng.normal(size=(6, 6, 6))
    np.testing.assert_array_equal(_np(C.stack(cseq[:6], dim).check(tg.tensor(value))),
                                  _np(TC.stack(tseq[:6], dim).check(torch.tensor(value))))
    assert C.stack([C.simplex] * 6, dim).event_dim == TC.stack([TC.simplex] * 6, dim).event_dim
    assert C.cat([C.simplex, C.real], dim).event_dim == TC.cat([TC.simplex, TC.real], dim).event_dim


def test_cat_constraint_with_an_event_block() -> None:
    """A simplex block next to a positive block along the event dim: one answer per event (torch fails here);
    two simplex blocks: one answer per event (torch gives two per event, concatenated)."""
    rng = np.random.default_rng(3)
    value = np.concatenate([rng.dirichlet(np.ones(3), size=4), rng.normal(size=(4, 2))], -1)
    value[0, 3:], value[1, 3:], value[2, 0] = (1.0, 2.0), (-1.0, 2.0), -0.1    # valid; positive fails; simplex fails
    expected = _np(C.simplex.check(tg.tensor(value[:, :3]))) & (value[:, 3:] > 0).all(-1)
    constraint = C.cat([C.simplex, C.positive], -1, [3, 2])
    assert constraint.event_dim == 1 and expected.any() and not expected.all()
    np.testing.assert_array_equal(_np(constraint.check(tg.tensor(value))), expected)
    two_simplices = np.concatenate([value[:, :3], rng.dirichlet(np.ones(3), size=4)], -1)   # row 2 has -0.1
    np.testing.assert_array_equal(_np(C.cat([C.simplex] * 2, -1, [3, 3]).check(tg.tensor(two_simplices))),
                                  [True, True, False, True])


def test_cat_and_stack_constraints_refuse_wrong_sizes() -> None:
    with pytest.raises(ValueError, match=r"constraints.cat: .*shape \(2, 4\).*sum\(lengths\) = 5"):
        C.cat([C.positive, C.real], -1, [2, 3]).check(tg.zeros(2, 4))
    with pytest.raises(ValueError, match=r"constraints.stack: .*len\(cseq\) = 2"):
        C.stack([C.positive, C.real], 0).check(tg.zeros(3, 4))
    with pytest.raises(ValueError, match="out of range"):
        C.stack([C.positive, C.real], 2).check(tg.zeros(2, 4))
    with pytest.raises(TypeError, match="must be a Constraint"):
        C.cat([C.positive, 1.0])
    with pytest.raises(ValueError, match="2 lengths for 3 constraints"):
        C.cat([C.positive] * 3, 0, [1, 2])


def test_mixture_same_family_support_is_torchs() -> None:
    """Components with different supports: the value must lie in every one of them (torch 2.13's
    MixtureSameFamilyConstraint); the component's own support did not even broadcast against a value."""
    low, high = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 2.0]]), np.array([[2.0, 3.0], [2.0, 3.0], [4.0, 5.0]])
    ours = D.MixtureSameFamily(D.Categorical(logits=tg.zeros(3, 2)), D.Uniform(tg.tensor(low), tg.tensor(high)))
    theirs = TD.MixtureSameFamily(TD.Categorical(logits=torch.zeros(3, 2)),
                                  TD.Uniform(torch.tensor(low), torch.tensor(high)))
    assert isinstance(ours.support, C.MixtureSameFamilyConstraint)
    for value in (np.array([1.5, 1.5, 2.5]), np.array([[1.5, 0.5, 2.5], [1.2, 2.5, 3.9]])):
        np.testing.assert_array_equal(_np(ours.support.check(tg.tensor(value))),
                                      _np(theirs.support.check(torch.tensor(value))))
    _close(ours.log_prob(tg.tensor([1.5, 1.5, 2.5])), theirs.log_prob(torch.tensor([1.5, 1.5, 2.5])), 1e-12)
    with pytest.raises(ValueError, match="support"):
        ours.log_prob(tg.tensor([1.5, 0.5, 2.5]))


# -- transforms ------------------------------------------------------------------------------------------------
OURS_T, TORCH_T = D.transforms, TD.transforms


def _real(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.normal(size=shape)


def _positive(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(0.3, 3.0, size=shape)


def _params(lib: Any) -> dict[str, Any]:
    """The parameter Tensors of the transforms below, built in ``lib`` (tinygrad_edu or torch) in float64."""
    return {"exponent": lib.tensor(np.array([0.5, 2.0, -1.5])), "loc": lib.tensor(np.array([0.3, -1.0, 2.0])),
            "scale": lib.tensor(np.array([[0.5], [-2.0]])), "mu": lib.tensor(np.array([0.2, -0.4, 1.0])),
            "sigma": lib.tensor(np.array([1.5, 0.7, 2.0]))}


# name -> (factory(T, Dist, params), input generator, input event shape); Dist is the library's distributions
TRANSFORMS: dict[str, tuple[Any, Any, tuple]] = {
    "abs": (lambda T, Dist, p: T.AbsTransform(), _real, ()),
    "power": (lambda T, Dist, p: T.PowerTransform(p["exponent"]), _positive, (3,)),
    "power_scalar": (lambda T, Dist, p: T.PowerTransform(2.5), _positive, ()),
    "softplus": (lambda T, Dist, p: T.SoftplusTransform(), _real, ()),
    "sigmoid": (lambda T, Dist, p: T.SigmoidTransform(), _real, ()),
    "tanh": (lambda T, Dist, p: T.TanhTransform(), _real, ()),
    "affine_event2": (lambda T, Dist, p: T.AffineTransform(p["loc"], p["scale"], event_dim=2), _real, (2, 3)),
    "softmax": (lambda T, Dist, p: T.SoftmaxTransform(), _real, (4,)),
    "stick_breaking": (lambda T, Dist, p: T.StickBreakingTransform(), _real, (4,)),
    "reshape": (lambda T, Dist, p: T.ReshapeTransform((2, 3), (3, 1, 2)), _real, (2, 3)),
    "independent_exp": (lambda T, Dist, p: T.IndependentTransform(T.ExpTransform(), 2), _real, (2, 3)),
    "independent_stick": (lambda T, Dist, p: T.IndependentTransform(T.StickBreakingTransform(), 1), _real, (2, 3)),
    "lower_cholesky": (lambda T, Dist, p: T.LowerCholeskyTransform(), _real, (3, 3)),
    "positive_definite": (lambda T, Dist, p: T.PositiveDefiniteTransform(), _real, (3, 3)),
    "corr_cholesky": (lambda T, Dist, p: T.CorrCholeskyTransform(), _real, (6,)),
    "corr_cholesky_2": (lambda T, Dist, p: T.CorrCholeskyTransform(), _real, (1,)),
    "cdf_normal": (lambda T, Dist, p: T.CumulativeDistributionTransform(Dist.Normal(p["mu"], p["sigma"])), _real,
                   (3,)),
    "cat_event": (lambda T, Dist, p: T.CatTransform([T.ExpTransform(), T.identity_transform, T.SigmoidTransform()],
                                                     dim=-1, lengths=[2, 1, 2]), _real, (5,)),
    "cat_batch": (lambda T, Dist, p: T.CatTransform([T.TanhTransform(), T.ExpTransform()], dim=0, lengths=[1, 2]),
                  _real, (3, 4)),
    "cat_vector_event": (lambda T, Dist, p: T.CatTransform([T.AffineTransform(0.5, -2.0, event_dim=1),
                                                            T.ExpTransform()], dim=-1, lengths=[3, 2]), _real, (5,)),
    "stack_last": (lambda T, Dist, p: T.StackTransform([T.ExpTransform(), T.SoftplusTransform(),
                                                        T.TanhTransform()], dim=-1), _real, (3,)),
    "stack_first": (lambda T, Dist, p: T.StackTransform([T.AffineTransform(1.0, -2.0), T.SigmoidTransform()], dim=0),
                    _real, (2, 3)),
    "stack_middle": (lambda T, Dist, p: T.StackTransform([T.ExpTransform(), T.SoftplusTransform(),
                                                          T.TanhTransform()], dim=-2), _real, (3, 4)),
    "compose_vector": (lambda T, Dist, p: T.ComposeTransform([T.AffineTransform(p["loc"], 2.0, event_dim=1),
                                                              T.StickBreakingTransform(),
                                                              T.PowerTransform(2.0)]), _real, (3,)),
    "compose_inverse": (lambda T, Dist, p: T.ComposeTransform([T.SoftplusTransform(), T.ExpTransform().inv,
                                                               T.AffineTransform(0.5, 3.0)]), _positive, ()),
}


def _pair(name: str, dtype: Any) -> tuple[Any, Any]:
    factory = TRANSFORMS[name][0]
    ours_params = {k: v.astype(dtype) for k, v in _params(tg).items()}
    theirs_params = {k: v.to(getattr(torch, np.dtype(dtype).name)) for k, v in _params(torch).items()}
    return factory(OURS_T, D, ours_params), factory(TORCH_T, TD, theirs_params)


def _input(name: str, batch: tuple, dtype: Any, seed: int = 0) -> np.ndarray:
    _, make, event = TRANSFORMS[name]
    if name in ("cat_batch", "stack_first"):
        batch = ()                   # dim 0 is the cat/stack dim: the first axis is the functor's
    return make(np.random.default_rng(seed), (*batch, *event)).astype(dtype)


def _torch_ladj(name: str, theirs: Any, x: Any, y: Any) -> Any:
    """torch's log|det J|, summed over the last dim for a StackTransform with dim < 0, which constraints.stack
    counts as one more event dim (the stacked dim itself for dim = −1): torch leaves it, pytorch issue #121220;
    ours gives one value per event, as event_dim says."""
    ladj = theirs.log_abs_det_jacobian(x, y)
    return ladj.sum(-1) if name in ("stack_last", "stack_middle") else ladj


def _torch_sign(transform: Any) -> Any:
    try:
        return transform.sign
    except NotImplementedError:
        return NotImplementedError


@pytest.mark.parametrize("batch", [(), (2,), (4, 1, 3)])
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transform_values_match_torch_float64(name: str, batch: tuple) -> None:
    ours, theirs = _pair(name, np.float64)
    x = _input(name, batch, np.float64)
    y_ours, y_theirs = ours(tg.tensor(x)), theirs(torch.tensor(x))
    _close(y_ours, y_theirs, 1e-11, 1e-14, f"{name} forward")
    _close(ours.inv(tg.tensor(_np(y_theirs))), theirs.inv(y_theirs), 1e-9, 1e-12, f"{name} inverse")
    if theirs.bijective:
        _close(ours.log_abs_det_jacobian(tg.tensor(x), y_ours), _torch_ladj(name, theirs, torch.tensor(x), y_theirs),
               1e-10, 1e-12, f"{name} log_abs_det_jacobian")
        _close(ours.inv.log_abs_det_jacobian(y_ours, tg.tensor(x)),
               -_torch_ladj(name, theirs, torch.tensor(x), y_theirs), 1e-10, 1e-12, f"{name} inverse ladj")
        _close(ours.inv(y_ours), x, 1e-6, 1e-9, f"{name} round trip x -> y -> x")   # PowerTransform(2.5): 1/p f32
    else:
        _close(ours(ours.inv(y_ours)), _np(y_theirs), 1e-9, 1e-12, f"{name} pseudo-inverse t(t.inv(t(x))) = t(x)")
    assert ours.bijective == theirs.bijective
    assert ours.domain.event_dim == theirs.domain.event_dim and ours.codomain.event_dim == theirs.codomain.event_dim
    assert tuple(ours.forward_shape(x.shape)) == tuple(theirs.forward_shape(torch.Size(x.shape))) == y_ours.shape
    assert tuple(ours.inverse_shape(y_ours.shape)) == tuple(theirs.inverse_shape(y_theirs.shape)) == x.shape
    theirs_sign = _torch_sign(theirs)
    if theirs_sign is NotImplementedError:
        with pytest.raises(NotImplementedError):
            _ = ours.sign
    else:
        np.testing.assert_array_equal(_np(ours.sign), _np(theirs_sign))
    assert bool(np.all(_np(ours.codomain.check(y_ours)))), f"{name}: y outside the codomain"


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transform_gradients_match_torch(name: str) -> None:
    """∂/∂x of Σ w·y + Σ v·log|det J| (bijective) and ∂/∂y of Σ w·t.inv(y), against torch's autograd."""
    ours, theirs = _pair(name, np.float64)
    x = _input(name, (2,), np.float64, seed=3)
    x_ours, x_theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
    rng = np.random.default_rng(4)
    w = rng.normal(size=tuple(y_theirs.shape))
    loss_ours, loss_theirs = (tg.tensor(w) * y_ours).sum(), (torch.tensor(w) * y_theirs).sum()
    if theirs.bijective:
        ladj_theirs = _torch_ladj(name, theirs, x_theirs, y_theirs)
        v = rng.normal(size=tuple(ladj_theirs.shape))
        loss_ours = loss_ours + (tg.tensor(v) * ours.log_abs_det_jacobian(x_ours, y_ours)).sum()
        loss_theirs = loss_theirs + (torch.tensor(v) * ladj_theirs).sum()
    loss_ours.backward()
    loss_theirs.backward()
    _close(x_ours.grad, x_theirs.grad, 1e-9, 1e-11, f"{name} forward gradient")
    y = y_theirs.detach().numpy()
    y_ours, y_theirs = tg.tensor(y, requires_grad=True), torch.tensor(y, requires_grad=True)
    x_back_theirs = theirs.inv(y_theirs)
    u = rng.normal(size=tuple(x_back_theirs.shape))
    (tg.tensor(u) * ours.inv(y_ours)).sum().backward()
    (torch.tensor(u) * x_back_theirs).sum().backward()
    # PowerTransform(2.5): torch's pow backward takes p − 1 in float32 (p = 1/2.5 is a float32 0-d tensor): 5e-8 off
    _close(y_ours.grad, y_theirs.grad, 1e-7 if name == "power_scalar" else 1e-8, 1e-10, f"{name} inverse gradient")


def test_power_transform_gradient_is_float64_for_a_float32_exponent() -> None:
    """dy/dx = p·x^(p − 1) with p − 1 in float64 (torch rounds it to float32 first)."""
    x = np.array([0.7, 3.0, 7.0])
    p = np.float64(np.float32(1) / np.float32(2.5))      # PowerTransform(2.5).inv's exponent
    y = tg.tensor(x, requires_grad=True)
    OURS_T.PowerTransform(2.5).inv(y).sum().backward()
    np.testing.assert_allclose(_np(y.grad), p * x ** (p - 1), rtol=1e-15)


def test_power_transform_promotes_as_pow() -> None:
    """A float64 exponent with dims on float32 x: y, x back and log|det J| are float64, as torch's x.pow(p)."""
    exponent, x = np.array([0.5, 2.0, -1.5]), np.array([0.7, 3.0, 7.0], dtype=np.float32)
    ours, theirs = OURS_T.PowerTransform(tg.tensor(exponent)), TORCH_T.PowerTransform(torch.tensor(exponent))
    y_ours, y_theirs = ours(tg.tensor(x)), theirs(torch.tensor(x))
    assert y_ours.dtype == ours.inv(y_ours).dtype == np.float64 and y_theirs.dtype == torch.float64
    _close(y_ours, y_theirs, 1e-14)
    _close(ours.inv(tg.tensor(x)), theirs.inv(torch.tensor(x)), 1e-14)
    _close(ours.log_abs_det_jacobian(tg.tensor(x), y_ours), theirs.log_abs_det_jacobian(torch.tensor(x), y_theirs),
           1e-14)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transform_float32_stays_float32_and_matches_torch(name: str) -> None:
    ours, theirs = _pair(name, np.float32)
    x = _input(name, (3,), np.float32, seed=5)
    y_ours, y_theirs = ours(tg.tensor(x)), theirs(torch.tensor(x))
    assert y_ours.dtype == np.float32
    _close(y_ours, y_theirs, 2e-5, 1e-6, f"{name} forward float32")
    x_back = ours.inv(tg.tensor(_np(y_theirs)))
    assert x_back.dtype == np.float32
    _close(x_back, theirs.inv(y_theirs), 1e-4, 1e-5, f"{name} inverse float32")
    if theirs.bijective:
        ladj = ours.log_abs_det_jacobian(tg.tensor(x), y_ours)
        assert ladj.dtype == np.float32
        _close(ladj, _torch_ladj(name, theirs, torch.tensor(x), y_theirs), 1e-4, 1e-5, f"{name} ladj float32")


def test_transform_equality_is_torchs() -> None:
    """Parameter-free transforms equal every instance of their class; parametrised ones compare parameters;
    the rest (reshape, independent, cat, stack, corr-cholesky, cdf) equal only themselves, as in torch."""
    for ours_cls, theirs_cls in ((OURS_T.SoftplusTransform, TORCH_T.SoftplusTransform),
                                 (OURS_T.AbsTransform, TORCH_T.AbsTransform),
                                 (OURS_T.SoftmaxTransform, TORCH_T.SoftmaxTransform),
                                 (OURS_T.LowerCholeskyTransform, TORCH_T.LowerCholeskyTransform),
                                 (OURS_T.PositiveDefiniteTransform, TORCH_T.PositiveDefiniteTransform),
                                 (OURS_T.CorrCholeskyTransform, TORCH_T.CorrCholeskyTransform)):
        assert (ours_cls() == ours_cls()) == (theirs_cls() == theirs_cls()), ours_cls.__name__
        assert ours_cls() != OURS_T.ExpTransform()
    assert OURS_T.PowerTransform(2.0) == OURS_T.PowerTransform(tg.tensor(2.0)) != OURS_T.PowerTransform(3.0)
    assert OURS_T.AffineTransform(1.0, 2.0) == OURS_T.AffineTransform(1.0, 2.0, event_dim=1)   # torch ignores it
    reshape = OURS_T.ReshapeTransform((2,), (2, 1))
    assert reshape == reshape and reshape != OURS_T.ReshapeTransform((2,), (2, 1))
    assert OURS_T.ExpTransform().inv == OURS_T.ExpTransform().inv and OURS_T.ExpTransform().inv.inv is not None
    assert OURS_T.identity_transform == OURS_T.ComposeTransform([])
    compose = OURS_T.ComposeTransform([OURS_T.ExpTransform(), OURS_T.SoftplusTransform()])
    assert compose.inv.inv is compose and compose.inv == OURS_T.ComposeTransform(
        [OURS_T.SoftplusTransform().inv, OURS_T.ExpTransform().inv])


def test_tanh_transform_cache_returns_the_pre_image() -> None:
    """TanhTransform(cache_size=1): t.inv(t(x)) is x itself, also where tanh x rounds to 1 and atanh gives inf."""
    t = OURS_T.TanhTransform(cache_size=1)
    x = tg.tensor(np.array([0.5, 25.0]))
    y = t(x)
    assert t.inv(y) is x and t(x) is y
    assert np.isinf(_np(OURS_T.TanhTransform().inv(y))[1])
    squashed = D.TransformedDistribution(D.Normal(tg.tensor(0.0, dtype=tg.float64), 1.0), [t])
    assert np.isfinite(_np(squashed.log_prob(y))[0])
    assert OURS_T.TanhTransform().with_cache(1)._cache_size == 1
    assert OURS_T.ComposeTransform([OURS_T.ExpTransform()], cache_size=1).parts[0]._cache_size == 1
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        OURS_T.ExpTransform(cache_size=2)


def test_transforms_refuse_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"ReshapeTransform: shape \(4, 3\) does not end with the event shape"):
        OURS_T.ReshapeTransform((2, 3), (6,))(tg.zeros(4, 3))
    with pytest.raises(ValueError, match="different numbers of elements"):
        OURS_T.ReshapeTransform((2, 3), (5,))
    with pytest.raises(ValueError, match=r"LowerCholeskyTransform: expected square matrices .* shape \(2, 3\)"):
        OURS_T.LowerCholeskyTransform()(tg.zeros(2, 3))
    for pd_map in (OURS_T.PositiveDefiniteTransform(), OURS_T.PositiveDefiniteTransform().inv):
        with pytest.raises(ValueError, match="PositiveDefiniteTransform: expected square"):
            pd_map(tg.zeros(3, 2))
    for vector_map in (OURS_T.StickBreakingTransform(), OURS_T.SoftmaxTransform()):
        for direction in (vector_map, vector_map.inv):
            with pytest.raises(ValueError, match=f"{type(vector_map).__name__}: too few dimensions"):
                direction(tg.tensor(1.0))
    with pytest.raises(ValueError, match=r"CorrCholeskyTransform: a last dim of 4 is not D\(D − 1\)/2"):
        OURS_T.CorrCholeskyTransform().forward_shape((4,))
    with pytest.raises(ValueError, match=r"CorrCholeskyTransform: a last dim of 4 is not D\(D − 1\)/2"):
        OURS_T.CorrCholeskyTransform()(tg.zeros(4))
    with pytest.raises(ValueError, match=r"CorrCholeskyTransform: expected square matrices .* shape \(3, 4\)"):
        OURS_T.CorrCholeskyTransform().inv(tg.zeros(3, 4))
    with pytest.raises(ValueError, match=r"CatTransform: a value of shape \(2, 4\) .* sum\(lengths\) = 3"):
        OURS_T.CatTransform([OURS_T.ExpTransform()] * 2, -1, [1, 2])(tg.zeros(2, 4))
    with pytest.raises(ValueError, match=r"StackTransform: .* len\(tseq\) = 2"):
        OURS_T.StackTransform([OURS_T.ExpTransform()] * 2, 0)(tg.zeros(3))
    with pytest.raises(ValueError, match="IndependentTransform: the input has shape"):
        OURS_T.IndependentTransform(OURS_T.ExpTransform(), 2)(tg.zeros(3))
    with pytest.raises(TypeError, match="every element of tseq must be a Transform"):
        OURS_T.CatTransform([OURS_T.ExpTransform(), "exp"])
    with pytest.raises(ValueError, match="event dims"):
        _ = OURS_T.CorrCholeskyTransform().event_dim
    with pytest.raises(NotImplementedError, match="AbsTransform has no log_abs_det_jacobian"):
        OURS_T.AbsTransform().log_abs_det_jacobian(tg.zeros(2), tg.zeros(2))


@pytest.mark.parametrize("case", ["power", "softplus", "cdf_copula", "reshape", "corr_cholesky", "stack", "cat"])
def test_transformed_distribution_log_prob_matches_torch(case: str) -> None:
    """log_prob of a TransformedDistribution built from the new transforms, values and parameter gradients."""
    rng = np.random.default_rng(7)

    def build(Dist: Any, T: Any, loc: Any, scale: Any) -> Any:
        base_vec = Dist.Independent(Dist.Normal(loc, scale), 1)
        return {"power": lambda: Dist.TransformedDistribution(Dist.LogNormal(loc, scale), [T.PowerTransform(1.7)]),
                "softplus": lambda: Dist.TransformedDistribution(Dist.Normal(loc, scale), [T.SoftplusTransform()]),
                "cdf_copula": lambda: Dist.TransformedDistribution(
                    Dist.Normal(loc, scale), [T.CumulativeDistributionTransform(Dist.Normal(0.0, 1.0))]),
                "reshape": lambda: Dist.TransformedDistribution(base_vec, [T.ReshapeTransform((6,), (2, 3))]),
                "corr_cholesky": lambda: Dist.TransformedDistribution(base_vec, [T.CorrCholeskyTransform()]),
                "stack": lambda: Dist.TransformedDistribution(base_vec, [T.StackTransform(
                    [T.ExpTransform(), T.TanhTransform(), T.SoftplusTransform()] * 2, dim=-1)]),
                "cat": lambda: Dist.TransformedDistribution(base_vec, [T.CatTransform(
                    [T.SigmoidTransform(), T.AffineTransform(0.5, 2.0, event_dim=1)], dim=-1, lengths=[2, 4])]),
                }[case]()

    loc, scale = rng.normal(size=(2, 6)) * 0.3, rng.uniform(0.3, 0.8, size=(2, 6))
    params_ours = [tg.tensor(loc, requires_grad=True), tg.tensor(scale, requires_grad=True)]
    params_theirs = [torch.tensor(loc, requires_grad=True), torch.tensor(scale, requires_grad=True)]
    ours, theirs = build(D, OURS_T, *params_ours), build(TD, TORCH_T, *params_theirs)
    assert ours.batch_shape == tuple(theirs.batch_shape) and ours.event_shape == tuple(theirs.event_shape)
    torch.manual_seed(0)
    value = theirs.sample((3,))
    lp_ours = ours.log_prob(tg.tensor(value.numpy()))
    if case == "stack":     # torch's stacked log|det J| does not fit its event_dim (pytorch issue #121220)
        transform = theirs.transforms[0]
        x = transform.inv(value)
        lp_theirs = theirs.base_dist.log_prob(x) - transform.log_abs_det_jacobian(x, value).sum(-1)
    else:                   # cat: torch's support check concatenates answers of different ranks and fails
        theirs._validate_args = False
        lp_theirs = theirs.log_prob(value)
    _close(lp_ours, lp_theirs, 1e-9, 1e-11, f"{case} log_prob")
    lp_ours.sum().backward()
    lp_theirs.sum().backward()
    for ours_p, theirs_p in zip(params_ours, params_theirs):
        _close(ours_p.grad, theirs_p.grad, 1e-8, 1e-10, f"{case} gradient")


def test_stack_transform_left_of_the_event_keeps_the_stacked_dim() -> None:
    """StackTransform(dim=−2) of elementwise maps: constraints.stack gives event_dim 1 (the last dim), so the
    density has one value per row x[..., i, :], log|det J| summed over that row. On square inputs a sum over the
    stacked dim instead broadcast silently into a wrong log_prob."""
    rng = np.random.default_rng(12)
    loc, x = rng.normal(size=(2, 3, 3)) * 0.3, rng.normal(size=(2, 3, 3))
    ours = D.TransformedDistribution(D.Normal(tg.tensor(loc), 0.7), [OURS_T.StackTransform(
        [OURS_T.ExpTransform(), OURS_T.SoftplusTransform(), OURS_T.TanhTransform()], dim=-2)])
    transform = TORCH_T.StackTransform([TORCH_T.ExpTransform(), TORCH_T.SoftplusTransform(),
                                        TORCH_T.TanhTransform()], dim=-2)
    y = transform(torch.tensor(x))
    expected = (TD.Normal(torch.tensor(loc), 0.7).log_prob(torch.tensor(x))
                - transform.log_abs_det_jacobian(torch.tensor(x), y)).sum(-1)
    assert ours.event_shape == (3,)
    _close(ours.log_prob(tg.tensor(y.numpy())), expected, 1e-10, 1e-12, "stack dim=-2 log_prob")


# -- biject_to / transform_to ----------------------------------------------------------------------------------
def _constraint(lib: Any, cons: Any, name: str) -> Any:
    """The constraint ``name`` built from ``cons`` (ours or torch's constraints module), bounds in float64."""
    bound = lib.tensor(np.array([0.5, -1.0, 2.0]))
    return {"real": lambda: cons.real, "real_vector": lambda: cons.real_vector, "positive": lambda: cons.positive,
            "nonnegative": lambda: cons.nonnegative, "greater_than": lambda: cons.greater_than(bound),
            "greater_than_eq": lambda: cons.greater_than_eq(2.0), "less_than": lambda: cons.less_than(-1.5),
            "unit_interval": lambda: cons.unit_interval, "interval": lambda: cons.interval(bound, bound + 3.0),
            "half_open_interval": lambda: cons.half_open_interval(0.0, 1.0),
            "independent_greater_than": lambda: cons.independent(cons.greater_than(bound), 1),
            "simplex": lambda: cons.simplex, "lower_cholesky": lambda: cons.lower_cholesky,
            "positive_definite": lambda: cons.positive_definite,
            "positive_semidefinite": lambda: cons.positive_semidefinite, "corr_cholesky": lambda: cons.corr_cholesky,
            "cat": lambda: cons.cat([cons.positive, cons.interval(-1.0, 2.0), cons.real], -1, [1, 2, 1]),
            "stack": lambda: cons.stack([cons.positive, cons.unit_interval, cons.less_than(1.0)], 0)}[name]()


# constraint -> the unconstrained input shape, as (biject_to's, transform_to's)
REGISTRY_INPUTS: dict[str, tuple[tuple, tuple]] = {
    "real": ((4, 3), (4, 3)), "real_vector": ((4, 3), (4, 3)), "positive": ((4, 3), (4, 3)),
    "nonnegative": ((4, 3), (4, 3)), "greater_than": ((4, 3), (4, 3)), "greater_than_eq": ((4, 3), (4, 3)),
    "less_than": ((4, 3), (4, 3)), "unit_interval": ((4, 3), (4, 3)), "interval": ((4, 3), (4, 3)),
    "half_open_interval": ((4, 3), (4, 3)), "independent_greater_than": ((4, 3), (4, 3)), "simplex": ((4, 3), (4, 3)),
    "lower_cholesky": ((), (4, 3, 3)), "positive_definite": ((), (2, 3, 3)), "positive_semidefinite": ((), (2, 3, 3)),
    "corr_cholesky": ((4, 6), (4, 6)), "cat": ((3, 4), (3, 4)), "stack": ((3, 5), (3, 5)),
}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", list(REGISTRY_INPUTS))
def test_registry_transform_lands_in_the_constraint_and_matches_torch(name: str, registry: str) -> None:
    ours_c, theirs_c = _constraint(tg, C, name), _constraint(torch, TC, name)
    ours_registry, theirs_registry = getattr(D, registry), getattr(TD, registry)
    shape = REGISTRY_INPUTS[name][registry == "transform_to"]
    if not shape:
        for lookup, constraint in ((ours_registry, ours_c), (theirs_registry, theirs_c)):
            with pytest.raises(NotImplementedError, match="Cannot transform"):
                lookup(constraint)
        return
    ours, theirs = ours_registry(ours_c), theirs_registry(theirs_c)
    assert repr(ours) == repr(theirs) and ours.bijective == theirs.bijective
    x = np.random.default_rng(11).normal(size=shape)
    y_ours, y_theirs = ours(tg.tensor(x)), theirs(torch.tensor(x))
    _close(y_ours, y_theirs, 1e-11, 1e-14, f"{registry}({name})")
    assert bool(np.all(_np(ours_c.check(y_ours)))), f"{registry}({name}) left the constraint"
    if registry == "biject_to":
        assert ours.bijective
        _close(ours.inv(y_ours), x, 1e-8, 1e-10, f"biject_to({name}) round trip")
        _close(ours.log_abs_det_jacobian(tg.tensor(x), y_ours), theirs.log_abs_det_jacobian(torch.tensor(x), y_theirs),
               1e-10, 1e-12, f"biject_to({name}) log|det J|")


@pytest.mark.parametrize("name", ["boolean", "one_hot", "nonnegative_integer", "positive_integer", "lower_triangular",
                                  "square", "symmetric", "dependent"])
def test_registry_refuses_what_torch_refuses(name: str) -> None:
    for registry in (D.biject_to, D.transform_to):
        with pytest.raises(NotImplementedError, match="Cannot transform"):
            registry(getattr(C, name))
    for constraint in (C.integer_interval(0, 3), C.multinomial(3), C.MixtureSameFamilyConstraint(C.real)):
        with pytest.raises(NotImplementedError, match=f"Cannot transform {type(constraint).__name__} constraints"):
            D.transform_to(constraint)


def test_registry_register_singleton_and_factory() -> None:
    registry = D.constraint_registry.ConstraintRegistry()
    registry.register(C.positive, lambda constraint: OURS_T.SoftplusTransform())
    assert registry(C.greater_than(3.0)) == OURS_T.SoftplusTransform()       # looked up by class

    @registry.register(type(C.interval(0.0, 1.0)))
    def _scaled(constraint: Any) -> Any:
        return OURS_T.AffineTransform(constraint.lower_bound, constraint.upper_bound - constraint.lower_bound)

    assert registry(C.interval(1.0, 3.0)) == OURS_T.AffineTransform(1.0, 2.0)
    with pytest.raises(TypeError, match="Constraint subclass or instance"):
        registry.register(float, _scaled)


def test_transform_to_optimises_a_constrained_parameter() -> None:
    """The use the registry is for: an unconstrained u, scale = transform_to(positive)(u), gradient through it."""
    u = tg.tensor(np.array([0.3, -0.2]), requires_grad=True)
    scale = D.transform_to(D.Normal.arg_constraints["scale"])(u)
    loss = -D.Normal(tg.tensor(np.zeros(2)), scale).log_prob(tg.tensor(np.array([1.0, 2.0]))).sum()
    loss.backward()
    u_t = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    (-TD.Normal(torch.zeros(2, dtype=torch.float64), TD.transform_to(TD.Normal.arg_constraints["scale"])(u_t))
     .log_prob(torch.tensor([1.0, 2.0], dtype=torch.float64)).sum()).backward()
    _close(u.grad, u_t.grad, 1e-12)


# -- ExponentialFamily ---------------------------------------------------------------------------------------------
def _families(lib: Any, Dist: Any, params: list) -> dict[str, Any]:
    """One member of each exponential family, from float64 parameters ``params`` (arrays or Tensors, batch (3,))."""
    a, b, c = (p if isinstance(p, (tg.Tensor, torch.Tensor)) else lib.tensor(p) for p in params)
    return {"Normal": lambda: Dist.Normal(a - 1.5, b), "Exponential": lambda: Dist.Exponential(b),
            "Gamma": lambda: Dist.Gamma(b, c), "Chi2": lambda: Dist.Chi2(c), "Beta": lambda: Dist.Beta(b, c),
            "Dirichlet": lambda: Dist.Dirichlet(lib.stack([a, b, c], -1)),
            "Bernoulli": lambda: Dist.Bernoulli(logits=a - 1.5),
            "ContinuousBernoulli": lambda: Dist.ContinuousBernoulli(logits=a - 1.5), "Poisson": lambda: Dist.Poisson(c),
            }


FAMILIES = ["Normal", "Exponential", "Gamma", "Chi2", "Beta", "Dirichlet", "Bernoulli", "ContinuousBernoulli",
            "Poisson"]


def _family_params(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 2.5, size=3) for _ in range(3)]


def test_exponential_family_membership_is_torchs() -> None:
    names = [n for n in D.__all__ if isinstance(getattr(D, n), type) and issubclass(getattr(D, n), D.Distribution)
             and hasattr(TD, n)]
    assert len(names) > 40
    for name in names:
        ours, theirs = getattr(D, name), getattr(TD, name)
        assert issubclass(ours, D.ExponentialFamily) == issubclass(theirs, TD.ExponentialFamily), name


@pytest.mark.parametrize("name", FAMILIES)
def test_natural_params_and_log_normalizer_match_torch(name: str) -> None:
    params = _family_params(1)
    ours, theirs = _families(tg, D, params)[name](), _families(torch, TD, params)[name]()
    for ours_param, theirs_param in zip(ours._natural_params, theirs._natural_params):
        _close(ours_param, theirs_param, 1e-13, 1e-15, f"{name} natural parameter")
    _close(ours._log_normalizer(*ours._natural_params), theirs._log_normalizer(*theirs._natural_params), 1e-12, 1e-14,
           f"{name} log-normaliser")


@pytest.mark.parametrize("name", [n for n in FAMILIES if n != "Poisson"])
def test_bregman_entropy_matches_the_closed_form(name: str) -> None:
    """H = F(θ) − ⟨θ, ∇F(θ)⟩ − E[k(X)] (autograd) against each family's closed form, values and gradients
    (torch detaches θ there: its Bregman entropy has no gradient)."""
    params = [tg.tensor(p, requires_grad=True) for p in _family_params(2)]
    dist = _families(tg, D, params)[name]()
    bregman, closed = D.ExponentialFamily.entropy(dist), dist.entropy()
    _close(bregman, closed, 1e-10, 1e-12, f"{name} entropy")
    weights = tg.tensor(np.array([0.3, -1.2, 0.7]))
    grads_bregman = tg.autograd.grad((weights * bregman).sum(), params, retain_graph=True, allow_unused=True)
    grads_closed = tg.autograd.grad((weights * closed).sum(), params, allow_unused=True)
    for g_bregman, g_closed in zip(grads_bregman, grads_closed):
        if g_closed is None:        # Normal's entropy does not depend on loc: the Bregman form's terms cancel
            assert g_bregman is None or np.abs(_np(g_bregman)).max() < 1e-12
        else:
            _close(g_bregman, g_closed, 1e-9, 1e-11, f"{name} entropy gradient")


def test_poisson_entropy_is_not_defined_as_in_torch() -> None:
    with pytest.raises(NotImplementedError, match="Poisson does not define its mean carrier measure"):
        D.Poisson(tg.tensor(2.0)).entropy()


@pytest.mark.parametrize("name", FAMILIES)
def test_bregman_kl_matches_the_closed_forms(name: str) -> None:
    """KL = F(θ_q) − F(θ_p) − ⟨θ_q − θ_p, ∇F(θ_p)⟩ against the registered closed form (ours and torch's),
    with gradients with respect to both distributions' parameters."""
    p_arrays, q_arrays = _family_params(3), _family_params(4)
    p_params = [tg.tensor(v, requires_grad=True) for v in p_arrays]
    q_params = [tg.tensor(v, requires_grad=True) for v in q_arrays]
    p, q = _families(tg, D, p_params)[name](), _families(tg, D, q_params)[name]()
    bregman = D.exp_family.bregman_kl(p, q)
    closed = D.kl_divergence(p, q)
    theirs = TD.kl_divergence(_families(torch, TD, p_arrays)[name](), _families(torch, TD, q_arrays)[name]())
    _close(bregman, theirs, 1e-9, 1e-12, f"{name} Bregman KL vs torch's closed form")
    _close(closed, theirs, 1e-9, 1e-12, f"{name} our closed form vs torch's")
    weights = tg.tensor(np.array([1.1, -0.4, 0.6]))
    grads_bregman = tg.autograd.grad((weights * bregman).sum(), p_params + q_params, retain_graph=True,
                                     allow_unused=True)
    grads_closed = tg.autograd.grad((weights * closed).sum(), p_params + q_params, allow_unused=True)
    for g_bregman, g_closed in zip(grads_bregman, grads_closed):
        if g_closed is not None:
            _close(g_bregman, g_closed, 1e-8, 1e-10, f"{name} KL gradient")


def _wishart_kl_closed_form(df_p: Any, cov_p: Any, df_q: Any, cov_q: Any) -> Any:
    """KL(W(ν_p, V_p) ‖ W(ν_q, V_q)) = ν_q/2 (log|V_q| − log|V_p|) + ν_p/2 (tr(V_q⁻¹ V_p) − p)
    + log Γ_p(ν_q/2) − log Γ_p(ν_p/2) + (ν_p − ν_q)/2 ψ_p(ν_p/2), in torch float64."""
    p = cov_p.shape[-1]
    multi_digamma = sum(torch.digamma(df_p / 2 - i / 2) for i in range(p))
    return (df_q / 2 * (torch.logdet(cov_q) - torch.logdet(cov_p))
            + df_p / 2 * (torch.linalg.solve(cov_q, cov_p).diagonal(dim1=-2, dim2=-1).sum(-1) - p)
            + torch.mvlgamma(df_q / 2, p) - torch.mvlgamma(df_p / 2, p) + (df_p - df_q) / 2 * multi_digamma)


def test_wishart_kl_by_bregman_divergence() -> None:
    """Wishart has no closed-form KL registered (as torch): kl_divergence dispatches to the ExponentialFamily pair.
    Against the textbook closed form, batched (torch's Bregman sums the scalar parameter's term over the batch)."""
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(3, 3, 3)), rng.normal(size=(3, 3, 3))
    cov_p, cov_q = a @ np.swapaxes(a, -1, -2) + np.eye(3), b @ np.swapaxes(b, -1, -2) + np.eye(3)
    df_p, df_q = np.array([4.0, 5.5, 9.0]), np.array([3.5, 7.0, 4.2])
    df_ours = tg.tensor(df_p, requires_grad=True)
    kl = D.kl_divergence(D.Wishart(df_ours, covariance_matrix=tg.tensor(cov_p)),
                         D.Wishart(tg.tensor(df_q), covariance_matrix=tg.tensor(cov_q)))
    df_theirs = torch.tensor(df_p, requires_grad=True)
    expected = _wishart_kl_closed_form(df_theirs, torch.tensor(cov_p), torch.tensor(df_q), torch.tensor(cov_q))
    _close(kl, expected, 1e-9, 1e-12, "Wishart KL")
    kl.sum().backward()
    expected.sum().backward()
    _close(df_ours.grad, df_theirs.grad, 1e-8, 1e-11, "Wishart KL gradient in df")
    single = TD.kl_divergence(TD.Wishart(torch.tensor(df_p[0]), covariance_matrix=torch.tensor(cov_p[0])),
                              TD.Wishart(torch.tensor(df_q[0]), covariance_matrix=torch.tensor(cov_q[0])))
    _close(kl[0], single, 1e-9, 1e-12, "Wishart KL vs torch's Bregman (no batch)")
    entropy = D.ExponentialFamily.entropy(D.Wishart(tg.tensor(df_p), covariance_matrix=tg.tensor(cov_p)))
    _close(entropy, TD.Wishart(torch.tensor(df_p), covariance_matrix=torch.tensor(cov_p)).entropy(), 1e-10, 1e-12)


def test_bregman_kl_refuses_two_families() -> None:
    with pytest.raises(NotImplementedError, match=r"different exponential families \(Gamma, Exponential\)"):
        D.exp_family.bregman_kl(D.Gamma(2.0, 1.0), D.Exponential(1.0))
    with pytest.raises(NotImplementedError, match="different exponential families"):
        D.kl_divergence(D.Poisson(2.0), D.Normal(0.0, 1.0))


def test_bregman_kl_works_without_gradients_and_under_no_grad() -> None:
    """θ that do not require grad get detached leaves; under no_grad the gradient of F is still recorded."""
    p, q = D.Gamma(tg.tensor([2.0]), tg.tensor([1.5])), D.Gamma(tg.tensor([3.0]), tg.tensor([0.5]))
    with tg.no_grad():
        kl = D.exp_family.bregman_kl(p, q)
    _close(kl, D.kl_divergence(p, q), 1e-6)
    assert not kl.requires_grad and not D.ExponentialFamily.entropy(p).requires_grad    # constants in, constant out
    rate = tg.tensor([1.5], requires_grad=True)
    assert D.exp_family.bregman_kl(p, D.Gamma(tg.tensor([3.0]), rate)).requires_grad


# -- shapes drawn by hypothesis; second derivatives ------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(batch=st.lists(st.integers(0, 3), max_size=3).map(tuple),
       name=st.sampled_from(["power", "softplus", "softmax", "stick_breaking", "lower_cholesky", "corr_cholesky",
                             "cat_event", "stack_last", "independent_stick", "cdf_normal"]))
def test_transform_values_on_drawn_batch_shapes(batch: tuple, name: str) -> None:
    """Batch shapes with empty and size-1 dims: forward, inverse and log|det J| as torch's (float64)."""
    ours, theirs = _pair(name, np.float64)
    x = _input(name, batch, np.float64, seed=len(batch))
    y_ours, y_theirs = ours(tg.tensor(x)), theirs(torch.tensor(x))
    _close(y_ours, y_theirs, 1e-11, 1e-14, f"{name} forward")
    _close(ours.inv(y_ours), theirs.inv(y_theirs), 1e-9, 1e-12, f"{name} inverse")
    if not theirs.bijective:
        return
    ladj = ours.log_abs_det_jacobian(tg.tensor(x), y_ours)
    if 0 in batch:      # torch's sum over reinterpreted dims reshapes (0, -1) and raises; one value per event here
        assert ladj.shape == x.shape[:x.ndim - ours.domain.event_dim]
    else:
        _close(ladj, _torch_ladj(name, theirs, torch.tensor(x), y_theirs), 1e-10, 1e-12, f"{name} log|det J|")


@pytest.mark.parametrize("name", ["power", "softplus", "stick_breaking", "corr_cholesky", "positive_definite",
                                  "cat_event", "stack_last"])
def test_transform_second_derivatives(name: str) -> None:
    """grad-of-grad through y and log|det J| (a flow's loss is differentiated twice by some optimisers)."""
    ours, _ = _pair(name, np.float64)
    x = tg.tensor(_input(name, (2,), np.float64, seed=9), requires_grad=True)

    def forward(x: tg.Tensor) -> tg.Tensor:
        y = ours(x)
        return y.sum() + (ours.log_abs_det_jacobian(x, y).sum() if ours.bijective else 0.0)

    assert tg.testing.gradgradcheck(forward, [x])


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Dirichlet", "ContinuousBernoulli"])
def test_bregman_forms_keep_float32(name: str) -> None:
    p_arrays, q_arrays = _family_params(5), _family_params(6)
    p32, q32 = (_families(tg, D, [tg.tensor(v.astype(np.float32)) for v in arrays])[name]()
                for arrays in (p_arrays, q_arrays))
    kl32, entropy32 = D.exp_family.bregman_kl(p32, q32), D.ExponentialFamily.entropy(p32)
    assert kl32.dtype == entropy32.dtype == np.float32
    p64, q64 = (_families(tg, D, arrays)[name]() for arrays in (p_arrays, q_arrays))
    _close(kl32, D.exp_family.bregman_kl(p64, q64).astype(np.float32), 2e-4, 2e-5, f"{name} float32 KL")
    _close(entropy32, D.ExponentialFamily.entropy(p64).astype(np.float32), 2e-4, 2e-5, f"{name} float32 entropy")
