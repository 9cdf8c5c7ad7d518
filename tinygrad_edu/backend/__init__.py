"""The one module that knows there are two implementations of every hot kernel.

``numpy_ref`` is the readable reference; ``c`` (when the cffi extension was built) runs
the same kernels in C. Ops call ``backend.<kernel>(...)`` on NumPy arrays in their
forward passes and never care which implementation answers.

Selection happens once, at import: ``TINYGRAD_EDU_BACKEND=numpy|c`` if set, else ``c``
when the extension imports, else ``numpy``. An explicit request for ``c`` on a machine
without the extension raises instead of falling back silently.

One rule for what the C kernels do not cover: they are written for float32 and float64
(``c.KERNEL_DTYPES``). Given anything else (float16, integers, mixed dtypes, or an optimiser
state that is not C-contiguous) a C adapter raises ``NoKernelError`` before doing any work, and
the dispatcher below runs the NumPy reference instead. A ``try`` costs nothing in Python 3.11
until something is raised, so the float32/float64 calls pay nothing for this rule.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from . import numpy_ref

_ENV_BACKEND = "TINYGRAD_EDU_BACKEND"


class NoKernelError(ValueError):
    """Raised by a C adapter, before any work, for arguments it has no kernel for (e.g. float16).

    The dispatcher catches it and runs the NumPy reference. It is a ValueError that names the op,
    so a direct call of a ``backend.c`` function with such arguments still fails clearly.
    """


def _load_c() -> ModuleType | None:
    """Import the C adapter, or return None when the extension was not built."""
    try:
        from . import c
    except ImportError:
        return None
    return c


_c_module = _load_c()


def available() -> tuple[str, ...]:
    """The backends that can be used on this machine, e.g. ``("numpy", "c")``."""
    return ("numpy", "c") if _c_module is not None else ("numpy",)


def _module_for(name: str) -> ModuleType:
    if name == "numpy":
        return numpy_ref
    if name == "c":
        if _c_module is None:
            raise RuntimeError(
                "tinygrad_edu: the C backend was requested but the extension "
                "tinygrad_edu._kernels is not built. Reinstall with a C compiler present "
                "(pip install -e .) or build in place with: python csrc/_build.py"
            )
        return _c_module
    raise ValueError(f"tinygrad_edu: unknown backend {name!r}; choose one of {available()}")


_active: ModuleType = _module_for(os.environ.get(_ENV_BACKEND) or available()[-1])


def name() -> str:
    """The name of the active backend: ``"numpy"`` or ``"c"``."""
    return "numpy" if _active is numpy_ref else "c"


def use(backend_name: str) -> None:
    """Make ``backend_name`` ("numpy" or "c") the active backend for every kernel."""
    global _active
    _active = _module_for(backend_name)


@contextlib.contextmanager
def using(backend_name: str) -> Iterator[None]:
    """Context manager: run the block with ``backend_name`` active, then restore."""
    previous = name()
    use(backend_name)
    try:
        yield
    finally:
        use(previous)


# ---- threads and instruction set (the C kernels; NumPy's BLAS keeps its own settings) ----


def set_num_threads(n: int) -> None:
    """Let the C kernels use ``n`` threads (default 1, or ``TINYGRAD_EDU_NUM_THREADS``).

    Kernels only go parallel above a size threshold. The threads are a small pool whose idle
    workers spin for a while after a region (``set_thread_spin_us``), yielding the core between
    checks, then block; a part no worker has started runs on the calling thread, so a worker
    late to wake never makes a region wait. The default stays 1 because on a shared machine a
    second thread can still lose (up to 14 % measured with another process holding a core).
    Without the C extension this is a no-op.
    """
    if _c_module is not None:
        _c_module.set_num_threads(n)


def get_num_threads() -> int:
    """The thread count of the C kernels (1 without the C extension)."""
    return _c_module.get_num_threads() if _c_module is not None else 1


def set_thread_spin_us(us: int) -> None:
    """How long (µs) an idle worker thread spins after a parallel region before it blocks.

    Default 2000, or ``TINYGRAD_EDU_THREAD_SPIN_US``; 0 blocks at once (for cores other processes
    want). Without the C extension this is a no-op.
    """
    if _c_module is not None:
        _c_module.set_thread_spin_us(us)


def get_thread_spin_us() -> int:
    """The C kernels' spin window in µs (0 without the C extension)."""
    return _c_module.get_thread_spin_us() if _c_module is not None else 0


