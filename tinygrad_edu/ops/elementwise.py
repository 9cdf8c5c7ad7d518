"""Elementwise ops: arithmetic and the elementary functions.

Notation used in every docstring in tinygrad_edu.ops:
    x, w, ...      the op's inputs (names as in forward's signature)
    y              the op's output            (PyTorch derivatives.yaml: ``result``)
    g = ∂L/∂y      the incoming gradient      (argument ``grad_output``)
    ∂L/∂x          what backward returns for input x (``grad_x``)

Inputs of a binary op that need a gradient have the output's shape here: broadcasting is
the separate op ``Expand`` (movement.py), whose backward is a sum. Inputs that need no
gradient may be smaller and are broadcast by NumPy, since nothing flows back to them.

Forward works on NumPy arrays (``x.data``); backward is written with Tensor operations,
so every backward here can itself be differentiated (grad-of-grad).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd.function import Function
from .fpstate import quietly

# ---- arithmetic: Add Sub Mul Div Neg Pow --------------------------------------------


class Add(Function):
    """Elementwise sum.

    Forward:   y = x + w
    Backward:  ∂L/∂x = g
               ∂L/∂w = g
    """

    formula = ("g", "g")

    @staticmethod
    def forward(ctx, x, w):
        return x.data + w.data

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output


class Sub(Function):
    """Elementwise difference.

    Forward:   y = x − w
    Backward:  ∂L/∂x = g
               ∂L/∂w = −g
    """

    formula = ("g", "-g")

    @staticmethod
    def forward(ctx, x, w):
        return x.data - w.data

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, (-grad_output if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """Elementwise product.

    Forward:   y = x ⊙ w
    Backward:  ∂L/∂x = g ⊙ w
               ∂L/∂w = g ⊙ x
    """

    formula = ("g * w", "g * x")

    @staticmethod
    def forward(ctx, x, w):
        need_x, need_w = ctx.needs_input_grad
        ctx.save_for_backward(x if need_w else None, w if need_x else None)  # ∂L/∂x reads w, ∂L/∂w reads x
        return quietly(np.multiply, x.data, w.data)  # 0·inf = nan, overflow = inf, as PyTorch: no warning

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        grad_x = grad_output * w if ctx.needs_input_grad[0] else None
        grad_w = grad_output * x if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


class Div(Function):
    """Elementwise quotient.

    Forward:   y = x / w
    Backward:  ∂L/∂x = g / w
               ∂L/∂w = −g ⊙ x / w²  (computed as −g ⊙ ((x / w) / w), as PyTorch: w² underflows
                                     to 0 for |w| < 1e-19 in float32, (x / w) / w does not)
    """

    formula = ("g / w", "-g * ((x / w) / w)")

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, w)  # only ∂L/∂w reads x
        return quietly(np.divide, x.data, w.data)  # 1/0 = inf, 0/0 = nan, as PyTorch: no warning

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        grad_x = grad_output / w if ctx.needs_input_grad[0] else None
        grad_w = -grad_output * ((x / w) / w) if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


class Neg(Function):
    """Negation.

    Forward:   y = −x
    Backward:  ∂L/∂x = −g
    """

    formula = ("-g",)

    @staticmethod
    def forward(ctx, x):
        return -x.data

    @staticmethod
    def backward(ctx, grad_output):
        return -grad_output


class Pow(Function):
    """Elementwise power (the exponent may be a tensor or a constant).

    Forward:   y = x ** p
    Backward:  ∂L/∂x = g ⊙ p ⊙ x ** (p − 1)        (0 where p = 0, as in PyTorch)
               ∂L/∂p = g ⊙ y ⊙ log x               (0 where x = 0 and p ≥ 0)
    """

    formula = ("g * p * x**(p-1)", "g * x**p * log(x)")

    @staticmethod
    def forward(ctx, x, p):
        y = quietly(np.power, x.data, p.data)  # 0⁻¹ = inf, (−1)^½ = nan
        ctx.save_for_backward(x, p, y if ctx.needs_input_grad[1] else None)  # only ∂L/∂p reads y
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, p, y = ctx.saved_tensors
        grad_x = grad_p = None
        if ctx.needs_input_grad[0]:
            # p = 0 gives y = 1 everywhere, whose slope is 0 even at x = 0 (where x**-1 is inf)
            grad_x = (grad_output * p * x ** (p - 1)).masked_fill(p.data == 0, 0.0)
        if ctx.needs_input_grad[1]:
            # at x = 0, p ≥ 0 the true slope is 0, while y·log x would be 0·(−inf) = nan
            grad_p = (grad_output * y * x.log()).masked_fill((x.data == 0) & (p.data >= 0), 0.0)
        return grad_x, grad_p


# ---- elementary functions: Exp Log Sqrt Abs Sin Cos Erf ------------------------------


class Exp(Function):
    """Exponential.

    Forward:   y = eˣ
    Backward:  ∂L/∂x = g ⊙ y
    """

    formula = ("g * y",)

    @staticmethod
    def forward(ctx, x):
        y = quietly(np.exp, x.data)  # e^1000 = inf, as in PyTorch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y


class Log(Function):
    """Natural logarithm.

    Forward:   y = ln x
    Backward:  ∂L/∂x = g / x
    """

    formula = ("g / x",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return quietly(np.log, x.data)  # log 0 = -inf, log(-1) = nan, as in PyTorch

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / x


class Sqrt(Function):
    """Square root.

    Forward:   y = √x
    Backward:  ∂L/∂x = g / (2y)
    """

    formula = ("g / (2 * y)",)

    @staticmethod
    def forward(ctx, x):
        y = quietly(np.sqrt, x.data)  # √−1 = nan, as in PyTorch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output / (2.0 * y)


class Abs(Function):
    """Absolute value.

    Forward:   y = |x|
    Backward:  ∂L/∂x = g ⊙ sign(x)        where sign(0) = 0 (the subgradient PyTorch picks)
               and sign(nan) = 0: a nan input gets gradient 0, as in PyTorch
    """

    formula = ("g * sign(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(sign_zero_at_nan(x.data))
        return np.abs(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (sign,) = ctx.saved_tensors
        return grad_output * sign


def sign_zero_at_nan(a: np.ndarray) -> np.ndarray:
    """sign(a) with sign(nan) = 0, as PyTorch's sgn in the gradients of |x| and the 1-norm
    (NumPy's sign(nan) is nan, which would turn the gradient into nan). asarray: for 0-d input
    np.sign returns a NumPy scalar, which nan_to_num cannot change in place."""
    return np.nan_to_num(np.asarray(np.sign(a)), copy=False, nan=0.0)


class Sin(Function):
    """Sine.

    Forward:   y = sin x
    Backward:  ∂L/∂x = g ⊙ cos x
    """

    formula = ("g * cos(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x.cos()


class Cos(Function):
    """Cosine.

    Forward:   y = cos x
    Backward:  ∂L/∂x = −g ⊙ sin x
    """

    formula = ("-g * sin(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return -grad_output * x.sin()


# ---- more elementary functions: Tan Atan Asin Acos Sinh Cosh Asinh Acosh Atanh ---------------


class _Elementary(Function):
    """The shared forward and backward of the functions below: y = f(x) by NumPy (silent outside
    the domain: nan, as PyTorch), ∂L/∂x = g ⊙ f'(x) with f' (``slope``) in Tensor ops, so that it
    differentiates again."""

    function: Callable[[np.ndarray], np.ndarray]  # f on arrays: each subclass sets it (a staticmethod)
    slope: Callable[[Any], Any]  # f'(x) in Tensor ops: each subclass defines it (a staticmethod)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return quietly(ctx.function, x.data)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.slope(x)


class Tan(Function):
    """Tangent.

    Forward:   y = tan x
    Backward:  ∂L/∂x = g ⊙ (1 + y²)          (saves its output y, as PyTorch: a later write to x is harmless)
    """

    formula = ("g * (1 + y**2)",)

    @staticmethod
    def forward(ctx, x):
        y = quietly(np.tan, x.data)  # tan(±inf) = nan without NumPy's warning, as PyTorch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (y * y + 1)


class Atan(_Elementary):
    """Inverse tangent, in (−π/2, π/2).

    Forward:   y = atan x
    Backward:  ∂L/∂x = g / (1 + x²)
    """

    formula = ("g / (1 + x**2)",)
    function = staticmethod(np.arctan)

    @staticmethod
    def slope(x):
        return (x * x + 1).reciprocal()


class Asin(_Elementary):
    """Inverse sine, x in [−1, 1].

    Forward:   y = asin x
    Backward:  ∂L/∂x = g / √(1 − x²)
    """

    formula = ("g / sqrt(1 - x**2)",)
    function = staticmethod(np.arcsin)

    @staticmethod
    def slope(x):
        return (1 - x * x).rsqrt()


class Acos(_Elementary):
    """Inverse cosine, x in [−1, 1].

    Forward:   y = acos x
    Backward:  ∂L/∂x = −g / √(1 − x²)
    """

    formula = ("-g / sqrt(1 - x**2)",)
    function = staticmethod(np.arccos)

    @staticmethod
    def slope(x):
        return -(1 - x * x).rsqrt()


class Sinh(_Elementary):
    """Hyperbolic sine.

    Forward:   y = sinh x
    Backward:  ∂L/∂x = g ⊙ cosh x
    """

    formula = ("g * cosh(x)",)
    function = staticmethod(np.sinh)

    @staticmethod
    def slope(x):
        return x.cosh()


class Cosh(_Elementary):
    """Hyperbolic cosine.

    Forward:   y = cosh x
    Backward:  ∂L/∂x = g ⊙ sinh x
    """

    formula = ("g * sinh(x)",)
    function = staticmethod(np.cosh)

    @staticmethod
    def slope(x):
        return x.sinh()


class Asinh(_Elementary):
    """Inverse hyperbolic sine.

    Forward:   y = asinh x
    Backward:  ∂L/∂x = g / √(x² + 1)
    """

    formula = ("g / sqrt(x**2 + 1)",)
    function = staticmethod(np.arcsinh)

    @staticmethod
    def slope(x):
        return (x * x + 1).rsqrt()


class Acosh(_Elementary):
    """Inverse hyperbolic cosine, x ≥ 1.

    Forward:   y = acosh x
    Backward:  ∂L/∂x = g / √(x² − 1)
    """

    formula = ("g / sqrt(x**2 - 1)",)
    function = staticmethod(np.arccosh)

    @staticmethod
    def slope(x):
        return (x * x - 1).rsqrt()


class Atanh(_Elementary):
    """Inverse hyperbolic tangent, x in (−1, 1).

    Forward:   y = atanh x
    Backward:  ∂L/∂x = g / (1 − x²)
    """

    formula = ("g / (1 - x**2)",)
    function = staticmethod(np.arctanh)

    @staticmethod
    def slope(x):
        return (1 - x * x).reciprocal()


class Erf(Function):
    """Gauss error function (used by the exact GELU).

    Forward:   y = erf x = (2/√π) ∫₀ˣ e^(−t²) dt
    Backward:  ∂L/∂x = g ⊙ (2/√π) e^(−x²)
    """

    formula = ("g * 2/sqrt(pi) * exp(-x**2)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return backend.erf(x.data)  # NumPy has no erf: math.erf per element, or libm's in C

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp()


# ---- near 0 and near 1, stable: Log1p Expm1 Rsqrt Reciprocal -------------------------


class Log1p(Function):
    """ln(1 + x), exact for tiny x (where 1 + x would round to 1).

    Forward:   y = ln(1 + x)
    Backward:  ∂L/∂x = g / (1 + x)
    """

    formula = ("g / (1 + x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return quietly(np.log1p, x.data)  # log1p(−1) = −inf, log1p(−2) = nan, as in PyTorch

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (x + 1.0)


class Expm1(Function):
    """eˣ − 1, exact for tiny x (where eˣ − 1 would cancel to 0).

    Forward:   y = eˣ − 1
    Backward:  ∂L/∂x = g ⊙ (y + 1)
    """

    formula = ("g * (y + 1)",)

    @staticmethod
    def forward(ctx, x):
        y = quietly(np.expm1, x.data)  # expm1(1000) = inf, as in PyTorch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (y + 1.0)


class Rsqrt(Function):
    """Reciprocal square root.

    Forward:   y = 1 / √x
    Backward:  ∂L/∂x = −½ g ⊙ y³
    """

    formula = ("-g * y**3 / 2",)

    @staticmethod
    def forward(ctx, x):
        y = quietly(_rsqrt, x.data)  # 1/√0 = inf, 1/√−1 = nan, 1/√inf = 0, as in PyTorch
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (y * y * y) * -0.5


def _rsqrt(a: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(a)


class Reciprocal(Function):
    """Reciprocal.

    Forward:   y = 1 / x
    Backward:  ∂L/∂x = −g ⊙ y²
    """

    formula = ("-g * y**2",)

    @staticmethod
    def forward(ctx, x):
        y = quietly(np.reciprocal, x.data)  # 1/0 = inf, 1/−0 = −inf, as in PyTorch: no warning
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return -grad_output * (y * y)


# ---- steps, gradient 0: Floor Ceil Round Trunc Sign ----------------------------------


class _Step(Function):
    """The shared backward of the piecewise constant ops below: the slope of a step is 0
    wherever it exists, and PyTorch also returns 0 (not an error) at the jumps.

    Backward:  ∂L/∂x = 0
    """

    formula = ("0",)

    @staticmethod
    def backward(ctx, grad_output):
        # zeros, not g·0: an inf in g must not become nan
        return grad_output.new_zeros(grad_output.shape)


class Floor(_Step):
    """Round down to a whole number.

    Forward:   y = ⌊x⌋
    Backward:  ∂L/∂x = 0
    """

    @staticmethod
    def forward(ctx, x):
        return np.floor(x.data)


class Ceil(_Step):
    """Round up to a whole number.

    Forward:   y = ⌈x⌉
    Backward:  ∂L/∂x = 0
    """

    @staticmethod
    def forward(ctx, x):
        return np.ceil(x.data)


class Round(_Step):
    """Round to ``decimals`` places, halves to even (2.5 → 2).

    Forward:   y = round(x, decimals)
    Backward:  ∂L/∂x = 0
    """

    @staticmethod
    def forward(ctx, x, *, decimals=0):
        if decimals:
            ctx.torch_name = "RoundBackward1"  # PyTorch's overload with decimals
        return np.round(x.data, decimals)


class Trunc(_Step):
    """Round towards zero (drop the fractional part).

    Forward:   y = trunc x
    Backward:  ∂L/∂x = 0
    """

    @staticmethod
    def forward(ctx, x):
        return np.trunc(x.data)


class Frac(Function):
    """The fractional part, with the sign of x (x − trunc x: frac(−2.5) = −0.5).

    Forward:   y = x − trunc x            (frac(±inf) = nan, as PyTorch)
    Backward:  ∂L/∂x = g                  (trunc is a step: its slope is 0)
    """

    formula = ("g",)

    @staticmethod
    def forward(ctx, x):
        return quietly(np.subtract, x.data, np.trunc(x.data))

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class Sign(_Step):
    """−1, 0 or +1 by the sign of x.

    Forward:   y = sign x          (sign nan = 0 in PyTorch; NumPy says nan)
    Backward:  ∂L/∂x = 0
    """

    @staticmethod
    def forward(ctx, x):
        return sign_zero_at_nan(x.data)


# ---- comparisons that route gradients: Maximum Minimum Clamp Where --------------------


class Maximum(Function):
    """Elementwise maximum of two tensors.

    Forward:   y = max(x, w)
    Backward:  ∂L/∂x = g ⊙ ([x > w] + ½[x = w])
               ∂L/∂w = g ⊙ ([w > x] + ½[x = w])       (ties share the gradient, as in PyTorch)
    """

    formula = ("g * ([x>w] + [x==w]/2)", "g * ([w>x] + [x==w]/2)")

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(_share(x.data > w.data, x.data == w.data, x.dtype))
        return np.maximum(x.data, w.data)

    @staticmethod
    def backward(ctx, grad_output):
        (share_x,) = ctx.saved_tensors
        return grad_output * share_x, grad_output * (1.0 - share_x)


class Minimum(Function):
    """Elementwise minimum of two tensors.

    Forward:   y = min(x, w)
    Backward:  ∂L/∂x = g ⊙ ([x < w] + ½[x = w])
               ∂L/∂w = g ⊙ ([w < x] + ½[x = w])
    """

    formula = ("g * ([x<w] + [x==w]/2)", "g * ([w<x] + [x==w]/2)")

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(_share(x.data < w.data, x.data == w.data, x.dtype))
        return np.minimum(x.data, w.data)

    @staticmethod
    def backward(ctx, grad_output):
        (share_x,) = ctx.saved_tensors
        return grad_output * share_x, grad_output * (1.0 - share_x)


def _share(wins: np.ndarray, ties: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The fraction of the gradient the first input receives: 1 if it wins, ½ on a tie."""
    return wins.astype(dtype) + 0.5 * ties.astype(dtype)


class Clamp(Function):
    """Clamp into [lo, hi] (either bound may be None).

    Forward:   y = min(max(x, lo), hi)
    Backward:  ∂L/∂x = g ⊙ [lo ≤ x ≤ hi]       (the bounds themselves pass the gradient, as in PyTorch)
    """

    formula = ("g * [lo <= x <= hi]",)
    torch_name = "ClampBackward1"  # PyTorch's overload with number bounds (tensor bounds: ClampTensor)

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        inside = np.ones(x.shape, dtype=bool)
        y = x.data
        if lo is not None:
            inside &= x.data >= lo
            y = np.maximum(y, np.asarray(lo, dtype=x.dtype))
        if hi is not None:
            inside &= x.data <= hi
            y = np.minimum(y, np.asarray(hi, dtype=x.dtype))
        ctx.save_for_backward(inside.astype(x.dtype))
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (inside,) = ctx.saved_tensors
        return grad_output * inside


class ClampTensor(Function):
    """Clamp into [lo, hi] with tensor bounds (either may be None). Each input that needs a
    gradient has y's (broadcast) shape: Tensor.clamp expands it; NumPy broadcasts the others.

    Forward:   y = min(max(x, lo), hi)            (hi wins where lo > hi, as PyTorch)
    Backward:  ∂L/∂x  = g ⊙ [lo ≤ x ≤ hi]
               ∂L/∂lo = g ⊙ [x < lo < hi]
               ∂L/∂hi = g ⊙ [x > hi or hi < lo]
    PyTorch's rule, literally: where lo = hi and x is outside, no input gets the gradient.
    """

    formula = ("g * [lo <= x <= hi]", "g * [x < lo < hi]", "g * [x > hi or hi < lo]")
    torch_name = "ClampBackward0"  # PyTorch's overload with tensor bounds

    @staticmethod
    def forward(ctx, x, lo, hi):
        low, high = (None if b is None else b.data for b in (lo, hi))
        shape = np.broadcast_shapes(*(a.shape for a in (x.data, low, high) if a is not None))
        to_x, to_lo, to_hi = np.ones(shape, dtype=bool), np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        y = x.data
        if low is not None:
            to_x &= x.data >= low
            to_lo |= (x.data < low) if high is None else (x.data < low) & (low < high)
            y = np.maximum(y, low)
        if high is not None:
            to_x &= x.data <= high
            to_hi |= (x.data > high) if low is None else (x.data > high) | (high < low)
            y = np.minimum(y, high)
        ctx.save_for_backward(*(mask.astype(x.dtype) if needed else None  # each mask only for its own gradient
                                for mask, needed in zip((to_x, to_lo, to_hi), ctx.needs_input_grad)))
        return y  # (of the broadcast shape: np.maximum/np.minimum broadcast)

    @staticmethod
    def backward(ctx, grad_output):
        return tuple(grad_output * mask if needed else None
                     for mask, needed in zip(ctx.saved_tensors, ctx.needs_input_grad))


class Where(Function):
    """Select from x where the condition holds, from w elsewhere.

    Forward:   y = x if c else w          (c is boolean and receives no gradient)
    Backward:  ∂L/∂x = g ⊙ [c]
               ∂L/∂w = g ⊙ [¬c]
    """

    formula = ("where(c, g, 0)", "where(c, 0, g)")

    @staticmethod
    def forward(ctx, x, w, *, condition):
        ctx.save_for_backward(condition)
        return np.where(condition, x.data, w.data)

    @staticmethod
    def backward(ctx, grad_output):
        (condition,) = ctx.saved_tensors
        # zeros by selection, not by multiplication, so an inf in g cannot turn into nan
        grad_x = grad_output.where(condition, 0.0) if ctx.needs_input_grad[0] else None
        grad_w = grad_output.where(~condition, 0.0) if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


class Cast(Function):
    """Change the floating dtype (e.g. float32 → float64).

    Forward:   y = x, stored as the new dtype
    Backward:  ∂L/∂x = g, cast back to x's dtype
    """

    formula = ("g",)
    torch_name = "ToCopyBackward0"  # PyTorch's node for x.to(dtype), .float(), .double()

    @staticmethod
    def forward(ctx, x, *, dtype):
        ctx.input_dtype = x.dtype
        return x.data.astype(dtype)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.to(ctx.input_dtype)


# ---- functions of two arguments: LogAddExp Hypot Atan2 ---------------------------------


class LogAddExp(Function):
    """log(eˣ + eʷ), computed without overflow.

    Forward:   y = m + log1p(exp(−|x − w|))      where m = max(x, w)  (eˣ + eʷ = eᵐ·(1 + e^−|x−w|))
    Backward:  ∂L/∂x = g ⊙ σ(x − w)              (= g·eˣ/(eˣ + eʷ), PyTorch: g / (1 + exp(w − x)))
               ∂L/∂w = g ⊙ σ(w − x)
    """

    formula = ("g * sigmoid(x - w)", "g * sigmoid(w - x)")

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        a, b = x.data, w.data
        # x = w (also both +inf or both −inf, where x − w is nan): the gap is 0, y = x + log 2
        gap = np.where(a == b, 0, quietly(np.subtract, a, b))
        return np.maximum(a, b) + np.log1p(np.exp(-np.abs(gap)))

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        grad_x = grad_output * (x - w).sigmoid() if ctx.needs_input_grad[0] else None
        grad_w = grad_output * (w - x).sigmoid() if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


class Hypot(Function):
    """Length of the vector (x, w), without overflow in x² + w² (NumPy's hypot scales first).

    Forward:   y = √(x² + w²)
    Backward:  ∂L/∂x = g ⊙ x / y
               ∂L/∂w = g ⊙ w / y        (nan at x = w = 0, as in PyTorch: the cone has no slope there)
    """

    formula = ("g * x / y", "g * w / y")

    @staticmethod
    def forward(ctx, x, w):
        y = np.hypot(x.data, w.data)
        need_x, need_w = ctx.needs_input_grad
        ctx.save_for_backward(x if need_x else None, w if need_w else None, y)  # ∂L/∂x reads x, ∂L/∂w reads w
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, w, y = ctx.saved_tensors
        grad_x = grad_output * x / y if ctx.needs_input_grad[0] else None
        grad_w = grad_output * w / y if ctx.needs_input_grad[1] else None
        return grad_x, grad_w


class Atan2(Function):
    """The angle of the point (w, x): atan(x / w), in the quadrant of (w, x), in (−π, π].

    Forward:   y = atan2(x, w)
    Backward:  ∂L/∂x = g ⊙ w / (x² + w²)
               ∂L/∂w = −g ⊙ x / (x² + w²)     (both 0 at x = w = 0, as in PyTorch)
    """

    formula = ("g * w / (x**2 + w**2)", "-g * x / (x**2 + w**2)")

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return np.arctan2(x.data, w.data)

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        r2 = x * x + w * w
        at_origin = r2 == 0
        # 1/(x² + w²), set to 0 at the origin by selection; the safe denominator keeps a
        # second derivative from seeing 1/0 there
        scale = grad_output / r2.where(~at_origin, 1.0)
        scale = scale.where(~at_origin, 0.0)
        grad_x = scale * w if ctx.needs_input_grad[0] else None
        grad_w = -scale * x if ctx.needs_input_grad[1] else None
        return grad_x, grad_w
