"""tg.distributions against torch.distributions.

Values (log_prob, cdf, icdf, entropy, mean, mode, variance, stddev) in float64 (rtol 1e-10, 1e-9
where lgamma/digamma enter: PyTorch's own are accurate to about that) and float32, on parameters
and values drawn by hypothesis, with parameters and values of different broadcastable shapes;
gradients of log_prob/cdf/entropy with respect to every parameter; pathwise (rsample) gradients on
the same noise (recovered from our sample, then pushed through PyTorch's sampling formula);
the gamma sampler's implicit derivative; sample statistics with a fixed seed; every registered
kl_divergence pair (values and gradients); validation errors; expand; batch/event shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

F64_RTOL, F64_RTOL_GAMMA, GRAD_RTOL = 1e-10, 1e-9, 1e-8


# -- parameter and value generators (rng, shape) -> float64 array ------------------------------------
def real(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.normal(size=shape)


def positive(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(0.5, 3.0, size=shape)


def unit(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.uniform(0.05, 0.95, size=shape)


def counts(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.integers(0, 6, size=shape).astype(np.float64)


def bits(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.integers(0, 2, size=shape).astype(np.float64)


def fixed(value: float) -> Callable:
    return lambda rng, shape: np.full(shape, value)


def between(low: float, high: float) -> Callable:
    return lambda rng, shape: rng.uniform(low, high, size=shape)


@dataclass
class Spec:
    """One univariate distribution case: constructor keyword → generator; value generator; what to compare."""

    name: str
    params: dict[str, Callable]
    value: Callable
    methods: tuple[str, ...] = ("log_prob", "entropy", "mean", "mode", "variance", "stddev")
    rtol: float = F64_RTOL
    f32_rtol: float = 2e-5
    no_grad: tuple[str, ...] = ()          # parameters whose gradient PyTorch does not define

    @property
    def id(self) -> str:
        return self.name + "(" + ",".join(self.params) + ")"


MOMENTS = ("mean", "mode", "variance", "stddev")
UNIVARIATE = [
    Spec("Normal", {"loc": real, "scale": positive}, real,
         ("log_prob", "cdf", "icdf", "entropy", *MOMENTS)),
    Spec("HalfNormal", {"scale": positive}, positive, ("log_prob", "cdf", "icdf", "entropy", *MOMENTS)),
    Spec("LogNormal", {"loc": real, "scale": positive}, positive,
         ("log_prob", "cdf", "icdf", "entropy", *MOMENTS)),
    Spec("Uniform", {"low": between(-3, -1), "high": between(1, 3)}, between(-0.9, 0.9),
         ("log_prob", "cdf", "icdf", "entropy", "mean", "variance", "stddev")),
    Spec("Exponential", {"rate": positive}, positive, ("log_prob", "cdf", "icdf", "entropy", *MOMENTS)),
    Spec("Laplace", {"loc": real, "scale": positive}, real, ("log_prob", "cdf", "icdf", "entropy", *MOMENTS)),
    Spec("Cauchy", {"loc": real, "scale": positive}, real, ("log_prob", "cdf", "icdf", "entropy", "mode")),
    Spec("StudentT", {"df": between(2.5, 9), "loc": real, "scale": positive}, real, rtol=F64_RTOL_GAMMA),
    Spec("Gamma", {"concentration": positive, "rate": positive}, positive,
         ("log_prob", "cdf", "entropy", *MOMENTS), rtol=F64_RTOL_GAMMA, no_grad=("concentration",)),
    Spec("Beta", {"concentration1": positive, "concentration0": positive}, unit,
         ("log_prob", "entropy", *MOMENTS), rtol=F64_RTOL_GAMMA),
    Spec("Bernoulli", {"probs": unit}, bits, ("log_prob", "entropy", *MOMENTS)),
    Spec("Bernoulli", {"logits": real}, bits, ("log_prob", "entropy", *MOMENTS)),
    Spec("Geometric", {"probs": unit}, counts, ("log_prob", "entropy", *MOMENTS)),
    Spec("Geometric", {"logits": real}, counts, ("log_prob", "entropy", *MOMENTS)),
    Spec("Poisson", {"rate": positive}, counts, ("log_prob", *MOMENTS), rtol=F64_RTOL_GAMMA),
    Spec("Binomial", {"total_count": fixed(7.0), "probs": unit}, counts,
         ("log_prob", "entropy", *MOMENTS), rtol=F64_RTOL_GAMMA, no_grad=("total_count",)),
    Spec("Binomial", {"total_count": fixed(6.0), "logits": real}, counts,
         ("log_prob", "entropy", *MOMENTS), rtol=F64_RTOL_GAMMA, no_grad=("total_count",)),
    Spec("RelaxedBernoulli", {"temperature": between(0.3, 2.0), "probs": unit}, unit, ("log_prob",),
         no_grad=("temperature",)),
    Spec("RelaxedBernoulli", {"temperature": between(0.3, 2.0), "logits": real}, unit, ("log_prob",)),
]
QUANTILE_METHODS = ("icdf",)


@st.composite
def shapes_for(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[dict[str, tuple], tuple]:
    """A result shape, one broadcastable sub-shape per parameter and one for the value."""
    result = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple))

    def operand() -> tuple:
        kept = draw(st.integers(0, len(result)))
        trailing = result[len(result) - kept:]
        ones = draw(st.lists(st.booleans(), min_size=kept, max_size=kept))
        return tuple(1 if one else size for one, size in zip(ones, trailing))

    return {name: operand() for name in names}, operand()


def _single_shape_params(spec: Spec, shapes: dict[str, tuple]) -> dict[str, tuple]:
    # A temperature is one number per distribution in PyTorch's relaxed classes only when broadcast by hand
    return {k: (() if k in ("temperature", "total_count") else s) for k, s in shapes.items()}


def _build(spec: Spec, arrays: dict[str, np.ndarray], dtype: Any, requires_grad: bool = False):
    tg_params = {k: tg.tensor(a.astype(dtype), requires_grad=requires_grad and k not in spec.no_grad)
                 for k, a in arrays.items()}
    th_params = {k: torch.tensor(a.astype(dtype), requires_grad=requires_grad and k not in spec.no_grad)
                 for k, a in arrays.items()}
    return getattr(D, spec.name)(**tg_params), getattr(TD, spec.name)(**th_params), tg_params, th_params


def _evaluate(dist: Any, method: str, value: Any) -> Any:
    if method in ("log_prob", "cdf", "icdf"):
        return getattr(dist, method)(value)
    if method == "entropy":
        return dist.entropy()
    return getattr(dist, method)


def _close(ours: tg.Tensor, theirs: Any, rtol: float, atol: float = 0.0, what: str = "") -> None:
    ours_np = ours.detach().numpy() if isinstance(ours, tg.Tensor) else np.asarray(ours)
    theirs_np = theirs.detach().numpy()
    assert ours_np.shape == theirs_np.shape, f"{what}: shape {ours_np.shape} vs torch {theirs_np.shape}"
    np.testing.assert_allclose(ours_np, theirs_np, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


def _values_for(spec: Spec, method: str, rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return unit(rng, shape) if method in QUANTILE_METHODS else spec.value(rng, shape)


@pytest.mark.parametrize("spec", UNIVARIATE, ids=lambda s: s.id)
@settings(max_examples=6)
@given(shapes=st.data(), seed=st.integers(0, 2**32 - 1))
def test_univariate_values_and_grads_match_torch(spec: Spec, shapes: Any, seed: int) -> None:
    param_shapes, value_shape = shapes.draw(shapes_for(tuple(spec.params)))
    param_shapes = _single_shape_params(spec, param_shapes)
    rng = np.random.default_rng(seed)
    arrays = {k: gen(rng, param_shapes[k]) for k, gen in spec.params.items()}
    for method in spec.methods:
        value = _values_for(spec, method, rng, value_shape)
        # float64: values and gradients w.r.t. every parameter
        ours_d, theirs_d, ours_p, theirs_p = _build(spec, arrays, np.float64, requires_grad=True)
        ours = _evaluate(ours_d, method, tg.tensor(value))
        theirs = _evaluate(theirs_d, method, torch.tensor(value))
        _close(ours, theirs, spec.rtol, 1e-300, f"{spec.id}.{method} float64")
        if method in ("log_prob", "cdf", "icdf", "entropy", "mean", "variance"):
            _compare_grads(spec, ours, theirs, ours_p, theirs_p, rng, f"{spec.id}.{method}")
        # float32: values
        ours_d, theirs_d, _, _ = _build(spec, arrays, np.float32)
        ours = _evaluate(ours_d, method, tg.tensor(value.astype(np.float32)))
        theirs = _evaluate(theirs_d, method, torch.tensor(value.astype(np.float32)))
        assert ours.dtype == tg.float32, f"{spec.id}.{method}: float32 in, {ours.dtype} out"
        _close(ours, theirs, spec.f32_rtol, 2e-6, f"{spec.id}.{method} float32")


def _compare_grads(spec: Spec, ours: tg.Tensor, theirs: Any, ours_p: dict, theirs_p: dict,
                   rng: np.random.Generator, what: str) -> None:
    names = [k for k in ours_p if ours_p[k].requires_grad]
    finite = np.isfinite(theirs.detach().numpy())
    if not names or not finite.all():
        return
    weights = rng.uniform(0.5, 1.5, size=theirs.shape)
    ours_grads = tg.autograd.grad((ours * tg.tensor(weights)).sum(), [ours_p[k] for k in names], allow_unused=True)
    theirs_grads = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), [theirs_p[k] for k in names],
                                       allow_unused=True)
    for name, g_ours, g_theirs in zip(names, ours_grads, theirs_grads):
        if g_theirs is None:
            assert g_ours is None or np.all(g_ours.numpy() == 0), f"{what}: d/d{name} should be zero"
            continue
        # digamma's gradient (trigamma) in PyTorch is good to ~5e-10 relative; summed over a broadcast
        # parameter's many uses, and with cancelling terms, the gamma family gets 1e-7
        rtol = GRAD_RTOL if spec.rtol == F64_RTOL else 1e-7
        _close(g_ours, g_theirs, rtol, 1e-9, f"{what}: d/d{name}")


# -- vector-valued distributions -----------------------------------------------------------------------
def _random_simplex(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    x = rng.uniform(0.05, 1.0, size=shape)
    return x / x.sum(-1, keepdims=True)


def _random_spd(rng: np.random.Generator, batch: tuple, k: int) -> np.ndarray:
    a = rng.normal(size=(*batch, k, k))
    return a @ np.swapaxes(a, -1, -2) + k * np.eye(k)


@dataclass
class VectorCase:
    name: str
    make: Callable          # (rng, batch, k) -> dict of parameter arrays
    value: Callable         # (rng, shape batch+(k,)) -> value array
    methods: tuple[str, ...]
    rtol: float = F64_RTOL


VECTOR = [
    VectorCase("Categorical", lambda rng, b, k: {"probs": _random_simplex(rng, (*b, k))},
               lambda rng, b, k: rng.integers(0, k, size=b).astype(np.int64), ("log_prob", "entropy", "mode")),
    VectorCase("Categorical", lambda rng, b, k: {"logits": rng.normal(size=(*b, k))},
               lambda rng, b, k: rng.integers(0, k, size=b).astype(np.int64), ("log_prob", "entropy", "mode")),
    VectorCase("OneHotCategorical", lambda rng, b, k: {"logits": rng.normal(size=(*b, k))},
               lambda rng, b, k: np.eye(k)[rng.integers(0, k, size=b)],
               ("log_prob", "entropy", "mean", "mode", "variance")),
    VectorCase("Dirichlet", lambda rng, b, k: {"concentration": rng.uniform(0.5, 3.0, size=(*b, k))},
               lambda rng, b, k: _random_simplex(rng, (*b, k)),
               ("log_prob", "entropy", "mean", "mode", "variance"), F64_RTOL_GAMMA),
    VectorCase("MultivariateNormal",
               lambda rng, b, k: {"loc": rng.normal(size=(*b, k)), "covariance_matrix": _random_spd(rng, b, k)},
               lambda rng, b, k: rng.normal(size=(*b, k)), ("log_prob", "entropy", "mean", "variance")),
    VectorCase("MultivariateNormal",
               lambda rng, b, k: {"loc": rng.normal(size=(k,)),
                                  "scale_tril": np.linalg.cholesky(_random_spd(rng, b, k))},
               lambda rng, b, k: rng.normal(size=(*b, k)), ("log_prob", "entropy", "mean", "variance")),
    VectorCase("MultivariateNormal",
               lambda rng, b, k: {"loc": rng.normal(size=(*b, k)), "precision_matrix": _random_spd(rng, (), k)},
               lambda rng, b, k: rng.normal(size=(k,)), ("log_prob", "entropy", "mean", "variance"), 1e-9),
    VectorCase("RelaxedOneHotCategorical",
               lambda rng, b, k: {"temperature": np.array(0.7), "logits": rng.normal(size=(*b, k))},
               lambda rng, b, k: _random_simplex(rng, (*b, k)), ("log_prob",), F64_RTOL_GAMMA),
]


@pytest.mark.parametrize("case", VECTOR, ids=lambda c: c.name + "-" + "-".join(c.make(np.random.default_rng(0),
                                                                                         (), 2)))
@settings(max_examples=5)
@given(batch=st.lists(st.integers(1, 3), max_size=2).map(tuple), k=st.integers(2, 4),
       seed=st.integers(0, 2**32 - 1))
def test_vector_distributions_match_torch(case: VectorCase, batch: tuple, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = case.make(rng, batch, k)
    value = case.value(rng, batch, k)
    grad_names = [n for n in arrays if n != "temperature"]
    for method in case.methods:
        ours_p = {n: tg.tensor(a, requires_grad=n in grad_names) for n, a in arrays.items()}
        theirs_p = {n: torch.tensor(a, requires_grad=n in grad_names) for n, a in arrays.items()}
        ours_d, theirs_d = getattr(D, case.name)(**ours_p), getattr(TD, case.name)(**theirs_p)
        assert ours_d.batch_shape == tuple(theirs_d.batch_shape)
        assert ours_d.event_shape == tuple(theirs_d.event_shape)
        ours, theirs = _evaluate(ours_d, method, tg.tensor(value)), _evaluate(theirs_d, method, torch.tensor(value))
        _close(ours, theirs, case.rtol, 1e-12, f"{case.name}.{method}")
        if method in ("log_prob", "entropy", "mean", "variance") and theirs.requires_grad:
            weights = rng.uniform(0.5, 1.5, size=theirs.shape)
            g_ours = tg.autograd.grad((ours * tg.tensor(weights)).sum(), [ours_p[n] for n in grad_names],
                                      allow_unused=True)
            g_theirs = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), [theirs_p[n] for n in grad_names],
                                           allow_unused=True)
            for name, a, b in zip(grad_names, g_ours, g_theirs):
                if b is None:
                    continue
                _close(a, b, 1e-7, 1e-8, f"{case.name}.{method} d/d{name}")
        f32 = {n: tg.tensor(a.astype(np.float32)) for n, a in arrays.items()}
        th32 = {n: torch.tensor(a.astype(np.float32)) for n, a in arrays.items()}
        value32 = value if value.dtype == np.int64 else value.astype(np.float32)
        ours32 = _evaluate(getattr(D, case.name)(**f32), method, tg.tensor(value32))
        theirs32 = _evaluate(getattr(TD, case.name)(**th32), method, torch.tensor(value32))
        if method != "mode":
            assert ours32.dtype == tg.float32
        _close(ours32, theirs32, 5e-5, 1e-5, f"{case.name}.{method} float32")


def test_dirichlet_mode_with_all_concentrations_below_one_is_a_vertex() -> None:
    alpha = np.array([[0.3, 0.6, 0.5], [2.0, 3.0, 1.5]])
    _close(D.Dirichlet(tg.tensor(alpha)).mode, TD.Dirichlet(torch.tensor(alpha)).mode, 1e-12)


@pytest.mark.parametrize("name,params", [("Bernoulli", dict(probs=[0.2, 0.9])),
                                         ("Binomial", dict(total_count=4.0, probs=[0.2, 0.9])),
                                         ("OneHotCategorical", dict(logits=[[0.1, 0.5, -1.0], [2.0, 0.0, 0.3]]))])
def test_enumerate_support_matches_torch(name: str, params: dict) -> None:
    ours = getattr(D, name)(**{k: tg.tensor(np.array(v)) for k, v in params.items()})
    theirs = getattr(TD, name)(**{k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()})
    for expand in (True, False):
        _close(ours.enumerate_support(expand), theirs.enumerate_support(expand), 0)
    support = theirs.enumerate_support()
    _close(ours.log_prob(tg.tensor(support.numpy())), theirs.log_prob(support), 1e-10)


def test_categorical_enumerate_support_and_zero_probabilities() -> None:
    probs = np.array([[0.0, 0.3, 0.7], [0.5, 0.5, 0.0]])
    ours, theirs = D.Categorical(tg.tensor(probs)), TD.Categorical(torch.tensor(probs))
    _close(ours.entropy(), theirs.entropy(), 1e-12)
    support = theirs.enumerate_support()
    assert ours.enumerate_support().shape == tuple(support.shape)
    _close(ours.log_prob(tg.tensor(support.numpy())), theirs.log_prob(support), 1e-12)
    _close(ours.enumerate_support(expand=False), theirs.enumerate_support(expand=False), 0)


# -- combinators ------------------------------------------------------------------------------------------
def test_independent_mixture_and_transformed_match_torch() -> None:
    rng = np.random.default_rng(3)
    loc, scale = rng.normal(size=(2, 3, 4)), rng.uniform(0.5, 2, size=(2, 3, 4))
    value = rng.normal(size=(5, 2, 3, 4))
    ours = D.Independent(D.Normal(tg.tensor(loc), tg.tensor(scale)), 2)
    theirs = TD.Independent(TD.Normal(torch.tensor(loc), torch.tensor(scale)), 2)
    assert (ours.batch_shape, ours.event_shape) == ((2,), (3, 4))
    _close(ours.log_prob(tg.tensor(value)), theirs.log_prob(torch.tensor(value)), F64_RTOL)
    _close(ours.entropy(), theirs.entropy(), F64_RTOL)
    _close(ours.variance, theirs.variance, F64_RTOL)
    assert ours.has_rsample and ours.rsample((7,)).shape == (7, 2, 3, 4)

    logits = rng.normal(size=(2, 3))
    comp_loc, comp_scale = rng.normal(size=(2, 3)), rng.uniform(0.5, 2, size=(2, 3))
    x = rng.normal(size=(4, 2))
    p_logits = tg.tensor(logits, requires_grad=True)
    p_loc = tg.tensor(comp_loc, requires_grad=True)
    t_logits, t_loc = torch.tensor(logits, requires_grad=True), torch.tensor(comp_loc, requires_grad=True)
    ours = D.MixtureSameFamily(D.Categorical(logits=p_logits), D.Normal(p_loc, tg.tensor(comp_scale)))
    theirs = TD.MixtureSameFamily(TD.Categorical(logits=t_logits), TD.Normal(t_loc, torch.tensor(comp_scale)))
    for method in ("log_prob", "cdf", "mean", "variance"):
        a, b = _evaluate(ours, method, tg.tensor(x)), _evaluate(theirs, method, torch.tensor(x))
        _close(a, b, F64_RTOL, 0, f"mixture.{method}")
        ga = tg.autograd.grad(a.sum(), [p_logits, p_loc], retain_graph=True)
        gb = torch.autograd.grad(b.sum(), [t_logits, t_loc], retain_graph=True)
        for u, v in zip(ga, gb):
            _close(u, v, GRAD_RTOL, 1e-12, f"mixture.{method} grad")
    assert ours.sample((6,)).shape == (6, 2)

    vector_components = D.Independent(D.Normal(tg.tensor(rng.normal(size=(2, 3, 2))), 1.0), 1)
    mvn_mix = D.MixtureSameFamily(D.Categorical(logits=tg.tensor(logits)), vector_components)
    assert mvn_mix.event_shape == (2,) and mvn_mix.sample((5,)).shape == (5, 2, 2)

    base_loc = rng.normal(size=3)
    y = rng.uniform(-0.9, 0.9, size=(2, 3))
    transforms = [D.AffineTransform(0.5, 2.0), D.TanhTransform()]
    ours = D.TransformedDistribution(D.Normal(tg.tensor(base_loc), 1.0), transforms)
    theirs = TD.TransformedDistribution(TD.Normal(torch.tensor(base_loc), 1.0),
                                        [TD.AffineTransform(0.5, 2.0), TD.TanhTransform()])
    _close(ours.log_prob(tg.tensor(y)), theirs.log_prob(torch.tensor(y)), 1e-9)
    _close(ours.cdf(tg.tensor(y)), theirs.cdf(torch.tensor(y)), 1e-9)
    decreasing_ours = D.TransformedDistribution(D.Normal(tg.tensor(base_loc), 1.0),
                                                [D.AffineTransform(0.0, -1.5), D.SigmoidTransform()])
    decreasing_theirs = TD.TransformedDistribution(TD.Normal(torch.tensor(base_loc), 1.0),
                                                   [TD.AffineTransform(0.0, -1.5), TD.SigmoidTransform()])
    u = rng.uniform(0.1, 0.9, size=(2, 3))
    _close(decreasing_ours.log_prob(tg.tensor(u)), decreasing_theirs.log_prob(torch.tensor(u)), 1e-9)
    _close(decreasing_ours.cdf(tg.tensor(u)), decreasing_theirs.cdf(torch.tensor(u)), 1e-9)
    _close(decreasing_ours.icdf(tg.tensor(u)), decreasing_theirs.icdf(torch.tensor(u)), 1e-9)


def test_transforms_match_torch() -> None:
    x = np.linspace(-3, 3, 13)
    pairs = [(D.ExpTransform(), TD.ExpTransform()), (D.SigmoidTransform(), TD.SigmoidTransform()),
             (D.TanhTransform(), TD.TanhTransform()), (D.AffineTransform(1.0, -2.0), TD.AffineTransform(1.0, -2.0)),
             (D.ComposeTransform([D.AffineTransform(0.3, 0.5), D.ExpTransform()]),
              TD.ComposeTransform([TD.AffineTransform(0.3, 0.5), TD.ExpTransform()]))]
    for ours, theirs in pairs:
        ours_y, theirs_y = ours(tg.tensor(x)), theirs(torch.tensor(x))
        _close(ours_y, theirs_y, 1e-12, 0, repr(ours))
        _close(ours.inv(ours_y), theirs.inv(theirs_y), 1e-9, 1e-12, repr(ours))
        _close(ours.log_abs_det_jacobian(tg.tensor(x), ours_y),
               theirs.log_abs_det_jacobian(torch.tensor(x), theirs_y), 1e-10, 1e-12, repr(ours))
        assert ours.sign == theirs.sign
    assert D.ExpTransform() == D.ExpTransform() and D.ExpTransform() != D.TanhTransform()


# -- reparameterised sampling: our sample, the same noise through PyTorch's formula --------------------------
def _rsample_grads(dist_tg: Any, params_tg: list, draw: np.ndarray, torch_path: Callable, params_np: list,
                   weights: np.ndarray, what: str) -> None:
    """Compare ∂Σ w·x²/∂θ: ours through rsample, PyTorch's through ``torch_path(params, draw)`` (same x)."""
    theirs_params = [torch.tensor(p, requires_grad=True) for p in params_np]
    theirs_x = torch_path(*theirs_params, torch.tensor(draw))
    np.testing.assert_allclose(theirs_x.detach().numpy(), draw, rtol=1e-9, err_msg=what + " value")
    g_theirs = torch.autograd.grad((torch.tensor(weights) * theirs_x ** 2).sum(), theirs_params)
    return g_theirs


