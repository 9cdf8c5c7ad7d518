"""The UCI optical handwritten digits, shipped inside the package (works offline).

1,797 images of 8x8 pixels, ten classes, CC BY 4.0 (see ATTRIBUTION.md next to this file).
"""

from __future__ import annotations

import gzip
import io

import numpy as np

DIGITS_FILE = "digits.npy.gz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits as ``(images, labels)``: float32 ``(1797, 1, 8, 8)`` in [0, 1] and int64 ``(1797,)``.

    The stored pixels are counts 0..16 (on-pixels of a 4x4 block), so images = counts / 16.
    """
    from importlib import resources  # here, not at the top: it imports zipfile, unneeded until now

    packed = resources.files(__package__).joinpath(DIGITS_FILE).read_bytes()
    table = np.load(io.BytesIO(gzip.decompress(packed)), allow_pickle=False)
    images = (table[:, :64].astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return images, table[:, 64].astype(np.int64)
