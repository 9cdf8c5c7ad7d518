"""Padding layers, PyTorch's names: each is ``F.pad`` with a fixed mode and widths.

    ZeroPad1d/2d, ConstantPad1d/2d   y = x surrounded by a constant (negative widths crop)
    ReflectionPad1d/2d               mirror about the edge pixels:   (a b c) by 2 → c b a b c b a
    ReplicationPad1d/2d              repeat the edge pixels:         (a b c) by 2 → a a a b c c c
    CircularPad1d/2d                 wrap around:                    (a b c) by 2 → b c a b c a b

``padding`` is an int (the same width on every side) or a tuple (left, right) for 1-d,
(left, right, top, bottom) for 2-d.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .module import Module


class _PadNd(Module):
    """Shared body: ``n_dims`` padded trailing dims, the F.pad ``mode`` and (constant mode) ``value``."""

    n_dims = 1
    mode = "constant"

    def __init__(self, padding: int | tuple[int, ...], value: float = 0.0) -> None:
        super().__init__()
        widths = (int(padding),) * (2 * self.n_dims) if isinstance(padding, int) else tuple(int(p) for p in padding)
        if len(widths) != 2 * self.n_dims:
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {2 * self.n_dims} ints, "
                             f"got {padding!r}")
        self.padding, self.value = widths, value

    def forward(self, x: Tensor) -> Tensor:
        """F.pad(x, padding, mode) (value too in constant mode)."""
        if self.mode == "constant":
            return F.pad(x, self.padding, "constant", self.value)
        return F.pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}" if self.mode == "constant" else f"{self.padding}"


class _ZeroPad(_PadNd):
    """Constant padding with zeros (PyTorch prints only the widths)."""

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``: y = (value … x … value)."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with ``value``."""

    n_dims = 2


class ZeroPad1d(_ZeroPad):
    """Pad the last dim with zeros."""


class ZeroPad2d(_ZeroPad):
    """Pad the last two dims with zeros."""

    n_dims = 2


class ReflectionPad1d(_PadNd):
    """Mirror the last dim about its edge pixels (each width < the input size)."""

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Mirror the last two dims about their edge pixels."""

    n_dims = 2


class ReplicationPad1d(_PadNd):
    """Repeat the edge pixels of the last dim."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Repeat the edge pixels of the last two dims."""

    n_dims = 2


class CircularPad1d(_PadNd):
    """Wrap the last dim around (periodic padding, each width ≤ the input size)."""

    mode = "circular"


class CircularPad2d(CircularPad1d):
    """Wrap the last two dims around."""

    n_dims = 2
