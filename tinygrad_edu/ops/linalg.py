"""Linear algebra: MatMul.

Notation as in ``ops/elementwise.py``. The product follows ``np.matmul``: the last two
dims multiply as matrices, the leading (batch) dims broadcast, and a 1-D operand is a
vector (promoted to a matrix for the product, and its dim removed from the result).
"""

from __future__ import annotations

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
        if x.ndim == 0 or w.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dim, got shapes {x.shape} and {w.shape}")
        k_x = x.shape[-1]
        k_w = w.shape[0] if w.ndim == 1 else w.shape[-2]
        if k_x != k_w:
            raise ValueError(
                f"matmul: shapes {x.shape} and {w.shape} cannot be multiplied "
                f"(inner dims {k_x} and {k_w} differ)"
            )
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
