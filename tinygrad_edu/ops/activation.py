"""Activation functions: Sigmoid Tanh ReLU LeakyReLU GELU.

Notation as in ``ops/elementwise.py``: x the input, y the output, g = ∂L/∂y.
The formulas for σ, tanh and ReLU are those of the source documents (FORMULAS.md,
"Model pieces"); the tests check them literally.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function

if TYPE_CHECKING:
    from ..tensor import Tensor


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), evaluated without overflow for any x.

    For x ≥ 0, e^(−x) ≤ 1 is safe. For x < 0 the same value is written e^x / (1 + e^x),
    where e^x ≤ 1 is safe too. Both branches use e^(−|x|), so nothing ever overflows.
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """Logistic sigmoid, computed stably for large |x|.

    Forward:   y = σ(x) = 1 / (1 + e^(−x))
    Backward:  ∂L/∂x = g ⊙ y ⊙ (1 − y)
    """

    formula = ("g * y * (1 - y)",)

    @staticmethod
    def forward(ctx, x):
        y = stable_sigmoid(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y * (1.0 - y)


class Tanh(Function):
    """Hyperbolic tangent.

    Forward:   y = tanh x = (eˣ − e^(−x)) / (eˣ + e^(−x))
    Backward:  ∂L/∂x = g ⊙ (1 − y²)
    """

    formula = ("g * (1 - y**2)",)

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (1.0 - y * y)


class ReLU(Function):
    """Rectified linear unit, one pass each way (``backend.bias_act`` / ``backend.act_grad``).

    Forward:   y = max(0, x)                (NaN stays NaN, as in PyTorch)
    Backward:  ∂L/∂x = g ⊙ [y > 0]        (the slope at 0 is taken as 0; y = NaN passes g: as PyTorch)
    """

    formula = ("g * [x > 0]",)
    torch_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x):
        y = backend.bias_act(x.data, None, "relu")
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return relu_grad(grad_output, y)


def relu_grad(grad_output: Tensor, y: Tensor) -> Tensor | np.ndarray:
    """g ⊙ [y > 0] for y = ReLU output: a Tensor product when a graph is being built
    (create_graph=True: it must be differentiable in g), else one backend pass on the arrays."""
    if grad_mode.is_grad_enabled():
        return grad_output * (~(y.data <= 0)).astype(grad_output.dtype)
    return backend.act_grad(grad_output.data, y.data, "relu", False)[0]


class LeakyReLU(Function):
    """Leaky ReLU with slope ``negative_slope`` below zero.

    Forward:   y = x if x > 0 else a·x
    Backward:  ∂L/∂x = g ⊙ (1 if x > 0 else a)
    """

    formula = ("g * (1 if x > 0 else a)",)
    torch_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, *, negative_slope=0.01):
        slope = np.where(x.data > 0, 1.0, negative_slope).astype(x.dtype)
        ctx.save_for_backward(slope)
        return x.data * slope

    @staticmethod
    def backward(ctx, grad_output):
        (slope,) = ctx.saved_tensors
        return grad_output * slope


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Function):
    r"""Gaussian error linear unit, exact (erf) or with the tanh approximation.

    Forward:   y = x Φ(x),  Φ(x) = ½(1 + erf(x/√2))                      approximate="none"
               y = ½x(1 + tanh(u)),  u = √(2/π)(x + 0.044715x³)           approximate="tanh"
    Backward:  ∂L/∂x = g ⊙ (Φ(x) + x φ(x)),  φ(x) = e^(−x²/2)/√(2π)      approximate="none"
               ∂L/∂x = g ⊙ (½(1 + tanh u) + ½x(1 − tanh² u) √(2/π)(1 + 3·0.044715x²))
    """

    formula = ("g * (Phi(x) + x * phi(x))",)
    torch_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, *, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return GELU.value(x, approximate).data

    @staticmethod
    def value(x, approximate="none"):
        """y as Tensor ops (used by forward, and the composite the backward differentiates)."""
        if approximate == "tanh":
            u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1.0 + u.tanh())
        return x * (0.5 * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf()))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = (_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)).tanh()
            slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
        else:
            cdf = 0.5 * (1.0 + (x * (1.0 / math.sqrt(2.0))).erf())
            pdf = (-0.5 * x * x).exp() * (1.0 / math.sqrt(2.0 * math.pi))
            slope = cdf + x * pdf
        return grad_output * slope
