"""The C kernels behind the same signatures as ``numpy_ref``: a thin cffi adapter.

This module owns every unsafe detail of calling C: it checks dtypes and shapes, makes
inputs C-contiguous, allocates outputs with NumPy (C never mallocs), passes pointers with
``ffi.from_buffer`` and turns a nonzero status into a Python exception. Importing it
raises ImportError when the extension ``tinygrad_edu._kernels`` was not built, and the
backend then stays on NumPy.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .._kernels import ffi, lib  # ImportError here means: not built
from . import numpy_ref

# ---- instruction set and threads (csrc/cpu.c, csrc/threads.c) -----------------------------

ISA_NAMES = {lib.TG_ISA_PORTABLE: "portable", lib.TG_ISA_AVX2: "avx2", lib.TG_ISA_AVX512: "avx512"}


def _isa_level() -> int:
    level = lib.tg_isa_level()
    if level == lib.TG_ISA_INVALID:
        raise ValueError("tinygrad_edu: TINYGRAD_EDU_ISA must be one of avx512, avx2, portable; got "
                         f"{os.environ.get('TINYGRAD_EDU_ISA')!r}")
    return level


def isa() -> str:
    """The instruction set the kernels run: ``"avx512"``, ``"avx2"`` or ``"portable"``."""
    return ISA_NAMES[_isa_level()]


def set_isa(name: str) -> str:
    """Cap the instruction set at ``name`` (never above what the CPU has); returns the one now used.

    For tests and benchmarks: every code path can then run on one machine. The environment
    variable ``TINYGRAD_EDU_ISA`` does the same at start-up.
    """
    levels = {isa_name: level for level, isa_name in ISA_NAMES.items()}
    if name not in levels:
        raise ValueError(f"set_isa: {name!r} is not one of {tuple(levels)}")
    return ISA_NAMES[lib.tg_set_isa_level(levels[name])]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the parallel kernels (1 = the calling thread only)."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: need n >= 1, got {n}")
    global _threads
    lib.tg_set_num_threads(int(n))
    _threads = int(lib.tg_get_num_threads())


def get_num_threads() -> int:
    """How many threads the parallel kernels use."""
    return _threads


_threads = 1  # mirrors tg_get_num_threads (read on every matmul call, so kept in Python)
if os.environ.get("TINYGRAD_EDU_NUM_THREADS"):
    set_num_threads(int(os.environ["TINYGRAD_EDU_NUM_THREADS"]))

# ---- matmul (csrc/gemm.c) -----------------------------------------------------------------
# C computes C = op(A)·op(B) for operands given by pointer + row/column/batch strides in
# elements, so a transposed input (``x.T``, Fortran order, swapped last axes) is passed as
# swapped strides of the same memory, never copied. Other strided views are copied first
# (ffi.from_buffer needs one contiguous buffer). Dtypes follow NumPy's promotion, as the
# reference does: float32·float32 -> float32, any mix with float64 (or an integer with a
# float) -> float64 in C; integer, bool and complex products have no C kernel and run the
# reference (np.matmul), explicitly below.

_GEMM = {np.dtype(np.float32): ("float[]", lib.tg_gemm_f32, lib.tg_gemm_workspace_f32),
         np.dtype(np.float64): ("double[]", lib.tg_gemm_f64, lib.tg_gemm_workspace_f64)}
_per_thread = threading.local()  # workspaces per Python thread: cffi releases the GIL during the call


def _workspace(dtype: np.dtype, ctype: str, size_for) -> tuple[object, int]:
    """A cached scratch buffer big enough for tg_gemm_* at the current thread count (C never allocates)."""
    key = (dtype.char, _threads)
    try:
        return _per_thread.cache[key]
    except AttributeError:
        _per_thread.cache = {}
    except KeyError:
        pass
    work = np.empty(size_for(_threads), dtype=dtype)
    _per_thread.cache[key] = (ffi.from_buffer(ctype, work, require_writable=True), work.size)
    return _per_thread.cache[key]


def _operand(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(buffer, row stride, column stride) of the matrices in x's last two axes, in elements.

    C order: (x, cols, 1); transposed in the last two axes: (x with those axes swapped
    back, 1, rows); anything else is copied to C order first.
    """
    rows, cols = x.shape[-2:]
    if x.flags.c_contiguous:
        return x, cols, 1
    swapped = x.swapaxes(-1, -2)
    if swapped.flags.c_contiguous:
        return swapped, 1, rows
    return np.ascontiguousarray(x), cols, 1