@pytest.mark.parametrize("name", ["Normal", "Laplace", "Cauchy", "Uniform", "Exponential", "HalfNormal", "LogNormal",
                                  "MultivariateNormal", "RelaxedBernoulli", "RelaxedOneHotCategorical"])
def test_rsample_gradients_match_torch_on_the_same_noise(name: str) -> None:
    rng = np.random.default_rng(11)
    tg.manual_seed(5)
    a, b = rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
    # (tg constructor args, torch path: params, x → the same x as a function of params with noise recovered from x)
    cases: dict[str, tuple[list, Callable, Callable]] = {
        "Normal": ([a, b], D.Normal, lambda m, s, x: m + s * ((x - m) / s).detach()),
        "Laplace": ([a, b], D.Laplace, lambda m, s, x: m + s * ((x - m) / s).detach()),
        "Cauchy": ([a, b], D.Cauchy, lambda m, s, x: m + s * ((x - m) / s).detach()),
        "Uniform": ([a, a + b], D.Uniform, lambda lo, hi, x: lo + (hi - lo) * ((x - lo) / (hi - lo)).detach()),
        "Exponential": ([b], D.Exponential, lambda r, x: (x * r).detach() / r),
        "HalfNormal": ([b], D.HalfNormal, lambda s, x: s * (x / s).detach()),
        "LogNormal": ([a, b], D.LogNormal, lambda m, s, x: (m + s * ((x.log() - m) / s).detach()).exp()),
        "RelaxedBernoulli": ([np.array(0.6), a], lambda t, lg: D.RelaxedBernoulli(t, logits=lg),
                             lambda t, lg, x: ((lg + (t * torch.logit(x) - lg).detach()) / t).sigmoid()),
    }
    weights = rng.uniform(0.5, 1.5, size=(4, 3))
    if name == "MultivariateNormal":
        cov = _random_spd(rng, (), 3)
        params = [a, np.linalg.cholesky(cov)]
        ours_p = [tg.tensor(p, requires_grad=True) for p in params]
        x = D.MultivariateNormal(ours_p[0], scale_tril=ours_p[1]).rsample((4,))

        def path(m, L, x):  # x = μ + L ε with ε = L⁻¹(x − μ) held fixed
            eps = torch.linalg.solve_triangular(L, (x - m).unsqueeze(-1), upper=False).squeeze(-1).detach()
            return m + (L @ eps.unsqueeze(-1)).squeeze(-1)
    elif name == "RelaxedOneHotCategorical":
        params = [np.array(0.6), rng.normal(size=(2, 3))]
        weights = rng.uniform(0.5, 1.5, size=(4, 2, 3))
        ours_p = [tg.tensor(params[0]), tg.tensor(params[1], requires_grad=True)]
        x = D.RelaxedOneHotCategorical(ours_p[0], logits=ours_p[1]).rsample((4,))

        def path(t, lg, x):  # y = softmax((logits + g)/τ) with g = τ log y − logits held fixed (up to a constant)
            return ((lg + (t * x.log() - lg).detach()) / t).softmax(-1)
    else:
        params, ctor, path = cases[name]
        ours_p = [tg.tensor(p, requires_grad=True) for p in params]
        if name == "RelaxedBernoulli":
            ours_p[0] = tg.tensor(params[0])
        x = ctor(*ours_p).rsample((4,))
    assert x.shape == tuple(weights.shape)
    g_theirs = _rsample_grads(None, ours_p, x.detach().numpy(), path, params, weights, name)
    grad_params = [p for p in ours_p if p.requires_grad]
    g_ours = tg.autograd.grad((tg.tensor(weights) * x ** 2).sum(), grad_params)
    theirs_used = [g for p, g in zip(ours_p, g_theirs) if p.requires_grad]
    for ours_g, theirs_g in zip(g_ours, theirs_used):
        _close(ours_g, theirs_g, 1e-9, 1e-12, f"{name} rsample grad")


