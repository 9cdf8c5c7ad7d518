"""More univariate continuous families: Gumbel, Weibull, Pareto, GeneralizedPareto, HalfCauchy, Kumaraswamy,
ContinuousBernoulli.

PyTorch builds each as a TransformedDistribution of a uniform or exponential draw; here each is
written out directly (density, cdf and its inverse side by side), with the same values. Every
``rsample`` is the inverse cdf applied to u ~ U(0, 1): x = F⁻¹(u) is differentiable in the
parameters, so these are reparameterised.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ..factories import full_like, zeros_like
from ..tensor import Tensor, where
from . import constraints
from .discrete import _BinaryParameters
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, eps, lazy_property, log1p_exp, logits_to_probs, standard_uniform

_EULER_GAMMA = 0.57721566490153286061  # γ = −Γ'(1)


class _InverseCdfSampler(Distribution):
    """A family given by named scalar parameters, with ``rsample`` = ``icdf`` of u ~ U(0, 1) (u kept inside the
    open interval so that logs stay finite)."""

    has_rsample = True
    _param: Tensor

    def __init__(self, validate_args: bool | None, **parameters: Any) -> None:
        """Stores each of ``parameters`` under its name as a Tensor, all broadcast together: their shape is the
        batch shape."""
        tensors = broadcast_all(*parameters.values())
        self.__dict__.update(zip(parameters, tensors))
        self._param = tensors[0]  # the dtype of rsample's uniform draw
        super().__init__(tensors[0].shape, validate_args=validate_args)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = standard_uniform(self._extended_shape(sample_shape), self._param)
        return self.icdf(u.clamp(max=1 - eps(u.dtype)))


class Gumbel(_InverseCdfSampler):
    r"""Gumbel (type-I extreme value) distribution with ``loc`` μ and ``scale`` β > 0.

    density   p(x) = exp(−(z + e^(−z))) / β,  z = (x − μ)/β
    cdf       F(x) = exp(−e^(−z));   F⁻¹(q) = μ − β log(−log q)
    mean = μ + βγ (γ Euler's constant),  mode = μ,  variance = π²β²/6,  entropy = log β + γ + 1
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        super().__init__(validate_args, loc=loc, scale=scale)

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER_GAMMA

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale * (math.pi / math.sqrt(6))

    @property
    def variance(self) -> Tensor:
        return self.stddev ** 2

    def log_prob(self, value: Tensor) -> Tensor:
        z = (self._checked(value) - self.loc) / self.scale
        return -(self.scale.log() + z + (-z).exp())

    def cdf(self, value: Tensor) -> Tensor:
        return (-(-(self._checked(value) - self.loc) / self.scale).exp()).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER_GAMMA)


