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
from .exp_family import ExponentialFamily
from .gamma import Beta, standard_gamma
from .multivariate import CholeskyMatrices, _cholesky_factor, _half_log_det, _one_matrix
from .utils import as_float_tensor, constant, eps, standard_normal

_LOG_2 = math.log(2.0)


def _multivariate_digamma(x: Tensor, p: int) -> Tensor:
    """ψ_p(x) = Σ_{i=0..p−1} ψ(x − i/2), the derivative of log Γ_p(x)."""
    return sum((x - i / 2).digamma() for i in range(p))


class Wishart(CholeskyMatrices, ExponentialFamily):
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
        return p * _LOG_2 / 2 + _half_log_det(self._unbroadcasted_scale_tril)

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

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        """θ = (−Σ⁻¹/2, (ν − p − 1)/2) for t(X) = (X, log det X)."""
        return -self.precision_matrix / 2, (self.df - self.event_shape[-1] - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        """F(θ) = (θ₂ + (p + 1)/2)(p log 2 − log det(−2θ₁)) + log Γ_p(θ₂ + (p + 1)/2)."""
        p = self.event_shape[-1]
        half_df = y + (p + 1) / 2
        return half_df * (p * math.log(2) - linalg.slogdet(-2 * x)[1]) + half_df.mvlgamma(p)


class LKJCholesky(Distribution):
    r"""LKJ distribution (Lewandowski, Kurowicka & Joe 2009) over Cholesky factors L of dim × dim correlation
    matrices R = L Lᵀ, with ``concentration`` η > 0: p(R) ∝ det(R)^(η − 1) (η = 1: uniform over correlations).

    log p(L) = Σ_{i=2..d} (2(η − 1) + d − i) log L_ii − log Z      (det R = Π L_ii², times the Jacobian
               of L ↦ R, Π L_ii^(d − i))
    log Z = ((d − 1)/2) log π + log Γ_{d−1}(η + (d − 1)/2 − ½) − (d − 1) log Γ(η + (d − 1)/2)
    sample   the onion method (section 3.2 of the paper), vectorised over rows as PyTorch's: row i of L is
             √yᵢ uᵢ on its first i entries (uᵢ uniform on the unit sphere of ℝⁱ, yᵢ ~ Beta(i/2, η + (d − 1 − i)/2)),
             and its diagonal √(1 − yᵢ)
    (no mean/variance/entropy, as PyTorch)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        self.concentration = as_float_tensor(concentration)
        # yᵢ ~ Beta(i/2, η + (d − 2)/2 − (i − 1)/2), the squared norm of row i's off-diagonal part (row 0 has
        # none: its y is drawn from Beta(½, …) and not used). PyTorch 2.13 takes i − ½ for the first
        # concentration (offset + 0.5 for 0.5·offset + 0.5): rows ≥ 2 then get too large correlations.
        offset = np.concatenate([[0.0], np.arange(dim - 1)])                     # i − 1 (0 for row 0)
        marginal = self.concentration + 0.5 * (dim - 2)
        self._beta = Beta(constant(0.5 * offset + 0.5, self.concentration).expand((*self.concentration.shape, dim)),
                          marginal.unsqueeze(-1) - constant(0.5 * offset, self.concentration), validate_args=False)
        super().__init__(self.concentration.shape, (dim, dim), validate_args=validate_args)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        y = self._beta.sample(sample_shape).data[..., None]
        normal = np.tril(standard_normal(shape, self.concentration).data, -1)
        with np.errstate(invalid="ignore", divide="ignore"):  # row 0 has no off-diagonal entries: 0/0
            sphere = normal / np.linalg.norm(normal, axis=-1, keepdims=True)
        sphere[..., 0, :] = 0.0
        w = np.sqrt(y) * sphere
        diagonal = np.sqrt(np.maximum(1 - (w ** 2).sum(-1), np.finfo(w.dtype).tiny))
        return constant(w + diagonal[..., None] * np.eye(self.dim), self.concentration)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        d = self.dim
        diagonal = value.diagonal(dim1=-2, dim2=-1)[..., 1:]
        order = 2 * (self.concentration - 1).unsqueeze(-1) + d - constant(np.arange(2, d + 1), self.concentration)
        alpha = self.concentration + 0.5 * (d - 1)
        log_normaliser = 0.5 * (d - 1) * math.log(math.pi) + (alpha - 0.5).mvlgamma(d - 1) - (d - 1) * alpha.lgamma()
        return (order * diagonal.log()).sum(-1) - log_normaliser


__all__ = ["LKJCholesky", "Wishart"]
