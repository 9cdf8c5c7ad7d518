"""``nn.functional`` (``F``): every layer and loss as a function.

Thin wrappers over ops (``ops/conv.py``, ``ops/loss.py``, ...) and short compositions of
Tensor operations, each with its formula. The layer classes in ``nn`` hold parameters and
call these.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes, ops, random
from ..ops import conv as conv_ops
from ..ops import loss as loss_ops
from ..ops.linalg import check_same_dtype
from ..tensor import ShapeError, Tensor, einsum, where

IntPair = int | tuple[int, int]


def _ntuple(value: Any, n: int, op: str = "", name: str = "size") -> tuple[int, ...]:
    """An int repeated n times, or a sequence of n ints, as a tuple (PyTorch's ``_ntuple``)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    sizes = tuple(map(int, value))  # map: half the time of a generator (layers pass their tuples on every call)
    if len(sizes) == 1:  # a one-element list stands for all dims, as in PyTorch
        return sizes * n
    if len(sizes) != n:
        raise ValueError(f"{op}: expected {name} to be a single integer value or a list of {n} values, "
                         f"but got {name}={value!r}")
    return sizes


# The names of the spatial dims of an input and of a kernel, by their number (for error messages).
_SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL_NAMES = {1: "k", 2: "kh, kw", 3: "kd, kh, kw"}


def _first(value: Any) -> Any:
    """The one entry of a 1-tuple/list (PyTorch's 1-d layers store (k,)), or the value itself."""
    return value[0] if isinstance(value, (tuple, list)) else value


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value), dtype=like.dtype)


# ---- linear and convolution -------------------------------------------------------------


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b, one op (``ops.Linear``: a GEMM with the bias added in the same pass).

    The composite it replaces, ``x @ weight.T + bias``, gives the same values and gradients.
    A bias of another shape that broadcasts (e.g. (1, out) or a scalar, as torch accepts) is
    added by a separate broadcasting Add.
    """
    if bias is not None and bias.shape != weight.shape[:1] and (bias.ndim != 1 or bias.shape == (1,)):
        return ops.Linear.apply(x, weight, None) + bias  # a bias to broadcast; a wrong (k,) one: Linear's error
    return ops.Linear.apply(x, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = Σ_ij x₁[..., i] A[o, i, j] x₂[..., j] + b[o]: one einsum ("...i,oij,...j->...o"),
    whose backward is again an einsum per operand (∂L/∂A[o,i,j] = Σ g[..., o] x₁[..., i] x₂[..., j])."""
    if weight.ndim != 3 or input1.ndim < 1 or input1.shape[:-1] != input2.shape[:-1] or (
            (input1.shape[-1], input2.shape[-1]) != weight.shape[1:]) or (
            bias is not None and bias.shape != weight.shape[:1]):
        raise ShapeError(f"bilinear: expected input1 (*, in1), input2 (*, in2) with the same batch dims *, weight "
                         f"(out, in1, in2) and bias (out,), got input1 {input1.shape}, input2 {input2.shape}, "
                         f"weight {weight.shape}, bias {None if bias is None else bias.shape}")
    y = einsum("...i,oij,...j->...o", input1, weight, input2)
    return y if bias is None else y + bias


def _same_pad_pairs(kernel: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    """(before, after) per spatial dim of padding='same': the total d·(k − 1) split in two, the odd
    one at the end (as PyTorch)."""
    return [(t // 2, t - t // 2) for t in (d * (k - 1) for d, k in zip(dilation, kernel))]


def _same_padding(op: str, x: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
                  padding: str | int | tuple) -> tuple[Tensor, tuple[int, ...]]:
    """Resolve 'valid' / 'same' padding; 'same' with an odd total pads one more at the end (as PyTorch)."""
    n = len(kernel)
    if padding == "valid":
        return x, (0,) * n
    if padding != "same":
        if isinstance(padding, str):
            raise ValueError(f"{op}: padding must be an int, a tuple of {n}, 'valid' or 'same', got {padding!r}")
        return x, _ntuple(padding, n, op, "padding")
    if any(s != 1 for s in stride):
        raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
    pairs = _same_pad_pairs(kernel, dilation)
    if all(before == after for before, after in pairs):  # even totals: the conv pads itself
        return x, tuple(before for before, _ in pairs)
    widths = [(0, 0), (0, 0), *pairs]
    return ops.Pad.apply(x, widths=tuple(widths)), (0,) * n


def _check_conv_dtypes(op: str, x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch refuses a convolution whose input, weight and bias differ in dtype (no promotion)."""
    if x.dtype is not weight.dtype or (bias is not None and bias.dtype is not weight.dtype):
        check_same_dtype(op, x.data, weight.data, None if bias is None else bias.data)


def _check_groups(op: str, x: Tensor, weight: Tensor, groups: int) -> None:
    """PyTorch's checks of a (grouped) convolution: C = G·C_w input channels, O divisible by G."""
    if not isinstance(groups, int) or groups <= 0:
        raise ShapeError(f"{op}: non-positive groups is not supported (got groups={groups!r})")
    if x.shape[1] != weight.shape[1] * groups:
        raise ShapeError(f"{op}: given groups={groups}, weight of shape {weight.shape} expects an input with "
                         f"{weight.shape[1] * groups} channels, but the input of shape {x.shape} has {x.shape[1]}")
    if weight.shape[0] % groups:
        raise ShapeError(f"{op}: given groups={groups}, the weight's out channels (dim 0 of {weight.shape}) "
                         f"must be divisible by {groups}")


def _check_window(op: str, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int],
                  dilation: Sequence[int] = (1,)) -> None:
    """PyTorch's checks of a sliding window (convolution, pooling, unfold): kernel_size, stride and
    dilation positive, padding non-negative (the output size ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1
    divides by s)."""
    if min(*kernel, *stride, *dilation) <= 0 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, got "
                         f"kernel_size={tuple(kernel)}, stride={tuple(stride)}, padding={tuple(padding)}, "
                         f"dilation={tuple(dilation)}")


def _convolution(op: str, n: int, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
                 dilation: Any, groups: int) -> Tensor:
    """conv2d (n = 2 spatial dims) and conv3d (n = 3): checks, 'same' padding, the op, the bias."""
    if x.ndim == n + 1:
        return _convolution(op, n, x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_conv_dtypes(op, x, weight, bias)
    if groups != 1 or x.ndim != n + 2 or weight.ndim != n + 2 or x.shape[1] != weight.shape[1]:  # no extra call
        if x.ndim != n + 2 or weight.ndim != n + 2:  # PyTorch: "Expected 4D (unbatched) or 5D (batched) input"
            raise ShapeError(f"{op}: expected {n + 1}-D (unbatched) or {n + 2}-D (batched) input (N, C, "
                             f"{_SPATIAL_NAMES[n]}) and weight (O, C/groups, {_KERNEL_NAMES[n]}), but got input of "
                             f"shape {x.shape} and weight of shape {weight.shape}")
        _check_groups(op, x, weight, groups)
    stride, dilation = _ntuple(stride, n, op, "stride"), _ntuple(dilation, n, op, "dilation")
    x, pad = _same_padding(op, x, weight.shape[2:], stride, dilation, padding)
    _check_window(op, weight.shape[2:], stride, pad, dilation)
    for size, k, p, d in zip(x.shape[2:], weight.shape[2:], pad, dilation):
        if size + 2 * p < d * (k - 1) + 1:
            raise ShapeError(f"{op}: input of shape {x.shape} (padding {pad}) is smaller than the "
                             f"dilated kernel of shape {weight.shape[2:]}")
    conv_op = conv_ops.CONV_OPS[n + 2][0]
    if groups == 1:  # the common case without the extra keyword (~0.1 µs per call)
        y = conv_op.apply(x, weight, stride=stride, padding=pad, dilation=dilation)
    else:
        y = conv_op.apply(x, weight, stride=stride, padding=pad, dilation=dilation, groups=groups)
    return y if bias is None else y + bias.reshape(1, -1, *(1,) * n)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: str | IntPair = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    r"""2-D convolution (cross-correlation), x: (N, C, H, W) or (C, H, W), weight: (O, C/groups, kh, kw).

    y[n, o] = b[o] + Σ_c Σ_{i,j} w[o, c, i, j] · x_padded[n, k·C/G + c, oh·sh + i·dh, ow·sw + j·dw]
    with G = groups and k = o // (O/G) the group of output channel o (G = C = O: depthwise).
    """
    return _convolution("conv2d", 2, x, weight, bias, stride, padding, dilation, groups)


def conv3d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple = 1,
           padding: str | int | tuple = 0, dilation: int | tuple = 1, groups: int = 1) -> Tensor:
    r"""3-D convolution, x: (N, C, D, H, W) or (C, D, H, W), weight: (O, C/groups, kd, kh, kw): conv2d
    with one more spatial index (ops.Conv3d; NumPy kernels on either backend).

    y[n, o] = b[o] + Σ_c Σ_{e,i,j} w[o, c, e, i, j] · x_padded[n, k·C/G + c, od·sd + e·dd, oh·sh + i·dh, ow·sw + j·dw]
    """
    return _convolution("conv3d", 3, x, weight, bias, stride, padding, dilation, groups)


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple = 1,
           padding: str | int | tuple = 0, dilation: int | tuple = 1, groups: int = 1) -> Tensor:
    """1-D convolution, x: (N, C, L) or (C, L), weight: (O, C/groups, k): a conv2d with a unit height."""
    if x.ndim == 2:
        return conv1d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    _check_conv_dtypes("conv1d", x, weight, bias)
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: expected input (N, C, L) and weight (O, C/groups, k), got {x.shape} and "
                         f"{weight.shape}")
    pad = padding if isinstance(padding, str) else (0, _first(padding))
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _first(stride)), pad, (1, _first(dilation)), groups)
    return y.squeeze(2)


