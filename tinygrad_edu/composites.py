"""PyTorch functions built from existing ops: scans, quantiles, index writes, products, grids.

Each function here checks its arguments as PyTorch does (the same exception type, a message
naming the function and the shapes) and then either calls one op of ``ops/`` or composes
existing ones. A composition needs no backward of its own: its gradient is the chain rule
through the ops it is made of, so it is exactly as differentiable (twice, and more) as they
are. The formula of each is in its docstring; where the gradient of another composition could
differ at ties or zeros, the composition is PyTorch's (quantile's sort and lerp, vander's cumprod).
The result's node (``grad_fn``) is named as PyTorch's for cummax, cummin, logcumsumexp, nanmedian,
index_fill/copy/put, scatter_reduce, cross, cdist and renorm; the other compositions end in the
node of their last op (quantile, kron, logaddexp2, trapezoid, block_diag, atleast_3d differ from PyTorch's).

``tensor.py`` gives the Tensor methods (``x.cummax(0)``), one line each calling these, and
``tg.<name>`` the functions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import dtypes, ops, return_types
from . import tensor as _tensor  # tensor.py imports this module: its names are read at call time

if TYPE_CHECKING:
    from .tensor import Tensor


def _make(array: np.ndarray) -> Tensor:
    """A constant tensor (no gradient) around ``array``."""
    return _tensor.Tensor._make(array)


def _as_tensor(value: Any, dtype: Any = None) -> Tensor:
    """``value`` itself if a Tensor, else a constant tensor of it (in ``dtype`` if given)."""
    return value if isinstance(value, _tensor.Tensor) else _make(_tensor._to_array(value, dtype))


def _kept_shape(shape: tuple[int, ...], dim: int) -> tuple[int, ...]:
    """``shape`` with dim ``dim`` reduced to size 1 (keepdim=True)."""
    return tuple(1 if k == dim else n for k, n in enumerate(shape))


def _require_float(x: Tensor, op: str, error: type[Exception] = RuntimeError) -> Tensor:
    """x itself; ``error`` naming ``op`` and the dtype for a non-floating x (PyTorch's own type per op)."""
    if not dtypes.is_floating(x.dtype):
        raise error(f"{op}: expects a floating point tensor (float32 or float64), got {x.dtype} of shape {x.shape}")
    return x


# ---- running extremes and log-sum-exp: cummax cummin logcumsumexp ------------------------


def _running_extreme_indices(a: np.ndarray, dim: int, extreme: np.ufunc) -> np.ndarray:
    """The index of the running maximum (``extreme`` = np.maximum) or minimum along ``dim``, as
    PyTorch picks it: the last of tied extremes, and once a NaN is seen, the latest NaN.

    The running extreme r = extreme.accumulate(a) changes only at a "record" j, an element equal
    to r_j (a new extreme or a tie) or a NaN (NaN propagates through r); the index at i is the
    latest record j ≤ i: a running maximum of j over the records.
    """
    if a.ndim == 0:
        return np.zeros((), np.int64)
    record = a == extreme.accumulate(a, axis=dim)
    if a.dtype.kind == "f":
        record |= np.isnan(a)
    positions = np.arange(a.shape[dim]).reshape([-1 if k == dim else 1 for k in range(a.ndim)])
    return np.maximum.accumulate(np.where(record, positions, 0), axis=dim).astype(np.int64)


def _running_extreme(x: Tensor, dim: int, extreme: np.ufunc, op: str) -> Any:
    d = _tensor._dim(dim, x.ndim, op)
    indices = _make(_running_extreme_indices(x.data, d, extreme))
    values, _ = _tensor._take_along(x, d, indices, True, f"{op.capitalize()}Backward0")
    return getattr(return_types, op)(values, indices)


def cummax(x: Tensor, dim: int) -> return_types.cummax:
    """``(values, indices)``: the running maximum along ``dim`` and where it is.

    values_i = max_{j ≤ i} x_j = x[indices_i], indices_i the last j ≤ i holding it (NaN: the
    latest NaN, which the maximum stays at). values is x read at indices (a Gather), so the
    gradient goes to those elements: ∂L/∂x_j = Σ_{i : indices_i = j} g_i, as PyTorch's.
    """
    return _running_extreme(x, dim, np.maximum, "cummax")


def cummin(x: Tensor, dim: int) -> return_types.cummin:
    """``(values, indices)``: the running minimum along ``dim`` (ties: the last index), as ``cummax``."""
    return _running_extreme(x, dim, np.minimum, "cummin")


def logcumsumexp(x: Tensor, dim: int) -> Tensor:
    """y_i = log Σ_{j ≤ i} e^(x_j) along ``dim``, computed stably (the op ``LogCumSumExp``)."""
    x = _require_float(x, "logcumsumexp", NotImplementedError)
    return ops.LogCumSumExp.apply(x, dim=_tensor._dim(dim, x.ndim, "logcumsumexp"))


# ---- order statistics: quantile nanquantile nanmedian --------------------------------------

_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(x: Tensor, q: float | Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear", ignore_nan: bool = False) -> Tensor:
    """The q-quantiles of x along ``dim`` (of all elements if None), PyTorch's composition.

    Sort the slice (s_0 ≤ … ≤ s_{n−1}) and take rank r = q·(n − 1) (``ignore_nan``: n counts
    the non-NaN elements). linear: s_⌊r⌋ + (r − ⌊r⌋)(s_⌈r⌉ − s_⌊r⌋); lower: s_⌊r⌋; higher:
    s_⌈r⌉; midpoint: (s_⌊r⌋ + s_⌈r⌉)/2; nearest: s_round(r) (halves to even). A slice with a
    NaN gives NaN (``ignore_nan``: only an all-NaN slice). q a 1-D tensor: one result per q, in a
    new first dim. The gradient flows through the sort (a Gather) and the interpolation to
    the one or two elements each quantile is made of.
    """
    op = "nanquantile" if ignore_nan else "quantile"
    if not dtypes.is_floating(x.dtype):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype, got {x.dtype}")
    if isinstance(q, _tensor.Tensor) and q.dtype != x.dtype:
        raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor ({q.dtype} and {x.dtype})")
    qs = np.asarray(q.data if isinstance(q, _tensor.Tensor) else q, dtype=x.dtype)
    if qs.ndim > 1:
        raise RuntimeError(f"{op}() q must be a scalar or 1D tensor, got shape {qs.shape}")
    if qs.size and (np.isnan(qs).any() or qs.min() < 0 or qs.max() > 1):
        raise RuntimeError(f"{op}() q values must be in the range [0, 1], got {qs.tolist()}")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation!r}")
    if x.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty, got shape {x.shape}")
    if dim is None:
        values, kept_shape = x.reshape(-1), (1,) * x.ndim
    else:
        d = _tensor._dim(dim, x.ndim, op)
        values = x.movedim(d, -1) if x.ndim else x.reshape(1)
        kept_shape = _kept_shape(x.shape, d)
    ordered = values.sort(-1).values  # NaN last
    ranks = _quantile_ranks(ordered.data, qs.reshape(-1), interpolation, ignore_nan)
    below = np.floor(ranks).astype(np.int64)
    result = ordered.gather(-1, below)
    if interpolation in ("linear", "midpoint"):
        weight = np.full_like(ranks, 0.5) if interpolation == "midpoint" else (ranks - below).astype(ranks.dtype)
        above = ordered.gather(-1, np.ceil(ranks).astype(np.int64))
        # PyTorch's lerp: from the nearer end, so that the weights 0 and 1 give s_⌊r⌋ and s_⌈r⌉ exactly
        step = above - result
        result = _tensor.where(weight < 0.5, result + weight * step, above - step * (1 - weight))
    if keepdim:
        result = result.reshape(*kept_shape, qs.size)
    return result.squeeze(-1) if qs.ndim == 0 else result.movedim(-1, 0)


def _quantile_ranks(ordered: np.ndarray, qs: np.ndarray, interpolation: str, ignore_nan: bool) -> np.ndarray:
    """r = q·(n − 1) for every slice (last dim of ``ordered``) and q, in the input's dtype as
    PyTorch; then floored, ceiled or rounded by the interpolation mode. A slice with a NaN gets
    the last rank (its NaN); ``ignore_nan``: n = the non-NaN count, an all-NaN slice rank 0."""
    nans = np.isnan(ordered)
    if ignore_nan:
        counted = (ordered.shape[-1] - nans.sum(-1, keepdims=True)).astype(ordered.dtype)
        ranks = np.maximum(qs * (counted - 1), 0)
    else:
        last = ordered.shape[-1] - 1
        ranks = np.where(nans.any(-1, keepdims=True), ordered.dtype.type(last), qs * ordered.dtype.type(last))
    rounding = {"lower": np.floor, "higher": np.ceil, "nearest": np.round}.get(interpolation)
    return rounding(ranks) if rounding else ranks


def nanquantile(x: Tensor, q: float | Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` of the elements that are not NaN (NaN only for an all-NaN slice)."""
    return quantile(x, q, dim, keepdim, interpolation=interpolation, ignore_nan=True)


def nanmedian(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor | return_types.nanmedian:
    """The lower median of the non-NaN elements: sorted(x without NaN)[⌊(k − 1)/2⌋] (NaN if k = 0).

    ``nanmedian()``: that value, the elements equal to it sharing the gradient (op ``NanMedian``).
    ``nanmedian(dim)``: ``(values, indices)`` along dim, the gradient going to the returned index
    (an all-NaN slice: NaN; its index is PyTorch's choice among the NaNs and may differ).
    """
    if dim is None:
        return ops.NanMedian.apply(x) if x.numel() else _make(np.asarray(np.nan, _tensor._floating(x).dtype))
    d = _tensor._dim(dim, x.ndim, "nanmedian")
    if x.ndim and x.shape[d] == 0:
        raise IndexError(f"nanmedian: cannot take the median of an empty dim {d} of shape {x.shape}")
    order = _tensor._sorting_indices(x.data, d, descending=False)  # NaN sorts last
    if x.ndim:
        counted = x.shape[d] - np.isnan(x.data).sum(d, keepdims=True) if x.dtype.kind == "f" else x.shape[d]
        order = np.take_along_axis(order, np.broadcast_to(np.maximum((counted - 1) // 2, 0),
                                                          _kept_shape(x.shape, d)), axis=d)
    return return_types.nanmedian(*_tensor._take_along(x, d, _make(order), keepdim, "NanmedianBackward1"))


# ---- writes at indices: index_fill index_copy index_put scatter_reduce ---------------------


def _index_vector(index: Any, x: Tensor, dim: int, op: str, allow_negative: bool) -> np.ndarray:
    """``index`` as a 1-D int64 array of positions along ``dim`` of x, checked as PyTorch does."""
    idx = _tensor._to_array(index, dtypes.int64)
    if idx.ndim > 1:
        raise RuntimeError(f"{op}: index has to be a vector or a scalar, got shape {idx.shape}")
    size = x.shape[dim] if x.ndim else 1
    if _tensor._any_outside(idx, -size if allow_negative else 0, size):
        raise IndexError(f"{op}: index {idx.tolist()} is out of bounds for dimension {dim} with size {size} "
                         f"(tensor of shape {x.shape})")
    return idx.reshape(-1) % max(size, 1)


def index_fill(x: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """x with the slices at ``index`` along ``dim`` set to ``value`` (a number or a 0-d tensor).

    y = where(slice in index, value, x): ∂L/∂x = g with 0 on the filled slices; a 0-d tensor
    value gets the sum of g over them.
    """
    d = _tensor._dim(dim, x.ndim, "index_fill")
    if isinstance(value, _tensor.Tensor) and value.ndim:
        raise RuntimeError(f"index_fill: only supports a 0-dimensional value tensor, got shape {value.shape}")
    idx = _index_vector(index, x, d, "index_fill", allow_negative=True)
    mask = ops.movement._mask_at(x.shape, (slice(None),) * d + (idx,)) if x.ndim else np.asarray(idx.size > 0)
    fill = value.to(x.dtype) if isinstance(value, _tensor.Tensor) else _make(np.asarray(value, dtype=x.dtype))
    name = "IndexFillBackward1" if isinstance(value, _tensor.Tensor) else "IndexFillBackward0"
    return _tensor._named(_tensor.where(mask, fill, x), name)


def index_copy(x: Tensor, dim: int, index: Any, source: Any) -> Tensor:
    """x with slice j of ``source`` copied to slice ``index[j]`` along ``dim`` (op ``Scatter``).

    ∂L/∂x = g with 0 on the overwritten slices; ∂L/∂source = g at ``index`` (index_select).
    """
    d = _tensor._dim(dim, x.ndim, "index_copy")
    src = _as_tensor(source, x.dtype)
    if src.dtype != x.dtype:
        raise RuntimeError(f"index_copy: self and source expected to have the same dtype, got {x.dtype} "
                           f"and {src.dtype}")
    idx = _index_vector(index, x, d, "index_copy", allow_negative=False)
    expected = tuple(len(idx) if k == d else n for k, n in enumerate(x.shape)) if x.ndim else idx.shape
    if src.shape != expected and not (x.ndim == 0 and src.numel() == len(idx) == 1):
        raise IndexError(f"index_copy: source of shape {src.shape} does not fit {len(idx)} indices along dim {d} "
                         f"of shape {x.shape} (expected source shape {expected})")
    if x.ndim == 0:
        return index_copy(x.reshape(1), 0, idx, src.reshape(1)).reshape(())
    full = np.broadcast_to(idx.reshape([-1 if k == d else 1 for k in range(x.ndim)]), src.shape)
    return _tensor._named(ops.Scatter.apply(x, src, dim=d, index=full), "IndexCopyBackward0")


def index_put(x: Tensor, indices: Sequence[Any], values: Any, accumulate: bool = False) -> Tensor:
    """x with ``values`` written at ``x[indices]`` (``accumulate``: added; repeats add up).

    ``indices`` is a tuple of integer or bool tensors, broadcast against each other as in
    ``x[i0, i1, …]``; ``values`` broadcasts to the shape of ``x[indices]``. Op ``IndexPut``.
    """
    arrays = []
    for i in indices:
        a = i.data if isinstance(i, _tensor.Tensor) else np.asarray(i)
        if a.dtype.kind not in "biu":
            raise IndexError(f"index_put: tensors used as indices must be long, int, byte or bool tensors, "
                             f"got {a.dtype}")
        arrays.append(a)
    index = tuple(arrays)
    try:
        target = x.data[index].shape
    except IndexError as err:
        raise IndexError(f"index_put: {err} (tensor of shape {x.shape}, index shapes "
                         f"{[a.shape for a in arrays]})") from None
    v = _as_tensor(values, x.dtype)
    if v.dtype != x.dtype:
        raise RuntimeError(f"index_put: requires the source and destination dtypes match, got {x.dtype} for the "
                           f"destination and {v.dtype} for the source")
    if v.ndim > len(target) or any(n not in (1, m) for n, m in zip(reversed(v.shape), reversed(target))):
        raise RuntimeError(f"index_put: shape mismatch: value tensor of shape {v.shape} cannot be broadcast to "
                           f"indexing result of shape {target}")
    return ops.IndexPut.apply(x, v, indices=index, accumulate=accumulate)


def scatter_reduce(x: Tensor, dim: int, index: Any, src: Any, reduce: str, *, include_self: bool = True) -> Tensor:
    """x with src folded in along ``dim`` at ``index`` by ``reduce`` ∈ sum, prod, mean, amax, amin
    (``include_self=False``: the positions written get only src's values). Op ``ScatterReduce``."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"scatter_reduce: reduce argument must be either sum, prod, mean, amax or amin, "
                           f"got {reduce!r}")
    d, idx, part = _tensor._scatter_args(x, dim, index, src, "scatter_reduce")
    return ops.ScatterReduce.apply(x, part, dim=d, index=idx, reduce=reduce, include_self=include_self)


# ---- products and distances: kron cross cdist renorm logaddexp2 -----------------------------


def kron(a: Tensor, b: Tensor) -> Tensor:
    """The Kronecker product: y[i·m + k, …] = a[i, …] · b[k, …] in every dim (the fewer dims
    padded with leading 1s). Built as a broadcast product a[i, 1, j, 1] · b[1, k, 1, l] reshaped,
    so ∂L/∂a and ∂L/∂b are Mul's and Expand's gradients (sums over the other operand's blocks)."""
    n = max(a.ndim, b.ndim)
    a_shape, b_shape = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
    spread_a = a.reshape([s for size in a_shape for s in (size, 1)])
    spread_b = b.reshape([s for size in b_shape for s in (1, size)])
    return (spread_a * spread_b).reshape([p * q for p, q in zip(a_shape, b_shape)])


def cross(x: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (op ``Cross``); x and other (same number of dims) broadcast.

    ``dim=None`` (torch.cross's default) takes the first dim of size 3, as PyTorch does (which
    warns that this default is deprecated); ``torch.linalg.cross`` uses dim=−1.
    """
    x, other = _tensor._promote(x, other)
    if x.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions, got shapes {x.shape} "
                           f"and {other.shape}")
    shape = _tensor._broadcast_shapes("cross", [x.shape, other.shape])  # a ShapeError (RuntimeError) if they do not
    if dim is None:
        dim = next((k for k, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input (shapes {x.shape} and {other.shape})")
    d = _tensor._dim(dim, len(shape), "cross")
    if not shape or x.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3, got shapes {x.shape} "
                           f"and {other.shape}")
    return ops.Cross.apply(x.expand(shape), other.expand(shape), dim=d)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The p-norm distance between each row of x1 (…, P, M) and of x2 (…, R, M): (…, P, R), the
    batch dims broadcast (op ``Cdist``; p = 0 counts differing coordinates, p = inf is the max).
    ``compute_mode`` is accepted for PyTorch compatibility; the distances are always computed from
    the differences (exact), not through matrix products."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t.ndim}D (shape {t.shape})")
        if not dtypes.is_floating(t.dtype):
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {t.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} "
                           f"X2: {x2.shape[-1]} (shapes {x1.shape} and {x2.shape})")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"cdist: X1 and X2 must have one dtype, got {x1.dtype} and {x2.dtype}")
    if not p >= 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    batch = _tensor._broadcast_shapes("cdist (batch dims)", [x1.shape[:-2], x2.shape[:-2]])
    return ops.Cdist.apply(x1.expand(*batch, *x1.shape[-2:]), x2.expand(*batch, *x2.shape[-2:]), p=float(p))


def renorm(x: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice x[…, i, …] along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to it:
    y = x · f,  f = maxnorm / (‖x_i‖_p + 1e−7) where ‖x_i‖_p > maxnorm, else 1 (PyTorch's formula).
    The gradient runs through f too (Norm's), as PyTorch's renorm_backward."""
    if x.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {x.ndim} dimensions (shape {x.shape})")
    if not p > 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p = {p}")
    if not maxnorm >= 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = _tensor._dim(dim, x.ndim, "renorm")
    norm = _require_float(x, "renorm").norm(p, tuple(k for k in range(x.ndim) if k != d), keepdim=True)
    factor = _tensor.where(norm.data > maxnorm, maxnorm / (norm + 1e-7), 1.0)
    return _tensor._named(x * factor, "RenormBackward0")


_LN2 = math.log(2.0)


def logaddexp2(x: Any, other: Any) -> Tensor:
    """log₂(2ˣ + 2ʷ) = logaddexp(x·ln 2, w·ln 2) / ln 2, without overflow (LogAddExp's gradient:
    ∂/∂x = 2ˣ / (2ˣ + 2ʷ))."""
    try:
        x, other = _tensor._floating_pair("logaddexp2", x, other)
    except TypeError as err:
        raise NotImplementedError(str(err)) from None  # PyTorch: "logaddexp2_cpu" not implemented for 'Long'
    return (x * _LN2).logaddexp(other * _LN2) / _LN2


# ---- counting and searching (no gradient): histc searchsorted bucketize ---------------------


def histc(x: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of x in ``bins`` equal-width bins over [min, max] (min = max = 0: the data's range;
    elements outside are ignored, max itself falls in the last bin). Float, of x's dtype; no gradient.

    bin(v) = ⌊(v − min) · bins / (max − min)⌋, computed in x's dtype as PyTorch, bins − 1 at v = max.
    """
    if not dtypes.is_floating(x.dtype):
        raise NotImplementedError(f"histc: not implemented for {x.dtype} (shape {x.shape}); call .float() first")
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, but got {bins}")
    a, kind = x.data, x.dtype.type
    low, high = kind(min), kind(max)
    if low == high and a.size:
        low, high = a.min(), a.max()
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise RuntimeError(f"histc: max must be larger than min (min {min}, max {max})")
    if not (np.isfinite(low) and np.isfinite(high)):
        raise RuntimeError(f"histc: range of [{low}, {high}] is not finite")
    inside = a[(a >= low) & (a <= high)]
    position = ((inside - low) * kind(bins) / (high - low)).astype(np.int64)
    position[position == bins] = bins - 1
    return _make(np.bincount(position, minlength=bins).astype(x.dtype))


def searchsorted(sorted_sequence: Any, values: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Any = None) -> Tensor:
    """For each value, the index at which inserting it keeps ``sorted_sequence`` sorted: the
    count of boundaries < v (``right`` / side='right': ≤ v). A sequence with N dims searches
    its last dim, one row per leading index of ``values``. int64 (``out_int32``: int32)."""
    if side is not None and side not in ("left", "right"):
        raise RuntimeError(f"searchsorted: side can only be 'left' or 'right', got {side!r}")
    if side == "left" and right:
        raise RuntimeError("searchsorted: side and right can't be set to opposites, got side of left while "
                           "right was True")
    boundaries = _as_tensor(sorted_sequence).data
    v = _as_tensor(values).data
    if sorter is not None:
        boundaries = np.take_along_axis(boundaries, _tensor._to_array(sorter, dtypes.int64), axis=-1)
    mode = "right" if right or side == "right" else "left"
    if boundaries.ndim > 1 and (v.ndim != boundaries.ndim or v.shape[:-1] != boundaries.shape[:-1]):
        raise RuntimeError(f"searchsorted: boundaries tensor should be 1 dimension or the first N-1 dimensions of "
                           f"boundaries tensor and input value tensor must match, but we got boundaries tensor "
                           f"{boundaries.shape} and input value tensor {v.shape}")
    if boundaries.ndim <= 1:
        found = np.searchsorted(boundaries.reshape(-1), v, side=mode)
    else:
        found = np.empty(v.shape, np.int64)
        for row in np.ndindex(*boundaries.shape[:-1]):
            found[row] = np.searchsorted(boundaries[row], v[row], side=mode)
    return _make(np.asarray(found, dtype=np.int32 if out_int32 else np.int64))


def bucketize(x: Any, boundaries: Any, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each element: i with boundaries[i−1] < v ≤ boundaries[i] (``right``:
    boundaries[i−1] ≤ v < boundaries[i]) = searchsorted(boundaries, x, right=right). 1-D boundaries."""
    b = _as_tensor(boundaries)
    if b.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries tensor must be 1 dimension, but got dim({b.ndim}) "
                           f"(shape {b.shape})")
    return searchsorted(b, x, out_int32=out_int32, right=right)


# ---- integration: trapezoid cumulative_trapezoid --------------------------------------------


def _trapezoid_pieces(y: Tensor, x: Any, dx: float | None, dim: int, op: str) -> tuple[Tensor, int]:
    """(Δx_k · (y_k + y_{k+1}) / 2 for every interval along ``dim``, the dim), PyTorch's pieces."""
    if x is not None and dx is not None:
        raise TypeError(f"{op}: give the sample points x or the spacing dx, not both")
    d = _tensor._dim(dim, y.ndim, op)
    n = y.shape[d]
    pairs = y.narrow(d, 0, max(n - 1, 0)) + y.narrow(d, min(1, n), max(n - 1, 0))
    if x is None:
        return pairs * ((1.0 if dx is None else dx) / 2.0), d
    xs = _as_tensor(x)
    if xs.ndim == 1:
        if xs.shape[0] != n:
            raise RuntimeError(f"{op}: There must be one `x` value for each sample point (x of shape {xs.shape}, "
                               f"y of shape {y.shape}, dim {d})")
        spacing = xs.diff().reshape([-1 if k == d else 1 for k in range(y.ndim)])
    else:
        spacing = xs.diff(dim=dim)
    return spacing * pairs / 2.0, d


def trapezoid(y: Tensor, x: Any = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """∫ y along ``dim`` by the trapezoid rule: Σ_k (x_{k+1} − x_k)(y_k + y_{k+1})/2 (spacing ``dx``,
    default 1, without x). Linear in y, so ∂L/∂y_k = g · (Δx_{k−1} + Δx_k)/2."""
    pieces, d = _trapezoid_pieces(y, x, dx, dim, "trapezoid")
    return pieces.sum(d)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The running trapezoid integral along ``dim``: cumsum of the pieces of ``trapezoid`` (one
    element fewer than y along dim)."""
    pieces, d = _trapezoid_pieces(y, x, dx, dim, "cumulative_trapezoid")
    return pieces.cumsum(d)


# ---- structured matrices and grids: vander tril_indices triu_indices block_diag cartesian_prod ----


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix: column j = x^(N−1−j) (``increasing``: x^j), N = len(x) by default.
    Built as PyTorch builds it, a running product of [1, x, x, …] (cumprod), so the gradient
    at x = 0 is exact (no 0 · 0^(−1)). Integer and bool x give int64."""
    if x.ndim != 1:
        raise RuntimeError(f"vander: x must be a one-dimensional tensor, got shape {x.shape}")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError(f"vander: N must be non-negative, got {n}")
    dtype = x.dtype if dtypes.is_floating(x.dtype) else dtypes.int64
    x = x.to(dtype)
    if n == 0:
        return _make(np.zeros((x.shape[0], 0), dtype))
    ones = _make(np.ones((x.shape[0], 1), dtype))
    powers = _tensor.cat([ones, x.unsqueeze(1).expand(x.shape[0], n - 1)], 1).cumprod(1) if n > 1 else ones
    return powers if increasing else powers.flip(1)


def _triangle_indices(row: int, col: int, offset: int, pick: Any, op: str, dtype: Any) -> Tensor:
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row and col must be non-negative, got row {row} and col {col}")
    return _make(np.stack(pick(row, offset, col)).astype(dtypes.as_dtype(dtype)).reshape(2, -1))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = dtypes.int64) -> Tensor:
    """The (2, N) indices [rows; cols] of the lower triangle j − i ≤ offset of a row × col matrix, row by row."""
    return _triangle_indices(row, col, offset, np.tril_indices, "tril_indices", dtype)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = dtypes.int64) -> Tensor:
    """The (2, N) indices [rows; cols] of the upper triangle j − i ≥ offset of a row × col matrix, row by row."""
    return _triangle_indices(row, col, offset, np.triu_indices, "triu_indices", dtype)


def block_diag(*tensors: Tensor) -> Tensor:
    """The block-diagonal matrix with the given matrices (0-d: 1×1, 1-D: one row) on its diagonal,
    zeros elsewhere; dtypes promoted. Each block is padded with zeros left and right (Cat) and the
    rows stacked (Cat), so each block's gradient is its part of g."""
    for k, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has "
                               f"{t.ndim} dimensions (shape {t.shape})")
    if not tensors:
        return _make(np.zeros((1, 0), dtypes.default_float))
    dtype = functools.reduce(dtypes.promote, [t.dtype for t in tensors])  # PyTorch's rule: float32 + int64 → float32
    blocks = [t.to(dtype).reshape((1,) * (2 - t.ndim) + t.shape) for t in tensors]
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        (r, c), right = b.shape, width - left - b.shape[1]
        rows.append(_tensor.cat([_make(np.zeros((r, left), dtype)), b, _make(np.zeros((r, right), dtype))], 1))
        left += c
    return _tensor.cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """All tuples (a, b, …) of one element from each 1-D tensor, one per row, the last varying
    fastest (itertools.product order); one tensor is returned as it is."""
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"cartesian_prod: Expect a 1D vector, but got shape {t.shape}")
    if len({t.dtype for t in tensors}) > 1:
        raise RuntimeError(f"cartesian_prod: expects all tensors to have the same dtype, got "
                           f"{[str(t.dtype) for t in tensors]}")
    if len(tensors) == 1:
        return tensors[0]
    return _tensor.stack([g.reshape(-1) for g in _tensor.meshgrid(*tensors, indexing="ij")], 1)


def _at_least(tensors: tuple[Any, ...], shape_of: Any) -> Tensor | tuple[Tensor, ...]:
    """Each tensor reshaped by ``shape_of`` (its shape if it already has enough dims); one tensor
    in gives one out, several (or one list) give a tuple."""
    many = len(tensors) != 1 or isinstance(tensors[0], (list, tuple))
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(t.reshape(shape_of(t.shape)) for t in (_as_tensor(t) for t in items))
    return out if many else out[0]


def atleast_1d(*tensors: Any) -> Tensor | tuple[Tensor, ...]:
    """0-d → (1,); tensors with dims unchanged."""
    return _at_least(tensors, lambda s: s or (1,))


def atleast_2d(*tensors: Any) -> Tensor | tuple[Tensor, ...]:
    """0-d → (1, 1), (n,) → (1, n); tensors with 2 or more dims unchanged."""
    return _at_least(tensors, lambda s: (1,) * (2 - len(s)) + s if len(s) < 2 else s)


def atleast_3d(*tensors: Any) -> Tensor | tuple[Tensor, ...]:
    """0-d → (1, 1, 1), (n,) → (1, n, 1), (m, n) → (m, n, 1); 3 or more dims unchanged (NumPy's rule)."""
    return _at_least(tensors, lambda s: {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}.get(len(s), s))
