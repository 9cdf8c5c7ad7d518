"""Padding layers, PyTorch's names: each is ``F.pad`` with a fixed mode and widths.

    ZeroPad1d/2d/3d, ConstantPad1d/2d/3d   y = x surrounded by a constant (negative widths crop)
    ReflectionPad1d/2d/3d                  mirror about the edge pixels:   (a b c) by 2 → c b a b c b a
    ReplicationPad1d/2d/3d                 repeat the edge pixels:         (a b c) by 2 → a a a b c c c
    CircularPad1d/2d/3d                    wrap around:                    (a b c) by 2 → b c a b c a b

``padding`` is an int (the same width on every side) or a tuple (left, right) for 1-d,
(left, right, top, bottom) for 2-d, (left, right, top, bottom, front, back) for 3-d.

As in PyTorch, the 1-d, 2-d and 3-d layers of a mode are siblings under one private base per
mode (a ReflectionPad2d is not a ReflectionPad1d), and ZeroPadNd is a ConstantPadNd.
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
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    """Constant padding with ``value``."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadding:
    """Mixin for ZeroPadNd: a ConstantPadNd whose value is 0 (PyTorch prints only the widths)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)  # type: ignore[call-arg]  # the ConstantPadNd beside it in the MRO

    def extra_repr(self) -> str:
        return f"{self.padding}"  # type: ignore[attr-defined]


class _ReflectionPadNd(_PadNd):
    """Mirror about the edge pixels (each width < the input size)."""

    mode = "reflect"


class _ReplicationPadNd(_PadNd):
    """Repeat the edge pixels."""

    mode = "replicate"


class _CircularPadNd(_PadNd):
    """Wrap around (periodic padding, each width ≤ the input size)."""

    mode = "circular"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: y = (value … x … value)."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``."""

    n_dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``."""

    n_dims = 3


class ZeroPad1d(_ZeroPadding, ConstantPad1d):
    """Pad the last dim with zeros."""


class ZeroPad2d(_ZeroPadding, ConstantPad2d):
    """Pad the last two dims with zeros."""


class ZeroPad3d(_ZeroPadding, ConstantPad3d):
    """Pad the last three dims with zeros."""


class ReflectionPad1d(_ReflectionPadNd):
    """Mirror the last dim about its edge pixels (each width < the input size)."""


class ReflectionPad2d(_ReflectionPadNd):
    """Mirror the last two dims about their edge pixels."""

    n_dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Mirror the last three dims about their edge pixels."""

    n_dims = 3


class ReplicationPad1d(_ReplicationPadNd):
    """Repeat the edge pixels of the last dim."""


class ReplicationPad2d(_ReplicationPadNd):
    """Repeat the edge pixels of the last two dims."""

    n_dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Repeat the edge pixels of the last three dims."""

    n_dims = 3


class CircularPad1d(_CircularPadNd):
    """Wrap the last dim around (periodic padding)."""


class CircularPad2d(_CircularPadNd):
    """Wrap the last two dims around."""

    n_dims = 2


class CircularPad3d(_CircularPadNd):
    """Wrap the last three dims around."""

    n_dims = 3