def test_gamma_sampler_implicit_derivative() -> None:
    """∂x/∂α of our gamma sampler: PyTorch's _standard_gamma_grad (an approximation, good to ~1e-4) and
    the implicit-function formula checked against central differences of tg's regularised incomplete gamma
    (PyTorch's gammainc is too inaccurate at α = 20 for this check)."""
    from tinygrad_edu.distributions.gamma import standard_gamma_grad

    alpha = np.array([0.3, 0.7, 1.0, 2.5, 7.0, 20.0])
    x = np.array([0.02, 0.5, 1.5, 2.0, 9.0, 18.0])
    ours = standard_gamma_grad(alpha, x)
    theirs = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-4)
    h = 1e-6
    cdf = lambda a, v: tg.tensor(a).igamma(tg.tensor(v)).numpy()  # noqa: E731
    density = np.exp((alpha - 1) * np.log(x) - x - torch.lgamma(torch.tensor(alpha)).numpy())
    dcdf_dalpha = (cdf(alpha + h, x) - cdf(alpha - h, x)) / (2 * h)
    np.testing.assert_allclose(ours, -dcdf_dalpha / density, rtol=1e-6)

    tg.manual_seed(0)
    concentration = tg.tensor(np.array([0.8, 3.0]), requires_grad=True)
    rate = tg.tensor(np.array([2.0, 0.5]), requires_grad=True)
    sample = D.Gamma(concentration, rate).rsample((5,))
    (g_alpha, g_rate) = tg.autograd.grad(sample.sum(), [concentration, rate])
    a_t, r_t = torch.tensor([0.8, 3.0], dtype=torch.float64), torch.tensor([2.0, 0.5], dtype=torch.float64)
    standard = torch.tensor(sample.detach().numpy()) * r_t.detach()      # the standard-gamma draws X = x·β
    dx_dalpha = torch._standard_gamma_grad(a_t.detach().expand(5, 2), standard)
    np.testing.assert_allclose(g_alpha.numpy(), (dx_dalpha / r_t.detach()).sum(0).numpy(), rtol=2e-4)
    np.testing.assert_allclose(g_rate.numpy(), (-standard / r_t.detach() ** 2).sum(0).numpy(), rtol=1e-10)


