"""Distributions over vectors: MultivariateNormal, and the two combinators Independent and
MixtureSameFamily that build event dimensions and mixtures out of other distributions.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import linalg
from ..factories import eye
from ..tensor import Tensor
from . import constraints
from .continuous import CenteredAtLoc
from .discrete import Categorical
from .distribution import Distribution
from .utils import as_float_tensor, lazy_property, standard_normal, sum_rightmost


def _batch_mahalanobis(scale_tril: Tensor, diff: Tensor) -> Tensor:
    """‖L⁻¹ d‖² = dᵀ Σ⁻¹ d for Σ = L Lᵀ, broadcasting the batch dims of L and d.

    When d's trailing batch dims are L's, its leading ones become extra right-hand sides of one
    triangular solve per matrix of L (a shared covariance is solved once for a whole batch of d);
    otherwise both are broadcast to one batch first.
    """
    k, tril_batch, diff_batch = diff.shape[-1], tuple(scale_tril.shape[:-2]), tuple(diff.shape[:-1])
    n_tril = len(tril_batch)
    if diff_batch[len(diff_batch) - n_tril:] == tril_batch:
        columns = diff.reshape((-1, *tril_batch, k)).permute(*range(1, n_tril + 2), 0)   # (*tril_batch, k, n)
        solved = linalg.solve_triangular(scale_tril, columns, upper=False)
        return (solved ** 2).sum(-2).permute(n_tril, *range(n_tril)).reshape(diff_batch)
    batch = tuple(np.broadcast_shapes(tril_batch, diff_batch))
    solved = linalg.solve_triangular(scale_tril.expand((*batch, k, k)), diff.expand((*batch, k)).unsqueeze(-1),
                                     upper=False)
    return (solved.squeeze(-1) ** 2).sum(-1)


def _half_log_det(scale_tril: Tensor) -> Tensor:
    """½ log det Σ = Σᵢ log Lᵢᵢ."""
    return scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def _one_matrix(covariance_matrix: Any, precision_matrix: Any, scale_tril: Any) -> tuple[str, Tensor]:
    """(name, matrix) of the one matrix parameter given (MultivariateNormal, Wishart), checked to be ≥ 2-D."""
    given = {"scale_tril": scale_tril, "covariance_matrix": covariance_matrix, "precision_matrix": precision_matrix}
    given = {name: as_float_tensor(m) for name, m in given.items() if m is not None}
    if len(given) != 1:
        raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
    ((name, matrix),) = given.items()
    if matrix.ndim < 2:
        raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch dimensions"
                         if name == "scale_tril" else
                         f"{name} must be at least two-dimensional, with optional leading batch dimensions")
    return name, matrix


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """L (lower, L Lᵀ = P⁻¹) from a precision matrix P without inverting P (PyTorch's way).

    With J the order-reversing permutation, factor J P J = L_f L_fᵀ; then P = (J L_f J)(J L_f J)ᵀ with
    U = J L_f J upper triangular, so P⁻¹ = U⁻ᵀ U⁻¹ and L = U⁻ᵀ: one triangular solve, Uᵀ L = I.
    """
    flipped_factor = linalg.cholesky(precision.flip((-2, -1)))
    inverse_factor = flipped_factor.flip((-2, -1)).mT                               # Uᵀ, lower triangular
    return linalg.solve_triangular(inverse_factor, eye(precision.shape[-1], dtype=precision.dtype), upper=False)


def _cholesky_factor(name: str, matrix: Tensor) -> Tensor:
    """L with L Lᵀ = Σ, from Σ, Σ⁻¹ or L itself, of the matrices as given, not broadcast: a covariance
    shared by a batch is factorised once."""
    if name == "scale_tril":
        return matrix
    return linalg.cholesky(matrix) if name == "covariance_matrix" else _precision_to_scale_tril(matrix)


class CholeskyMatrices:
    """Mixin: scale_tril, covariance_matrix and precision_matrix of a distribution that keeps L (Σ = L Lᵀ) as
    ``_unbroadcasted_scale_tril``, each expanded to batch_shape + (k, k) on first use."""

    _unbroadcasted_scale_tril: Tensor
    _batch_shape: tuple[int, ...]

    def _batched(self, value: Tensor, event_dims: int = 1) -> Tensor:
        """``value`` (computed from the unbroadcast L) expanded to batch_shape + ``event_dims`` trailing dims."""
        return value.expand(self._batch_shape + tuple(value.shape[value.ndim - event_dims:]))

    @lazy_property
    def scale_tril(self) -> Tensor:
        """L, the lower Cholesky factor of Σ."""
        return self._batched(self._unbroadcasted_scale_tril, 2)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        """Σ = L Lᵀ."""
        return self._batched(self._unbroadcasted_scale_tril @ self._unbroadcasted_scale_tril.transpose(-1, -2), 2)

    @lazy_property
    def precision_matrix(self) -> Tensor:
        """Σ⁻¹ = L⁻ᵀ L⁻¹."""
        return self._batched(self._unbroadcasted_scale_tril.cholesky_inverse(), 2)


class MultivariateNormal(CholeskyMatrices, CenteredAtLoc, Distribution):
    r"""Multivariate normal N(μ, Σ) on ℝᵏ, given ``loc`` μ and exactly one of ``covariance_matrix`` Σ,
    ``precision_matrix`` Σ⁻¹ or ``scale_tril`` L (lower-triangular, positive diagonal, Σ = L Lᵀ).

    density   p(x) = exp(−½ (x − μ)ᵀ Σ⁻¹ (x − μ)) / √((2π)ᵏ det Σ)
              log p(x) = −½ (k log 2π + ‖L⁻¹(x − μ)‖²) − Σᵢ log Lᵢᵢ
    mean = mode = μ,  variance = diag Σ = Σⱼ L_ij²,  entropy = ½ k (1 + log 2π) + Σᵢ log Lᵢᵢ
    rsample   x = μ + L ε,  ε ~ N(0, I_k)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"loc": constraints.real_vector,
                                                             "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    _not_batched = ("_unbroadcasted_scale_tril",)  # broadcasts where it is used, as in torch

    def __init__(self, loc: Any, covariance_matrix: Any = None, precision_matrix: Any = None, scale_tril: Any = None,
                 validate_args: bool | None = None) -> None:
        loc = as_float_tensor(loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        name, matrix = _one_matrix(covariance_matrix, precision_matrix, scale_tril)
        k = loc.shape[-1]
        if tuple(matrix.shape[-2:]) != (k, k):
            raise ValueError(f"MultivariateNormal: loc of shape {tuple(loc.shape)} needs {k} x {k} matrices, "
                             f"but {name} has shape {tuple(matrix.shape)}")
        batch_shape = tuple(np.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1]))
        setattr(self, name, matrix.expand((*batch_shape, k, k)))
        self.loc = loc.expand((*batch_shape, k))
        super().__init__(batch_shape, (k,), validate_args=validate_args)
        self._unbroadcasted_scale_tril = _cholesky_factor(name, matrix)

    @property
    def variance(self) -> Tensor:
        return self._batched((self._unbroadcasted_scale_tril ** 2).sum(-1))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        eps = standard_normal(self._extended_shape(sample_shape), self.loc)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        mahalanobis = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        k = self.event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + mahalanobis) - _half_log_det(self._unbroadcasted_scale_tril)

    def entropy(self) -> Tensor:
        k = self.event_shape[0]
        return self._batched(0.5 * k * (1.0 + math.log(2 * math.pi)) + _half_log_det(self._unbroadcasted_scale_tril), 0)


