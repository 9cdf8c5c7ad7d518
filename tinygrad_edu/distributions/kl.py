"""KL divergence KL(p ‖ q) = E_p[log p(X) − log q(X)], in closed form per pair of distribution types.

``kl_divergence(p, q)`` looks up the function registered for (type(p), type(q)) with
``@register_kl(P, Q)``; when only base classes are registered, the most specific match wins
(the order of PyTorch: by p's class first, then q's). Every formula is in Tensor ops, so the
KL is differentiable with respect to both distributions' parameters (the VAE's KL term).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import total_ordering
from typing import Any

import numpy as np

from .. import linalg
from ..tensor import Tensor, where
from .continuous import Cauchy, Exponential, HalfNormal, Laplace, Normal, Uniform
from .discrete import Bernoulli, Binomial, Categorical, Geometric, OneHotCategorical, Poisson
from .distribution import Distribution
from .exp_family import ExponentialFamily, bregman_kl
from .gamma import Beta, Dirichlet, Gamma
from .multivariate import Independent, MultivariateNormal, _batch_mahalanobis, _half_log_det
from .transformed import TransformedDistribution
from .univariate import _EULER_GAMMA, Gumbel, Pareto
from .utils import log1p_exp, sum_rightmost

_KL_REGISTRY: dict[tuple[type, type], Callable] = {}
_KL_MEMOIZE: dict[tuple[type, type], Any] = {}


def register_kl(type_p: type, type_q: type) -> Callable:
    """Decorator: ``@register_kl(Normal, Normal) def kl(p, q): ...`` registers a closed-form KL."""
    for kind in (type_p, type_q):
        if not (isinstance(kind, type) and issubclass(kind, Distribution)):
            raise TypeError(f"Expected a Distribution subclass but got {kind}")

    def decorator(fun: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = fun
        _KL_MEMOIZE.clear()  # a new registration can change which match is most specific
        return fun

    return decorator


@total_ordering
class _Match:
    """A registered (P, Q) pair ordered by specificity: (A, B) ≤ (C, D) if A ⊆ C, ties broken by B ⊆ D."""

    def __init__(self, *types: type) -> None:
        self.types = types

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Match) and self.types == other.types

    def __le__(self, other: _Match) -> bool:
        for x, y in zip(self.types, other.types):
            if not issubclass(x, y):
                return False
            if x is not y:
                break
        return True


def _dispatch_kl(type_p: type, type_q: type) -> Any:
    matches = [(p, q) for p, q in _KL_REGISTRY if issubclass(type_p, p) and issubclass(type_q, q)]
    if not matches:
        return NotImplemented
    left_p, left_q = min(_Match(*m) for m in matches).types
    right_q, right_p = min(_Match(*reversed(m)) for m in matches).types
    if _KL_REGISTRY[left_p, left_q] is not _KL_REGISTRY[right_p, right_q]:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({left_p.__name__}, {right_q.__name__})", RuntimeWarning, stacklevel=3)
    return _KL_REGISTRY[left_p, left_q]


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    r"""KL(p ‖ q) = ∫ p(x) log(p(x)/q(x)) dx, batched over batch_shape.

    Raises NotImplementedError when no formula is registered for the pair of types.
    """
    key = (type(p), type(q))
    if key not in _KL_MEMOIZE:
        _KL_MEMOIZE[key] = _dispatch_kl(*key)
    fun = _KL_MEMOIZE[key]
    if fun is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} "
                                  f"and q type {type(q).__name__}")
    return fun(p, q)


# -- same family ------------------------------------------------------------------------------
@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    """½ (σ_p²/σ_q² + (μ_p − μ_q)²/σ_q² − 1 − log(σ_p²/σ_q²))."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p: ExponentialFamily, q: ExponentialFamily) -> Tensor:
    """Two members of one exponential family without a closed form here (Wishart): the Bregman divergence
    F(θ_q) − F(θ_p) − ⟨θ_q − θ_p, ∇F(θ_p)⟩ of the log-normaliser (exp_family.py)."""
    return bregman_kl(p, q)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal) -> Tensor:
    """The KL of the two underlying zero-mean normals: log(σ_q/σ_p) + σ_p²/(2σ_q²) − ½."""
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """p log(p/q) + (1 − p) log((1 − p)/(1 − q)), written with logits (log p = −log(1 + e^(−l)))."""
    t1 = p.probs * (log1p_exp(-q.logits) - log1p_exp(-p.logits))
    t1 = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, t1))
    t2 = (1 - p.probs) * (log1p_exp(q.logits) - log1p_exp(p.logits))
    t2 = where(p.probs == 1, 0.0, where(q.probs == 1, math.inf, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    """Σ_k p_k (log p_k − log q_k)  (0 where p_k = 0, ∞ where q_k = 0 < p_k)."""
    t = p.probs * (p.logits - q.logits)
    t = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, t))
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    """The KL of the underlying Categoricals."""
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p: Binomial, q: Binomial) -> Tensor:
    """n (p log(p/q) + (1 − p) log((1 − p)/(1 − q))) for equal n; ∞ if n_p > n_q."""
    if bool((p.total_count < q.total_count).any().item()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p())
    return where(p.total_count > q.total_count, math.inf, kl)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p: Geometric, q: Geometric) -> Tensor:
    """−H(p) − log(1 − q)/p − logit(q)  (= Σ_k P_p(k) log(P_p(k)/P_q(k)))."""
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p: Poisson, q: Poisson) -> Tensor:
    """λ_p log(λ_p/λ_q) − (λ_p − λ_q)."""
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    """log((b_q − a_q)/(b_p − a_p)) when [a_p, b_p] ⊆ [a_q, b_q], else ∞."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return where((q.low > p.low) | (q.high < p.high), math.inf, result)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> Tensor:
    """λ_q/λ_p − log(λ_q/λ_p) − 1."""
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> Tensor:
    """log(b_q/b_p) + |μ_p − μ_q|/b_q + (b_p/b_q) e^(−|μ_p − μ_q|/b_p) − 1."""
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + loc_abs_diff / q.scale + scale_ratio * (-loc_abs_diff / p.scale).exp() - 1


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> Tensor:
    """log(((γ_p + γ_q)² + (x_p − x_q)²) / (4 γ_p γ_q))."""
    return ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log() - (4 * p.scale * q.scale).log()


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    """α_q log(β_p/β_q) + log Γ(α_q) − log Γ(α_p) + (α_p − α_q) ψ(α_p) + (β_q − β_p) α_p/β_p."""
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = q.concentration.lgamma() - p.concentration.lgamma()
    t3 = (p.concentration - q.concentration) * p.concentration.digamma()
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    """log Γ(α₀) − log Γ(β₀) − Σ (log Γ(αᵢ) − log Γ(βᵢ)) + Σ (αᵢ − βᵢ)(ψ(αᵢ) − ψ(α₀))."""
    sum_p, sum_q = p.concentration.sum(-1), q.concentration.sum(-1)
    t1 = sum_p.lgamma() - sum_q.lgamma()
    t2 = (p.concentration.lgamma() - q.concentration.lgamma()).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = p.concentration.digamma() - sum_p.digamma().unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    """The Dirichlet KL of (x, 1 − x):  log B(a_q, b_q) − log B(a_p, b_p) + (a_p − a_q)ψ(a_p) + (b_p − b_q)ψ(b_p)
    + (s_q − s_p)ψ(s_p),  s = a + b."""
    return _kl_dirichlet_dirichlet(p._dirichlet, q._dirichlet)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    """½ (tr(Σ_q⁻¹ Σ_p) + (μ_q − μ_p)ᵀ Σ_q⁻¹ (μ_q − μ_p) − k + log det Σ_q − log det Σ_p),
    with tr(Σ_q⁻¹ Σ_p) = ‖L_q⁻¹ L_p‖²_F."""
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot "
                         "be computed")
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    n = p.event_shape[0]
    batch = tuple(np.broadcast_shapes(lp.shape[:-2], lq.shape[:-2]))
    solved = linalg.solve_triangular(lq.expand((*batch, n, n)), lp.expand((*batch, n, n)), upper=False)
    trace_term = (solved ** 2).sum((-2, -1))
    mahalanobis = _batch_mahalanobis(lq, q.loc - p.loc)
    return _half_log_det(lq) - _half_log_det(lp) + 0.5 * (trace_term + mahalanobis - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    """The base KL summed over the reinterpreted dims."""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p: TransformedDistribution, q: TransformedDistribution) -> Tensor:
    """KL is invariant under one bijection applied to both: KL(f(X) ‖ f(Y)) = KL(X ‖ Y)."""
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


# -- different families -------------------------------------------------------------------------
@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p: Exponential, q: Gamma) -> Tensor:
    """−α log(β/λ) + β/λ + log Γ(α) + α γ_E − (1 + γ_E)   (γ_E Euler's constant)."""
    ratio = q.rate / p.rate
    return (-q.concentration * ratio.log() + ratio + q.concentration.lgamma() + q.concentration * _EULER_GAMMA
            - (1 + _EULER_GAMMA))


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p: Gamma, q: Exponential) -> Tensor:
    """−H(p) − log λ + λ α/β."""
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p: Exponential, q: Normal) -> Tensor:
    """½ log(2π λ² σ²) − 1 + (1/λ² − μ/λ + μ²/2)/σ²."""
    var_normal, rate_sq = q.scale ** 2, p.rate ** 2
    t1 = 0.5 * (rate_sq * var_normal * 2 * math.pi).log()
    return t1 - 1 + (rate_sq.reciprocal() - q.loc / p.rate + q.loc ** 2 * 0.5) / var_normal


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p: Uniform, q: Normal) -> Tensor:
    """log(√(2π) σ/(b − a)) + ((b − a)²/12 + ((a + b)/2 − μ)²) / (2σ²)."""
    width = p.high - p.low
    t1 = (math.sqrt(2 * math.pi) * q.scale / width).log()
    return t1 + 0.5 * (width ** 2 / 12 + ((p.high + p.low - 2 * q.loc) / 2) ** 2) / q.scale ** 2


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p: Uniform, q: Exponential) -> Tensor:
    """λ(a + b)/2 − log((b − a) λ), ∞ if a < 0."""
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return where(p.low < 0, math.inf, result)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel) -> Tensor:
    """KL = −log r + (μ_p − μ_q)/β_q + rγ + e^((μ_q − μ_p)/β_q) Γ(1 + r) − (1 + γ),  r = β_p/β_q."""
    ratio = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    return -ratio.log() + shift + ratio * _EULER_GAMMA + (-shift + (1 + ratio).lgamma()).exp() - (1 + _EULER_GAMMA)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p: Pareto, q: Pareto) -> Tensor:
    """KL = α_q log(x_p/x_q) − log(α_q/α_p) + α_q/α_p − 1; inf where p's support starts below q's (x_p < x_q)."""
    alpha_ratio = q.alpha / p.alpha
    kl = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return where(p.scale < q.scale, math.inf, kl)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p: Normal, q: Gumbel) -> Tensor:
    """KL = −log(σ/β) + (μ − m)/β + e^(−(μ − m)/β + σ²/(2β²)) − ½(1 + log 2π)   (p = N(μ, σ²), q = Gumbel(m, β))."""
    shift, spread = (p.loc - q.loc) / q.scale, p.scale / q.scale
    return -spread.log() + shift + (-shift + 0.5 * spread ** 2).exp() - 0.5 * (1 + math.log(2 * math.pi))


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p: Gumbel, q: Normal) -> Tensor:
    """KL = −log(β/(σ√(2π))) + (πβ/σ)²/12 + ((m + βγ − μ)/σ)²/2 − (γ + 1)   (p = Gumbel(m, β), q = N(μ, σ²))."""
    ratio = p.scale / q.scale
    return (-(ratio / math.sqrt(2 * math.pi)).log() + (math.pi * ratio * 0.5) ** 2 / 3
            + ((p.loc + p.scale * _EULER_GAMMA - q.loc) / q.scale) ** 2 * 0.5 - (_EULER_GAMMA + 1))


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p: Laplace, q: Normal) -> Tensor:
    """KL = −½ log(2b²/(πσ²)) + b²/σ² + (μ − m)²/(2σ²) − 1   (p = Laplace(μ, b), q = N(m, σ²))."""
    ratio_sq = (p.scale / q.scale) ** 2
    return -0.5 * (2 * ratio_sq / math.pi).log() + ratio_sq + (p.loc - q.loc) ** 2 / (2 * q.scale ** 2) - 1


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p: Exponential, q: Gumbel) -> Tensor:
    """KL = log(λβ) − 1 − m/β + e^(m/β) λβ/(λβ + 1) + 1/(λβ)   (p = Exponential(λ), q = Gumbel(m, β))."""
    product, shift = p.rate * q.scale, q.loc / q.scale
    return product.log() - 1 - shift + shift.exp() * product / (product + 1) + product.reciprocal()


__all__ = ["kl_divergence", "register_kl"]
