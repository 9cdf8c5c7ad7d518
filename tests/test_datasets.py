"""tg.datasets: the shipped digits, the IDX/MNIST reader, and verified downloads from mirrors.

Downloads are tested against a local HTTP server on 127.0.0.1 (a random free port, in a
thread) serving IDX files the test itself makes; nothing touches the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import DataLoader
from tinygrad_edu.datasets import MNIST, download_verified, load_digits, read_idx, sha256_of


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic 0x0000 08 <ndim>, big-endian sizes, the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_mnist() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, size=6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, size=3, dtype=np.uint8),
    }


def write_idx_files(folder: Path, arrays: dict[str, np.ndarray], gz: bool) -> None:
    for stem, array in arrays.items():
        data = idx_bytes(array)
        (folder / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(data) if gz else data)


# ---- digits --------------------------------------------------------------------------

def test_load_digits_shape_range_and_known_values():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert sorted(np.unique(labels).tolist()) == list(range(10))
    assert np.bincount(labels).min() >= 170  # roughly balanced, ~180 per class
    # first row of the UCI file: a 0 whose top row of pixel counts is 0 0 5 13 9 1 0 0
    assert labels[0] == 0
    np.testing.assert_array_equal(images[0, 0, 0] * 16, [0, 0, 5, 13, 9, 1, 0, 0])
    # pixel counts are integers 0..16
    np.testing.assert_array_equal(images * 16, np.round(images * 16))


def test_digits_attribution_ships_with_the_data():
    folder = Path(tg.datasets.__file__).parent
    text = (folder / "ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in text and "Alpaydin" in text and "Kaynak" in text


# ---- IDX / MNIST ---------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_raw_and_gzip_idx(tmp_path, tiny_mnist, gz):
    write_idx_files(tmp_path, tiny_mnist, gz)
    train, test = MNIST(tmp_path, train=True), MNIST(tmp_path, train=False)
    assert (len(train), len(test)) == (6, 3)
    image, label = train[2]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    np.testing.assert_allclose(image.numpy()[0], tiny_mnist["train-images-idx3-ubyte"][2] / 255.0, rtol=1e-6)
    assert label.item() == tiny_mnist["train-labels-idx1-ubyte"][2] and label.dtype == np.int64
    xb, yb = next(iter(DataLoader(test, batch_size=3)))
    assert xb.shape == (3, 1, 28, 28)
    assert yb.tolist() == tiny_mnist["t10k-labels-idx1-ubyte"].tolist()


def test_mnist_transform_and_torchvision_layout(tmp_path, tiny_mnist):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx_files(raw, tiny_mnist, gz=True)
    ds = MNIST(tmp_path, train=False, transform=lambda img: img * 2.0, target_transform=lambda y: y + 100)
    image, label = ds[0]
    pixels = tiny_mnist["t10k-images-idx3-ubyte"][0].astype(np.float64)
    np.testing.assert_allclose(image.numpy()[0], 2.0 * pixels / 255.0, rtol=1e-6)
    assert label.item() == tiny_mnist["t10k-labels-idx1-ubyte"][0] + 100
    xb, yb = next(iter(DataLoader(ds, batch_size=2)))
    assert xb.shape == (2, 1, 28, 28) and yb.tolist() == (tiny_mnist["t10k-labels-idx1-ubyte"][:2] + 100).tolist()


def test_idx_reader_rejects_truncated_garbage_and_mismatched_files(tmp_path, tiny_mnist):
    good = idx_bytes(tiny_mnist["train-images-idx3-ubyte"])
    cases = {
        "truncated": good[:-10],
        "trailing": good + b"\x00",
        "garbage": b"this is not an idx file",
        "empty": b"",
        "short_header": good[:6],
        "bad_gzip.gz": gzip.compress(good)[:40],
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=name):
            read_idx(tmp_path / name)
    # labels and images of different lengths
    write_idx_files(tmp_path, {**tiny_mnist, "train-labels-idx1-ubyte": np.zeros(5, np.uint8)}, gz=False)
    with pytest.raises(ValueError, match="train-labels"):
        MNIST(tmp_path)


def test_mnist_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        MNIST(tmp_path)


# ---- verified downloads from a local HTTP server -------------------------------------

@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """Serve tmp_path/'www' on 127.0.0.1 at a random port; yields (folder, base URL)."""
    for name in ("no_proxy", "NO_PROXY"):  # never route the local server through a configured proxy
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    www = tmp_path / "www"
    www.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_mnist_download_verifies_sha256_and_falls_back_to_the_next_mirror(tmp_path, http_root, tiny_mnist):
    www, base = http_root
    good, bad = www / "good", www / "bad"
    good.mkdir()
    bad.mkdir()
    hashes = {}
    for stem, array in tiny_mnist.items():
        data = gzip.compress(idx_bytes(array))
        (good / f"{stem}.gz").write_bytes(data)
        (bad / f"{stem}.gz").write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # corrupted: one byte flipped
        hashes[f"{stem}.gz"] = hashlib.sha256(data).hexdigest()
    root = tmp_path / "data"
    mirrors = [f"{base}/missing/", f"{base}/bad/", f"{base}/good/"]  # 404, wrong hash, good
    ds = MNIST(root, train=True, download=True, mirrors=mirrors, sha256=hashes)
    assert len(ds) == 6
    assert ds.targets.tolist() == tiny_mnist["train-labels-idx1-ubyte"].tolist()
    assert sha256_of(root / "train-images-idx3-ubyte.gz") == hashes["train-images-idx3-ubyte.gz"]
    assert sorted(p.name for p in root.iterdir()) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_corrupted_download_is_rejected_and_nothing_is_left_behind(tmp_path, http_root, tiny_mnist):
    www, base = http_root
    data = gzip.compress(idx_bytes(tiny_mnist["t10k-labels-idx1-ubyte"]))
    (www / "t10k-labels-idx1-ubyte.gz").write_bytes(data[:-3])  # truncated in transit
    root = tmp_path / "data"
    with pytest.raises(RuntimeError, match="SHA-256 mismatch") as error:
        download_verified("t10k-labels-idx1-ubyte.gz", root, [f"{base}/"], hashlib.sha256(data).hexdigest())
    assert "t10k-labels-idx1-ubyte.gz" in str(error.value)
    assert list(root.iterdir()) == []  # no partial or unverified file
    # the class attributes are the injection point too
    with pytest.raises(RuntimeError, match="any mirror"):
        type("Offline", (MNIST,), {"mirrors": (f"{base}/nowhere/",)})(root, train=False, download=True)
