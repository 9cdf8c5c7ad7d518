"""TransformedDistribution (Y = f(X) for X ~ base), LogNormal (the exp of a Normal) and LogisticNormal (a Normal
broken into a point of the simplex)."""

from __future__ import annotations

from typing import Any, ClassVar

from ..autograd import no_grad
from ..tensor import Tensor
from . import constraints
from .continuous import Normal
from .distribution import Distribution
from .multivariate import Independent
from .transforms import ComposeTransform, ExpTransform, StickBreakingTransform, Transform
from .utils import sum_rightmost


class TransformedDistribution(Distribution):
    r"""Y = f_n(… f₁(X)) for X ~ ``base_distribution`` and ``transforms`` [f₁, …, f_n].

    density (change of variables, x = f⁻¹(y)):
              log p_Y(y) = log p_X(x) − Σᵢ log|det ∂fᵢ/∂xᵢ₋₁|
    cdf       F_Y(y) = F_X(f⁻¹(y)) for increasing f  (1 − F_X(f⁻¹(y)) for decreasing f);  icdf likewise
    sample/rsample: transform a base sample (rsample exists when the base has one).
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {}

    def __init__(self, base_distribution: Distribution, transforms: Transform | list[Transform],
                 validate_args: bool | None = None) -> None:
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list) and all(isinstance(t, Transform) for t in transforms):
            self.transforms = list(transforms)
        else:
            raise ValueError(f"transforms must be a Transform or a list of Transforms, but was {transforms}")
        base_shape = base_distribution.batch_shape + base_distribution.event_shape
        base_event_dim = len(base_distribution.event_shape)
        transform = ComposeTransform(self.transforms)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least {transform.domain.event_dim}, "
                             f"but got {base_shape}.")
        reinterpreted = transform.domain.event_dim - base_event_dim
        self.base_dist = Independent(base_distribution, reinterpreted) if reinterpreted > 0 else base_distribution
        event_dim = transform.codomain.event_dim + max(base_event_dim - transform.domain.event_dim, 0)
        shape = transform.forward_shape(base_shape)   # a transform may change the event size (stick breaking: +1)
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @constraints.dependent_property
    def support(self) -> constraints.Constraint:
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        event_dim = len(self.event_shape)
        return constraints.independent(support, event_dim - support.event_dim) if event_dim > support.event_dim \
            else support

    def _forward(self, x: Tensor) -> Tensor:
        for transform in self.transforms:
            x = transform(x)
        return x

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            return self._forward(self.base_dist.sample(sample_shape))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self._forward(self.base_dist.rsample(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        event_dim = len(self.event_shape)
        log_prob: Any = 0.0
        y = value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            event_dim += transform.domain.event_dim - transform.codomain.event_dim
            log_prob = log_prob - sum_rightmost(transform.log_abs_det_jacobian(x, y),
                                                event_dim - transform.domain.event_dim)
            y = x
        return log_prob + sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value: Tensor) -> Tensor:
        """A decreasing transform turns F into 1 − F: sign · (F − ½) + ½."""
        sign = ComposeTransform(self.transforms).sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value: Tensor) -> Tensor:
        for transform in reversed(self.transforms):
            value = transform.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value: Tensor) -> Tensor:
        return self._forward(self.base_dist.icdf(self._monotonize_cdf(value)))


class LogNormal(TransformedDistribution):
    r"""Y = e^X with X ~ N(μ, σ²) (``loc`` μ, ``scale`` σ > 0).

    density   p(y) = exp(−(log y − μ)² / (2σ²)) / (y σ √(2π))  for y > 0
    cdf       F(y) = Φ((log y − μ)/σ);   F⁻¹(q) = exp(μ + σ Φ⁻¹(q))
    mean = e^(μ + σ²/2),  mode = e^(μ − σ²),  variance = (e^(σ²) − 1) e^(2μ + σ²),  entropy = H[N(μ, σ²)] + μ
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        super().__init__(Normal(loc, scale, validate_args=validate_args), ExpTransform(), validate_args=validate_args)

    @property
    def loc(self) -> Tensor:
        """μ, the mean of log Y."""
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        """σ, the standard deviation of log Y."""
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale ** 2 / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale ** 2).exp()

    @property
    def variance(self) -> Tensor:
        scale_sq = self.scale ** 2
        return scale_sq.expm1() * (2 * self.loc + scale_sq).exp()

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc


class LogisticNormal(TransformedDistribution):
    r"""Y = StickBreaking(X) for X ~ N(μ, diag σ²) on ℝᴷ⁻¹ (``loc`` μ, ``scale`` σ > 0): a distribution on the
    simplex in ℝᴷ (Aitchison's logistic normal, with torch's stick-breaking map instead of the softmax).

    log p(y) = log N(x; μ, σ²) − log|det J(x)|,  x = the inverse stick breaking of y (transforms.py)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    @property
    def loc(self) -> Tensor:
        """μ of the normal in ℝᴷ⁻¹."""
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> Tensor:
        """σ of the normal in ℝᴷ⁻¹."""
        return self.base_dist.base_dist.scale