class Weibull(_InverseCdfSampler):
    r"""Weibull distribution with ``scale`` λ > 0 and ``concentration`` k > 0.

    density   p(x) = (k/λ) (x/λ)^(k−1) e^(−(x/λ)^k)  for x > 0
    cdf       F(x) = 1 − e^(−(x/λ)^k);   F⁻¹(q) = λ (−log(1 − q))^(1/k)
    mean = λ Γ(1 + 1/k),  mode = λ ((k − 1)/k)^(1/k) (nan for k < 1, as PyTorch),
    variance = λ² (Γ(1 + 2/k) − Γ(1 + 1/k)²),  entropy = γ (1 − 1/k) + log(λ/k) + 1
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"scale": constraints.positive,
                                                             "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale: Any, concentration: Any, validate_args: bool | None = None) -> None:
        super().__init__(validate_args, scale=scale, concentration=concentration)

    @property
    def mean(self) -> Tensor:
        return self.scale * (1 + self.concentration.reciprocal()).lgamma().exp()

    @property
    def mode(self) -> Tensor:
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self) -> Tensor:
        k = self.concentration
        return self.scale ** 2 * ((1 + 2 / k).lgamma().exp() - (1 + 1 / k).lgamma().exp() ** 2)

    def log_prob(self, value: Tensor) -> Tensor:
        z = self._checked(value) / self.scale
        k = self.concentration
        return (k / self.scale).log() + (k - 1) * z.log() - z ** k

    def cdf(self, value: Tensor) -> Tensor:
        return -(-((self._checked(value) / self.scale) ** self.concentration)).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        return self.scale * (-(-value).log1p()) ** self.concentration.reciprocal()

    def entropy(self) -> Tensor:
        k = self.concentration
        return _EULER_GAMMA * (1 - k.reciprocal()) + (self.scale / k).log() + 1


class Pareto(_InverseCdfSampler):
    r"""Pareto (type I) distribution with ``scale`` x_m > 0 and ``alpha`` α > 0, on x ≥ x_m.

    density   p(x) = α x_mᵅ / x^(α+1)
    cdf       F(x) = 1 − (x_m/x)ᵅ;   F⁻¹(q) = x_m (1 − q)^(−1/α)
    mean = α x_m/(α − 1) (inf for α ≤ 1),  mode = x_m,  variance = x_m² α / ((α − 1)² (α − 2)) (inf for α ≤ 2),
    entropy = log(x_m/α) + 1/α + 1
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"scale": constraints.positive,
                                                             "alpha": constraints.positive}

    def __init__(self, scale: Any, alpha: Any, validate_args: bool | None = None) -> None:
        super().__init__(validate_args, scale=scale, alpha=alpha)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self) -> Tensor:
        a = self.alpha.clamp(min=1)  # PyTorch's form: α ≤ 1 gives x_m·1/0 = inf
        return a * self.scale / (a - 1)

    @property
    def mode(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        a = self.alpha.clamp(min=2)
        return self.scale ** 2 * a / ((a - 1) ** 2 * (a - 2))

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self.alpha.log() + self.alpha * self.scale.log() - (self.alpha + 1) * value.log()

    def cdf(self, value: Tensor) -> Tensor:
        return 1 - (self.scale / self._checked(value)) ** self.alpha

    def icdf(self, value: Tensor) -> Tensor:
        return self.scale * (-(-value).log1p() / self.alpha).exp()

    def entropy(self) -> Tensor:
        return (self.scale / self.alpha).log() + self.alpha.reciprocal() + 1


class HalfCauchy(_InverseCdfSampler):
    r"""|X| for X ~ Cauchy(0, γ), with ``scale`` γ > 0.

    density   p(x) = 2 / (π γ (1 + (x/γ)²))  for x ≥ 0
    cdf       F(x) = (2/π) atan(x/γ);   F⁻¹(q) = γ tan(πq/2)
    mean = inf,  mode = 0,  variance = inf,  entropy = log(2πγ)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"scale": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, scale: Any, validate_args: bool | None = None) -> None:
        super().__init__(validate_args, scale=scale)

    @property
    def mean(self) -> Tensor:
        return full_like(self.scale, math.inf)

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.scale)

    @property
    def variance(self) -> Tensor:
        return full_like(self.scale, math.inf)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        log_prob = math.log(2 / math.pi) - self.scale.log() - ((value / self.scale) ** 2).log1p()
        return where(value >= 0, log_prob, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        return (self._checked(value) / self.scale).atan() * (2 / math.pi)

    def icdf(self, value: Tensor) -> Tensor:
        return self.scale * (value * (math.pi / 2)).tan()

    def entropy(self) -> Tensor:
        return math.log(2 * math.pi) + self.scale.log()


class Kumaraswamy(_InverseCdfSampler):
    r"""Kumaraswamy distribution on (0, 1) with ``concentration1`` a > 0 and ``concentration0`` b > 0
    (a Beta look-alike whose cdf has a closed form).

    density   p(x) = a b x^(a−1) (1 − xᵃ)^(b−1)
    cdf       F(x) = 1 − (1 − xᵃ)ᵇ;   F⁻¹(q) = (1 − (1 − q)^(1/b))^(1/a)
    moments   E[Xⁿ] = b B(1 + n/a, b),  mean = E[X],  variance = E[X²] − E[X]²
    mode = ((a − 1)/(ab − 1))^(1/a) (nan unless a ≥ 1 and b ≥ 1, as PyTorch),
    entropy = (1 − 1/b) + (1 − 1/a) H_b − log(ab),  H_b = ψ(b + 1) + γ (the harmonic number)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"concentration1": constraints.positive,
                                                             "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: bool | None = None) -> None:
        super().__init__(validate_args, concentration1=concentration1, concentration0=concentration0)

    def _moment(self, n: int) -> Tensor:
        """E[Xⁿ] = b Γ(1 + n/a) Γ(b) / Γ(1 + n/a + b)."""
        a, b = self.concentration1, self.concentration0
        shifted = 1 + n / a
        return b * (shifted.lgamma() + b.lgamma() - (shifted + b).lgamma()).exp()

    @property
    def mean(self) -> Tensor:
        return self._moment(1)

    @property
    def mode(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        mode = ((a - 1) / (a * b - 1)) ** a.reciprocal()
        return where((a < 1) | (b < 1), math.nan, mode)

    @property
    def variance(self) -> Tensor:
        return self._moment(2) - self._moment(1) ** 2

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        a, b = self.concentration1, self.concentration0
        return (a * b).log() + (a - 1) * value.log() + (b - 1) * (-(value ** a)).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return 1 - (1 - self._checked(value) ** a) ** b

    def icdf(self, value: Tensor) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return (1 - (1 - value) ** b.reciprocal()) ** a.reciprocal()

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        harmonic = (b + 1).digamma() + _EULER_GAMMA
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic - (a * b).log()


class ContinuousBernoulli(_BinaryParameters, ExponentialFamily):
    r"""Continuous Bernoulli on [0, 1] (Loaiza-Ganem & Cunningham 2019) with ``probs`` λ or ``logits``: the
    Bernoulli likelihood λˣ(1 − λ)^(1−x) normalised as a density over x ∈ [0, 1] (a VAE decoder for [0, 1] data).

    density   p(x) = C(λ) λˣ (1 − λ)^(1−x),   C(λ) = 2 atanh(1 − 2λ) / (1 − 2λ)  (C(½) = 2)
              log C = log|log(1 − λ) − log λ| − log|1 − 2λ|
    cdf       F(x) = (λˣ (1 − λ)^(1−x) + λ − 1) / (2λ − 1);
              F⁻¹(q) = (log1p((2λ − 1) q − λ) − log1p(−λ)) / (log λ − log(1 − λ))
    mean = λ/(2λ − 1) + 1/(log(1 − λ) − log λ),   variance = λ(λ − 1)/(1 − 2λ)² + 1/(log(1 − λ) − log λ)²,
    entropy = mean · (log(1 − λ) − log λ) − log C − log(1 − λ).   No mode (PyTorch has none).
    Within ``lims`` (default (0.499, 0.501)) of λ = ½ the closed forms divide 0 by 0, so λ is cut to lims[0]
    there and Taylor series in (λ − ½) are used instead (PyTorch's scheme):
        log C ≈ log 2 + (4/3 + 104/45 t) t,  t = (λ − ½)²;   mean ≈ ½ + (1/3 + 16/45 d²) d,  d = λ − ½;
        variance ≈ 1/12 − (1/15 − 128/945 t) t;   cdf ≈ x, icdf ≈ q
    rsample   F⁻¹(u), u ~ U(0, 1)
    """

    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs: Any = None, logits: Any = None, lims: tuple[float, float] = (0.499, 0.501),
                 validate_args: bool | None = None) -> None:
        self._lims = lims
        super().__init__(probs, logits, validate_args=validate_args)
        if "probs" in self.__dict__:  # validated first, then clamped away from 0 and 1 (as PyTorch)
            self.probs = clamp_probs(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        """λ = σ(l), clamped into [eps, 1 − eps]."""
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    def _stable(self) -> Tensor:
        """True where λ is outside ``lims``, where the closed forms are used."""
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        return where(self._stable(), self.probs, self._lims[0])

    def _log_ratio(self, cut: Tensor) -> Tensor:
        """log(1 − λ) − log λ (= −logit)."""
        return (-cut).log1p() - cut.log()

    def _log_normaliser(self) -> Tensor:
        cut = self._cut_probs()
        below = where(cut <= 0.5, cut, 0.0)
        above = where(cut >= 0.5, cut, 1.0)
        exact = self._log_ratio(cut).abs().log() - where(cut <= 0.5, (-2.0 * below).log1p(), (2.0 * above - 1).log())
        t = (self.probs - 0.5) ** 2
        return where(self._stable(), exact, math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * t) * t)

    @property
    def mean(self) -> Tensor:
        cut = self._cut_probs()
        d = self.probs - 0.5
        exact = cut / (2.0 * cut - 1.0) + self._log_ratio(cut).reciprocal()
        return where(self._stable(), exact, 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * d ** 2) * d)

    @property
    def variance(self) -> Tensor:
        cut = self._cut_probs()
        t = (self.probs - 0.5) ** 2
        exact = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 + self._log_ratio(cut) ** -2
        return where(self._stable(), exact, 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * t) * t)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.icdf(standard_uniform(self._extended_shape(sample_shape), self._param))

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return value * self.logits - log1p_exp(self.logits) + self._log_normaliser()  # −BCE-with-logits + log C

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        cut = self._cut_probs()
        exact = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        inside = where(self._stable(), exact, value)
        return where(value <= 0, 0.0, where(value >= 1, 1.0, inside))

    def icdf(self, value: Tensor) -> Tensor:
        cut = self._cut_probs()
        exact = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / -self._log_ratio(cut)
        return where(self._stable(), exact, value)

    def entropy(self) -> Tensor:
        log_probs0, log_probs1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_probs0 - log_probs1) - self._log_normaliser() - log_probs0

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """θ = l (the logit) for t(x) = x."""
        return (self.logits,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """F(θ) = log ∫₀¹ e^(θx) dx = log((e^θ − 1)/θ); θ/2 + θ²/24 − θ⁴/2880 where |θ| is within ``lims`` − ½ of 0
        (torch compares the logit with lims − ½ there)."""
        low, high = self._lims[0] - 0.5, self._lims[1] - 0.5
        stable = (x <= low) | (x > high)
        cut = where(stable, x, low)
        exact = cut.expm1().abs().log() - cut.abs().log()
        return where(stable, exact, 0.5 * x + x ** 2 / 24.0 - x ** 4 / 2880.0)


class GeneralizedPareto(_InverseCdfSampler):
    r"""Generalized Pareto distribution with ``loc`` μ, ``scale`` σ > 0 and ``concentration`` ξ (any real):
    the limit law of exceedances over a high threshold (peaks over threshold).

    with z = (x − μ)/σ:
    density   log p(x) = −log σ − (1/ξ + 1) log(1 + ξz)   (ξ ≠ 0);   −log σ − z   (ξ = 0: the exponential)
    cdf       F(x) = 1 − (1 + ξz)^(−1/ξ)   (1 − e^(−z) at ξ = 0)
    icdf      F⁻¹(q) = μ + σ ((1 − q)^(−ξ) − 1)/ξ   (μ − σ log(1 − q) at ξ = 0)
    support   [μ, μ − σ/ξ] for ξ < 0, [μ, ∞) otherwise
    mean = μ + σ/(1 − ξ) (nan for ξ ≥ 1),  mode = μ,  variance = σ²/((1 − ξ)²(1 − 2ξ)) (nan for ξ ≥ ½),
    entropy = log σ + ξ + 1.   ξ within 1e-8 of 0 counts as 0 (torch.isclose's tolerance).
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"loc": constraints.real, "scale": constraints.positive,
                                                             "concentration": constraints.real}

    def __init__(self, loc: Any, scale: Any, concentration: Any, validate_args: bool | None = None) -> None:
        super().__init__(validate_args, loc=loc, scale=scale, concentration=concentration)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self) -> constraints.Constraint:
        upper = where(self.concentration < 0, self.loc - self.scale / self.concentration, math.inf)
        return constraints.interval(self.loc, upper)

    def _zero_and_safe(self) -> tuple[Tensor, Tensor]:
        """(ξ ≈ 0, ξ with those entries replaced by 1 so that the ξ ≠ 0 branch stays finite there)."""
        zero = self.concentration.abs() <= 1e-8
        return zero, where(zero, 1.0, self.concentration)

    @property
    def mean(self) -> Tensor:
        valid = self.concentration < 1
        return where(valid, self.loc + self.scale / (1 - where(valid, self.concentration, 0.5)), math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        valid = self.concentration < 0.5
        xi = where(valid, self.concentration, 0.25)
        return where(valid, self.scale ** 2 / ((1 - xi) ** 2 * (1 - 2 * xi)), math.nan)

    def log_prob(self, value: Tensor) -> Tensor:
        z = (self._checked(value) - self.loc) / self.scale
        zero, xi = self._zero_and_safe()
        power = 1 / xi + 1
        nonzero = where(power == 0, power, power * (xi * z).log1p())
        return -self.scale.log() - where(zero, z, nonzero)

    def cdf(self, value: Tensor) -> Tensor:
        z = (self._checked(value) - self.loc) / self.scale
        zero, xi = self._zero_and_safe()
        log_survival = where(zero, -z, -(xi * z).log1p() / xi)
        return -log_survival.expm1()

    def icdf(self, value: Tensor) -> Tensor:
        zero, xi = self._zero_and_safe()
        log_1mq = (-value).log1p()
        return where(zero, self.loc - self.scale * log_1mq, self.loc + self.scale / xi * (-xi * log_1mq).expm1())

    def entropy(self) -> Tensor:
        return self.scale.log() + self.concentration + 1


__all__ = ["ContinuousBernoulli", "GeneralizedPareto", "Gumbel", "HalfCauchy", "Kumaraswamy", "Pareto", "Weibull"]
