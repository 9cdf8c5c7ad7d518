"""Softmax and log-softmax, fused for numerical stability.

Notation as in ``ops/elementwise.py``. Both are computed from the shifted logits
x − max(x), so no exponential can overflow (inputs like ±1000 give finite values and
gradients). Their composite twins, ``exp(x) / Σ exp(x)`` and ``x − logsumexp(x)``, are
what the tests compare them with.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .reduce import logsumexp_array, normalize_dims


class Softmax(Function):
    """Softmax along ``dim``.

    Forward:   y_i = e^(x_i − m) / Σ_j e^(x_j − m),   m = max_j x_j
    Backward:  ∂L/∂x = y ⊙ (g − Σ_j g_j y_j)
    """

    formula = ("y * (g - sum(g * y))",)

    @staticmethod
    def forward(ctx, x, *, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim, "softmax") or (0,)
        e = np.exp(x.data - np.max(x.data, axis=ctx.dim, keepdims=True, initial=-np.inf))  # initial: empty x
        y = e / np.sum(e, axis=ctx.dim, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (grad_output - (grad_output * y).sum(dim=ctx.dim, keepdim=True))


class LogSoftmax(Function):
    """Log-softmax along ``dim``.

    Forward:   y_i = x_i − logsumexp(x) = x_i − m − log Σ_j e^(x_j − m)
    Backward:  ∂L/∂x = g − e^y ⊙ Σ_j g_j          (e^y is the softmax)
    """

    formula = ("g - exp(y) * sum(g)",)

    @staticmethod
    def forward(ctx, x, *, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim, "log_softmax") or (0,)
        y = x.data - logsumexp_array(x.data, (ctx.dim,) if x.ndim else ())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output - y.exp() * grad_output.sum(dim=ctx.dim, keepdim=True)