def isa() -> str:
    """The instruction set the C kernels use: ``"avx512"``, ``"avx2"`` or ``"portable"``.

    The best the CPU has, capped by ``TINYGRAD_EDU_ISA`` (an unknown value raises here);
    ``"none"`` without the C extension.
    """
    return _c_module.isa() if _c_module is not None else "none"


# ---- float32 matmul precision (torch.set_float32_matmul_precision) ----

_FLOAT32_MATMUL_PRECISIONS = ("highest", "high", "medium")
_float32_matmul_precision = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """How float32 matrix products compute inside (the result stays float32); torch's function.

    - ``"highest"`` (the default): float32 products and sums, the result is the one without this setting.
    - ``"high"``: each float32 a is the sum of two bfloat16 numbers, hi = bf16(a) and lo = bf16(a − hi),
      with |a − hi − lo| ≤ 2^-16 |a|, and ("bf16x3": three bfloat16 products, lo·lo dropped)
          C = A_hi·B_hi + A_hi·B_lo + A_lo·B_hi,  summed in float32,
          |C − A·B| ≤ (3.01·2^-16 + 3.1·k·2^-24) · (|A|·|B|)  elementwise.
    - ``"medium"``: one bfloat16 product, C = A_hi·B_hi, |C − A·B| ≤ (2.01·2^-8 + 1.02·k·2^-24) · (|A|·|B|).

    "high" and "medium" change float32 matmul (``@``, ``matmul``, ``mm``, ``bmm``, ``nn.Linear``: whatever
    goes through ``backend.matmul``) on the C backend, where they run on AMX (Intel's tile unit; bfloat16
    products at many times the FMA rate, csrc/gemm_amx.c) when ``backend.c.amx_usable()`` and the product
    is big enough to pay. Everywhere else the result is exactly "highest"'s: float64, convolutions (as in
    torch), small products, inputs holding inf or NaN, a CPU or OS without AMX, and the NumPy backend,
    which stores the setting and computes in float32, as torch does on hardware without a fast path.
    torch 2.13 on a CPU computes "medium" in bfloat16 (oneDNN) and "high" in float32, like "highest".

    As torch: a string that is not one of the three warns and changes nothing; a non-str raises RuntimeError.
    """
    global _float32_matmul_precision
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got {type(precision).__name__}")
    if precision not in _FLOAT32_MATMUL_PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _float32_matmul_precision = precision
    if _c_module is not None:
        _c_module.set_float32_matmul_precision(precision)


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision set by ``set_float32_matmul_precision``: "highest" (default), "high", "medium"."""
    return _float32_matmul_precision


# ---- float64 matmul emulation (Ozaki scheme II on int8 AMX tiles) ----

_float64_matmul_emulation: int | None = None


def set_float64_matmul_emulation(moduli: int | None) -> None:
    """Compute float64 matrix products from exact int8 products with ``moduli`` moduli (None: native).

    Ozaki scheme II (csrc/gemm_ozaki.c): each row of A and column of B is scaled by a power of two to
    2-norm ≤ 2^γ and rounded to integers A', B'; A'B' is computed exactly modulo each of ``moduli``
    pairwise coprime m_l ≤ 256 with int8 AMX tile products, rebuilt by the Chinese remainder theorem
    (M = Π m_l > 2‖a'_i‖‖b'_j‖) and scaled back. The only error is the rounding to integers, about
    2^-γ·‖a_i‖₂‖b_j‖₂ per element, with γ = ⌊(log2 M − 1.01)/2⌋ ≤ 50 (M ≈ 2^(7.9·moduli)): uniform
    within a row and a column, so an element much smaller than its row's and column's norms keeps
    fewer correct bits than native float64 would give it. Measured, max |C − AB|/(|A||B|) elementwise,
    1024×1024 standard normal (native float64: 3.4e-16): 12 moduli 8.9e-14, 13: 5.5e-15, 14: 5.5e-15;
    more than 13 gain nothing (γ is capped at 50 from 13 on). 13 is the setting for near-float64
    accuracy. Speed (benchmarks/bench_f64_emulation.py, 1 thread): 1024³ with 13 moduli 17.5 ms against
    NumPy's 25.0 ms (1.43×; 12 moduli 1.53×), 2048³ 1.43×, 512³ 0.92×.

    It changes float64 matmul on the C backend (whatever goes through ``backend.matmul``) where it can
    run: AMX-INT8 in the CPU and OS, ISA level avx512, k ≤ 65536, no inf or NaN and no row or column
    whose largest magnitude is outside 2^±900; everywhere else (and on the NumPy backend, which stores
    the setting) the native float64 result. Values 1 … 16; any other raises ValueError.
    """
    global _float64_matmul_emulation
    if moduli is not None and (isinstance(moduli, bool) or not isinstance(moduli, int) or not 1 <= moduli <= 16):
        raise ValueError(f"set_float64_matmul_emulation: moduli must be None or an int in 1 … 16, got {moduli!r}")
    _float64_matmul_emulation = moduli
    if _c_module is not None:
        _c_module.set_float64_matmul_emulation(moduli)


def get_float64_matmul_emulation() -> int | None:
    """The number of moduli set by ``set_float64_matmul_emulation`` (None: native float64, the default)."""
    return _float64_matmul_emulation


def _keep_freed_heap_memory(top_pad_bytes: int = 64 << 20) -> None:
    """Ask glibc's malloc to keep up to ``top_pad_bytes`` of freed heap for reuse (mallopt M_TOP_PAD).

    Every training step frees and allocates the same few megabytes again (an LSTM step
    about 8 MB). By default glibc hands the freed top of its heap back to the OS, and the
    next step faults it in again page by page: measured ~2,000 page faults and 3.4 ms of
    kernel time per LSTM step (a fifth of the step). Kept pages stay resident, so the peak
    RSS grows by at most one step's worth. Applies to the whole process (NumPy allocates
    through malloc). ``TINYGRAD_EDU_MALLOC_TOP_PAD=0`` leaves malloc alone; not glibc: no-op.

    The mmap threshold is set too (M_MMAP_THRESHOLD, to 32 MiB, the most glibc's own
    dynamic threshold grows to): any such mallopt switches the dynamic threshold off, which
    froze it at whatever the imports had left (216 KB measured). Every array above that
    which did not fit the heap's top was then mmapped and faulted in page by page at each
    allocation: 197 faults per MLP step (its 784x256 weight gradient), 1.4x slower steps for
    every library in the process, in one process out of three or four.
    """
    import ctypes

    top_pad_bytes = int(os.environ.get("TINYGRAD_EDU_MALLOC_TOP_PAD", top_pad_bytes))
    try:
        is_glibc = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not a glibc system
        is_glibc = False
    if top_pad_bytes > 0 and is_glibc:
        m_top_pad, m_mmap_threshold = -2, -3  # from glibc's malloc.h
        libc = ctypes.CDLL(None)
        libc.mallopt(m_top_pad, top_pad_bytes)
        libc.mallopt(m_mmap_threshold, 32 << 20)


_keep_freed_heap_memory()


# ---- kernels: one dispatcher per kernel ---------------------------------------------


# Each one forwards to the same-named function of the active backend, and to the NumPy
# reference when the C backend has no kernel for the arguments (NoKernelError, see the module
# docstring); ``numpy_ref`` holds the math and the docstrings. Pairs are (height, width).

Pair = numpy_ref.Pair


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul`` semantics, computed by the active backend."""
    try:
        return _active.matmul(a, b)
    except NoKernelError:
        return numpy_ref.matmul(a, b)


