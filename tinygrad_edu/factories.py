"""Tensor factories: ``zeros ones full empty *_like rand randn randint randperm arange eye linspace``,
and ``from_numpy``/``as_tensor`` (which share an array's memory).

Sizes are given as ``f(2, 3)`` or ``f((2, 3))``; floats default to float32 and integers
to int64, as in PyTorch. Random factories draw from ``tinygrad_edu.random``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes, random
from .tensor import Tensor, TensorLike, _shape_arg


def tensor(data: TensorLike, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``Tensor(data, requires_grad, dtype)`` under PyTorch's function name."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    t.requires_grad = requires_grad
    return t


def _float(dtype: Any) -> np.dtype:
    return dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return _make(np.zeros(_shape_arg(size), dtype=_float(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _make(np.ones(_shape_arg(size), dtype=_float(dtype)), requires_grad)


def full(size: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (int fill gives int64, float fill float32)."""
    if dtype is None:
        dtype = dtypes.int64 if isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool) \
            else dtypes.bool if isinstance(fill_value, bool) else dtypes.default_float
    return _make(np.full(_shape_arg((size,)), fill_value, dtype=dtypes.as_dtype(dtype)), requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``t``'s shape and dtype."""
    return _make(np.zeros(t.shape, dtype=dtype or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``t``'s shape and dtype."""
    return _make(np.ones(t.shape, dtype=dtype or t.dtype), requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` with ``t``'s shape and dtype."""
    return _make(np.full(t.shape, fill_value, dtype=dtype or t.dtype), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1)."""
    return _make(random.generator().random(_shape_arg(size), dtype=_float(dtype)), requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _make(random.generator().standard_normal(_shape_arg(size), dtype=_float(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Any = (), dtype: Any = None) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size)`` means low = 0)."""
    if high is None or isinstance(high, (tuple, list)):  # randint(high) or randint(high, size)
        low, high, size = 0, low, size if high is None else high
    values = random.generator().integers(low, high, size=_shape_arg((size,)))
    return Tensor._make(values.astype(dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)))


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end); int64 if all arguments are ints, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) \
            else dtypes.default_float
    return _make(np.arange(start, end, step).astype(dtypes.as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    return _make(np.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The n×m identity matrix."""
    return _make(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are not to be relied on (zeros here; PyTorch leaves memory as it was)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``empty`` with ``t``'s shape and dtype."""
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``rand`` with ``t``'s shape and (floating) dtype."""
    return rand(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``randn`` with ``t``'s shape and (floating) dtype."""
    return randn(t.shape, dtype=t.dtype if dtype is None else dtype, requires_grad=requires_grad)


def randint_like(t: Tensor, low: int, high: int | None = None, dtype: Any = None) -> Tensor:
    """``randint`` with ``t``'s shape and dtype (``randint_like(t, high)`` means low = 0)."""
    low, high = (0, low) if high is None else (low, high)
    return randint(low, high, t.shape, dtype=t.dtype if dtype is None else dtype)


def randperm(n: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 … n − 1 (int64 unless ``dtype`` says otherwise)."""
    if n < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    order = random.generator().permutation(n).astype(dtypes.int64 if dtype is None else dtypes.as_dtype(dtype))
    return _make(order, requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype (writes to one show in the other), as PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected an np.ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: cannot make a tensor from an array of dtype {array.dtype}")
    return Tensor._make(array)


def as_tensor(data: TensorLike, dtype: Any = None) -> Tensor:
    """``data`` as a tensor without copying where possible (a Tensor or an ndarray already of
    ``dtype`` is shared), else ``tensor(data, dtype)``."""
    wanted = None if dtype is None else dtypes.as_dtype(dtype)
    if isinstance(data, Tensor):
        return data if wanted is None else data.to(wanted)
    if isinstance(data, np.ndarray) and (wanted is None or data.dtype == wanted) and data.dtype.kind in "biuf":
        return Tensor._make(data)
    return tensor(data, dtype=dtype)


def is_tensor(obj: Any) -> bool:
    """True if ``obj`` is a Tensor."""
    return isinstance(obj, Tensor)
