"""Datasets and the DataLoader that cuts them into mini-batches.

Mini-batch gradient descent (FORMULAS.md, source documents 000/002/004) averages the
gradient over m samples per step; stochastic gradient descent draws them at random and
reshuffles every epoch::

    θ_{t+1} = θ_t − α (1/m) Σ_{i=1..m} ∇J(θ_t; x_i, y_i)

``DataLoader(dataset, batch_size=m, shuffle=True)`` yields exactly those batches: each
epoch (each ``iter(loader)``) draws a fresh permutation from the global generator
(``tg.manual_seed``), so a seeded run sees the same batches every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import random
from ..tensor import Tensor


class Dataset:
    """A sized collection of samples: subclasses define ``__getitem__(i)`` and ``__len__``.

    A dataset may also define ``get_batch(indices)`` returning an already collated batch;
    ``DataLoader`` then skips the per-sample Python loop (``TensorDataset`` does this).
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _as_array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension: ``ds[i] = (x[i], y[i])``."""

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self.arrays = [_as_array(t) for t in tensors]
        sizes = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in sizes or len(set(sizes)) != 1:
            shapes = [a.shape for a in self.arrays]
            raise ValueError(f"TensorDataset: tensors must share their first dimension, got shapes {shapes}")
        self.tensors = tuple(Tensor._make(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(Tensor._make(np.asarray(a[index])) for a in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple[Tensor, ...]:
        """Rows ``indices`` of every tensor, by one NumPy fancy-index each (no per-sample loop)."""
        return tuple(Tensor._make(a[indices]) for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (what ``random_split`` returns)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        """Map the batch's indices into the parent dataset and fetch them there."""
        return _fetch(self.dataset, self.indices[indices])


def default_collate(samples: list[Any]) -> Any:
    """Stack a list of samples into one batch, field by field.

    Tensors and arrays are stacked along a new first axis (dtype kept); Python numbers
    become a 1-D tensor (int64 or float32, as ``tg.tensor`` decides); tuples/lists and
    dicts are collated per position / per key.
    """
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray, np.generic)):
        return Tensor._make(np.stack([_as_array(s) for s in samples]))
    if isinstance(first, (bool, int, float)):
        return Tensor(list(samples))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        return tuple(default_collate(list(field)) for field in zip(*samples))
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


def _fetch(dataset: Dataset, indices: np.ndarray, collate_fn: Callable[[list[Any]], Any] | None = None) -> Any:
    """One batch: the dataset's own ``get_batch`` when it has one, else sample by sample."""
    if collate_fn is None and hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices)
    return (collate_fn or default_collate)([dataset[int(i)] for i in indices])


class DataLoader:
    """Iterate over ``dataset`` in mini-batches of ``batch_size`` samples.

    ``shuffle=True`` draws a new permutation from the global generator at the start of
    every epoch; ``drop_last=True`` drops a final batch smaller than ``batch_size``.
    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = random.generator().permutation(n) if self.shuffle else np.arange(n)
        for batch in range(len(self)):
            indices = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            yield _fetch(self.dataset, indices, self.collate_fn)


def random_split(dataset: Dataset, lengths: Sequence[int | float]) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are either sample counts summing to ``len(dataset)`` or fractions summing
    to 1; as in PyTorch, fractions are floored and the remaining samples are dealt one
    each to the subsets in order. The permutation comes from the global generator.
    """
    n = len(dataset)
    if lengths and all(isinstance(v, float) for v in lengths):
        if not np.isclose(sum(lengths), 1.0) or min(lengths) < 0:
            raise ValueError(f"random_split: fractions must be >= 0 and sum to 1, got {list(lengths)}")
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(v) for v in lengths]
        if sum(counts) != n or min(counts, default=0) < 0:
            raise ValueError(f"random_split: lengths {list(lengths)} must be >= 0 and sum to len(dataset) = {n}")
    order = random.generator().permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]
