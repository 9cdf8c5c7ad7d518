"""Reductions: Sum Mean Var Std Norm LogSumExp Amax Amin Prod, and the scan Cumsum.

Notation as in ``ops/elementwise.py``. ``dim`` is an int, a tuple of ints or None (all
dims); ``keepdim`` keeps the reduced dims with size 1. Every backward first puts the
reduced dims back (``_unsqueeze_to``) so that ``g`` lines up with ``x``, then broadcasts
it: the adjoint of a reduction is a broadcast, as the adjoint of a broadcast is a sum.

Special values reduce as in PyTorch and without NumPy's warnings (``quietly``): inf + (−inf)
= nan in a sum or mean, an overflowing square in a norm = inf, 0/0 = nan.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..autograd.function import Function
from .elementwise import sign_zero_at_nan
from .fpstate import quietly


def normalize_dims(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...]:
    """Turn ``dim`` into a sorted tuple of non-negative axes, with an error naming ``op``.

    None and an empty tuple both mean every dim (PyTorch: ``x.sum(dim=())`` sums everything).
    """
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    rank = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    axes = []
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        axes.append(int(d) % rank)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dim {dim} names the same dimension twice")
    return tuple(sorted(a for a in axes if a < ndim))


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape after reducing ``axes`` with keepdim=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _unsqueeze_to(g, shape: tuple[int, ...], axes: tuple[int, ...]):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    return g.reshape(_kept_shape(shape, axes))


def sum_array(a: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Σ over ``axes``, inf + (−inf) = nan without a warning. ``np.add.reduce(a, axis, dtype,
    out, keepdims)`` is the sum that np.sum calls, without its ~1 µs of Python around it."""
    return quietly(np.add.reduce, a, axes, None, None, keepdims)


def _output_saved_with_input(ctx, x, y_kept: np.ndarray, keepdim: bool) -> np.ndarray:
    """The output (reduced dims dropped unless keepdim), saved for backward with x: saving the
    output itself makes a second derivative see y = y(x) rather than a constant."""
    y = y_kept if keepdim else np.squeeze(y_kept, axis=ctx.axes)
    ctx.save_for_backward(x, y)
    return y


def _dims_of_overload(ctx: Function, dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...]:
    """``normalize_dims`` for a reduction PyTorch overloads on ``dim``: given a dim, its node is
    the overload numbered 1 (``x.sum(1)`` is ``SumBackward1``, ``x.sum()`` ``SumBackward0``)."""
    if dim is not None:
        ctx.torch_name = f"{type(ctx).__name__}Backward1"
    return normalize_dims(dim, ndim, op)


class Sum(Function):
    """Sum over ``dim``.

    Forward:   y = Σ_{i ∈ dim} x_i
    Backward:  ∂L/∂x = broadcast(g)           (every summand receives g)
    """

    formula = ("expand(g)",)

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.axes = _dims_of_overload(ctx, dim, x.ndim, "sum")
        ctx.shape = x.shape
        if x.data.dtype.kind in "biu":  # bool and integer sums are int64 in PyTorch (NumPy: uint8 → uint64)
            return np.sum(x.data, axis=ctx.axes, keepdims=keepdim, dtype=np.int64)
        return sum_array(x.data, ctx.axes, keepdim)

    @staticmethod
    def backward(ctx, grad_output):
        return _unsqueeze_to(grad_output, ctx.shape, ctx.axes).expand(ctx.shape)


class Nansum(Function):
    """Sum over ``dim`` of the elements that are not NaN (a NaN counts as 0).

    Forward:   y = Σ_{i ∈ dim, x_i ≠ NaN} x_i
    Backward:  ∂L/∂x = broadcast(g) ⊙ [x ≠ NaN]
    A product with the mask, as PyTorch's nansum_backward, not a choice: a NaN element gets g·0,
    which is NaN where g is ±inf or NaN (nanmean of a slice of NaN only: g = 1/0 there).
    """

    formula = ("expand(g) * [x == x]",)

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.axes = normalize_dims(dim, x.ndim, "nansum")
        ctx.shape = x.shape
        ctx.save_for_backward(x)  # x itself, as PyTorch (so writing x in place before backward is refused)
        return sum_array(np.where(np.isnan(x.data), 0, x.data), ctx.axes, keepdim)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        counted = (~np.isnan(x.data)).astype(x.dtype)
        return _unsqueeze_to(grad_output, ctx.shape, ctx.axes) * counted


