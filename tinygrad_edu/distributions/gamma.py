"""The gamma family: Gamma, Chi2, Beta, Dirichlet, FisherSnedecor, and the reparameterised gamma sampler they share.

Gamma samples cannot be written as x = g(α, ε) with a closed-form g, so the reparameterisation
uses the *implicit function theorem* instead (Figurnov et al. 2018, "Implicit
Reparameterization Gradients"). Hold the cdf value fixed, F(x; α) = u; differentiating gives

    ∂x/∂α = −(∂F/∂α)(x; α) / p(x; α)

With F(x; α) = P(α, x) = Σₙ x^(α+n) e^(−x) / Γ(α+n+1) (the series of the regularised lower
incomplete gamma function) and p(x; α) = x^(α−1) e^(−x) / Γ(α), term by term:

    ∂x/∂α = −Σₙ x^(n+1) Γ(α)/Γ(α+n+1) · (log x − ψ(α+n+1))

The series needs ~(x − α)⁺ + 10√x terms, so for large α (α > 50) the derivative comes from the
asymptotic (Rice saddle-point) expansion that PyTorch's ``_standard_gamma_grad`` uses for α > 8
(``_standard_gamma_grad_asymptotic``), O(1) per sample and within 1e-4 of the series there.

The sample value comes from NumPy's gamma sampler; the Tensor ``x + ∂x/∂α · (α − stop_grad(α))``
has that value and the derivative ∂x/∂α with respect to α, so gradients flow through ops only.
Beta and Dirichlet normalise independent gammas: (X₁, …, X_k)/ΣX with Xᵢ ~ Gamma(αᵢ).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import random
from ..autograd import is_grad_enabled
from ..tensor import Tensor, stack, where
from . import constraints
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .utils import as_float_tensor, broadcast_all, constant, tiny

_ASYMPTOTIC_ALPHA = 50.0  # above: the Rice expansion (relative error ≤ 1e-4 measured against the series)


def _standard_gamma_grad_asymptotic(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∂x/∂α for large α by the saddle-point (Rice) expansion of PyTorch's ``_standard_gamma_grad``.

    Near the mode, 0.9α ≤ x ≤ 1.1α (where the general form divides 0 by 0), a polynomial:
        ∂x/∂α ≈ (1 + 24α(1 + 12α)) (1440α² + 6x(53 − 120x) − 65x²/α + α(107 + 3600x)) / (1244160 α⁴)
    elsewhere, with d = √(8α), t₂ = d/(α − x), t₃ = (x − α − α log(x/α))^(−3/2):
        t₁ = log(x/α) (t₂ ∓ t₃) − √(2/α) (α + x)/(α − x)²      (− for x < α, + for x > α)
        ∂x/∂α ≈ −(1 + (1 + 1/(24α))/(12α)) · x t₁ / d           (the first factor: Stirling's series of Γ)
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # each branch is computed everywhere, used on its side
        near_mode = (0.9 * alpha <= x) & (x <= 1.1 * alpha)
        polynomial = ((1 + 24 * alpha * (1 + 12 * alpha))
                      * (1440 * alpha ** 2 + 6 * x * (53 - 120 * x) - 65 * x ** 2 / alpha + alpha * (107 + 3600 * x))
                      / (1244160 * alpha ** 4))
        d = np.sqrt(8 * alpha)
        t2, t3 = d / (alpha - x), (x - alpha - alpha * np.log(x / alpha)) ** -1.5
        t1 = (np.log(x / alpha) * np.where(x < alpha, t2 - t3, t2 + t3)
              - np.sqrt(2 / alpha) * (alpha + x) / (alpha - x) ** 2)
        stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
        return np.where(near_mode, polynomial, -stirling * x * t1 / d)


def standard_gamma_grad(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∂x/∂α of a Gamma(α, 1) sample x at fixed cdf value (float64; formula in the module docstring).

    The terms rise while n < x − α and then fall off like a Gaussian of width ~√x, so
    (x − α)⁺ + 10√x + 30 terms reach double precision. Where x lies far above α (probability
    ~e^(−x)) the rising terms are large and the sum loses digits to cancellation (and overflows
    beyond x − α ≈ 700).
    For α > ``_ASYMPTOTIC_ALPHA`` the asymptotic expansion replaces the series.
    """
    alpha, x = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(x, np.float64))
    large = alpha > _ASYMPTOTIC_ALPHA
    if large.any():
        result = np.empty(x.shape)
        result[large] = _standard_gamma_grad_asymptotic(alpha[large], x[large])
        result[~large] = standard_gamma_grad(alpha[~large], x[~large])
        return result
    # the series as a recurrence over n, all elements at once: with rₙ = 1/(α + n),
    #   Tₙ = x^(n+1) Γ(α)/Γ(α+n+1) = Tₙ₋₁ · x rₙ  (T₀ = x/α),   Sₙ = ψ(α+n+1) − ψ(α+1) = Sₙ₋₁ + rₙ  (S₀ = 0)
    #   ∂x/∂α = −Σₙ Tₙ (log x − ψ(α+1) − Sₙ)
    # Elements are sorted by the number of terms they need, so those still summing at step n are a suffix.
    needed = np.maximum(x - alpha, 0) + 10 * np.sqrt(x) + 30
    order = np.argsort(needed, axis=None)
    a, xs, needed = alpha.ravel()[order], x.ravel()[order], needed.ravel()[order]
    term = xs / a
    partial_harmonic, total, weighted = np.zeros_like(xs), term.copy(), np.zeros_like(xs)
    for n in range(1, int(needed.max(initial=0)) + 1):
        live = slice(int(np.searchsorted(needed, n)), None)  # elements that need term n
        r = 1 / (a[live] + n)
        term[live] *= xs[live] * r
        partial_harmonic[live] += r
        total[live] += term[live]
        weighted[live] += term[live] * partial_harmonic[live]
    result = np.empty(xs.shape)
    result[order] = -(total * (np.log(xs) - Tensor(a + 1).digamma().data) - weighted)
    return result.reshape(x.shape)


