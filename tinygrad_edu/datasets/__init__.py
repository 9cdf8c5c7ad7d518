"""``tg.datasets``: the digits shipped in the package, and an MNIST (IDX format) loader."""

from .digits import load_digits
from .download import download_verified, sha256_of
from .mnist import MNIST, read_idx

__all__ = ["MNIST", "download_verified", "load_digits", "read_idx", "sha256_of"]
