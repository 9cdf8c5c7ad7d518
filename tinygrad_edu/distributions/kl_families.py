"""More of PyTorch's registered KL divergences: pairs across families, the low-rank Gaussians, and the
pairs whose KL is infinite because p puts mass where q has none.

Most cross-family closed forms are KL(p‖q) = −H(p) − E_p[log q(X)], with E_p[log q] written from p's
moments (E[X], E[X²], E[log X], …). Importing this module registers them (``tg.distributions`` does).
"""

from __future__ import annotations

import math

import numpy as np

from .. import linalg
from ..factories import full_like
from ..tensor import Tensor, where
from .continuous import Exponential, Laplace, Normal, Uniform
from .discrete import Bernoulli, Binomial, Poisson
from .distribution import Distribution
from .gamma import Beta, Gamma
from .kl import register_kl
from .lowrank import LowRankMultivariateNormal
from .multivariate import MultivariateNormal, _batch_mahalanobis, _half_log_det
from .univariate import ContinuousBernoulli, Gumbel, Pareto

# ---- supports that do not nest: KL = inf ----------------------------------------------------------------------

# p's family → the families q whose support misses part of p's (a real-line p against a half-line or interval q,
# a half-line p against an interval q, …), as in torch's table
_SUPPORT_NOT_COVERED: dict[type, tuple[type, ...]] = {
    Normal: (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform),
    Laplace: (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform),
    Gumbel: (Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform),
    Exponential: (Beta, ContinuousBernoulli, Pareto, Uniform),
    Gamma: (Beta, ContinuousBernoulli, Pareto, Uniform),
    Pareto: (Beta, ContinuousBernoulli, Uniform),
    Beta: (Pareto,),
    ContinuousBernoulli: (Pareto,),
    Poisson: (Bernoulli, Binomial),
}


def _kl_infinite(p: Distribution, q: Distribution) -> Tensor:
    """inf for every batch entry of p."""
    return full_like(p.mean, math.inf)


for _p_type, _q_types in _SUPPORT_NOT_COVERED.items():
    for _q_type in _q_types:
        register_kl(_p_type, _q_type)(_kl_infinite)


def _x_log_x(x: Tensor) -> Tensor:
    """x log x (0 at x = 0)."""
    return x.xlogy(x)


def _uniform_expected_log(low: Tensor, high: Tensor) -> Tensor:
    """E[log X] for X ~ Uniform(low, high), 0 ≤ low: (h log h − l log l − (h − l))/(h − l)."""
    width = high - low
    return (_x_log_x(high) - _x_log_x(low) - width) / width


def _beta_mean(p: Beta) -> Tensor:
    return p.concentration1 / (p.concentration1 + p.concentration0)


def _log_cb_density_terms(p_mean: Tensor, q: ContinuousBernoulli) -> Tensor:
    """E_p[log q(X)] for a continuous Bernoulli q: E[X] l_q + log(1 − λ_q) + log C(λ_q)."""
    return p_mean * q.logits + (-q.probs).log1p() + q._log_normaliser()


def _outside(mask: Tensor, kl: Tensor) -> Tensor:
    """kl, with inf where ``mask`` (p has mass outside q's support)."""
    return where(mask, math.inf, kl)


# ---- p on [0, 1] or a half-line against q of another family -----------------------------------------------------


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p: Bernoulli, q: Poisson) -> Tensor:
    """−H(p) − (p log λ − λ)   (log q(k) = k log λ − λ − log k!, and log k! = 0 for k ∈ {0, 1})."""
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p: Beta, q: ContinuousBernoulli) -> Tensor:
    """−H(p) − (E[X] l_q + log(1 − λ_q) + log C(λ_q))."""
    return -p.entropy() - _log_cb_density_terms(p.mean, q)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p: Beta, q: Exponential) -> Tensor:
    """−H(p) − log λ + λ E[X]."""
    return -p.entropy() - q.rate.log() + q.rate * _beta_mean(p)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p: Beta, q: Gamma) -> Tensor:
    """−H(p) + log Γ(α) − α log β − (α − 1) E[log X] + β E[X],  E[log X] = ψ(a) − ψ(a + b)."""
    a, b = p.concentration1, p.concentration0
    expected_log = a.digamma() - (a + b).digamma()
    return (-p.entropy() + q.concentration.lgamma() - q.concentration * q.rate.log()
            - (q.concentration - 1) * expected_log + q.rate * _beta_mean(p))