def pack_b(b: np.ndarray) -> Any:
    """B (k, n) packed once for many ``matmul_packed(a, packed)`` products (a snapshot of B); see ``c.pack_b``."""
    try:
        return _active.pack_b(b)
    except NoKernelError:
        return numpy_ref.pack_b(b)


def matmul_packed(a: np.ndarray, packed: Any) -> np.ndarray:
    """a · B for B packed by ``pack_b`` (of a's dtype, B's k rows); see ``numpy_ref.matmul_packed``."""
    try:
        return _active.matmul_packed(a, packed)
    except NoKernelError:
        return numpy_ref.matmul_packed(a, packed)


def conv2d(x: np.ndarray, w: np.ndarray, stride: Pair, padding: Pair, dilation: Pair, groups: int = 1) -> np.ndarray:
    """(N, C, H, W) ⋆ (O, C/groups, kh, kw) -> (N, O, OH, OW); see ``numpy_ref.conv2d``."""
    try:
        return _active.conv2d(x, w, stride, padding, dilation, groups)
    except NoKernelError:
        return numpy_ref.conv2d(x, w, stride, padding, dilation, groups)


def conv2d_grad_input(gy: np.ndarray, w: np.ndarray, input_hw: Pair, stride: Pair, padding: Pair,
                      dilation: Pair, groups: int = 1) -> np.ndarray:
    """∂L/∂x of ``conv2d`` given gy = ∂L/∂y; see ``numpy_ref.conv2d_grad_input``."""
    try:
        return _active.conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups)
    except NoKernelError:
        return numpy_ref.conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups)