def test_gamma_family_rsample_gradients_are_unbiased() -> None:
    """E[∂f(x)/∂θ] = ∂E[f(x)]/∂θ for the implicitly reparameterised samplers (Monte-Carlo averages):
    Dirichlet and Beta (E[x₀] = α₀/Σα), Gamma (E[x²] = α(α+1)/β²), StudentT (E[x²] = ν/(ν−2))."""
    tg.manual_seed(1)
    alpha = tg.tensor(np.array([1.5, 2.0, 3.5]), requires_grad=True)
    sample = D.Dirichlet(alpha).rsample((4000,))
    (g,) = tg.autograd.grad(sample[:, 0].mean(), [alpha])
    total = 7.0
    exact = np.array([1 / total - 1.5 / total ** 2, -1.5 / total ** 2, -1.5 / total ** 2])
    np.testing.assert_allclose(g.numpy(), exact, atol=0.01)
    assert abs(sample.detach().sum(-1).numpy() - 1).max() < 1e-12
    a, b = tg.tensor(2.0, dtype=tg.float64, requires_grad=True), tg.tensor(3.0, dtype=tg.float64, requires_grad=True)
    beta = D.Beta(a, b).rsample((4000,))
    grads = tg.autograd.grad(beta.mean(), [a, b])
    np.testing.assert_allclose([grads[0].item(), grads[1].item()], [3 / 25, -2 / 25], atol=0.01)
    concentration = tg.tensor(2.5, dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad((D.Gamma(concentration, 2.0).rsample((40000,)) ** 2).mean(), [concentration])
    assert g.item() == pytest.approx((2 * 2.5 + 1) / 4, abs=0.03)
    df = tg.tensor(10.0, dtype=tg.float64, requires_grad=True)
    (g,) = tg.autograd.grad((D.StudentT(df).rsample((40000,)) ** 2).mean(), [df])
    assert g.item() == pytest.approx(-2 / (10.0 - 2) ** 2, abs=0.0035)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_samples_keep_the_parameters_dtype(dtype: str) -> None:
    one = tg.tensor(1.0, dtype=getattr(tg, dtype))
    cases = [D.Normal(0 * one, one), D.Gamma(2 * one, one), D.Beta(one, 2 * one), D.Dirichlet(one.expand(3)),
             D.StudentT(3 * one), D.Laplace(0 * one, one), D.Cauchy(0 * one, one), D.Uniform(0 * one, one),
             D.Exponential(one), D.HalfNormal(one), D.LogNormal(0 * one, one), D.Poisson(one),
             D.Binomial(3, one / 2), D.Geometric(one / 2), D.Bernoulli(one / 2), D.OneHotCategorical(one.expand(3)),
             D.MultivariateNormal(0 * one.expand(2), scale_tril=tg.eye(2, dtype=one.dtype)),
             D.RelaxedBernoulli(one / 2, one / 3), D.RelaxedOneHotCategorical(one / 2, logits=one.expand(3))]
    for dist in cases:
        assert dist.sample((2,)).dtype == one.dtype, type(dist).__name__
    assert D.Categorical(one.expand(3)).sample((2,)).dtype == tg.int64


def test_log_probs_stay_finite_at_extreme_logits() -> None:
    """Parametrised by logits, log-probabilities use log-sum-exp forms: no log(0) where p rounds to 0 or 1."""
    logits, value = [-100.0, 100.0, 30.0], [1.0, 0.0, 1.0]
    for dtype in (np.float32, np.float64):
        ours = D.Bernoulli(logits=tg.tensor(np.array(logits, dtype))).log_prob(tg.tensor(np.array(value, dtype)))
        theirs = TD.Bernoulli(logits=torch.tensor(np.array(logits, dtype))).log_prob(torch.tensor(np.array(value,
                                                                                                          dtype)))
        _close(ours, theirs, 1e-6)
        assert np.isfinite(ours.numpy()).all()
    big = np.array([[0.0, -1e4, 50.0]])
    ours_cat, theirs_cat = D.Categorical(logits=tg.tensor(big)), TD.Categorical(logits=torch.tensor(big))
    _close(ours_cat.log_prob(tg.tensor([1])), theirs_cat.log_prob(torch.tensor([1])), 1e-12)
    _close(ours_cat.entropy(), theirs_cat.entropy(), 1e-10, 1e-300)


# -- sampling statistics ---------------------------------------------------------------------------------------
STAT_CASES = [
    ("Normal", dict(loc=[0.5, -2.0], scale=[1.0, 3.0])),
    ("HalfNormal", dict(scale=[0.5, 2.0])),
    ("LogNormal", dict(loc=[0.0, 0.5], scale=[0.25, 0.5])),
    ("Uniform", dict(low=[-1.0, 2.0], high=[1.0, 5.0])),
    ("Exponential", dict(rate=[0.5, 3.0])),
    ("Laplace", dict(loc=[1.0, -1.0], scale=[0.5, 2.0])),
    ("StudentT", dict(df=[6.0, 10.0], loc=[0.0, 2.0], scale=[1.0, 0.5])),
    ("Gamma", dict(concentration=[0.5, 4.0], rate=[2.0, 0.5])),
    ("Beta", dict(concentration1=[0.5, 3.0], concentration0=[2.0, 1.5])),
    ("Bernoulli", dict(probs=[0.2, 0.7])),
    ("Geometric", dict(probs=[0.3, 0.8])),
    ("Poisson", dict(rate=[0.7, 6.0])),
    ("Binomial", dict(total_count=[5.0, 20.0], probs=[0.3, 0.6])),
    ("Categorical", dict(probs=[[0.2, 0.5, 0.3]])),
    ("OneHotCategorical", dict(probs=[[0.2, 0.5, 0.3]])),
    ("Dirichlet", dict(concentration=[[0.5, 2.0, 3.0]])),
    ("MultivariateNormal", dict(loc=[1.0, -1.0], covariance_matrix=[[2.0, 0.6], [0.6, 0.5]])),
]


@pytest.mark.parametrize("name,params", STAT_CASES, ids=[c[0] for c in STAT_CASES])
def test_sample_mean_and_variance(name: str, params: dict) -> None:
    """With n = 20000 draws, the sample mean lies within 5 standard errors of the true mean and the
    sample variance within 8 % (a wrong rate/scale convention or a missing square root fails both)."""
    n = 20000
    tg.manual_seed(1234)
    ours = getattr(D, name)(**{k: tg.tensor(np.array(v)) for k, v in params.items()})
    theirs = getattr(TD, name)(**{k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()})
    draws = ours.sample((n,))
    assert draws.shape == (n, *tuple(theirs.batch_shape), *tuple(theirs.event_shape))
    assert not draws.requires_grad
    values = draws.numpy().astype(np.float64)
    if name == "Categorical":
        counts = np.bincount(values.ravel().astype(int), minlength=3) / n
        np.testing.assert_allclose(counts, theirs.probs.numpy().ravel(), atol=0.015)
        return
    mean, var = theirs.mean.numpy(), theirs.variance.numpy()
    assert np.all(np.abs(values.mean(0) - mean) < 5 * np.sqrt(var / n)), (values.mean(0), mean)
    np.testing.assert_allclose(values.var(0), var, rtol=0.08)
    assert bool(np.all(theirs.support.check(torch.tensor(values)).numpy()))


def test_rsample_sample_shapes_and_seed() -> None:
    d = D.Normal(tg.zeros(3, dtype=tg.float32), tg.ones(2, 1, dtype=tg.float32))
    assert d.batch_shape == (2, 3) and d.rsample((4, 5)).shape == (4, 5, 2, 3)
    assert d.sample().dtype == tg.float32
    tg.manual_seed(7)
    first = d.sample((3,)).numpy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(first, d.sample((3,)).numpy())
    with pytest.raises(NotImplementedError):
        D.Bernoulli(tg.tensor([0.5])).rsample()
    assert D.Gamma(1.0, 1.0).has_rsample and D.Dirichlet(tg.tensor([1.0, 2.0])).has_rsample
    assert not D.Categorical(tg.tensor([0.5, 0.5])).has_rsample


# -- KL divergence ---------------------------------------------------------------------------------------------
KL_PAIRS = [
    ("Normal", {"loc": real, "scale": positive}, "Normal", {"loc": real, "scale": positive}),
    ("HalfNormal", {"scale": positive}, "HalfNormal", {"scale": positive}),
    ("LogNormal", {"loc": real, "scale": positive}, "LogNormal", {"loc": real, "scale": positive}),
    ("Bernoulli", {"probs": unit}, "Bernoulli", {"logits": real}),
    ("Geometric", {"probs": unit}, "Geometric", {"probs": unit}),
    ("Poisson", {"rate": positive}, "Poisson", {"rate": positive}),
    ("Binomial", {"total_count": fixed(5.0), "probs": unit}, "Binomial", {"total_count": fixed(5.0), "probs": unit}),
    ("Uniform", {"low": between(-1, -0.5), "high": between(0.5, 1)}, "Uniform",
     {"low": between(-3, -1.5), "high": between(1.5, 3)}),
    ("Exponential", {"rate": positive}, "Exponential", {"rate": positive}),
    ("Laplace", {"loc": real, "scale": positive}, "Laplace", {"loc": real, "scale": positive}),
    ("Cauchy", {"loc": real, "scale": positive}, "Cauchy", {"loc": real, "scale": positive}),
    ("Gamma", {"concentration": positive, "rate": positive}, "Gamma", {"concentration": positive, "rate": positive}),
    ("Beta", {"concentration1": positive, "concentration0": positive}, "Beta",
     {"concentration1": positive, "concentration0": positive}),
    ("Exponential", {"rate": positive}, "Gamma", {"concentration": positive, "rate": positive}),
    ("Gamma", {"concentration": positive, "rate": positive}, "Exponential", {"rate": positive}),
    ("Exponential", {"rate": positive}, "Normal", {"loc": real, "scale": positive}),
    ("Uniform", {"low": between(-1, -0.5), "high": between(0.5, 1)}, "Normal", {"loc": real, "scale": positive}),
    ("Uniform", {"low": between(0.1, 0.5), "high": between(0.6, 1)}, "Exponential", {"rate": positive}),
]


MASKED_KL = {("Bernoulli", "Bernoulli"), ("Uniform", "Uniform"), ("Uniform", "Exponential"), ("Binomial", "Binomial")}


@pytest.mark.parametrize("p_name,p_params,q_name,q_params", KL_PAIRS,
                         ids=[f"{a}-{c}" for a, _, c, _ in KL_PAIRS])
@settings(max_examples=4)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_kl_divergence_univariate_matches_torch(p_name: str, p_params: dict, q_name: str, q_params: dict,
                                               data: Any, seed: int) -> None:
    names = tuple("p_" + k for k in p_params) + tuple("q_" + k for k in q_params)
    shapes, _ = data.draw(shapes_for(names))
    if (p_name, q_name) in MASKED_KL:  # PyTorch's masked assignments fail unless p and q have one shape
        shapes = dict.fromkeys(names, shapes[names[0]])
    rng = np.random.default_rng(seed)
    arrays = {n: (p_params if n.startswith("p_") else q_params)[n[2:]](
        rng, () if n.endswith("total_count") else shapes[n]) for n in names}
    grad = {n for n in names if not n.endswith("total_count")}
    ours_t = {n: tg.tensor(a, requires_grad=n in grad) for n, a in arrays.items()}
    theirs_t = {n: torch.tensor(a, requires_grad=n in grad) for n, a in arrays.items()}

    def build(module: Any, tensors: dict) -> tuple:
        p = getattr(module, p_name)(**{n[2:]: t for n, t in tensors.items() if n.startswith("p_")})
        q = getattr(module, q_name)(**{n[2:]: t for n, t in tensors.items() if n.startswith("q_")})
        return p, q

    ours = D.kl_divergence(*build(D, ours_t))
    theirs = TD.kl_divergence(*build(TD, theirs_t))
    _close(ours, theirs, F64_RTOL_GAMMA, 1e-12, f"KL({p_name}||{q_name})")
    _compare_grads(Spec("kl", {}, real, rtol=F64_RTOL_GAMMA), ours, theirs, ours_t, theirs_t, rng,
                   f"KL({p_name}||{q_name})")
    ours32 = D.kl_divergence(*build(D, {n: tg.tensor(a.astype(np.float32)) for n, a in arrays.items()}))
    theirs32 = TD.kl_divergence(*build(TD, {n: torch.tensor(a.astype(np.float32)) for n, a in arrays.items()}))
    assert ours32.dtype == tg.float32
    _close(ours32, theirs32, 5e-5, 1e-5, f"KL({p_name}||{q_name}) float32")


def _like(reference: Any, array: np.ndarray) -> Any:
    """``array`` as a constant of the same library as ``reference`` (tg or torch)."""
    return tg.tensor(array) if isinstance(reference, tg.Tensor) else torch.tensor(array)


@pytest.mark.parametrize("kind", ["Categorical", "OneHotCategorical", "Dirichlet", "MultivariateNormal",
                                  "Independent"])
def test_kl_divergence_vector_pairs_match_torch(kind: str) -> None:
    rng = np.random.default_rng(len(kind))
    if kind in ("Categorical", "OneHotCategorical"):
        arrays = [_random_simplex(rng, (2, 4)), rng.normal(size=(3, 1, 4))]
        make = {"p": lambda m, a: getattr(m, kind)(probs=a), "q": lambda m, a: getattr(m, kind)(logits=a)}
    elif kind == "Dirichlet":
        arrays = [rng.uniform(0.5, 3, size=(2, 3)), rng.uniform(0.5, 3, size=(3,))]
        make = {"p": lambda m, a: m.Dirichlet(a), "q": lambda m, a: m.Dirichlet(a)}
    elif kind == "Independent":
        arrays = [rng.normal(size=(2, 3)), rng.normal(size=(2, 3))]
        make = {"p": lambda m, a: m.Independent(m.Normal(a, 1.5), 1),
                "q": lambda m, a: m.Independent(m.Normal(a, 0.5), 1)}
    else:
        arrays = [np.linalg.cholesky(_random_spd(rng, (2,), 3)), _random_spd(rng, (), 3)]
        p_loc, q_loc = rng.normal(size=3), rng.normal(size=(2, 3))
        make = {"p": lambda m, a: m.MultivariateNormal(_like(a, p_loc), scale_tril=a),
                "q": lambda m, a: m.MultivariateNormal(_like(a, q_loc), covariance_matrix=a)}
    ours_t = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs_t = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = D.kl_divergence(make["p"](D, ours_t[0]), make["q"](D, ours_t[1]))
    theirs = TD.kl_divergence(make["p"](TD, theirs_t[0]), make["q"](TD, theirs_t[1]))
    _close(ours, theirs, 1e-9, 1e-12, kind)
    for a, b in zip(tg.autograd.grad(ours.sum(), ours_t), torch.autograd.grad(theirs.sum(), theirs_t)):
        _close(a, b, 1e-8, 1e-12, kind + " grad")


def test_kl_special_cases_and_registry() -> None:
    p, q = D.Bernoulli(tg.tensor([0.0, 1.0, 0.3])), D.Bernoulli(tg.tensor([0.5, 0.0, 1.0]))
    tp, tq = TD.Bernoulli(torch.tensor([0.0, 1.0, 0.3])), TD.Bernoulli(torch.tensor([0.5, 0.0, 1.0]))
    _close(D.kl_divergence(p, q), TD.kl_divergence(tp, tq), 1e-6)
    _close(D.kl_divergence(D.Uniform(0.0, 2.0), D.Uniform(0.5, 3.0)),
           TD.kl_divergence(TD.Uniform(0.0, 2.0), TD.Uniform(0.5, 3.0)), 0)
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and q type "
                                                  "Categorical"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Categorical(tg.ones(3)))
    with pytest.raises(NotImplementedError, match="cross KL-divergence between different exponential families"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(0.5))    # as torch: the (ExponentialFamily, ...) pair

    class Shifted(D.Normal):
        pass

    assert D.kl_divergence(Shifted(0.0, 1.0), D.Normal(1.0, 1.0)).item() == pytest.approx(0.5)

    @D.register_kl(Shifted, D.Normal)
    def _kl_shifted(p: Any, q: Any) -> tg.Tensor:
        return tg.tensor(42.0)

    assert D.kl_divergence(Shifted(0.0, 1.0), D.Normal(1.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0)).item() == pytest.approx(0.5)