@register_kl(Beta, Normal)
def _kl_beta_normal(p: Beta, q: Normal) -> Tensor:
    """−H(p) + ½ log(2πσ²) + (E[X²] − 2μ E[X] + μ²)/(2σ²),  E[X²] = Var + E[X]²."""
    mean = _beta_mean(p)
    second_moment = mean * (1 - mean) / (p.concentration1 + p.concentration0 + 1) + mean ** 2
    variance = q.scale ** 2
    return (-p.entropy() + 0.5 * (variance * 2 * math.pi).log()
            + (0.5 * second_moment - q.loc * mean + 0.5 * q.loc ** 2) / variance)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p: Beta, q: Uniform) -> Tensor:
    """−H(p) + log(high − low); inf unless [0, 1] ⊆ [low, high]."""
    return _outside((q.low > 0) | (q.high < 1), -p.entropy() + (q.high - q.low).log())


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p: ContinuousBernoulli, q: ContinuousBernoulli) -> Tensor:
    """E_p[X](l_p − l_q) + log C(λ_p) + log(1 − λ_p) − log C(λ_q) − log(1 − λ_q)."""
    return (p.mean * (p.logits - q.logits) + p._log_normaliser() + (-p.probs).log1p()
            - q._log_normaliser() - (-q.probs).log1p())


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p: ContinuousBernoulli, q: Exponential) -> Tensor:
    """−H(p) − log λ + λ E[X]."""
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p: ContinuousBernoulli, q: Normal) -> Tensor:
    """−H(p) + ½ log 2π + ½ (μ/σ)² + log σ + (Var + E[X]² − 2μ E[X])/(2σ²)."""
    return (-p.entropy() + 0.5 * (math.log(2.0 * math.pi) + (q.loc / q.scale) ** 2) + q.scale.log()
            + (p.variance + p.mean ** 2 - 2.0 * q.loc * p.mean) / (2.0 * q.scale ** 2))


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p: ContinuousBernoulli, q: Uniform) -> Tensor:
    """−H(p) + log(high − low); inf where low ≥ 0 or high ≤ 1 (torch's test, which counts the ends too)."""
    return _outside((q.low >= 0) | (q.high <= 1), -p.entropy() + (q.high - q.low).log())


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p: Gamma, q: Gumbel) -> Tensor:
    """(α − 1)ψ(α) − log Γ(α) − α + log(βs) + α/(βs) + e^(m/s) (1 + 1/(βs))^(−α) − m/s
    (p = Gamma(α, β), q = Gumbel(m, s))."""
    alpha, product, shift = p.concentration, p.rate * q.scale, q.loc / q.scale
    return ((alpha - 1) * alpha.digamma() - alpha.lgamma() - alpha + product.log() + alpha / product
            + shift.exp() * (1 + product.reciprocal()) ** -alpha - shift)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p: Gamma, q: Normal) -> Tensor:
    """½ log(2πβ²σ²) − α − log Γ(α) + (α − 1)ψ(α) + ((α² + α)/(2β²) − μα/β + μ²/2)/σ²."""
    alpha, rate, variance = p.concentration, p.rate, q.scale ** 2
    return (0.5 * (rate ** 2 * variance * 2 * math.pi).log() - alpha - alpha.lgamma() + (alpha - 1) * alpha.digamma()
            + (0.5 * (alpha ** 2 + alpha) / rate ** 2 - q.loc * alpha / rate + 0.5 * q.loc ** 2) / variance)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace) -> Tensor:
    """−log(σ/b) + (σ√(2/π) e^(−d²/(2σ²)) + d erf(d/(σ√2)))/b − ½(1 + log(π/2)),  d = μ_p − μ_q."""
    diff = p.loc - q.loc
    expected_abs = math.sqrt(2 / math.pi) * p.scale * (-0.5 * (diff / p.scale) ** 2).exp() \
        + diff * (math.sqrt(0.5) * diff / p.scale).erf()                                  # E|X − μ_q|
    return -(p.scale / q.scale).log() + expected_abs / q.scale - 0.5 * (1 + math.log(0.5 * math.pi))


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p: Pareto, q: Exponential) -> Tensor:
    """log(α/(x_m λ)) − 1/α + α x_m λ/(α − 1) − 1; inf for α ≤ 1 (E[X] infinite)."""
    product = p.scale * q.rate
    kl = (p.alpha / product).log() - p.alpha.reciprocal() + p.alpha * product / (p.alpha - 1) - 1
    return _outside(p.alpha <= 1, kl)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p: Pareto, q: Gamma) -> Tensor:
    """log α − c + log Γ(k) − k log β + (1 − k) c + β α x_m/(α − 1) − 1,  c = log x_m + 1/α = E[log X];
    inf for α ≤ 1."""
    common = p.scale.log() + p.alpha.reciprocal()
    kl = (p.alpha.log() - common + q.concentration.lgamma() - q.concentration * q.rate.log()
          + (1 - q.concentration) * common + q.rate * p.alpha * p.scale / (p.alpha - 1) - 1)
    return _outside(p.alpha <= 1, kl)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p: Pareto, q: Normal) -> Tensor:
    """log(√(2π) σ α/x_m) − 1/α + (Var + (E[X] − μ)²)/(2σ²) − 1; inf for α ≤ 2 (Var infinite)."""
    common = p.scale / (p.alpha - 1)
    variance_term = p.alpha * common ** 2 / (p.alpha - 2)
    kl = ((math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale).log() - p.alpha.reciprocal()
          + (variance_term + (p.alpha * common - q.loc) ** 2) / (2 * q.scale ** 2) - 1)
    return _outside(p.alpha <= 2, kl)


