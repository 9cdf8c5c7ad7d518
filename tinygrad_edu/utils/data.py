"""``tg.utils.data``: the same objects as ``tg.data``, under PyTorch's module name.

``import tinygrad_edu.utils.data as data`` or ``from tinygrad_edu.utils.data import DataLoader``
work as ``torch.utils.data`` does; every name here *is* the ``tg.data`` object (not a copy),
so ``isinstance`` checks and subclasses agree between the two spellings.
"""

from ..data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    random_split,
)

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
    "default_collate", "random_split",
]
