"""Location–scale and other univariate continuous distributions.

Normal, HalfNormal, Uniform, Exponential, Laplace, Cauchy, StudentT. Each ``rsample`` is a
deterministic, differentiable function of the parameters and of parameter-free noise
(ε ~ N(0, 1) or u ~ U(0, 1)): x = loc + scale · ε is the reparameterisation trick.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ..factories import full_like, zeros_like
from ..tensor import Tensor, where
from . import constraints
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .gamma import standard_gamma
from .utils import broadcast_all, eps, standard_normal, standard_uniform

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class CenteredAtLoc:
    """Mixin for distributions symmetric and unimodal around ``loc``: mean = mode = loc."""

    loc: Tensor

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc


class _LocationScale(CenteredAtLoc, Distribution):
    """Shared constructor of the real-line families with a ``loc`` and a positive ``scale``."""

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)


class Normal(_LocationScale, ExponentialFamily):
    r"""Normal (Gaussian) distribution N(μ, σ²) with ``loc`` μ and ``scale`` σ > 0.

    density   p(x) = exp(−(x − μ)² / (2σ²)) / (σ √(2π))
    cdf       F(x) = ½ (1 + erf((x − μ) / (σ √2)));   F⁻¹(q) = μ + σ √2 erfinv(2q − 1)
    mean = mode = μ,  variance = σ²,  entropy = ½ + ½ log(2π) + log σ
    rsample   x = μ + σ ε,  ε ~ N(0, 1)
    """

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.loc + self.scale * standard_normal(self._extended_shape(sample_shape), self.loc)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - _LOG_SQRT_2PI

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        """θ = (μ/σ², −1/(2σ²)) for t(x) = (x, x²)."""
        return self.loc / self.scale ** 2, -0.5 * self.scale ** -2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        """F(θ) = −θ₁²/(4θ₂) + ½ log(−π/θ₂)."""
        return -0.25 * x ** 2 / y + 0.5 * (-math.pi / y).log()


class HalfNormal(Distribution):
    r"""|X| for X ~ N(0, σ²), with ``scale`` σ > 0.

    density   p(x) = √2 exp(−x² / (2σ²)) / (σ √π)  for x ≥ 0
    cdf       F(x) = erf(x / (σ √2));   F⁻¹(q) = σ √2 erfinv(q)
    mean = σ √(2/π),  mode = 0,  variance = σ² (1 − 2/π),  entropy = ½ log(πσ²/2) + ½
    (PyTorch builds it as a TransformedDistribution of Normal(0, σ) by |·|; same values.)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale: Any, validate_args: bool | None = None) -> None:
        (self.scale,) = broadcast_all(scale)
        self.base_dist = Normal(zeros_like(self.scale), self.scale, validate_args=False)
        super().__init__(self.scale.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.scale)

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2 * (1 - 2 / math.pi)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.rsample(sample_shape).abs()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return where(value >= 0, log_prob, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, value: Tensor) -> Tensor:
        return self.base_dist.icdf((value + 1) / 2)

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() - math.log(2)


