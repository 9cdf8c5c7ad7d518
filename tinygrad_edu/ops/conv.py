r"""Convolution and pooling, with backward passes that are themselves differentiable.

Notation as in ``ops/elementwise.py``; shapes N batch, C input channels, O output channels,
(H, W) input, (kh, kw) kernel, (OH, OW) output; stride s, padding p, dilation d.

Convolution is linear in x and in w, so its derivatives are again convolutions. Three
Functions call each other in their backward passes (DeZero's ``functions_conv`` idea),
which makes conv twice differentiable:

    Conv2d(x, w)            y  = x ⋆ w                      (cross-correlation)
    Conv2dGradInput(g, w)   ∂L/∂x = g ⋆ᵀ w                  (a transposed convolution)
    Conv2dGradWeight(x, g)  ∂L/∂w = Σ_n x ⋆ g               (correlate input with gradient)

Pooling likewise: ``AvgPool2d`` and ``AvgPool2dGrad`` are each other's adjoints, and
``MaxPool2dGrad`` (scatter to the winning positions) has ``gather`` as its backward.
Every forward computes on NumPy arrays through ``tinygrad_edu.backend`` (NumPy or C).

Grouped convolution (``groups`` = G > 1) splits the C input and O output channels into G
blocks: output block k sees input block k only, with weight w: (O, C/G, kh, kw); G = C is a
depthwise convolution. The backend kernels take ``groups`` themselves (one call for any G).

3-D (volumes: x (N, C, D, H, W), w (O, C/G, kd, kh, kw)): ``Conv3d``, ``Conv3dGradInput``,
``Conv3dGradWeight``, ``MaxPool3d``, ``MaxPool3dGrad``, ``AvgPool3d`` and ``AvgPool3dGrad`` are the
2-D ops with one more spatial index; they inherit the 2-D code, which works for any number of
spatial dims, and differ in their docstrings only. Their backward passes call the 3-D ops
(``CONV_OPS`` etc. at the end of this file pick the ops of an input's rank). The C backend has
no 3-D kernels: the 3-D ops run the NumPy reference kernels whichever backend is selected.
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..backend import numpy_ref


def _kernels(x: np.ndarray) -> ModuleType:
    """Where the kernels for x's rank live: the active backend (NumPy or C) for 2-D input
    (N, C, H, W); the NumPy reference for 3-D input (N, C, D, H, W), which has no C kernels."""
    return backend if x.ndim == 4 else numpy_ref


# ---- convolution: Conv2d Conv2dGradInput Conv2dGradWeight (and 3-D) ------------------------


class Conv2d(Function):
    r"""2-D convolution (cross-correlation, no bias), with G = ``groups`` channel groups.

    Forward:   y[n, o, i, j] = Σ_{c, a, b} w[o, c, a, b] · x_pad[n, k·C/G + c, i·s_h + a·d_h, j·s_w + b·d_w]
               where k = o // (O/G) is the group of output channel o and c runs over C/G channels
    Backward:  ∂L/∂x = conv2d_grad_input(g, w)      (transposed convolution of g by w)
               ∂L/∂w = conv2d_grad_weight(x, g)     (Σ_n correlation of x with g)
    """

    formula = ("conv_transpose(g, w)", "conv_grad_weight(x, g)")

    @staticmethod
    def forward(ctx, x, w, *, stride, padding, dilation, groups=1):
        ctx.conf = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.save_for_backward(x, w)
        return _kernels(x.data).conv2d(x.data, w.data, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        _, grad_input_op, grad_weight_op = CONV_OPS[x.ndim]
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_input_op.apply(grad_output, w, input_hw=x.shape[2:], **ctx.conf)
        if ctx.needs_input_grad[1]:
            grad_w = grad_weight_op.apply(x, grad_output, kernel_hw=w.shape[2:], **ctx.conf)
        return grad_x, grad_w


class Conv2dGradInput(Function):
    r"""∂L/∂x of Conv2d: the transposed convolution (ConvTranspose2d) of gy by w.

    Forward:   y = Aᵀ_w gy,  where A_w x = conv2d(x, w)  (y has the input's shape (N, C, H, W);
               per group: block k of y from block k of gy and of w)
    Backward:  ∂L/∂gy = conv2d(g, w)
               ∂L/∂w  = conv2d_grad_weight(g, gy)
    """

    formula = ("conv2d(g, w)", "conv_grad_weight(g, gy)")

    @staticmethod
    def forward(ctx, gy, w, *, input_hw, stride, padding, dilation, groups=1):
        ctx.conf = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.save_for_backward(gy, w)
        return _kernels(gy.data).conv2d_grad_input(gy.data, w.data, tuple(input_hw), stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_output):
        gy, w = ctx.saved_tensors
        conv_op, _, grad_weight_op = CONV_OPS[gy.ndim]
        grad_gy = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_gy = conv_op.apply(grad_output, w, **ctx.conf)
        if ctx.needs_input_grad[1]:
            grad_w = grad_weight_op.apply(grad_output, gy, kernel_hw=w.shape[2:], **ctx.conf)
        return grad_gy, grad_w


class Conv2dGradWeight(Function):
    r"""∂L/∂w of Conv2d, as a function of the input x and the output gradient gy.

    Forward:   y[o, c, a, b] = Σ_{n, i, j} gy[n, o, i, j] · x_pad[n, k·C/G + c, i·s_h + a·d_h, j·s_w + b·d_w]
               (k = o // (O/G): the group of output channel o; G = 1 is the plain sum over c)
    Backward:  ∂L/∂x  = conv2d_grad_input(gy, g)
               ∂L/∂gy = conv2d(x, g)
    """

    formula = ("conv_transpose(gy, g)", "conv2d(x, g)")

    @staticmethod
    def forward(ctx, x, gy, *, kernel_hw, stride, padding, dilation, groups=1):
        ctx.conf = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        ctx.save_for_backward(x, gy)
        return _kernels(x.data).conv2d_grad_weight(x.data, gy.data, tuple(kernel_hw), stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_output):
        x, gy = ctx.saved_tensors
        conv_op, grad_input_op, _ = CONV_OPS[x.ndim]
        grad_x = grad_gy = None
        if ctx.needs_input_grad[0]:
            grad_x = grad_input_op.apply(gy, grad_output, input_hw=x.shape[2:], **ctx.conf)
        if ctx.needs_input_grad[1]:
            grad_gy = conv_op.apply(x, grad_output, **ctx.conf)
        return grad_x, grad_gy


class Conv3d(Conv2d):
    r"""3-D convolution (cross-correlation, no bias) of x (N, C, D, H, W) by w (O, C/G, kd, kh, kw):
    Conv2d with one more spatial index (NumPy kernels on either backend).

    Forward:   y[n, o, t, i, j] = Σ_{c, e, a, b} w[o, c, e, a, b] ·
                                   x_pad[n, k·C/G + c, t·s_d + e·d_d, i·s_h + a·d_h, j·s_w + b·d_w]
    Backward:  ∂L/∂x = conv3d_grad_input(g, w)      (transposed 3-D convolution of g by w)
               ∂L/∂w = conv3d_grad_weight(x, g)
    """

    formula = ("conv_transpose3d(g, w)", "conv3d_grad_weight(x, g)")


class Conv3dGradInput(Conv2dGradInput):
    r"""∂L/∂x of Conv3d: the transposed 3-D convolution (ConvTranspose3d) of gy by w.

    Forward:   y = Aᵀ_w gy,  where A_w x = conv3d(x, w)  (y has the input's shape (N, C, D, H, W))
    Backward:  ∂L/∂gy = conv3d(g, w)
               ∂L/∂w  = conv3d_grad_weight(g, gy)
    """

    formula = ("conv3d(g, w)", "conv3d_grad_weight(g, gy)")


class Conv3dGradWeight(Conv2dGradWeight):
    r"""∂L/∂w of Conv3d, as a function of the input x and the output gradient gy.

    Forward:   y[o, c, e, a, b] = Σ_{n, t, i, j} gy[n, o, t, i, j] ·
                                   x_pad[n, k·C/G + c, t·s_d + e·d_d, i·s_h + a·d_h, j·s_w + b·d_w]
    Backward:  ∂L/∂x  = conv3d_grad_input(gy, g)
               ∂L/∂gy = conv3d(x, g)
    """

    formula = ("conv_transpose3d(gy, g)", "conv3d(x, g)")


# ---- pooling: MaxPool2d MaxPool2dGrad AvgPool2d AvgPool2dGrad (and 3-D) ----------------------


class MaxPool2d(Function):
    r"""Max pooling; returns (y, indices) where indices are flat positions h·W + w.

    Forward:   y[n, c, i, j] = max_{a,b} x_pad[n, c, i·s_h + a·d_h, j·s_w + b·d_w]   (padding −∞)
    Backward:  ∂L/∂x = g scattered (added) to the winning positions of each window
    """

    formula = ("scatter_add(g, argmax)",)

    @staticmethod
    def forward(ctx, x, *, kernel_hw, stride, padding, dilation):
        y, indices = _kernels(x.data).max_pool2d(x.data, kernel_hw, stride, padding, dilation)
        ctx.indices, ctx.input_shape = indices, x.shape
        return y, indices

    @staticmethod
    def backward(ctx, grad_output, _grad_indices):
        _, grad_op = MAX_POOL_OPS[len(ctx.input_shape)]
        return grad_op.apply(grad_output, indices=ctx.indices, input_shape=ctx.input_shape)


class MaxPool2dGrad(Function):
    r"""The adjoint of max pooling's selection: scatter gy to the given flat positions.

    Forward:   y[n, c, p] = Σ_{(i, j): indices[n, c, i, j] = p} gy[n, c, i, j]
    Backward:  ∂L/∂gy = g gathered at the indices
    """

    formula = ("gather(g, indices)",)

    @staticmethod
    def forward(ctx, gy, *, indices, input_shape):
        ctx.indices = indices
        return _kernels(gy.data).max_pool2d_grad(gy.data, indices, tuple(input_shape))

    @staticmethod
    def backward(ctx, grad_output):
        N, C = ctx.indices.shape[:2]
        flat = grad_output.reshape(N, C, -1).gather(2, ctx.indices.reshape(N, C, -1))
        return flat.reshape(ctx.indices.shape)


def _avg_scale(divisor: np.ndarray | None, kernel_hw: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """kh·kw / D for a given divisor map D (OH, OW) (3-D: kd·kh·kw / D): turns the backend's
    kernel-size mean into Σ/D."""
    return None if divisor is None else (math.prod(kernel_hw) / divisor).astype(dtype, copy=False)


class AvgPool2d(Function):
    r"""Average pooling.

    Forward:   y[n, c, i, j] = (1/D[i, j]) Σ_{a,b} x_pad[n, c, i·s_h + a, j·s_w + b]
               D = kh·kw, or the number of real (unpadded) pixels if count_include_pad=False,
               or a given map ``divisor`` (OH, OW) (ceil_mode windows, divisor_override)
    Backward:  ∂L/∂x = avg_pool2d_grad(g): each window spreads g / D over its pixels
    """

    formula = ("avg_pool2d_grad(g)",)

    @staticmethod
    def forward(ctx, x, *, kernel_hw, stride, padding, count_include_pad=True, divisor=None):
        ctx.conf = dict(kernel_hw=kernel_hw, stride=stride, padding=padding, count_include_pad=count_include_pad,
                        divisor=divisor)
        ctx.input_shape = x.shape
        kernels = _kernels(x.data)
        if divisor is None:
            return kernels.avg_pool2d(x.data, kernel_hw, stride, padding, count_include_pad)
        y = kernels.avg_pool2d(x.data, kernel_hw, stride, padding, True)  # Σ/(kh·kw), rescaled to Σ/D
        return y * _avg_scale(divisor, kernel_hw, y.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        _, grad_op = AVG_POOL_OPS[len(ctx.input_shape)]
        return grad_op.apply(grad_output, input_shape=ctx.input_shape, **ctx.conf)


class AvgPool2dGrad(Function):
    r"""The adjoint of average pooling.

    Forward:   y = Aᵀ gy, where A x = avg_pool2d(x)
    Backward:  ∂L/∂gy = avg_pool2d(g)
    """

    formula = ("avg_pool2d(g)",)

    @staticmethod
    def forward(ctx, gy, *, input_shape, kernel_hw, stride, padding, count_include_pad=True, divisor=None):
        ctx.conf = dict(kernel_hw=kernel_hw, stride=stride, padding=padding, count_include_pad=count_include_pad,
                        divisor=divisor)
        kernels = _kernels(gy.data)
        if divisor is None:
            return kernels.avg_pool2d_grad(gy.data, tuple(input_shape), kernel_hw, stride, padding, count_include_pad)
        g = gy.data * _avg_scale(divisor, kernel_hw, gy.dtype)  # spread g/D = (g·kh·kw/D)/(kh·kw)
        return kernels.avg_pool2d_grad(g, tuple(input_shape), kernel_hw, stride, padding, True)

    @staticmethod
    def backward(ctx, grad_output):
        pool_op, _ = AVG_POOL_OPS[grad_output.ndim]
        return pool_op.apply(grad_output, **ctx.conf)


class MaxPool3d(MaxPool2d):
    r"""3-D max pooling of x (N, C, D, H, W); returns (y, indices), indices flat positions (d·H + h)·W + w.

    Forward:   y[n, c, t, i, j] = max_{e,a,b} x_pad[n, c, t·s_d + e·d_d, i·s_h + a·d_h, j·s_w + b·d_w]   (padding −∞)
    Backward:  ∂L/∂x = g scattered (added) to the winning positions of each window
    """


class MaxPool3dGrad(MaxPool2dGrad):
    r"""The adjoint of 3-D max pooling's selection: scatter gy to the given flat positions in D·H·W.

    Forward:   y[n, c, p] = Σ_{(t, i, j): indices[n, c, t, i, j] = p} gy[n, c, t, i, j]
    Backward:  ∂L/∂gy = g gathered at the indices
    """


class AvgPool3d(AvgPool2d):
    r"""3-D average pooling of x (N, C, D, H, W).

    Forward:   y[n, c, t, i, j] = (1/D[t, i, j]) Σ_{e,a,b} x_pad[n, c, t·s_d + e, i·s_h + a, j·s_w + b]
               D = kd·kh·kw, or the real voxels (count_include_pad=False), or a given map ``divisor``
    Backward:  ∂L/∂x = avg_pool3d_grad(g): each window spreads g / D over its voxels
    """

    formula = ("avg_pool3d_grad(g)",)


class AvgPool3dGrad(AvgPool2dGrad):
    r"""The adjoint of 3-D average pooling.

    Forward:   y = Aᵀ gy, where A x = avg_pool3d(x)
    Backward:  ∂L/∂gy = avg_pool3d(g)
    """

    formula = ("avg_pool3d(g)",)


# The ops of each input rank (4: 2-D images, 5: 3-D volumes), for the backward passes above.
CONV_OPS = {4: (Conv2d, Conv2dGradInput, Conv2dGradWeight), 5: (Conv3d, Conv3dGradInput, Conv3dGradWeight)}
MAX_POOL_OPS = {4: (MaxPool2d, MaxPool2dGrad), 5: (MaxPool3d, MaxPool3dGrad)}
AVG_POOL_OPS = {4: (AvgPool2d, AvgPool2dGrad), 5: (AvgPool3d, AvgPool3dGrad)}


# ---- Unfold / Fold: im2col and col2im as ops, each the other's adjoint ------------------------


class Unfold(Function):
    r"""Sliding windows as columns (im2col; ``F.unfold``), x: (N, C, H, W) → (N, C·kh·kw, L), or
    unbatched (C, H, W) → (C·kh·kw, L) (one node either way, as PyTorch's Im2Col).

    Forward:   y[n, (c, i, j), (oh, ow)] = x_pad[n, c, oh·s_h + i·d_h, ow·s_w + j·d_w]     (zero padding)
    Backward:  ∂L/∂x = fold(g): each column entry added back to the pixel it was copied from (col2im)
    """

    formula = ("fold(g)",)
    torch_name = "Im2ColBackward0"  # PyTorch's op for F.unfold

    @staticmethod
    def forward(ctx, x, *, kernel_hw, stride, padding, dilation):
        ctx.conf = dict(kernel_hw=kernel_hw, stride=stride, padding=padding, dilation=dilation)
        ctx.input_shape = x.shape
        if x.ndim == 3:
            return numpy_ref.im2col(x.data[None], kernel_hw, stride, padding, dilation)[0]
        return numpy_ref.im2col(x.data, kernel_hw, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad_output):
        return Fold.apply(grad_output, output_shape=ctx.input_shape, **ctx.conf)


class Fold(Function):
    r"""Columns summed back into an image (col2im; ``F.fold``), (N, C·kh·kw, L) → (N, C, H, W), or
    unbatched (C·kh·kw, L) → (C, H, W) (``output_shape`` the image's shape).

    Forward:   y[n, c, h, w] = Σ over the (i, j, oh, ow) with oh·s_h + i·d_h − p_h = h and
                               ow·s_w + j·d_w − p_w = w  of  x[n, (c, i, j), (oh, ow)]
    Backward:  ∂L/∂x = unfold(g)   (fold is unfold's adjoint, so each op's backward is the other)
    """

    formula = ("unfold(g)",)
    torch_name = "Col2ImBackward0"  # PyTorch's op for F.fold

    @staticmethod
    def forward(ctx, cols, *, output_shape, kernel_hw, stride, padding, dilation):
        ctx.conf = dict(kernel_hw=kernel_hw, stride=stride, padding=padding, dilation=dilation)
        if cols.ndim == 2:
            return numpy_ref.col2im(cols.data[None], (1, *output_shape), kernel_hw, stride, padding, dilation)[0]
        return numpy_ref.col2im(cols.data, tuple(output_shape), kernel_hw, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad_output):
        return Unfold.apply(grad_output, **ctx.conf)
