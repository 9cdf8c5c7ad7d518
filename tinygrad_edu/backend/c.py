"""The C kernels behind the same signatures as ``numpy_ref``: a thin cffi adapter.

This module owns every unsafe detail of calling C: it checks dtypes and shapes, makes
inputs C-contiguous, allocates outputs with NumPy (C never mallocs), passes pointers with
``ffi.from_buffer`` and turns a nonzero status into a Python exception. Importing it
raises ImportError when the extension ``tinygrad_edu._kernels`` was not built, and the
backend then stays on NumPy.
"""

from __future__ import annotations

from .._kernels import ffi, lib  # noqa: F401  (ImportError here means: not built)

# Kernels that have no C version yet run the reference; each line goes when its C twin lands.
from .numpy_ref import (  # noqa: F401
    avg_pool2d,
    avg_pool2d_grad,
    conv2d,
    conv2d_grad_input,
    conv2d_grad_weight,
    matmul,
    max_pool2d,
    max_pool2d_grad,
)

# ---- threads ---------------------------------------------------------------------------


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the parallel kernels (1 = the calling thread only)."""
    lib.tg_set_num_threads(int(n))


def get_num_threads() -> int:
    """How many threads the parallel kernels use."""
    return int(lib.tg_get_num_threads())