# ---- uniform p against bounded or half-line q ------------------------------------------------------------------


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p: Uniform, q: Beta) -> Tensor:
    """−log w − (a − 1) E[log X] − (b − 1) E[log(1 − X)] + log B(a, b),  w = high − low,
    E[log X] = (h log h − l log l − w)/w (likewise for 1 − X); inf unless [low, high] ⊆ [0, 1]."""
    width = p.high - p.low
    expected_log = _uniform_expected_log(p.low, p.high)
    expected_log1m = _uniform_expected_log(1 - p.high, 1 - p.low)                # 1 − X ~ Uniform(1 − high, 1 − low)
    a, b = q.concentration1, q.concentration0
    kl = (-width.log() - (a - 1) * expected_log - (b - 1) * expected_log1m
          + a.lgamma() + b.lgamma() - (a + b).lgamma())
    return _outside((p.high > 1) | (p.low < 0), kl)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p: Uniform, q: ContinuousBernoulli) -> Tensor:
    """−H(p) − (E[X] l_q + log(1 − λ_q) + log C(λ_q)); inf where high ≥ 1 or low ≤ 0 (torch's test)."""
    return _outside((p.high >= 1) | (p.low <= 0), -p.entropy() - _log_cb_density_terms(p.mean, q))


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p: Uniform, q: Gamma) -> Tensor:
    """−log w + log Γ(α) − α log β + (1 − α) E[log X] + β (high + low)/2; inf where low < 0."""
    kl = (-(p.high - p.low).log() + q.concentration.lgamma() - q.concentration * q.rate.log()
          + (1 - q.concentration) * _uniform_expected_log(p.low, p.high) + q.rate * (p.high + p.low) / 2)
    return _outside(p.low < 0, kl)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p: Uniform, q: Gumbel) -> Tensor:
    """log(s/w) + (z_h + z_l)/2 − (s/w)(e^(−z_h) − e^(−z_l)),  z = (x − m)/s at x = high, low."""
    ratio = q.scale / (p.high - p.low)
    z_high, z_low = (p.high - q.loc) / q.scale, (p.low - q.loc) / q.scale
    return ratio.log() + 0.5 * (z_high + z_low) - ratio * ((-z_high).exp() - (-z_low).exp())


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p: Uniform, q: Pareto) -> Tensor:
    """(α + 1) E[log X] − log(α x_mᵅ w); inf where low < x_m."""
    kl = (_uniform_expected_log(p.low, p.high) * (q.alpha + 1)
          - (q.alpha * q.scale ** q.alpha * (p.high - p.low)).log())
    return _outside(p.low < q.scale, kl)


