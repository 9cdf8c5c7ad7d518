r"""``nn.utils.rnn``: sequences of different lengths in one batch, as PyTorch's ``torch.nn.utils.rnn``.

Padded form: a (T, B, *) tensor (``batch_first``: (B, T, *)) whose column b holds sequence b in its
first ``lengths[b]`` rows and ``padding_value`` after them.

Packed form (``PackedSequence``): the sequences sorted by length, longest first, and their valid
rows laid out time step by time step:

    data        = [x_{s_1,1}, …, x_{s_{n_1},1},  x_{s_1,2}, …, x_{s_{n_2},2},  …]     (Σ_b lengths[b], *)
    batch_sizes = [n_1, n_2, …, n_T],   n_t = #{b : lengths[b] ≥ t}                   (non-increasing)

where s = ``sorted_indices`` orders the batch by decreasing length (None when the batch came
sorted, ``enforce_sorted=True``) and ``unsorted_indices`` is its inverse permutation. Step t of a
recurrent layer then reads the n_t rows of data at offset n_1 + … + n_{t−1}, and those rows are
always the first n_t sequences of the sorted batch: the ones still running.

Every conversion is one gather ``rows[index]`` (an integer index array built in NumPy), so the
gradient flows back through GetItem's scatter-add, grad-of-grad included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ...tensor import Tensor, cat


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A batch of variable-length sequences packed as described in the module docstring: a named
    tuple ``(data, batch_sizes, sorted_indices, unsorted_indices)`` as PyTorch's. Made by
    ``pack_padded_sequence`` / ``pack_sequence``; ``unsorted_indices`` defaults to the inverse of
    ``sorted_indices``."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = Tensor(_invert_permutation(sorted_indices.data))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, dtype: Any) -> PackedSequence:
        """The same packing with ``data`` converted to ``dtype`` (the index tensors unchanged)."""
        return type(self)(self.data.astype(dtype), self.batch_sizes, self.sorted_indices, self.unsorted_indices)


def _invert_permutation(permutation: np.ndarray) -> np.ndarray:
    """inverse[permutation[i]] = i."""
    inverse = np.empty_like(permutation)
    inverse[permutation] = np.arange(len(permutation), dtype=permutation.dtype)
    return inverse


def _lengths_array(op: str, lengths: Any) -> np.ndarray:
    """``lengths`` (a 1-D Tensor, array or list) as an int64 array; ValueError naming ``op`` and the shape
    for any other rank (PyTorch refuses those too)."""
    array = np.asarray(lengths.data if isinstance(lengths, Tensor) else lengths, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError(f"{op}: lengths must be a 1-D tensor or list (one length per sequence), got shape "
                         f"{array.shape}")
    return array


def _gather_with_padding(rows: Tensor, index: np.ndarray, padding_value: float) -> Tensor:
    """``rows[index]`` where index −1 stands for a row full of ``padding_value`` (appended as a last row)."""
    padding = Tensor._make(np.full((1, *rows.shape[1:]), padding_value, dtype=rows.dtype))
    return cat([rows, padding], 0)[np.where(index < 0, rows.shape[0], index)]


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_b, *) into one (T, B, *) tensor (``batch_first``: (B, T, *)),
    T = max L_b, filling the missing rows with ``padding_value``: after each sequence
    (``padding_side="right"``) or before it (``"left"``)."""
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    trailing = {tuple(s.shape[1:]) for s in sequences}
    if len(trailing) > 1 or any(s.ndim == 0 for s in sequences):
        raise ValueError(f"pad_sequence: every sequence must have the same shape after its first dimension, "
                         f"got shapes {[tuple(s.shape) for s in sequences]}")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # row of each sequence's start in the joined rows
    steps = np.arange(lengths.max(initial=0))[:, None]  # (T, 1)
    offset = steps - (lengths.max(initial=0) - lengths if padding_side == "left" else 0)  # row within sequence b
    index = np.where((offset >= 0) & (offset < lengths), starts + offset, -1)  # (T, B)
    return _gather_with_padding(cat(sequences, 0), index.T if batch_first else index, padding_value)