def standard_gamma(alpha: Tensor) -> Tensor:
    """x ~ Gamma(α, rate 1), elementwise for each entry of ``alpha``, with implicit ∂x/∂α."""
    x = random.generator().standard_gamma(alpha.data).astype(alpha.dtype)
    x = np.maximum(x, tiny(alpha.dtype))  # a sample of 0 would make log x infinite
    sample = Tensor(x)
    if not (alpha.requires_grad and is_grad_enabled()):
        return sample
    slope = constant(standard_gamma_grad(alpha.data, x), alpha)
    return sample + slope * (alpha - alpha.detach())  # value x, derivative ∂x/∂α


class _ConcentrationRate(Distribution):
    """The parameters of Gamma and InverseGamma: ``concentration`` α > 0 and ``rate`` β > 0, broadcast together."""

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"concentration": constraints.positive,
                                                             "rate": constraints.positive}
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    def _standard_gammas(self, sample_shape: Any) -> Tensor:
        """X/β with X ~ Gamma(α, 1) (implicitly reparameterised), of shape sample_shape + batch_shape."""
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return value.clamp(min=tiny(value.dtype))


class Gamma(_ConcentrationRate, ExponentialFamily):
    r"""Gamma distribution with ``concentration`` α > 0 and ``rate`` β > 0.

    density   p(x) = β^α x^(α−1) e^(−βx) / Γ(α)  for x > 0
    cdf       F(x) = P(α, βx)  (regularised lower incomplete gamma; no derivative in α, as in PyTorch)
    mean = α/β,  mode = max((α − 1)/β, 0),  variance = α/β²,
    entropy = α − log β + log Γ(α) + (1 − α) ψ(α)
    rsample   x = X/β,  X ~ Gamma(α, 1) with the implicit reparameterisation gradient (module docstring)
    """

    support = constraints.nonnegative

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self._standard_gammas(sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        alpha, beta = self.concentration, self.rate
        return alpha.xlogy(beta) + (alpha - 1).xlogy(value) - beta * value - alpha.lgamma()

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self.concentration.igamma(self.rate * value)

    def entropy(self) -> Tensor:
        alpha = self.concentration
        return alpha - self.rate.log() + alpha.lgamma() + (1.0 - alpha) * alpha.digamma()

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        """θ = (α − 1, −β) for t(x) = (log x, x)."""
        return self.concentration - 1, -self.rate

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        """F(θ) = log Γ(θ₁ + 1) + (θ₁ + 1) log(−1/θ₂)."""
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()


def _normalised_gammas(concentration: Tensor, shape: tuple[int, ...]) -> Tensor:
    """(X₁, …, X_k) / Σ X with Xᵢ ~ Gamma(αᵢ, 1): a Dirichlet(α) sample of ``shape`` (k last)."""
    gammas = standard_gamma(concentration.expand(shape))
    return gammas / gammas.sum(-1, keepdim=True)


def _dirichlet_log_normaliser(concentration: Tensor) -> Tensor:
    """log B(α) = Σ log Γ(αᵢ) − log Γ(Σ αᵢ), over the last dim."""
    return concentration.lgamma().sum(-1) - concentration.sum(-1).lgamma()


class Dirichlet(ExponentialFamily):
    r"""Dirichlet distribution on the simplex with ``concentration`` α ∈ (0, ∞)^k (last dim = event).

    density   p(x) = Π xᵢ^(αᵢ−1) / B(α),  B(α) = Π Γ(αᵢ) / Γ(α₀),  α₀ = Σ αᵢ,  x ≥ 0, Σ xᵢ = 1
    mean = αᵢ/α₀,  mode = (αᵢ − 1)/(α₀ − k) (where every αᵢ > 1),  variance = αᵢ(α₀ − αᵢ) / (α₀² (α₀ + 1))
    entropy = log B(α) + (α₀ − k) ψ(α₀) − Σ (αᵢ − 1) ψ(αᵢ)
    rsample   normalised gammas, Xᵢ/ΣX; gradients by the gamma's implicit reparameterisation.
    (PyTorch differentiates the Dirichlet's own cdf instead: same expectation, different per-sample gradient.)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {
        "concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Any, validate_args: bool | None = None) -> None:
        concentration = as_float_tensor(concentration)
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        above_one = (self.concentration - 1).clamp(min=0)
        mode = above_one / above_one.sum(-1, keepdim=True)
        # every αᵢ < 1: the density is largest at a vertex; PyTorch picks the one at argmax of mode
        vertex = constant(np.eye(mode.shape[-1])[np.nan_to_num(mode.data).argmax(-1)], mode)
        all_below = Tensor((self.concentration.data < 1).all(-1, keepdims=True))
        return where(all_below, vertex, mode)

    @property
    def variance(self) -> Tensor:
        total = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (total - self.concentration) / (total ** 2 * (total + 1))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return _normalised_gammas(self.concentration, self._extended_shape(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return (self.concentration - 1).xlogy(value).sum(-1) - _dirichlet_log_normaliser(self.concentration)

    def entropy(self) -> Tensor:
        alpha = self.concentration
        k, total = alpha.shape[-1], alpha.sum(-1)
        return (_dirichlet_log_normaliser(alpha) + (total - k) * total.digamma()
                - ((alpha - 1.0) * alpha.digamma()).sum(-1))

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """θ = α for t(x) = log x (torch's; carrier k(x) = −Σ log xᵢ)."""
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """F(θ) = log B(α)."""
        return _dirichlet_log_normaliser(x)

    @property
    def _mean_carrier_measure(self) -> Tensor:
        """E[−Σ log Xᵢ] = k ψ(α₀) − Σ ψ(αᵢ)."""
        alpha = self.concentration
        return alpha.shape[-1] * alpha.sum(-1).digamma() - alpha.digamma().sum(-1)


class Beta(ExponentialFamily):
    r"""Beta distribution on [0, 1] with ``concentration1`` a > 0 and ``concentration0`` b > 0.

    density   p(x) = x^(a−1) (1 − x)^(b−1) / B(a, b),  B(a, b) = Γ(a)Γ(b)/Γ(a + b)
    mean = a/(a + b),  mode = (a − 1)/(a + b − 2),  variance = ab / ((a + b)² (a + b + 1))
    entropy = log B(a, b) − (a − 1)ψ(a) − (b − 1)ψ(b) + (a + b − 2)ψ(a + b)
    rsample   X/(X + Y),  X ~ Gamma(a), Y ~ Gamma(b)  (the Dirichlet on (x, 1 − x))
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"concentration1": constraints.positive,
                                                             "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(stack([self.concentration1, self.concentration0], -1), validate_args=False)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self._dirichlet.rsample(sample_shape)[..., 0]

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self._dirichlet.log_prob(stack([value, 1.0 - value], -1))

    def entropy(self) -> Tensor:
        return self._dirichlet.entropy()

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        """θ = (a, b) for t(x) = (log x, log(1 − x)) (torch's; carrier k(x) = −log x − log(1 − x))."""
        return self.concentration1, self.concentration0

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        """F(θ) = log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b)."""
        return x.lgamma() + y.lgamma() - (x + y).lgamma()

    @property
    def _mean_carrier_measure(self) -> Tensor:
        """E[−log X − log(1 − X)] = 2ψ(a + b) − ψ(a) − ψ(b)."""
        return self._dirichlet._mean_carrier_measure


class Chi2(Gamma):
    r"""Chi-squared distribution with ``df`` ν > 0: the sum of ν squared standard normals, = Gamma(ν/2, ½).

    density   p(x) = x^(ν/2−1) e^(−x/2) / (2^(ν/2) Γ(ν/2));   mean = ν,  variance = 2ν
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None) -> None:
        (df,) = broadcast_all(df)
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    @property
    def df(self) -> Tensor:
        """ν = 2α."""
        return self.concentration * 2


class FisherSnedecor(Distribution):
    r"""Fisher–Snedecor F distribution with ``df1`` d₁ > 0 and ``df2`` d₂ > 0: (χ²_{d₁}/d₁) / (χ²_{d₂}/d₂).

    density   log p(x) = log Γ((d₁+d₂)/2) − log Γ(d₁/2) − log Γ(d₂/2) + (d₁/2) log(d₁/d₂)
                         + (d₁/2 − 1) log x − ((d₁+d₂)/2) log(1 + d₁x/d₂)
    mean = d₂/(d₂ − 2) (nan for d₂ ≤ 2),  mode = (d₁ − 2)/d₁ · d₂/(d₂ + 2) (nan for d₁ ≤ 2),
    variance = 2d₂²(d₁ + d₂ − 2) / (d₁ (d₂ − 2)² (d₂ − 4)) (nan for d₂ ≤ 4)
    rsample   X₁/X₂ with Xᵢ ~ Gamma(dᵢ/2, rate dᵢ/2)  (each = χ²_{dᵢ}/dᵢ; gamma reparameterised)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"df1": constraints.positive,
                                                             "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1: Any, df2: Any, validate_args: bool | None = None) -> None:
        self.df1, self.df2 = broadcast_all(df1, df2)
        super().__init__(self.df1.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        df2 = self.df2
        return where(df2 > 2, df2 / (df2 - 2), np.nan)

    @property
    def mode(self) -> Tensor:
        ratio = (self.df1 - 2) / self.df1
        return where(ratio > 0, ratio * self.df2 / (self.df2 + 2), np.nan)

    @property
    def variance(self) -> Tensor:
        df1, df2 = self.df1, self.df2
        return where(df2 > 4, 2 * df2 ** 2 * (df1 + df2 - 2) / (df1 * (df2 - 2) ** 2 * (df2 - 4)), np.nan)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x1 = standard_gamma((0.5 * self.df1).expand(shape)) / (0.5 * self.df1)
        x2 = standard_gamma((0.5 * self.df2).expand(shape)) / (0.5 * self.df2)
        return (x1 / x2.clamp(min=tiny(x2.dtype))).clamp(min=tiny(x2.dtype))

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        half1, half2 = 0.5 * self.df1, 0.5 * self.df2
        log_normaliser = (half1 + half2).lgamma() - half1.lgamma() - half2.lgamma()
        ratio = self.df1 / self.df2
        return (log_normaliser + half1 * ratio.log() + (half1 - 1) * value.log()
                - (half1 + half2) * (ratio * value).log1p())


class InverseGamma(_ConcentrationRate):
    r"""Y = 1/X for X ~ Gamma(α, β): ``concentration`` α > 0, ``rate`` β > 0 (β is Y's scale).

    density   p(y) = βᵅ y^(−α−1) e^(−β/y) / Γ(α)  for y > 0
    cdf       F(y) = Q(α, β/y)  (the regularised upper incomplete gamma; P(Y ≤ y) = P(X ≥ 1/y))
    mean = β/(α − 1) (inf for α ≤ 1),  mode = β/(α + 1),  variance = β²/((α − 1)²(α − 2)) (inf for α ≤ 2),
    entropy = α + log β + log Γ(α) − (1 + α) ψ(α)
    rsample   1/X with X the gamma's implicitly reparameterised sample
    """

    support = constraints.positive

    @property
    def mean(self) -> Tensor:
        alpha = self.concentration
        return where(alpha > 1, self.rate / (alpha - 1), np.inf)

    @property
    def mode(self) -> Tensor:
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        alpha = self.concentration
        return where(alpha > 2, self.rate ** 2 / ((alpha - 1) ** 2 * (alpha - 2)), np.inf)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self._standard_gammas(sample_shape).reciprocal()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        alpha, beta = self.concentration, self.rate
        return alpha * beta.log() - alpha.lgamma() - (alpha + 1) * value.log() - beta / value

    def cdf(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self.concentration.igammac(self.rate / value)

    def entropy(self) -> Tensor:
        alpha = self.concentration
        return alpha + self.rate.log() + alpha.lgamma() - (1 + alpha) * alpha.digamma()
