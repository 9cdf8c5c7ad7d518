"""The reference kernels: plain NumPy, the readable teaching path.

Every kernel here is the definition of "correct" for its C twin in ``backend/c.py``:
the same signature, pure ``ndarray -> ndarray``, no autograd and no Tensor.

Convolution is written the way it is taught: unfold the input into columns (``im2col``),
multiply by the flattened filters, and fold gradients back (``col2im``). Shapes use
N batch, C input channels, O output channels, (H, W) input size, (kh, kw) kernel size and
(OH, OW) output size, with

    OH = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1     (likewise OW)

for stride (sh, sw), zero padding (ph, pw) and dilation (dh, dw).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

Pair = tuple[int, int]
Sizes = tuple[int, ...]  # one entry per spatial dim: (h, w), or (d, h, w) in 3-D


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Matrix product with NumPy's ``matmul`` semantics (batched, broadcast, 1-D cases).

    out[..., i, j] = Σ_k a[..., i, k] · b[..., k, j]
    """
    return np.matmul(a, b)


# ---- a B reused by many products: a recurrent layer's W_hh, the same at every time step ----
# The C backend packs such a B once (tiles' strips, csrc/gemm.c tg_pack_b_*) instead of reading its
# rows from scattered memory in every product; here there is nothing to prepare, so the "packed"
# B is a plain copy and the product is np.matmul.


def pack_b(b: np.ndarray) -> np.ndarray:
    """B (k, n) prepared for many products ``matmul_packed(a, packed)``: here a C-ordered copy of B.

    A snapshot: later changes to ``b`` do not reach the products (as with the C backend's panel).
    """
    if b.ndim != 2:
        raise ValueError(f"pack_b: expected a 2-D matrix B (k, n), got shape {b.shape}")
    return b.copy()


def check_packed_operand(a: np.ndarray, shape: tuple[int, int], dtype: np.dtype) -> None:
    """ValueError naming matmul_packed and the shapes unless ``a`` is (m, k) of the packed B's dtype, (k, n) = shape."""
    if a.ndim != 2 or a.shape[1] != shape[0] or a.dtype != dtype:
        raise ValueError(f"matmul_packed: expected a (m, {shape[0]}) {dtype} matrix against the packed B of shape "
                         f"{shape} ({dtype}), got shape {a.shape} ({a.dtype})")


