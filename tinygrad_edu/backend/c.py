"""The C kernels behind the same signatures as ``numpy_ref``: a thin cffi adapter.

This module owns every unsafe detail of calling C: it checks dtypes and shapes, makes
inputs C-contiguous, allocates outputs with NumPy (C never mallocs), passes pointers with
``ffi.from_buffer`` and turns a nonzero status into a Python exception. Importing it
raises ImportError when the extension ``tinygrad_edu._kernels`` was not built, and the
backend then stays on NumPy.

The kernels are written for float32 and float64 (``KERNEL_DTYPES``). An adapter given other
dtypes (float16, integers, a mix) raises ``NoKernelError`` before doing any work, and the
dispatcher (``backend/__init__.py``) then runs the NumPy reference: one rule for every kernel.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable

import numpy as np

from .._kernels import ffi, lib  # ImportError here means: not built
from . import NoKernelError, numpy_ref  # NoKernelError: defined by backend/__init__.py before it imports this module

# The dtypes of the float kernels: arrays of one of these, all of the same one (matmul: operands
# NumPy promotes to one of these). Anything else raises NoKernelError. The int8 kernels (qgemm, ...)
# have their own dtypes, which the reference requires too: there a wrong dtype is a ValueError.
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# The C type of their arrays, and the suffix of their kernels' names: tg_<name>_f32, tg_<name>_f64.
_CTYPE_AND_SUFFIX = {np.dtype(np.float32): ("float[]", "_f32"), np.dtype(np.float64): ("double[]", "_f64")}


def _kernel_table(*names: str) -> dict[np.dtype, tuple]:
    """The kernels ``tg_<name>_f32`` / ``_f64`` of each name, by dtype: {dtype: (cffi array type, kernel, …)}.

    Every adapter looks its dtype up in such a table on every call, so the array type is made
    here once (``ffi.from_buffer`` given a type object skips parsing "float[]"), and the kernels
    follow in the order of ``names``: ``ctype, forward, backward = _kernel_table("a", "b")[dtype]``.
    """
    return {dtype: (ffi.typeof(ctype), *(getattr(lib, f"tg_{name}{suffix}") for name in names))
            for dtype, (ctype, suffix) in _CTYPE_AND_SUFFIX.items()}


def _no_kernel(op: str, *arrays: np.ndarray) -> NoKernelError:
    """The NoKernelError error for arrays whose dtypes have no C kernel (raised by the caller)."""
    return NoKernelError(f"{op}: expected float32 or float64 arrays of one dtype for the C kernel, got "
                    f"{[str(a.dtype) for a in arrays]}")

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
    global _threads, _scratch
    lib.tg_set_num_threads(int(n))
    _threads = int(lib.tg_get_num_threads())
    _scratch = threading.local()  # the workspaces are sized for the thread count: start afresh


def get_num_threads() -> int:
    """How many threads the parallel kernels use."""
    return _threads


def set_thread_spin_us(us: int) -> None:
    """How long (µs) an idle worker thread spins after a parallel region before it blocks (default 2000).

    A spinning worker starts the next region's part at once, where a blocked one on an idle vCPU takes
    10-50 µs to wake (csrc/threads.c); 0 blocks at once, for machines whose cores other processes want.
    """
    if not 0 <= int(us) <= lib.TG_POOL_MAX_SPIN_US:
        raise ValueError(f"set_thread_spin_us: need 0 <= us <= {lib.TG_POOL_MAX_SPIN_US}, got {us}")
    lib.tg_set_pool_spin_us(int(us))


def get_thread_spin_us() -> int:
    """How long (µs) an idle worker thread spins after a parallel region before it blocks."""
    return int(lib.tg_get_pool_spin_us())


def _apply_env(name: str, setter: Callable[[int], None]) -> None:
    """Pass the integer in environment variable `name`, if set, to `setter`; a bad value names the variable."""
    text = os.environ.get(name)
    if not text:
        return
    try:
        setter(int(text))
    except ValueError as err:
        raise ValueError(f"tinygrad_edu: {name}={text!r} is not usable: {err}") from None


_threads = 1  # mirrors tg_get_num_threads, so that no call has to ask C
# Scratch memory for the kernels (C never allocates), one set per Python thread because cffi
# releases the GIL during a call: ``_scratch.gemm[dtype]`` holds (2-D kernel, workspace pointer,
# length in elements, the NumPy array that owns the memory) and ``_scratch.plans[key]`` the conv
# and pooling plans (conv: with their workspaces), see below.
_scratch = threading.local()
_apply_env("TINYGRAD_EDU_NUM_THREADS", set_num_threads)
_apply_env("TINYGRAD_EDU_THREAD_SPIN_US", set_thread_spin_us)

# ---- matmul (csrc/gemm.c) -----------------------------------------------------------------
# C computes C = op(A)·op(B) for operands given by pointer + row/column/batch strides in
# elements, so a transposed input (``x.T``, Fortran order, swapped last axes) is passed as
# swapped strides of the same memory, never copied. Other strided views are copied first
# (ffi.from_buffer needs one contiguous buffer). Dtypes follow NumPy's promotion, as the
# reference does: float32·float32 -> float32, any mix with float64 (or an integer with a
# float) -> float64 in C; integer, bool, complex and float16 products have no C kernel (NoKernelError).
#
# Every call pays for this Python code, and on a (64×256)·(256×10) product the C work takes
# about 2 µs, so the 2-D case is written for speed (issue 3: at most 1 µs of Python per call):
# one thread-local dict lookup gives the kernel and this thread's workspace, a 12-argument C
# entry point (tg_matmul_*) takes void pointers, made by ffi.from_buffer(array), the cheapest
# way measured (Zen 3 under KVM: 0.16 µs, 0.23 µs on a fresh array, whose buffer information NumPy
# builds first; arr.ctypes.data costs 1.4 µs and __array_interface__ 1.5 µs before ffi.cast). The
# checks kept are the ones NumPy does not make. The floor on that machine: np.empty for the output
# and the three pointers cost 0.9-1.0 µs of the 1.3 µs this wrapper costs beyond the bare C call
# (benchmarks/bench_matmul.py prints it).

# Bound once: looking an attribute up on a module costs ~15 ns per call.
_from_buffer, _empty = ffi.from_buffer, np.empty
# dtype -> (cffi array type, 2-D kernel, batched kernel, workspace size for a thread count)
_GEMM = _kernel_table("matmul", "gemm", "gemm_workspace")


def _gemm_workspace(dtype: np.dtype) -> tuple[object, object, int, np.ndarray]:
    """(2-D kernel, workspace pointer, length, array) of this Python thread for `dtype`, made on first use.

    The workspace is sized for the current thread count (set_num_threads starts a fresh _scratch).
    """
    cache = _scratch.__dict__.setdefault("gemm", {})
    if dtype not in cache:
        ctype, kernel, _, size_for = _GEMM[dtype]
        work = np.empty(size_for(_threads), dtype=dtype)
        cache[dtype] = (kernel, _from_buffer(ctype, work), work.size, work)
    return cache[dtype]


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


def _raise_gemm_status(status: int, shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> None:
    _isa_level()  # raises the clearer error when the ISA variable is the cause
    raise ValueError(f"matmul: the C kernel rejected shapes {shape_a} and {shape_b} (status {status})")


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul`` in C (csrc/gemm.c); same contract as ``numpy_ref.matmul``."""
    dtype = a.dtype
    try:
        kernel, work, work_len, _ = _scratch.gemm[dtype]  # float32/float64, after this thread's first call
        (m, k), (kb, n) = a.shape, b.shape  # ValueError unless both are 2-D
    except (AttributeError, KeyError, ValueError):
        return _matmul_general(a, b)
    if b.dtype is not dtype or k != kb:  # _matmul_general promotes, or raises the shape error
        return _matmul_general(a, b)
    out = _empty((m, n), dtype)
    # Each operand's layout from its flags (0.05 µs a read): C order, or a transposed view (every Linear
    # layer's x·Wᵀ and ∂Yᵀ·x) passed as its transpose's memory with swapped strides; anything else is
    # copied. (Calling from_buffer first and sending its ValueError to a slower path saved the two reads
    # on C-order operands but cost 1.4 µs per transposed one: a raised exception is dear. The same lines
    # twice, for a and b, because a helper's call costs 0.1 µs per operand and _operand's 0.3.)
    if a.flags.c_contiguous:
        rsa, csa = k, 1
    elif a.flags.f_contiguous:
        a, rsa, csa = a.T, 1, m
    else:
        a, rsa, csa = np.ascontiguousarray(a), k, 1
    if b.flags.c_contiguous:
        rsb, csb = n, 1
    elif b.flags.f_contiguous:
        b, rsb, csb = b.T, 1, k
    else:
        b, rsb, csb = np.ascontiguousarray(b), n, 1
    status = kernel(m, n, k, _from_buffer(a), rsa, csa, _from_buffer(b), rsb, csb, _from_buffer(out), work, work_len)
    if status:
        _raise_gemm_status(status, (m, k), (kb, n))
    return out