def _sorting(op: str, lengths: np.ndarray, batch: int, steps: int, enforce_sorted: bool) -> np.ndarray | None:
    """Check ``lengths``; return the permutation sorting them longest first (stable: ties keep their
    order, as PyTorch's), or None when ``enforce_sorted`` (then they must already be sorted)."""
    if len(lengths) != batch:
        raise ValueError(f"{op}: expected {batch} lengths (the batch size), got {len(lengths)}")
    if batch == 0:
        raise ValueError(f"{op}: cannot pack an empty batch (batch size 0), as PyTorch")
    if lengths.min() <= 0:
        raise ValueError(f"{op}: every length must be greater than 0, got lengths {lengths.tolist()}")
    if lengths.max() > steps:
        raise ValueError(f"{op}: a length exceeds the sequence length {steps}, got lengths {lengths.tolist()}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(f"{op}: lengths must be sorted in decreasing order when enforce_sorted=True, got "
                             f"{lengths.tolist()}; pass enforce_sorted=False to sort them here")
        return None
    return np.argsort(-lengths, kind="stable")


def _conjugate(counts: np.ndarray) -> np.ndarray:
    """#{i : counts[i] > k} for k = 0 … max − 1, for non-increasing ``counts``. It maps the sorted
    lengths to batch_sizes (n_t = #{b : lengths[b] > t − 1}) and batch_sizes back to the lengths
    (length_b = #{t : n_t > b}): the two describe the same staircase, read by rows or by columns."""
    return (counts[None, :] > np.arange(counts[0])[:, None]).sum(1).astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (``batch_first``: (B, T, *)) whose sequence b has ``lengths[b]``
    valid rows. ``enforce_sorted=True``: the lengths must be in decreasing order; otherwise the batch
    is sorted first and the permutation kept in ``sorted_indices``."""
    op = "pack_padded_sequence"
    if input.ndim < 2:
        raise ValueError(f"{op}: expects a padded input of at least 2 dims, got shape {tuple(input.shape)}")
    lengths = _lengths_array(op, lengths)
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    order = _sorting(op, lengths, batch, steps, enforce_sorted)
    sorted_order = np.arange(batch) if order is None else order
    batch_sizes = _conjugate(lengths[sorted_order])
    # data row k = step t of sorted sequence j, for j < n_t, in time-major order
    t_index = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    b_index = sorted_order[np.concatenate([np.arange(n) for n in batch_sizes])]
    data = input[b_index, t_index] if batch_first else input[t_index, b_index]
    sorted_indices = None if order is None else Tensor(order.astype(np.int64))
    return PackedSequence(data, Tensor(batch_sizes), sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of ``pack_padded_sequence``: (padded (T, B, *) or (B, T, *), lengths (B,) int64),
    in the batch's original order; T = ``total_length`` if given (at least the longest length)."""
    batch_sizes = sequence.batch_sizes.data.astype(np.int64)
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is shorter than the longest "
                             f"sequence ({steps})")
        steps = total_length
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)])  # data row of step t's first sequence
    j = np.arange(batch_sizes[0])
    index = np.full((steps, len(j)), -1, dtype=np.int64)
    for t, n in enumerate(batch_sizes):
        index[t, :n] = offsets[t] + j[:n]
    lengths = _conjugate(batch_sizes)
    if sequence.unsorted_indices is not None:  # columns back to the original batch order
        unsorted = sequence.unsorted_indices.data
        index, lengths = index[:, unsorted], lengths[unsorted]
    padded = _gather_with_padding(sequence.data, index.T if batch_first else index, padding_value)
    return padded, Tensor(lengths)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_b, *) sequences: ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """The list of sequences (L_b, *) of a padded batch: the first ``lengths[b]`` rows of column b."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :int(n)] for b, n in enumerate(_lengths_array("unpad_sequence", lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences (L_b, *) of a packed batch, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence",
           "unpack_sequence", "unpad_sequence"]