# -- validation ------------------------------------------------------------------------------------------------
def _messages(make: Callable) -> tuple[str, str]:
    """The ValueError messages of ``make(tg)`` and ``make(torch)``."""
    with pytest.raises(ValueError) as ours_error:
        make(tg)
    with pytest.raises(ValueError) as theirs_error:
        make(torch)
    return str(ours_error.value), str(theirs_error.value)


def _shape_free(message: str) -> str:
    """torch prints torch.Size([2]) where we print (2,); compare the rest of the text."""
    return message.replace("torch.Size([", "(").replace("])", ",)").split("\n")[0]


def test_validate_args_errors_match_torch() -> None:
    cases = [
        (lambda m: m.distributions.Normal(m.tensor([0.0, 1.0]), m.tensor([1.0, -1.0])),
         "Expected parameter scale (Tensor of shape (2,)) of distribution Normal("),
        (lambda m: m.distributions.Bernoulli(probs=m.tensor([1.5])), "Expected parameter probs"),
        (lambda m: m.distributions.Categorical(probs=m.tensor([[-0.5, 1.5]])), "Expected parameter probs"),
        (lambda m: m.distributions.Uniform(m.tensor([2.0]), m.tensor([1.0])),
         "Expected parameter low (Tensor of shape (1,)) of distribution Uniform(low: tensor([2.,), high: "),
        (lambda m: m.distributions.Bernoulli(probs=m.tensor([0.5]), logits=m.tensor([0.0])),
         "Either `probs` or `logits` must be specified, but not both."),
        (lambda m: m.distributions.Independent(m.distributions.Normal(0.0, 1.0), 1),
         "Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), actual 1 vs 0"),
        (lambda m: m.distributions.MultivariateNormal(m.zeros(2)),
         "Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified."),
        (lambda m: m.distributions.MultivariateNormal(m.zeros(2), covariance_matrix=m.tensor([[1.0, 2.0], [2.0, 1.0]])),
         "Expected parameter covariance_matrix"),
        (lambda m: m.distributions.Exponential(m.tensor([1.0])).log_prob(m.tensor([-1.0])),
         "Expected value argument (Tensor of shape (1,)) to be within the support (GreaterThanEq(lower_bound=0.0)) "
         "of the distribution Exponential(rate: "),
        (lambda m: m.distributions.Bernoulli(m.tensor([0.5])).log_prob(m.tensor([0.5])),
         "Expected value argument (Tensor of shape (1,)) to be within the support (Boolean()) "),
        (lambda m: m.distributions.Normal(m.zeros(3), 1.0).log_prob(m.zeros(2)),
         "Value is not broadcastable with batch_shape+event_shape: (2,) vs (3,)."),
        (lambda m: m.distributions.Dirichlet(m.ones(3)).log_prob(m.ones(2) / 2),
         "The right-most size of value must match event_shape: (2,) vs (3,)."),
        (lambda m: m.distributions.Dirichlet(m.ones(3)).log_prob(m.tensor([0.5, 0.6, 0.1])),
         "Expected value argument (Tensor of shape (3,)) to be within the support (Simplex())"),
        (lambda m: m.distributions.Categorical(logits=m.zeros(3)).log_prob(m.tensor([3])),
         "Expected value argument (Tensor of shape (1,)) to be within the support "
         "(IntegerInterval(lower_bound=0, upper_bound=2))"),
    ]
    for make, expected in cases:
        ours, theirs = _messages(make)
        assert _shape_free(ours).startswith(expected), ours
        assert _shape_free(theirs).startswith(expected), theirs
    # with validation off, the same calls go through (as in PyTorch)
    assert D.Normal(tg.tensor([0.0]), tg.tensor([-1.0]), validate_args=False).batch_shape == (1,)
    assert np.isnan(D.Exponential(tg.tensor([1.0]), validate_args=False).log_prob(tg.tensor([-1.0])).numpy()).sum() == 0
    D.Distribution.set_default_validate_args(False)
    try:
        D.Normal(0.0, -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)


