"""Transforms of vectors and matrices (CorrCholesky, Softmax, StickBreaking, LowerCholesky, PositiveDefinite) and the
functors that apply transforms to parts of a value (Cat, Stack) or through a distribution's cdf."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import linalg
from ...factories import eye, zeros
from ...nn import functional as F  # noqa: N812 - PyTorch's conventional name
from ...tensor import Tensor, cat, stack
from .. import constraints
from ..constraints import _check_blocks
from ..utils import sum_rightmost
from .base import Shape, Transform, _ParameterFree
from .elementwise import _clipped_sigmoid


# ---- vectors and matrices --------------------------------------------------------------------------------------
def _tril_mask(n: int, diagonal: int) -> np.ndarray:
    """Boolean (n, n) mask of the entries on or below the ``diagonal``-th diagonal."""
    return np.tri(n, n, diagonal, dtype=bool)


def _tril_matrix_to_vec(matrix: Tensor, diagonal: int = 0) -> Tensor:
    """The entries of ``matrix`` on or below its ``diagonal``-th diagonal, row by row, as the last dim."""
    rows, cols = np.nonzero(_tril_mask(matrix.shape[-1], diagonal))
    return matrix[..., rows, cols]


def _vec_to_tril_matrix(vec: Tensor, n: int, diagonal: int = 0) -> Tensor:
    """The inverse of ``_tril_matrix_to_vec``: an (n, n) matrix, 0 outside the triangle (vec holds its entries).

    Differentiable as one gather: the vector gets one 0 appended, and every entry outside the triangle reads it.
    """
    mask = _tril_mask(n, diagonal)
    source = np.full(n * n, vec.shape[-1])
    source[mask.reshape(-1)] = np.arange(vec.shape[-1])
    padded = cat([vec, zeros(*vec.shape[:-1], 1, dtype=vec.dtype)], -1)
    return padded[..., source].reshape((*vec.shape[:-1], n, n))


class CorrCholeskyTransform(Transform):
    r"""ℝ^(D(D−1)/2) → Cholesky factors of D × D correlation matrices (lower triangular, positive diagonal, rows of
    unit length), as Stan and torch:

    Forward:   r = tanh(x) placed below the diagonal row by row;  row i of y is a *signed* stick breaking of rᵢ:
               y_ij = r_ij Π_{k<j} √(1 − r_ik²)  (j < i),  y_ii = Π_{k<i} √(1 − r_ik²)
    Inverse:   r_ij = y_ij / √(1 − Σ_{k<j} y_ik²),  x = atanh r
    log|det J| = ½ Σ_{i, j<i} log(1 − Σ_{k<j} y_ik²) + Σ log(1 − tanh² x)  (of x ↦ the triangle of y below
                 the diagonal: the spaces have different dims, so the Jacobian is the one of the flattened triangle)
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x: Tensor) -> Tensor:
        d = self.forward_shape(tuple(x.shape))[-1]  # a clear error for a last dim that is not D(D − 1)/2
        e = float(np.finfo(x.dtype).eps)
        r = _vec_to_tril_matrix(x.tanh().clamp(min=-1 + e, max=1 - e), d, diagonal=-1)
        remaining = (1 - r ** 2).sqrt().cumprod(-1)                 # Π_{k≤j} √(1 − r_ik²)
        n = r.shape[-1]
        ones = Tensor(np.ones((*r.shape[:-1], 1), dtype=x.dtype))
        return (r + eye(n, dtype=x.dtype)) * cat([ones, remaining[..., :-1]], -1)

    def _inverse(self, y: Tensor) -> Tensor:
        self.inverse_shape(tuple(y.shape))          # square matrices only
        left = 1 - (y * y).cumsum(-1)                                # 1 − Σ_{k≤j} y_ik²
        ones = Tensor(np.ones((*y.shape[:-1], 1), dtype=y.dtype))
        left_before = cat([ones, left[..., :-1]], -1)                # 1 − Σ_{k<j} y_ik²
        t = _tril_matrix_to_vec(y, diagonal=-1) / _tril_matrix_to_vec(left_before, diagonal=-1).sqrt()
        return (t.log1p() - (-t).log1p()) / 2

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        left = 1 - (y * y).cumsum(-1)
        stick_breaking = 0.5 * _tril_matrix_to_vec(left, diagonal=-2).log().sum(-1)   # diagonal −2: left shifted
        tanh = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick_breaking + tanh

    def forward_shape(self, shape: Shape) -> Shape:
        if len(shape) < 1:
            raise ValueError("CorrCholeskyTransform: too few dimensions on input")
        n = shape[-1]
        d = round((0.25 + 2 * n) ** 0.5 + 0.5)
        if d * (d - 1) // 2 != n:
            raise ValueError(f"CorrCholeskyTransform: a last dim of {n} is not D(D − 1)/2 for an integer D")
        return (*shape[:-1], d, d)

    def inverse_shape(self, shape: Shape) -> Shape:
        if len(shape) < 2 or shape[-2] != shape[-1]:
            raise ValueError(f"CorrCholeskyTransform: expected square matrices (..., D, D), got shape {shape}")
        return (*shape[:-2], shape[-1] * (shape[-1] - 1) // 2)


class SoftmaxTransform(_ParameterFree):
    """y = softmax(x) = eˣ / Σ eˣ onto the simplex; the pseudo-inverse x = log y (not bijective: x + c has the
    same image for every c, so it is for optimisation, not for densities)."""

    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x: Tensor) -> Tensor:
        _check_vector_shape(tuple(x.shape), self)
        probs = (x - x.amax(-1, keepdim=True).detach()).exp()      # the shift cancels: no gradient needed
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y: Tensor) -> Tensor:
        _check_vector_shape(tuple(y.shape), self)
        return y.log()

    def forward_shape(self, shape: Shape) -> Shape:
        _check_vector_shape(shape, self)
        return shape

    inverse_shape = forward_shape


