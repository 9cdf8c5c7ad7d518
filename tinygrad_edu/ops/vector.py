"""Vector geometry: Cross (the 3-D cross product) and Cdist (all pairwise p-distances).

Notation as in ``ops/elementwise.py``. Both work on operands of one shape (or with batch
dims already broadcast by the Tensor wrapper), so their formulas are the textbook ones.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from .fpstate import quietly


class Cross(Function):
    """The cross product of 3-vectors along ``dim`` (``torch.linalg.cross``; x and w of one shape).

    Forward:   y = x × w = (x₂w₃ − x₃w₂, x₃w₁ − x₁w₃, x₁w₂ − x₂w₁)
    Backward:  ∂L/∂x = w × g,   ∂L/∂w = g × x      (g·(x × w) = x·(w × g) = w·(g × x))
    """

    formula = ("cross(w, g)", "cross(g, x)")
    torch_name = "LinalgCrossBackward0"

    @staticmethod
    def forward(ctx, x, w, *, dim):
        ctx.dim = dim
        ctx.save_for_backward(w if ctx.needs_input_grad[0] else None, x if ctx.needs_input_grad[1] else None)
        return np.cross(x.data, w.data, axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        w, x = ctx.saved_tensors
        grad_x = Cross.apply(w, grad_output, dim=ctx.dim) if ctx.needs_input_grad[0] else None
        grad_w = Cross.apply(grad_output, x, dim=ctx.dim) if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


class Cdist(Function):
    r"""p-norm distance between every row of x (…, P, M) and every row of w (…, R, M): y (…, P, R).

    Forward:   y_pr = (Σ_m |x_pm − w_rm|^p)^(1/p)     (p = 0: #{m : x_pm ≠ w_rm};  p = ∞: max_m |x_pm − w_rm|)
    Backward:  with d = x_p − w_r and G_prm = ∂y_pr/∂d_m · g_pr:
               G = g · sign(d) · |d|^(p−1) / y^(p−1)      (p = 2: g·d/y;  p = 1: g·sign(d);  0 where y = 0;
                                                           p < 1: also 0 where d = 0)
               p = ∞: G = g · sign(d) · [|d| = y]          (every tied coordinate gets it, as PyTorch)
               p = 0: G = 0
               ∂L/∂x_p = Σ_r G_pr,   ∂L/∂w_r = −Σ_p G_pr
    PyTorch's _cdist_backward. (PyTorch computes p = 2 for P or R > 25 through matrix products,
    x² − 2xw + w², which is faster and less exact; this op always takes the differences.)
    """

    formula = ("sum_r g * sign(d) * |d|**(p-1) / y**(p-1)", "-sum_p g * sign(d) * |d|**(p-1) / y**(p-1)")
    torch_name = "CdistBackward0"

    @staticmethod
    def forward(ctx, x, w, *, p):
        ctx.p = p
        d = np.abs(x.data[..., :, None, :] - w.data[..., None, :, :])
        if p == 0:
            y = np.count_nonzero(d, axis=-1).astype(x.dtype)
        elif p == math.inf:
            y = np.max(d, axis=-1, initial=0)
        elif p == 1:
            y = np.sum(d, axis=-1)
        elif p == 2:
            y = np.sqrt(np.sum(d * d, axis=-1))
        else:
            y = quietly(np.power, np.sum(quietly(np.power, d, p), axis=-1), 1.0 / p)
        ctx.save_for_backward(x, w, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, w, y = ctx.saved_tensors
        p = ctx.p
        d = x.unsqueeze(-2) - w.unsqueeze(-3)  # (…, P, R, M), in Tensor ops: differentiable again
        g, y_m = grad_output.unsqueeze(-1), y.unsqueeze(-1)
        sign = np.sign(d.data)
        if p == 0:
            grad_d = d * 0.0
        elif p == 1:
            grad_d = g * sign
        elif p == 2:
            grad_d = (g / y_m).masked_fill(y_m.data == 0, 0.0) * d
        elif p == math.inf:
            grad_d = g * (sign * (np.abs(d.data) == y_m.data))
        else:
            zero = d.data == 0
            magnitude = d.abs().masked_fill(zero, 1.0) ** (p - 1.0)  # |d|^(p−1), kept finite at d = 0 for p < 1
            grad_d = ((g / y_m ** (p - 1.0)).masked_fill(y_m.data == 0, 0.0) * magnitude) * np.where(zero, 0, sign)
        grad_x = grad_d.sum(-2) if ctx.needs_input_grad[0] else None
        grad_w = -grad_d.sum(-3) if ctx.needs_input_grad[1] else None
        return grad_x, grad_w