def test_repr_support_and_arg_constraints_match_torch() -> None:
    for name, args in [("Normal", (0.0, 1.0)), ("Gamma", (1.0, 2.0)), ("Beta", (1.0, 2.0)), ("Exponential", (1.0,)),
                       ("Poisson", (2.0,)), ("Laplace", (0.0, 1.0)), ("HalfNormal", (1.0,)), ("StudentT", (3.0,))]:
        ours, theirs = getattr(D, name)(*args), getattr(TD, name)(*args)
        assert repr(ours.support) == repr(theirs.support), name
        assert {k: repr(v) for k, v in ours.arg_constraints.items()} == \
            {k: repr(v) for k, v in theirs.arg_constraints.items()}, name
    assert repr(D.Uniform(0.0, 2.0).support).startswith("Interval(lower_bound=")
    assert repr(D.Dirichlet(tg.ones(3)).support) == repr(TD.Dirichlet(torch.ones(3)).support)
    assert repr(D.Normal(tg.zeros(2), 1.0)) == "Normal(loc: (2,), scale: (2,))"


# -- expand -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,params,value_shape", [
    ("Normal", dict(loc=[0.1, 0.2, 0.3], scale=[1.0, 2.0, 3.0]), (4, 3)),
    ("Gamma", dict(concentration=[1.5, 2.0, 0.5], rate=[1.0, 2.0, 3.0]), (4, 3)),
    ("Bernoulli", dict(logits=[0.1, -0.2, 0.3]), (4, 3)),
    ("Categorical", dict(probs=[[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]), (4, 3)),
    ("Dirichlet", dict(concentration=[[1.0, 2.0], [0.5, 0.5], [3.0, 1.0]]), (4, 3, 2)),
    ("MultivariateNormal", dict(loc=[[0.0, 1.0]] * 3, covariance_matrix=[[[2.0, 0.5], [0.5, 1.0]]] * 3), (4, 3, 2)),
    ("LogNormal", dict(loc=[0.1, 0.2, 0.3], scale=[1.0, 2.0, 3.0]), (4, 3)),
    ("RelaxedBernoulli", dict(temperature=0.7, probs=[0.2, 0.5, 0.9]), (4, 3)),
    ("RelaxedOneHotCategorical", dict(temperature=0.5, logits=[[0.0, 1.0, 2.0]] * 3), (4, 3, 3)),
])
def test_expand_matches_torch(name: str, params: dict, value_shape: tuple) -> None:
    ours = getattr(D, name)(**{k: tg.tensor(np.array(v)) for k, v in params.items()}).expand((4, 3))
    theirs = getattr(TD, name)(**{k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()}).expand((4, 3))
    assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    value = theirs.sample()
    _close(ours.log_prob(tg.tensor(value.numpy())), theirs.log_prob(value), 1e-9)
    assert ours.sample((2,)).shape == (2, *theirs.batch_shape, *theirs.event_shape)
    if name not in ("RelaxedBernoulli", "RelaxedOneHotCategorical"):  # (no entropy in PyTorch either)
        _close(ours.entropy(), theirs.entropy(), 1e-9)
    mixture = TD.MixtureSameFamily(TD.Categorical(logits=torch.tensor([0.3, -0.2], dtype=torch.float64)),
                                   TD.Normal(torch.tensor([0.0, 2.0], dtype=torch.float64), 1.5)).expand((4,))
    ours_mixture = D.MixtureSameFamily(D.Categorical(logits=tg.tensor(np.array([0.3, -0.2]))),
                                       D.Normal(tg.tensor(np.array([0.0, 2.0])), 1.5)).expand((4,))
    x = torch.linspace(-1.0, 3.0, 4, dtype=torch.float64)
    _close(ours_mixture.log_prob(tg.tensor(x.numpy())), mixture.log_prob(x), 1e-10)
    mixed = D.Independent(D.Normal(tg.zeros(3, dtype=tg.float64), 1.0), 1).expand((5,))
    assert (mixed.batch_shape, mixed.event_shape, mixed.log_prob(tg.zeros(5, 3, dtype=tg.float64)).shape) == \
        ((5,), (3,), (5,))