class Mean(Function):
    """Mean over ``dim`` (N = number of elements reduced).

    Forward:   y = (1/N) Σ_{i ∈ dim} x_i
    Backward:  ∂L/∂x = broadcast(g) / N
    """

    formula = ("expand(g) / N",)

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.axes = _dims_of_overload(ctx, dim, x.ndim, "mean")
        ctx.shape = x.shape
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes]))
        return quietly(np.mean, x.data, ctx.axes, None, None, keepdim)  # np.mean(a, axis, dtype, out, keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        return _unsqueeze_to(grad_output, ctx.shape, ctx.axes).expand(ctx.shape) / float(ctx.count)


class Var(Function):
    """Variance over ``dim`` with Bessel's ``correction`` (1 = unbiased, as PyTorch's default).

    Forward:   y = Σ_{i ∈ dim} (x_i − x̄)² / (N − c)
    Backward:  ∂L/∂x = broadcast(g) ⊙ 2(x − x̄) / (N − c)
    """

    formula = ("g * 2 * (x - mean(x)) / (N - c)",)

    @staticmethod
    def forward(ctx, x, *, dim=None, correction=1, keepdim=False):
        ctx.save_for_backward(x)
        return _variance_forward(ctx, x, dim, correction, keepdim, "var")

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return _variance_backward(grad_output, x, ctx.axes, ctx.divisor)


def _variance_forward(ctx, x, dim, correction: int, keepdim: bool, op: str) -> np.ndarray:
    """Σ (x − x̄)² / (N − c) over ``dim`` (Var's and Std's forward, ``op`` naming which); keeps
    ``ctx.axes`` and ``ctx.divisor`` = N − c for the backward. What to save is the caller's choice."""
    ctx.axes = normalize_dims(dim, x.ndim, op)
    ctx.divisor = int(np.prod([x.shape[a] for a in ctx.axes])) - correction
    # np.var(a, axis, dtype, out, ddof, keepdims)
    if ctx.divisor > 0:
        return quietly(np.var, x.data, ctx.axes, None, None, correction, keepdim)
    # N ≤ c gives inf/nan, as in PyTorch, which warns; this warning names the op and the sizes
    # instead of NumPy's own "Degrees of freedom <= 0 for slice" from inside np.var
    warnings.warn(f"{op}(): degrees of freedom is <= 0 ({ctx.divisor + correction} elements per slice of shape "
                  f"{x.shape} over dims {ctx.axes}, correction {correction}); the result is inf or nan", stacklevel=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return quietly(np.var, x.data, ctx.axes, None, None, correction, keepdim)


def _variance_backward(grad_output, x, axes: tuple[int, ...], divisor: int):
    """broadcast(g) ⊙ 2(x − x̄) / (N − c): the gradient of the variance, in Tensor ops."""
    centered = x - x.mean(dim=axes, keepdim=True)
    scale = quietly(np.divide, x.dtype.type(2.0), divisor)  # N ≤ c: the slope is inf/nan, as the value is
    return _unsqueeze_to(grad_output, x.shape, axes) * centered * scale


class Std(Function):
    """Standard deviation over ``dim``: the square root of ``Var``.

    Forward:   y = √(Σ_{i ∈ dim} (x_i − x̄)² / (N − c))
    Backward:  ∂L/∂x = broadcast(g / (2y)) ⊙ 2(x − x̄) / (N − c),  0 where y = 0
    On a constant slice (y = 0) the chain rule through √ would give ∞ · 0 = nan; the
    slope there is taken as 0, as PyTorch does (so standardising a constant feature
    does not poison the gradients).
    """

    formula = ("g / (2*y) * 2 * (x - mean(x)) / (N - c)",)

    @staticmethod
    def forward(ctx, x, *, dim=None, correction=1, keepdim=False):
        y = np.sqrt(_variance_forward(ctx, x, dim, correction, keepdim, "std"))  # (a variance is never negative)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        grad_variance = (grad_output / (2.0 * y)).masked_fill(y.data == 0, 0.0)
        return _variance_backward(grad_variance, x, ctx.axes, ctx.divisor)


class Norm(Function):
    r"""Vector p-norm over ``dim`` (p ≥ 1 finite; PyTorch's ``torch.linalg.vector_norm``).

    Forward:   y = (Σ_{i ∈ dim} |x_i|^p)^(1/p)        (p = 2: √(Σ x_i²), p = 1: Σ |x_i|)
    Backward:  ∂L/∂x = broadcast(g / y^(p−1)) ⊙ sign(x) ⊙ |x|^(p−1),  0 where y = 0
               (p = 2: g·x / y;  p = 1: g·sign(x), with sign(nan) = 0 as PyTorch)
    At y = 0 (an all-zero slice) the slope is taken as 0, as PyTorch does, so that
    normalising a zero vector gives a zero gradient instead of nan.
    """

    formula = ("g / y**(p-1) * sign(x) * |x|**(p-1)",)
    torch_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, *, p=2.0, dim=None, keepdim=False):
        ctx.axes, ctx.p = normalize_dims(dim, x.ndim, "norm"), float(p)
        y = quietly(_norm_array, x.data, ctx.p, ctx.axes)  # x² overflowing to inf gives inf, as PyTorch
        return _output_saved_with_input(ctx, x, y, keepdim)

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        g, y, p = _unsqueeze_to(grad_output, x.shape, ctx.axes), _unsqueeze_to(y, x.shape, ctx.axes), ctx.p
        zero = y.data == 0
        if p == 1.0:
            return g.expand(x.shape) * sign_zero_at_nan(x.data)
        if p == 2.0:
            return (g / y).masked_fill(zero, 0.0) * x
        return (g / y ** (p - 1.0)).masked_fill(zero, 0.0) * (x.abs() ** (p - 1.0) * np.sign(x.data))


