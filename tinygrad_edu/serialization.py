"""``tg.save`` / ``tg.load``: state dicts in the safetensors format, written atomically.

The safetensors format (https://github.com/huggingface/safetensors), byte by byte:

    [8 bytes]  N, the header length, unsigned 64-bit little-endian
    [N bytes]  a UTF-8 JSON object: for each tensor name
               {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
               and optionally "__metadata__": {str: str}; padded with spaces
    [rest]     the tensors' raw little-endian bytes, row-major; each tensor's bytes are
               rest[begin:end], and together they cover the buffer without gaps

It holds only arrays and strings, so loading never runs code (unlike pickle, which this
module never uses). A model's ``state_dict()`` (name -> tensor) maps onto it directly and
the file loads unchanged with ``safetensors.torch.load_file``.

Nested state (an optimizer's ``{"state": {0: {...}}, "param_groups": [...]}``, or a
checkpoint ``{"model": ..., "optimizer": ..., "epoch": 3}``) is stored as: every tensor
under its dotted path (``optimizer.state.0.exp_avg``), and the structure itself, with
the non-tensor values, as one JSON string in the metadata under ``"tinygrad_edu"``, in
which each tensor is the placeholder ``{"__tensor__": name}``.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .tensor import Tensor

HEADER_LENGTH_BYTES = 8
METADATA_KEY = "tinygrad_edu"  # where the JSON structure of a nested object lives
SAFETENSORS_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
DTYPE_NAMES = {np.dtype(v): k for k, v in SAFETENSORS_DTYPES.items()}


# ---- nested objects <-> (tensors by name, JSON structure) ----------------------------

def _is_tensor(value: Any) -> bool:
    return isinstance(value, (Tensor, np.ndarray))


def _flatten(value: Any, path: str, tensors: dict[str, np.ndarray]) -> Any:
    """Replace every tensor in ``value`` by a placeholder, collecting it in ``tensors``."""
    if _is_tensor(value):
        if path in tensors:
            raise ValueError(f"save: two tensors would both be stored under the name {path!r}")
        tensors[path] = value.data if isinstance(value, Tensor) else value
        return {"__tensor__": path, "ndarray": isinstance(value, np.ndarray)}
    prefix = f"{path}." if path else ""
    if isinstance(value, dict):
        items = [[key, _flatten(item, f"{prefix}{key}", tensors)] for key, item in value.items()]
        if all(isinstance(key, str) and not key.startswith("__") for key, _ in items):
            return dict(items)
        if not all(isinstance(key, (str, int, float, bool)) or key is None for key, _ in items):
            raise TypeError(f"save: dictionary keys must be str/int/float/bool, got one under {path!r}")
        return {"__dict__": items}  # keeps non-string keys, e.g. an optimizer's {0: {...}}
    if isinstance(value, (list, tuple)):
        items = [_flatten(item, f"{prefix}{i}", tensors) for i, item in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save: cannot store a {type(value).__name__} (at {path!r}); "
                    f"only tensors, arrays, numbers, strings, None, lists, tuples and dicts")


def _unflatten(value: Any, tensors: dict[str, np.ndarray]) -> Any:
    """Inverse of ``_flatten``: put the loaded tensors back in place of their placeholders."""
    if isinstance(value, list):
        return [_unflatten(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        array = tensors[value["__tensor__"]]
        return array if value.get("ndarray") else Tensor._make(array)
    if "__tuple__" in value:
        return tuple(_unflatten(item, tensors) for item in value["__tuple__"])
    if "__dict__" in value:
        return {key: _unflatten(item, tensors) for key, item in value["__dict__"]}
    return {key: _unflatten(item, tensors) for key, item in value.items()}


def _is_flat_state_dict(obj: Any) -> bool:
    return all(isinstance(key, str) and isinstance(value, Tensor) for key, value in obj.items())


# ---- bytes ---------------------------------------------------------------------------

def _encode(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None) -> list[bytes]:
    """The file's byte chunks: header length, header, then each tensor's data."""
    header: dict[str, Any] = {"__metadata__": metadata} if metadata else {}
    chunks, offset = [], 0
    for name, array in tensors.items():
        native = array.dtype.newbyteorder("=")
        if native not in DTYPE_NAMES:
            raise TypeError(f"save: tensor {name!r} has dtype {array.dtype}, which safetensors cannot store")
        data = np.ascontiguousarray(array, dtype=native.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPE_NAMES[native], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # pad so the data starts 8-byte aligned
    return [struct.pack("<Q", len(header_bytes)), header_bytes, *chunks]


def _decode(raw: bytes, path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse and validate a safetensors file's bytes; every problem is a ValueError naming ``path``."""
    def invalid(reason: str) -> ValueError:
        return ValueError(f"{path}: not a valid safetensors file ({reason})")

    if len(raw) < HEADER_LENGTH_BYTES:
        raise invalid(f"only {len(raw)} bytes")
    (header_length,) = struct.unpack("<Q", raw[:HEADER_LENGTH_BYTES])
    data_start = HEADER_LENGTH_BYTES + header_length
    if data_start > len(raw):
        raise invalid(f"header length {header_length} exceeds the file size {len(raw)}; truncated or garbage")
    try:
        header = json.loads(raw[HEADER_LENGTH_BYTES:data_start].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid(f"header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise invalid("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    buffer = memoryview(raw)[data_start:]
    tensors, spans = {}, []
    for name, info in header.items():
        try:
            dtype = np.dtype(SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
            shape = tuple(int(s) for s in info["shape"])
            begin, end = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise invalid(f"bad or unsupported entry for tensor {name!r}: {info}") from None
        if not 0 <= begin <= end <= len(buffer) or end - begin != int(np.prod(shape)) * dtype.itemsize:
            raise invalid(f"tensor {name!r} needs bytes [{begin}, {end}) for shape {shape}, "
                          f"data section has {len(buffer)}; truncated or corrupt")
        tensors[name] = np.frombuffer(buffer[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
        spans.append((begin, end))
    covered = 0
    for begin, end in sorted(spans):
        if begin != covered:
            raise invalid(f"tensor data has a gap or overlap at byte {covered}")
        covered = end
    if covered != len(buffer):
        raise invalid(f"{len(buffer) - covered} trailing bytes after the tensor data")
    return tensors, metadata


# ---- public API ----------------------------------------------------------------------

def atomic_write_bytes(path: str | Path, chunks: list[bytes]) -> None:
    """Write ``chunks`` to ``path`` so that the file is either the old one or the complete new one.

    The data goes to a temporary file in the same folder, is flushed to disk (fsync), and
    only then renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows).
    """
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def save(obj: dict[str, Any], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Save a state dict (or a nested dict of them) to ``path`` in the safetensors format, atomically.

    A flat ``{name: Tensor}`` (a model's ``state_dict()``) is stored as plain tensors; anything
    nested or holding non-tensor values (optimizer state, a training checkpoint) also
    stores its structure as JSON in the metadata. Tensors may be Tensors or NumPy arrays.
    ``metadata`` adds your own string entries to the header (``load_metadata`` reads them),
    as ``safetensors.torch.save_file(..., metadata=)`` does.
    """
    if not isinstance(obj, dict):
        raise TypeError(f"save: expected a dict (a state dict), got {type(obj).__name__}")
    header_metadata = dict(metadata or {})
    if METADATA_KEY in header_metadata or not all(isinstance(v, str) for v in header_metadata.values()):
        raise ValueError(f"save: metadata must map str to str and not use the reserved key {METADATA_KEY!r}")
    tensors: dict[str, np.ndarray] = {}
    if _is_flat_state_dict(obj):
        tensors = {key: value.data for key, value in obj.items()}
    else:
        header_metadata[METADATA_KEY] = json.dumps(_flatten(obj, "", tensors))
    atomic_write_bytes(path, _encode(tensors, header_metadata or None))


def load_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a safetensors file (what ``save(..., metadata=)`` stored)."""
    path = Path(path)
    _, metadata = _decode(path.read_bytes(), path)
    return {key: value for key, value in metadata.items() if key != METADATA_KEY}


def load(path: str | Path) -> dict[str, Any]:
    """Load what ``save`` wrote, or any safetensors file (e.g. from ``safetensors.torch.save_file``).

    Returns the saved dict with Tensors (and NumPy arrays where arrays were saved); a plain
    safetensors file gives ``{name: Tensor}``. A truncated or non-safetensors file raises
    ValueError naming it.
    """
    path = Path(path)
    tensors, metadata = _decode(path.read_bytes(), path)
    if METADATA_KEY not in metadata:
        return {name: Tensor._make(array) for name, array in tensors.items()}
    try:
        structure = json.loads(metadata[METADATA_KEY])
        return _unflatten(structure, tensors)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: corrupt {METADATA_KEY} structure in the metadata ({error})") from None
