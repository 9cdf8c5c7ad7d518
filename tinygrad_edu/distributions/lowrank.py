"""LowRankMultivariateNormal: a Gaussian whose covariance is low rank plus diagonal, Σ = W Wᵀ + D.

With W (n × r, r ≪ n) nothing of size n × n is ever formed: the Woodbury identity and the matrix
determinant lemma reduce every solve and determinant to the r × r *capacitance* matrix

    K = I_r + Wᵀ D⁻¹ W = C Cᵀ  (C its Cholesky factor)
    Σ⁻¹ = D⁻¹ − D⁻¹ W K⁻¹ Wᵀ D⁻¹                (Woodbury)
    det Σ = det K · Π Dᵢ                          (matrix determinant lemma)

so log_prob costs O(n r²) instead of O(n³).
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
from .distribution import Distribution
from .multivariate import _batch_mahalanobis, _half_log_det
from .utils import as_float_tensor, lazy_property, standard_normal


def _capacitance_tril(cov_factor: Tensor, cov_diag: Tensor) -> Tensor:
    """C with C Cᵀ = I_r + Wᵀ D⁻¹ W."""
    scaled = cov_factor / cov_diag.unsqueeze(-1)                            # D⁻¹ W
    r = cov_factor.shape[-1]
    return linalg.cholesky(cov_factor.mT @ scaled + eye(r, dtype=cov_factor.dtype))


class LowRankMultivariateNormal(CenteredAtLoc, Distribution):
    r"""N(μ, Σ) on ℝⁿ with Σ = W Wᵀ + diag(D): ``loc`` μ (…, n), ``cov_factor`` W (…, n, r), ``cov_diag`` D (…, n) > 0.

    log p(x) = −½ (n log 2π + log det Σ + M),   d = x − μ
        M = dᵀ Σ⁻¹ d = Σᵢ dᵢ²/Dᵢ − ‖C⁻¹ Wᵀ D⁻¹ d‖²            (Woodbury; C C ᵀ = I + Wᵀ D⁻¹ W)
        log det Σ = 2 Σⱼ log C_jj + Σᵢ log Dᵢ                 (determinant lemma)
    mean = mode = μ,  variance = Σⱼ W_ij² + Dᵢ,  entropy = ½ (n (1 + log 2π) + log det Σ)
    rsample   x = μ + W ε_W + √D ⊙ ε_D,  ε_W ~ N(0, I_r), ε_D ~ N(0, I_n)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {
        "loc": constraints.real_vector, "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Any, cov_factor: Any, cov_diag: Any, validate_args: bool | None = None) -> None:
        loc, cov_factor, cov_diag = as_float_tensor(loc), as_float_tensor(cov_factor), as_float_tensor(cov_diag)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        n = loc.shape[-1]
        if cov_factor.ndim < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional leading batch dimensions")
        if cov_factor.shape[-2] != n:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {n} x m, "
                             f"got shape {tuple(cov_factor.shape)}")
        if tuple(cov_diag.shape[-1:]) != (n,):
            raise ValueError(f"cov_diag must be a batch of vectors with shape {(n,)}, "
                             f"got shape {tuple(cov_diag.shape)}")
        try:
            batch = tuple(np.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1]))
        except ValueError:
            raise ValueError(f"Incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(cov_factor.shape)}, cov_diag {tuple(cov_diag.shape)}") from None
        r = cov_factor.shape[-1]
        self.loc = loc.expand((*batch, n))
        self.cov_factor = cov_factor.expand((*batch, n, r))
        self.cov_diag = cov_diag.expand((*batch, n))
        super().__init__(batch, (n,), validate_args=validate_args)
        self._capacitance_tril = _capacitance_tril(self.cov_factor, self.cov_diag)

    @property
    def variance(self) -> Tensor:
        return (self.cov_factor ** 2).sum(-1) + self.cov_diag

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        """Σ = W Wᵀ + diag(D) (formed only when asked for)."""
        n = self.event_shape[0]
        return self.cov_factor @ self.cov_factor.mT + self.cov_diag.unsqueeze(-1) * eye(n, dtype=self.loc.dtype)

    @lazy_property
    def precision_matrix(self) -> Tensor:
        """Σ⁻¹ = D⁻¹ − (D⁻¹ W C⁻ᵀ)(D⁻¹ W C⁻ᵀ)ᵀ (Woodbury)."""
        n = self.event_shape[0]
        a = self._woodbury_factor()
        return self.cov_diag.reciprocal().unsqueeze(-1) * eye(n, dtype=self.loc.dtype) - a.mT @ a

    @lazy_property
    def scale_tril(self) -> Tensor:
        """The lower Cholesky factor of Σ."""
        return linalg.cholesky(self.covariance_matrix)

    def _woodbury_factor(self) -> Tensor:
        """A = C⁻¹ Wᵀ D⁻¹, so that Σ⁻¹ = D⁻¹ − Aᵀ A (Woodbury)."""
        return linalg.solve_triangular(self._capacitance_tril, self.cov_factor.mT / self.cov_diag.unsqueeze(-2),
                                       upper=False)

    def _mahalanobis(self, diff: Tensor) -> Tensor:
        """dᵀ Σ⁻¹ d = Σᵢ dᵢ²/Dᵢ − ‖C⁻¹ Wᵀ D⁻¹ d‖² (Woodbury; the batch dims of d and Σ broadcast)."""
        projected = (self.cov_factor.mT @ (diff / self.cov_diag).unsqueeze(-1)).squeeze(-1)  # Wᵀ D⁻¹ d
        return (diff ** 2 / self.cov_diag).sum(-1) - _batch_mahalanobis(self._capacitance_tril, projected)

    def _log_det(self) -> Tensor:
        return 2 * _half_log_det(self._capacitance_tril) + self.cov_diag.log().sum(-1)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps_w = standard_normal((*shape[:-1], self.cov_factor.shape[-1]), self.loc)
        eps_d = standard_normal(shape, self.loc)
        return self.loc + (self.cov_factor @ eps_w.unsqueeze(-1)).squeeze(-1) + self.cov_diag.sqrt() * eps_d

    def log_prob(self, value: Tensor) -> Tensor:
        diff = self._checked(value) - self.loc
        n = self.event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + self._log_det() + self._mahalanobis(diff))

    def entropy(self) -> Tensor:
        n = self.event_shape[0]
        return 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())


__all__ = ["LowRankMultivariateNormal"]