def _batch_stride(x: np.ndarray, batch: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """x broadcast to the batch shape, and the element stride between its matrices (0 = shared)."""
    if x.shape[:-2] == batch:
        return x, x.shape[-2] * x.shape[-1]
    if x.size == 0 or all(d == 1 for d in x.shape[:-2]):  # one matrix, reused by every product
        return x.reshape(x.shape[-2:]), 0
    return np.ascontiguousarray(np.broadcast_to(x, batch + x.shape[-2:])), x.shape[-2] * x.shape[-1]


def _gemm(dtype: np.dtype, count: int, a: np.ndarray, sba: int, b: np.ndarray, sbb: int, out: np.ndarray,
          shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    """out[t] = a[t] · b[t] for the `count` matrices of out (C order), a and b with batch strides sba, sbb."""
    ctype, kernel, size_for = _GEMM[dtype]
    m, n = out.shape[-2:]
    a, rsa, csa = _operand(a)
    b, rsb, csb = _operand(b)
    work, work_len = _workspace(dtype, ctype, size_for)
    status = kernel(count, m, n, a.shape[-1] if csa == 1 else a.shape[-2], ffi.from_buffer(ctype, a), sba, rsa, csa,
                    ffi.from_buffer(ctype, b), sbb, rsb, csb, 0.0, ffi.from_buffer(ctype, out), m * n, n, 1, work,
                    work_len)
    if status:
        _isa_level()  # raises the clearer error when the ISA variable is the cause
        raise ValueError(f"matmul: the C kernel rejected shapes {shapes[0]} and {shapes[1]} (status {status})")


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul`` in C (csrc/gemm.c); same contract as ``numpy_ref.matmul``."""
    dtype = a.dtype
    if dtype != b.dtype or dtype not in _GEMM:
        dtype = np.result_type(a, b)
        if dtype not in _GEMM:  # integer, bool, complex, float16: the reference computes it
            return numpy_ref.matmul(a, b)
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    if a.ndim == 2 and b.ndim == 2:  # the common case first: this code runs on every call
        (m, k), (kb, n) = a.shape, b.shape
        if k != kb:
            raise ValueError(f"matmul: inner dimensions differ: shapes {a.shape} and {b.shape} ({k} != {kb})")
        out = np.empty((m, n), dtype=dtype)
        if m and n:
            _gemm(dtype, 1, a, 0, b, 0, out, (a.shape, b.shape))
        return out
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    a2 = a if a.ndim > 1 else a.reshape(1, -1)
    b2 = b if b.ndim > 1 else b.reshape(-1, 1)
    (m, k), (kb, n) = a2.shape[-2:], b2.shape[-2:]
    if k != kb:
        raise ValueError(f"matmul: inner dimensions differ: shapes {a.shape} and {b.shape} ({k} != {kb})")
    try:
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions do not broadcast: shapes {a.shape} and {b.shape}") from None
    a2, sba = _batch_stride(a2, batch)
    b2, sbb = _batch_stride(b2, batch)
    out = np.empty((*batch, m, n), dtype=dtype)
    if out.size:
        _gemm(dtype, out.size // (m * n), a2, sba, b2, sbb, out, (a.shape, b.shape))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


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


_CONV_BAD_ISA = 3  # csrc/tg_kernels.h: TINYGRAD_EDU_ISA holds an unknown name


def _raise_on(op: str, status: int, *shapes: tuple[int, ...]) -> None:
    if status == _CONV_BAD_ISA:
        raise RuntimeError(f"{op}: TINYGRAD_EDU_ISA must be avx512, avx2 or portable (unset: the best available)")
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
    work = np.empty(getattr(lib, "tg_conv2d_workspace" + suffix)(lib.tg_get_num_threads(), *geometry),
                    dtype=a.dtype)
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


# ---- int8 GEMM (csrc/qgemm.c) ----
# ---- end of int8 GEMM ----


# ---- fused softmax-cross-entropy and bias+activation (csrc/fused.c) ----
# ---- end of fused softmax-cross-entropy and bias+activation ----


# ---- LSTM cell (csrc/lstm.c) ----
# ---- end of LSTM cell ----


# ---- optimiser updates (csrc/optim.c) ----
# ---- end of optimiser updates ----
