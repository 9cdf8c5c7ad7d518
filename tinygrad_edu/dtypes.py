"""The dtypes tinygrad_edu knows, as NumPy dtype objects, and PyTorch's promotion rules.

``tg.float32 is np.dtype("float32")``: a Tensor's ``.dtype`` is its array's dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)

default_float = float32


def as_dtype(dtype: Any) -> np.dtype:
    """Normalise ``tg.float32``, ``np.float32`` or ``"float32"`` to a NumPy dtype."""
    return np.dtype(dtype)


def is_floating(dtype: np.dtype) -> bool:
    """True for the floating dtypes, the only ones that can require gradients."""
    return dtype.kind == "f"


def category(dtype: np.dtype) -> int:
    """PyTorch's dtype categories, in promotion order: 0 bool, 1 integer, 2 floating."""
    return 2 if dtype.kind == "f" else 0 if dtype.kind == "b" else 1


def promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """The result dtype of a binary op, as PyTorch decides it.

    Floats win over integers and keep their own width (int64 + float32 -> float32,
    where NumPy would say float64); otherwise the wider type wins.
    """
    if a == b:
        return a
    if is_floating(a) and not is_floating(b):
        return a
    if is_floating(b) and not is_floating(a):
        return b
    return np.promote_types(a, b)