def test_list_parameters_beside_an_integer_tensor_keep_their_fractions() -> None:
    """A list is read as floats, whatever dtype the Tensor next to it has (PyTorch takes no lists; its
    result for the same values given as a float Tensor is the reference). A number still takes the
    Tensor's dtype, as PyTorch's broadcast_all does."""
    counts = np.array([10, 4])
    ours = D.Binomial(tg.tensor(counts), probs=[0.2, 0.7])
    theirs = TD.Binomial(torch.tensor(counts), probs=torch.tensor([0.2, 0.7]))
    value = torch.tensor([3.0, 4.0])
    _close(ours.log_prob(tg.tensor(value.numpy())), theirs.log_prob(value), 1e-6)
    _close(ours.mean, theirs.mean, 1e-6)
    assert D.Normal(tg.tensor(np.array([1, 2])), 3.5).scale.dtype == np.int64   # torch: scale becomes 3


def test_zero_modes_match_torch_at_infinite_parameters() -> None:
    """PyTorch's mode of Exponential, HalfNormal and Geometric is zeros_like(parameter): 0 also where the
    parameter is inf (0·inf would be nan), and a constant that records no gradient."""
    inf = np.array([np.inf, 2.0])
    pairs = [(D.Exponential(tg.tensor(inf, requires_grad=True)), TD.Exponential(torch.tensor(inf, requires_grad=True))),
             (D.HalfNormal(tg.tensor(inf, requires_grad=True)), TD.HalfNormal(torch.tensor(inf, requires_grad=True))),
             (D.Geometric(probs=tg.tensor(np.array([1.0, 0.5]), requires_grad=True)),
              TD.Geometric(probs=torch.tensor([1.0, 0.5], dtype=torch.float64, requires_grad=True)))]
    for ours, theirs in pairs:
        _close(ours.mode, theirs.mode, 0)
        assert ours.mode.requires_grad == theirs.mode.requires_grad
    _close(D.HalfNormal(tg.tensor(inf)).log_prob(tg.tensor(np.array([1.0, 1.0]))),
           TD.HalfNormal(torch.tensor(inf)).log_prob(torch.tensor([1.0, 1.0], dtype=torch.float64)), 1e-12)


