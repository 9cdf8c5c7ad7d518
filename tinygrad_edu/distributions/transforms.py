"""Transforms y = f(x) with log|det ∂y/∂x|: what TransformedDistribution and biject_to/transform_to need.

Change of variables: if X has density p_X and Y = f(X) with f invertible and differentiable,
    log p_Y(y) = log p_X(f⁻¹(y)) − log |det ∂f/∂x (f⁻¹(y))|.
Each transform supplies f (``__call__``), f⁻¹ (``inv``) and log|det J| (``log_abs_det_jacobian(x, y)``),
all in Tensor ops so densities of transformed distributions are differentiable. ``domain``/``codomain`` are the
constraints x and y satisfy; their ``event_dim`` says how many rightmost dims form one input/output (log|det J|
has one value per event). ``bijective`` transforms satisfy t.inv(t(x)) = x; the others (Abs, Softmax,
LowerCholesky, PositiveDefinite) only the pseudo-inverse properties t(t.inv(t(x))) = t(x).

``cache_size=1`` remembers the last (x, y) pair: t.inv(t(x)) then returns x itself, which is how
TanhTransform(cache_size=1) keeps atanh from the boundary ±1 (the usual squashed-Gaussian policy).

Where to read what:
    Transform, _InverseTransform, ComposeTransform, IndependentTransform, ReshapeTransform   the plumbing
    Exp, Power, Sigmoid, Softplus, Tanh, Abs, Affine                                        elementwise maps
    CorrCholesky, Softmax, StickBreaking, LowerCholesky, PositiveDefinite                   vectors and matrices
    Cat, Stack, CumulativeDistribution                                                       functors
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import linalg
from ..factories import eye, zeros, zeros_like
from ..nn import functional as F  # noqa: N812 - PyTorch's conventional name
from ..tensor import Tensor, broadcast_shapes, cat, stack
from . import constraints
from .constraints import _check_blocks
from .utils import broadcast_all, sum_rightmost

Shape = tuple[int, ...]


class Transform:
    """Base class: an invertible (``bijective``) or pseudo-invertible map between ``domain`` and ``codomain``.

    Subclasses implement ``_call`` (x → y), ``_inverse`` (y → x) and, when bijective, ``log_abs_det_jacobian``;
    ``sign`` (+1/−1, or a Tensor) says whether a univariate bijection increases or decreases.
    ``cache_size`` (0 or 1): 1 keeps the last (x, y) pair so that t.inv(t(x)) is x itself.
    Equality as torch's: a transform equals itself; parameter-free transforms equal every instance of their class.
    """

    bijective = False
    domain: constraints.Constraint = constraints.real
    codomain: constraints.Constraint = constraints.real
    # defaults for a subclass whose __init__ does not call Transform.__init__
    _cache_size = 0
    _inv: Transform | None = None
    _cached_x_y: tuple[Any, Any] = (None, None)

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got {cache_size}")
        self._cache_size = cache_size
        self._inv = None
        self._cached_x_y = (None, None)

    @property
    def event_dim(self) -> int:
        """Rank of one event, when domain and codomain agree on it (else ask domain/codomain.event_dim)."""
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError(f"{type(self).__name__}: domain and codomain have different event dims; "
                         "please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self) -> Transform:
        """The inverse transform f⁻¹ (its log|det J| is minus this one's at the swapped point); t.inv.inv is t."""
        if self._inv is None:
            self._inv = _InverseTransform(self)
        return self._inv

    @property
    def sign(self) -> Any:
        """sign of det ∂y/∂x: +1 for an increasing univariate bijection, −1 for a decreasing one."""
        raise NotImplementedError(f"{type(self).__name__} has no sign")

    def with_cache(self, cache_size: int = 1) -> Transform:
        """This transform with the given cache size (itself when it already has it)."""
        if self._cache_size == cache_size:
            return self
        return self._copy_with_cache(cache_size)

    def _copy_with_cache(self, cache_size: int) -> Transform:
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __call__(self, x: Tensor) -> Tensor:
        """y = f(x) (the cached y when x is the last input)."""
        return self._through_cache(x, 0, self._call)

    def _inv_call(self, y: Tensor) -> Tensor:
        """x = f⁻¹(y) (the cached x when y is the last output)."""
        return self._through_cache(y, 1, self._inverse)

    def _through_cache(self, value: Tensor, side: int, compute: Any) -> Tensor:
        """compute(value), or the other end of the cached (x, y) pair when ``value`` is its x (side 0) or y (1)."""
        if self._cache_size == 0:
            return compute(value)
        if value is self._cached_x_y[side]:
            return self._cached_x_y[1 - side]
        result = compute(value)
        self._cached_x_y = (value, result) if side == 0 else (result, value)
        return result

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no forward map")

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        """log |det ∂y/∂x| at x (with y = f(x)), one value per event."""
        raise NotImplementedError(f"{type(self).__name__} has no log_abs_det_jacobian")

    def forward_shape(self, shape: Shape) -> Shape:
        """Shape of f(x) for x of ``shape`` (kept, unless the transform says otherwise)."""
        return shape

    def inverse_shape(self, shape: Shape) -> Shape:
        """Shape of f⁻¹(y) for y of ``shape``."""
        return shape

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class _ParameterFree(Transform):
    """A transform without parameters: every instance of the class is the same map (torch's __eq__)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self))

    __hash__ = object.__hash__


class _InverseTransform(Transform):
    """f⁻¹ of a transform f (``f.inv``): calls f's inverse; log|det J_{f⁻¹}(y)| = −log|det J_f(x)|."""

    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return self._inv.codomain

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return self._inv.domain

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return self._inv.bijective

    @property
    def sign(self) -> Any:
        return self._inv.sign

    @property
    def inv(self) -> Transform:
        return self._inv

    def with_cache(self, cache_size: int = 1) -> Transform:
        return self._inv.with_cache(cache_size).inv

    def __call__(self, y: Tensor) -> Tensor:
        return self._inv._inv_call(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape: Shape) -> Shape:
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape: Shape) -> Shape:
        return self._inv.forward_shape(shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"_InverseTransform({self._inv!r})"


# ---- plumbing: compose, independent, reshape ------------------------------------------------------------------
class ComposeTransform(Transform):
    """f = f_n ∘ … ∘ f₁ for ``parts`` [f₁, …, f_n];  log|det J_f(x)| = Σᵢ log|det J_{fᵢ}(xᵢ₋₁)| (chain rule).

    A part with a smaller event rank than the whole has its log|det J| summed over the extra dims.
    """

    def __init__(self, parts: list[Transform], cache_size: int = 0) -> None:
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = list(parts)

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return ComposeTransform(self.parts, cache_size=cache_size)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        if not self.parts:
            return constraints.real
        domain, event_dim = self.parts[0].domain, self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim = max(event_dim + part.domain.event_dim - part.codomain.event_dim, part.domain.event_dim)
        return _widened(domain, event_dim)

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        if not self.parts:
            return constraints.real
        codomain, event_dim = self.parts[-1].codomain, self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim = max(event_dim + part.codomain.event_dim - part.domain.event_dim, part.codomain.event_dim)
        return _widened(codomain, event_dim)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return all(part.bijective for part in self.parts)

    @property
    def sign(self) -> Any:
        sign = 1
        for part in self.parts:
            sign = sign * part.sign
        return sign

    @property
    def inv(self) -> Transform:
        if self._inv is None:
            inverse = ComposeTransform([part.inv for part in reversed(self.parts)])
            inverse._inv = self
            self._inv = inverse
        return self._inv

    def __call__(self, x: Tensor) -> Tensor:
        for part in self.parts:   # the parts cache, not the composition
            x = part(x)
        return x

    def forward_shape(self, shape: Shape) -> Shape:
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape: Shape) -> Shape:
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if not self.parts:
            return zeros_like(x)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total, event_dim = None, self.domain.event_dim
        for part, x_in, y_out in zip(self.parts, xs[:-1], xs[1:]):
            term = sum_rightmost(part.log_abs_det_jacobian(x_in, y_out), event_dim - part.domain.event_dim)
            total = term if total is None else total + term
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "ComposeTransform(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