def matmul_packed(a: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """out = a · B for B prepared by ``pack_b``: out[i, j] = Σ_p a[i, p] · B[p, j] (a of B's dtype)."""
    if not isinstance(packed, np.ndarray):  # the C backend's PackedB holds tiles' strips, not B
        raise ValueError(f"matmul_packed: B was packed by another backend ({type(packed).__name__}); "
                         "pack it again with the active backend's pack_b")
    check_packed_operand(a, packed.shape, packed.dtype)
    return np.matmul(a, packed)


# ---- convolution: im2col / col2im ---------------------------------------------------
# The convolution and pooling kernels take any number of spatial dims: (H, W) with a (kh, kw)
# kernel, or (D, H, W) with a (kd, kh, kw) kernel (3-D; ``im2col`` is then often called vol2col).
# Every size argument has one entry per spatial dim. Only the 2-D kernels have C twins.


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length along one axis: ⌊(size + 2p − d(k − 1) − 1) / s⌋ + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _output_sizes(sizes: Sizes, kernel: Sizes, stride: Sizes, padding: Sizes, dilation: Sizes) -> Sizes:
    """``conv_output_size`` along every spatial dim."""
    return tuple(conv_output_size(*args) for args in zip(sizes, kernel, stride, padding, dilation))


def _windows(kernel: Sizes, out: Sizes, stride: Sizes, dilation: Sizes) -> Iterator[tuple[tuple, tuple]]:
    """(tap, window) for every kernel tap (i, j) (3-D: (a, i, j)), in row-major order.

    ``window`` indexes the input pixels that the tap sees, one per output position: along a dim with
    stride s and dilation d, output position o reads input position o·s + t·d for tap t, so the tap
    sees the strided slice t·d, t·d + s, …, t·d + s·(out − 1). In 2-D, for tap (i, j):
        x_padded[window] = x_padded[..., i·dh : i·dh + sh·(OH − 1) + 1 : sh, j·dw : j·dw + sw·(OW − 1) + 1 : sw]
    """
    slices = [[slice(t * d, t * d + s * (o - 1) + 1, s) for t in range(k)]  # per dim: tap t's slice, built once
              for k, o, s, d in zip(kernel, out, stride, dilation)]
    taps = itertools.product(*(range(k) for k in kernel))  # 2-D: (i, j) for i in range(kh) for j in range(kw)
    for tap, tap_slices in zip(taps, itertools.product(*slices)):
        yield tap, (Ellipsis, *tap_slices)


def _padded(x: np.ndarray, padding: Sizes, value: float = 0.0) -> np.ndarray:
    """x (N, C, *spatial) with ``padding[k]`` entries of ``value`` on both sides of spatial dim k."""
    return np.pad(x, ((0, 0), (0, 0), *((p, p) for p in padding)), constant_values=value)


def _unpadded(sizes: Sizes, padding: Sizes) -> tuple:
    """Index of the input's own pixels inside its padded copy."""
    return (Ellipsis, *(slice(p, p + n) for n, p in zip(sizes, padding)))


def im2col(x: np.ndarray, kernel_hw: Sizes, stride: Sizes, padding: Sizes, dilation: Sizes) -> np.ndarray:
    """Unfold (N, C, H, W) into columns (N, C·kh·kw, OH·OW); in 3-D (N, C, D, H, W) into
    (N, C·kd·kh·kw, OD·OH·OW).

    cols[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh·sh + i·dh, ow·sw + j·dw]   (one more index per dim)
    """
    N, C = x.shape[:2]
    out = _output_sizes(x.shape[2:], kernel_hw, stride, padding, dilation)
    xp = _padded(x, padding)
    cols = np.empty((N, C, *kernel_hw, *out), dtype=x.dtype)
    for tap, window in _windows(kernel_hw, out, stride, dilation):
        cols[(slice(None), slice(None), *tap)] = xp[window]
    return cols.reshape(N, C * math.prod(kernel_hw), math.prod(out))


def col2im(cols: np.ndarray, input_shape: tuple[int, ...], kernel_hw: Sizes, stride: Sizes,
           padding: Sizes, dilation: Sizes) -> np.ndarray:
    """Fold columns (N, C·kh·kw, OH·OW) back to input_shape (N, C, H, W) (or their 3-D versions),
    summing overlapping taps.

    The adjoint of ``im2col``: every input pixel receives the sum of the columns entries
    it was copied into.
    """
    N, C, *sizes = input_shape
    out = _output_sizes(sizes, kernel_hw, stride, padding, dilation)
    cols = cols.reshape(N, C, *kernel_hw, *out)
    xp = np.zeros((N, C, *(n + 2 * p for n, p in zip(sizes, padding))), dtype=cols.dtype)
    for tap, window in _windows(kernel_hw, out, stride, dilation):
        xp[window] += cols[(slice(None), slice(None), *tap)]
    return xp[_unpadded(sizes, padding)]


# Grouped convolution (G = groups): the C input and O output channels are cut into G blocks, and
# output block k sees input block k only, through weight block k (w: (O, C/G, kh, kw)). im2col
# orders the column rows (c, i, j) with c outermost, so the rows of input block k are block k of
# the K = C·kh·kw rows: every product below is the groups = 1 product done per block, as one
# batched matmul over a group axis. G = 1 is the plain convolution.


def check_groups(op: str, groups: int, channels: tuple[int, ...], *shapes: tuple[int, ...]) -> None:
    """ValueError unless groups is a positive integer dividing every channel count given (also used by backend.c)."""
    if not isinstance(groups, int | np.integer) or groups < 1 or any(count % groups for count in channels):
        raise ValueError(f"{op}: groups={groups!r} must be a positive integer dividing the channel counts "
                         f"{channels} (shapes {', '.join(map(str, shapes))})")


def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """(N, R, P) -> (N, G, R/G, P): cut the row axis into the G channel blocks."""
    N, R, P = a.shape
    return a.reshape(N, groups, R // groups, P)


def conv2d(x: np.ndarray, w: np.ndarray, stride: Sizes, padding: Sizes, dilation: Sizes, groups: int = 1) -> np.ndarray:
    """2-D cross-correlation (PyTorch's conv2d, no bias), with G = groups channel groups; the same
    code is the 3-D one (conv3d) for x (N, C, D, H, W) and w (O, C/G, kd, kh, kw).

    y[n, o, oh, ow] = Σ_{c,i,j} w[o, c, i, j] · x_padded[n, k·C/G + c, oh·sh + i·dh, ow·sw + j·dw]
    (k = o // (O/G): the group of output channel o; c runs over the C/G channels of one group)
    computed per group k as  y_k = W_k (O/G, K/G) @ im2col(x)_k (N, K/G, OH·OW),  K = C·kh·kw.
    """
    N = x.shape[0]
    O, _, *kernel = w.shape
    check_groups("conv2d", groups, (x.shape[1], O), x.shape, w.shape)
    cols = _grouped(im2col(x, kernel, stride, padding, dilation), groups)  # (N, G, K/G, P)
    y = np.matmul(w.reshape(groups, O // groups, -1), cols)  # (G, O/G, K/G) @ (N, G, K/G, P)
    return y.reshape(N, O, *_output_sizes(x.shape[2:], kernel, stride, padding, dilation))


def conv2d_grad_input(gy: np.ndarray, w: np.ndarray, input_hw: Sizes, stride: Sizes, padding: Sizes,
                      dilation: Sizes, groups: int = 1) -> np.ndarray:
    """∂L/∂x of ``conv2d``: col2im(W_kᵀ @ gy_k) per group k, a transposed convolution of gy by w."""
    N, O = gy.shape[:2]
    _, Cg, *kernel = w.shape
    check_groups("conv2d_grad_input", groups, (O,), gy.shape, w.shape)
    w_t = w.reshape(groups, O // groups, -1).transpose(0, 2, 1)  # (G, K/G, O/G)
    gcols = np.matmul(w_t, _grouped(gy.reshape(N, O, -1), groups))  # (N, G, K/G, P)
    return col2im(gcols.reshape(N, -1, gcols.shape[-1]), (N, Cg * groups, *input_hw), kernel, stride, padding,
                  dilation)


def conv2d_grad_weight(x: np.ndarray, gy: np.ndarray, kernel_hw: Sizes, stride: Sizes, padding: Sizes,
                       dilation: Sizes, groups: int = 1) -> np.ndarray:
    """∂L/∂w of ``conv2d``: per group k, Σ_n gy_k[n] (O/G, OH·OW) @ im2col(x)_k[n]ᵀ (OH·OW, K/G)."""
    N, O = gy.shape[:2]
    C = x.shape[1]
    check_groups("conv2d_grad_weight", groups, (C, O), x.shape, gy.shape)
    cols = _grouped(im2col(x, kernel_hw, stride, padding, dilation), groups)  # (N, G, K/G, P)
    gy_groups = _grouped(gy.reshape(N, O, -1), groups)  # (N, G, O/G, P)
    gw = np.stack([np.tensordot(gy_groups[:, k], cols[:, k], axes=([0, 2], [0, 2])) for k in range(groups)])
    return gw.reshape(O, C // groups, *kernel_hw)


# ---- pooling (2-D, and 3-D by the same code) ------------------------------------------------


def max_pool2d(x: np.ndarray, kernel_hw: Sizes, stride: Sizes, padding: Sizes,
               dilation: Sizes = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling; returns (y, indices) like PyTorch's ``return_indices=True`` (3-D: max_pool3d).

    y[n, c, oh, ow] = max_{i,j} x_padded[n, c, oh·sh + i·dh, ow·sw + j·dw]   (padding = −∞)
    indices[n, c, oh, ow] = the flat position h·W + w (3-D: (d·H + h)·W + w), in the unpadded
    input, of that max (the first one on ties, scanning taps in row-major order).
    """
    N, C, *sizes = x.shape
    out = _output_sizes(sizes, kernel_hw, stride, padding, dilation)
    xp = _padded(x, padding, -np.inf)
    y = np.full((N, C, *out), -np.inf, dtype=x.dtype)
    best_tap = np.zeros((N, C, *out), dtype=np.int64)
    for t, (_, window) in enumerate(_windows(kernel_hw, out, stride, dilation)):
        candidate = xp[window]
        better = (candidate > y) | np.isnan(candidate)  # NaN wins, as in PyTorch
        y = np.where(better, candidate, y)
        best_tap = np.where(better, t, best_tap)
    # the winner of output (oh, ow) is tap (i, j): input row oh·sh − ph + i·dh, column ow·sw − pw + j·dw,
    # flattened row-major: row·W + column (3-D: (plane·H + row)·W + column)
    taps = np.unravel_index(best_tap, tuple(kernel_hw))  # (i, j) of every winner
    indices = np.zeros((), dtype=np.int64)
    for k, (size, o, s, p, d) in enumerate(zip(sizes, out, stride, padding, dilation)):
        start = (np.arange(o) * s - p).reshape((o,) + (1,) * (len(out) - 1 - k))  # oh·sh − ph along dim k
        indices = indices * size + start + taps[k] * d
    return y, indices


def max_pool2d_grad(gy: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """∂L/∂x of max pooling: each gy element goes to the input position that won its window.

    gx[n, c, p] = Σ_{(oh, ow) : indices[n, c, oh, ow] = p} gy[n, c, oh, ow]
    """
    N, C = input_shape[:2]
    volume = math.prod(input_shape[2:])
    plane = np.arange(N * C).reshape(N, C, *(1,) * (indices.ndim - 2)) * volume
    gx = np.bincount((indices + plane).ravel(), weights=gy.ravel(), minlength=N * C * volume)
    return gx.astype(gy.dtype, copy=False).reshape(input_shape)


def _avg_divisor(input_hw: Sizes, kernel_hw: Sizes, stride: Sizes, padding: Sizes,
                 count_include_pad: bool, dtype: np.dtype) -> np.ndarray | int:
    """How many elements each average-pooling window divides by."""
    if count_include_pad:
        return math.prod(kernel_hw)
    ones = np.ones((1, 1, *input_hw), dtype=dtype)
    return sum_pool2d(ones, kernel_hw, stride, padding)


def sum_pool2d(x: np.ndarray, kernel_hw: Sizes, stride: Sizes, padding: Sizes) -> np.ndarray:
    """Window sums with zero padding: y[n, c, oh, ow] = Σ_{i,j} x_padded[n, c, oh·sh + i, ow·sw + j]."""
    ones = (1,) * len(kernel_hw)
    out = _output_sizes(x.shape[2:], kernel_hw, stride, padding, ones)
    xp = _padded(x, padding)
    y = np.zeros((*x.shape[:2], *out), dtype=x.dtype)
    for _, window in _windows(kernel_hw, out, stride, ones):
        y += xp[window]
    return y


def avg_pool2d(x: np.ndarray, kernel_hw: Sizes, stride: Sizes, padding: Sizes,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling: y = (window sum) / (kh·kw, or the count of real pixels in the window)."""
    divisor = _avg_divisor(x.shape[2:], kernel_hw, stride, padding, count_include_pad, x.dtype)
    return (sum_pool2d(x, kernel_hw, stride, padding) / divisor).astype(x.dtype, copy=False)


def avg_pool2d_grad(gy: np.ndarray, input_shape: tuple[int, ...], kernel_hw: Sizes, stride: Sizes,
                    padding: Sizes, count_include_pad: bool = True) -> np.ndarray:
    """∂L/∂x of average pooling: each window spreads gy / divisor evenly over its pixels."""
    N, C, *sizes = input_shape
    out, ones = gy.shape[2:], (1,) * len(kernel_hw)
    share = gy / _avg_divisor(sizes, kernel_hw, stride, padding, count_include_pad, gy.dtype)
    gxp = np.zeros((N, C, *(n + 2 * p for n, p in zip(sizes, padding))), dtype=gy.dtype)
    for _, window in _windows(kernel_hw, out, stride, ones):
        gxp[window] += share
    return gxp[_unpadded(sizes, padding)]


# ---- int8 GEMM (csrc/qgemm.c) ----
# Post-training int8 inference (tinygrad_edu/compress/quantize.py): weights are int8 with one
# float scale per output channel, the input is quantised per call with one scale, the products
# are summed exactly in int32 and the sum is rescaled to float32. Every step is spelled out, so
# the C kernels must give the same bits.

QGEMM_MAX_K = 65536  # the longest sum that stays exact in int32 (C adds 128 to B: 65536·255·128 < 2³¹)


def quantize_activations(x: np.ndarray, inv_scale: float) -> np.ndarray:
    """q = clip(rint(x · inv_scale), −127, 127) as int8 (float32 product; rint: ties to even)."""
    return np.clip(np.rint(x * np.float32(inv_scale)), -127, 127).astype(np.int8)


def check_qgemm_operands(a: np.ndarray, b: np.ndarray) -> None:
    """ValueError unless a, b are int8 matrices (m, k), (k, n) with k ≤ QGEMM_MAX_K."""
    if a.dtype != np.int8 or b.dtype != np.int8:
        raise ValueError(f"qgemm: operands must be int8, got {a.dtype} {a.shape} and {b.dtype} {b.shape}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"qgemm: expected (m, k) and (k, n) matrices, got shapes {a.shape} and {b.shape}")
    if a.shape[1] > QGEMM_MAX_K:
        raise ValueError(f"qgemm: k = {a.shape[1]} > {QGEMM_MAX_K} terms may overflow int32; "
                         f"shapes {a.shape} and {b.shape}")


def qgemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int8 (m, k) · int8 (k, n) -> int32 (m, n), exact: c[i, j] = Σ_p a[i, p] · b[p, j]."""
    check_qgemm_operands(a, b)
    return _int_matmul(a, b)


def _int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ_p a[..., i, p] · b[..., p, j] in int32 (NumPy broadcasts the batch axes)."""
    return np.matmul(a.astype(np.int32), b.astype(np.int32))


def _rescale(acc: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """y = float32(acc) · scale + bias, channel axis last, two float32 roundings (no fused multiply-add)."""
    y = acc.astype(np.float32) * scale
    return y if bias is None else y + bias


def qconv2d(x: np.ndarray, inv_scale: float, w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None,
            stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """int8 convolution of a float32 input x (N, C, H, W) by int8 weights w (O, C, kh, kw):

        q = quantize_activations(x, inv_scale)
        acc[n, o, oh, ow] = Σ_{c,i,j} w[o, c, i, j] · q_padded[n, c, oh·sh + i·dh, ow·sw + j·dw]   (int32)
        y = float32(acc) · scale[o] + bias[o]

    scale[o] = (input scale) · (weight scale of channel o), float32; bias float32 or None.
    """
    N, O = x.shape[0], w.shape[0]
    cols = im2col(quantize_activations(x, inv_scale), w.shape[2:], stride, padding, dilation)  # (N, K, P)
    acc = _int_matmul(w.reshape(O, -1), cols)  # (O, K) · (N, K, P) -> (N, O, P), broadcast over N
    y = _rescale(acc.transpose(0, 2, 1), scale, bias).transpose(0, 2, 1)
    OH = conv_output_size(x.shape[2], w.shape[2], stride[0], padding[0], dilation[0])
    OW = conv_output_size(x.shape[3], w.shape[3], stride[1], padding[1], dilation[1])
    return np.ascontiguousarray(y).reshape(N, O, OH, OW)


def qlinear(x: np.ndarray, inv_scale: float, w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """int8 linear layer of a float32 input x (M, K) by int8 weights w (N, K):

        y[m, n] = float(Σ_k quantize_activations(x, inv_scale)[m, k] · w[n, k]) · scale[n] + bias[n]
    """
    return _rescale(_int_matmul(quantize_activations(x, inv_scale), w.T), scale, bias)
# ---- end of int8 GEMM ----


# ---- fused softmax-cross-entropy and bias+activation (csrc/fused.c) ----
# The chains of NumPy calls that csrc/fused.c replaces by one pass each. ops/loss.py
# (CrossEntropy), ops/linalg.py (Linear) and ops/activation.py (ReLU) call them through
# the backend; the C versions must give the same numbers.

ACTIVATIONS = ("none", "relu")


def check_activation(op: str, activation: str) -> None:
    """Raise ValueError naming ``op`` unless ``activation`` is one of ACTIVATIONS (both backends check it)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {ACTIVATIONS}, got {activation!r}")


def check_cross_entropy_args(op: str, x: np.ndarray, target: np.ndarray, weight: np.ndarray) -> None:
    """Raise ValueError naming ``op`` unless x is (N, C) float, target (N,) integer, weight (C,) of x's dtype."""
    if x.ndim != 2 or target.shape != x.shape[:1] or weight.shape != x.shape[1:]:
        raise ValueError(f"{op}: expected logits (N, C), targets (N,) and class weights (C,); got shapes "
                         f"{x.shape}, {target.shape} and {weight.shape}")
    if x.dtype.kind != "f" or weight.dtype != x.dtype or target.dtype.kind not in "iu":  # float16 too (no C kernel)
        raise ValueError(f"{op}: expected float32/float64 (or float16) logits and weights of one dtype and integer "
                         f"targets; got {x.dtype}, {weight.dtype} and {target.dtype}")


def target_range_error(op: str, classes: int) -> IndexError:
    """The error for a target that is neither a class index nor ``ignore_index``."""
    return IndexError(f"{op}: target class out of range [0, {classes}) (and not ignore_index)")


def _kept_targets(op: str, target: np.ndarray, classes: int, ignore_index: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the rows that count, target with ignored rows set to class 0)."""
    keep = target != ignore_index
    if np.any(keep & ((target < 0) | (target >= classes))):
        raise target_range_error(op, classes)
    return keep, np.where(keep, target, 0)


def cross_entropy(x: np.ndarray, target: np.ndarray, weight: np.ndarray, ignore_index: int,
                  label_smoothing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Softmax-cross-entropy of logits x (N, C) against class indices t (N,), per row.

    p_ic   = e^(x_ic − m_i) / Σ_c' e^(x_ic' − m_i),   m_i = max_c x_ic     (every exponent ≤ 0: stable)
    loss_i = (1 − ε)·w[t_i]·(lse_i − x_i[t_i]) + (ε/C)·Σ_c w_c·(lse_i − x_ic),   lse_i = m_i + log Σ_c e^(x_ic − m_i)
    with ε = label_smoothing (lse_i − x_ic = −log p_ic). Rows with t_i = ignore_index give 0.
    Returns (loss, p, row_weight = w[t_i] or 0, totals = [Σ_i loss_i, Σ_i row_weight_i]): the
    softmax p is what the backward needs; totals (float64, summed before loss is rounded to x's
    dtype) are the sum of reduction='sum' and the numerator and divisor of 'mean'. lse is float64
    whatever x's dtype: with float32 logits near 1e4, lse − x rounded to float32 would lose three
    digits of the loss.
    """
    check_cross_entropy_args("cross_entropy", x, target, weight)
    keep, t = _kept_targets("cross_entropy", target, x.shape[1], ignore_index)
    m = np.max(x, axis=1, keepdims=True, initial=-np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):  # a row holding ±inf is nan, as in C and PyTorch
        e = np.exp(x - m)
        total = np.sum(e, axis=1, keepdims=True, dtype=np.float64)
        neg_log_p = m + np.log(total) - x
    row_weight = np.where(keep, weight[t], 0)
    loss = (1 - label_smoothing) * row_weight * neg_log_p[np.arange(x.shape[0]), t]
    if label_smoothing:
        loss = loss + label_smoothing / x.shape[1] * (neg_log_p * weight).sum(axis=1)
    loss = np.where(keep, loss, 0)
    totals = np.array([loss.sum(), row_weight.sum(dtype=np.float64)])
    return loss.astype(x.dtype), (e / total).astype(x.dtype), row_weight, totals


def cross_entropy_grad(p: np.ndarray, target: np.ndarray, weight: np.ndarray, scale: np.ndarray, ignore_index: int,
                       label_smoothing: float) -> np.ndarray:
    r"""∂L/∂x of ``cross_entropy`` from its softmax p, given scale_i = ∂L/∂loss_i:

    ∂L/∂x_ic = scale_i·((1 − ε)·w[t_i]·(p_ic − [c = t_i]) + (ε/C)·(W·p_ic − w_c)),  W = Σ_c w_c
    (0 on ignored rows).
    """
    check_cross_entropy_args("cross_entropy_grad", p, target, weight)
    keep, t = _kept_targets("cross_entropy_grad", target, p.shape[1], ignore_index)
    onehot = np.zeros_like(p)
    onehot[np.arange(p.shape[0]), t] = 1
    grad = (1 - label_smoothing) * weight[t][:, None] * (p - onehot)
    if label_smoothing:
        grad = grad + label_smoothing / p.shape[1] * (weight.sum() * p - weight)
    return np.where(keep[:, None], scale[:, None] * grad, 0).astype(p.dtype, copy=False)


def bias_act(x: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    """y = act(x + b), b broadcast along the last dim (None: no bias); act(v) = v or max(v, 0).

    ReLU as PyTorch: only v < 0 becomes 0, so −0 stays −0 and NaN stays NaN.
    """
    check_activation("bias_act", activation)
    y = x if bias is None else x + bias
    if activation != "relu":
        return y
    out = np.maximum(y, 0, out=np.empty_like(y))
    np.copyto(out, y, where=y == 0)  # np.maximum(−0, 0) may give +0 (np.where(y < 0, 0, y) is exact but ~10x slower)
    return out


def act_grad(g: np.ndarray, y: np.ndarray, activation: str, bias_grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """gx = g ⊙ act'(y), and Σ of gx over all but the last dim if ``bias_grad``.

    ReLU: act'(y) = 0 where y ≤ 0 (slope 0 at 0), else 1; y = NaN passes g, as PyTorch's threshold_backward.
    Written as a product with the 0/1 mask (np.where on a random mask is ~15x slower), so an
    infinite or NaN g where y ≤ 0 gives NaN here, and 0 in C and PyTorch.
    """
    check_activation("act_grad", activation)
    gx = g * ~(y <= 0) if activation == "relu" else g
    return gx, (gx.reshape(-1, gx.shape[-1]).sum(axis=0) if bias_grad else None)


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    """y = act(x wᵀ + b) for x (…, in), w (out, in), b (out,) or None."""
    check_activation("linear", activation)
    return bias_act(np.matmul(x, w.T), bias, activation)


# ---- end of fused softmax-cross-entropy and bias+activation ----


# ---- LSTM cell (csrc/lstm.c) ----


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)); e^(−x) may overflow to inf for x ≪ 0, which gives the right limit 0."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _gate_blocks(a: np.ndarray, count: int) -> list[np.ndarray]:
    """The columns of a (B, count·H) in ``count`` blocks of H, e.g. [i | f | g | o]: views, as
    ``np.split(a, count, axis=1)`` gives, by slicing (np.split costs ~5 µs a call, slices < 1 µs)."""
    width, rest = divmod(a.shape[1], count)
    if rest:
        raise ValueError(f"expected {count} gate blocks of equal width, got an array of shape {a.shape}")
    return [a[:, k * width : (k + 1) * width] for k in range(count)]


# The arrays of each cell, ``out``'s first, then the inputs (C: the order of csrc/lstm.c's checks).
LSTM_CELL_NAMES = ("out's h", "out's c", "out's acts", "out's tanh_c", "gates", "gates_x", "bias", "c_prev")
LSTM_CELL_BACKWARD_NAMES = ("out's ∂L/∂gates", "out's ∂L/∂c_prev", "dh", "dc", "acts", "c_prev", "tanh_c")
GRU_CELL_NAMES = ("out's h", "out's acts", "gates_x", "bias_x", "gates_h", "bias_h", "h_prev")
GRU_CELL_BACKWARD_NAMES = ("out's ∂L/∂gates_x", "out's ∂L/∂gates_h", "out's ∂L/∂h_prev", "dh", "acts", "gates_h",
                           "bias_h", "h_prev")


def _same_elements(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether a and b are the same memory, element for element: the same start, dtype and layout
    (shape and strides, or both C-contiguous and as long: csrc's test, same start and same length)."""
    if a.dtype != b.dtype or a.__array_interface__["data"][0] != b.__array_interface__["data"][0]:
        return False
    return (a.shape == b.shape and a.strides == b.strides) or (
        a.flags.c_contiguous and b.flags.c_contiguous and a.nbytes == b.nbytes)


def _memory_owner(a: np.ndarray) -> np.ndarray | None:
    """The array that allocated a's memory (NumPy points a view's ``.base`` straight at it), or None when
    a's memory comes from elsewhere (a bytes object, an mmap, ...) and nothing is known about it."""
    base = a.base
    if base is None:  # a allocated its memory itself, or wraps memory NumPy knows nothing of
        return a if a.flags.owndata else None
    return base if isinstance(base, np.ndarray) and base.flags.owndata else None


def check_out_apart(op: str, out: tuple[np.ndarray | None, ...], inputs: tuple[np.ndarray | None, ...],
                    names: tuple[str, ...], in_place: bool = False) -> None:
    """ValueError naming ``op`` and both arrays if an array the op writes (``out``) may share memory with
    an input or with another written array; None is an absent array, ``names`` names out's arrays, then
    the inputs. With ``in_place``, an output may be exactly an input (``_same_elements``): the op then
    computes in place, each element from the same element of that input.

    Every kernel with ``out=`` (or that updates arrays in place) follows this rule, on both backends:
    the backward cells read every input while they write the outputs (C declares all their arrays
    restrict, and here too a later line reads what an earlier one wrote), so any overlap is refused;
    the forward cells allow exact in-place use, as PyTorch does for out=, and refuse a partial overlap
    as PyTorch does ("some elements of the input tensor and the written-to tensor refer to a single
    memory location"); the optimiser updates refuse any alias (``check_update_arrays``).
    ``np.may_share_memory`` compares memory bounds: exact for contiguous arrays; two strided views that
    interleave without a common element are refused too. The C kernels make the same check themselves
    (status 4) on the arrays they are given, and their adapters call this function to name the pair, or
    call it first when they had to copy a strided input (C cannot see the caller's array then).
    """
    arrays = (*out, *inputs)
    # Arrays allocated separately cannot overlap: only pairs of one owner (or of unknown ones) are compared,
    # which saves most of the ~0.3 µs np.may_share_memory calls (this runs at every step of a recurrent layer).
    owners = [None if a is None else _memory_owner(a) for a in arrays]
    for k, a in enumerate(out):
        if a is None:
            continue
        owner_a = owners[k]
        for j in range(k + 1, len(arrays)):  # each pair once: the later outputs, then the inputs
            b, owner_b = arrays[j], owners[j]
            if b is None or (owner_a is not owner_b and owner_a is not None and owner_b is not None):
                continue
            if not np.may_share_memory(a, b):
                continue
            if j < len(out):
                why = "(both are written)"
            elif not in_place:
                why = "(the kernel reads its inputs while it writes its outputs)"
            elif _same_elements(a, b):
                continue
            else:
                why = "unless it is that same array (in place): some of their elements refer to one memory location"
            raise ValueError(f"{op}: {names[k]} must not share memory with {names[j]} {why}")


def lstm_cell(gates: np.ndarray, c_prev: np.ndarray,
              out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
              gates_x: np.ndarray | None = None, bias: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    r"""One LSTM step from its gate pre-activations z = x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh.

    gates (B, 4H) holds z in PyTorch's order [z_i | z_f | z_g | z_o]; c_prev is (B, H).
    ``gates_x`` (B, 4H) and ``bias`` (4H,), when given, are added to gates first (the LSTM
    layer passes h_prev W_hhᵀ, this step's x W_ihᵀ and b_ih + b_hh separately; C sums them
    inside its one pass):

        z = gates + gates_x + bias
        i = σ(z_i),  f = σ(z_f),  g = tanh(z_g),  o = σ(z_o)
        c = f ⊙ c_prev + i ⊙ g
        h = o ⊙ tanh(c)

    Returns ``(h, c, acts, tanh_c)``: acts = [i | f | g | o] (B, 4H) and tanh_c = tanh(c) are
    what ``lstm_cell_backward`` needs. ``out``, if given, receives the four results (the LSTM
    layer passes slices of its (T, B, ·) buffers, so nothing is copied afterwards): arrays that
    overlap no other argument, except that each may be exactly an input (in place, e.g. c_prev as c).
    """
    if out is not None:
        check_out_apart("lstm_cell", out, (gates, gates_x, bias, c_prev), LSTM_CELL_NAMES, in_place=True)
    gates = gates if gates_x is None else gates + gates_x
    gates = gates if bias is None else gates + bias
    H = c_prev.shape[-1]
    acts = np.empty(gates.shape, dtype=gates.dtype) if out is None else out[2]
    acts[:, : 2 * H] = _sigmoid(gates[:, : 2 * H])  # i, f
    acts[:, 2 * H : 3 * H] = np.tanh(gates[:, 2 * H : 3 * H])  # g
    acts[:, 3 * H :] = _sigmoid(gates[:, 3 * H :])  # o
    i, f, g, o = _gate_blocks(acts, 4)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    if out is None:
        return h, c, acts, tanh_c
    out[0][...], out[1][...], out[3][...] = h, c, tanh_c
    return out


def lstm_cell_backward(dh: np.ndarray, dc: np.ndarray, acts: np.ndarray, c_prev: np.ndarray, tanh_c: np.ndarray,
                       out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""The LSTM step backwards: (∂L/∂z, ∂L/∂c_prev) from dh = ∂L/∂h and dc = ∂L/∂c.

    With acts = [i | f | g | o] and tanh_c from ``lstm_cell`` (c depends on c_prev directly and
    h on c, so the gradient reaching c is the sum δc):

        δc        = dc + dh ⊙ o ⊙ (1 − tanh²c)
        ∂L/∂z_i   = δc ⊙ g ⊙ i(1 − i)           (σ' = σ(1 − σ))
        ∂L/∂z_f   = δc ⊙ c_prev ⊙ f(1 − f)
        ∂L/∂z_g   = δc ⊙ i ⊙ (1 − g²)           (tanh' = 1 − tanh²)
        ∂L/∂z_o   = dh ⊙ tanh c ⊙ o(1 − o)
        ∂L/∂c_prev = δc ⊙ f

    ``out``, if given, receives (∂L/∂z, ∂L/∂c_prev): two arrays that overlap no other argument.
    """
    if out is not None:
        check_out_apart("lstm_cell_backward", out, (dh, dc, acts, c_prev, tanh_c), LSTM_CELL_BACKWARD_NAMES)
    i, f, g, o = _gate_blocks(acts, 4)
    delta_c = dc + dh * o * (1 - tanh_c * tanh_c)
    parts = (delta_c * g * i * (1 - i), delta_c * c_prev * f * (1 - f), delta_c * i * (1 - g * g),
             dh * tanh_c * o * (1 - o))
    if out is None:
        return np.concatenate(parts, axis=1), delta_c * f
    np.concatenate(parts, axis=1, out=out[0])
    np.multiply(delta_c, f, out=out[1])
    return out


def gru_cell(gates_x: np.ndarray, gates_h: np.ndarray, h_prev: np.ndarray,
             out: tuple[np.ndarray, np.ndarray] | None = None, bias_x: np.ndarray | None = None,
             bias_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""One GRU step from gates_x = x W_ihᵀ and gates_h = h_prev W_hhᵀ (B, 3H, order r, z, n).

    ``bias_x`` = b_ih and ``bias_h`` = b_hh (3H,), when given, are added first (the GRU layer
    passes them separately; C adds them inside its one pass):

        x̂ = gates_x + bias_x,  ĥ = gates_h + bias_h
        r = σ(x̂_r + ĥ_r),  z = σ(x̂_z + ĥ_z),  n = tanh(x̂_n + r ⊙ ĥ_n)
        h = (1 − z) ⊙ n + z ⊙ h_prev

    Returns ``(h, acts)`` with acts = [r | z | n] (B, 3H), what ``gru_cell_backward`` needs;
    ``out``, if given, receives them: arrays that overlap no other argument, except that each may be
    exactly an input (in place, e.g. h_prev as h).
    """
    if out is not None:
        check_out_apart("gru_cell", out, (gates_x, bias_x, gates_h, bias_h, h_prev), GRU_CELL_NAMES, in_place=True)
    gates_x = gates_x if bias_x is None else gates_x + bias_x
    gates_h = gates_h if bias_h is None else gates_h + bias_h
    H = h_prev.shape[-1]
    x_r, x_z, x_n = _gate_blocks(gates_x, 3)
    h_r, h_z, h_n = _gate_blocks(gates_h, 3)
    r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    acts = np.empty((h_prev.shape[0], 3 * H), dtype=gates_x.dtype) if out is None else out[1]
    acts[:, :H], acts[:, H : 2 * H], acts[:, 2 * H :] = r, z, n
    h = (1 - z) * n + z * h_prev
    if out is None:
        return h, acts
    out[0][...] = h
    return out[0], acts


def gru_cell_backward(dh: np.ndarray, acts: np.ndarray, gates_h: np.ndarray, h_prev: np.ndarray,
                      out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                      bias_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The GRU step backwards: (∂L/∂gates_x, ∂L/∂gates_h, ∂L/∂h_prev) from dh = ∂L/∂h.

    With acts = [r | z | n] from ``gru_cell``, ĥ_n = gates_h_n + bias_h_n (the n block of
    ĥ = gates_h + b_hh) and δ· the gradients of the pre-activations:

        δn = dh ⊙ (1 − z) ⊙ (1 − n²)
        δz = dh ⊙ (h_prev − n) ⊙ z(1 − z)
        δr = δn ⊙ ĥ_n ⊙ r(1 − r)
        ∂L/∂gates_x = [δr | δz | δn],   ∂L/∂gates_h = [δr | δz | δn ⊙ r],   ∂L/∂h_prev = dh ⊙ z

    (∂L/∂h_prev here is the direct path only; the one through gates_h = h_prev W_hhᵀ is the
    caller's matrix product.) The gradients w.r.t. the biases equal those w.r.t. gates_x and
    gates_h. ``out``, if given, receives the three results: arrays that overlap no other argument.
    """
    if out is not None:
        check_out_apart("gru_cell_backward", out, (dh, acts, gates_h, bias_h, h_prev), GRU_CELL_BACKWARD_NAMES)
    r, z, n = _gate_blocks(acts, 3)
    h_n = _gate_blocks(gates_h, 3)[2]
    h_n = h_n if bias_h is None else h_n + bias_h[2 * h_n.shape[1] :]
    delta_n = dh * (1 - z) * (1 - n * n)
    delta_z = dh * (h_prev - n) * z * (1 - z)
    delta_r = delta_n * h_n * r * (1 - r)
    d_gates_x, d_gates_h, dh_prev = (None, None, None) if out is None else out
    return (np.concatenate([delta_r, delta_z, delta_n], axis=1, out=d_gates_x),
            np.concatenate([delta_r, delta_z, delta_n * r], axis=1, out=d_gates_h),
            np.multiply(dh, z, out=dh_prev))


# ---- end of LSTM cell ----


# ---- optimiser updates (csrc/optim.c) ----
# One step of an optimiser on one parameter, in place on ``param`` and its state buffers (the
# gradient is only read). The algorithms, with their symbols, are the class docstrings of
# tinygrad_edu/optim/{sgd,adam,rmsprop,adagrad,adadelta,adamax,nadam,radam,rprop,asgd}.py; each line below
# is one line of them.
# Optional state buffers are None when their option is off. NumPy runs every line as its own
# pass over the array; csrc/optim.c runs them all in one pass, with the same roundings, which is
# why no two of the arrays may share memory (check_update_arrays).


# The arrays of each update, the written ones first (param, then the state buffers in the order of the
# signature), the gradient last (C: the order of csrc/optim_typed.inc's checks).
UPDATE_NAMES = {"sgd_update": ("param", "momentum_buffer", "grad"),
                "adam_update": ("param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "grad"),
                "rmsprop_update": ("param", "square_avg", "grad_avg", "momentum_buffer", "grad"),
                "adagrad_update": ("param", "state_sum", "grad"),
                "adadelta_update": ("param", "square_avg", "acc_delta", "grad"),
                "adamax_update": ("param", "exp_avg", "exp_inf", "grad"),
                "nadam_update": ("param", "exp_avg", "exp_avg_sq", "grad"),
                "radam_update": ("param", "exp_avg", "exp_avg_sq", "grad"),
                "rprop_update": ("param", "prev", "step_size", "grad"),
                "asgd_update": ("param", "ax", "grad")}


def check_update_arrays(op: str, param: np.ndarray, grad: np.ndarray, *state: np.ndarray | None) -> None:
    """ValueError naming ``op`` unless param is a writeable float array and grad and every state
    buffer (None = absent) have its shape and dtype, the state buffers writeable too, and no two of
    them share memory (``check_out_apart``: each line below is a pass over whole arrays, C's loop one
    pass over elements, so an alias, even an exact one such as grad given as exp_avg, would make the
    two compute different things; PyTorch's optimisers never see one)."""
    shape, dtype = param.shape, param.dtype
    if dtype.kind != "f" or not param.flags.writeable:
        raise ValueError(f"{op}: the parameter must be a writeable floating-point array, got {dtype}"
                         f"{'' if param.flags.writeable else ' (read-only)'}")
    for array in (grad, *state):
        if array is not None and (array.shape != shape or array.dtype != dtype):
            raise ValueError(f"{op}: every array must match the parameter {shape} {dtype}, "
                             f"got {array.shape} {array.dtype}")
        if array is not grad and array is not None and not array.flags.writeable:
            raise ValueError(f"{op}: a state buffer is read-only")
    check_out_apart(op, (param, *state), (grad,), UPDATE_NAMES[op])


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start ← start + weight·(end − start), in place: the running average (1−w)·start + w·end.

    Written as ``torch.lerp_`` computes it (from the nearer end when weight ≥ 0.5), so that the
    moving averages of Adam and centered RMSprop round exactly like PyTorch's.
    """
    difference = end - start
    if abs(weight) < 0.5:
        difference *= weight
        start += difference
    else:
        difference *= weight - 1.0
        np.add(end, difference, out=start)


# The first lines shared by the updates: the gradient (negated if maximize) with the weight decay λ,
# and Adam's two moments (Adam, NAdam, RAdam).


def _signed_decayed_gradient(param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool) -> np.ndarray:
    """g_t ← ±∇f (− if maximize), then g_t ← g_t + λ θ_{t−1} if λ ≠ 0 (the L2 penalty's gradient)."""
    g = -grad if maximize else grad
    return g + weight_decay * param if weight_decay != 0 else g


def _decay_weights(param: np.ndarray, grad: np.ndarray, lr: float, weight_decay: float, decoupled: bool,
                   maximize: bool) -> np.ndarray:
    """g_t, with λ as an L2 gradient or decoupled (θ ← θ (1 − γλ), AdamW): Adam's, NAdam's, RAdam's first lines."""
    if weight_decay != 0 and decoupled:
        param *= 1 - lr * weight_decay                              # θ_{t−1} ← θ_{t−1} − γ λ θ_{t−1}
        weight_decay = 0.0
    return _signed_decayed_gradient(param, grad, weight_decay, maximize)


def _update_moments(grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, beta1: float,
                    beta2: float) -> None:
    """m_t ← β₁ m_{t−1} + (1 − β₁) g_t and v_t ← β₂ v_{t−1} + (1 − β₂) g_t² (Adam's moments)."""
    lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad


def sgd_update(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, lr: float,
               momentum: float, dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
               first_step: bool) -> None:
    """SGD (optim/sgd.py); ``momentum_buffer`` None = no momentum; ``first_step``: b₁ ← g₁."""
    check_update_arrays("sgd_update", param, grad, momentum_buffer)
    g = _signed_decayed_gradient(param, grad, weight_decay, maximize)  # g_t ← ∇_θ f_t(θ_{t−1}) (+ λ θ_{t−1})
    if momentum_buffer is not None:
        b = momentum_buffer
        if first_step:
            b[...] = g                                              # b_1 ← g_1
        else:
            b *= momentum
            b += (1 - dampening) * g                                # b_t ← μ b_{t−1} + (1 − τ) g_t
        g = g + momentum * b if nesterov else b                     # g_t ← g_t + μ b_t   |   g_t ← b_t
    param -= lr * g                                                 # θ_t ← θ_{t−1} − γ g_t


def adam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                max_exp_avg_sq: np.ndarray | None, lr: float, beta1: float, beta2: float, eps: float,
                weight_decay: float, decoupled_weight_decay: bool, maximize: bool, step_size: float,
                bias_correction2_sqrt: float) -> None:
    """Adam / AdamW (optim/adam.py); ``max_exp_avg_sq`` None = no amsgrad.

    The caller computes this step's bias corrections once: step_size = γ / (1 − β₁ᵗ) and
    bias_correction2_sqrt = √(1 − β₂ᵗ). The last line is PyTorch's order of the update,
    θ ← θ − step_size · m_t / (√v_t / √(1 − β₂ᵗ) + ε), which rounds unlike a literal m̂/(√v̂ + ε).
    """
    check_update_arrays("adam_update", param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
    m, v = exp_avg, exp_avg_sq
    g = _decay_weights(param, grad, lr, weight_decay, decoupled_weight_decay, maximize)  # g_t; AdamW: θ_{t−1} (1 − γλ)
    _update_moments(g, m, v, beta1, beta2)                          # m_t, v_t
    if max_exp_avg_sq is not None:
        v = np.maximum(max_exp_avg_sq, v, out=max_exp_avg_sq)       # v_t^max ← max(v_{t−1}^max, v_t)
    denom = np.sqrt(v)
    denom /= bias_correction2_sqrt
    denom += eps                                                    # √v̂_t + ε = √v_t / √(1 − β₂ᵗ) + ε
    param -= step_size * m / denom                                  # θ_t ← θ_{t−1} − γ m̂_t / (√v̂_t + ε)


def rmsprop_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, grad_avg: np.ndarray | None,
                   momentum_buffer: np.ndarray | None, lr: float, alpha: float, eps: float, weight_decay: float,
                   momentum: float, maximize: bool) -> None:
    """RMSprop (optim/rmsprop.py); ``grad_avg`` None = not centered, ``momentum_buffer`` None = μ = 0."""
    check_update_arrays("rmsprop_update", param, grad, square_avg, grad_avg, momentum_buffer)
    v = square_avg
    g = _signed_decayed_gradient(param, grad, weight_decay, maximize)  # g_t ← ∇_θ f_t(θ_{t−1}) (+ λ θ_{t−1})
    v *= alpha
    v += (1 - alpha) * g * g                                        # v_t ← α v_{t−1} + (1 − α) g_t²
    if grad_avg is not None:
        lerp_(grad_avg, g, 1 - alpha)                               # g_t^ave ← α g_{t−1}^ave + (1 − α) g_t
        denom = np.sqrt(v - grad_avg * grad_avg)                    # √ṽ_t,  ṽ_t ← v_t − (g_t^ave)²
    else:
        denom = np.sqrt(v)                                          # √ṽ_t,  ṽ_t ← v_t
    denom += eps                                                    # √ṽ_t + ε
    if momentum_buffer is not None:
        b = momentum_buffer
        b *= momentum
        b += g / denom                                              # b_t ← μ b_{t−1} + g_t / (√ṽ_t + ε)
        param -= lr * b                                             # θ_t ← θ_{t−1} − γ b_t
    else:
        param -= lr * g / denom                                     # θ_t ← θ_{t−1} − γ g_t / (√ṽ_t + ε)


def adagrad_update(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, lr: float, eps: float,
                   weight_decay: float, maximize: bool) -> None:
    """Adagrad (optim/adagrad.py); ``lr`` is this step's decayed γ̃ = γ / (1 + (t − 1) η)."""
    check_update_arrays("adagrad_update", param, grad, state_sum)
    g = _signed_decayed_gradient(param, grad, weight_decay, maximize)  # g_t ← ∇_θ f_t(θ_{t−1}) (+ λ θ_{t−1})
    state_sum += g * g                                              # state_sum_t ← state_sum_{t−1} + g_t²
    denom = np.sqrt(state_sum)
    denom += eps                                                    # √state_sum_t + ε
    param -= lr * g / denom                                         # θ_t ← θ_{t−1} − γ̃ g_t / (√state_sum_t + ε)


# In the updates below (optim/{adadelta,adamax,nadam,radam,rprop,asgd}.py), products are grouped as
# PyTorch's in-place tensor ops group them (addcmul: s + c·(a·b) written (c·a)·b, addcdiv:
# s + c·(a/b)), so float64 runs agree with PyTorch's to the last bits.


def adadelta_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, acc_delta: np.ndarray, lr: float,
                    rho: float, eps: float, weight_decay: float, maximize: bool) -> None:
    """Adadelta (optim/adadelta.py)."""
    check_update_arrays("adadelta_update", param, grad, square_avg, acc_delta)
    g = _signed_decayed_gradient(param, grad, weight_decay, maximize)  # g_t (+ λ θ_{t−1})
    square_avg *= rho
    square_avg += (1 - rho) * g * g                                 # v_t ← ρ v_{t−1} + (1 − ρ) g_t²
    delta = np.sqrt(acc_delta + eps)
    delta /= np.sqrt(square_avg + eps)
    delta *= g                                                      # Δx_t ← √(u_{t−1} + ε) / √(v_t + ε) · g_t
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta                          # u_t ← ρ u_{t−1} + (1 − ρ) Δx_t²
    param -= lr * delta                                             # θ_t ← θ_{t−1} − γ Δx_t


def adamax_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_inf: np.ndarray, lr: float,
                  beta1: float, beta2: float, eps: float, weight_decay: float, maximize: bool,
                  bias_correction1: float) -> None:
    """Adamax (optim/adamax.py); ``bias_correction1`` = 1 − β₁ᵗ."""
    check_update_arrays("adamax_update", param, grad, exp_avg, exp_inf)
    g = _signed_decayed_gradient(param, grad, weight_decay, maximize)  # g_t (+ λ θ_{t−1})
    lerp_(exp_avg, g, 1 - beta1)                                    # m_t ← β₁ m_{t−1} + (1 − β₁) g_t
    exp_inf *= beta2
    np.maximum(exp_inf, np.abs(g) + eps, out=exp_inf)               # u_t ← max(β₂ u_{t−1}, |g_t| + ε)
    param -= lr / bias_correction1 * (exp_avg / exp_inf)            # θ_t ← θ_{t−1} − γ m_t / ((1 − β₁ᵗ) u_t)


def nadam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, lr: float,
                 beta1: float, beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
                 maximize: bool, bias_correction2: float, grad_coefficient: float, exp_avg_coefficient: float) -> None:
    """NAdam (optim/nadam.py). The caller gives this step's scalars: 1 − β₂ᵗ,
    grad_coefficient = γ (1 − μ_t) / (1 − Π_{i≤t} μ_i) and exp_avg_coefficient = γ μ_{t+1} / (1 − Π_{i≤t+1} μ_i)."""
    check_update_arrays("nadam_update", param, grad, exp_avg, exp_avg_sq)
    g = _decay_weights(param, grad, lr, weight_decay, decoupled_weight_decay, maximize)
    _update_moments(g, exp_avg, exp_avg_sq, beta1, beta2)          # m_t, v_t
    denom = np.sqrt(exp_avg_sq / bias_correction2)
    denom += eps                                                    # √v̂_t + ε,  v̂_t = v_t / (1 − β₂ᵗ)
    param -= grad_coefficient * (g / denom)                         # θ_t ← θ_{t−1} − γ (1−μ_t) g_t / ((1−Πμ)(√v̂_t+ε))
    param -= exp_avg_coefficient * (exp_avg / denom)                #   − γ μ_{t+1} m_t / ((1−Πμ μ_{t+1})(√v̂_t+ε))


def radam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, lr: float,
                 beta1: float, beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
                 maximize: bool, bias_correction1: float, bias_correction2: float, rect: float | None) -> None:
    """RAdam (optim/radam.py); ``rect`` = r_t when ρ_t > 5, None for the unrectified (SGD-with-momentum) step."""
    check_update_arrays("radam_update", param, grad, exp_avg, exp_avg_sq)
    g = _decay_weights(param, grad, lr, weight_decay, decoupled_weight_decay, maximize)
    _update_moments(g, exp_avg, exp_avg_sq, beta1, beta2)          # m_t, v_t
    step = exp_avg / bias_correction1 * lr                          # γ m̂_t,  m̂_t = m_t / (1 − β₁ᵗ)
    if rect is not None:
        adaptive_lr = bias_correction2**0.5 / (np.sqrt(exp_avg_sq) + eps)  # l_t = √(1 − β₂ᵗ) / (√v_t + ε)
        step *= adaptive_lr
        step *= rect                                                # θ_t ← θ_{t−1} − γ m̂_t l_t r_t
    param -= step                                                   # θ_t ← θ_{t−1} − γ m̂_t   (ρ_t ≤ 5)


def rprop_update(param: np.ndarray, grad: np.ndarray, prev: np.ndarray, step_size: np.ndarray, etaminus: float,
                 etaplus: float, step_size_min: float, step_size_max: float, maximize: bool) -> None:
    """Rprop (optim/rprop.py): ``prev`` is g_{t−1} (zeroed where the sign flipped), ``step_size`` η_{t−1}."""
    check_update_arrays("rprop_update", param, grad, prev, step_size)
    g = np.array(-grad if maximize else grad)                       # g_t ← ∇_θ f_t(θ_{t−1})  (a copy, 0-d too)
    factor = np.array(np.sign(g * prev))                            # sign of g_t g_{t−1}
    factor[factor > 0] = etaplus
    factor[factor < 0] = etaminus
    factor[factor == 0] = 1                                         # η⁺ if > 0, η⁻ if < 0, 1 if 0
    step_size *= factor
    np.clip(step_size, step_size_min, step_size_max, out=step_size)  # η_t ← clip(factor η_{t−1}, Γ_min, Γ_max)
    g[factor == etaminus] = 0                                       # g_t ← 0 where the sign flipped
    param -= np.sign(g) * step_size                                 # θ_t ← θ_{t−1} − η_t sign(g_t)
    prev[...] = g


def asgd_update(param: np.ndarray, grad: np.ndarray, ax: np.ndarray, lambd: float, eta: float, mu: np.ndarray,
                weight_decay: float, maximize: bool) -> None:
    """ASGD (optim/asgd.py); ``eta`` η_{t−1} and ``mu`` μ_{t−1} (a 0-d array: its dtype rounds as PyTorch's scalar
    state tensor does) are this step's values, which the caller then advances."""
    check_update_arrays("asgd_update", param, grad, ax)
    g = _signed_decayed_gradient(param, grad, weight_decay, maximize)  # g_t (+ λ θ_{t−1})
    param *= 1 - lambd * eta                                        # θ_t ← θ_{t−1} (1 − λ η_{t−1})
    param -= eta * g                                                # θ_t ← θ_t − η_{t−1} g_t
    if float(mu) != 1:
        ax += (param - ax) * mu                                     # ax_t ← ax_{t−1} + μ_{t−1} (θ_t − ax_{t−1})
    else:
        ax[...] = param                                             # ax_t ← θ_t


# ---- end of optimiser updates ----


# ---- elementwise special functions (csrc/elementwise.c) ----

_math_erf = np.frompyfunc(math.erf, 1, 1)


def erf(x: np.ndarray) -> np.ndarray:
    """y = erf x = (2/√π) ∫₀ˣ e^(−t²) dt elementwise, in x's dtype.

    NumPy has no erf; Python's math.erf is exact to double precision (one interpreter call
    per element: slow, but this is the reference).
    """
    return np.asarray(_math_erf(x), dtype=x.dtype)
# ---- end of elementwise special functions ----