class Independent(Distribution):
    r"""Reinterpret the rightmost ``reinterpreted_batch_ndims`` batch dims of ``base_distribution`` as
    event dims: one event is then a block of independent draws.

    log p(x) = Σ over the reinterpreted dims of log p_base(xᵢ);   entropy likewise a sum;
    mean, mode, variance as the base's (only the shapes are regrouped).
    Example: Independent(Normal(μ of shape (B, D), σ), 1) is a diagonal Gaussian over ℝᴰ with batch (B,).
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        if reinterpreted_batch_ndims > len(base_distribution.batch_shape):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                             f"actual {reinterpreted_batch_ndims} vs {len(base_distribution.batch_shape)}")
        shape = base_distribution.batch_shape + base_distribution.event_shape
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:], validate_args=validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self) -> constraints.Constraint:
        result = self.base_dist.support
        return constraints.independent(result, self.reinterpreted_batch_ndims) if self.reinterpreted_batch_ndims \
            else result

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist}, {self.reinterpreted_batch_ndims})"


class MixtureSameFamily(Distribution):
    r"""Mixture of K components of one family: pick k ~ ``mixture_distribution`` (a Categorical over K),
    then x ~ component k of ``component_distribution`` (batch_shape ending in K).

    density   p(x) = Σ_k π_k p_k(x);   log p(x) = logsumexp_k (log π_k + log p_k(x))
    cdf       F(x) = Σ_k π_k F_k(x)   (univariate components)
    mean = Σ_k π_k μ_k,   variance = Σ_k π_k σ_k² + Σ_k π_k (μ_k − mean)²   (law of total variance)
    No rsample: the component choice is discrete.
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args: bool | None = None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of torch.distributions.Distribution")
        mixture_batch, component_batch = mixture_distribution.batch_shape, component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mixture_batch), reversed(component_batch)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mixture_batch}) is not compatible with "
                                 f"`component_distribution.batch_shape`({component_batch})")
        k_mixture, k_components = mixture_distribution.param_shape[-1], component_distribution.batch_shape[-1]
        if k_mixture is not None and k_components is not None and k_mixture != k_components:
            raise ValueError(f"`mixture_distribution component` ({k_mixture}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({k_components})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(component_batch, component_distribution.event_shape, validate_args=validate_args)

    @property
    def mixture_distribution(self) -> Categorical:
        """The Categorical over the K components."""
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        """The K components (batch_shape + (K,))."""
        return self._component_distribution

    @constraints.dependent_property
    def support(self) -> constraints.Constraint:
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    def _pad(self, x: Tensor) -> Tensor:
        """Insert the component dim K before the event dims: (…, event) → (…, 1, event)."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _weights(self) -> Tensor:
        """π with singleton event dims appended, to weight the components' moments."""
        probs = self._mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    @property
    def mean(self) -> Tensor:
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        weights, components, dim = self._weights(), self._component_distribution, -1 - self._event_ndims
        mean_of_variances = (weights * components.variance).sum(dim)
        variance_of_means = (weights * (components.mean - self._pad(self.mean)) ** 2).sum(dim)
        return mean_of_variances + variance_of_means

    def cdf(self, value: Tensor) -> Tensor:
        value = self._pad(value)
        return (self._component_distribution.cdf(value) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        log_prob_components = self._component_distribution.log_prob(self._pad(value))
        log_weights = self._mixture_distribution.logits.log_softmax(-1)
        return (log_prob_components + log_weights).logsumexp(-1)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        choice = self._mixture_distribution.sample(sample_shape)          # sample + batch
        draws = self._component_distribution.sample(sample_shape)          # sample + batch + (K,) + event
        index = choice.reshape(tuple(choice.shape) + (1,) * (1 + self._event_ndims))
        index = index.expand((*tuple(draws.shape[:-1 - self._event_ndims]), 1, *tuple(self.event_shape)))
        return draws.gather(-1 - self._event_ndims, index).squeeze(-1 - self._event_ndims)

    def __repr__(self) -> str:
        return (f"MixtureSameFamily(\n  {self._mixture_distribution},\n  {self._component_distribution})")