def _conv_transpose(op: str, n: int, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
                    output_padding: Any, groups: int, dilation: Any) -> Tensor:
    """conv_transpose2d (n = 2 spatial dims) and conv_transpose3d (n = 3): checks, output size, the op."""
    if x.ndim == n + 1:
        return _conv_transpose(op, n, x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                               dilation).squeeze(0)
    _check_conv_dtypes(op, x, weight, bias)
    stride, padding = _ntuple(stride, n, op, "stride"), _ntuple(padding, n, op, "padding")
    output_padding, dilation = _ntuple(output_padding, n, op, "output_padding"), _ntuple(dilation, n, op, "dilation")
    if x.ndim != n + 2 or weight.ndim != n + 2 or x.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise ShapeError(f"{op}: expected input (N, C_in, {_SPATIAL_NAMES[n]}) and weight (C_in, C_out/groups, "
                         f"{_KERNEL_NAMES[n]}) with C_in divisible by groups={groups}, got {x.shape} and "
                         f"{weight.shape}")
    _check_window(op, weight.shape[2:], stride, padding, dilation)
    if min(output_padding) < 0 or any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{op}: output_padding {output_padding} must be non-negative and smaller than stride "
                         f"{stride} or dilation {dilation}")
    sizes = zip(x.shape[2:], weight.shape[2:], stride, padding, dilation, output_padding)
    out_sizes = tuple((m - 1) * s - 2 * p + d * (k - 1) + o + 1 for m, k, s, p, d, o in sizes)
    if min(out_sizes) <= 0:
        raise ShapeError(f"{op}: output size {out_sizes} is not positive (input {x.shape}, padding {padding})")
    # output_padding ≥ stride (allowed when dilation > stride): a convolution of the output gives
    # ⌊(out + 2p − d(k − 1) − 1) / s⌋ + 1 = size + ⌊output_padding / s⌋ positions, more than x has;
    # x gets zeros there (they add nothing to y), so the op's shapes agree
    missing = tuple(o // s for o, s in zip(output_padding, stride))
    if any(missing):
        x = ops.Pad.apply(x, widths=((0, 0), (0, 0), *((0, m) for m in missing)))
    y = conv_ops.CONV_OPS[n + 2][1].apply(x, weight, input_hw=out_sizes, stride=stride, padding=padding,
                                          dilation=dilation, groups=groups)
    return y if bias is None else y + bias.reshape(1, -1, *(1,) * n)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
                     padding: IntPair = 0, output_padding: IntPair = 0, groups: int = 1,
                     dilation: IntPair = 1) -> Tensor:
    r"""Transposed 2-D convolution, x: (N, C_in, H, W) or unbatched, weight: (C_in, C_out/groups, kh, kw):
    the gradient of conv2d with respect to its input (ops.Conv2dGradInput), which spreads each input
    pixel over a kernel-sized patch of the output. Output size per dim:
    (H − 1)·s − 2p + d·(k − 1) + output_padding + 1."""
    return _conv_transpose("conv_transpose2d", 2, x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple = 1,
                     padding: int | tuple = 0, output_padding: int | tuple = 0, groups: int = 1,
                     dilation: int | tuple = 1) -> Tensor:
    r"""Transposed 3-D convolution, x: (N, C_in, D, H, W) or unbatched, weight: (C_in, C_out/groups, kd, kh, kw):
    the gradient of conv3d with respect to its input (ops.Conv3dGradInput); output size per dim as
    conv_transpose2d's."""
    return _conv_transpose("conv_transpose3d", 3, x, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple = 1,
                     padding: int | tuple = 0, output_padding: int | tuple = 0, groups: int = 1,
                     dilation: int | tuple = 1) -> Tensor:
    """Transposed 1-D convolution, x: (N, C_in, L) or (C_in, L), weight: (C_in, C_out/groups, k): a
    conv_transpose2d with a unit height."""
    if x.ndim == 2:
        return conv_transpose1d(x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv_transpose1d: expected input (N, C_in, L) and weight (C_in, C_out/groups, k), "
                         f"got {x.shape} and {weight.shape}")
    y = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, _first(stride)), (0, _first(padding)),
                         (0, _first(output_padding)), groups, (1, _first(dilation)))
    return y.squeeze(2)


# ---- pooling ------------------------------------------------------------------------------