def _widened(constraint: constraints.Constraint, event_dim: int) -> constraints.Constraint:
    """``constraint`` with enough batch dims reinterpreted as event dims to reach ``event_dim``."""
    extra = event_dim - constraint.event_dim
    return constraints.independent(constraint, extra) if extra > 0 else constraint


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more rightmost dims forming one event: the same map,
    log|det J| summed over those dims (a block-diagonal Jacobian's log-determinant is the sum of the blocks')."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self) -> bool:  # type: ignore[override]
        return self.base_transform.bijective

    @property
    def sign(self) -> Any:
        return self.base_transform.sign

    def _call(self, x: Tensor) -> Tensor:
        _check_rank(x, self.domain.event_dim, self, "input")
        return self.base_transform(x)

    def _inverse(self, y: Tensor) -> Tensor:
        _check_rank(y, self.codomain.event_dim, self, "input of the inverse")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y), self.reinterpreted_batch_ndims)

    def forward_shape(self, shape: Shape) -> Shape:
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape: Shape) -> Shape:
        return self.base_transform.inverse_shape(shape)

    def __repr__(self) -> str:
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


def _check_rank(x: Tensor, event_dim: int, transform: Transform, what: str) -> None:
    if x.ndim < event_dim:
        raise ValueError(f"{type(transform).__name__}: the {what} has shape {tuple(x.shape)}, too few dimensions "
                         f"for events of {event_dim} dims")


