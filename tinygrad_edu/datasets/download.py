"""Fetch a file from a list of mirrors, verify its SHA-256, and only then put it in place.

The bytes go to a temporary file in the destination folder; only when its SHA-256
matches the expected one is it renamed (atomically) to its final name. A mirror that
fails (network error, HTTP error, wrong checksum) is skipped for the next one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

CHUNK_BYTES = 1 << 20

# hashlib, tempfile and urllib are imported inside the functions: urllib.request alone pulls in
# ssl, http and email (~40 ms), and ``import tinygrad_edu`` should not pay that to train a model.


def sha256_of(path: str | Path) -> str:
    """The hex SHA-256 digest of the file at ``path``."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_to_temp(url: str, folder: Path, timeout: float) -> tuple[Path, str]:
    """Stream ``url`` into a temporary file in ``folder``; return its path and SHA-256."""
    import hashlib
    import tempfile
    import urllib.request

    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(temp_name)
        raise
    return Path(temp_name), digest.hexdigest()


def download_verified(filename: str, folder: str | Path, mirrors: Sequence[str], sha256: str,
                      timeout: float = 30.0) -> Path:
    """Download ``filename`` from the first mirror that serves it with the right SHA-256.

    Each mirror is a base URL; the file's URL is ``mirror + filename``. Returns the path of
    the verified file in ``folder``. Raises ``RuntimeError`` listing what went wrong at
    each mirror when none succeeds.
    """
    import urllib.error

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            temp, actual = _fetch_to_temp(url, folder, timeout)
        except (urllib.error.URLError, OSError, ValueError) as error:
            failures.append(f"{url}: {error}")
            continue
        if actual != sha256.lower():
            temp.unlink()
            failures.append(f"{url}: SHA-256 mismatch (expected {sha256}, got {actual}); file rejected")
            continue
        final = folder / filename
        os.replace(temp, final)
        return final
    raise RuntimeError(f"could not download {filename} from any mirror:\n  " + "\n  ".join(failures))