# ---- Gaussians with a low-rank-plus-diagonal covariance --------------------------------------------------------


def _trace_xxt(x: Tensor) -> Tensor:
    """tr(X Xᵀ) = Σ X_ij² over the last two dims."""
    return (x ** 2).sum((-2, -1))


def _check_event_shapes(p: Distribution, q: Distribution) -> None:
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two (Low Rank) Multivariate Normals with different event shapes "
                         f"cannot be computed: {p.event_shape} vs {q.event_shape}")


def _gaussian_kl(log_det_q: Tensor, log_det_p: Tensor, trace: Tensor, mahalanobis: Tensor, n: int) -> Tensor:
    """½ (log det Σ_q − log det Σ_p + tr(Σ_q⁻¹ Σ_p) + (μ_q − μ_p)ᵀ Σ_q⁻¹ (μ_q − μ_p) − n)."""
    return 0.5 * (log_det_q - log_det_p + trace + mahalanobis - n)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p: LowRankMultivariateNormal, q: LowRankMultivariateNormal) -> Tensor:
    """The Gaussian KL with tr(Σ_q⁻¹ Σ_p) = tr((D_q⁻¹ − AᵀA)(D_p + W_p W_pᵀ)) expanded term by term
    (A = C_q⁻¹ W_qᵀ D_q⁻¹, Woodbury)."""
    _check_event_shapes(p, q)
    a = q._woodbury_factor()
    trace = ((p.cov_diag / q.cov_diag).sum(-1) + _trace_xxt(p.cov_factor * q.cov_diag.rsqrt().unsqueeze(-1))
             - _trace_xxt(a * p.cov_diag.sqrt().unsqueeze(-2)) - _trace_xxt(a @ p.cov_factor))
    return _gaussian_kl(q._log_det(), p._log_det(), trace, q._mahalanobis(q.loc - p.loc), p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p: LowRankMultivariateNormal, q: MultivariateNormal) -> Tensor:
    """tr(Σ_q⁻¹ Σ_p) = ‖L_q⁻¹ W_p‖² + ‖L_q⁻¹ D_p^½‖² (Frobenius)."""
    _check_event_shapes(p, q)
    n, scale_tril = p.event_shape[0], q._unbroadcasted_scale_tril
    root_diag = p.cov_diag.sqrt().unsqueeze(-1) * np.eye(n, dtype=p.cov_diag.dtype)     # D_p^½
    trace = (_trace_xxt(linalg.solve_triangular(scale_tril, p.cov_factor, upper=False))  # (batch dims broadcast)
             + _trace_xxt(linalg.solve_triangular(scale_tril, root_diag, upper=False)))
    return _gaussian_kl(2 * _half_log_det(q._unbroadcasted_scale_tril), p._log_det(), trace,
                        _batch_mahalanobis(q._unbroadcasted_scale_tril, q.loc - p.loc), n)


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p: MultivariateNormal, q: LowRankMultivariateNormal) -> Tensor:
    """tr(Σ_q⁻¹ Σ_p) = ‖D_q^(−½) L_p‖² − ‖A L_p‖² (Frobenius; A = C_q⁻¹ W_qᵀ D_q⁻¹, Woodbury)."""
    _check_event_shapes(p, q)
    scale_tril = p._unbroadcasted_scale_tril
    trace = _trace_xxt(scale_tril * q.cov_diag.rsqrt().unsqueeze(-1)) - _trace_xxt(q._woodbury_factor() @ scale_tril)
    return _gaussian_kl(q._log_det(), 2 * _half_log_det(scale_tril), trace, q._mahalanobis(q.loc - p.loc),
                        p.event_shape[0])