def _pool_output_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: ⌊ or ⌈ (size + 2p − d(k − 1) − 1) / s ⌉ + 1; with ceil_mode the
    last window must start inside the input or the left padding, else it is dropped."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_args(op: str, n: int, x: Tensor, kernel_size: Any, stride: Any, padding: Any,
               dilation: tuple[int, ...] = (1,), ceil_mode: bool = False,
               whole_kernel: bool = False) -> tuple[tuple[int, ...], ...]:
    """(kernel, stride, padding) as n-tuples (n = 2 or 3 spatial dims), checked (with the dilation
    and ceil_mode) as PyTorch checks them, in its order: a batch may be empty but no other dim;
    padding ≤ kernel/2; (``whole_kernel``: avg_pool3d's own rule) every spatial size ≥ the kernel,
    padding or not; at least one output position along every dim."""
    if x.ndim != n + 2:
        dims = _SPATIAL_NAMES[n]
        raise ShapeError(f"{op}: expected input of shape (N, C, {dims}) or (C, {dims}), got {x.shape}")
    kernel = _ntuple(kernel_size, n, op, "kernel_size")
    stride = kernel if stride is None else _ntuple(stride, n, op, "stride")
    padding = _ntuple(padding, n, op, "padding")
    _check_window(op, kernel, stride, padding, dilation)
    if 0 in x.shape[1:]:
        raise ShapeError(f"{op}: expected input's non-batch dimensions to have positive length, but input has a "
                         f"shape of {list(x.shape)}")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} should be at most half of the kernel size {kernel}")
    sizes = x.shape[2:]
    if whole_kernel and any(size < k for size, k in zip(sizes, kernel)):
        raise ShapeError(f"{op}: input image ({' '.join(f'{a}: {v}' for a, v in zip('THW', sizes))}) smaller than "
                         f"kernel size ({' '.join(f'k{a}: {v}' for a, v in zip('THW', kernel))})")
    dilation = dilation * (n // len(dilation))  # (the default (1,): every dim)
    out = [_pool_output_size(*a, ceil_mode) for a in zip(sizes, kernel, stride, padding, dilation)]
    if min(out) < 1:
        raise ShapeError(f"{op}: Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated output size: "
                         f"({'x'.join(map(str, [x.shape[1], *out]))}). Output size is too small")
    return kernel, stride, padding


def _pool_geometry(x: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
                   dilation: tuple[int, ...], ceil_mode: bool) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(output size, extra): ``extra`` is the padding to add at the end of each spatial dim so that
    floor-mode windows on the larger input give the ceil_mode output size."""
    args = list(zip(x.shape[2:], kernel, stride, padding, dilation))
    out = tuple(_pool_output_size(*a, ceil_mode) for a in args)
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p)) for o, (n, k, s, p, d) in zip(out, args))
    return out, extra


def _some_window_misses_input(x: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...],
                              padding: tuple[int, ...], dilation: tuple[int, ...], out: tuple[int, ...]) -> bool:
    """True if a dilated window has all its taps in the padding (only possible with dilation > 1)."""
    for n, k, s, p, d, o in zip(x.shape[2:], kernel, stride, padding, dilation, out):
        taps = np.arange(o)[:, None] * s - p + np.arange(k)[None, :] * d
        if not ((taps >= 0) & (taps < n)).any(axis=1).all():
            return True
    return False


def _max_pool(op: str, n: int, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, return_indices: bool) -> Any:
    """max_pool2d (n = 2 spatial dims) and max_pool3d (n = 3); see max_pool2d."""
    if x.ndim == n + 1:
        out = _max_pool(op, n, x.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode, return_indices)
        return tuple(o.squeeze(0) for o in out) if return_indices else out.squeeze(0)
    dilation = _ntuple(dilation, n, op, "dilation")
    kernel, stride, padding = _pool_args(op, n, x, kernel_size, stride, padding, dilation, ceil_mode)
    no_widths = ((0, 0),) * n
    widths = no_widths  # −∞ rows/columns (planes) added before and after, by Pad, outside the op
    if ceil_mode or dilation != (1,) * n:
        out, extra = _pool_geometry(x, kernel, stride, padding, dilation, ceil_mode)
        if _some_window_misses_input(x, kernel, stride, padding, dilation, out):
            widths, padding = tuple((p, p + e) for p, e in zip(padding, extra)), (0,) * n
        else:
            widths = tuple((0, e) for e in extra)
    padded = x if widths == no_widths else ops.Pad.apply(x, widths=((0, 0), (0, 0), *widths), value=-np.inf)
    pool_op, _ = conv_ops.MAX_POOL_OPS[n + 2]
    y, indices = pool_op.apply(padded, kernel_hw=kernel, stride=stride, padding=padding, dilation=dilation)
    if not return_indices:
        return y
    if padded is x:
        return y, indices
    # back to positions in x: the position in the padded volume, shifted by the widths before, flattened in x
    flat = np.zeros((), dtype=np.int64)
    for position, (before, _), size in zip(np.unravel_index(indices.data, padded.shape[2:]), widths, x.shape[2:]):
        flat = flat * size + (position - before)
    return y, Tensor._make(flat)


def max_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               dilation: IntPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """y[n, c, oh, ow] = max over the window of x_padded (padding is −∞).

    ceil_mode: windows that run past the bottom/right edge are kept (the input is padded there
    with −∞, so they take the max of their real pixels); indices stay positions h·W + w in x.
    A dilated window whose taps all fall in the padding gives −∞ as in PyTorch, and no gradient
    (PyTorch's backward writes out of bounds there); its index is then not a position in x.
    """
    return _max_pool("max_pool2d", 2, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None, padding: int | tuple = 0,
               dilation: int | tuple = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """y[n, c, od, oh, ow] = max over the window of x_padded, x: (N, C, D, H, W) or (C, D, H, W): max_pool2d
    with one more spatial dim (ops.MaxPool3d); indices are positions (d·H + h)·W + w in x."""
    return _max_pool("max_pool3d", 3, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_divisor(size: int, k: int, s: int, p: int, out: int, count_include_pad: bool) -> np.ndarray:
    """PyTorch's divisor of each window along one axis: the window clipped to the padded input
    [−p, size + p), or to the input [0, size) if not count_include_pad."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_pool(op: str, n: int, x: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, divisor_override: int | None) -> Tensor:
    """avg_pool2d (n = 2 spatial dims) and avg_pool3d (n = 3); see avg_pool2d."""
    if x.ndim == n + 1:
        return _avg_pool(op, n, x.unsqueeze(0), kernel_size, stride, padding, ceil_mode, count_include_pad,
                         divisor_override).squeeze(0)
    kernel, stride, padding = _pool_args(op, n, x, kernel_size, stride, padding, (1,) * n, ceil_mode,
                                         whole_kernel=n == 3)  # (PyTorch checks the input size in 3-D only)
    pool_op, _ = conv_ops.AVG_POOL_OPS[n + 2]
    if not ceil_mode and divisor_override is None:
        return pool_op.apply(x, kernel_hw=kernel, stride=stride, padding=padding, count_include_pad=count_include_pad)
    if divisor_override is not None and not divisor_override:
        raise ValueError(f"{op}: divisor must be not zero")
    out, extra = _pool_geometry(x, kernel, stride, padding, (1,) * n, ceil_mode)
    divisor = None  # None: the op's own D (kh·kw or the real pixels), right when ceil_mode added no window
    if divisor_override is not None:
        divisor = np.full(out, float(divisor_override))
    elif any(extra):  # the divisor of a window is the product of its lengths along each dim
        divisor = np.ones(())  # float64: so is every outer product with the integer lengths
        for args in zip(x.shape[2:], kernel, stride, padding, out):
            divisor = np.multiply.outer(divisor, _avg_divisor(*args, count_include_pad))
    if any(extra):
        x = ops.Pad.apply(x, widths=((0, 0), (0, 0), *((0, e) for e in extra)))  # zeros: the windows' sums
    return pool_op.apply(x, kernel_hw=kernel, stride=stride, padding=padding, count_include_pad=count_include_pad,
                         divisor=divisor)


def avg_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """y[n, c, oh, ow] = (Σ over the window of x_padded) / D.

    D = kh·kw, or the real pixels counted (count_include_pad=False), or ``divisor_override``.
    ceil_mode keeps the windows that run past the bottom/right edge; as in PyTorch their D
    counts only the part inside the padded input (count_include_pad) or the input.
    """
    return _avg_pool("avg_pool2d", 2, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None, padding: int | tuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """y[n, c, od, oh, ow] = (Σ over the window of x_padded) / D, x: (N, C, D, H, W) or (C, D, H, W):
    avg_pool2d with one more spatial dim (ops.AvgPool3d); D = kd·kh·kw or as in avg_pool2d."""
    return _avg_pool("avg_pool3d", 3, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def _pool1d_input(op: str, x: Tensor) -> Tensor:
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected input of shape (N, C, L) or (C, L), got {x.shape}")
    return x.unsqueeze(-2)  # (…, C, 1, L): a 2-d pool with a unit height


def max_pool1d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None, padding: int | tuple = 0,
               dilation: int | tuple = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """y[n, c, o] = max over the window of x_padded (padding −∞): max_pool2d with a unit height."""
    out = _max_pool("max_pool1d", 2, _pool1d_input("max_pool1d", x), (1, _first(kernel_size)),
                    None if stride is None else (1, _first(stride)), (0, _first(padding)), (1, _first(dilation)),
                    ceil_mode, return_indices)
    return tuple(o.squeeze(-2) for o in out) if return_indices else out.squeeze(-2)


def avg_pool1d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None, padding: int | tuple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """y[n, c, o] = (Σ over the window of x_padded) / D: avg_pool2d with a unit height."""
    return _avg_pool("avg_pool1d", 2, _pool1d_input("avg_pool1d", x), (1, _first(kernel_size)),
                     None if stride is None else (1, _first(stride)), (0, _first(padding)), ceil_mode,
                     count_include_pad, None).squeeze(-2)


def _max_unpool(op: str, n: int, x: Tensor, indices: Tensor, kernel_size: Any, stride: Any, padding: Any,
                output_size: Sequence[int] | None) -> Tensor:
    """max_unpool2d (n = 2 spatial dims) and max_unpool3d (n = 3); see max_unpool2d."""
    if x.ndim not in (n + 1, n + 2) or indices.shape != x.shape:
        dims = _SPATIAL_NAMES[n]
        raise ShapeError(f"{op}: expected input (N, C, {dims}) or (C, {dims}) and indices of the same shape, "
                         f"got {x.shape} and {indices.shape}")
    if x.ndim == n + 1:
        return _max_unpool(op, n, x.unsqueeze(0), indices.unsqueeze(0), kernel_size, stride, padding,
                           output_size).squeeze(0)
    kernel = _ntuple(kernel_size, n, op, "kernel_size")
    stride = kernel if stride is None else _ntuple(stride, n, op, "stride")
    padding = _ntuple(padding, n, op, "padding")
    out_sizes = tuple((m - 1) * s - 2 * p + k for m, s, p, k in zip(x.shape[2:], stride, padding, kernel))
    if output_size is not None:
        default_sizes, out_sizes = out_sizes, tuple(int(m) for m in tuple(output_size)[-n:])
        for d, (m, default, s) in enumerate(zip(out_sizes, default_sizes, stride)):
            if not default - s < m < default + s:  # PyTorch's check
                raise ValueError(f"{op}: invalid output_size {tuple(output_size)} for input of shape "
                                 f"{x.shape}: dim {d} must be strictly between {default - s} and {default + s}")
    N, C = x.shape[:2]
    volume = math.prod(out_sizes)
    flat = indices.data.reshape(N, C, -1)
    if flat.size and (flat.min() < 0 or flat.max() >= volume):
        raise IndexError(f"{op}: found an index outside the output plane of size {out_sizes} "
                         f"(indices range {flat.min()}..{flat.max()})")
    plane = Tensor(np.zeros((N, C, volume), dtype=x.dtype))
    return plane.scatter(2, flat, x.reshape(N, C, -1)).reshape(N, C, *out_sizes)


def max_unpool2d(x: Tensor, indices: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of ``max_pool2d``: each value of x put back at its flat position
    ``indices`` (h·W_out + w, as ``max_pool2d(return_indices=True)`` gives) in a zero plane.

    y[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j], 0 elsewhere;  ∂L/∂x = g gathered at the indices.
    Output size per dim: (H − 1)·s − 2p + k, or the last two entries of ``output_size``, which
    must lie strictly within s of that (the sizes a max_pool2d with these arguments maps to H).
    """
    return _max_unpool("max_unpool2d", 2, x, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(x: Tensor, indices: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None,
                 padding: int | tuple = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of ``max_pool3d``: x (N, C, D, H, W) or (C, D, H, W) put back at the flat
    positions ``indices`` ((d·H_out + h)·W_out + w) in a zero volume; as max_unpool2d, with the last
    three entries of ``output_size``."""
    return _max_unpool("max_unpool3d", 3, x, indices, kernel_size, stride, padding, output_size)


def _unfold_args(op: str, kernel_size: IntPair, dilation: IntPair, padding: IntPair,
                 stride: IntPair) -> dict[str, tuple[int, int]]:
    """The keyword arguments of ops.Unfold / ops.Fold as pairs, checked as PyTorch checks them."""
    conf = dict(kernel_hw=_ntuple(kernel_size, 2, op, "kernel_size"), dilation=_ntuple(dilation, 2, op, "dilation"),
                padding=_ntuple(padding, 2, op, "padding"), stride=_ntuple(stride, 2, op, "stride"))
    _check_window(op, conf["kernel_hw"], conf["stride"], conf["padding"], conf["dilation"])
    return conf


def unfold(x: Tensor, kernel_size: IntPair, dilation: IntPair = 1, padding: IntPair = 0,
           stride: IntPair = 1) -> Tensor:
    """Sliding blocks as columns (im2col), x: (N, C, H, W) or (C, H, W) → (N, C·kh·kw, L):
    cols[n, (c, i, j), (oh, ow)] = x_pad[n, c, oh·s_h + i·d_h, ow·s_w + j·d_w], L = OH·OW.
    A convolution is then ``w.reshape(O, -1) @ unfold(x)``."""
    if x.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    conf = _unfold_args("unfold", kernel_size, dilation, padding, stride)
    for size, k, p, d in zip(x.shape[-2:], conf["kernel_hw"], conf["padding"], conf["dilation"]):
        if size + 2 * p < d * (k - 1) + 1:
            raise ShapeError(f"unfold: input of shape {x.shape} (padding {conf['padding']}) is smaller than the "
                             f"dilated kernel {conf['kernel_hw']}")
    return conv_ops.Unfold.apply(x, **conf)


def fold(x: Tensor, output_size: IntPair, kernel_size: IntPair, dilation: IntPair = 1, padding: IntPair = 0,
         stride: IntPair = 1) -> Tensor:
    """Columns back into an image (col2im), x: (N, C·kh·kw, L) or (C·kh·kw, L) → (N, C, H, W),
    overlapping entries summed: the adjoint of ``unfold`` (fold(unfold(x)) counts each pixel's windows)."""
    conf = _unfold_args("fold", kernel_size, dilation, padding, stride)
    (kh, kw), out_hw = conf["kernel_hw"], _ntuple(output_size, 2, "fold", "output_size")
    blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1
              for n, k, p, d, s in zip(out_hw, conf["kernel_hw"], conf["padding"], conf["dilation"], conf["stride"])]
    if x.ndim not in (2, 3) or x.shape[-2] % (kh * kw) or min(blocks) <= 0 or x.shape[-1] != blocks[0] * blocks[1]:
        raise ShapeError(f"fold: expected input (N, C·{kh}·{kw}, L) or (C·{kh}·{kw}, L) with L = {blocks[0]}·"
                         f"{blocks[1]} blocks for output_size {out_hw}, got {x.shape}")
    return conv_ops.Fold.apply(x, output_shape=(*x.shape[:-2], x.shape[-2] // (kh * kw), *out_hw), **conf)


# ---- dropout, embedding, padding, one-hot ---------------------------------------------------


def _adaptive_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) of PyTorch's ``out`` adaptive windows over ``size`` positions: window i is
    [⌊i·size/out⌋, ⌈(i + 1)·size/out⌉), so windows overlap where size is not a multiple of out."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _adaptive_output_size(op: str, n: int, x: Tensor, output_size: Any) -> tuple[int, ...]:
    """The n output sizes from ``output_size`` (an int for all, None keeps the input's size); positive."""
    sizes = (output_size,) * n if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != n:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {n}, got {output_size}")
    outs = tuple(m if o is None else o for o, m in zip(sizes, x.shape[-n:]))
    if min(outs) <= 0:
        raise ValueError(f"{op}: output_size {output_size} must be positive")
    return outs


def _adaptive_weights(size: int, out: int) -> np.ndarray:
    """The (out, size) matrix that averages PyTorch's adaptive windows (``_adaptive_bounds``): row i
    has 1/len over window i."""
    start, end = _adaptive_bounds(size, out)
    inside = (np.arange(size) >= start[:, None]) & (np.arange(size) < end[:, None])
    return inside / (end - start)[:, None]


def _resample(x: Tensor, matrices: Sequence[Tensor]) -> Tensor:
    """Each of the last len(matrices) dims of x multiplied by its constant matrix A_k (out_k, in_k): a
    separable linear map, y = A x Bᵀ in 2-D (y[..., i, j] = Σ_{h,w} A[i, h] x[..., h, w] B[j, w]), and
    in 3-D the same with one more matrix on the depth dim. One matmul per dim, differentiable as such
    (∂L/∂x = the same map with every A_k transposed)."""
    y = x @ matrices[-1].T
    for k in range(len(matrices) - 2, -1, -1):  # the dims before the last, from the inside out
        dim = y.ndim - len(matrices) + k
        lead, after = y.shape[:dim], y.shape[dim + 1:]
        if len(after) == 1:  # the second last dim: A @ y as it is
            y = matrices[k] @ y
        else:  # an outer dim: the dims after it flattened into one, A @ y, then unflattened
            y = (matrices[k] @ y.reshape(*lead, y.shape[dim], -1)).reshape(*lead, matrices[k].shape[0], *after)
    return y


def _adaptive_avg_pool(op: str, n: int, x: Tensor, output_size: Any) -> Tensor:
    """adaptive_avg_pool2d (n = 2 spatial dims) and adaptive_avg_pool3d (n = 3); see adaptive_avg_pool2d."""
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op}: expects a {n + 1}-D or {n + 2}-D input, got shape {x.shape}")
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"{op}: needs a floating point input, got {x.dtype}")
    outs = _adaptive_output_size(op, n, x, output_size)
    return _resample(x, [Tensor._make(_adaptive_weights(m, o).astype(x.dtype)) for m, o in zip(x.shape[-n:], outs)])


def adaptive_avg_pool2d(x: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Average pooling to a fixed output size (out_h, out_w) whatever the input's (H, W): output
    cell (i, j) averages rows [⌊iH/out_h⌋, ⌈(i+1)H/out_h⌉) and the columns likewise. An average over
    a rectangle is an average of row averages, so y = A x Bᵀ with the constant averaging matrices
    A (out_h, H) and B (out_w, W): two matrix products, differentiable as such."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, x, output_size)


def adaptive_avg_pool3d(x: Tensor, output_size: int | tuple[int | None, ...]) -> Tensor:
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed (out_d, out_h, out_w): windows as
    adaptive_avg_pool2d's along each dim; three matrix products (one averaging matrix per dim)."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, x, output_size)


def _adaptive_windows(size: int, out: int) -> np.ndarray:
    """(out, longest window) positions of PyTorch's adaptive windows (``_adaptive_bounds``); a shorter
    window repeats its last position (a repeat changes neither the max nor its first index)."""
    start, end = _adaptive_bounds(size, out)
    return np.minimum(start[:, None] + np.arange((end - start).max()), end[:, None] - 1)


def _adaptive_max_pool(op: str, n: int, x: Tensor, output_size: Any, return_indices: bool) -> Any:
    """adaptive_max_pool2d (n = 2 spatial dims) and adaptive_max_pool3d (n = 3); see adaptive_max_pool2d."""
    if x.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op}: expects a {n + 1}-D or {n + 2}-D input, got shape {x.shape}")
    sizes, outs = x.shape[-n:], _adaptive_output_size(op, n, x, output_size)
    # positions (*outs, window volume) of every window element in the flattened volume: along dim k
    # the window of output cell o_k holds positions windows_k[o_k, l_k], flattened row-major
    flat = np.zeros((), dtype=np.int64)
    for k, (size, out) in enumerate(zip(sizes, outs)):
        shape = [1] * (2 * n)
        shape[k], shape[n + k] = out, -1
        flat = flat * size + _adaptive_windows(size, out).reshape(shape)
    flat = flat.reshape(*outs, -1)
    windows = x.flatten(-n)[..., flat]  # (..., *outs, window volume): the GetItem gradient scatter-adds back
    values, chosen = windows.max(-1)
    if not return_indices:
        return values
    return values, Tensor._make(np.take_along_axis(np.broadcast_to(flat, windows.shape), chosen.data[..., None],
                                                   -1)[..., 0])


def adaptive_max_pool2d(x: Tensor, output_size: int | tuple[int | None, int | None],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling to a fixed (out_h, out_w): output cell (i, j) is the max of the adaptive window
    (as adaptive_avg_pool2d's); the gradient goes to its first maximal element (a nan wins), whose
    index into the flattened H·W plane ``return_indices`` also returns."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, x, output_size, return_indices)


def adaptive_max_pool3d(x: Tensor, output_size: int | tuple[int | None, ...],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed (out_d, out_h, out_w), as
    adaptive_max_pool2d; indices into the flattened D·H·W volume."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, x, output_size, return_indices)


def adaptive_max_pool1d(x: Tensor, output_size: int | tuple[int],
                        return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling of (N, C, L) or (C, L) to length ``output_size`` (windows as adaptive_max_pool2d's)."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, x, output_size, return_indices)


def adaptive_avg_pool1d(x: Tensor, output_size: int | tuple[int]) -> Tensor:
    """Average pooling of (N, C, L) or (C, L) to length ``output_size`` (windows as in adaptive_avg_pool2d)."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, x, output_size)


_INTERPOLATION_MODES = {3: ("nearest", "nearest-exact", "linear"), 4: ("nearest", "nearest-exact", "bilinear"),
                        5: ("nearest", "nearest-exact", "trilinear")}

def _interpolation_weights(size: int, out: int, mode: str, align_corners: bool, scale: float) -> np.ndarray:
    """The (out, size) matrix whose row j mixes the input samples that output sample j reads.

    ``scale`` is in/out (or 1/scale_factor when that was given, as PyTorch). nearest reads
    ⌊j·scale⌋, nearest-exact ⌊(j + ½)·scale⌋; linear reads s = (j + ½)·scale − ½ (at least 0), or
    s = j·(size − 1)/(out − 1) with align_corners, as (1 − λ)·x[⌊s⌋] + λ·x[⌊s⌋ + 1], λ = s − ⌊s⌋.
    """
    j = np.arange(out, dtype=np.float64)
    weights = np.zeros((out, size))
    rows = np.arange(out)
    if mode in ("nearest", "nearest-exact"):
        source = np.floor((j + 0.5) * scale if mode == "nearest-exact" else j * scale).astype(np.int64)
        weights[rows, np.minimum(source, size - 1)] = 1.0
        return weights
    if align_corners:
        source = j * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        source = np.maximum((j + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), size - 1)
    high = np.minimum(low + 1, size - 1)
    fraction = source - low
    np.add.at(weights, (rows, low), 1.0 - fraction)
    np.add.at(weights, (rows, high), fraction)
    return weights


def interpolate(x: Tensor, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None) -> Tensor:
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) to ``size`` (or the input size times
    ``scale_factor``, rounded down) by ``mode`` nearest, nearest-exact, linear (3-D), bilinear (4-D)
    or trilinear (5-D). Each resampled dim is a product with a constant matrix
    (``_interpolation_weights``): y = A x Bᵀ for bilinear, so the gradient is Aᵀ g B; trilinear
    multiplies the depth dim by a third matrix (``_resample``)."""
    spatial = x.ndim - 2
    if x.ndim not in _INTERPOLATION_MODES or mode not in _INTERPOLATION_MODES[x.ndim]:
        supported = ", ".join(f"{n}-D: {modes}" for n, modes in _INTERPOLATION_MODES.items())
        raise ValueError(f"interpolate: mode {mode!r} with input of shape {x.shape} is not supported ({supported})")
    if align_corners is not None and mode not in ("linear", "bilinear", "trilinear"):
        raise ValueError(f"interpolate: align_corners only applies to linear, bilinear and trilinear modes, "
                         f"not {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"interpolate: needs a floating point input, got {x.dtype}")
    inputs = x.shape[2:]
    if size is not None:
        outs = (size,) * spatial if isinstance(size, int) else tuple(size)
        scales = [n / m for n, m in zip(inputs, outs)]
    else:
        factors = (scale_factor,) * spatial if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        outs = tuple(math.floor(n * f) for n, f in zip(inputs, factors))
        scales = [n / m if recompute_scale_factor else 1.0 / f for n, m, f in zip(inputs, outs, factors)]
    if len(outs) != spatial or min(outs) <= 0:
        raise ValueError(f"interpolate: output size {outs} must have {spatial} positive sizes (input {x.shape})")
    matrices = [Tensor._make(_interpolation_weights(n, m, mode, bool(align_corners), s).astype(x.dtype))
                for n, m, s in zip(inputs, outs, scales)]
    return _resample(x, matrices)


def _positive_factor(op: str, name: str, factor: int) -> int:
    """``factor`` itself, after checking that it is a positive int (a 0 would divide by zero)."""
    if not isinstance(factor, (int, np.integer)) or factor <= 0:
        raise ValueError(f"{op}: {name} must be a positive integer, got {factor!r}")
    return factor


def pixel_shuffle(x: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): each group of r² channels becomes an r×r block of pixels
    (sub-pixel convolution upsampling, Shi et al. 2016)."""
    r = _positive_factor("pixel_shuffle", "upscale_factor", upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ShapeError(f"pixel_shuffle: expected (*, C·{r}², H, W), got shape {x.shape}")
    *batch, c, h, w = x.shape
    lead = len(batch)
    blocks = x.reshape(*batch, c // (r * r), r, r, h, w)
    return blocks.permute(*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2).reshape(*batch, c // (r * r),
                                                                                              h * r, w * r)


def pixel_unshuffle(x: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W): the inverse of pixel_shuffle."""
    r = _positive_factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ShapeError(f"pixel_unshuffle: expected (*, C, H·{r}, W·{r}), got shape {x.shape}")
    *batch, c, h, w = x.shape
    lead = len(batch)
    blocks = x.reshape(*batch, c, h // r, r, w // r, r)
    return blocks.permute(*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3).reshape(*batch, c * r * r,
                                                                                              h // r, w // r)


def _dropout(op: str, x: Tensor, p: float, training: bool, mask_shape: tuple[int, ...]) -> Tensor:
    """y = x ⊙ m / (1 − p), m ~ Bernoulli(1 − p) of ``mask_shape`` (broadcast over x), from the global RNG."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = random.generator().random(mask_shape) >= p
    return x * Tensor._make((keep / (1.0 - p)).astype(x.dtype))


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: y = x ⊙ m / (1 − p), m ~ Bernoulli(1 − p), drawn from the global RNG."""
    return _dropout("dropout", x, p, training, x.shape)


def _channel_dropout(op: str, x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout of whole channels of a batched x (N, C, …): one draw m[n, c] per channel,
    y[n, c, …] = x[n, c, …] · m[n, c] / (1 − p)."""
    return _dropout(op, x, p, training, (*x.shape[:2], *(1,) * (x.ndim - 2)))


def dropout1d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, L) or unbatched (C, L) input: whole channels are zeroed, the rest
    scaled by 1/(1 − p); identity when not training."""
    if x.ndim not in (2, 3):
        raise ShapeError(f"dropout1d: expected 2D or 3D input ((C, L) or (N, C, L)), but received a {x.ndim}D "
                         f"input of shape {x.shape}")
    if x.ndim == 2:
        return _channel_dropout("dropout1d", x.unsqueeze(0), p, training).squeeze(0)
    return _channel_dropout("dropout1d", x, p, training)


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, H, W) input: whole channels are zeroed, the rest scaled by 1/(1 − p).

    As PyTorch (and with its warnings): a 3-D input is read as (N, C, L) (channel-wise 1-D dropout),
    and other ranks as (N, C, …)."""
    if x.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {x.ndim}-D input to dropout2d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please "
                      "use dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs "
                      "with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", stacklevel=2)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
    return _channel_dropout("dropout2d", x, p, training)


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """y[…] = weight[indices[…]]: row lookup; the row ``padding_idx`` receives no gradient.

    max_norm:  before the lookup, each row r that ``indices`` names with ‖r‖_p > max_norm
               (p = ``norm_type``) is rescaled in place: r ← r · max_norm / (‖r‖_p + 1e-7), as
               PyTorch's embedding_renorm_ (it changes the parameter; it is not differentiated).
    scale_grad_by_freq:  ∂L/∂weight[i] = (Σ_{positions of i} g) / count(i), count(i) = how often i
               occurs in ``indices`` (the forward is unchanged).
    ``sparse=True`` (a sparse gradient) raises NotImplementedError: there are no sparse tensors.
    """
    idx = _embedding_indices("embedding", indices, weight, sparse)
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return _lookup(idx, weight, padding_idx, idx if scale_grad_by_freq else None)


def _embedding_indices(op: str, indices: Any, weight: Tensor, sparse: bool) -> np.ndarray:
    """The indices as an integer array, checked to name rows of ``weight``; ``sparse`` refused."""
    _check_not_sparse(op, sparse)
    idx = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got {idx.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got {weight.shape}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):  # negative too, as PyTorch (no wrap-around: a bug's mark)
        raise IndexError(f"{op}: index out of range for an embedding of {n} rows (got {idx.min()}..{idx.max()})")
    return idx


def _check_not_sparse(name: str, sparse: bool) -> None:
    """NotImplementedError naming the layer or function for ``sparse=True``."""
    if sparse:
        raise NotImplementedError(f"{name}: sparse=True (a sparse gradient for the weight) is not supported: "
                                  "tinygrad_edu has no sparse tensors; sparse=False gives the same values as a "
                                  "dense gradient")


def _renorm_rows(weight: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """r ← r · max_norm / (‖r‖_p + 1e-7) for the rows of ``weight`` named in ``idx`` whose p-norm
    exceeds max_norm, in place (a write to the parameter, counted in its version)."""
    rows = np.unique(idx)
    norms = np.linalg.norm(weight.data[rows], ord=norm_type, axis=1)
    too_long = norms > max_norm
    if too_long.any():
        scale = max_norm / (norms[too_long].astype(np.float64) + 1e-7)
        weight.data[rows[too_long]] *= scale.astype(weight.dtype)[:, None]
        weight._count_write()


def _lookup(idx: np.ndarray, weight: Tensor, padding_idx: int | None, counted: np.ndarray | None) -> Tensor:
    """weight[idx], the padding row cut from the gradient; with ``counted`` (the indices whose
    frequencies scale_grad_by_freq divides by) each position's gradient is divided by the count
    of its index, before the lookup's backward adds the positions of each row up."""
    rows = weight[idx]
    if counted is not None and rows.requires_grad:
        frequency = np.bincount(counted.reshape(-1), minlength=weight.shape[0])[idx]
        inverse = Tensor._make((1.0 / np.maximum(frequency, 1)).astype(weight.dtype)[..., None])
        rows.register_hook(lambda grad: grad * inverse)
    if padding_idx is None:
        return rows
    trainable = (idx != padding_idx % weight.shape[0])[..., None]
    return where(np.broadcast_to(trainable, rows.shape), rows, rows.detach())


EMBEDDING_BAG_MODES = ("sum", "mean", "max")


def _check_embedding_bag_options(op: str, mode: str, scale_grad_by_freq: bool) -> None:
    if mode not in EMBEDDING_BAG_MODES:
        raise ValueError(f"{op}: mode has to be one of {EMBEDDING_BAG_MODES}, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError(f"{op}: max mode does not support scaling the gradient by the frequency")


def _bags(op: str, idx: np.ndarray, offsets: Any, include_last_offset: bool) -> tuple[np.ndarray, np.ndarray]:
    """The bags of a 2-D input (its rows) or of a 1-D input cut at ``offsets`` as a padded table:
    (positions (B, L) into the flattened input, filled (B, L) bool: which slots hold an element)."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: a 2-D input {idx.shape} is a batch of equal-length bags, so offsets must be None")
        return np.arange(idx.size).reshape(idx.shape), np.ones(idx.shape, dtype=bool)
    if idx.ndim != 1 or offsets is None:
        raise ValueError(f"{op}: expected a 2-D input (B, L), or a 1-D input (N,) with 1-D offsets (B,), got "
                         f"input {idx.shape} and offsets {None if offsets is None else np.shape(offsets)}")
    starts = np.asarray(offsets.data if isinstance(offsets, Tensor) else offsets)
    if starts.ndim != 1 or starts.dtype.kind not in "iu":
        raise ValueError(f"{op}: offsets must be a 1-D integer tensor, got shape {starts.shape}, dtype {starts.dtype}")
    if starts.size and starts[0] != 0:
        raise ValueError(f"{op}: offsets[0] must be 0 (the first bag starts the input), got {starts[0]}")
    if np.any(np.diff(starts) < 0) or (starts.size and starts[-1] > idx.size):
        raise ValueError(f"{op}: offsets must be non-decreasing and at most the input's length {idx.size}, "
                         f"got {starts.tolist()}")
    if include_last_offset and (not starts.size or starts[-1] != idx.size):
        # PyTorch's contract (CSR); its kernel ignores the last offset and ends the last bag at the input's end
        raise ValueError(f"{op}: with include_last_offset=True the last offset must be the input's length "
                         f"{idx.size} (the end of the last bag), got offsets {starts.tolist()}")
    ends = starts[1:] if include_last_offset else np.append(starts[1:], idx.size)
    starts = starts[:-1] if include_last_offset else starts
    longest = int((ends - starts).max(initial=0))
    positions = starts[:, None] + np.arange(longest)
    filled = positions < ends[:, None]
    return np.where(filled, positions, 0), filled


def embedding_bag(input: Any, weight: Tensor, offsets: Any = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    r"""One vector per bag of indices: with R_b = {i ∈ bag b : i ≠ padding_idx},
    sum: y[b] = Σ_{i∈R_b} w_i · weight[i]  (w_i = ``per_sample_weights``, 1 without them),
    mean: y[b] = (1/|R_b|) Σ_{i∈R_b} weight[i],   max: y[b, d] = max_{i∈R_b} weight[i, d]; y[b] = 0 if R_b = ∅.

    A 2-D input (B, L) holds B bags of L indices; a 1-D input (N,) holds the bags
    input[offsets[b]:offsets[b+1]] (the last one to the end; with ``include_last_offset`` offsets
    has B + 1 entries, the last one the end of the last bag). Computed as a padded gather of the
    rows (B, L_max, D) and a masked sum or max over the bag axis, so the gradient scatter-adds back
    into ``weight`` (max: into the row that was largest) and reaches ``per_sample_weights``.

    ``max_norm``/``norm_type`` rescale the rows the input names in place first, as ``embedding``;
    ``scale_grad_by_freq`` (sum and mean) divides each row's gradient by how often its index occurs
    in the whole input, as ``embedding`` does and PyTorch documents. (PyTorch 2.13's CPU kernel
    divides the row of the k-th smallest distinct index by the count of the index at position k of
    the sorted input, pytorch/pytorch#190063, fixed after 2.13 by #190264: its results agree with
    these where every index occurs equally often, and wherever else that slip picks the right count.)
    ``sparse=True`` raises NotImplementedError: there are no sparse tensors."""
    op = "embedding_bag"
    _check_embedding_bag_options(op, mode, scale_grad_by_freq)
    idx = _embedding_indices(op, input, weight, sparse)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"{op}: per_sample_weights is only supported for mode='sum', got mode={mode!r}")
        if per_sample_weights.shape != idx.shape:
            raise ShapeError(f"{op}: per_sample_weights {per_sample_weights.shape} must have the input's shape "
                             f"{idx.shape}")
    positions, filled = _bags(op, idx, offsets, include_last_offset)
    flat = idx.reshape(-1)
    if max_norm is not None:
        _renorm_rows(weight, flat, max_norm, norm_type)
    rows = _lookup(flat[positions], weight, None, flat if scale_grad_by_freq else None)  # (B, L, D)
    if padding_idx is not None:
        filled = filled & (flat[positions] != padding_idx % weight.shape[0])
    if mode == "max":
        masked = rows.masked_fill(Tensor._make(~filled[..., None]), -math.inf)
        out = masked.max(1).values if rows.shape[1] else rows.sum(1)  # no slots at all: sum gives the zeros
        return where(filled.any(1, keepdims=True), out, 0.0)  # an empty bag: 0, not −inf
    counts = filled.sum(1, keepdims=True)
    scale = filled / np.maximum(counts, 1) if mode == "mean" else filled
    bag_weights = Tensor._make(scale.astype(weight.dtype))
    if per_sample_weights is not None:
        bag_weights = bag_weights * per_sample_weights.reshape(-1)[positions]
    return (rows * bag_weights.unsqueeze(-1)).sum(1)


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _source_index(mode: str, size: int, before: int, after: int) -> np.ndarray:
    """For output positions j = −before … size + after − 1 of one padded dim: the input position
    each one copies. reflect mirrors about the edge pixels (−1 → 1, size → size − 2), replicate
    clamps to them, circular wraps around the part left after cutting negative widths
    (PyTorch crops first, then wraps)."""
    j = np.arange(-before, size + after)
    if mode == "reflect":
        j = np.abs(j)
        return np.where(j > size - 1, 2 * (size - 1) - j, j)
    if mode == "replicate":
        return np.clip(j, 0, size - 1)
    start, kept = max(-before, 0), size + min(before, 0) + min(after, 0)
    return start + (np.arange(-max(before, 0), kept + max(after, 0)) % kept)


def _check_pad_widths(mode: str, x: Tensor, pairs: list[tuple[int, int]]) -> None:
    """PyTorch's limits on reflect/replicate/circular padding (pairs from the last dim)."""
    n = len(pairs)
    if n not in (1, 2, 3) or x.ndim not in (n + 1, n + 2):
        raise NotImplementedError(
            f"pad: padding size {2 * n} is not supported for {x.ndim}D input tensor in mode {mode!r}; non-constant "
            "padding takes 2D or 3D input with padding size 2, 3D or 4D with 4, 4D or 5D with 6")
    out_sizes = [x.shape[x.ndim - 1 - k] + before + after for k, (before, after) in enumerate(pairs)]
    if max(out_sizes) < 1:  # PyTorch's test: the output is empty along every padded dim
        raise ShapeError(f"pad: input {x.shape} is too small for padding {pairs} in mode {mode!r}: the output "
                         f"sizes would be {out_sizes[::-1]}")
    for k, (before, after) in enumerate(pairs):
        dim = x.ndim - 1 - k
        size = x.shape[dim]
        kept = size + min(before, 0) + min(after, 0)  # circular: what is left after cutting negative widths
        if size == 0 or size + before + after < 0 or (mode == "circular" and kept < 1):
            raise ShapeError(f"pad: input {x.shape} is too small for padding ({before}, {after}) at dimension {dim} "
                             f"(mode {mode!r})")
        if mode == "reflect" and (before >= size or after >= size):
            raise ShapeError(f"pad: padding size should be less than the corresponding input dimension, but got "
                             f"padding ({before}, {after}) at dimension {dim} of input {x.shape} (mode 'reflect')")
        if mode == "circular" and max(before, after, 0) > min(size, kept):
            raise ShapeError(f"pad: padding ({before}, {after}) at dimension {dim} of input {x.shape} wraps around "
                             "more than once (mode 'circular')")


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or crop, with negative widths) the last len(pad)/2 dims; ``pad`` lists (before, after)
    pairs starting from the LAST dim (PyTorch).

    constant:   y = x surrounded by ``value`` (0 if None); negative widths cut x first
    reflect:    y[j] = x[|j|] mirrored at both edges, e.g. (a b c) padded by 2: c b a b c b a
    replicate:  y[j] = x[clamp(j, 0, n − 1)]:                                 a a a b c c c
    circular:   y[j] = x[j mod n]:                                            b c a b c a b
    The last three are a gather along each padded dim (``x[..., idx]``), so their gradient is the
    scatter-add back: ∂L/∂x[i] = Σ_{j: idx[j] = i} g[j] (an edge pixel collects its copies).
    """
    if mode not in PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; choose one of {PAD_MODES}")
    if len(pad) % 2:
        raise ShapeError(f"pad: padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > x.ndim:
        raise ShapeError(f"pad: padding of length {len(pad)} does not fit a tensor of shape {x.shape} "
                         "(at most two per dim)")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    if mode != "constant":
        if value:
            raise ValueError(f"pad: padding mode {mode!r} doesn't take in a value argument")
        _check_pad_widths(mode, x, pairs)
        for k, (before, after) in enumerate(pairs):
            if before or after:
                dim = x.ndim - 1 - k
                x = x[(slice(None),) * dim + (_source_index(mode, x.shape[dim], before, after),)]
        return x
    widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    for (before, after), size in zip(widths, x.shape):
        if size + min(before, 0) + min(after, 0) < 0:
            raise ShapeError(f"pad: input of shape {x.shape} is too small to cut padding ({before}, {after})")
    if any(a < 0 or b < 0 for a, b in widths):  # cut first, then pad what is left
        x = x[tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(widths, x.shape))]
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    return ops.Pad.apply(x, widths=tuple(widths), value=0.0 if value is None else value)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """int64 tensor with a trailing dim of ``num_classes``: 1 at each index, 0 elsewhere."""
    idx = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor, got {idx.dtype}")
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes})")
    return Tensor._make((idx[..., None] == np.arange(num_classes)).astype(dtypes.int64))


# ---- activations ------------------------------------------------------------------------------


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x)."""
    return ops.ReLU.apply(x)  # (what x.relu() runs, one call fewer: every ReLU layer comes here)


def sigmoid(x: Tensor) -> Tensor:
    """σ(x) = 1 / (1 + e^(−x))."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    """(eˣ − e^(−x)) / (eˣ + e^(−x))."""
    return x.tanh()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope·x."""
    return x.leaky_relu(negative_slope)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (or its tanh approximation)."""
    return x.gelu(approximate)


def softmax(x: Tensor, dim: int) -> Tensor:
    """e^(x_i) / Σ_j e^(x_j) along ``dim``."""
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """x_i − logsumexp(x) along ``dim``."""
    return x.log_softmax(dim)


# More of PyTorch's activations, as compositions. Each branch of a ``where`` is computed on
# clamped input, so the branch not taken never overflows: its gradient is 0, and 0·inf would be nan.


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β)·log(1 + e^(βx)), or x where βx > threshold (as PyTorch). For z = βx, log(1 + eᶻ) =
    logaddexp(z, 0) = max(z, 0) + log(1 + e^(−|z|)), which never overflows; the slope is σ(βx)."""
    z = x * beta if beta != 1 else x
    log1p_exp = z.logaddexp(0)
    return where(z > threshold, x, log1p_exp / beta if beta != 1 else log1p_exp)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x) (the swish)."""
    return x * x.sigmoid()


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    return x * softplus(x).tanh()


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else α·(eˣ − 1)."""
    return where(x > 0, x, alpha * x.clamp(max=0).expm1())


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else α·(e^(x/α) − 1)."""
    return where(x > 0, x, alpha * (x.clamp(max=0) / alpha).expm1())


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(x, α) with PyTorch's α ≈ 1.6733 and scale ≈ 1.0507 (self-normalising)."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped into [min_val, max_val]; slope 1 strictly inside, 0 elsewhere (at the bounds too,
    unlike clamp, as PyTorch)."""
    inside = (x.data > min_val) & (x.data < max_val)
    return where(inside, x, Tensor._make(np.clip(x.data, min_val, max_val)))


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6): hardtanh(x, 0, 6)."""
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """x/6 + 1/2 clamped into [0, 1]; slope 1/6 strictly inside (−3, 3), 0 elsewhere."""
    return hardtanh(x, -3.0, 3.0) / 6 + 0.5


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·(x + 3)/6 on (−3, 3), 0 below, x above; slope (2x + 3)/6 strictly inside, 0 at −3 and 1 at 3
    (PyTorch's one-sided choice at the kinks)."""
    middle = x * (x + 3) / 6
    return where(x.data <= -3, 0.0, where(x.data < 3, middle, x))


def logsigmoid(x: Tensor) -> Tensor:
    """log σ(x) = −log(1 + e^(−x)) = −logaddexp(−x, 0), computed stably; unlike −softplus(−x) no
    threshold cuts the tail short (for x < −20 softplus would return −x, off by up to eˣ)."""
    return -(-x).logaddexp(0)


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return x / (x.abs() + 1)


def tanhshrink(x: Tensor) -> Tensor:
    """x − tanh(x)."""
    return x - x.tanh()


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > λ, else 0."""
    return where((x.data > lambd) | (x.data < -lambd), x, 0.0)


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x − λ where x > λ, x + λ where x < −λ, else 0."""
    return where(x.data > lambd, x - lambd, where(x.data < -lambd, x + lambd, 0.0))


def threshold(x: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``."""
    return where(x.data > threshold, x, value)


def softmin(x: Tensor, dim: int) -> Tensor:
    """softmax(−x) along ``dim``."""
    return (-x).softmax(dim)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else a·x with a learnable slope a: one for all channels, or one per channel
    (dim 1; an input with fewer dims has one channel, as PyTorch)."""
    if weight.numel() == 1:
        a = weight.reshape(())
    else:
        if x.ndim < 2 or x.shape[1] != weight.numel():
            raise ShapeError(f"prelu: {weight.numel()} slopes do not fit the channels (dim 1) of input shape {x.shape}")
        a = weight.reshape([-1 if d == 1 else 1 for d in range(x.ndim)])
    return where(x.data > 0, x, a * x)


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a ⊙ σ(b), with a and b the two halves of x along ``dim`` (gated linear unit)."""
    if x.ndim == 0 or x.shape[dim] % 2:
        raise ShapeError(f"glu: dim {dim} of shape {x.shape} must have an even size to split in halves")
    a, b = x.chunk(2, dim)
    return a * b.sigmoid()


# ---- normalisation ------------------------------------------------------------------------------


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    r"""Batch normalisation over every dim but the channel dim 1.

    Training:  y = (x − μ_B) / √(σ²_B + ε) · γ + β with the batch mean and biased variance;
               running ← (1 − momentum)·running + momentum·stat (running var uses the
               unbiased batch variance σ²_B · n/(n − 1), as PyTorch).
    Eval:      the same with the running statistics.
    """
    dims = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training or running_mean is None:
        n = x.numel() // x.shape[1]
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got shape {x.shape}")
        mean = x.mean(dims)
        var = x.var(dims, correction=0)
        if running_mean is not None and running_var is not None:
            running_mean.data[...] = (1 - momentum) * running_mean.data + momentum * mean.data
            running_var.data[...] = (1 - momentum) * running_var.data + momentum * var.data * n / (n - 1)
    else:
        mean, var = running_mean, running_var
    return _per_channel_affine((x - mean.reshape(shape)) / (var.reshape(shape) + eps).sqrt(), weight, bias)


def normalize(x: Tensor, p: float = 2.0, dim: int | Sequence[int] = 1, eps: float = 1e-12) -> Tensor:
    """y = x / max(‖x‖_p, ε) with the p-norm taken over ``dim`` (rows of unit length for p = 2)."""
    return x / x.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ x1·x2 / (max(‖x1‖, ε)·max(‖x2‖, ε)) along ``dim`` (x1 and x2 broadcast), as PyTorch:
    each vector divided by its clamped norm, then the dot product."""
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ShapeError(f"cosine_similarity: shapes {x1.shape} and {x2.shape} cannot be broadcast together") from None
    x1, x2 = x1.expand(shape), x2.expand(shape)
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + ε‖_p over the last dim (rows of x1 and x2, broadcast)."""
    return (x1 - x2 + eps).norm(p, -1, keepdim)


def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """y = (x − mean) / √(var + ε) · γ + β with mean and (biased) var over each group of
    C/num_groups channels and all positions of one sample (layer_norm of each group); γ, β per channel."""
    _positive_factor("group_norm", "num_groups", num_groups)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ShapeError(f"group_norm: expected input (N, C, ...) with C divisible by num_groups={num_groups}, "
                         f"got shape {x.shape}")
    grouped = x.reshape(x.shape[0], num_groups, -1)
    return _per_channel_affine(layer_norm(grouped, grouped.shape[-1], eps=eps).reshape(x.shape), weight, bias)


def _per_channel_affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """y · γ + β with γ, β of shape (C,) broadcast over (N, C, ...)."""
    shape = (1, -1) + (1,) * (y.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def instance_norm(x: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation of each sample on its own: statistics per (sample, channel) over the
    positions, as PyTorch computes it: batch_norm of the input seen as (1, N·C, ...), the running
    statistics (if given) repeated N times and averaged back after the update."""
    if x.ndim < 3:
        raise ShapeError(f"instance_norm: expected input (N, C, ...) with at least one position dim, "
                         f"got shape {x.shape}")
    n, c = x.shape[:2]
    as_one = x.reshape(1, n * c, *x.shape[2:])
    repeated = [None if r is None else Tensor._make(np.tile(r.data, n)) for r in (running_mean, running_var)]
    y = batch_norm(as_one, *repeated, training=use_input_stats, momentum=momentum, eps=eps).reshape(x.shape)
    for running, updated in zip((running_mean, running_var), repeated):
        if running is not None and use_input_stats:
            running.data[...] = updated.data.reshape(n, c).mean(0)
    return _per_channel_affine(y, weight, bias)


def rms_norm(x: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """y = x / √(mean(x²) + ε) · γ over the trailing ``normalized_shape`` dims (ε None: the dtype's
    machine epsilon, as PyTorch)."""
    dims = _trailing_dims("rms_norm", x, normalized_shape)
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    y = x / ((x * x).mean(dims, keepdim=True) + eps).sqrt()
    return y if weight is None else y * weight


def _trailing_dims(op: str, x: Tensor, normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """The dims of x that ``normalized_shape`` names: its trailing ones, which must have that shape."""
    norm = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.ndim < len(norm) or tuple(x.shape[x.ndim - len(norm):]) != norm:
        raise ShapeError(f"{op}: expected input with trailing shape {norm}, got shape {x.shape}")
    return tuple(range(x.ndim - len(norm), x.ndim))


def layer_norm(x: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """y = (x − mean) / √(var + ε) · γ + β over the trailing ``normalized_shape`` dims (biased var)."""
    dims = _trailing_dims("layer_norm", x, normalized_shape)
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=0)
    y = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


# ---- losses ------------------------------------------------------------------------------------


_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _lengths(op: str, name: str, value: Any, batch: int, most: int | None) -> np.ndarray:
    """A length per sample (an int, a sequence or an integer tensor) as an int64 array (batch,),
    each in 0..``most``."""
    lengths = np.asarray(value.data if isinstance(value, Tensor) else value).reshape(-1)
    if lengths.dtype.kind not in "iu" or lengths.size != batch:
        raise ValueError(f"{op}: {name} must hold {batch} integers (one per sample), got {lengths.tolist()}")
    if lengths.size and (lengths.min() < 0 or (most is not None and lengths.max() > most)):
        raise ValueError(f"{op}: {name} must be within 0..{most}, got {lengths.tolist()}")
    return lengths.astype(np.int64)


def ctc_loss(log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    r"""Connectionist temporal classification loss −log p(l | x), summed over all alignments of
    the targets to the frames (the forward-backward recursion: ``ops/ctc.py``).

    log_probs (T, N, C) (or unbatched (T, C)): per-frame log-probabilities, e.g. a log_softmax
    output; targets: padded (N, S) or the N targets concatenated (Σ target_lengths,), class
    indices other than ``blank``; input_lengths, target_lengths: (N,) (T_n ≤ T, U_n ≤ S).
    reduction 'mean' (PyTorch's): mean over the batch of loss_n / max(U_n, 1); 'sum'; 'none' (N,).
    ``zero_infinity``: an impossible alignment (T_n too short for the target) gives 0 and a zero
    gradient instead of inf.
    """
    op = "ctc_loss"
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise ShapeError(f"{op}: expected log_probs (T, N, C) or (T, C), got {log_probs.shape}")
    frames, batch, classes = lp.shape
    if not 0 <= blank < classes:
        raise ValueError(f"{op}: blank {blank} must be a class index in 0..{classes - 1}")
    labels = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    labels = labels[None] if unbatched else labels
    if labels.dtype.kind not in "iu":  # (before the 1-D targets are copied into an integer table, which would truncate)
        raise ShapeError(f"{op}: expected integer targets (N, S) or (sum of target_lengths,), got {labels.shape} "
                         f"{labels.dtype}")
    t_lengths = _lengths(op, "target_lengths", target_lengths, batch, labels.shape[1] if labels.ndim == 2 else None)
    if labels.ndim == 1:  # concatenated: cut into rows of a padded (N, max U) table
        if labels.size < t_lengths.sum():
            raise ShapeError(f"{op}: 1-D targets of length {labels.size} are shorter than the sum of target_lengths "
                             f"{t_lengths.tolist()}")
        padded = np.full((batch, t_lengths.max(initial=0)), blank, dtype=np.int64)
        padded[np.arange(padded.shape[1]) < t_lengths[:, None]] = labels[:t_lengths.sum()]
        labels = padded
    if labels.ndim != 2 or labels.shape[0] != batch:
        raise ShapeError(f"{op}: expected integer targets (N, S) or (sum of target_lengths,) for N = {batch}, got "
                         f"{labels.shape} {labels.dtype}")
    used = labels[np.arange(labels.shape[1]) < t_lengths[:, None]]
    if used.size and (used.min() < 0 or used.max() >= classes):
        raise IndexError(f"{op}: target labels must be class indices in 0..{classes - 1}, "
                         f"got {used.min()}..{used.max()}")
    losses = ops.CTCLoss.apply(lp, targets=labels[:, :t_lengths.max(initial=0)].astype(np.int64),
                               input_lengths=_lengths(op, "input_lengths", input_lengths, batch, frames),
                               target_lengths=t_lengths, blank=blank, zero_infinity=zero_infinity)
    if reduction == "mean":
        return (losses / Tensor._make(np.maximum(t_lengths, 1).astype(losses.dtype))).mean()
    return _reduce(losses.squeeze(0) if unbatched else losses, reduction, op)


def _same_shape(op: str, x: Tensor, target: Tensor) -> None:
    if x.shape != target.shape:
        raise ShapeError(f"{op}: input of shape {x.shape} and target of shape {target.shape} differ")


def _check_broadcast(op: str, **operands: Tensor) -> None:
    """A ShapeError naming the loss and each operand's shape unless they broadcast together (the
    error of the first op that failed would name that op: sub, mul, where)."""
    shapes = [t.shape for t in operands.values()]
    if shapes.count(shapes[0]) == len(shapes):  # equal shapes, the usual case: np.broadcast_shapes costs ~2.5 µs
        return
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        described = ", ".join(f"{name} of shape {t.shape}" for name, t in operands.items())
        raise ShapeError(f"{op}: {described} cannot be broadcast together") from None


def mse_loss(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """MSE = (1/n) Σ (y_i − ŷ_i)²  (reduction='mean')."""
    target = _as_tensor(target, x)
    _same_shape("mse_loss", x, target)
    return _reduce((x - target) ** 2, reduction, "mse_loss")


def l1_loss(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(1/n) Σ |y_i − ŷ_i|  (reduction='mean')."""
    target = _as_tensor(target, x)
    _same_shape("l1_loss", x, target)
    return _reduce((x - target).abs(), reduction, "l1_loss")


def _smooth_l1(op: str, x: Tensor, target: Any, beta: float) -> Tensor:
    """The unreduced smooth L1 loss of ``op`` (smooth_l1_loss, or huber_loss, which scales it):
    ½d²/β where |d| < β, else |d| − ½β, with d = x − target; |d| for β = 0."""
    target = _as_tensor(target, x)
    _same_shape(op, x, target)
    d = x - target
    if beta == 0:
        return d.abs()
    return where(d.abs().data < beta, 0.5 * d * d / beta, d.abs() - 0.5 * beta)


def smooth_l1_loss(x: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """ℓ = ½d²/β where |d| < β, else |d| − ½β, with d = x − target (β = 0: the L1 loss). Slope ±1
    far from 0, a parabola of curvature 1/β near it."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must not be negative, got {beta}")
    return _reduce(_smooth_l1("smooth_l1_loss", x, target, beta), reduction, "smooth_l1_loss")


def huber_loss(x: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """ℓ = ½d² where |d| < δ, else δ·(|d| − ½δ), with d = x − target: exactly δ · smooth_l1 with
    β = δ (δ·½d²/δ = ½d², δ·(|d| − ½δ)), so slope ±δ far from 0 and curvature 1 near it."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return _reduce(delta * _smooth_l1("huber_loss", x, target, delta), reduction, "huber_loss")


def _class_last(x: Tensor, op: str) -> Tensor:
    """(N, C, d1, …) -> (N·d1·…, C); (C,) -> (1, C)."""
    ndim = x.data.ndim
    if ndim == 2:
        return x
    if ndim == 0:
        raise ShapeError(f"{op}: input must have a class dim, got a 0-d tensor")
    if ndim == 1:
        return x.unsqueeze(0)
    return x.permute(0, *range(2, ndim), 1).reshape(-1, x.shape[1])


def _class_indices(op: str, x2: Tensor, target: Any) -> np.ndarray:
    """The target as a flat array of integer class indices, one per row of x2 (range not checked)."""
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    if t.ndim != 1:
        t = t.reshape(-1)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer class indices as target, got dtype {t.dtype}")
    if t.shape[0] != x2.data.shape[0]:
        raise ShapeError(f"{op}: {t.shape[0]} targets for {x2.shape[0]} samples")
    return t


def _index_targets(op: str, x2: Tensor, target: Any, ignore_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Flattened class indices with ignored entries replaced by 0, and the mask of kept ones."""
    t = _class_indices(op, x2, target)
    keep = t != ignore_index
    C = x2.shape[1]
    if np.any(keep & ((t < 0) | (t >= C))):
        raise IndexError(f"{op}: target class out of range [0, {C}) (got {t[keep].min()}..{t[keep].max()})")
    return np.where(keep, t, 0).astype(dtypes.int64), keep


def _weighted_reduce(per_sample: Tensor, sample_weight: np.ndarray, reduction: str, out_shape: tuple,
                     op: str) -> Tensor:
    """Reduce a per-sample loss; 'mean' divides by the total weight of kept samples (PyTorch's NLL)."""
    if reduction == "none":
        return per_sample.reshape(out_shape)
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "mean":
        return per_sample.sum() / float(sample_weight.sum())
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _target_shape(x: Tensor) -> tuple[int, ...]:
    return () if x.ndim == 1 else (x.shape[0], *x.shape[2:])


def nll_loss(log_probs: Tensor, target: Any, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood: ℓ_i = −w[t_i] · log p[i, t_i]; 'mean' divides by Σ_i w[t_i]."""
    x2 = _class_last(log_probs, "nll_loss")
    t, keep = _index_targets("nll_loss", x2, target, ignore_index)
    w = np.ones(x2.shape[1]) if weight is None else np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    sample_weight = (w[t] * keep).astype(x2.dtype)
    picked = x2.gather(1, t[:, None]).squeeze(1)
    return _weighted_reduce(-picked * sample_weight, sample_weight, reduction, _target_shape(log_probs), "nll_loss")


def cross_entropy(x: Tensor, target: Any, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy of logits x against class indices or class probabilities.

    Class indices (sparse categorical cross-entropy over softmax):
        ℓ_i = −w[t_i] · log softmax(x_i)[t_i] = w[t_i] · (logsumexp(x_i) − x_i[t_i])
    Probabilities y:  ℓ_i = −Σ_c w_c · y_ic · log softmax(x_i)_c
    Label smoothing ε mixes the target with the uniform distribution: (1 − ε)·ℓ + ε·ℓ_uniform.
    Class indices run as one fused op, ``ops.CrossEntropy`` (weights, ignore_index, smoothing and
    the reduction included; one C pass each way); probabilities as the Tensor ops written here.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x2 = _class_last(x, "cross_entropy")
    w = None if weight is None else _as_tensor(weight, x2)
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target))
    if dtypes.is_floating(target.data.dtype):  # class probabilities
        y2 = _class_last(target.to(x2.dtype), "cross_entropy")
        if y2.shape != x2.shape:
            raise ShapeError(f"cross_entropy: probability target of shape {target.shape} does not fit input {x.shape}")
        if label_smoothing:
            y2 = y2 * (1 - label_smoothing) + label_smoothing / x2.shape[1]
        logp = x2.log_softmax(1)
        per = -(logp * y2 if w is None else logp * y2 * w).sum(1)
        return _weighted_reduce(per, np.ones(x2.shape[0]), reduction, _target_shape(x), "cross_entropy")
    loss = loss_ops.CrossEntropy.apply(x2, target=_class_indices("cross_entropy", x2, target),
                                       weight=None if w is None else w.data, ignore_index=ignore_index,
                                       reduction=reduction, label_smoothing=label_smoothing)
    return loss.reshape(_target_shape(x)) if reduction == "none" else loss


def binary_cross_entropy(x: Tensor, target: Any, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """BCE = −(1/n) Σ [y_i log ŷ_i + (1 − y_i) log(1 − ŷ_i)], each log clamped at −100, with a
    finite slope at ŷ = 0 or 1 (PyTorch's; see ``ops.BinaryCrossEntropy``)."""
    target = _as_tensor(target, x)
    _same_shape("binary_cross_entropy", x, target)
    if np.any((x.data < 0) | (x.data > 1)):
        raise ValueError("binary_cross_entropy: input values must be probabilities in [0, 1]")
    loss = loss_ops.BinaryCrossEntropy.apply(x, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(x: Tensor, target: Any, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """BCE on logits, fused and stable: ℓ = max(x, 0) − x·y + log(1 + e^(−|x|)) (finite at ±100);
    with pos_weight p: ℓ = (1 − y)·x + (1 + (p − 1)·y)·softplus(−x)."""
    target = _as_tensor(target, x)
    _same_shape("binary_cross_entropy_with_logits", x, target)
    p = Tensor._make(np.ones((), dtype=x.dtype)) if pos_weight is None else _as_tensor(pos_weight, x)
    loss = loss_ops.BCEWithLogits.apply(x, target, p.expand(x.shape))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def kl_div(x: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence with x = log q: ℓ = y·(log y − x) (0 where y = 0), or e^t·(t − x) if log_target.

    reduction='batchmean' divides the sum by the batch size (the mathematically correct KL)."""
    target = _as_tensor(target, x)
    _same_shape("kl_div", x, target)
    if log_target:
        loss = target.exp() * (target - x)
    else:
        log_y = Tensor._make(np.log(np.where(target.data > 0, target.data, 1.0)))
        loss = target * (log_y - x)
    if reduction == "batchmean":
        return loss.sum() / float(x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


def multi_margin_loss(x: Tensor, target: Any, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss (the SVM loss): ℓ_i = (1/C) Σ_{j≠t_i} w[t_i]·max(0, margin − x_i[t_i] + x_i[j])^p."""
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p = 1 or 2 are supported, got {p}")
    x2 = x.unsqueeze(0) if x.ndim == 1 else x
    if x2.ndim != 2:
        raise ShapeError(f"multi_margin_loss: expected input of shape (N, C) or (C,), got {x.shape}")
    t, _ = _index_targets("multi_margin_loss", x2, target, ignore_index=-(1 << 62))
    C = x2.shape[1]
    correct = x2.gather(1, t[:, None])
    others = Tensor._make((np.arange(C)[None, :] != t[:, None]).astype(x2.dtype))
    hinge = (margin - correct + x2).relu() ** p * others
    if weight is not None:
        w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
        hinge = hinge * Tensor._make(w[t][:, None].astype(x2.dtype))
    per = hinge.sum(1) / C
    if x.ndim == 1 and reduction == "none":
        return per.squeeze(0)
    return _reduce(per, reduction, "multi_margin_loss")


# ---- more of PyTorch's losses, as compositions (PyTorch's formulas, term by term) ---------------


def margin_ranking_loss(x1: Tensor, x2: Tensor, target: Any, margin: float = 0.0, reduction: str = "mean") -> Tensor:
    """ℓ = max(0, −y·(x1 − x2) + margin), y = ±1 saying which input should rank higher. The three
    must have one number of dims (as PyTorch) and broadcast together."""
    y = _as_tensor(target, x1)
    if not x1.ndim == x2.ndim == y.ndim:
        raise ShapeError(f"margin_ranking_loss: all input tensors should have the same number of dims, got "
                         f"input1 of shape {x1.shape}, input2 of shape {x2.shape}, target of shape {y.shape}")
    _check_broadcast("margin_ranking_loss", input1=x1, input2=x2, target=y)
    return _reduce((-y * (x1 - x2) + margin).clamp(min=0), reduction, "margin_ranking_loss")


def soft_margin_loss(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """ℓ = log(1 + e^(−y·x)) = logaddexp(−y·x, 0) for y = ±1 (two-class logistic loss, computed stably;
    not softplus, whose threshold would cut the tail short)."""
    y = _as_tensor(target, x)
    _same_shape("soft_margin_loss", x, y)
    return _reduce((-y * x).logaddexp(0), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(x: Tensor, target: Any, weight: Tensor | None = None,
                                reduction: str = "mean") -> Tensor:
    """ℓ_n = −(1/C) Σ_c w_c·[y_c·log σ(x_c) + (1 − y_c)·log σ(−x_c)] (one binary logistic loss per class)."""
    y = _as_tensor(target, x)
    _same_shape("multilabel_soft_margin_loss", x, y)
    loss = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(-1) / x.shape[-1], reduction, "multilabel_soft_margin_loss")


def hinge_embedding_loss(x: Tensor, target: Any, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """ℓ = x where y = 1, max(0, margin − x) where y = −1 (x a distance between a pair)."""
    y = _as_tensor(target, x)
    _check_broadcast("hinge_embedding_loss", input=x, target=y)
    y = y.data
    loss = where(y != 1, (margin - x).clamp(min=0), 0.0) + where(y != -1, x, 0.0)
    return _reduce(loss, reduction, "hinge_embedding_loss")


_COSINE_EPS = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss


def cosine_embedding_loss(x1: Tensor, x2: Tensor, target: Any, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """ℓ = 1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1; cos over the last
    dim, cos = Σ x1·x2 / √((Σ x1² + ε)(Σ x2² + ε)) with ε = 1e-12, as PyTorch."""
    if x1.shape != x2.shape or x1.ndim not in (1, 2):
        raise ShapeError(f"cosine_embedding_loss: expected two inputs of one shape (N, D) or (D,), "
                         f"got {x1.shape} and {x2.shape}")
    y = _as_tensor(target, x1).data
    cos = (x1 * x2).sum(-1) / (((x1 * x1).sum(-1) + _COSINE_EPS) * ((x2 * x2).sum(-1) + _COSINE_EPS)).sqrt()
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> Tensor:
    """ℓ = max(0, d(a, p) − d(a, n) + margin) with d the pairwise p-norm distance; ``swap``: d(a, n)
    replaced by d(p, n) where that is smaller (Balntas et al. 2016)."""
    if not anchor.shape == positive.shape == negative.shape or anchor.ndim not in (1, 2):
        raise ShapeError(f"triplet_margin_loss: expected three inputs of one shape (N, D) or (D,), got "
                         f"{anchor.shape}, {positive.shape} and {negative.shape}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction, "triplet_margin_loss")


def poisson_nll_loss(x: Tensor, target: Any, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of target ~ Poisson(λ): ℓ = e^x − y·x with x = log λ (``log_input``),
    else λ − y·log(λ + ε); ``full`` adds Stirling's y·log y − y + ½·log(2πy) where y > 1."""
    y = _as_tensor(target, x)
    _check_broadcast("poisson_nll_loss", input=x, target=y)
    loss = x.exp() - y * x if log_input else x - y * (x + eps).log()
    if full:
        safe = np.where(y.data > 1, y.data, 1.0)  # the term is 0 where y ≤ 1
        stirling = np.where(y.data > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe), 0.0)
        loss = loss + Tensor._make(stirling.astype(x.dtype))
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(x: Tensor, target: Any, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of target ~ N(x, var): ℓ = ½·(log max(var, ε) + (x − y)²/max(var, ε))
    (+ ½·log 2π with ``full``). As PyTorch, the clamp to ε does not stop var's gradient; var may lack
    the last dim of x, or have size 1 there."""
    y = _as_tensor(target, x)
    v = var if isinstance(var, Tensor) else Tensor._make(np.asarray(var, dtype=x.dtype))
    if v.ndim and v.shape != x.shape:
        if v.shape == x.shape[:-1]:
            v = v.unsqueeze(-1)
        elif v.shape != (*x.shape[:-1], 1):
            raise ShapeError(f"gaussian_nll_loss: var of shape {v.shape} does not fit input of shape {x.shape}")
    if np.any(v.data < 0):
        raise ValueError("gaussian_nll_loss: var has negative entries")
    v = v + Tensor._make(np.maximum(v.data, eps) - v.data)  # max(var, ε) in value, var's gradient unchanged
    loss = 0.5 * (v.log() + (x - y) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


# ---- attention ---------------------------------------------------------------------------------


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    r"""softmax(Q Kᵀ · scale + B) V over (..., L, E) queries and (..., S, E) keys, (..., S, Ev) values,
    scale = 1/√E by default. B: −inf where a bool ``attn_mask`` is False or, with ``is_causal``,
    above the diagonal (query i sees keys j ≤ i); a float ``attn_mask`` is added as it is. Dropout
    with ``dropout_p`` on the attention weights (always, as PyTorch's function)."""
    if query.ndim < 2 or key.ndim < 2 or query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: expected query (..., L, E), key (..., S, E), value "
                         f"(..., S, Ev), got {query.shape}, {key.shape} and {value.shape}")
    if attn_mask is not None:
        try:
            np.broadcast_shapes(attn_mask.shape, (*query.shape[:-1], key.shape[-2]))
        except ValueError:
            raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {attn_mask.shape} does not fit the "
                             f"scores (..., L, S) of query {query.shape} and key {key.shape}") from None
    allowed = np.ones((query.shape[-2], key.shape[-2]), dtype=bool)
    if is_causal:
        allowed = np.tril(allowed)
    float_mask = attn_mask is not None and attn_mask.dtype != np.bool_
    if attn_mask is not None and not float_mask:
        allowed = allowed & attn_mask.data
    output, _ = _attention(query, key, value, ~allowed, attn_mask if float_mask else None,
                           1.0 / math.sqrt(query.shape[-1]) if scale is None else scale, dropout_p)
    return output


def _attention(query: Tensor, key: Tensor, value: Tensor, forbidden: np.ndarray, added: Tensor | None,
              scale: float, dropout_p: float) -> tuple[Tensor, Tensor]:
    """The core of scaled_dot_product_attention and nn.MultiheadAttention: returns (W V, W) with
    W = dropout(softmax(Q Kᵀ · scale + B)), B = −inf where the bool array ``forbidden`` (broadcast
    to the scores) is True, plus the float mask ``added`` if given."""
    scores = query @ key.transpose(-2, -1) * scale
    if forbidden.any():
        scores = scores.masked_fill(Tensor._make(forbidden), -math.inf)
    if added is not None:
        scores = scores + added
    weights = scores.softmax(-1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ value, weights
