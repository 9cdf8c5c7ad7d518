"""The C kernels behind the same signatures as ``numpy_ref``: a thin cffi adapter.

This module owns every unsafe detail of calling C: it checks dtypes and shapes, makes
inputs C-contiguous, allocates outputs with NumPy (C never mallocs), passes pointers with
``ffi.from_buffer`` and turns a nonzero status into a Python exception. Importing it
raises ImportError when the extension ``tinygrad_edu._kernels`` was not built, and the
backend then stays on NumPy.
"""

from __future__ import annotations

import numpy as np

from .._kernels import ffi, lib  # ImportError here means: not built
from . import numpy_ref

# Kernels that have no C version yet run the reference; each line goes when its C twin lands.
from .numpy_ref import (  # noqa: F401
    matmul,
)

# ---- threads ---------------------------------------------------------------------------


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the parallel kernels (1 = the calling thread only)."""
    lib.tg_set_num_threads(int(n))


def get_num_threads() -> int:
    """How many threads the parallel kernels use."""
    return int(lib.tg_get_num_threads())


# ---- convolution and pooling (csrc/conv.c, csrc/pool.c) ---------------------------------
# Every check happens here, before C runs: a bad shape raises ValueError naming the op and
# the shapes, and C is only ever handed sizes it can index safely (it re-checks them anyway
# and returns a nonzero status, which _raise_on turns into an exception).

Pair = numpy_ref.Pair
_CTYPE_AND_SUFFIX = {np.dtype(np.float32): ("float[]", "_f32"), np.dtype(np.float64): ("double[]", "_f64")}


def _float_kind(op: str, *arrays: np.ndarray) -> tuple[str, str]:
    """The cffi pointer type and kernel suffix for the arrays' common dtype (float32/float64)."""
    dtype = arrays[0].dtype
    if dtype not in _CTYPE_AND_SUFFIX or any(a.dtype != dtype for a in arrays):
        raise ValueError(f"{op}: expected float32 or float64 arrays of one dtype, got {[a.dtype for a in arrays]}")
    return _CTYPE_AND_SUFFIX[dtype]


def _check_4d(op: str, **arrays: np.ndarray) -> None:
    for label, a in arrays.items():
        if a.ndim != 4:
            raise ValueError(f"{op}: {label} must be 4-D (N, C, H, W), got shape {a.shape}")


def _check_window(op: str, input_hw: Pair, kernel_hw: Pair, stride: Pair, padding: Pair,
                  dilation: Pair) -> Pair:
    """Validate the window arguments and return the output size (OH, OW) (``numpy_ref.conv_output_size``)."""
    try:  # unpacked by hand: this runs on every call, and zip/generators cost a microsecond
        (H, W), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = input_hw, kernel_hw, stride, padding, dilation
    except (TypeError, ValueError):
        raise ValueError(f"{op}: input size, kernel, stride, padding and dilation must be (h, w) pairs, got "
                         f"{input_hw}, {kernel_hw}, {stride}, {padding}, {dilation}") from None
    if kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0 or dh < 1 or dw < 1:
        raise ValueError(f"{op}: need kernel, stride, dilation >= 1 and padding >= 0, got kernel={kernel_hw} "
                         f"stride={stride} padding={padding} dilation={dilation}")
    OH = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if H < 1 or W < 1 or OH < 1 or OW < 1:
        raise ValueError(f"{op}: kernel {tuple(kernel_hw)} (dilation {tuple(dilation)}) is bigger than the "
                         f"input {tuple(input_hw)} padded by {tuple(padding)}")
    return OH, OW


def _raise_on(op: str, status: int, *shapes: tuple[int, ...]) -> None:
    if status != 0:
        raise ValueError(f"{op}: the C kernel rejected its arguments (status {status}); shapes {shapes}")