class ReshapeTransform(Transform):
    """Reshape the rightmost ``in_shape`` dims into ``out_shape`` (same number of entries): log|det J| = 0."""

    bijective = True

    def __init__(self, in_shape: Sequence[int], out_shape: Sequence[int], cache_size: int = 0) -> None:
        self.in_shape, self.out_shape = tuple(int(n) for n in in_shape), tuple(int(n) for n in out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError(f"ReshapeTransform: in_shape {self.in_shape} and out_shape {self.out_shape} have "
                             "different numbers of elements")
        super().__init__(cache_size=cache_size)

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return _widened(constraints.real, len(self.in_shape))

    @property
    def codomain(self) -> constraints.Constraint:  # type: ignore[override]
        return _widened(constraints.real, len(self.out_shape))

    @staticmethod
    def _swap_event(shape: Shape, old: Shape, new: Shape) -> Shape:
        """``shape`` = batch + ``old`` → batch + ``new`` (a clear error when it does not end in ``old``)."""
        cut = len(shape) - len(old)
        if cut < 0 or shape[cut:] != old:
            raise ValueError(f"ReshapeTransform: shape {shape} does not end with the event shape {old}")
        return shape[:cut] + new

    def _call(self, x: Tensor) -> Tensor:
        return x.reshape(self.forward_shape(tuple(x.shape)))

    def _inverse(self, y: Tensor) -> Tensor:
        return y.reshape(self.inverse_shape(tuple(y.shape)))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return zeros(*x.shape[:x.ndim - len(self.in_shape)], dtype=x.dtype)

    def forward_shape(self, shape: Shape) -> Shape:
        return self._swap_event(tuple(shape), self.in_shape, self.out_shape)

    def inverse_shape(self, shape: Shape) -> Shape:
        return self._swap_event(tuple(shape), self.out_shape, self.in_shape)


# ---- elementwise maps ------------------------------------------------------------------------------------------
class ExpTransform(_ParameterFree):
    """y = eˣ;  x = log y;  log|dy/dx| = x."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return x.exp()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class PowerTransform(Transform):
    """y = xᵖ on x > 0 (p = ``exponent``, a number or Tensor);  x = y^(1/p);  log|dy/dx| = log|p y / x|."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent: Any, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return PowerTransform(self.exponent, cache_size=cache_size)

    @property
    def sign(self) -> Any:
        return self.exponent.sign()

    def _call(self, x: Tensor) -> Tensor:
        return x.pow(self.exponent.astype(x.dtype))     # a float32 p on float64 x: its gradient p·x^(p − 1) in f64

    def _inverse(self, y: Tensor) -> Tensor:
        return y.pow((1 / self.exponent).astype(y.dtype))

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape: Shape) -> Shape:
        return broadcast_shapes(shape, tuple(self.exponent.shape))

    inverse_shape = forward_shape

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PowerTransform) and bool((self.exponent == other.exponent).all().item())

    __hash__ = object.__hash__


def _clipped_sigmoid(x: Tensor) -> Tensor:
    """σ(x) clamped into [tiny, 1 − eps], so that log y and log(1 − y) stay finite."""
    finfo = np.finfo(x.dtype)
    return x.sigmoid().clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))


class SigmoidTransform(_ParameterFree):
    """y = σ(x) = 1/(1 + e⁻ˣ);  x = log y − log(1 − y);  log|dy/dx| = log σ(x) + log σ(−x) = −sp(−x) − sp(x)
    (sp = softplus)."""

    codomain = constraints.unit_interval
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return _clipped_sigmoid(x)

    def _inverse(self, y: Tensor) -> Tensor:
        finfo = np.finfo(y.dtype)
        y = y.clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x) - F.softplus(x)


class SoftplusTransform(_ParameterFree):
    """y = softplus(x) = log(1 + eˣ) (= x above 20, as torch);  x = y + log(1 − e⁻ʸ);  log|dy/dx| = log σ(x)
    = −softplus(−x)."""

    codomain = constraints.positive
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return F.softplus(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return (-(-y).expm1()).log() + y

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x)


class TanhTransform(_ParameterFree):
    """y = tanh x;  x = atanh y (not clamped: use cache_size=1 near ±1);
    log|dy/dx| = log(1 − tanh²x) = 2 (log 2 − x − softplus(−2x))."""

    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = 1

    def _call(self, x: Tensor) -> Tensor:
        return x.tanh()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.atanh()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(_ParameterFree):
    """y = |x|; the pseudo-inverse x = y (not bijective: no log|det J|)."""

    codomain = constraints.positive

    def _call(self, x: Tensor) -> Tensor:
        return x.abs()

    def _inverse(self, y: Tensor) -> Tensor:
        return y


