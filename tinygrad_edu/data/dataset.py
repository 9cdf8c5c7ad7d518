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

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, check_bool, generator_or_global


class Dataset:
    """A sized collection of samples: subclasses define ``__getitem__(i)`` and ``__len__``.

    A dataset may also define ``get_batch(indices)`` returning an already collated batch;
    ``DataLoader`` then skips the per-sample Python loop (``TensorDataset`` does this).
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        """``a + b``: the samples of a, then those of b."""
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__`` (no indexing, no shuffling).

    ``DataLoader`` groups consecutive samples into batches; ``sampler``/``shuffle`` are refused.
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:  # a stream has no length unless a subclass gives it one
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other: Dataset) -> Dataset:
        raise TypeError("IterableDataset: + (ConcatDataset) needs indexable datasets")


class ConcatDataset(Dataset):
    """Several datasets one after the other: index i falls in dataset k where
    cumulative_sizes[k−1] ≤ i < cumulative_sizes[k] (found by binary search), at i − cumulative_sizes[k−1]."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        if any(isinstance(d, IterableDataset) for d in self.datasets):
            raise ValueError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, index: int) -> tuple[int, int]:
        """(which dataset, index inside it) of sample ``index`` (negative counts from the end)."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for length {n}")
        index = index + n if index < 0 else index
        k = bisect.bisect_right(self.cumulative_sizes, index)
        return k, index - (self.cumulative_sizes[k - 1] if k else 0)

    def __getitem__(self, index: int) -> Any:
        k, inner = self._locate(int(index))
        return self.datasets[k][inner]


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
    """Iterate over ``dataset`` in mini-batches, PyTorch's ``DataLoader`` (in one process).

    The order comes from a sampler: ``sampler=`` if given, else ``RandomSampler`` when
    ``shuffle=True`` (a new permutation per epoch, from ``generator`` or the global generator)
    or ``SequentialSampler``. ``batch_size`` consecutive indices of it make a batch
    (``BatchSampler``; ``drop_last=True`` drops a final smaller one), unless
    ``batch_sampler=`` yields the index lists itself. ``batch_size=None`` turns batching off:
    one sample at a time. ``collate_fn`` turns a list of samples into a batch
    (``default_collate``; without one, a dataset's ``get_batch`` fetches a whole batch by one
    fancy index). An ``IterableDataset`` is batched in the order it streams.
    ``len(loader)`` is the number of batches per epoch.

    ``num_workers``, ``pin_memory``, ``timeout``, ``worker_init_fn``, ``prefetch_factor`` and
    ``persistent_workers`` are accepted and checked as PyTorch does, so training scripts run
    unchanged; loading always happens in the calling process.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable[int] | None = None,
                 batch_sampler: Sampler | Iterable[Sequence[int]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: np.random.Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing. Let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got {batch_size!r}")
        if isinstance(dataset, IterableDataset):
            for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value}")
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        elif batch_size is not None:
            check_bool(drop_last, "drop_last")  # as PyTorch's BatchSampler, which it builds here for every dataset
        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn
        self.generator = generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):  # (a TypeError if the stream has no length, as in PyTorch)
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            yield from self._iter_stream()
        elif self.batch_sampler is None:  # batching off: one sample at a time
            for index in self.sampler:
                sample = self.dataset[index]
                yield sample if self.collate_fn is None else self.collate_fn(sample)
        else:
            batches = self.batch_sampler._batches() if isinstance(self.batch_sampler, BatchSampler) \
                else (np.asarray(batch, dtype=np.int64) for batch in self.batch_sampler)
            for indices in batches:
                yield _fetch(self.dataset, indices, self.collate_fn)

    def _iter_stream(self) -> Iterator[Any]:
        """Batches of consecutive samples of an ``IterableDataset``."""
        collate = self.collate_fn or default_collate
        if self.batch_size is None:
            for sample in self.dataset:
                yield sample if self.collate_fn is None else self.collate_fn(sample)
            return
        batch: list[Any] = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: np.random.Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are either sample counts summing to ``len(dataset)`` or fractions summing
    to 1; as in PyTorch, fractions are floored and the remaining samples are dealt one
    each to the subsets in order. The permutation comes from ``generator`` (a
    ``np.random.Generator``), or the global generator when None.
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
    order = generator_or_global(generator).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]
