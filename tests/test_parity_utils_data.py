"""tg.utils.data (= tg.data) against torch.utils.data.

Where PyTorch's algorithm is fixed (sequential order, batching, concatenation, the option
checks) the results must be identical. Random samplers draw from NumPy, not from PyTorch's
generator, so for them the tests check the distribution's properties with a fixed seed:
permutations are permutations, replacement counts, and weighted draws pass a χ² bound.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.utils.data as data
from tinygrad_edu.utils.data import DataLoader

torch = pytest.importorskip("torch")
tdata = torch.utils.data


def test_alias_imports_are_the_tg_data_objects():
    assert data.DataLoader is DataLoader is tg.data.DataLoader
    assert tg.utils.data is data
    for name in data.__all__:
        assert getattr(data, name) is getattr(tg.data, name), name
        assert hasattr(tdata, name), name  # every name is one torch.utils.data has


def test_importing_tg_utils_stays_light():
    code = ("import sys, tinygrad_edu.utils.data, tinygrad_edu.utils.checkpoint; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'scipy', 'pandas') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


# ---- samplers with a fixed order: identical to torch ---------------------------------------


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (9, 3), (2, 5), (7, 1)])
def test_sequential_and_batch_sampler_equal_torch(n, batch_size, drop_last):
    ours = data.BatchSampler(data.SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(data.SequentialSampler(range(n))) == list(tdata.SequentialSampler(range(n)))
    order = [4, 1, 8, 0, 9, 3, 3]  # any iterable of indices, in its own order
    assert list(data.BatchSampler(order, batch_size, drop_last)) == list(tdata.BatchSampler(order, batch_size,
                                                                                              drop_last))


def test_concat_dataset_equals_torch():
    parts = [list(range(3)), list(range(10, 15)), [], list(range(20, 22))]
    ours, theirs = data.ConcatDataset(parts), tdata.ConcatDataset(parts)
    assert len(ours) == len(theirs) and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-len(ours), len(ours))] == [theirs[i] for i in range(-len(theirs), len(theirs))]
    with pytest.raises(IndexError, match="out of range"):
        ours[len(ours)]
    with pytest.raises(ValueError, match="datasets should not be an empty iterable"):
        data.ConcatDataset([])
    xs = data.TensorDataset(tg.arange(4.0))
    joined = xs + data.TensorDataset(tg.arange(10.0, 12.0))
    assert isinstance(joined, data.ConcatDataset) and [float(s[0].item()) for s in joined] == [0, 1, 2, 3, 10, 11]


def loader_pairs(**options):
    """The same DataLoader over the same TensorDataset in both libraries."""
    x = np.arange(22, dtype=np.float32).reshape(11, 2)
    y = np.arange(11, dtype=np.int64)
    return (DataLoader(data.TensorDataset(tg.tensor(x), tg.tensor(y)), **options),
            tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)), **options))


def as_lists(batch):
    if isinstance(batch, (tuple, list)):
        return [as_lists(b) for b in batch]
    return batch.tolist() if hasattr(batch, "tolist") else batch


LOADER_OPTIONS = [
    {"batch_size": 4},
    {"batch_size": 4, "drop_last": True},
    {"batch_size": 3, "sampler": [10, 0, 5, 5, 2]},
    {"batch_sampler": [[3, 1], [0], [10, 9, 8]]},
    {"batch_size": None},
    {"batch_size": 5, "collate_fn": lambda samples: len(samples)},
    {"batch_size": 2, "sampler": [7, 3, 1], "collate_fn": lambda samples: [int(s[1]) for s in samples]},
    {"batch_size": 4, "num_workers": 0, "pin_memory": True, "timeout": 0},
]


@pytest.mark.parametrize("options", LOADER_OPTIONS, ids=[str(sorted(o)) for o in LOADER_OPTIONS])
def test_dataloader_batches_equal_torch(options):
    ours, theirs = loader_pairs(**options)
    assert len(ours) == len(theirs)
    assert [as_lists(b) for b in ours] == [as_lists(b) for b in theirs]
    first = next(iter(ours))
    if isinstance(first, tuple):  # the dtypes survive batching
        assert first[0].dtype == tg.float32 and first[1].dtype == tg.int64


class Stream(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


class TorchStream(tdata.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


@pytest.mark.parametrize("options", [{"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None}])
def test_iterable_dataset_batches_equal_torch(options):
    ours, theirs = DataLoader(Stream(10), **options), tdata.DataLoader(TorchStream(10), **options)
    assert [as_lists(b) for b in ours] == [as_lists(b) for b in theirs]
    with pytest.raises(TypeError):  # no __len__: neither library can tell the number of batches
        len(ours)


BAD_LOADERS = [
    {"shuffle": True, "sampler": [0, 1]},
    {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_sampler": [[0]], "drop_last": True},
    {"batch_sampler": [[0]], "shuffle": True},
    {"batch_size": None, "drop_last": True},
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"persistent_workers": True},
    {"drop_last": 1},
]


@pytest.mark.parametrize("options", BAD_LOADERS, ids=[str(sorted(o)) for o in BAD_LOADERS])
def test_dataloader_option_errors_equal_torch(options):
    with pytest.raises(ValueError) as theirs:
        loader_pairs(**options)[1]
    with pytest.raises(ValueError) as ours:
        loader_pairs(**options)[0]
    assert " ".join(str(ours.value).lower().split()) == " ".join(str(theirs.value).lower().split())


def test_iterable_dataset_refuses_shuffle_like_torch():
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(TorchStream(3), shuffle=True)
    with pytest.raises(ValueError) as ours:
        DataLoader(Stream(3), shuffle=True)
    assert str(ours.value) == str(theirs.value)


SAMPLER_ERRORS = [
    (lambda m: m.BatchSampler(range(3), 0, False), ValueError),
    (lambda m: m.BatchSampler(range(3), 2, 1), ValueError),
    (lambda m: m.RandomSampler(range(3), replacement=1), TypeError),
    (lambda m: m.RandomSampler(range(3), num_samples=0), ValueError),
    (lambda m: m.WeightedRandomSampler([1.0, 2.0], 0), ValueError),
    (lambda m: m.WeightedRandomSampler([1.0, 2.0], 2, replacement=1), ValueError),
    (lambda m: m.WeightedRandomSampler([[1.0, 2.0]], 2), ValueError),
]


@pytest.mark.parametrize(("make", "error"), SAMPLER_ERRORS)
def test_sampler_argument_errors_equal_torch(make, error):
    with pytest.raises(error) as theirs:
        make(tdata)
    with pytest.raises(error) as ours:
        make(data)
    assert str(ours.value) == str(theirs.value)


# ---- random samplers: properties --------------------------------------------------------------


def test_random_sampler_is_a_fresh_permutation_each_epoch():
    gen = np.random.default_rng(0)
    sampler = data.RandomSampler(range(50), generator=gen)
    epochs = [list(sampler) for _ in range(3)]
    assert all(sorted(e) == list(range(50)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    # the same generator state gives the same order
    assert list(data.RandomSampler(range(50), generator=np.random.default_rng(0))) == epochs[0]


def test_random_sampler_num_samples_without_and_with_replacement():
    gen = np.random.default_rng(1)
    order = list(data.RandomSampler(range(7), num_samples=23, generator=gen))
    assert len(order) == 23
    assert all(sorted(order[i:i + 7]) == list(range(7)) for i in (0, 7, 14))  # three full permutations
    assert len(set(order[21:])) == 2  # then the start of a fourth: no repeats inside it
    draws = np.array(list(data.RandomSampler(range(5), replacement=True, num_samples=20000, generator=gen)))
    counts = np.bincount(draws, minlength=5)
    assert draws.min() >= 0 and draws.max() < 5
    assert chi_squared(counts, np.full(5, 0.2)) < chi_squared_bound(5)


def chi_squared(counts: np.ndarray, probabilities: np.ndarray) -> float:
    expected = counts.sum() * probabilities
    return float(((counts - expected) ** 2 / expected).sum())


def chi_squared_bound(categories: int) -> float:
    """A bound the statistic exceeds with probability ~1e-6 under the right distribution
    (mean k−1, sd √(2(k−1)); 6 sd above): the fixed seed passes it, a wrong distribution cannot."""
    df = categories - 1
    return df + 6 * np.sqrt(2 * df)


def test_weighted_random_sampler_follows_the_weights():
    weights = np.array([1.0, 0.0, 3.0, 6.0, 0.5])
    draws = np.array(list(data.WeightedRandomSampler(weights, 30000, generator=np.random.default_rng(2))))
    counts = np.bincount(draws, minlength=5)
    assert counts[1] == 0  # zero weight: never drawn
    nonzero = weights > 0
    stat = chi_squared(counts[nonzero], weights[nonzero] / weights.sum())
    assert stat < chi_squared_bound(int(nonzero.sum()))
    # the uniform hypothesis is rejected by far: the test can tell the weights apart
    assert chi_squared(counts[nonzero], np.full(nonzero.sum(), 1 / nonzero.sum())) > 100 * chi_squared_bound(4)
    unique = list(data.WeightedRandomSampler(weights, 4, replacement=False, generator=np.random.default_rng(3)))
    assert sorted(unique) == [0, 2, 3, 4]
    with pytest.raises(ValueError, match="without replacement"):
        data.WeightedRandomSampler(weights, 5, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        data.WeightedRandomSampler([1.0, -1.0], 2)


def test_subset_random_sampler_permutes_the_given_indices():
    indices = [3, 9, 4, 10, 15]
    sampler = data.SubsetRandomSampler(indices, generator=np.random.default_rng(4))
    orders = [list(sampler) for _ in range(4)]
    assert all(sorted(o) == sorted(indices) for o in orders) and len(sampler) == 5
    assert len({tuple(o) for o in orders}) > 1


def test_shuffle_uses_the_global_seed_or_the_given_generator():
    ds = data.TensorDataset(tg.arange(40))
    tg.manual_seed(5)
    first = [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)]
    tg.manual_seed(5)
    assert [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)] == first
    assert sorted(np.concatenate(first).tolist()) == list(range(40))
    own = [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(9))]
    expected = np.random.default_rng(9).permutation(40).tolist()
    assert np.concatenate(own).tolist() == expected  # RandomSampler: one permutation of the given generator per epoch
    loader = DataLoader(ds, batch_size=8, sampler=data.SubsetRandomSampler(range(0, 40, 4)))
    assert sorted(np.concatenate([b[0].tolist() for b in loader]).tolist()) == list(range(0, 40, 4))


def test_random_split_with_a_generator_and_weights_as_a_tensor():
    ds = data.TensorDataset(tg.arange(10))
    parts = data.random_split(ds, [0.5, 0.3, 0.2], generator=np.random.default_rng(6))
    order = np.random.default_rng(6).permutation(10)
    assert [p.indices.tolist() for p in parts] == [order[:5].tolist(), order[5:8].tolist(), order[8:].tolist()]
    tensor_weights = data.WeightedRandomSampler(tg.tensor([0.0, 1.0, 0.0]), 5, generator=np.random.default_rng(0))
    assert list(tensor_weights) == [1] * 5
