"""Distributions over matrices: Wishart (symmetric positive-definite matrices) and LKJCholesky
(Cholesky factors of correlation matrices)."""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import numpy as np

from .. import linalg
from ..tensor import Tensor, where
from . import constraints
from .distribution import Distribution
from .gamma import standard_gamma
from .multivariate import CholeskyMatrices, _cholesky_factor, _one_matrix
from .utils import constant, eps, standard_normal

_LOG_2 = math.log(2.0)


def _multivariate_digamma(x: Tensor, p: int) -> Tensor:
    """ψ_p(x) = Σ_{i=0..p−1} ψ(x − i/2), the derivative of log Γ_p(x)."""
    return sum((x - i / 2).digamma() for i in range(p))


class Wishart(CholeskyMatrices, Distribution):
    r"""Wishart distribution W_p(ν, Σ) of p × p positive-definite matrices: X = Σₖ zₖ zₖᵀ, zₖ ~ N(0, Σ), k = 1..ν
    (ν real > p − 1). Σ is given as ``covariance_matrix``, ``precision_matrix`` or ``scale_tril`` L (Σ = L Lᵀ).

    log p(X) = −ν (p log 2 / 2 + Σᵢ log Lᵢᵢ) − log Γ_p(ν/2) + (ν − p − 1)/2 · log det X − ½ tr(Σ⁻¹ X)
               (log Γ_p the multivariate log-gamma)
    mean = ν Σ,  mode = (ν − p − 1) Σ (nan for ν ≤ p + 1),  variance_ij = ν (Σ_ij² + Σ_ii Σ_jj),
    entropy = (p + 1)(p log 2 / 2 + Σᵢ log Lᵢᵢ) + log Γ_p(ν/2) − (ν − p − 1)/2 · ψ_p(ν/2) + ν p / 2
    rsample   Bartlett: X = (L A)(L A)ᵀ, A lower triangular, A_ii = √c_i with c_i ~ χ²(ν − i) (gamma
              reparameterised), A_ij ~ N(0, 1) below the diagonal
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {
        "df": constraints.greater_than(0), "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.positive_definite
    has_rsample = True
    _not_batched = ("_unbroadcasted_scale_tril",)

    def __init__(self, df: Any, covariance_matrix: Any = None, precision_matrix: Any = None, scale_tril: Any = None,
                 validate_args: bool | None = None) -> None:
        name, matrix = _one_matrix(covariance_matrix, precision_matrix, scale_tril)
        p = matrix.shape[-1]
        if matrix.shape[-2] != p:
            raise ValueError(f"Wishart: {name} must be square matrices, got shape {tuple(matrix.shape)}")
        df = df if isinstance(df, Tensor) else constant(df, matrix)
        batch_shape = tuple(np.broadcast_shapes(matrix.shape[:-2], df.shape))
        if bool((df.data <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if bool((df.data < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for "
                          "ndim - 1 < df < ndim.", stacklevel=2)
        self.df = df.expand(batch_shape)
        setattr(self, name, matrix.expand((*batch_shape, p, p)))
        super().__init__(batch_shape, (p, p), validate_args=validate_args)
        self._unbroadcasted_scale_tril = _cholesky_factor(name, matrix)

    def _log_scale(self) -> Tensor:
        """p log 2 / 2 + Σᵢ log Lᵢᵢ (= ½ log det(2Σ))."""
        p = self.event_shape[-1]
        return p * _LOG_2 / 2 + self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.df[..., None, None] * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        factor = self.df - self.event_shape[-1] - 1
        return where((factor <= 0)[..., None, None], math.nan, factor[..., None, None] * self.covariance_matrix)

    @property
    def variance(self) -> Tensor:
        cov = self.covariance_matrix
        diagonal = cov.diagonal(dim1=-2, dim2=-1)
        return self.df[..., None, None] * (cov ** 2 + diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        p = self.event_shape[-1]
        shape = self._extended_shape(sample_shape)
        dfs = self.df.unsqueeze(-1) - constant(np.arange(p), self.df)              # ν − i, i = 0..p−1
        chi2 = 2 * standard_gamma((0.5 * dfs).expand((*shape[:-1],)))
        diagonal = chi2.clamp(min=eps(chi2.dtype)).sqrt()
        below = constant(np.tril(np.ones((p, p)), -1), self.df)
        bartlett = standard_normal(shape, self.df) * below + diagonal.unsqueeze(-1) * constant(np.eye(p), self.df)
        factor = self._unbroadcasted_scale_tril @ bartlett
        return factor @ factor.mT

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        nu, p = self.df, self.event_shape[-1]
        trace = linalg.cholesky_solve(value, self._unbroadcasted_scale_tril).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * self._log_scale() - (nu / 2).mvlgamma(p) + (nu - p - 1) / 2 * linalg.slogdet(value)[1]
                - trace / 2)

    def entropy(self) -> Tensor:
        nu, p = self.df, self.event_shape[-1]
        return ((p + 1) * self._log_scale() + (nu / 2).mvlgamma(p) - (nu - p - 1) / 2 * _multivariate_digamma(nu / 2, p)
                + nu * p / 2)


__all__ = ["Wishart"]