def _norm_array(x: np.ndarray, p: float, axes: tuple[int, ...]) -> np.ndarray:
    """(Σ |x|^p)^(1/p) over ``axes``, kept dims; p = 2 and p = 1 without the general powers."""
    if p == 2.0:
        return np.sqrt(np.sum(x * x, axis=axes, keepdims=True))
    if p == 1.0:
        return np.sum(np.abs(x), axis=axes, keepdims=True)
    return np.sum(np.abs(x) ** p, axis=axes, keepdims=True) ** (1.0 / p)


class LogSumExp(Function):
    """log Σ exp over ``dim``, computed stably by shifting by the maximum m.

    Forward:   y = m + log Σ_{i ∈ dim} e^(x_i − m),   m = max_{i ∈ dim} x_i
    Backward:  ∂L/∂x = broadcast(g) ⊙ e^(x − y)       (= g ⊙ softmax(x))
    """

    formula = ("g * exp(x - y)",)
    torch_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.axes = normalize_dims(dim, x.ndim, "logsumexp")
        return _output_saved_with_input(ctx, x, logsumexp_array(x.data, ctx.axes), keepdim)

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        y_kept = _unsqueeze_to(y, x.shape, ctx.axes)
        return _unsqueeze_to(grad_output, x.shape, ctx.axes) * (x - y_kept).exp()


