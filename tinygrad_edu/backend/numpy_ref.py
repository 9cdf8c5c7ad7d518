"""The reference kernels: plain NumPy, the readable teaching path.

Every kernel here is the definition of "correct" for its C twin in ``backend/c.py``:
the same signature, pure ``ndarray -> ndarray``, no autograd and no Tensor.
"""

from __future__ import annotations

import numpy as np


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Matrix product with NumPy's ``matmul`` semantics (batched, broadcast, 1-D cases).

    out[..., i, j] = Σ_k a[..., i, k] · b[..., k, j]
    """
    return np.matmul(a, b)