def test_multivariate_normal_names_a_matrix_of_the_wrong_size() -> None:
    """torch builds the distribution and fails later inside log_prob; we refuse it up front, naming both shapes."""
    for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
        with pytest.raises(ValueError, match=rf"MultivariateNormal: loc of shape \(3,\) needs 3 x 3 matrices, "
                                             rf"but {name} has shape \(2, 2\)"):
            D.MultivariateNormal(tg.zeros(3), **{name: tg.eye(2)})


def test_positive_definite_check_of_a_batch_matches_torch() -> None:
    """One batched factorisation when every matrix is positive definite; a batch holding a symmetric
    matrix without a Cholesky factor is still answered matrix by matrix, as torch's cholesky_ex info."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((2, 3, 3, 3))
    matrices = a @ np.swapaxes(a, -1, -2) + np.eye(3)
    for batch in (matrices, np.concatenate([matrices[:1], [[np.diag([1.0, -1.0, 1.0])] * 3]])):
        ours = D.constraints.positive_definite.check(tg.tensor(batch)).numpy()
        np.testing.assert_array_equal(ours, TD.constraints.positive_definite.check(torch.tensor(batch)).numpy())
    assert ours.tolist() == [[True] * 3, [False] * 3]


@pytest.mark.parametrize("name", ["Bernoulli", "Geometric", "Categorical"])
def test_derived_parameter_first_computed_without_grad_still_carries_the_gradient(name: str) -> None:
    """probs (from logits) or logits (from probs) is computed once and kept; as torch's lazy_property it is
    computed with gradients on even when first asked for under no_grad (sample() does that), so a later
    entropy or log_prob still differentiates through it (REINFORCE: sample, then log_prob/entropy)."""
    rng = np.random.default_rng(3)
    given = rng.standard_normal((2, 3)) if name == "Categorical" else rng.standard_normal(3)
    probs = rng.dirichlet(np.ones(3), 2) if name == "Categorical" else rng.uniform(0.1, 0.9, 3)
    for key, array, derived in (("logits", given, "probs"), ("probs", probs, "logits")):
        ours_param, theirs_param = tg.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)
        ours, theirs = getattr(D, name)(**{key: ours_param}), getattr(TD, name)(**{key: theirs_param})
        with tg.no_grad():
            getattr(ours, derived)
        with torch.no_grad():
            getattr(theirs, derived)
        ours.sample()
        value = theirs.sample()
        (ours.entropy().sum() + ours.log_prob(tg.tensor(value.numpy())).sum()).backward()
        (theirs.entropy().sum() + theirs.log_prob(value).sum()).backward()
        _close(ours_param.grad, theirs_param.grad, 1e-10, 1e-12, f"{name}({key}) d/d{key}")


@pytest.mark.parametrize("given", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_multivariate_normal_with_a_covariance_shared_by_a_batch_matches_torch(given: str) -> None:
    """One (k, k) matrix for a (4, 3) batch of means (factorised once, solved for every mean at once) and a
    (2, 1, k, k) batch of matrices: shapes and values of every method, the KL, expand and gradients."""
    rng = np.random.default_rng(11)
    k = 3
    a = rng.standard_normal((2, 1, k, k))
    spd = a @ np.swapaxes(a, -1, -2) + np.eye(k)
    matrices = {"covariance_matrix": spd, "precision_matrix": np.linalg.inv(spd), "scale_tril": np.linalg.cholesky(spd)}
    for matrix, loc_shape in ((matrices[given][0, 0], (4, k)), (matrices[given], (4, k)), (matrices[given], (k,))):
        loc = rng.standard_normal(loc_shape)
        ours_loc, theirs_loc = tg.tensor(loc, requires_grad=True), torch.tensor(loc, requires_grad=True)
        ours_m, theirs_m = tg.tensor(matrix, requires_grad=True), torch.tensor(matrix, requires_grad=True)
        ours = D.MultivariateNormal(ours_loc, **{given: ours_m})
        theirs = TD.MultivariateNormal(theirs_loc, **{given: theirs_m})
        for value_shape in ((k,), (5, 1, 4, k), (4, k)):
            value = rng.standard_normal(value_shape)
            _close(ours.log_prob(tg.tensor(value)), theirs.log_prob(torch.tensor(value)), 1e-10)
        for name in ("entropy", "variance", "scale_tril", "covariance_matrix", "precision_matrix", "mean"):
            ours_value, theirs_value = getattr(ours, name), getattr(theirs, name)
            _close(ours_value() if callable(ours_value) else ours_value,
                   theirs_value() if callable(theirs_value) else theirs_value, 1e-10, 1e-12, name)
        other = rng.standard_normal((1, 4, k))
        q_ours = D.MultivariateNormal(tg.tensor(other), scale_tril=tg.tensor(np.linalg.cholesky(spd[1, 0])))
        q_theirs = TD.MultivariateNormal(torch.tensor(other), scale_tril=torch.tensor(np.linalg.cholesky(spd[1, 0])))
        kl_ours, kl_theirs = D.kl_divergence(ours, q_ours), TD.kl_divergence(theirs, q_theirs)
        _close(kl_ours, kl_theirs, 1e-10)
        value = rng.standard_normal((6, *theirs.batch_shape, k))
        (ours.log_prob(tg.tensor(value)).sum() + kl_ours.sum()).backward()
        (theirs.log_prob(torch.tensor(value)).sum() + kl_theirs.sum()).backward()
        _close(ours_loc.grad, theirs_loc.grad, 1e-9, 1e-12, "d/dloc")
        _close(ours_m.grad, theirs_m.grad, 1e-9, 1e-12, f"d/d{given}")
        expanded_ours, expanded_theirs = ours.expand((3, *ours.batch_shape)), theirs.expand((3, *theirs.batch_shape))
        value = rng.standard_normal((3, *theirs.batch_shape, k))
        _close(expanded_ours.log_prob(tg.tensor(value)), expanded_theirs.log_prob(torch.tensor(value)), 1e-10)
        _close(expanded_ours.entropy(), expanded_theirs.entropy(), 1e-10)