def logsumexp_array(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """log Σ exp(x) over ``axes`` with keepdims, shifted by the max so exp cannot overflow.

    Where the max is ±inf (all -inf, or an +inf present) the shift would give nan, so it
    is replaced by 0 there, as PyTorch does.
    """
    m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros(_kept_shape(x.shape, axes), x.dtype)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
    return quietly(np.log, np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m  # log 0 = -inf for an all -inf slice


class Amax(Function):
    """Maximum over ``dim``; tied maxima share the gradient evenly.

    Forward:   y = max_{i ∈ dim} x_i
    Backward:  ∂L/∂x = broadcast(g) ⊙ [x = y] / #{i : x_i = y}
    """

    formula = ("g * [x == y] / count(x == y)",)
    extreme = staticmethod(np.max)

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        op = type(ctx).__name__.lower()
        ctx.axes = normalize_dims(dim, x.ndim, op)
        if any(x.shape[a] == 0 for a in ctx.axes):
            raise RuntimeError(f"{op}: cannot reduce over a dim of size 0 (tensor of shape {x.shape})")
        y = ctx.extreme(x.data, axis=ctx.axes, keepdims=True)
        is_extreme = (x.data == y).astype(x.dtype)
        ties = np.sum(is_extreme, axis=ctx.axes, keepdims=True)  # 0 in a slice holding nan: 0/0 = nan, as PyTorch
        ctx.save_for_backward(quietly(np.divide, is_extreme, ties))
        ctx.shape = x.shape
        return y if keepdim else np.squeeze(y, axis=ctx.axes)

    @staticmethod
    def backward(ctx, grad_output):
        (share,) = ctx.saved_tensors
        return _unsqueeze_to(grad_output, ctx.shape, ctx.axes) * share


class Amin(Amax):
    """Minimum over ``dim``; tied minima share the gradient evenly.

    Forward:   y = min_{i ∈ dim} x_i
    Backward:  ∂L/∂x = broadcast(g) ⊙ [x = y] / #{i : x_i = y}
    """

    extreme = staticmethod(np.min)


# ---- one element of all, the gradient shared evenly: Max Min Median (PyTorch's max() etc.) ----


class Max(Function):
    """The largest element of all (``x.max()``); tied elements share the gradient evenly.

    Forward:   y = max_i x_i
    Backward:  ∂L/∂x = g ⊙ [x = y] / #{i : x_i = y}      (y nan: the nan elements share it)
    PyTorch's evenly_distribute_backward: unlike ``amax`` (nan gradient), a nan result sends the
    gradient to the nan elements.
    """

    formula = ("g * [x == y] / count(x == y)",)
    torch_name = "MaxBackward1"  # max() with no dim
    pick = staticmethod(np.max)  # the chosen element of the flattened, non-empty x (nan if there is one)

    @staticmethod
    def forward(ctx, x):
        if x.data.size == 0:
            raise RuntimeError(f"{type(ctx).__name__.lower()}(): cannot reduce an empty tensor of shape {x.shape}")
        y = np.asarray(ctx.pick(x.data.reshape(-1)), dtype=x.dtype)
        chosen = np.isnan(x.data) if x.dtype.kind == "f" and np.isnan(y) else x.data == y
        ctx.save_for_backward(chosen.astype(x.dtype) / np.count_nonzero(chosen))
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (share,) = ctx.saved_tensors
        return grad_output * share


class Min(Max):
    """The smallest element of all (``x.min()``); tied elements share the gradient evenly.

    Forward:   y = min_i x_i
    Backward:  ∂L/∂x = g ⊙ [x = y] / #{i : x_i = y}      (y nan: the nan elements share it)
    """

    torch_name = "MinBackward1"
    pick = staticmethod(np.min)


class Median(Max):
    """The lower median of all elements (``x.median()``); the elements equal to it share the gradient.

    Forward:   y = sorted(x)[⌊(n − 1)/2⌋]       (nan if there is a nan)
    Backward:  ∂L/∂x = g ⊙ [x = y] / #{i : x_i = y}      (y nan: the nan elements share it)
    """

    torch_name = "MedianBackward0"

    @staticmethod
    def pick(a: np.ndarray) -> np.ndarray:
        ordered = np.sort(a)  # nan sorts last
        return ordered[-1] if np.isnan(ordered[-1]) else ordered[(a.size - 1) // 2]


# ---- products and running sums: Prod Cumsum ----------------------------------------------


def _accumulation_dtype(a: np.ndarray) -> np.dtype | None:
    """int64 for bool and integer input, as PyTorch's sum/prod/cumsum (NumPy: uint8 → uint64)."""
    return np.dtype(np.int64) if a.dtype.kind in "biu" else None


class Prod(Function):
    """Product over ``dim``; the gradient of an element is the product of the others.

    Forward:   y = Π_{i ∈ dim} x_i
    Backward:  ∂L/∂x_i = broadcast(g) ⊙ Π_{j ≠ i} x_j
               = g ⊙ y / x_i where no x is 0; where a slice holds zeros, y / x is 0/0, so:
               one zero at i: ∂L/∂x_i = g ⊙ Π_{j ≠ i} x_j (product of the nonzeros), 0 elsewhere;
               two zeros i, k: ∂L/∂x_i = g ⊙ x_k ⊙ Π_{j ≠ i, k} x_j (= 0), 0 elsewhere;
               three or more zeros: 0 everywhere in that slice
    Each case is written so that its own derivative is right too: the division form uses the
    saved output y (whose gradient is the product of the others), the two-zeros case keeps
    x_k as a factor. Second derivatives are exact; third and higher ones are exact where a
    slice holds at most one zero.
    """

    formula = ("g * prod(x) / x  (product of the others where x has zeros)",)

    @staticmethod
    def forward(ctx, x, *, dim=None, keepdim=False):
        ctx.axes = _dims_of_overload(ctx, dim, x.ndim, "prod")
        # np.prod(a, axis, dtype, out, keepdims); overflow to inf is PyTorch's result too
        y = quietly(np.prod, x.data, ctx.axes, _accumulation_dtype(x.data), None, True)
        return _output_saved_with_input(ctx, x, y, keepdim)

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        g, y_kept = _unsqueeze_to(grad_output, x.shape, ctx.axes), _unsqueeze_to(y, x.shape, ctx.axes)
        zero = x.data == 0
        if not zero.any():
            return g * (y_kept / x)
        x_safe = x.masked_fill(zero, 1.0)
        nonzero_product = Prod.apply(x_safe, dim=ctx.axes, keepdim=True)
        zeros_in_slice = np.sum(zero, axis=ctx.axes, keepdims=True)
        # At a zero x_i whose slice has exactly one other zero x_k, Π_{j≠i} x_j = x_k · (nonzero product):
        # 0 in value, but written with x_k so that its derivative (the second derivative of y) is right
        other_zero = x.masked_fill(~zero, 0.0).sum(ctx.axes, keepdim=True) - x
        factor = other_zero.masked_fill(zeros_in_slice != 2, 0.0).masked_fill(zeros_in_slice == 1, 1.0)
        return g * (nonzero_product * factor).where(zero, y_kept / x_safe)  # y / x_safe: 0 beside a zero


class Cumsum(Function):
    """Running sum along ``dim`` (bool and integer input give int64, as PyTorch).

    Forward:   y_i = Σ_{j ≤ i} x_j
    Backward:  ∂L/∂x_j = Σ_{i ≥ j} g_i = flip(cumsum(flip(g)))   (the reversed running sum)
    """

    formula = ("flip(cumsum(flip(g, dim), dim), dim)",)

    @staticmethod
    def forward(ctx, x, *, dim):
        ctx.dim = dim
        a = x.data.reshape(1) if x.ndim == 0 else x.data  # a 0-d tensor is its own running sum
        return np.cumsum(a, axis=dim, dtype=_accumulation_dtype(a)).reshape(x.shape)

    @staticmethod
    def backward(ctx, grad_output):
        if grad_output.ndim == 0:
            return grad_output
        return _reversed_cumsum(grad_output, ctx.dim)


def _reversed_cumsum(t, dim: int):
    """z_j = Σ_{i ≥ j} t_i along ``dim``, flip(cumsum(flip(t))), in Tensor ops: the adjoint of a running sum."""
    return Cumsum.apply(t.flip(dim), dim=dim).flip(dim)


class Cumprod(Function):
    r"""Running product along ``dim`` (bool and integer input give int64, as PyTorch).

    Forward:   y_i = Π_{j ≤ i} x_j
    Backward:  ∂L/∂x_k = Σ_{j ≥ k} g_j · Π_{i ≤ j, i ≠ k} x_i
               = flip(cumsum(flip(g ⊙ y))) / x_k when no x is 0 (O(n) per slice); with zeros, the
               products leaving out x_k are computed directly: the running products of x with x_k
               set to 1, one row per k (O(n²) per slice), so a zero gets its exact gradient.
    """

    formula = ("sum_{j>=k} g_j * prod_{i<=j, i!=k} x_i",)

    @staticmethod
    def forward(ctx, x, *, dim):
        ctx.dim = dim
        ctx.save_for_backward(x)
        a = x.data.reshape(1) if x.ndim == 0 else x.data
        return quietly(np.cumprod, a, dim, _accumulation_dtype(a)).reshape(x.shape)  # overflow: inf, silently

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        if x.ndim == 0:
            return grad_output
        d = ctx.dim
        if np.all(x.data != 0):
            y = Cumprod.apply(x, dim=d)
            return _reversed_cumsum(grad_output * y, d) / x
        xm, g = x.movedim(d, -1), grad_output.movedim(d, -1)
        n = xm.shape[-1]
        rows = xm.unsqueeze(-2).expand(*xm.shape[:-1], n, n)  # row k: x_0 … x_{n−1}
        eye = np.eye(n, dtype=bool)
        left_out = Cumprod.apply(rows.where(~eye, 1.0), dim=-1)  # row k: running products with x_k set to 1
        later = np.triu(np.ones((n, n), dtype=bool))  # j ≥ k
        return (left_out.where(later, 0.0) * g.unsqueeze(-2)).sum(-1).movedim(-1, d)