class Uniform(Distribution):
    r"""Uniform distribution on [low, high).

    density   p(x) = 1 / (high − low)  for low ≤ x < high, else 0
    cdf       F(x) = clamp((x − low) / (high − low), 0, 1);   F⁻¹(q) = low + q (high − low)
    mean = (low + high) / 2,  mode = nan (every point is one),  variance = (high − low)² / 12,
    entropy = log(high − low);   rsample  x = low + u (high − low),  u ~ U[0, 1)
    """

    has_rsample = True

    @property
    def arg_constraints(self) -> constraints.ArgConstraints:  # type: ignore[override]
        """low < high, each checked against the other."""
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high)
        super().__init__(self.low.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return full_like(self.high, math.nan)

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = standard_uniform(self._extended_shape(sample_shape), self.low)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        inside = (self.low <= value) & (self.high > value)
        return where(inside, -(self.high - self.low).log(), -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Tensor) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Exponential(ExponentialFamily):
    r"""Exponential distribution with ``rate`` λ > 0.

    density   p(x) = λ e^(−λx)  for x ≥ 0
    cdf       F(x) = 1 − e^(−λx);   F⁻¹(q) = −log(1 − q) / λ
    mean = 1/λ,  mode = 0,  variance = 1/λ²,  entropy = 1 − log λ
    rsample   x = −log(u) / λ,  u ~ U(0, 1)  (the inverse cdf of 1 − u)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.rate)

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate ** -2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return -standard_uniform(self._extended_shape(sample_shape), self.rate).log() / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """θ = −λ for t(x) = x."""
        return (-self.rate,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """F(θ) = −log(−θ)."""
        return -(-x).log()


class Laplace(_LocationScale):
    r"""Laplace (double exponential) distribution with ``loc`` μ and ``scale`` b > 0.

    density   p(x) = exp(−|x − μ| / b) / (2b)
    cdf       F(x) = ½ − ½ sign(x − μ) (e^(−|x − μ|/b) − 1);   F⁻¹(q) = μ − b sign(q − ½) log(1 − 2|q − ½|)
    mean = mode = μ,  variance = 2b²,  entropy = 1 + log(2b)
    rsample   x = μ − b sign(u) log(1 − |u|),  u ~ U(−1, 1)
    """

    @property
    def stddev(self) -> Tensor:
        return math.sqrt(2) * self.scale

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale ** 2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        # u in (−1, 1): the open lower end keeps log(1 − |u|) finite
        u = standard_uniform(self._extended_shape(sample_shape), self.loc, low=eps(self.loc.dtype) - 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


class Cauchy(_LocationScale):
    r"""Cauchy (Lorentz) distribution with ``loc`` x₀ and ``scale`` γ > 0.

    density   p(x) = 1 / (π γ (1 + ((x − x₀)/γ)²))
    cdf       F(x) = atan((x − x₀)/γ) / π + ½;   F⁻¹(q) = x₀ + γ tan(π (q − ½))
    mean = nan (undefined),  mode = x₀,  variance = inf,  entropy = log(4πγ)
    rsample   x = x₀ + γ tan(π (u − ½)),  u ~ U(0, 1)
    """

    @property
    def mean(self) -> Tensor:
        return full_like(self.loc, math.nan)

    @property
    def variance(self) -> Tensor:
        return full_like(self.loc, math.inf)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(standard_uniform(self._extended_shape(sample_shape), self.loc))

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class StudentT(Distribution):
    r"""Student's t distribution with ``df`` ν > 0, ``loc`` μ and ``scale`` σ > 0.

    density   p(x) = Γ((ν+1)/2) / (Γ(ν/2) √(νπ) σ) · (1 + y²/ν)^(−(ν+1)/2),   y = (x − μ)/σ
    mean = μ if ν > 1 else nan,  mode = μ,
    variance = σ² ν/(ν − 2) if ν > 2,  inf if 1 < ν ≤ 2,  nan if ν ≤ 1
    entropy = log σ + ½(ν+1)(ψ((ν+1)/2) − ψ(ν/2)) + ½ log ν + log B(ν/2, ½)
    rsample   x = μ + σ ε / √(z/ν),  ε ~ N(0, 1),  z ~ χ²(ν) = 2·Gamma(ν/2)  (gamma reparameterised)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"df": constraints.positive, "loc": constraints.real,
                                                             "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return where(self.df > 1, self.loc, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = self.df
        finite = where(df > 2, self.scale ** 2 * df / where(df > 2, df - 2, 1.0), math.inf)
        return where(df > 1, finite, math.nan)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        chi2 = 2 * standard_gamma(0.5 * self.df.expand(shape))
        return self.loc + self.scale * standard_normal(shape, self.df) * (chi2 / self.df).rsqrt()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        y = (value - self.loc) / self.scale
        log_normaliser = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
                          + (0.5 * self.df).lgamma() - (0.5 * (self.df + 1)).lgamma())
        return -0.5 * (self.df + 1) * (y ** 2 / self.df).log1p() - log_normaliser

    def entropy(self) -> Tensor:
        half_df, half_df1 = 0.5 * self.df, 0.5 * (self.df + 1)
        log_beta = half_df.lgamma() + math.lgamma(0.5) - half_df1.lgamma()
        return (self.scale.log() + half_df1 * (half_df1.digamma() - half_df.digamma())
                + 0.5 * self.df.log() + log_beta)