def _conv_call(op: str, kernel: str, a: np.ndarray, b: np.ndarray, out_shape: tuple[int, ...],
               geometry: tuple[int, ...]) -> np.ndarray:
    """out = <kernel>(a, b) for geometry (n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw)."""
    ctype, suffix = _float_kind(op, a, b)
    out = np.empty(out_shape, dtype=a.dtype)
    if out.size == 0 or a.size == 0 or b.size == 0:  # an empty sum: nothing for C to do
        out[...] = 0
        return out
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    work = np.empty(getattr(lib, "tg_conv2d_workspace" + suffix)(*geometry), dtype=a.dtype)
    status = getattr(lib, kernel + suffix)(
        ffi.from_buffer(ctype, a), ffi.from_buffer(ctype, b), ffi.from_buffer(ctype, out, require_writable=True),
        ffi.from_buffer(ctype, work, require_writable=True), work.size, *geometry)
    _raise_on(op, status, a.shape, b.shape)
    return out


def conv2d(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """2-D cross-correlation in C; same contract as ``numpy_ref.conv2d``."""
    _check_4d("conv2d", x=x, w=w)
    (N, C, H, W), (O, Cw, kh, kw) = x.shape, w.shape
    if C != Cw:
        raise ValueError(f"conv2d: input {x.shape} has {C} channels but weight {w.shape} expects {Cw}")
    OH, OW = _check_window("conv2d", (H, W), (kh, kw), stride, padding, dilation)
    geometry = (N, C, H, W, O, kh, kw, *stride, *padding, *dilation)
    return _conv_call("conv2d", "tg_conv2d", x, w, (N, O, OH, OW), geometry)


def conv2d_grad_input(gy: np.ndarray, w: np.ndarray, input_hw: Pair, stride: Pair, padding: Pair,
                      dilation: Pair) -> np.ndarray:
    """∂L/∂x of ``conv2d`` in C; same contract as ``numpy_ref.conv2d_grad_input``."""
    _check_4d("conv2d_grad_input", gy=gy, w=w)
    (N, O, OH, OW), (Ow, C, kh, kw) = gy.shape, w.shape
    out_hw = _check_window("conv2d_grad_input", input_hw, (kh, kw), stride, padding, dilation)
    if O != Ow or out_hw != (OH, OW):
        raise ValueError(f"conv2d_grad_input: grad_output {gy.shape} does not match weight {w.shape} on an "
                         f"input of size {tuple(input_hw)} (expected (N, {Ow}, {out_hw[0]}, {out_hw[1]}))")
    geometry = (N, C, *input_hw, O, kh, kw, *stride, *padding, *dilation)
    return _conv_call("conv2d_grad_input", "tg_conv2d_grad_input", gy, w, (N, C, *input_hw), geometry)


def conv2d_grad_weight(x: np.ndarray, gy: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
                       dilation: Pair) -> np.ndarray:
    """∂L/∂w of ``conv2d`` in C; same contract as ``numpy_ref.conv2d_grad_weight``."""
    _check_4d("conv2d_grad_weight", x=x, gy=gy)
    (N, C, H, W), (Ng, O, OH, OW) = x.shape, gy.shape
    out_hw = _check_window("conv2d_grad_weight", (H, W), kernel_hw, stride, padding, dilation)
    if N != Ng or out_hw != (OH, OW):
        raise ValueError(f"conv2d_grad_weight: grad_output {gy.shape} does not match input {x.shape} with "
                         f"kernel {tuple(kernel_hw)} (expected ({N}, O, {out_hw[0]}, {out_hw[1]}))")
    geometry = (N, C, H, W, O, *kernel_hw, *stride, *padding, *dilation)
    return _conv_call("conv2d_grad_weight", "tg_conv2d_grad_weight", x, gy, (O, C, *kernel_hw), geometry)


def max_pool2d(x: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
               dilation: Pair = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling in C -> (y, flat argmax indices); same contract as ``numpy_ref.max_pool2d``."""
    _check_4d("max_pool2d", x=x)
    ctype, suffix = _float_kind("max_pool2d", x)
    N, C, H, W = x.shape
    OH, OW = _check_window("max_pool2d", (H, W), kernel_hw, stride, padding, dilation)
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    indices = np.empty((N, C, OH, OW), dtype=np.int64)
    x = np.ascontiguousarray(x)
    status = getattr(lib, "tg_max_pool2d" + suffix)(
        ffi.from_buffer(ctype, x), ffi.from_buffer(ctype, y, require_writable=True),
        ffi.from_buffer("int64_t[]", indices, require_writable=True), N * C, H, W,
        *kernel_hw, *stride, *padding, *dilation)
    _raise_on("max_pool2d", status, x.shape)
    return y, indices


def max_pool2d_grad(gy: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """∂L/∂x of max pooling in C; same contract as ``numpy_ref.max_pool2d_grad``."""
    _check_4d("max_pool2d_grad", gy=gy)
    ctype, suffix = _float_kind("max_pool2d_grad", gy)
    if (indices.shape != gy.shape or not np.issubdtype(indices.dtype, np.integer) or len(input_shape) != 4
            or tuple(input_shape[:2]) != gy.shape[:2] or min(input_shape[2:]) < 1):
        raise ValueError(f"max_pool2d_grad: grad_output {gy.shape} and integer indices {indices.shape} "
                         f"({indices.dtype}) must match the input {tuple(input_shape)} in (N, C)")
    N, C, H, W = input_shape
    gx = np.empty(input_shape, dtype=gy.dtype)
    gy, indices = np.ascontiguousarray(gy), np.ascontiguousarray(indices, dtype=np.int64)
    status = getattr(lib, "tg_max_pool2d_grad" + suffix)(
        ffi.from_buffer(ctype, gy), ffi.from_buffer("int64_t[]", indices),
        ffi.from_buffer(ctype, gx, require_writable=True), N * C, H, W, *gy.shape[2:])
    _raise_on("max_pool2d_grad (an index outside its input plane?)", status, gy.shape, tuple(input_shape))
    return gx


def avg_pool2d(x: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling in C; same contract as ``numpy_ref.avg_pool2d``."""
    _check_4d("avg_pool2d", x=x)
    ctype, suffix = _float_kind("avg_pool2d", x)
    N, C, H, W = x.shape
    OH, OW = _check_window("avg_pool2d", (H, W), kernel_hw, stride, padding, (1, 1))
    y = np.empty((N, C, OH, OW), dtype=x.dtype)
    x = np.ascontiguousarray(x)
    status = getattr(lib, "tg_avg_pool2d" + suffix)(
        ffi.from_buffer(ctype, x), ffi.from_buffer(ctype, y, require_writable=True), N * C, H, W,
        *kernel_hw, *stride, *padding, int(bool(count_include_pad)))
    _raise_on("avg_pool2d", status, x.shape)
    return y


def avg_pool2d_grad(gy: np.ndarray, input_shape: tuple[int, ...], kernel_hw: Pair, stride: Pair,
                    padding: Pair, count_include_pad: bool = True) -> np.ndarray:
    """∂L/∂x of average pooling in C; same contract as ``numpy_ref.avg_pool2d_grad``."""
    _check_4d("avg_pool2d_grad", gy=gy)
    ctype, suffix = _float_kind("avg_pool2d_grad", gy)
    if len(input_shape) != 4:
        raise ValueError(f"avg_pool2d_grad: input_shape must be (N, C, H, W), got {tuple(input_shape)}")
    N, C, H, W = input_shape
    out_hw = _check_window("avg_pool2d_grad", (H, W), kernel_hw, stride, padding, (1, 1))
    if gy.shape != (N, C, *out_hw):
        raise ValueError(f"avg_pool2d_grad: grad_output {gy.shape} does not match the pooled input "
                         f"{tuple(input_shape)} (expected {(N, C, *out_hw)})")
    gx = np.empty(input_shape, dtype=gy.dtype)
    gy = np.ascontiguousarray(gy)
    status = getattr(lib, "tg_avg_pool2d_grad" + suffix)(
        ffi.from_buffer(ctype, gy), ffi.from_buffer(ctype, gx, require_writable=True), N * C, H, W,
        *kernel_hw, *stride, *padding, int(bool(count_include_pad)))
    _raise_on("avg_pool2d_grad", status, gy.shape, tuple(input_shape))
    return gx