def conv2d_grad_weight(x: np.ndarray, gy: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
                       dilation: Pair, groups: int = 1) -> np.ndarray:
    """∂L/∂w of ``conv2d`` given gy = ∂L/∂y; see ``numpy_ref.conv2d_grad_weight``."""
    try:
        return _active.conv2d_grad_weight(x, gy, kernel_hw, stride, padding, dilation, groups)
    except NoKernelError:
        return numpy_ref.conv2d_grad_weight(x, gy, kernel_hw, stride, padding, dilation, groups)


def max_pool2d(x: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
               dilation: Pair = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling -> (y, flat argmax indices); see ``numpy_ref.max_pool2d``."""
    try:
        return _active.max_pool2d(x, kernel_hw, stride, padding, dilation)
    except NoKernelError:
        return numpy_ref.max_pool2d(x, kernel_hw, stride, padding, dilation)


def max_pool2d_grad(gy: np.ndarray, indices: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """∂L/∂x of max pooling; see ``numpy_ref.max_pool2d_grad``."""
    try:
        return _active.max_pool2d_grad(gy, indices, input_shape)
    except NoKernelError:
        return numpy_ref.max_pool2d_grad(gy, indices, input_shape)


def avg_pool2d(x: np.ndarray, kernel_hw: Pair, stride: Pair, padding: Pair,
               count_include_pad: bool = True) -> np.ndarray:
    """Average pooling; see ``numpy_ref.avg_pool2d``."""
    try:
        return _active.avg_pool2d(x, kernel_hw, stride, padding, count_include_pad)
    except NoKernelError:
        return numpy_ref.avg_pool2d(x, kernel_hw, stride, padding, count_include_pad)


def avg_pool2d_grad(gy: np.ndarray, input_shape: tuple[int, ...], kernel_hw: Pair, stride: Pair,
                    padding: Pair, count_include_pad: bool = True) -> np.ndarray:
    """∂L/∂x of average pooling; see ``numpy_ref.avg_pool2d_grad``."""
    try:
        return _active.avg_pool2d_grad(gy, input_shape, kernel_hw, stride, padding, count_include_pad)
    except NoKernelError:
        return numpy_ref.avg_pool2d_grad(gy, input_shape, kernel_hw, stride, padding, count_include_pad)


# ---- int8 GEMM (csrc/qgemm.c) ----
# No NoKernelError here: these kernels take exactly the dtypes the reference takes (int8 weights,
# float32 activations), and both raise ValueError for any other.


def qgemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """int8 (m, k) · int8 (k, n) -> exact int32 (m, n); see ``numpy_ref.qgemm``."""
    return _active.qgemm(a, b)


def qconv2d(x: np.ndarray, inv_scale: float, w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None,
            stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """int8 convolution of a float32 input by int8 weights -> float32; see ``numpy_ref.qconv2d``."""
    return _active.qconv2d(x, inv_scale, w, scale, bias, stride, padding, dilation)


def qlinear(x: np.ndarray, inv_scale: float, w: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """int8 linear layer of a float32 input (M, K) by int8 weights (N, K) -> float32; see ``numpy_ref.qlinear``."""
    return _active.qlinear(x, inv_scale, w, scale, bias)
# ---- end of int8 GEMM ----


# ---- fused softmax-cross-entropy and bias+activation (csrc/fused.c) ----
def cross_entropy(x: np.ndarray, target: np.ndarray, weight: np.ndarray, ignore_index: int,
                  label_smoothing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-row softmax-cross-entropy -> (loss, softmax, row_weight, [Σ loss, Σ row_weight]);
    see ``numpy_ref.cross_entropy``."""
    try:
        return _active.cross_entropy(x, target, weight, ignore_index, label_smoothing)
    except NoKernelError:
        return numpy_ref.cross_entropy(x, target, weight, ignore_index, label_smoothing)


def cross_entropy_grad(p: np.ndarray, target: np.ndarray, weight: np.ndarray, scale: np.ndarray, ignore_index: int,
                       label_smoothing: float) -> np.ndarray:
    """∂L/∂x of ``cross_entropy`` from its softmax p; see ``numpy_ref.cross_entropy_grad``."""
    try:
        return _active.cross_entropy_grad(p, target, weight, scale, ignore_index, label_smoothing)
    except NoKernelError:
        return numpy_ref.cross_entropy_grad(p, target, weight, scale, ignore_index, label_smoothing)


def bias_act(x: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    """y = act(x + b); see ``numpy_ref.bias_act``."""
    try:
        return _active.bias_act(x, bias, activation)
    except NoKernelError:
        return numpy_ref.bias_act(x, bias, activation)


def act_grad(g: np.ndarray, y: np.ndarray, activation: str, bias_grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(g ⊙ act'(y), its row sum or None); see ``numpy_ref.act_grad``."""
    try:
        return _active.act_grad(g, y, activation, bias_grad)
    except NoKernelError:
        return numpy_ref.act_grad(g, y, activation, bias_grad)


def linear(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, activation: str) -> np.ndarray:
    """y = act(x wᵀ + b); see ``numpy_ref.linear``."""
    try:
        return _active.linear(x, w, bias, activation)
    except NoKernelError:
        return numpy_ref.linear(x, w, bias, activation)


# ---- end of fused softmax-cross-entropy and bias+activation ----


# ---- LSTM cell (csrc/lstm.c) ----


def lstm_cell(gates: np.ndarray, c_prev: np.ndarray, out: tuple[np.ndarray, ...] | None = None,
              gates_x: np.ndarray | None = None, bias: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """One LSTM step from gates (+ gates_x + bias) -> (h, c, acts, tanh_c); see ``numpy_ref.lstm_cell``."""
    try:
        return _active.lstm_cell(gates, c_prev, out, gates_x, bias)
    except NoKernelError:
        return numpy_ref.lstm_cell(gates, c_prev, out, gates_x, bias)


def lstm_cell_backward(dh: np.ndarray, dc: np.ndarray, acts: np.ndarray, c_prev: np.ndarray, tanh_c: np.ndarray,
                       out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The LSTM step backwards -> (∂L/∂gates, ∂L/∂c_prev); see ``numpy_ref.lstm_cell_backward``."""
    try:
        return _active.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c, out)
    except NoKernelError:
        return numpy_ref.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c, out)


def gru_cell(gates_x: np.ndarray, gates_h: np.ndarray, h_prev: np.ndarray, out: tuple[np.ndarray, ...] | None = None,
             bias_x: np.ndarray | None = None, bias_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One GRU step from gates_x (+ bias_x) and gates_h (+ bias_h) -> (h, acts); see ``numpy_ref.gru_cell``."""
    try:
        return _active.gru_cell(gates_x, gates_h, h_prev, out, bias_x, bias_h)
    except NoKernelError:
        return numpy_ref.gru_cell(gates_x, gates_h, h_prev, out, bias_x, bias_h)


def gru_cell_backward(dh: np.ndarray, acts: np.ndarray, gates_h: np.ndarray, h_prev: np.ndarray,
                      out: tuple[np.ndarray, ...] | None = None,
                      bias_h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The GRU step backwards -> (∂L/∂gates_x, ∂L/∂gates_h, ∂L/∂h_prev); see ``numpy_ref.gru_cell_backward``."""
    try:
        return _active.gru_cell_backward(dh, acts, gates_h, h_prev, out, bias_h)
    except NoKernelError:
        return numpy_ref.gru_cell_backward(dh, acts, gates_h, h_prev, out, bias_h)


# ---- end of LSTM cell ----


# ---- optimiser updates (csrc/optim.c) ----
# In place on param and its state buffers; see numpy_ref for the lines of each algorithm.


def sgd_update(param: np.ndarray, grad: np.ndarray, momentum_buffer: np.ndarray | None, lr: float,
               momentum: float, dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
               first_step: bool) -> None:
    """One SGD step on ``param``; see ``numpy_ref.sgd_update``."""
    try:
        _active.sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize,
                           first_step)
    except NoKernelError:
        numpy_ref.sgd_update(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize,
                             first_step)


def adam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                max_exp_avg_sq: np.ndarray | None, lr: float, beta1: float, beta2: float, eps: float,
                weight_decay: float, decoupled_weight_decay: bool, maximize: bool, step_size: float,
                bias_correction2_sqrt: float) -> None:
    """One Adam / AdamW step on ``param``; see ``numpy_ref.adam_update``."""
    try:
        _active.adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                            decoupled_weight_decay, maximize, step_size, bias_correction2_sqrt)
    except NoKernelError:
        numpy_ref.adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                              decoupled_weight_decay, maximize, step_size, bias_correction2_sqrt)


def rmsprop_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, grad_avg: np.ndarray | None,
                   momentum_buffer: np.ndarray | None, lr: float, alpha: float, eps: float, weight_decay: float,
                   momentum: float, maximize: bool) -> None:
    """One RMSprop step on ``param``; see ``numpy_ref.rmsprop_update``."""
    try:
        _active.rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay,
                               momentum, maximize)
    except NoKernelError:
        numpy_ref.rmsprop_update(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay,
                                 momentum, maximize)


def adagrad_update(param: np.ndarray, grad: np.ndarray, state_sum: np.ndarray, lr: float, eps: float,
                   weight_decay: float, maximize: bool) -> None:
    """One Adagrad step on ``param``; see ``numpy_ref.adagrad_update``."""
    try:
        _active.adagrad_update(param, grad, state_sum, lr, eps, weight_decay, maximize)
    except NoKernelError:
        numpy_ref.adagrad_update(param, grad, state_sum, lr, eps, weight_decay, maximize)


def _run_update(op: str, *args: Any) -> None:
    """The active backend's ``op`` (an update below), or the NumPy reference's if it has no kernel for the arrays."""
    try:
        getattr(_active, op)(*args)
    except NoKernelError:
        getattr(numpy_ref, op)(*args)


def adadelta_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray, acc_delta: np.ndarray, lr: float,
                    rho: float, eps: float, weight_decay: float, maximize: bool) -> None:
    """One Adadelta step on ``param``; see ``numpy_ref.adadelta_update``."""
    _run_update("adadelta_update", param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize)


def adamax_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_inf: np.ndarray, lr: float,
                  beta1: float, beta2: float, eps: float, weight_decay: float, maximize: bool,
                  bias_correction1: float) -> None:
    """One Adamax step on ``param``; see ``numpy_ref.adamax_update``."""
    _run_update("adamax_update", param, grad, exp_avg, exp_inf, lr, beta1, beta2, eps, weight_decay, maximize,
                bias_correction1)


def nadam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, lr: float,
                 beta1: float, beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
                 maximize: bool, bias_correction2: float, grad_coefficient: float, exp_avg_coefficient: float) -> None:
    """One NAdam step on ``param``; see ``numpy_ref.nadam_update``."""
    _run_update("nadam_update", param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                decoupled_weight_decay, maximize, bias_correction2, grad_coefficient, exp_avg_coefficient)


def radam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray, lr: float,
                 beta1: float, beta2: float, eps: float, weight_decay: float, decoupled_weight_decay: bool,
                 maximize: bool, bias_correction1: float, bias_correction2: float, rect: float | None) -> None:
    """One RAdam step on ``param``; see ``numpy_ref.radam_update``."""
    _run_update("radam_update", param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
                decoupled_weight_decay, maximize, bias_correction1, bias_correction2, rect)


def rprop_update(param: np.ndarray, grad: np.ndarray, prev: np.ndarray, step_size: np.ndarray, etaminus: float,
                 etaplus: float, step_size_min: float, step_size_max: float, maximize: bool) -> None:
    """One Rprop step on ``param``; see ``numpy_ref.rprop_update``."""
    _run_update("rprop_update", param, grad, prev, step_size, etaminus, etaplus, step_size_min, step_size_max,
                maximize)


def asgd_update(param: np.ndarray, grad: np.ndarray, ax: np.ndarray, lambd: float, eta: float, mu: np.ndarray,
                weight_decay: float, maximize: bool) -> None:
    """One ASGD step on ``param``; see ``numpy_ref.asgd_update``."""
    _run_update("asgd_update", param, grad, ax, lambd, eta, mu, weight_decay, maximize)
# ---- end of optimiser updates ----


# ---- elementwise special functions (csrc/elementwise.c) ----


def erf(x: np.ndarray) -> np.ndarray:
    """erf elementwise, in x's dtype; see ``numpy_ref.erf``."""
    try:
        return _active.erf(x)
    except NoKernelError:
        return numpy_ref.erf(x)


def special(name: str, x: np.ndarray) -> np.ndarray | None:
    """The C kernel of the special function ``name`` (erfc, erfcx, ndtr, log_ndtr, ndtri, erfinv) on x,
    or None where it has none (NumPy backend, dtypes other than float32/float64): the caller,
    ops/special.py, then runs its NumPy reference, which is written there next to the op."""
    if _active is numpy_ref:
        return None
    try:
        return _active.special(name, x)
    except NoKernelError:
        return None
# ---- end of elementwise special functions ----
