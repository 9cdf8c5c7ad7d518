"""Samplers: the order in which a DataLoader visits a dataset (``torch.utils.data``'s samplers).

A sampler is an iterable of dataset indices; a batch sampler an iterable of lists of them.
``DataLoader(ds, batch_size=m, shuffle=True)`` is ``BatchSampler(RandomSampler(ds), m,
drop_last)`` underneath. Every random sampler takes ``generator=``: a
``np.random.Generator`` (tinygrad_edu has no Generator class of its own), or None for the
global one (``tg.manual_seed``). The draws are NumPy's, so the sequences differ from
PyTorch's for the same seed; their distributions are the same:

    RandomSampler          a uniform random permutation (several, concatenated, when
                           num_samples > n); with replacement, i.i.d. uniform indices
    SubsetRandomSampler    a uniform random permutation of the given indices
    WeightedRandomSampler  index i with probability wᵢ / Σⱼ wⱼ (i.i.d. with replacement;
                           without, successive draws among the indices not yet drawn,
                           each renormalised: NumPy's ``choice(replace=False, p=w)``)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from .. import random
from ..tensor import Tensor


class Sampler:
    """Base class: subclasses define ``__iter__`` (the indices) and usually ``__len__``.

    A subclass may also define ``_order()``, the whole epoch's indices as one int64 array;
    ``BatchSampler`` then slices it instead of grouping indices one by one in Python.
    """

    def __init__(self, data_source: Sized | None = None) -> None:  # the argument is accepted and unused, as in PyTorch
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def _order(self) -> np.ndarray | None:
        return None


def _positive_int(value: Any, name: str) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def check_bool(value: Any, name: str, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` with PyTorch's message unless ``value`` is a bool (PyTorch's samplers check so)."""
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value}")


def generator_or_global(generator: np.random.Generator | None) -> np.random.Generator:
    """``generator``, or the global generator (``tg.manual_seed``) when it is None."""
    return random.generator() if generator is None else generator


class SequentialSampler(Sampler):
    """0, 1, …, len(data_source) − 1, in order."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)

    def _order(self) -> np.ndarray:
        return np.arange(len(self.data_source))


class RandomSampler(Sampler):
    """A random order of the dataset: a new permutation per epoch (``iter``).

    ``num_samples`` (default len(data_source)) indices are yielded: without replacement,
    ⌊num_samples / n⌋ full permutations then the start of one more; with replacement,
    i.i.d. uniform draws from 0 … n − 1.
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: np.random.Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        check_bool(replacement, "replacement", TypeError)
        _positive_int(self.num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        """How many indices one epoch yields."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def _order(self) -> np.ndarray:
        n, count, gen = len(self.data_source), self.num_samples, generator_or_global(self.generator)
        if self.replacement:
            return gen.integers(0, n, size=count)
        rounds = [gen.permutation(n) for _ in range(-(-count // n))]  # ⌈count / n⌉ permutations, cut to count
        return np.concatenate(rounds)[:count]


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new permutation per epoch)."""

    def __init__(self, indices: Sequence[int], generator: np.random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return len(self.indices)

    def _order(self) -> np.ndarray:
        order = generator_or_global(self.generator).permutation(len(self.indices))
        return np.asarray(self.indices, dtype=np.int64)[order]


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    P(index = i) = wᵢ / Σⱼ wⱼ. With ``replacement=False`` an index is drawn at most once
    (so num_samples may not exceed the number of nonzero weights).
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: np.random.Generator | None = None) -> None:
        _positive_int(num_samples, "num_samples")
        check_bool(replacement, "replacement")
        weights = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw num_samples={num_samples} without replacement "
                             f"from {np.count_nonzero(weights)} nonzero weights")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def _order(self) -> np.ndarray:
        return generator_or_global(self.generator).choice(len(self.weights), size=self.num_samples,
                                                          replace=self.replacement, p=self.weights / self.weights.sum())


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` (any iterable of ints) into lists of ``batch_size``.

    The last, smaller list is kept unless ``drop_last``; ``len`` counts the lists.
    """

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        _positive_int(batch_size, "batch_size")
        check_bool(drop_last, "drop_last")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        return (batch.tolist() for batch in self._batches())

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batches(self) -> Iterator[np.ndarray]:
        """The batches as int64 arrays: slices of the sampler's ``_order()`` when it has one."""
        order = self.sampler._order() if isinstance(self.sampler, Sampler) else None
        if order is not None:
            stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
            for start in range(0, stop, self.batch_size):
                yield order[start:start + self.batch_size]
            return
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield np.asarray(batch, dtype=np.int64)
                batch = []
        if batch and not self.drop_last:
            yield np.asarray(batch, dtype=np.int64)