def _matmul_general(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """matmul for the other cases: dtype promotion, 1-D operands, batches and broadcasting."""
    dtype = a.dtype
    if dtype != b.dtype or dtype not in _GEMM:
        dtype = np.result_type(a, b)
        if dtype not in _GEMM:  # integer, bool, complex, float16
            raise NoKernelError(f"matmul: no C kernel for {a.dtype} · {b.dtype} (NumPy's result: {dtype}); "
                           "the C GEMM computes float32 and float64")
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
        if a.ndim == 2 and b.ndim == 2:
            return matmul(a, b)
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
        ctype, _, kernel, _ = _GEMM[dtype]
        a2, rsa, csa = _operand(a2)
        b2, rsb, csb = _operand(b2)
        _, work, work_len, _ = _gemm_workspace(dtype)
        status = kernel(out.size // (m * n), m, n, k, _from_buffer(ctype, a2), sba, rsa, csa,
                        _from_buffer(ctype, b2), sbb, rsb, csb, 0.0, _from_buffer(ctype, out), m * n, n, 1,
                        work, work_len)
        if status:
            _raise_gemm_status(status, a.shape, b.shape)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return out


# ---- a B packed once for many products (csrc/gemm.c tg_pack_b_*, tg_matmul_packed_*) -------
# A recurrent layer multiplies by the same W_hhᵀ (forward) and W_hh (backward) at every time step:
# pack_b copies B once into the tiles' strips (``width`` columns, all k rows, p-major), and each
# matmul_packed reads them sequentially, with no per-call check of B's layout. Where matmul would
# not run the FMA kernels (float32 precision "high"/"medium", an emulated float64), the PackedB
# holds a copy of B instead and its products are matmul's, so they follow those settings too.
# dtype -> (cffi array type, width at the current ISA level, pack, product)
_PACKED = _kernel_table("packed_b_width", "pack_b", "matmul_packed")
_GEMM_NATIVE = dict(_GEMM)  # the FMA kernels, before any precision or emulation setting swaps _GEMM's


class PackedB:
    """B (k, n) packed for ``matmul_packed``: a snapshot, later changes to the source array do not reach it.

    ``shape`` (k, n) and ``dtype`` are B's; ``transposed`` says whether B came as a transposed view (read
    in place by the packing, never copied first); ``width`` is the columns per strip of ``panel``, the
    packed elements (strip s holds columns s·width … of all k rows, row p at p·width), for the ISA
    level current at packing time (None with ``matrix``: a plain copy of B, multiplied by matmul).
    The float32 precision and float64 emulation settings in force at packing time choose between the two:
    a panel's products stay the FMA kernels' after a later setting, a ``matrix``'s follow the setting at each
    product. Pack again after changing them (the recurrent layers pack at every call).
    """

    __slots__ = ("_pointer", "dtype", "matrix", "panel", "shape", "transposed", "width")

    def __init__(self, b: np.ndarray) -> None:
        if b.ndim != 2:
            raise ValueError(f"pack_b: expected a 2-D matrix B (k, n), got shape {b.shape}")
        if b.dtype not in _PACKED:
            raise _no_kernel("pack_b", b)
        (k, n), dtype = b.shape, b.dtype
        self.shape, self.dtype, self.transposed = (k, n), dtype, not b.flags.c_contiguous and b.flags.f_contiguous
        self.width = self.panel = self.matrix = self._pointer = None
        if _GEMM[dtype] is not _GEMM_NATIVE[dtype]:
            self.matrix = b.copy()
            return
        _, width_now, pack, _ = _PACKED[dtype]
        width = width_now()
        if width == 0:
            _isa_level()  # raises: TINYGRAD_EDU_ISA holds an unknown name
        self.width, self.panel = width, np.empty(k * -(-n // width) * width, dtype)
        src, rsb, csb = _operand(b)
        status = pack(k, n, _from_buffer(src), rsb, csb, width, _from_buffer(self.panel))
        if status:
            _raise_packed_status("pack_b", status, (k, n))
        self._pointer = _from_buffer(self.panel)


def _raise_packed_status(op: str, status: int, *shapes: tuple[int, ...]) -> None:
    _isa_level()  # raises the clearer error when the ISA variable is the cause
    if status == lib.TG_GEMM_BAD_PACKING:
        raise ValueError(f"{op}: B {shapes[-1]} was packed for another instruction set (set_isa was called "
                         f"after pack_b, now {isa()}); pack it again")
    raise ValueError(f"{op}: the C kernel rejected shapes {shapes} (status {status})")


def pack_b(b: np.ndarray) -> PackedB:
    """B (k, n) packed once for many ``matmul_packed(a, packed)`` products; see ``PackedB``."""
    return PackedB(b)


def matmul_packed(a: np.ndarray, packed: PackedB) -> np.ndarray:
    """a · B for B packed by ``pack_b``; same contract as ``numpy_ref.matmul_packed``."""
    if not isinstance(packed, PackedB):  # the reference's packed B: pack_b had no kernel for its dtype
        raise NoKernelError(f"matmul_packed: B was not packed by the C backend ({type(packed).__name__})")
    numpy_ref.check_packed_operand(a, packed.shape, packed.dtype)
    if packed.matrix is not None:
        return matmul(a, packed.matrix)
    (m, k), n = a.shape, packed.shape[1]
    out = _empty((m, n), packed.dtype)
    a, rsa, csa = _operand(a)
    status = _PACKED[packed.dtype][3](m, n, k, _from_buffer(a), rsa, csa, packed._pointer, packed.width,
                                      _from_buffer(out))
    if status:
        _raise_packed_status("matmul_packed", status, (m, k), packed.shape)
    return out


# ---- float32 matmul precision (csrc/gemm_amx.c) -------------------------------------------
# torch.set_float32_matmul_precision (backend.set_float32_matmul_precision holds the setting): at
# "highest" _GEMM's float32 entry holds the FMA kernels above; at "high" and "medium" it holds the
# bfloat16 AMX kernels (bf16x3, bf16x1), which take the same arguments and run the FMA kernels
# themselves where AMX is absent or does not pay. matmul's code, and its Python cost per call, are
# thus the same at every precision: the choice is made once, here, not on every call.
_F32 = np.dtype(np.float32)
_GEMM_F32 = {
    "highest": _GEMM_NATIVE[_F32],
    "high": (_GEMM_NATIVE[_F32][0], lib.tg_matmul_bf16x3_f32, lib.tg_gemm_bf16x3_f32, lib.tg_gemm_bf16_workspace_f32),
    "medium": (_GEMM_NATIVE[_F32][0], lib.tg_matmul_bf16x1_f32, lib.tg_gemm_bf16x1_f32, lib.tg_gemm_bf16_workspace_f32),
}


def set_float32_matmul_precision(precision: str) -> None:
    """Use the float32 matmul kernels of ``precision`` ("highest", "high" or "medium"); called by
    ``backend.set_float32_matmul_precision``, which checks the name and documents the modes."""
    global _scratch
    _GEMM[_F32] = _GEMM_F32[precision]
    _scratch = threading.local()  # the cached kernels and workspaces were the old precision's


def amx_usable() -> bool:
    """Whether "high" and "medium" run on AMX here: ISA level avx512, AMX in the CPU and granted by the
    OS, and not switched off by ``allow_amx(False)``."""
    _isa_level()  # raises when TINYGRAD_EDU_ISA is unknown
    return bool(lib.tg_amx_usable())


def allow_amx(allow: bool) -> None:
    """Let "high" and "medium" use AMX (the default) or not: switched off they give exactly the float32
    result of "highest", on an AMX machine too (for tests and benchmarks)."""
    lib.tg_allow_amx(int(bool(allow)))


# ---- float64 matmul emulation (csrc/gemm_ozaki.c) ------------------------------------------
# backend.set_float64_matmul_emulation(moduli) swaps _GEMM's float64 kernels, as the float32
# precision does: for Python wrappers with the same arguments that run the Ozaki scheme II kernel
# and, where it does not run (TG_OZAKI_NOT_RUN), the native float64 GEMM on the same arguments.
# The scheme's constants are exact integer arithmetic, done here once per setting (the plan).
_F64 = np.dtype(np.float64)


def ozaki_moduli(count: int) -> list[int]:
    """The ``count`` largest pairwise coprime integers ≤ 256 (greedy from 256 down): 256, 255, 253, 251, …"""
    moduli: list[int] = []
    candidate = 256
    while len(moduli) < count:
        if all(math.gcd(candidate, m) == 1 for m in moduli):
            moduli.append(candidate)
        candidate -= 1
    return moduli


def ozaki_plan(count: int) -> object:
    """The ``struct tg_ozaki_plan`` of ``count`` moduli (csrc/tg_kernels.h; the scheme: csrc/gemm_ozaki.c).

    M = Π m_l; CRT weights W_l = (M/m_l)·((M/m_l)^-1 mod m_l) mod M, so that C' ≡ Σ_l C'_l·W_l (mod M)
    when C'_l ≡ C' (mod m_l). W_l = w1 + w2 with w1 = W_l rounded down to a multiple of 2^s holding
    46 − ⌈log2 count⌉ significant bits of M (then Σ_l |C'_l|·w1_l ≤ count·128·w1 stays below 2^53 units
    of 2^s: exact in double), w2 = the rest, rounded. γ = ⌊(log2 M − 1.01)/2⌋ capped at 50, so that
    ‖a'‖·‖b'‖ ≤ 2^(2γ)·(1 + rounding) < M/2: the rows of A and columns of B are scaled to 2-norm ≤ 2^γ.
    """
    moduli = ozaki_moduli(count)
    big_m = math.prod(moduli)
    shift = max(0, big_m.bit_length() - (46 - math.ceil(math.log2(count))))
    plan = ffi.new("struct tg_ozaki_plan *")
    plan.moduli = count
    plan.gamma = min(50, int((math.log2(big_m) - 1.01) // 2))
    for at, m in enumerate(moduli):
        weight = (big_m // m) * pow(big_m // m, -1, m) % big_m
        high = weight >> shift << shift
        plan.modulus[at], plan.w1[at], plan.w2[at] = m, float(high), float(weight - high)
    high = big_m >> shift << shift
    plan.m1, plan.m2, plan.inv_m = float(high), float(big_m - high), 1.0 / big_m
    return plan


def _ozaki_kernels(count: int) -> tuple:
    """_GEMM's float64 entry for ``count`` moduli: (array type, 2-D kernel, batched kernel, workspace size)."""
    plan = ozaki_plan(count)
    ctype, _, native_batched, size_for = _GEMM_NATIVE[_F64]
    as_double = ffi.cast

    def batched(batch, m, n, k, a, sba, rsa, csa, b, sbb, rsb, csb, beta, c, sbc, rsc, csc, work, work_len):
        nbytes = lib.tg_ozaki_workspace(count, m, n, k, _threads)
        scratch, scratch_len = _byte_workspace(nbytes)
        status = lib.tg_gemm_ozaki_f64(plan, batch, m, n, k, as_double("double *", a), sba, rsa, csa,
                                       as_double("double *", b), sbb, rsb, csb, beta, as_double("double *", c),
                                       sbc, rsc, csc, scratch, scratch_len)
        if status == lib.TG_OZAKI_NOT_RUN:
            status = native_batched(batch, m, n, k, a, sba, rsa, csa, b, sbb, rsb, csb, beta, c, sbc, rsc, csc,
                                    work, work_len)
        return status

    def matmul_2d(m, n, k, a, rsa, csa, b, rsb, csb, c, work, work_len):
        return batched(1, m, n, k, a, 0, rsa, csa, b, 0, rsb, csb, 0.0, c, 0, n, 1, as_double("double *", work),
                       work_len)

    return ctype, matmul_2d, batched, size_for


def set_float64_matmul_emulation(moduli: int | None) -> None:
    """Run float64 matmul as Ozaki scheme II with ``moduli`` moduli (None: the native FMA GEMM); called by
    ``backend.set_float64_matmul_emulation``, which checks the value and documents the accuracy."""
    global _scratch
    _GEMM[_F64] = _GEMM_NATIVE[_F64] if moduli is None else _ozaki_kernels(moduli)
    _scratch = threading.local()  # the cached kernels were the old setting's


# ---- convolution and pooling (csrc/conv.c, csrc/pool.c) ---------------------------------
# Every check happens here, before C runs: a bad shape raises ValueError naming the op and
# the shapes, and C is only ever handed sizes it can index safely. (C re-checks the sizes,
# including that the output size is the one the window formula gives, and returns a nonzero
# status, which _raise_on turns into an exception.)
#
# The checks run once per call signature, not on every call: a LeNet layer calls these kernels
# with the same shapes six times per training step, and issue 3 allows at most 1 µs of Python
# per call. The first call with a signature makes a *plan*: the kernel, the output shape, the
# sizes as one C struct (tg_conv2d_geometry / tg_pool2d_geometry, so that cffi converts one
# pointer instead of 13 integers) and, for conv, the workspace. The plan is cached in this
# Python thread under a key holding everything it depends on: the op, the dtypes, the shapes
# and the window arguments. A later call builds that key, looks the plan up and goes to C.
# What a plan cannot know is checked on every call: whether each input is C-contiguous
# (cffi's from_buffer refuses any other array with ValueError, and it is then copied), and,
# the outputs being new arrays, nothing else.
#
# The price on a Zen 3 under KVM (benchmarks/bench_conv2d.py prints it): a conv call costs 1.75 µs
# beyond its bare C call, of which np.empty for the output and the three from_buffer pointers take
# 1.0 µs and the key 0.55 µs (reading shapes and dtypes 0.26, hashing and comparing it 0.28). So the
# lookup alone keeps these adapters above issue 3's 1 µs there; with the plan handed in instead
# (measured: the same call without the lookup) a call costs 1.0 µs.

Pair = numpy_ref.Pair
_INDEX_DTYPE = np.dtype(np.int64)
# The ops, as their position in the kernel tables below (position 0 holds the array type) and, for
# pooling, as the first element of a plan key, so that two ops never share a plan (a conv plan's key
# begins with the op's plan function instead, see _run_conv).
_CONV2D, _CONV2D_GRAD_INPUT, _CONV2D_GRAD_WEIGHT = 1, 2, 3
_MAX_POOL2D, _MAX_POOL2D_GRAD, _AVG_POOL2D, _AVG_POOL2D_GRAD = 1, 2, 3, 4
# dtype -> (cffi array type, forward, ∂x, ∂w, workspace size)
_CONV = _kernel_table("conv2d", "conv2d_grad_input", "conv2d_grad_weight", "conv2d_workspace")
# dtype -> (cffi array type, max pool, max pool ∂x, average pool, average pool ∂x)
_POOL = _kernel_table("max_pool2d", "max_pool2d_grad", "avg_pool2d", "avg_pool2d_grad")
_PLANS_KEPT = 64  # call signatures whose plan (conv: with its workspace) stays cached, per Python thread
_PLAN_MISSING = (AttributeError, KeyError, TypeError)  # no plans yet in this thread; not cached; unhashable key


def _check_kernel_dtype(op: str, *arrays: np.ndarray) -> None:
    """Raise NoKernelError unless the arrays are all float32 or all float64."""
    dtype = arrays[0].dtype
    if dtype not in KERNEL_DTYPES or any(a.dtype != dtype for a in arrays):
        raise _no_kernel(op, *arrays)


def _check_4d(op: str, **arrays: np.ndarray) -> None:
    for label, a in arrays.items():
        if a.ndim != 4:
            raise ValueError(f"{op}: {label} must be 4-D (N, C, H, W), got shape {a.shape}")


def _check_window(op: str, input_hw: Pair, kernel_hw: Pair, stride: Pair, padding: Pair,
                  dilation: Pair) -> Pair:
    """Validate the window arguments and return the output size (OH, OW) (``numpy_ref.conv_output_size``)."""
    try:
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


def _keep_plan(key: tuple, plan: tuple) -> tuple:
    """Cache plan under key in this Python thread (unless the key is unhashable); a bounded cache. Returns plan."""
    cache = _scratch.__dict__.setdefault("plans", {})
    if len(cache) >= _PLANS_KEPT:
        cache.clear()
    try:
        cache[key] = plan
    except TypeError:  # e.g. a list for a stride: the checks then run on every call
        pass
    return plan


# The C kernels take every buffer as a void pointer, and _from_buffer(array) makes one (cffi's
# char[] view of the array's memory, the cheapest way measured). cffi only takes a C-contiguous
# array (anything else raises ValueError), so C never reads a strided view as if it were dense.

# A conv plan: (op name, kernel, geometry struct, output shape, dtype, workspace pointer,
#               workspace length, workspace array)


def _conv_plan(key: tuple, op: str, which: int, a: np.ndarray, b: np.ndarray, out_shape: tuple[int, ...],
               geometry: tuple[int, ...]) -> tuple:
    """The plan of a call whose shapes were checked, cached under `key`; the dtypes are checked here."""
    _check_kernel_dtype(op, a, b)
    dtype = a.dtype
    kernels = _CONV[dtype]
    workspace_size = kernels[-1]
    sizes = ffi.new("struct tg_conv2d_geometry *", geometry)
    # An empty batch or kernel is an empty sum: no workspace, and C is not called at all.
    size = workspace_size(_threads, sizes) if a.size and b.size else 0
    if size < 0:  # unreachable after the checks; C's own verdict, in case they ever disagree
        _raise_on(op, 1, a.shape, b.shape)
    work = np.empty(size, dtype)
    return _keep_plan(key, (op, kernels[which], sizes, out_shape, dtype, _from_buffer(work), size, work))


def _run_conv(plan_conv: Callable[..., tuple], a: np.ndarray, b: np.ndarray, size: Pair | None, stride: Pair,
              padding: Pair, dilation: Pair, groups: int) -> np.ndarray:
    """One conv product in C on inputs (a, b) (``size``: the other spatial size the product needs, or None);
    the C kernel writes a fresh output array. The plan comes from this thread's cache, else from
    ``plan_conv``, the op's own checks (``_conv2d_plan`` …), which also makes the key's first element."""
    key = (plan_conv, a.dtype, b.dtype, a.shape, b.shape, size, stride, padding, dilation, groups)
    try:
        plan = _scratch.plans[key]
    except _PLAN_MISSING:
        plan = None
    if plan is None:  # the first call like this one in this thread: check everything
        plan = plan_conv(key, a, b, size, stride, padding, dilation, groups)
    op, kernel, sizes, out_shape, dtype, work, work_len, _ = plan
    out = _empty(out_shape, dtype)
    if not work_len:  # an empty sum (see _conv_plan)
        out.fill(0)
        return out
    try:
        pa, pb = _from_buffer(a), _from_buffer(b)
    except ValueError:  # cffi takes C-contiguous arrays only: copy the strided view(s)
        pa, pb = _from_buffer(np.ascontiguousarray(a)), _from_buffer(np.ascontiguousarray(b))
    status = kernel(sizes, pa, pb, _from_buffer(out), work, work_len)
    if status:
        _raise_on(op, status, a.shape, b.shape)
    return out


def conv2d(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, dilation: Pair, groups: int = 1) -> np.ndarray:
    """2-D cross-correlation in C; same contract as ``numpy_ref.conv2d``."""
    return _run_conv(_conv2d_plan, x, w, None, stride, padding, dilation, groups)


def _conv2d_plan(key: tuple, x: np.ndarray, w: np.ndarray, _: None, stride: Pair, padding: Pair, dilation: Pair,
                 groups: int) -> tuple:
    """The plan of a conv2d call after checking its arguments (its first call with this signature)."""
    if x.ndim != 4 or w.ndim != 4:
        _check_4d("conv2d", x=x, w=w)
    (N, C, H, W), (O, Cw, kh, kw) = x.shape, w.shape
    numpy_ref.check_groups("conv2d", groups, (C, O), x.shape, w.shape)
    if C != Cw * groups:
        raise ValueError(f"conv2d: input {x.shape} has {C} channels but weight {w.shape} with groups={groups} "
                         f"expects {Cw * groups}")
    OH, OW = _check_window("conv2d", (H, W), (kh, kw), stride, padding, dilation)
    return _conv_plan(key, "conv2d", _CONV2D, x, w, (N, O, OH, OW),
                      (N, C, H, W, O, kh, kw, *stride, *padding, *dilation, OH, OW, groups))


def conv2d_grad_input(gy: np.ndarray, w: np.ndarray, input_hw: Pair, stride: Pair, padding: Pair,
                      dilation: Pair, groups: int = 1) -> np.ndarray:
    """∂L/∂x of ``conv2d`` in C; same contract as ``numpy_ref.conv2d_grad_input``."""
    return _run_conv(_conv2d_grad_input_plan, gy, w, input_hw, stride, padding, dilation, groups)


def _conv2d_grad_input_plan(key: tuple, gy: np.ndarray, w: np.ndarray, input_hw: Pair, stride: Pair, padding: Pair,
                            dilation: Pair, groups: int) -> tuple:
    """The plan of a conv2d_grad_input call after checking its arguments (its first call with this signature)."""
    if gy.ndim != 4 or w.ndim != 4:
        _check_4d("conv2d_grad_input", gy=gy, w=w)
    (N, O, OH, OW), (Ow, Cg, kh, kw) = gy.shape, w.shape
    numpy_ref.check_groups("conv2d_grad_input", groups, (Ow,), gy.shape, w.shape)
    out_hw = _check_window("conv2d_grad_input", input_hw, (kh, kw), stride, padding, dilation)
    if O != Ow or out_hw != (OH, OW):
        raise ValueError(f"conv2d_grad_input: grad_output {gy.shape} does not match weight {w.shape} on an "
                         f"input of size {tuple(input_hw)} (expected (N, {Ow}, {out_hw[0]}, {out_hw[1]}))")
    C = Cg * groups
    return _conv_plan(key, "conv2d_grad_input", _CONV2D_GRAD_INPUT, gy, w, (N, C, *input_hw),
                      (N, C, *input_hw, O, kh, kw, *stride, *padding, *dilation, OH, OW, groups))


def conv2d_grad_weight(x: np.ndarray, gy: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
                       dilation: Pair, groups: int = 1) -> np.ndarray:
    """∂L/∂w of ``conv2d`` in C; same contract as ``numpy_ref.conv2d_grad_weight``."""
    return _run_conv(_conv2d_grad_weight_plan, x, gy, kernel_hw, stride, padding, dilation, groups)


def _conv2d_grad_weight_plan(key: tuple, x: np.ndarray, gy: np.ndarray, kernel_hw: Pair, stride: Pair,
                             padding: Pair, dilation: Pair, groups: int) -> tuple:
    """The plan of a conv2d_grad_weight call after checking its arguments (its first call with this signature)."""
    if x.ndim != 4 or gy.ndim != 4:
        _check_4d("conv2d_grad_weight", x=x, gy=gy)
    (N, C, H, W), (Ng, O, OH, OW) = x.shape, gy.shape
    numpy_ref.check_groups("conv2d_grad_weight", groups, (C, O), x.shape, gy.shape)
    out_hw = _check_window("conv2d_grad_weight", (H, W), kernel_hw, stride, padding, dilation)
    if N != Ng or out_hw != (OH, OW):
        raise ValueError(f"conv2d_grad_weight: grad_output {gy.shape} does not match input {x.shape} with "
                         f"kernel {tuple(kernel_hw)} (expected ({N}, O, {out_hw[0]}, {out_hw[1]}))")
    return _conv_plan(key, "conv2d_grad_weight", _CONV2D_GRAD_WEIGHT, x, gy, (O, C // groups, *kernel_hw),
                      (N, C, H, W, O, *kernel_hw, *stride, *padding, *dilation, OH, OW, groups))


# A pooling plan: (op name, kernel, geometry struct, output shape, dtype)


def _pool_plan(key: tuple | None, op: str, which: int, x: np.ndarray, input_shape: tuple[int, ...], kernel_hw: Pair,
               stride: Pair, padding: Pair, dilation: Pair) -> tuple:
    """The plan of a pooling call on (N, C, H, W) = input_shape, after checking x's dtype and the window;
    cached under `key` unless it is None."""
    if x.ndim != 4:
        _check_4d(op, x=x)
    _check_kernel_dtype(op, x)
    if len(input_shape) != 4:
        raise ValueError(f"{op}: input_shape must be (N, C, H, W), got {tuple(input_shape)}")
    N, C, H, W = input_shape
    OH, OW = _check_window(op, (H, W), kernel_hw, stride, padding, dilation)
    sizes = ffi.new("struct tg_pool2d_geometry *", (N * C, H, W, *kernel_hw, *stride, *padding, *dilation, OH, OW))
    plan = (op, _POOL[x.dtype][which], sizes, (N, C, OH, OW), x.dtype)
    return plan if key is None else _keep_plan(key, plan)


def max_pool2d(x: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
               dilation: Pair = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling in C -> (y, flat argmax indices); same contract as ``numpy_ref.max_pool2d``."""
    key = (_MAX_POOL2D, x.dtype, x.shape, kernel_hw, stride, padding, dilation)
    try:
        plan = _scratch.plans[key]
    except _PLAN_MISSING:
        plan = None
    if plan is None:  # the first call like this one in this thread: check everything
        plan = _pool_plan(key, "max_pool2d", _MAX_POOL2D, x, x.shape, kernel_hw, stride, padding, dilation)
    op, kernel, sizes, out_shape, dtype = plan
    y = _empty(out_shape, dtype)
    indices = _empty(out_shape, _INDEX_DTYPE)
    try:
        px = _from_buffer(x)
    except ValueError:  # cffi takes C-contiguous arrays only: copy a strided view
        px = _from_buffer(np.ascontiguousarray(x))
    status = kernel(sizes, px, _from_buffer(y), _from_buffer(indices))
    if status:
        _raise_on(op, status, x.shape)
    return y, indices


def max_pool2d_grad(gy: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """∂L/∂x of max pooling in C; same contract as ``numpy_ref.max_pool2d_grad``."""
    key = (_MAX_POOL2D_GRAD, gy.dtype, indices.dtype, gy.shape, indices.shape, input_shape)
    try:
        plan = _scratch.plans[key]
    except _PLAN_MISSING:
        plan = None
    if plan is None:  # the first call like this one in this thread: check everything
        op = "max_pool2d_grad"
        if gy.ndim != 4:
            _check_4d(op, gy=gy)
        _check_kernel_dtype(op, gy)
        if (not np.issubdtype(indices.dtype, np.integer) or indices.shape != gy.shape or len(input_shape) != 4
                or tuple(input_shape[:2]) != gy.shape[:2] or min(input_shape[2:]) < 1):
            raise ValueError(f"{op}: grad_output {gy.shape} and integer indices {indices.shape} "
                             f"({indices.dtype}) must match the input {tuple(input_shape)} in (N, C)")
        if indices.dtype != _INDEX_DTYPE:  # C reads int64: convert (this signature is then never cached)
            return max_pool2d_grad(gy, indices.astype(_INDEX_DTYPE), input_shape)
        N, C, H, W = input_shape
        # Only planes, h, w, oh, ow matter: the indices say where each gradient goes, not a window.
        sizes = ffi.new("struct tg_pool2d_geometry *", {"planes": N * C, "h": H, "w": W, "oh": gy.shape[2],
                                                         "ow": gy.shape[3]})
        plan = _keep_plan(key, (op, _POOL[gy.dtype][_MAX_POOL2D_GRAD], sizes, (N, C, H, W), gy.dtype))
    op, kernel, sizes, out_shape, dtype = plan
    gx = _empty(out_shape, dtype)
    try:
        pgy, pindices = _from_buffer(gy), _from_buffer(indices)
    except ValueError:  # cffi takes C-contiguous arrays only: copy the strided view(s)
        pgy, pindices = _from_buffer(np.ascontiguousarray(gy)), _from_buffer(np.ascontiguousarray(indices))
    status = kernel(sizes, pgy, pindices, _from_buffer(gx))
    if status:
        _raise_on(f"{op} (an index outside its input plane?)", status, gy.shape, out_shape)
    return gx


def avg_pool2d(x: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling in C; same contract as ``numpy_ref.avg_pool2d``."""
    key = (_AVG_POOL2D, x.dtype, x.shape, kernel_hw, stride, padding)
    try:
        plan = _scratch.plans[key]
    except _PLAN_MISSING:
        plan = None
    if plan is None:  # the first call like this one in this thread: check everything
        plan = _pool_plan(key, "avg_pool2d", _AVG_POOL2D, x, x.shape, kernel_hw, stride, padding, (1, 1))
    op, kernel, sizes, out_shape, dtype = plan
    y = _empty(out_shape, dtype)
    try:
        px = _from_buffer(x)
    except ValueError:  # cffi takes C-contiguous arrays only: copy a strided view
        px = _from_buffer(np.ascontiguousarray(x))
    status = kernel(sizes, px, _from_buffer(y), 1 if count_include_pad else 0)
    if status:
        _raise_on(op, status, x.shape)
    return y


def avg_pool2d_grad(gy: np.ndarray, input_shape: tuple[int, ...], kernel_hw: Pair, stride: Pair,
                    padding: Pair, count_include_pad: bool = True) -> np.ndarray:
    """∂L/∂x of average pooling in C; same contract as ``numpy_ref.avg_pool2d_grad``."""
    op, kernel, sizes, out_shape, dtype = _pool_plan(None, "avg_pool2d_grad", _AVG_POOL2D_GRAD, gy,
                                                            input_shape, kernel_hw, stride, padding, (1, 1))
    N, C, H, W = input_shape
    if gy.shape != out_shape:
        raise ValueError(f"{op}: grad_output {gy.shape} does not match the pooled input "
                         f"{tuple(input_shape)} (expected {out_shape})")
    gx = np.empty((N, C, H, W), dtype)
    try:
        pgy = _from_buffer(gy)
    except ValueError:  # cffi takes C-contiguous arrays only: copy a strided view
        pgy = _from_buffer(np.ascontiguousarray(gy))
    status = kernel(sizes, pgy, _from_buffer(gx), 1 if count_include_pad else 0)
    if status:
        _raise_on(op, status, gy.shape, tuple(input_shape))
    return gx


# ---- int8 GEMM (csrc/qgemm.c) ----
# Same contracts as numpy_ref.qgemm / qconv2d / qlinear, bit for bit. The workspace is one byte
# buffer per Python thread that grows to the largest call seen (fresh large buffers would cost
# page faults on every call). qlinear is the 1×1 convolution of (M, K, 1, 1).

QGEMM_PATHS = {lib.TG_QGEMM_PORTABLE: "portable", lib.TG_QGEMM_AVX2: "avx2", lib.TG_QGEMM_AVX512_VNNI: "avx512-vnni",
               lib.TG_QGEMM_AVX_VNNI: "avx-vnni"}


def qgemm_path() -> str:
    """The int8 kernel the current ISA level runs: ``"avx512-vnni"``, ``"avx-vnni"``, ``"avx2"`` or ``"portable"``."""
    _isa_level()  # raises when TINYGRAD_EDU_ISA is unknown
    return QGEMM_PATHS[lib.tg_qgemm_path()]


def allow_vnni(allow: bool) -> None:
    """Let the int8 kernels use the VNNI instructions (default) or not: for tests and benchmarks,
    so that the AVX2 (vpmaddwd) kernel also runs on a CPU with VNNI; ``set_isa`` picks the level."""
    lib.tg_qgemm_allow_vnni(int(bool(allow)))


def _byte_workspace(nbytes: int) -> tuple[object, int]:
    """This Python thread's scratch bytes, at least `nbytes` long."""
    work = getattr(_scratch, "qgemm", None)
    if work is None or work.size < nbytes:
        work = _scratch.qgemm = np.empty(max(nbytes, 1), dtype=np.uint8)
    return _from_buffer("uint8_t[]", work, require_writable=True), work.size


def _qgemm_status(op: str, status: int, *shapes: tuple[int, ...]) -> None:
    if status == lib.TG_QGEMM_BAD_ISA:
        _isa_level()  # raises the error that names TINYGRAD_EDU_ISA
    if status:
        raise ValueError(f"{op}: the C kernel rejected shapes {shapes} (status {status})")


def _check_int8(op: str, **arrays: np.ndarray) -> None:
    for label, a in arrays.items():
        if a.dtype != np.int8:
            raise ValueError(f"{op}: {label} must be int8, got {a.dtype} (shape {a.shape})")


def _check_k(op: str, k: int, *shapes: tuple[int, ...]) -> None:
    if k > numpy_ref.QGEMM_MAX_K:
        raise ValueError(f"{op}: sums over k = {k} > {numpy_ref.QGEMM_MAX_K} terms may overflow int32; shapes {shapes}")


def qgemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int8 (m, k) · int8 (k, n) -> exact int32 (m, n) in C; same contract as ``numpy_ref.qgemm``."""
    numpy_ref.check_qgemm_operands(a, b)
    (m, k), n = a.shape, b.shape[1]
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    c = np.empty((m, n), dtype=np.int32)
    work, work_len = _byte_workspace(lib.tg_qgemm_workspace(m, n, k))
    status = lib.tg_qgemm_s8s8s32(m, n, k, _from_buffer("int8_t[]", a), k, _from_buffer("int8_t[]", b), n,
                                  _from_buffer("int32_t[]", c, require_writable=True), n, work, work_len)
    _qgemm_status("qgemm", status, a.shape, b.shape)
    return c


def _channel_vector(op: str, label: str, v: np.ndarray | None, channels: int) -> np.ndarray | None:
    """scale or bias as a contiguous float32 vector of one value per output channel (None stays None)."""
    if v is None:
        return None
    if v.dtype != np.float32 or v.shape != (channels,):
        raise ValueError(f"{op}: {label} must be float32 of shape ({channels},), got {v.dtype} {v.shape}")
    return np.ascontiguousarray(v)


def qconv2d(x: np.ndarray, inv_scale: float, w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None,
            stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """int8 convolution of a float32 input in C; same contract as ``numpy_ref.qconv2d``."""
    _check_4d("qconv2d", x=x, w=w)
    _check_int8("qconv2d", w=w)
    if x.dtype != np.float32:
        raise ValueError(f"qconv2d: x must be float32, got {x.dtype} (shape {x.shape})")
    (N, C, H, W), (O, Cw, kh, kw) = x.shape, w.shape
    if C != Cw:
        raise ValueError(f"qconv2d: input {x.shape} has {C} channels but weight {w.shape} expects {Cw}")
    _check_k("qconv2d", C * kh * kw, x.shape, w.shape)
    OH, OW = _check_window("qconv2d", (H, W), (kh, kw), stride, padding, dilation)
    scale, bias = _channel_vector("qconv2d", "scale", scale, O), _channel_vector("qconv2d", "bias", bias, O)
    y = np.empty((N, O, OH, OW), dtype=np.float32)
    if N == 0:
        return y
    geometry = (N, C, H, W, O, kh, kw, *stride, *padding, *dilation)
    work, work_len = _byte_workspace(lib.tg_qconv2d_workspace(_threads, *geometry))
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    bias_pointer = ffi.NULL if bias is None else _from_buffer("float[]", bias)
    status = lib.tg_qconv2d_f32(_from_buffer("float[]", x), float(inv_scale), _from_buffer("int8_t[]", w),
                                _from_buffer("float[]", scale), bias_pointer,
                                _from_buffer("float[]", y, require_writable=True), work, work_len, *geometry)
    _qgemm_status("qconv2d", status, x.shape, w.shape)
    return y


def qlinear(x: np.ndarray, inv_scale: float, w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """int8 linear layer of a float32 input in C; same contract as ``numpy_ref.qlinear``."""
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"qlinear: expected x (M, K) and weight (N, K), got shapes {x.shape} and {w.shape}")
    (M, K), N = x.shape, w.shape[0]
    y = qconv2d(x.reshape(M, K, 1, 1), inv_scale, w.reshape(N, K, 1, 1), scale, bias, (1, 1), (0, 0), (1, 1))
    return y.reshape(M, N)
# ---- end of int8 GEMM ----


# ---- fused softmax-cross-entropy and bias+activation (csrc/fused.c) ----
# Same contracts as numpy_ref's section. Checks happen here (shapes, dtypes, activation
# names) and the C kernels re-check sizes and targets; a target out of range comes back as
# a status and raises the reference's IndexError.

_ACTIVATION_CODES = {"none": lib.TG_ACT_NONE, "relu": lib.TG_ACT_RELU}
# dtype -> (cffi array type, cross_entropy, cross_entropy_grad, bias_act, act_grad kernels).
# Every training step calls these a few times on small arrays, where the Python around the C call
# costs more than the C work, hence: array types made once with ffi.typeof (from_buffer given the
# type skips parsing "float[]"), ``_from_buffer(ctype, out, True)`` with require_writable passed
# positionally (as a keyword it costs twice as much), and the checks written out inline.
_FUSED = _kernel_table("cross_entropy", "cross_entropy_grad", "bias_act", "act_grad")
_INT64_ARRAY, _DOUBLE_ARRAY, _FLOAT64 = ffi.typeof("int64_t[]"), ffi.typeof("double[]"), np.dtype(np.float64)


def _contiguous(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """a as a C-contiguous array of ``dtype``: a itself when it is one already (np.ascontiguousarray with a
    dtype argument costs ~0.4 µs even then)."""
    return a if a.dtype == dtype and a.flags.c_contiguous else np.ascontiguousarray(a, dtype=dtype)


def _fused_check(op: str, status: int, classes: int = 0) -> None:
    if status == lib.TG_FUSED_BAD_TARGET:
        raise numpy_ref.target_range_error(op, classes)
    if status:
        raise ValueError(f"{op}: the C kernel rejected its arguments (status {status})")


def cross_entropy(x: np.ndarray, target: np.ndarray, weight: np.ndarray, ignore_index: int,
                  label_smoothing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Softmax-cross-entropy in C (csrc/fused.c); same contract as ``numpy_ref.cross_entropy``."""
    numpy_ref.check_cross_entropy_args("cross_entropy", x, target, weight)
    kernels = _FUSED.get(x.dtype)
    if kernels is None:  # float16 (the check allows it)
        raise _no_kernel("cross_entropy", x, weight)
    ctype, kernel = kernels[0], kernels[1]
    x, weight, target = np.ascontiguousarray(x), np.ascontiguousarray(weight), _contiguous(target, _INDEX_DTYPE)
    rows, classes = x.shape
    loss, row_weight = _empty(rows, x.dtype), _empty(rows, x.dtype)  # (unpacking a (2, rows) array raises IndexError)
    probs = _empty((rows, classes), x.dtype)
    totals = _empty(2, _FLOAT64)
    status = kernel(_from_buffer(ctype, x), _from_buffer(_INT64_ARRAY, target), _from_buffer(ctype, weight),
                    rows, classes, ignore_index, label_smoothing, _from_buffer(ctype, loss, True),
                    _from_buffer(ctype, probs, True), _from_buffer(ctype, row_weight, True),
                    _from_buffer(_DOUBLE_ARRAY, totals, True))
    if status:
        _fused_check("cross_entropy", status, classes)
    return loss, probs, row_weight, totals


def cross_entropy_grad(p: np.ndarray, target: np.ndarray, weight: np.ndarray, scale: np.ndarray, ignore_index: int,
                       label_smoothing: float) -> np.ndarray:
    """∂L/∂x of the softmax-cross-entropy in C; same contract as ``numpy_ref.cross_entropy_grad``."""
    numpy_ref.check_cross_entropy_args("cross_entropy_grad", p, target, weight)
    rows, classes = p.shape
    if scale.shape != (rows,):
        raise ValueError(f"cross_entropy_grad: scale must have shape ({rows},), got {scale.shape}")
    kernels = _FUSED.get(p.dtype)
    if kernels is None:  # float16 (the check allows it)
        raise _no_kernel("cross_entropy_grad", p, weight)
    ctype, kernel = kernels[0], kernels[2]
    p, weight = np.ascontiguousarray(p), np.ascontiguousarray(weight)
    scale, target = _contiguous(scale, p.dtype), _contiguous(target, _INDEX_DTYPE)
    gx = _empty((rows, classes), p.dtype)
    status = kernel(_from_buffer(ctype, p), _from_buffer(_INT64_ARRAY, target), _from_buffer(ctype, weight),
                    _from_buffer(ctype, scale), rows, classes, ignore_index, label_smoothing,
                    _from_buffer(ctype, gx, True))
    if status:
        _fused_check("cross_entropy_grad", status, classes)
    return gx


def _c_order(a: np.ndarray) -> np.ndarray:
    """a in C order (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return a if a.flags.c_contiguous else np.asarray(a, order="C")


def _fused_kernels(op: str, activation: str, a: np.ndarray, b: np.ndarray | None,
                   c: np.ndarray | None = None) -> tuple[int, tuple]:
    """(activation code, the _FUSED entry of the arrays' dtype) for arrays a, b, c (None: absent);
    ValueError naming op for an unknown activation, NoKernelError for dtypes without a kernel."""
    dtype = a.dtype
    code, kernels = _ACTIVATION_CODES.get(activation), _FUSED.get(dtype)
    if code is None or kernels is None or (b is not None and b.dtype != dtype) or (c is not None and c.dtype != dtype):
        numpy_ref.check_activation(op, activation)  # raises for an unknown activation
        raise _no_kernel(op, *[array for array in (a, b, c) if array is not None])
    return code, kernels


def _bias_act_into(op: str, code: int, kernels: tuple, x: np.ndarray, bias: np.ndarray | None, y: np.ndarray) -> None:
    """y = act(x + b) by the bias_act kernel of ``kernels`` (x, y C-contiguous, y may be x; b fits x's last dim)."""
    ctype, kernel = kernels[0], kernels[3]
    if bias is None:
        cols, bias_pointer = x.size, ffi.NULL  # no bias: one long row, the fastest loop
    else:
        cols = x.shape[-1]
        if bias.shape != (cols,):
            raise ValueError(f"{op}: bias of shape {bias.shape} does not fit an input of shape {x.shape}")
        bias_pointer = _from_buffer(ctype, _c_order(bias))
    status = kernel(_from_buffer(ctype, x), bias_pointer, _from_buffer(ctype, y, True), x.size // cols if cols else 0,
                    cols, code)
    if status:
        _fused_check(op, status)


def bias_act(x: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    """y = act(x + b) in one C pass; same contract as ``numpy_ref.bias_act``."""
    code, kernels = _fused_kernels("bias_act", activation, x, bias)
    x = _c_order(x)
    y = _empty(x.shape, x.dtype)
    _bias_act_into("bias_act", code, kernels, x, bias, y)
    return y


def act_grad(g: np.ndarray, y: np.ndarray, activation: str, bias_grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """gx = g ⊙ act'(y) and optionally its sum over rows, in one C pass; same contract as ``numpy_ref.act_grad``."""
    code, kernels = _fused_kernels("act_grad", activation, g, y)
    if g.shape != y.shape:
        raise ValueError(f"act_grad: gradient of shape {g.shape} does not match the output of shape {y.shape}")
    ctype, kernel = kernels[0], kernels[4]
    g, y = _c_order(g), _c_order(y)
    cols = g.shape[-1] if bias_grad else g.size  # no bias gradient: one long row, the fastest loop
    gx = _empty(g.shape, g.dtype)
    gbias = _empty(cols, g.dtype) if bias_grad else None
    status = kernel(_from_buffer(ctype, g), _from_buffer(ctype, y), _from_buffer(ctype, gx, True),
                    ffi.NULL if gbias is None else _from_buffer(ctype, gbias, True), g.size // cols if cols else 0,
                    cols, code)
    if status:
        _fused_check("act_grad", status)
    return gx, gbias


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    """y = act(x wᵀ + b): one GEMM (wᵀ passed as strides, not copied), then bias and activation
    in one C pass over the fresh output; same contract as ``numpy_ref.linear``."""
    # checked before the GEMM: a dtype without a kernel raises NoKernelError before any work is done
    code, kernels = _fused_kernels("linear", activation, x, w, bias)
    y = matmul(x, w.T)
    if bias is not None or activation != "none":
        _bias_act_into("linear", code, kernels, y, bias, y)
    return y


# ---- end of fused softmax-cross-entropy and bias+activation ----


# ---- LSTM cell (csrc/lstm.c) ----
# Shapes: gates/acts/d_gates (B, G·H) in PyTorch's gate order (LSTM: G = 4, i, f, g, o; GRU: G = 3,
# r, z, n); everything else (B, H). The recurrent layers call these once per time step, so the
# checks are plain comparisons: per-call overhead is the cost here, not the arithmetic.

# dtype -> (cffi array type, forward kernel, backward kernel)
_LSTM_KERNELS = _kernel_table("lstm_cell", "lstm_cell_backward")
_GRU_KERNELS = _kernel_table("gru_cell", "gru_cell_backward")


def _cell_check(op: str, table: dict, wide: tuple[np.ndarray, ...], narrow: tuple[np.ndarray, ...],
                names: tuple[str, ...]) -> tuple[object, object, object, int, int]:
    """(ctype, forward kernel, backward kernel, B, H) from ``table`` (_LSTM_KERNELS: G = 4 gates,
    _GRU_KERNELS: G = 3) after checking one float dtype for all arrays, (B, G·H) for the ``wide``
    ones and (B, H) for the ``narrow`` ones (``names`` in that order). Plain loops, no generators:
    this runs twice per time step; ``_cell_error`` says what is wrong when a check fails."""
    first = narrow[0]
    dtype, shape = first.dtype, first.shape
    kernels = table.get(dtype)
    if kernels is not None and len(shape) == 2:
        batch, hidden = shape
        wide_shape = (batch, (4 if table is _LSTM_KERNELS else 3) * hidden)
        for a in wide:
            if a.dtype != dtype or a.shape != wide_shape:
                break
        else:
            for a in narrow:
                if a.dtype != dtype or a.shape != shape:
                    break
            else:
                return (*kernels, batch, hidden)
    raise _cell_error(op, table, wide, narrow, names)


def _cell_error(op: str, table: dict, wide: tuple[np.ndarray, ...], narrow: tuple[np.ndarray, ...],
                names: tuple[str, ...]) -> ValueError:
    """What _cell_check found wrong: NoKernelError for dtypes without a kernel (the dispatcher then runs
    the NumPy reference), else ValueError naming the shapes."""
    arrays = wide + narrow
    dtype = narrow[0].dtype
    if dtype not in table or any(a.dtype != dtype for a in arrays):
        return _no_kernel(op, *arrays)
    gates = 4 if table is _LSTM_KERNELS else 3
    got = ", ".join(f"{name} {a.shape}" for name, a in zip(names, arrays))
    return ValueError(f"{op}: expected {'/'.join(names[:len(wide)])} of shape (B, {gates}H) and "
                      f"{'/'.join(names[len(wide):])} of shape (B, H), got {got}")


def _cell_outputs(op: str, ctype: object, out: tuple[np.ndarray, ...] | None, shapes: tuple[tuple[int, int], ...],
                  dtype: np.dtype) -> tuple[tuple[np.ndarray, ...], list]:
    """(output arrays, writable pointers to them): new arrays, or the caller's ``out`` after checking
    their shapes and dtype (cffi refuses one that is read-only or not C-contiguous)."""
    if out is None:
        out = tuple([np.empty(shape, dtype=dtype) for shape in shapes])
    elif len(out) == len(shapes):
        for a, shape in zip(out, shapes):
            if a.shape != shape or a.dtype != dtype:
                break
        else:
            try:
                return tuple(out), [_from_buffer(ctype, a, True) for a in out]
            except ValueError:  # read-only or strided
                pass
        raise ValueError(f"{op}: out must be {len(shapes)} writable C-contiguous {dtype} arrays of shapes {shapes}, "
                         f"got {[(a.shape, a.dtype) for a in out]}")
    return out, [_from_buffer(ctype, a, True) for a in out]


def _check_bias(op: str, name: str, bias: np.ndarray | None, width: int, dtype: np.dtype) -> None:
    """ValueError unless ``bias`` is None (no bias) or of shape (width,) and dtype ``dtype``."""
    if bias is not None and (bias.shape != (width,) or bias.dtype != dtype):
        raise ValueError(f"{op}: expected {name} of shape ({width},) and dtype {dtype}, got {bias.shape} {bias.dtype}")


# The out= rule of the cells (numpy_ref.check_out_apart; backward: no overlap at all, forward: exactly an
# input, in place, or no overlap) is checked in C, where it costs nanoseconds instead of a microsecond or two
# of np.may_share_memory per call: status 4, nothing written, and the reference's check then names the pair.
# C sees the arrays it is given, though: the caller's contiguous ones, but only a copy of a strided input,
# which overlaps nothing. So an adapter that copies an input (the rare path: cffi refused a strided array)
# runs the reference's check on the caller's arrays first; both backends then raise the same error, where C
# would otherwise compute from the copy and overwrite the caller's input.
_CELL_OVERLAP = 4  # csrc/lstm.c: an out array overlaps another array of the cell (nothing written)


def _copied_inputs(op: str, ctype: object, out: tuple[np.ndarray, ...] | None, inputs: tuple[np.ndarray | None, ...],
                   names: tuple[str, ...], in_place: bool) -> list:
    """Pointers to C-contiguous copies of a cell's ``inputs`` (None: NULL), after checking the caller's
    ``out`` (if any) against the inputs themselves (see above)."""
    if out is not None:
        numpy_ref.check_out_apart(op, out, inputs, names, in_place)
    return [ffi.NULL if a is None else _from_buffer(ctype, np.ascontiguousarray(a)) for a in inputs]


def _raise_cell_status(op: str, status: int, out: tuple[np.ndarray, ...], inputs: tuple[np.ndarray | None, ...],
                       names: tuple[str, ...], in_place: bool, *shapes: tuple[int, ...]) -> None:
    """Raise the error for a cell's nonzero status (4: the reference's check_out_apart names the pair)."""
    if status == _CELL_OVERLAP:
        numpy_ref.check_out_apart(op, out, inputs, names, in_place)
    _raise_on(op, status, *shapes)


def lstm_cell(gates: np.ndarray, c_prev: np.ndarray,
              out: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
              gates_x: np.ndarray | None = None, bias: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """One LSTM step in C -> (h, c, acts, tanh_c); same contract as ``numpy_ref.lstm_cell``."""
    wide = (gates,) if gates_x is None else (gates, gates_x)
    names = ("gates", "c_prev") if gates_x is None else ("gates", "gates_x", "c_prev")
    ctype, kernel, _, batch, hidden = _cell_check("lstm_cell", _LSTM_KERNELS, wide, (c_prev,), names)
    _check_bias("lstm_cell", "bias", bias, 4 * hidden, gates.dtype)
    try:
        inputs = (_from_buffer(ctype, gates), ffi.NULL if gates_x is None else _from_buffer(ctype, gates_x),
                  ffi.NULL if bias is None else _from_buffer(ctype, bias), _from_buffer(ctype, c_prev))
    except ValueError:  # cffi refused a strided input
        inputs = _copied_inputs("lstm_cell", ctype, out, (gates, gates_x, bias, c_prev), numpy_ref.LSTM_CELL_NAMES,
                                True)
    narrow = (batch, hidden)
    out, pointers = _cell_outputs("lstm_cell", ctype, out, (narrow, narrow, (batch, 4 * hidden), narrow), gates.dtype)
    status = kernel(*inputs, *pointers, batch, hidden)
    if status:
        _raise_cell_status("lstm_cell", status, out, (gates, gates_x, bias, c_prev), numpy_ref.LSTM_CELL_NAMES,
                           True, gates.shape, c_prev.shape)
    return out


def lstm_cell_backward(dh: np.ndarray, dc: np.ndarray, acts: np.ndarray, c_prev: np.ndarray, tanh_c: np.ndarray,
                       out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The LSTM step backwards in C -> (∂L/∂z, ∂L/∂c_prev); same contract as ``numpy_ref.lstm_cell_backward``."""
    ctype, _, kernel, batch, hidden = _cell_check("lstm_cell_backward", _LSTM_KERNELS, (acts,),
                                                  (dh, dc, c_prev, tanh_c), ("acts", "dh", "dc", "c_prev", "tanh_c"))
    try:
        inputs = (_from_buffer(ctype, dh), _from_buffer(ctype, dc), _from_buffer(ctype, acts),
                  _from_buffer(ctype, c_prev), _from_buffer(ctype, tanh_c))
    except ValueError:  # cffi refused a strided input
        inputs = _copied_inputs("lstm_cell_backward", ctype, out, (dh, dc, acts, c_prev, tanh_c),
                                numpy_ref.LSTM_CELL_BACKWARD_NAMES, False)
    out, pointers = _cell_outputs("lstm_cell_backward", ctype, out, ((batch, 4 * hidden), (batch, hidden)), dh.dtype)
    status = kernel(*inputs, *pointers, batch, hidden)
    if status:
        _raise_cell_status("lstm_cell_backward", status, out, (dh, dc, acts, c_prev, tanh_c),
                           numpy_ref.LSTM_CELL_BACKWARD_NAMES, False, dh.shape, acts.shape)
    return out


def gru_cell(gates_x: np.ndarray, gates_h: np.ndarray, h_prev: np.ndarray,
             out: tuple[np.ndarray, np.ndarray] | None = None, bias_x: np.ndarray | None = None,
             bias_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One GRU step in C -> (h, acts); same contract as ``numpy_ref.gru_cell``."""
    ctype, kernel, _, batch, hidden = _cell_check("gru_cell", _GRU_KERNELS, (gates_x, gates_h), (h_prev,),
                                                  ("gates_x", "gates_h", "h_prev"))
    _check_bias("gru_cell", "bias_x", bias_x, 3 * hidden, h_prev.dtype)
    _check_bias("gru_cell", "bias_h", bias_h, 3 * hidden, h_prev.dtype)
    try:
        inputs = (_from_buffer(ctype, gates_x), ffi.NULL if bias_x is None else _from_buffer(ctype, bias_x),
                  _from_buffer(ctype, gates_h), ffi.NULL if bias_h is None else _from_buffer(ctype, bias_h),
                  _from_buffer(ctype, h_prev))
    except ValueError:  # cffi refused a strided input
        inputs = _copied_inputs("gru_cell", ctype, out, (gates_x, bias_x, gates_h, bias_h, h_prev),
                                numpy_ref.GRU_CELL_NAMES, True)
    out, pointers = _cell_outputs("gru_cell", ctype, out, ((batch, hidden), (batch, 3 * hidden)), h_prev.dtype)
    status = kernel(*inputs, *pointers, batch, hidden)
    if status:
        _raise_cell_status("gru_cell", status, out, (gates_x, bias_x, gates_h, bias_h, h_prev),
                           numpy_ref.GRU_CELL_NAMES, True, gates_x.shape, h_prev.shape)
    return out


def gru_cell_backward(dh: np.ndarray, acts: np.ndarray, gates_h: np.ndarray, h_prev: np.ndarray,
                      out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                      bias_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The GRU step backwards in C; same contract as ``numpy_ref.gru_cell_backward``."""
    ctype, _, kernel, batch, hidden = _cell_check("gru_cell_backward", _GRU_KERNELS, (acts, gates_h), (dh, h_prev),
                                                  ("acts", "gates_h", "dh", "h_prev"))
    _check_bias("gru_cell_backward", "bias_h", bias_h, 3 * hidden, dh.dtype)
    try:
        inputs = (_from_buffer(ctype, dh), _from_buffer(ctype, acts), _from_buffer(ctype, gates_h),
                  ffi.NULL if bias_h is None else _from_buffer(ctype, bias_h), _from_buffer(ctype, h_prev))
    except ValueError:  # cffi refused a strided input
        inputs = _copied_inputs("gru_cell_backward", ctype, out, (dh, acts, gates_h, bias_h, h_prev),
                                numpy_ref.GRU_CELL_BACKWARD_NAMES, False)
    wide = (batch, 3 * hidden)
    out, pointers = _cell_outputs("gru_cell_backward", ctype, out, (wide, wide, (batch, hidden)), dh.dtype)
    status = kernel(*inputs, *pointers, batch, hidden)
    if status:
        _raise_cell_status("gru_cell_backward", status, out, (dh, acts, gates_h, bias_h, h_prev),
                           numpy_ref.GRU_CELL_BACKWARD_NAMES, False, dh.shape, acts.shape)
    return out


# ---- end of LSTM cell ----


# ---- optimiser updates (csrc/optim.c) ----
# One C call per parameter and step: the loop over parameters stays in Python (optim/optimizer.py),
# the loop over a parameter's elements runs in C, in one pass. (The Python part costs about 1.3 µs
# (SGD) to 2.3 µs (Adam) per parameter tensor, from Optimizer.step to the C call; one call for all
# tensors would still need a pointer per array per step, so it could save about half of that,
# ~5-10 µs a step for the benchmark models, and would spread each algorithm over a group-wide
# pointer layout.)
# The parameter and its state buffers are written in place, so they must be C-contiguous and
# writeable; for a parameter that is not (a strided view) or has no C type (float16) the adapter
# raises NoKernelError and the dispatcher runs the NumPy reference, which handles any layout. A strided
# gradient is copied to a contiguous one (it is only read). No two of the arrays may share memory (status 4
# of the C kernels; numpy_ref.check_update_arrays names the pair, and runs first when grad is copied).

# op -> dtype -> (cffi array type, kernel)
_UPDATE_KERNELS = {op: _kernel_table(op) for op in ("sgd_update", "adam_update", "rmsprop_update", "adagrad_update",
                                                    "adadelta_update", "adamax_update", "nadam_update",
                                                    "radam_update", "rprop_update", "asgd_update")}


def _optim_pointers(op: str, param: np.ndarray, grad: np.ndarray, *state: np.ndarray | None) -> list:
    """[kernel ``tg_<op>_f32/_f64``, pointers to param, grad, *state]; a state buffer given as None becomes
    NULL (its option is off). The checks are those of ``numpy_ref.check_update_arrays`` (one shape and dtype
    for all; param and state writeable), made as cheaply as possible: this runs for every parameter at every
    step, and cffi itself refuses a read-only or strided array (ValueError), so only then are the arrays
    looked at again, by ``_update_error``.
    """
    shape, dtype = param.shape, param.dtype
    kernels = _UPDATE_KERNELS[op].get(dtype)
    if kernels is not None and grad.shape == shape and grad.dtype == dtype:
        ctype, kernel = kernels
        if not grad.flags.c_contiguous:  # only read: a copy will do, but C cannot see that the caller's grad
            numpy_ref.check_update_arrays(op, param, grad, *state)  # aliases a written array: checked here
            grad = np.ascontiguousarray(grad)
        try:
            pointers = [kernel, _from_buffer(ctype, param, True), _from_buffer(ctype, grad)]
            for a in state:
                if a is None:
                    pointers.append(ffi.NULL)
                elif a.shape == shape and a.dtype == dtype:
                    pointers.append(_from_buffer(ctype, a, True))
                else:
                    break
            else:
                return pointers
        except ValueError:  # cffi refused a read-only or strided array
            pass
    raise _update_error(op, param, grad, state)


def _update_error(op: str, param: np.ndarray, grad: np.ndarray, state: tuple[np.ndarray | None, ...]) -> ValueError:
    """The error for arguments _optim_pointers cannot pass to C: ValueError from ``check_update_arrays`` (raised
    here) for arrays that do not match or are read-only; else NoKernelError (float16; a strided parameter or
    state buffer: C updates in place), for the dispatcher to run the NumPy reference."""
    numpy_ref.check_update_arrays(op, param, grad, *state)  # raises, naming what does not match
    if param.dtype not in _UPDATE_KERNELS[op]:
        return _no_kernel(op, param, grad)
    return NoKernelError(f"{op}: no C kernel for a parameter or state buffer that is not C-contiguous (C updates "
                         f"in place); parameter {param.shape} with strides {param.strides}")


_UPDATE_OVERLAP = 4  # csrc/optim.c: two of the update's arrays share memory (nothing written)


def _check_status(op: str, status: int, param: np.ndarray, *arrays: np.ndarray | None) -> None:
    """Raise the error for an update's nonzero status; ``arrays`` = (grad, *state) name the overlapping pair
    of status 4 (by the reference's ``check_update_arrays``, whose alias rule C applies)."""
    if status == _UPDATE_OVERLAP and arrays:
        numpy_ref.check_update_arrays(op, param, *arrays)
    if status:
        raise ValueError(f"{op}: the C kernel rejected its arguments (status {status}); parameter {param.shape}")


def sgd_update(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, lr: float,
               momentum: float, dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
               first_step: bool) -> None:
    """SGD step in C (csrc/optim.c); same contract as ``numpy_ref.sgd_update``."""
    kernel, p, g, b = _optim_pointers("sgd_update", param, grad, momentum_buffer)
    status = kernel(p, g, b, param.size, lr, momentum, dampening, weight_decay, nesterov, maximize, first_step)
    if status:
        _check_status("sgd_update", status, param, grad, momentum_buffer)


def adam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                max_exp_avg_sq: np.ndarray | None, lr: float, beta1: float, beta2: float, eps: float,
                weight_decay: float, decoupled_weight_decay: bool, maximize: bool, step_size: float,
                bias_correction2_sqrt: float) -> None:
    """Adam / AdamW step in C (csrc/optim.c); same contract as ``numpy_ref.adam_update``."""
    kernel, p, g, m, v, v_max = _optim_pointers("adam_update", param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)
    status = kernel(p, g, m, v, v_max, param.size, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay,
                    maximize, step_size, bias_correction2_sqrt)
    if status:
        _check_status("adam_update", status, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)


def rmsprop_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, grad_avg: np.ndarray | None,
                   momentum_buffer: np.ndarray | None, lr: float, alpha: float, eps: float, weight_decay: float,
                   momentum: float, maximize: bool) -> None:
    """RMSprop step in C (csrc/optim.c); same contract as ``numpy_ref.rmsprop_update``."""
    kernel, p, g, v, g_ave, b = _optim_pointers("rmsprop_update", param, grad, square_avg, grad_avg, momentum_buffer)
    status = kernel(p, g, v, g_ave, b, param.size, lr, alpha, eps, weight_decay, momentum, maximize)
    if status:
        _check_status("rmsprop_update", status, param, grad, square_avg, grad_avg, momentum_buffer)


def adagrad_update(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, lr: float, eps: float,
                   weight_decay: float, maximize: bool) -> None:
    """Adagrad step in C (csrc/optim.c); same contract as ``numpy_ref.adagrad_update``."""
    kernel, p, g, s = _optim_pointers("adagrad_update", param, grad, state_sum)
    status = kernel(p, g, s, param.size, lr, eps, weight_decay, maximize)
    if status:
        _check_status("adagrad_update", status, param, grad, state_sum)


def _run_update(op: str, param: np.ndarray, grad: np.ndarray, state: tuple[np.ndarray, ...], *options: float) -> None:
    """The C kernel of ``op`` on (param, grad, *state) with its scalar ``options``, in the kernel's argument order."""
    kernel, p, g, *buffers = _optim_pointers(op, param, grad, *state)
    status = kernel(p, g, *buffers, param.size, *options)
    if status:
        _check_status(op, status, param, grad, *state)


def adadelta_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, acc_delta: np.ndarray, lr: float,
                    rho: float, eps: float, weight_decay: float, maximize: bool) -> None:
    """Adadelta step in C (csrc/optim.c); same contract as ``numpy_ref.adadelta_update``."""
    _run_update("adadelta_update", param, grad, (square_avg, acc_delta), lr, rho, eps, weight_decay, maximize)


def adamax_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_inf: np.ndarray, lr: float,
                  beta1: float, beta2: float, eps: float, weight_decay: float, maximize: bool,
                  bias_correction1: float) -> None:
    """Adamax step in C (csrc/optim.c); same contract as ``numpy_ref.adamax_update``."""
    _run_update("adamax_update", param, grad, (exp_avg, exp_inf), lr, beta1, beta2, eps, weight_decay, maximize,
                bias_correction1)


def nadam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, lr: float,
                 beta1: float, beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
                 maximize: bool, bias_correction2: float, grad_coefficient: float, exp_avg_coefficient: float) -> None:
    """NAdam step in C (csrc/optim.c); same contract as ``numpy_ref.nadam_update``."""
    _run_update("nadam_update", param, grad, (exp_avg, exp_avg_sq), lr, beta1, beta2, eps, weight_decay,
                decoupled_weight_decay, maximize, bias_correction2, grad_coefficient, exp_avg_coefficient)


def radam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, lr: float,
                 beta1: float, beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
                 maximize: bool, bias_correction1: float, bias_correction2: float, rect: float | None) -> None:
    """RAdam step in C (csrc/optim.c); same contract as ``numpy_ref.radam_update`` (rect None is −1 for C)."""
    _run_update("radam_update", param, grad, (exp_avg, exp_avg_sq), lr, beta1, beta2, eps, weight_decay,
                decoupled_weight_decay, maximize, bias_correction1, bias_correction2, -1.0 if rect is None else rect)


def rprop_update(param: np.ndarray, grad: np.ndarray, prev: np.ndarray, step_size: np.ndarray, etaminus: float,
                 etaplus: float, step_size_min: float, step_size_max: float, maximize: bool) -> None:
    """Rprop step in C (csrc/optim.c); same contract as ``numpy_ref.rprop_update``."""
    _run_update("rprop_update", param, grad, (prev, step_size), etaminus, etaplus, step_size_min, step_size_max,
                maximize)


def asgd_update(param: np.ndarray, grad: np.ndarray, ax: np.ndarray, lambd: float, eta: float, mu: np.ndarray,
                weight_decay: float, maximize: bool) -> None:
    """ASGD step in C (csrc/optim.c); same contract as ``numpy_ref.asgd_update`` (μ's 0-d value, exact in double)."""
    _run_update("asgd_update", param, grad, (ax,), lambd, eta, float(mu), weight_decay, maximize)


# ---- end of optimiser updates ----


# ---- elementwise special functions (csrc/special.c) ----

SPECIAL_FUNCTIONS = ("erfc", "erfcx", "ndtr", "log_ndtr", "ndtri", "erfinv")
_SPECIAL = {name: _kernel_table(name) for name in ("erf", *SPECIAL_FUNCTIONS)}


def special(name: str, x: np.ndarray) -> np.ndarray:
    """y = f(x) elementwise in x's dtype for f = erf or one of ``SPECIAL_FUNCTIONS``: the vector kernels of
    csrc/special.c at the current ISA level; the NumPy reference of each is in numpy_ref / ops/special.py."""
    kernel = _SPECIAL[name].get(x.dtype)
    if kernel is None:
        raise _no_kernel(name, x)
    ctype, special_kernel = kernel
    if not x.flags.c_contiguous:
        x = x.copy()  # C order (np.ascontiguousarray would also turn a 0-d array into shape (1,))
    y = np.empty(x.shape, x.dtype)
    if special_kernel(_from_buffer(ctype, x), _from_buffer(ctype, y, True), x.size):  # require_writable
        _isa_level()  # the only failure left after the checks above: TINYGRAD_EDU_ISA is unknown
    return y


def erf(x: np.ndarray) -> np.ndarray:
    """erf elementwise in C; same contract as ``numpy_ref.erf``."""
    return special("erf", x)
# ---- end of elementwise special functions ----
