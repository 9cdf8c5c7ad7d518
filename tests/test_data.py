"""tg.data: DataLoader batching and shuffling, random_split, and the preprocessing steps."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import (
    DataLoader,
    Dataset,
    Standardizer,
    TensorDataset,
    clean,
    drop_duplicate_rows,
    drop_nonfinite_rows,
    random_split,
    standardize,
    train_val_test_split,
)


class Squares(Dataset):
    """A map-style dataset without get_batch: exercises the per-sample collate path."""

    def __len__(self) -> int:
        return 7

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return np.array([i, i * i], dtype=np.float32), i % 2


def test_tensor_dataset_items_and_length_mismatch():
    x, y = tg.arange(12).reshape(6, 2), tg.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    assert xi.tolist() == [8, 9] and yi.item() == 4
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(x, tg.arange(5))


@pytest.mark.parametrize(("n", "batch_size", "drop_last", "sizes"), [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
])
def test_dataloader_batch_sizes(n, batch_size, drop_last, sizes):
    loader = DataLoader(TensorDataset(np.arange(n)), batch_size=batch_size, drop_last=drop_last)
    batches = [b[0] for b in loader]
    assert len(loader) == len(sizes)
    assert [len(b) for b in batches] == sizes
    if not drop_last:  # unshuffled: every index once, in order
        assert np.concatenate([b.numpy() for b in batches]).tolist() == list(range(n))


def test_dataloader_shuffle_is_a_permutation_reproducible_by_seed_and_new_each_epoch():
    ds = TensorDataset(np.arange(50), np.arange(50) * 10)
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    tg.manual_seed(3)
    epoch1 = [(x.numpy(), y.numpy()) for x, y in loader]
    epoch2 = np.concatenate([x.numpy() for x, _ in loader])
    tg.manual_seed(3)
    again = np.concatenate([x.numpy() for x, _ in loader])
    order1 = np.concatenate([x for x, _ in epoch1])
    assert sorted(order1.tolist()) == list(range(50))
    assert not np.array_equal(order1, np.arange(50))
    assert not np.array_equal(order1, epoch2)  # reshuffled every epoch
    assert np.array_equal(order1, again)
    for x, y in epoch1:  # rows stay paired
        assert np.array_equal(y, x * 10)


def test_dataloader_batch_dtypes_and_collate_path():
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    xb, yb = next(iter(DataLoader(TensorDataset(x, np.arange(5)), batch_size=5)))
    assert isinstance(xb, tg.Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
    assert np.array_equal(xb.numpy(), x)
    batches = list(DataLoader(Squares(), batch_size=4))
    assert batches[0][0].shape == (4, 2) and batches[0][0].dtype == np.float32
    assert batches[0][1].tolist() == [0, 1, 0, 1] and batches[0][1].dtype == np.int64
    assert batches[1][0].numpy()[:, 1].tolist() == [16, 25, 36]


def test_dataloader_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(np.arange(3)), batch_size=0)


def test_random_split_lengths_and_fractions():
    ds = TensorDataset(np.arange(10))
    tg.manual_seed(0)
    parts = random_split(ds, [6, 4])
    assert [len(p) for p in parts] == [6, 4]
    seen = [int(p[i][0].item()) for p in parts for i in range(len(p))]
    assert sorted(seen) == list(range(10))
    # fractions: floor(10*0.33)=3 each, the remaining 1 sample goes to the first subset
    assert [len(p) for p in random_split(ds, [0.34, 0.33, 0.33])] == [4, 3, 3]
    # a Subset batches through its parent's fast path
    batch = next(iter(DataLoader(parts[1], batch_size=4)))[0]
    assert batch.tolist() == [int(parts[1][i][0].item()) for i in range(4)]
    with pytest.raises(ValueError, match="sum"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="fractions"):
        random_split(ds, [0.5, 0.6])


def test_drop_nonfinite_rows_counts_and_filters_labels_too():
    x = np.array([[1.0, 2.0], [np.nan, 0.0], [3.0, np.inf], [4.0, 5.0], [6.0, 7.0]])
    y = np.array([0.0, 1.0, 0.0, -np.inf, 1.0])
    x_clean, y_clean, dropped = drop_nonfinite_rows(x, y)
    assert dropped == 3
    assert x_clean.tolist() == [[1.0, 2.0], [6.0, 7.0]] and y_clean.tolist() == [0.0, 1.0]
    x_only, none, dropped = drop_nonfinite_rows(tg.tensor(x))
    assert isinstance(x_only, tg.Tensor) and none is None and dropped == 2


def test_drop_duplicate_rows_keeps_first_occurrence_in_order():
    x = np.array([[1, 2], [3, 4], [1, 2], [5, 6], [3, 4], [1, 2]])
    y = np.array([0, 1, 0, 1, 0, 0])  # row 4 repeats row 1's features with another label: not a duplicate
    x_clean, y_clean, dropped = drop_duplicate_rows(x, y)
    assert dropped == 2
    assert x_clean.tolist() == [[1, 2], [3, 4], [5, 6], [3, 4]] and y_clean.tolist() == [0, 1, 1, 0]
    assert drop_duplicate_rows(x)[2] == 3


def test_clean_drops_both_kinds():
    x = np.array([[1.0, np.nan], [1.0, 2.0], [1.0, 2.0], [0.0, 0.0]])
    x_clean, _, dropped = clean(x)
    assert dropped == 2 and x_clean.tolist() == [[1.0, 2.0], [0.0, 0.0]]


def test_standardizer_fits_on_training_data_only():
    rng = np.random.default_rng(1)
    train = rng.normal(5.0, 3.0, size=(200, 4)).astype(np.float32)
    train[:, 3] = 7.0  # a constant feature must not divide by zero
    test = rng.normal(-2.0, 1.0, size=(50, 4)).astype(np.float32)
    scaler = Standardizer().fit(train)
    mu = train.astype(np.float64).mean(axis=0)
    sigma = np.sqrt(((train.astype(np.float64) - mu) ** 2).mean(axis=0))  # population σ, the formula
    np.testing.assert_allclose(scaler.mean, mu, rtol=1e-6)
    np.testing.assert_allclose(scaler.std[:3], sigma[:3], rtol=1e-6)
    assert scaler.std[3] == 1.0
    z_train, z_test = standardize(train, test)
    assert z_train.dtype == np.float32
    np.testing.assert_allclose(z_train[:, :3].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z_train[:, :3].std(axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(z_test, (test - mu) / np.where(sigma == 0, 1, sigma), rtol=1e-5, atol=1e-5)
    assert abs(z_test[:, 0].mean()) > 1.0  # the test set was NOT re-centred with its own statistics
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(test)), test, rtol=1e-5, atol=1e-5)
    t = scaler.transform(tg.tensor(test))
    assert isinstance(t, tg.Tensor)
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(test)
    with pytest.raises(ValueError, match="shape"):
        scaler.transform(test[:, :2])


def test_train_val_test_split_sizes_disjoint_and_seeded():
    x, y = np.arange(100).reshape(50, 2), np.arange(50)
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = train_val_test_split(x, y, val_fraction=0.2, test_fraction=0.1, seed=0)
    assert (len(y_tr), len(y_va), len(y_te)) == (35, 10, 5)
    assert sorted(np.concatenate([y_tr, y_va, y_te]).tolist()) == list(range(50))
    for xs, ys in ((x_tr, y_tr), (x_va, y_va), (x_te, y_te)):  # rows stay paired
        assert np.array_equal(xs[:, 0], 2 * ys)
    again = train_val_test_split(x, y, val_fraction=0.2, test_fraction=0.1, seed=0)
    assert np.array_equal(again[2][1], y_te)
    single_train, _, _ = train_val_test_split(y, shuffle=False)
    assert single_train.tolist() == list(range(34))  # 50 - round(7.5) - round(7.5) = 50 - 8 - 8
    with pytest.raises(ValueError, match="rows"):
        train_val_test_split(x, y[:-1])
    with pytest.raises(ValueError, match="sum"):
        train_val_test_split(x, val_fraction=0.6, test_fraction=0.4)
