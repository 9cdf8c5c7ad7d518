"""Pooling layers: MaxPool2d and AvgPool2d (the ops and their backward are in ops/conv.py)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .linear import check_input
from .module import Module


class MaxPool2d(Module):
    """y[n, c, i, j] = max of each kernel window (stride defaults to the kernel size)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Any:
        """Max over each window of x: (N, C, H, W) or (C, H, W)."""
        check_input("MaxPool2d", x.ndim in (3, 4), "3 or 4 dims ((N, C, H, W) or (C, H, W))", x)
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """y[n, c, i, j] = mean of each kernel window (stride defaults to the kernel size)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        """Mean over each window of x: (N, C, H, W) or (C, H, W)."""
        check_input("AvgPool2d", x.ndim in (3, 4), "3 or 4 dims ((N, C, H, W) or (C, H, W))", x)
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
