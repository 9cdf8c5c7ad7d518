"""``tg.data``: datasets, mini-batch loading and preprocessing (cleaning, standardising, splitting)."""

from .dataset import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split
from .preprocessing import (
    Standardizer,
    clean,
    drop_duplicate_rows,
    drop_nonfinite_rows,
    standardize,
    train_val_test_split,
)

__all__ = [
    "DataLoader", "Dataset", "Standardizer", "Subset", "TensorDataset", "clean", "default_collate",
    "drop_duplicate_rows", "drop_nonfinite_rows", "random_split", "standardize", "train_val_test_split",
]
