"""``tg.data``: datasets, samplers, mini-batch loading and preprocessing (cleaning, standardising, splitting).

Also importable under PyTorch's name, ``tg.utils.data``."""

from .dataset import (
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)
from .preprocessing import (
    Standardizer,
    clean,
    drop_duplicate_rows,
    drop_nonfinite_rows,
    standardize,
    train_val_test_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Standardizer", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
    "clean", "default_collate", "drop_duplicate_rows", "drop_nonfinite_rows", "random_split", "standardize",
    "train_val_test_split",
]
