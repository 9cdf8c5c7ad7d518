"""MNIST (or any dataset in the same IDX format, such as Fashion-MNIST) from files on disk.

The IDX format (LeCun et al.) is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then
``ndim`` big-endian uint32 sizes, then the values, big-endian, row-major. MNIST images
are type 0x08 (unsigned byte) with 3 dimensions (magic 0x00000803 = 2051), labels type
0x08 with 1 dimension (0x00000801 = 2049). Files may be gzipped.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.dataset import Dataset, default_collate
from ..tensor import Tensor
from .download import download_verified

# IDX type code -> big-endian NumPy dtype
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into a native-endian array; raise ValueError naming the file if invalid."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    ndim = raw[3]
    header_bytes = 4 + 4 * ndim
    if len(raw) < header_bytes:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header_bytes})")
    shape = struct.unpack(f">{ndim}I", raw[4:header_bytes])
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_bytes != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} data bytes) "
                         f"but the file holds {len(raw) - header_bytes}; truncated or corrupt")
    return np.frombuffer(raw, dtype=dtype, offset=header_bytes).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(Dataset):
    """MNIST as a Dataset: ``ds[i] = (image, label)``, image float32 ``(1, 28, 28)`` in [0, 1], label int64.

    ``root`` holds the four IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each raw or ``.gz``), directly
    or in ``root/MNIST/raw`` (torchvision's layout). ``download=True`` fetches the missing
    ones from ``mirrors`` (tried in order), each verified against ``sha256`` before use.
    ``transform`` / ``target_transform`` are applied to each image / label Tensor.
    The raw pixels are kept as ``.data`` (uint8 ``(N, 28, 28)``) and labels as ``.targets``.
    """

    mirrors: Sequence[str] = MNIST_MIRRORS
    sha256: dict[str, str] = MNIST_SHA256

    def __init__(self, root: str | Path, train: bool = True, download: bool = False,
                 transform: Callable[[Tensor], Any] | None = None,
                 target_transform: Callable[[Tensor], Any] | None = None,
                 mirrors: Sequence[str] | None = None, sha256: dict[str, str] | None = None) -> None:
        self.root = Path(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if mirrors is not None:
            self.mirrors = tuple(mirrors)
        if sha256 is not None:
            self.sha256 = dict(sha256)
        prefix = "train" if train else "t10k"
        images_path = self._find(f"{prefix}-images-idx3-ubyte", download)
        labels_path = self._find(f"{prefix}-labels-idx1-ubyte", download)
        self.data = read_idx(images_path)
        self.targets = read_idx(labels_path).astype(np.int64)
        if self.data.ndim != 3 or self.targets.ndim != 1 or len(self.data) != len(self.targets):
            raise ValueError(f"MNIST: {images_path} holds shape {self.data.shape} and {labels_path} "
                             f"shape {self.targets.shape}; expected (N, H, W) images and (N,) labels")

    def _find(self, stem: str, download: bool) -> Path:
        folders = (self.root, self.root / "MNIST" / "raw")
        for folder in folders:
            for name in (stem, stem + ".gz"):
                if (folder / name).is_file():
                    return folder / name
        if download:
            name = stem + ".gz"
            if name not in self.sha256:
                raise ValueError(f"MNIST: no SHA-256 known for {name}; cannot verify a download")
            return download_verified(name, self.root, self.mirrors, self.sha256[name])
        raise FileNotFoundError(f"MNIST: {stem}[.gz] not found in {self.root} or {self.root / 'MNIST' / 'raw'}; "
                                f"pass download=True to fetch it")

    def __len__(self) -> int:
        return len(self.targets)

    def _images(self, index: Any) -> np.ndarray:
        """Pixels as float32 in [0, 1] with a channel axis: (..., 1, H, W)."""
        return np.expand_dims(self.data[index].astype(np.float32) / 255.0, axis=-3)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, label = Tensor._make(self._images(index)), Tensor._make(np.asarray(self.targets[index]))
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def get_batch(self, indices: np.ndarray) -> tuple[Any, Any]:
        """A whole batch by fancy indexing (per sample only when a transform must run)."""
        if self.transform is None and self.target_transform is None:
            return Tensor._make(self._images(indices)), Tensor._make(self.targets[indices])
        return default_collate([self[int(i)] for i in indices])
