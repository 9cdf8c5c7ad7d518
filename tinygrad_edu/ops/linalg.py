"""Linear algebra: MatMul.

Notation as in ``ops/elementwise.py``. The product follows ``np.matmul``: the last two
dims multiply as matrices, the leading (batch) dims broadcast, and a 1-D operand is a
vector (promoted to a matrix for the product, and its dim removed from the result).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Function


class MatMul(Function):
    r"""Matrix product, batched and broadcast like ``np.matmul``.

    Forward:   y[..., i, j] = Σ_k x[..., i, k] · w[..., k, j]
    Backward:  ∂L/∂x = g wᵀ      (summed over the batch dims x was broadcast along)
               ∂L/∂w = xᵀ g      (summed over the batch dims w was broadcast along)
    A 1-D x is the row vector (1, k) and a 1-D w the column vector (k, 1) for these
    formulas; the added dims are removed again from the gradients.
    """

    formula = ("g @ w.T", "x.T @ g")

    @staticmethod
    def forward(ctx, x, w):
        _check_shapes(x.shape, w.shape)
        ctx.save_for_backward(x, w)
        return backend.matmul(x.data, w.data)

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        x2 = x.unsqueeze(0) if x.ndim == 1 else x  # (1, k)
        w2 = w.unsqueeze(-1) if w.ndim == 1 else w  # (k, 1)
        batch = grad_output.shape[: grad_output.ndim - (x.ndim > 1) - (w.ndim > 1)]
        g = grad_output.reshape(*batch, x2.shape[-2], w2.shape[-1])  # the promoted dims put back
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = (g @ w2.mT).sum_to(x2.shape).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            grad_w = (x2.mT @ g).sum_to(w2.shape).reshape(w.shape)
        return grad_x, grad_w


def _check_shapes(x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> None:
    """Raise ShapeError naming both shapes unless ``np.matmul`` accepts them."""
    from ..tensor import ShapeError  # imported here: tensor.py imports the ops

    def fail(reason: str) -> None:
        raise ShapeError(f"matmul: shapes {x_shape} and {w_shape} cannot be multiplied ({reason})")

    if not x_shape or not w_shape:
        fail("both operands need at least 1 dim")
    k_x, k_w = x_shape[-1], (w_shape[0] if len(w_shape) == 1 else w_shape[-2])
    if k_x != k_w:
        fail(f"inner dims {k_x} and {k_w} differ")
    try:
        np.broadcast_shapes(x_shape[:-2], w_shape[:-2])
    except ValueError:
        fail(f"batch dims {x_shape[:-2]} and {w_shape[:-2]} do not broadcast")