class AffineTransform(Transform):
    """y = loc + scale · x;  x = (y − loc)/scale;  log|dy/dx| = log|scale| (summed over ``event_dim`` dims)."""

    bijective = True

    def __init__(self, loc: Any, scale: Any, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    def _copy_with_cache(self, cache_size: int) -> Transform:
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    @property
    def domain(self) -> constraints.Constraint:  # type: ignore[override]
        return _widened(constraints.real, self._event_dim)

    codomain = domain  # type: ignore[assignment]

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @property
    def sign(self) -> Any:
        if isinstance(self.scale, Tensor):
            return self.scale.sign()
        return int(np.sign(float(self.scale)))

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        if isinstance(self.scale, Tensor):
            log_scale = self.scale.abs().log()
        else:
            log_scale = Tensor(np.asarray(math.log(abs(self.scale)), dtype=x.dtype))
        shape = broadcast_shapes(tuple(log_scale.shape), tuple(x.shape))
        return sum_rightmost(log_scale.expand(shape), self._event_dim)

    def forward_shape(self, shape: Shape) -> Shape:
        return broadcast_shapes(shape, tuple(getattr(self.loc, "shape", ())), tuple(getattr(self.scale, "shape", ())))

    inverse_shape = forward_shape

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AffineTransform):
            return False
        same = [bool(np.all(np.asarray(getattr(a, "data", a)) == np.asarray(getattr(b, "data", b))))
                for a, b in ((self.loc, other.loc), (self.scale, other.scale))]
        return all(same)

    __hash__ = object.__hash__


# ---- vectors and matrices --------------------------------------------------------------------------------------
def _tril_mask(n: int, diagonal: int) -> np.ndarray:
    """Boolean (n, n) mask of the entries on or below the ``diagonal``-th diagonal."""
    return np.tri(n, n, diagonal, dtype=bool)


def _tril_matrix_to_vec(matrix: Tensor, diagonal: int = 0) -> Tensor:
    """The entries of ``matrix`` on or below its ``diagonal``-th diagonal, row by row, as the last dim."""
    rows, cols = np.nonzero(_tril_mask(matrix.shape[-1], diagonal))
    return matrix[..., rows, cols]


def _vec_to_tril_matrix(vec: Tensor, diagonal: int = 0) -> Tensor:
    """The inverse of ``_tril_matrix_to_vec``: an (n, n) matrix, 0 outside the triangle.

    Differentiable as one gather: the vector gets one 0 appended, and every entry outside the triangle reads it.
    """
    m = vec.shape[-1]
    n = round((-(1 + 2 * diagonal) + math.sqrt((1 + 2 * diagonal) ** 2 + 8 * m + 4 * abs(diagonal) * (diagonal + 1)))
              / 2)
    mask = _tril_mask(n, diagonal)
    if int(mask.sum()) != m:
        raise ValueError(f"a vector of {m} entries is not the triangle below diagonal {diagonal} of a square matrix")
    source = np.full(n * n, m)
    source[mask.reshape(-1)] = np.arange(m)
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
        e = float(np.finfo(x.dtype).eps)
        r = _vec_to_tril_matrix(x.tanh().clamp(min=-1 + e, max=1 - e), diagonal=-1)
        remaining = (1 - r ** 2).sqrt().cumprod(-1)                 # Π_{k≤j} √(1 − r_ik²)
        n = r.shape[-1]
        ones = Tensor(np.ones((*r.shape[:-1], 1), dtype=x.dtype))
        return (r + eye(n, dtype=x.dtype)) * cat([ones, remaining[..., :-1]], -1)

    def _inverse(self, y: Tensor) -> Tensor:
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
        probs = (x - x.amax(-1, keepdim=True).detach()).exp()      # the shift cancels: no gradient needed
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y: Tensor) -> Tensor:
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
        z = _clipped_sigmoid(x - self._log_offset(x.shape[-1], x))
        remaining = (1 - z).cumprod(-1)                                   # Π_{j≤i} (1 − z_j)
        ones = Tensor(np.ones((*x.shape[:-1], 1), dtype=x.dtype))
        return cat([z, ones], -1) * cat([ones, remaining], -1)

    def _inverse(self, y: Tensor) -> Tensor:
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

    log|det J|: per slice, summed to the largest event rank; stacked along ``dim`` when ``dim`` ≥ 0 (a batch dim),
    summed when ``dim`` < 0, which the event_dim of constraints.stack counts as inside the event. (torch stacks
    in both cases, so its log|det J| has one dim too many for its own event_dim and TransformedDistribution
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
        return stack(terms, self.dim) if self.dim >= 0 else _sum(terms)


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


__all__ = [
    "AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
    "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform", "LowerCholeskyTransform",
    "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
    "SoftplusTransform", "StackTransform", "StickBreakingTransform", "TanhTransform", "Transform",
    "identity_transform",
]
