"""Softmax and log-softmax, fused for numerical stability.

Notation as in ``ops/elementwise.py``. Both are computed from the shifted logits
x − max(x), so no exponential can overflow (inputs like ±1000 give finite values and
gradients). Their composite twins, ``exp(x) / Σ exp(x)`` and ``x − logsumexp(x)``, are
what the tests compare them with.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from .fpstate import quietly
from .reduce import normalize_dims


class Softmax(Function):
    """Softmax along ``dim``.

    Forward:   y_i = e^(x_i − m) / Σ_j e^(x_j − m),   m = max_j x_j
    Backward:  ∂L/∂x = y ⊙ (g − Σ_j g_j y_j)
    """

    formula = ("y * (g - sum(g * y))",)

    @staticmethod
    def forward(ctx, x, *, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim, "softmax") or (0,)
        y = quietly(_softmax_array, x.data, ctx.dim)  # a row holding ±inf: all nan, as PyTorch, no warning
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (grad_output - (grad_output * y).sum(dim=ctx.dim, keepdim=True))


def _softmax_array(x: np.ndarray, dim: int) -> np.ndarray:
    """e^(x − m) / Σ e^(x − m) along ``dim``. A row holding ±inf gives inf − inf = nan: the
    whole row is nan, as in PyTorch (the caller silences NumPy's warning with ``quietly``)."""
    e = np.exp(x - np.max(x, axis=dim, keepdims=True, initial=-np.inf))  # initial: an empty x
    return e / np.sum(e, axis=dim, keepdims=True)


def _log_softmax_array(x: np.ndarray, dim: int) -> np.ndarray:
    """(x − m) − log Σ e^(x − m) along ``dim``; ±inf in a row: the row is nan, as in PyTorch.
    (Not ``logsumexp_array``: that one maps an infinite max to a finite shift, as
    torch.logsumexp does, which would leave the row partly finite.)"""
    shifted = x - np.max(x, axis=dim, keepdims=True, initial=-np.inf)  # initial: an empty x
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


class LogSoftmax(Function):
    """Log-softmax along ``dim``.

    Forward:   y_i = x_i − logsumexp(x) = x_i − m − log Σ_j e^(x_j − m)
    Backward:  ∂L/∂x = g − e^y ⊙ Σ_j g_j          (e^y is the softmax)
    """

    formula = ("g - exp(y) * sum(g)",)

    @staticmethod
    def forward(ctx, x, *, dim):
        (ctx.dim,) = normalize_dims(dim, x.ndim, "log_softmax") or (0,)
        y = quietly(_log_softmax_array, x.data, ctx.dim)  # a row holding ±inf: all nan, as PyTorch, no warning
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output - y.exp() * grad_output.sum(dim=ctx.dim, keepdim=True)


# ---- fused losses: CrossEntropy BCEWithLogits ---------------------------------------------


class CrossEntropy(Function):
    """Softmax-cross-entropy of logits x (N, C) against class indices t (N,), fused: one C pass
    each way (``backend.cross_entropy``, csrc/fused.c) instead of a chain of NumPy calls.

    Forward:   ℓ_i = w[t_i]·(logsumexp(x_i) − x_i[t_i])        (= −w[t_i]·log softmax(x_i)[t_i], stable)
               label smoothing ε: (1 − ε)·ℓ_i + (ε/C)·Σ_c w_c·(logsumexp(x_i) − x_ic);  ℓ_i = 0 if t_i = ignore_index
               y = ℓ ('none'), Σ_i ℓ_i ('sum') or Σ_i ℓ_i / Σ_i w[t_i] ('mean', ignored rows not counted)
    Backward:  ∂L/∂x_i = s_i·((1 − ε)·w[t_i]·(softmax(x_i) − onehot(t_i)) + (ε/C)·(W·softmax(x_i) − w))
               s_i = g_i ('none'), g ('sum'), g / Σ_i w[t_i] ('mean');  W = Σ_c w_c;  w = 1 by default

    Composite twin: ``numpy_ref.cross_entropy`` (NumPy), and the backward with create_graph=True,
    written in Tensor ops so that it can be differentiated again.
    """

    formula = ("s * w[t] * (softmax(x) - onehot(t))",)
    torch_name = "NllLossBackward0"  # PyTorch's cross_entropy ends in nll_loss (label smoothing: in an add)

    @staticmethod
    def forward(ctx, x, *, target, weight=None, ignore_index=-100, reduction="none", label_smoothing=0.0):
        if reduction not in ("none", "sum", "mean"):
            raise ValueError(f"cross_entropy: reduction must be one of ('mean', 'sum', 'none'), got {reduction!r}")
        logits = x.data
        ctx.target = np.asarray(target)
        ctx.weight = (_unit_weights(logits.shape[-1:], logits.dtype) if weight is None
                      else np.asarray(weight, dtype=logits.dtype))
        ctx.ignore_index, ctx.label_smoothing, ctx.reduction = ignore_index, label_smoothing, reduction
        loss, probs, row_weight, totals = backend.cross_entropy(logits, ctx.target, ctx.weight, ignore_index,
                                                                label_smoothing)
        # saved, not ctx attributes: the engine frees saved values after backward, so a loss kept
        # afterwards (losses.append(loss)) does not keep the (N, C) softmax alive
        ctx.save_for_backward(x, probs, row_weight)
        if reduction == "none":
            return loss
        # the sums come from the kernel's pass (in float64), not from NumPy reductions of loss and row_weight
        loss_total, weight_total = totals.tolist()
        ctx.divisor = weight_total if reduction == "mean" else 1.0
        return np.array(_quotient(loss_total, ctx.divisor), dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        x, probs, row_weight = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph=True: the formula in Tensor ops (differentiable)
            scale = grad_output.reshape(-1, 1) if ctx.reduction == "none" else grad_output / ctx.divisor
            return scale * CrossEntropy._grad_per_unit_scale(ctx, x, row_weight.data)
        g = grad_output.data
        if ctx.reduction == "none":
            scale = g.reshape(-1)
        else:  # the same s_i for every row (np.empty + fill: np.full without its Python wrapper)
            scale = np.empty(x.shape[0], x.dtype)
            scale.fill(_quotient(float(g), ctx.divisor))
        return backend.cross_entropy_grad(probs.data, ctx.target, ctx.weight, scale, ctx.ignore_index,
                                          ctx.label_smoothing)

    @staticmethod
    def _grad_per_unit_scale(ctx, x, row_weight):
        """(1 − ε)·w[t]·(softmax(x) − onehot(t)) + (ε/C)·(W·softmax(x) − w), 0 on ignored rows, in Tensor ops."""
        rows, classes = x.shape
        keep = (ctx.target != ctx.ignore_index).astype(x.dtype)[:, None]
        onehot = np.zeros(x.shape, dtype=x.dtype)
        onehot[np.arange(rows), np.where(keep[:, 0] > 0, ctx.target, 0)] = 1
        p = x.softmax(1)
        grad = (1 - ctx.label_smoothing) * row_weight[:, None] * (p - onehot)
        if ctx.label_smoothing:
            grad = grad + keep * (ctx.label_smoothing / classes) * (float(ctx.weight.sum()) * p - ctx.weight)
        return grad


def _quotient(total: float, divisor: float) -> float:
    """total / divisor with IEEE's division by zero: every row ignored gives 0/0 = nan, as PyTorch."""
    return total / divisor if divisor else float(quietly(np.divide, total, divisor))


@functools.lru_cache(maxsize=32)
def _unit_weights(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The class weights w = 1 of a cross-entropy without ``weight``: made once per (classes, dtype)
    instead of at every call, and read-only, since every such call shares it."""
    weight = np.ones(shape, dtype)
    weight.flags.writeable = False
    return weight


def _softplus_neg(x: np.ndarray) -> np.ndarray:
    """softplus(−x) = log(1 + e^(−x)) = max(−x, 0) + log(1 + e^(−|x|)), finite for any x."""
    return np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


class BinaryCrossEntropy(Function):
    """Binary cross-entropy of probabilities x against targets y (one shape), as PyTorch computes it.

    Forward:   y_loss = −[y·max(log x, −100) + (1 − y)·max(log(1 − x), −100)]
    Backward:  ∂L/∂x = g ⊙ (x − y) / max(x(1 − x), ε),   ε = 1e-12
               ∂L/∂y = g ⊙ (log(1 − x) − log x)            (unclamped: ±∞ at x = 0 or 1, as PyTorch)
    (x − y)/(x(1 − x)) is the exact slope of the unclamped loss; ε keeps it finite where a
    saturated sigmoid gives x = 0 or 1 exactly, where the chain rule through the clamped
    logs would give 0·∞ = nan.
    """

    formula = ("g * (x - y) / max(x * (1 - x), eps)", "g * (log(1 - x) - log(x))")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        log_x = np.maximum(quietly(np.log, x.data), -100)  # log 0 = −inf, clamped as in PyTorch
        log_1mx = np.maximum(quietly(np.log, 1 - x.data), -100)
        return -(y.data * log_x + (1 - y.data) * log_1mx)

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_output * (x - y) / (x * (1 - x)).clamp(min=1e-12)
        if ctx.needs_input_grad[1]:
            grad_y = grad_output * ((1 - x).log() - x.log())
        return grad_x, grad_y


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
    torch_name = "BinaryCrossEntropyWithLogitsBackward0"

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
