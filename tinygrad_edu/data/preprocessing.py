"""Data preprocessing, as the source documents' workflow describes it.

1. Cleaning: drop rows with missing (NaN) or abnormal (±inf) values, and duplicate rows.
2. Normalisation: standardise each feature, z = (x − μ) / σ, with μ and σ computed on
   the *training* rows only and then applied unchanged to validation and test rows
   (fitting them on all the data would leak test information into training).
3. Splitting into training, validation and test sets.

Every function takes NumPy arrays or Tensors and returns the same kind it was given.
Rows are along the first axis; ``y`` (labels or targets), when given, is filtered
alongside ``x``.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from .. import random
from ..tensor import Tensor

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, Tensor)


def _array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _like(original: Any, values: np.ndarray) -> Any:
    """Return ``values`` as the same kind (Tensor or array) as ``original``."""
    return Tensor._make(values) if isinstance(original, Tensor) else values


def _rows(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


def _keep(x: Any, y: Any, rows: np.ndarray) -> tuple[Any, Any, int]:
    """Keep ``rows`` (sorted indices) of x and y; also return how many rows were dropped."""
    kept_y = None if y is None else _like(y, _array(y)[rows])
    return _like(x, _array(x)[rows]), kept_y, _array(x).shape[0] - rows.size


def _check_pair(x: Any, y: Any, name: str) -> None:
    if _array(x).ndim == 0:
        raise ValueError(f"{name}: x must have a first (row) axis, got a scalar")
    if y is not None and _array(y).shape[0] != _array(x).shape[0]:
        raise ValueError(f"{name}: x has {_array(x).shape[0]} rows but y has {_array(y).shape[0]}")


def drop_nonfinite_rows(x: ArrayOrTensor, y: Any = None) -> tuple[ArrayOrTensor, Any, int]:
    """Drop every row in which ``x`` (or ``y``) holds NaN or ±inf.

    Returns ``(x_clean, y_clean, n_dropped)``; ``y_clean`` is None when ``y`` is.
    """
    _check_pair(x, y, "drop_nonfinite_rows")
    finite = np.isfinite(_rows(_array(x)).astype(np.float64)).all(axis=1)
    if y is not None:
        finite &= np.isfinite(_rows(_array(y)).astype(np.float64)).all(axis=1)
    return _keep(x, y, np.flatnonzero(finite))


def drop_duplicate_rows(x: ArrayOrTensor, y: Any = None) -> tuple[ArrayOrTensor, Any, int]:
    """Drop rows equal to an earlier row (features and label together), keeping the first.

    Returns ``(x_clean, y_clean, n_dropped)``; the kept rows stay in their original order.
    """
    _check_pair(x, y, "drop_duplicate_rows")
    table = _rows(_array(x)).astype(np.float64)
    if y is not None:
        table = np.concatenate([table, _rows(_array(y)).astype(np.float64)], axis=1)
    _, first_index = np.unique(table, axis=0, return_index=True)
    return _keep(x, y, np.sort(first_index))


def clean(x: ArrayOrTensor, y: Any = None) -> tuple[ArrayOrTensor, Any, int]:
    """Drop rows with NaN/inf, then duplicate rows: ``(x_clean, y_clean, n_dropped_total)``."""
    x, y, nonfinite = drop_nonfinite_rows(x, y)
    x, y, duplicates = drop_duplicate_rows(x, y)
    return x, y, nonfinite + duplicates


class Standardizer:
    """Per-feature standardisation z = (x − μ) / σ, with μ, σ fitted on training data.

    μ = (1/n) Σ_i x_i and σ = sqrt((1/n) Σ_i (x_i − μ)²) over the rows (axis 0) of the
    data given to ``fit``; a constant feature (σ = 0) is divided by 1 instead.
    ``transform`` applies the stored μ, σ to any later data (validation, test, new inputs).
    """

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: Any) -> Standardizer:
        """Compute and store μ and σ of ``x`` over its rows."""
        values = _array(x)
        if values.ndim == 0 or values.shape[0] == 0:
            raise ValueError(f"Standardizer.fit: need at least one row, got shape {values.shape}")
        dtype = values.dtype if values.dtype.kind == "f" else np.float64
        self.mean = values.mean(axis=0, dtype=np.float64).astype(dtype)
        std = values.std(axis=0, dtype=np.float64)
        self.std = np.where(std == 0, 1.0, std).astype(dtype)
        return self

    def transform(self, x: ArrayOrTensor) -> ArrayOrTensor:
        """(x − μ) / σ with the fitted μ, σ."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.transform: call fit(training_data) first")
        values = _array(x)
        if values.shape[1:] != self.mean.shape:
            raise ValueError(f"Standardizer.transform: fitted on rows of shape {self.mean.shape}, "
                             f"got rows of shape {values.shape[1:]}")
        return _like(x, ((values - self.mean) / self.std).astype(self.mean.dtype))

    def fit_transform(self, x: ArrayOrTensor) -> ArrayOrTensor:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, z: ArrayOrTensor) -> ArrayOrTensor:
        """x = z σ + μ, undoing ``transform``."""
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.inverse_transform: call fit(training_data) first")
        return _like(z, (_array(z) * self.std + self.mean).astype(self.mean.dtype))


def standardize(train: ArrayOrTensor, *others: ArrayOrTensor) -> tuple[ArrayOrTensor, ...]:
    """Standardise ``train`` and each of ``others`` with statistics fitted on ``train`` only.

    ``x_train, x_val, x_test = standardize(x_train, x_val, x_test)``. Keep a
    ``Standardizer`` instead when new data must be transformed later.
    """
    scaler = Standardizer().fit(train)
    return tuple(scaler.transform(part) for part in (train, *others))


def train_val_test_split(*arrays: Any, val_fraction: float = 0.15, test_fraction: float = 0.15,
                         shuffle: bool = True, seed: int | None = None) -> tuple[Any, Any, Any]:
    """Split arrays (same number of rows) into training, validation and test parts.

    ``(x_tr, y_tr), (x_val, y_val), (x_te, y_te) = train_val_test_split(x, y, seed=0)``;
    with a single array each part is that array's rows rather than a 1-tuple. The test
    and validation sizes are ``round(n · fraction)``, the training part gets the rest.
    The rows are shuffled first with ``np.random.default_rng(seed)`` when a seed is
    given, else with the global generator (``tg.manual_seed``).
    """
    if not arrays:
        raise ValueError("train_val_test_split: give at least one array")
    n = _array(arrays[0]).shape[0]
    if any(_array(a).shape[0] != n for a in arrays):
        raise ValueError(f"train_val_test_split: arrays have different numbers of rows "
                         f"{[_array(a).shape[0] for a in arrays]}")
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ValueError(f"train_val_test_split: need val_fraction, test_fraction >= 0 with sum < 1, "
                         f"got {val_fraction}, {test_fraction}")
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    if shuffle:
        order = (np.random.default_rng(seed) if seed is not None else random.generator()).permutation(n)
    else:
        order = np.arange(n)
    parts = (order[:n - n_val - n_test], order[n - n_val - n_test:n - n_test], order[n - n_test:])

    def take(rows: np.ndarray) -> Any:
        picked = tuple(_like(a, _array(a)[rows]) for a in arrays)
        return picked[0] if len(arrays) == 1 else picked

    return take(parts[0]), take(parts[1]), take(parts[2])