def _check_vector_shape(shape: Shape, transform: Transform) -> None:
    if len(shape) < 1:
        raise ValueError(f"{type(transform).__name__}: too few dimensions on input (shape {shape})")


class StickBreakingTransform(_ParameterFree):
    r"""ℝᴷ⁻¹ → the probability simplex in ℝᴷ by breaking a stick: piece i takes the fraction zᵢ of what is left.

    Forward:     zᵢ = σ(xᵢ − log(K − i)),  yᵢ = zᵢ Π_{j<i} (1 − z_j)  (i = 1..K−1),  y_K = Π_j (1 − z_j)
                 (the shift log(K − i) maps x = 0 to the uniform point y = (1/K, …, 1/K))
    Inverse:     xᵢ = log yᵢ − log(1 − Σ_{j≤i} y_j) + log(K − i)
    log|det J| = Σᵢ (log σ(x̃ᵢ) − x̃ᵢ + log yᵢ),  x̃ᵢ = xᵢ − log(K − i)
    """

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    @staticmethod
    def _log_offset(k: int, like: Tensor) -> Tensor:
        """log(K − i) for i = 1..K−1, with K − 1 = k."""
        return Tensor(np.log(np.arange(k, 0, -1, dtype=like.dtype)))

    def _call(self, x: Tensor) -> Tensor:
        _check_vector_shape(tuple(x.shape), self)
        z = _clipped_sigmoid(x - self._log_offset(x.shape[-1], x))
        remaining = (1 - z).cumprod(-1)                                   # Π_{j≤i} (1 − z_j)
        ones = Tensor(np.ones((*x.shape[:-1], 1), dtype=x.dtype))
        return cat([z, ones], -1) * cat([ones, remaining], -1)

    def _inverse(self, y: Tensor) -> Tensor:
        _check_vector_shape(tuple(y.shape), self)
        y_crop = y[..., :-1]
        left = (1 - y_crop.cumsum(-1)).clamp(min=float(np.finfo(y.dtype).tiny))
        return y_crop.log() - left.log() + self._log_offset(y_crop.shape[-1], y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        shifted = x - self._log_offset(x.shape[-1], x)
        return (-shifted + F.logsigmoid(shifted) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape: Shape) -> Shape:
        _check_vector_shape(shape, self)
        return (*shape[:-1], shape[-1] + 1)

    def inverse_shape(self, shape: Shape) -> Shape:
        _check_vector_shape(shape, self)
        return (*shape[:-1], shape[-1] - 1)


def _square_matrices(x: Tensor, transform: Transform) -> int:
    """n for x of shape (..., n, n); a clear error otherwise."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{type(transform).__name__}: expected square matrices (..., n, n), "
                         f"got shape {tuple(x.shape)}")
    return x.shape[-1]


class LowerCholeskyTransform(_ParameterFree):
    """Square matrices → lower-triangular matrices with a positive diagonal: y = tril(x, −1) + diag(e^diag(x));
    the pseudo-inverse x = tril(y, −1) + diag(log diag(y)) (entries above the diagonal are dropped)."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _with_diagonal(self, x: Tensor, diagonal_map: str) -> Tensor:
        n = _square_matrices(x, self)
        diagonal = getattr(x.diagonal(dim1=-2, dim2=-1), diagonal_map)()
        return x.tril(-1) + diagonal.unsqueeze(-2) * eye(n, dtype=x.dtype)    # diag_embed

    def _call(self, x: Tensor) -> Tensor:
        return self._with_diagonal(x, "exp")

    def _inverse(self, y: Tensor) -> Tensor:
        return self._with_diagonal(y, "log")


class PositiveDefiniteTransform(_ParameterFree):
    """Square matrices → positive-definite matrices: y = L Lᵀ with L = LowerCholeskyTransform()(x);
    the pseudo-inverse x = LowerCholeskyTransform().inv(cholesky(y))."""

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x: Tensor) -> Tensor:
        _square_matrices(x, self)
        lower = LowerCholeskyTransform()(x)
        return lower @ lower.mT

    def _inverse(self, y: Tensor) -> Tensor:
        _square_matrices(y, self)
        return LowerCholeskyTransform().inv(linalg.cholesky(y))


