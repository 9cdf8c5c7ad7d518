"""Writes at indices: IndexPut (``x[indices] = v`` / ``+= v``) and ScatterReduce.

Notation as in ``ops/elementwise.py``. The reads at indices (GetItem, Gather) and the plain
writes and adds (IndexAccumulate, Scatter, ScatterAdd) are in ``movement.py``; these two
build on them: each backward reads the gradient back at the written positions (GetItem,
Gather) and keeps it, or not, where x was overwritten.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from .fpstate import quietly
from .movement import Gather, _along_dim, _mask_at


class IndexPut(Function):
    """``index_put``: x with the values v written (``accumulate``: added) at ``x[indices]``.

    Forward:   y = x;  y[indices] = v        (accumulate: y[indices] += v, repeats add up)
    Backward:  ∂L/∂x = g with 0 where v was written     (accumulate: g, nothing was lost)
               ∂L/∂v = sum_to(g[indices], v.shape)      (v broadcast to x[indices] on the way in)
    With repeated indices and accumulate=False the last write wins (PyTorch leaves it
    unspecified), yet every copy of v still receives its g[index], as in PyTorch.
    """

    formula = ("g * (1 - written)  (g if accumulate)", "sum_to(g[indices], v.shape)")
    torch_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, x, v, *, indices, accumulate=False):
        ctx.indices, ctx.accumulate, ctx.values_shape = indices, accumulate, v.shape
        y = x.data.copy()
        if accumulate:
            np.add.at(y, indices, v.data)
        else:
            y[indices] = v.data
            ctx.written = _mask_at(x.shape, indices)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        grad_x = grad_v = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_output if ctx.accumulate else grad_output.masked_fill(ctx.written, 0.0)
        if ctx.needs_input_grad[1]:
            grad_v = grad_output[ctx.indices].sum_to(ctx.values_shape)
        return grad_x, grad_v


# reduce name → (the ufunc folding src into y at the positions, its identity as a function of the dtype)
_REDUCTIONS: dict[str, tuple[Any, Any]] = {
    "sum": (np.add, lambda dtype: 0),
    "mean": (np.add, lambda dtype: 0),
    "prod": (np.multiply, lambda dtype: 1),
    "amax": (np.maximum, lambda dtype: -np.inf if dtype.kind == "f" else np.iinfo(dtype).min),
    "amin": (np.minimum, lambda dtype: np.inf if dtype.kind == "f" else np.iinfo(dtype).max),
}


def scatter_reduce_array(x: np.ndarray, src: np.ndarray, dim: int, index: np.ndarray, reduce: str,
                         include_self: bool) -> np.ndarray:
    """y = x with src folded in along ``dim`` at ``index`` by ``reduce`` (src of index's shape).

    Positions no index names keep x. Where an index lands, ``include_self=False`` first resets x
    to the reduction's identity (so only the src values count); mean divides by the count of
    values folded in (integer dtypes: floor division, as PyTorch).
    """
    ufunc, identity = _REDUCTIONS[reduce]
    positions = _along_dim(index, dim)
    y = x.copy()
    if not include_self:
        y[positions] = identity(x.dtype)
    quietly(ufunc.at, y, positions, src)
    if reduce == "mean":
        counts = _scatter_counts(x.shape, dim, index, include_self)
        y = y // counts if y.dtype.kind in "iu" else y / counts.astype(y.dtype)
    return y


def _scatter_counts(shape: tuple[int, ...], dim: int, index: np.ndarray, include_self: bool) -> np.ndarray:
    """How many values a mean scatter folds into each position (x itself counting 1 if included),
    at least 1 so that untouched positions divide by 1."""
    counts = np.full(shape, 1 if include_self else 0, dtype=np.int64)
    np.add.at(counts, _along_dim(index, dim), 1)
    return np.maximum(counts, 1)


class ScatterReduce(Function):
    r"""``scatter_reduce``: fold src into x along ``dim`` at ``index`` by sum, prod, mean, amax or amin.

    Forward:   y[…, index[i, j, …], …] = reduce(x[…] (if include_self), src[i, j, …] for every (i, j, …) sent there)
    Backward:  PyTorch's scatter_reduce_backward (P = the positions index names along dim):
      sum:   ∂L/∂x = g;                 ∂L/∂src = gather(g)
      mean:  ∂L/∂x = g / N;             ∂L/∂src = gather(g / N)      (N = values averaged at a position)
      prod:  ∂L/∂x = g · y / x;         ∂L/∂src = gather(g · y) / src
             (the products leaving one factor out: with x or a single src zero replaced by 1,
             recomputed, so a zero factor gets its exact gradient)
      amax, amin: ties share evenly: ∂L/∂x = g [x = y] / T;  ∂L/∂src = gather(g / T) [src = y at its position]
             (T = number of x and src values equal to y at a position)
      include_self=False: ∂L/∂x = 0 at P (x did not take part there).
    Second derivatives: exact, except prod with two or more src zeros at one position
    (PyTorch refuses that double backward; so does this op).
    """

    formula = ("g (sum) | g/N (mean) | g*y/x (prod) | g*[x==y]/T (amax, amin)",
               "gather(g) | gather(g/N) | gather(g*y)/src | gather(g/T)*[src==y]")
    torch_name = "ScatterReduceBackward0"

    @staticmethod
    def forward(ctx, x, src, *, dim, index, reduce, include_self=True):
        ctx.dim, ctx.index, ctx.reduce, ctx.include_self = dim, index, reduce, include_self
        y = scatter_reduce_array(x.data, src.data, dim, index, reduce, include_self)
        ctx.save_for_backward(x, src, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, src, y = ctx.saved_tensors
        g, positions = grad_output, _along_dim(ctx.index, ctx.dim)
        if ctx.reduce == "sum":
            grad_x, grad_src = g, _gather(ctx, g)
        elif ctx.reduce == "mean":
            grad_x = g / _scatter_counts(x.shape, ctx.dim, ctx.index, ctx.include_self).astype(g.dtype)
            grad_src = _gather(ctx, grad_x)
        elif ctx.reduce == "prod":
            grad_x, grad_src = _prod_gradients(ctx, g, x, src, y)
        else:  # amax, amin
            x_is_y, src_is_y = x.data == y.data, src.data == y.data[positions]
            ties = x_is_y.astype(g.dtype)
            np.add.at(ties, positions, src_is_y)
            shared = g / ties
            grad_x = shared.masked_fill(~x_is_y, 0.0)
            grad_src = _gather(ctx, shared).masked_fill(~src_is_y, 0.0)
        if not ctx.include_self:
            grad_x = grad_x.masked_fill(_mask_at(x.shape, positions), 0.0)
        return (grad_x if ctx.needs_input_grad[0] else None), (grad_src if ctx.needs_input_grad[1] else None)


def _gather(ctx, t):
    """t read at the scatter's positions: gather(t, dim, index)."""
    return Gather.apply(t, dim=ctx.dim, index=ctx.index)


def _prod_gradients(ctx, g, x, src, y):
    """The prod case of ScatterReduce.backward: ∂L/∂x and ∂L/∂src, exact at zeros (PyTorch's rule)."""
    dim, index = ctx.dim, ctx.index
    options = {"dim": dim, "index": index, "reduce": "prod", "include_self": ctx.include_self}
    x_safe = x.masked_fill(x.data == 0, 1.0)
    grad_x = g * ScatterReduce.apply(x_safe, src, **options) / x_safe  # the product of the others at x's position
    src_zero = src.data == 0
    zeros_there = np.zeros(x.shape, dtype=np.int64)
    np.add.at(zeros_there, _along_dim(index, dim), src_zero)
    zeros_at_src = zeros_there[_along_dim(index, dim)]
    if grad_mode.is_grad_enabled() and (zeros_at_src > 1).any():
        raise RuntimeError("scatter_reduce: double backward is not supported for src when two or more zeros "
                           f"of src (shape {src.shape}) are scattered to one position with reduce='prod'")
    single_zero = src_zero & (zeros_at_src == 1)
    without_that_zero = ScatterReduce.apply(x, src.masked_fill(single_zero, 1.0), **options)
    grad_src = _gather(ctx, g * without_that_zero).where(single_zero,
                                                         _gather(ctx, g * y) / src.masked_fill(src_zero, 1.0))
    return grad_x, grad_src
