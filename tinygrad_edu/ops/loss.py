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


# ---- fused losses: CrossEntropy BCEWithLogits ---------------------------------------------


class CrossEntropy(Function):
    """Cross-entropy of logits x (N, C) against class indices t (N,), one loss per sample.

    Forward:   y_i = logsumexp(x_i) − x_i[t_i]          (= −log softmax(x_i)[t_i], computed stably)
    Backward:  ∂L/∂x = g[:, None] ⊙ (softmax(x) − onehot(t))
    Composite twin (tests): −log_softmax(x).gather(1, t).
    """

    formula = ("g * (softmax(x) - onehot(t))",)

    @staticmethod
    def forward(ctx, x, *, target):
        ctx.target = target
        ctx.save_for_backward(x)
        rows = np.arange(x.shape[0])
        return logsumexp_array(x.data, (1,))[:, 0] - x.data[rows, target]

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        onehot = np.zeros(x.shape, dtype=x.dtype)
        onehot[np.arange(x.shape[0]), ctx.target] = 1
        return grad_output.unsqueeze(1) * (x.softmax(1) - onehot)


def _softplus_neg(x: np.ndarray) -> np.ndarray:
    """softplus(−x) = log(1 + e^(−x)) = max(−x, 0) + log(1 + e^(−|x|)), finite for any x."""
    return np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


class BCEWithLogits(Function):
    """Binary cross-entropy on logits x with targets y and positive-class weight p (all one shape).

    Forward:   y_loss = (1 − y)·x + (1 + (p − 1)·y)·softplus(−x)
               (p = 1: max(x, 0) − x·y + log(1 + e^(−|x|)), stable at any x)
    Backward:  ∂L/∂x = g ⊙ ((1 − y) − (1 + (p − 1)·y) ⊙ σ(−x))
               ∂L/∂y = g ⊙ ((p − 1)·softplus(−x) − x)
               ∂L/∂p = g ⊙ y ⊙ softplus(−x)
    Composite twin (tests): −[p·y·log σ(x) + (1 − y)·log(1 − σ(x))].
    """

    formula = ("g * ((1 - y) - (1 + (p - 1) * y) * sigmoid(-x))", "g * ((p - 1) * softplus(-x) - x)",
               "g * y * softplus(-x)")

    @staticmethod
    def forward(ctx, x, y, p):
        ctx.save_for_backward(x, y, p)
        return (1 - y.data) * x.data + (1 + (p.data - 1) * y.data) * _softplus_neg(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        x, y, p = ctx.saved_tensors
        softplus_neg = (-x).relu() + (1 + (-x.abs()).exp()).log()
        grad_x = grad_y = grad_p = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_output * ((1 - y) - (1 + (p - 1) * y) * (-x).sigmoid())
        if ctx.needs_input_grad[1]:
            grad_y = grad_output * ((p - 1) * softplus_neg - x)
        if ctx.needs_input_grad[2]:
            grad_p = grad_output * y * softplus_neg
        return grad_x, grad_y, grad_p