# ---- functors ----------------------------------------------------------------------------------------------------
class CatTransform(Transform):
    """``tseq[i]`` applied to the i-th block of ``lengths[i]`` entries along ``dim`` (compatible with cat).

    log|det J|: per block, summed to the largest event rank; concatenated along ``dim`` when ``dim`` is a batch
    dim, summed when it lies inside the event.
    """

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, lengths: Sequence[int] | None = None,
                 cache_size: int = 0) -> None:
        _check_transforms(tseq, "CatTransform")
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError(f"CatTransform: {len(self.lengths)} lengths for {len(self.transforms)} transforms")
        self.dim = dim

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    @property
    def event_dim(self) -> int:
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self) -> int:
        """Σ lengths: the size along ``dim`` of an input."""
        return sum(self.lengths)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)

    def _blocks(self, z: Tensor) -> list[Tensor]:
        _check_blocks(tuple(z.shape), self.dim, self.length, "CatTransform", "sum(lengths)")
        starts = np.cumsum([0, *self.lengths[:-1]])
        return [z.narrow(self.dim, int(start), length) for start, length in zip(starts, self.lengths)]

    def _call(self, x: Tensor) -> Tensor:
        return cat([t(block) for t, block in zip(self.transforms, self._blocks(x))], self.dim)

    def _inverse(self, y: Tensor) -> Tensor:
        return cat([t.inv(block) for t, block in zip(self.transforms, self._blocks(y))], self.dim)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        terms = [sum_rightmost(t.log_abs_det_jacobian(x_block, y_block), self.event_dim - t.event_dim)
                 for t, x_block, y_block in zip(self.transforms, self._blocks(x), self._blocks(y))]
        dim = (self.dim - x.ndim if self.dim >= 0 else self.dim) + self.event_dim
        if dim < 0:                 # dim is a batch dim: one value per entry along it
            return cat(terms, dim)
        return _sum(terms)          # dim is inside the event: the blocks' determinants multiply


def _sum(terms: list[Tensor]) -> Tensor:
    """The sum of the log-determinants of the diagonal blocks of a block-diagonal Jacobian."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _check_transforms(tseq: Any, functor: str) -> None:
    if not all(isinstance(t, Transform) for t in tseq):
        raise TypeError(f"{functor}: every element of tseq must be a Transform, got {tseq!r}")


class StackTransform(Transform):
    """``tseq[i]`` applied to the i-th slice along ``dim`` (compatible with stack).

    log|det J|: per slice, summed to the largest event rank e; stacked along ``dim`` when ``dim`` ≥ 0 (a batch
    dim). A ``dim`` < −e (left of the slices' events) makes constraints.stack's event_dim e + 1: the terms are
    stacked and summed over their last dim, which is the stacked dim itself for ``dim`` = −1 − e and the slices'
    rightmost batch dim further left. A ``dim`` inside the slices' events (−e ≤ dim < 0) sums the terms. (torch
    stacks in every case, so its log|det J| has one dim too many for its own event_dim and TransformedDistribution
    fails: pytorch issue #121220.)
    """

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, cache_size: int = 0) -> None:
        _check_transforms(tseq, "StackTransform")
        super().__init__(cache_size=cache_size)
        self.transforms = [t.with_cache(cache_size) for t in tseq]
        self.dim = dim

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return StackTransform(self.transforms, self.dim, cache_size)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.stack([t.codomain for t in self.transforms], self.dim)

    def _slices(self, z: Tensor) -> list[Tensor]:
        _check_blocks(tuple(z.shape), self.dim, len(self.transforms), "StackTransform", "len(tseq)")
        before = (slice(None),) * (self.dim % z.ndim)
        return [z[(*before, i)] for i in range(len(self.transforms))]

    def _call(self, x: Tensor) -> Tensor:
        return stack([t(s) for t, s in zip(self.transforms, self._slices(x))], self.dim)

    def _inverse(self, y: Tensor) -> Tensor:
        return stack([t.inv(s) for t, s in zip(self.transforms, self._slices(y))], self.dim)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        event_dim = max(t.event_dim for t in self.transforms)
        terms = [sum_rightmost(t.log_abs_det_jacobian(xs, ys), event_dim - t.event_dim)
                 for t, xs, ys in zip(self.transforms, self._slices(x), self._slices(y))]
        if self.dim >= 0:
            return stack(terms, self.dim)
        if self.dim + event_dim >= 0:
            return _sum(terms)
        return stack(terms, self.dim + event_dim).sum(-1)


class CumulativeDistributionTransform(Transform):
    """y = F(x), the cdf of ``distribution`` (its support → [0, 1]);  x = F⁻¹(y) (icdf);
    log|dy/dx| = log p(x) (the density is the cdf's derivative). E.g. a Gaussian copula."""

    bijective = True
    codomain = constraints.unit_interval
    sign = 1

    def __init__(self, distribution: Any, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return self.distribution.support

    def _call(self, x: Tensor) -> Tensor:
        return self.distribution.cdf(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return self.distribution.log_prob(x)
