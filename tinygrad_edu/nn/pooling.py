"""Pooling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, their adaptive and unpooling forms, and
Upsample (the ops and their backward are in ops/conv.py; the 1-d layers are the 2-d ones with a
unit height, see ``F.max_pool1d``; the 3-d ones run the same code with one more spatial dim)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .linear import check_input
from .module import Module


class MaxPool2d(Module):
    """y[n, c, i, j] = max of each kernel window (stride defaults to the kernel size).

    ceil_mode=True keeps a last, partial window at the bottom/right edge when it starts inside
    the input or the left padding (PyTorch's rule)."""

    n_spatial = 2
    functional = staticmethod(F.max_pool2d)  # the layer's F.max_pool<n>d

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x: Tensor) -> Any:
        """Max over each window of x: (N, C, H, W) or (C, H, W) (1-d: (N, C, L) or (C, L); 3-d:
        (N, C, D, H, W) or (C, D, H, W))."""
        n = self.n_spatial
        check_input(type(self).__name__, x.ndim in (n + 1, n + 2), f"{n + 1} or {n + 2} dims", x)
        return self.functional(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                               self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(MaxPool2d):
    """y[n, c, i] = max of each kernel window of (N, C, L) or (C, L) input."""

    n_spatial = 1
    functional = staticmethod(F.max_pool1d)


class MaxPool3d(MaxPool2d):
    """y[n, c, t, i, j] = max of each kernel window of (N, C, D, H, W) or (C, D, H, W) input; indices
    (return_indices) are flat positions (d·H + h)·W + w, as MaxUnpool3d takes them."""

    n_spatial = 3
    functional = staticmethod(F.max_pool3d)


class AvgPool2d(Module):
    """y[n, c, i, j] = mean of each kernel window (stride defaults to the kernel size).

    The divisor is kh·kw, or the count of real pixels (count_include_pad=False), or
    ``divisor_override``; ceil_mode windows as in MaxPool2d, divided as PyTorch divides them."""

    n_spatial = 2
    functional = staticmethod(F.avg_pool2d)  # the layer's F.avg_pool<n>d

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, x: Tensor) -> Tensor:
        """Mean over each window of x: (N, C, H, W) or (C, H, W) (3-d: (N, C, D, H, W) or (C, D, H, W))."""
        n, dims = self.n_spatial, F._SPATIAL_NAMES[self.n_spatial]
        check_input(type(self).__name__, x.ndim in (n + 1, n + 2), f"{n + 1} or {n + 2} dims ((N, C, {dims}) or "
                    f"(C, {dims}))", x)
        return self.functional(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                               self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """y[n, c, t, i, j] = mean of each kernel window of (N, C, D, H, W) or (C, D, H, W) input (divisor
    kd·kh·kw, or as AvgPool2d's)."""

    n_spatial = 3
    functional = staticmethod(F.avg_pool3d)


def _single(value: Any) -> tuple[int]:
    return (int(value[0]),) if isinstance(value, (tuple, list)) else (int(value),)


class AvgPool1d(Module):
    """y[n, c, i] = mean of each kernel window of (N, C, L) or (C, L) input (sizes kept as 1-tuples,
    as PyTorch keeps and prints them)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = self.kernel_size if stride is None else _single(stride)
        self.padding, self.ceil_mode, self.count_include_pad = _single(padding), ceil_mode, count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        """Mean over each window of x."""
        check_input("AvgPool1d", x.ndim in (2, 3), "2 or 3 dims ((N, C, L) or (C, L))", x)
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed (out_h, out_w) whatever the input size (None keeps a dim's size)."""

    functional = staticmethod(F.adaptive_avg_pool2d)  # the layer's F.adaptive_avg_pool<n>d

    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        """adaptive_avg_pool<n>d(x, output_size)."""
        return self.functional(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, L) to a fixed length."""

    functional = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, D, H, W) to a fixed (out_d, out_h, out_w) (None keeps a dim's size)."""

    functional = staticmethod(F.adaptive_avg_pool3d)


class Upsample(Module):
    """Resize by ``F.interpolate`` to ``size`` or by ``scale_factor`` (mode nearest, nearest-exact, linear for
    (N, C, L), bilinear for (N, C, H, W), trilinear for (N, C, D, H, W))."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size, self.mode, self.align_corners = size, mode, align_corners
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, (int, float)) else scale_factor
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        """interpolate(x, size, scale_factor, mode, align_corners)."""
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode="nearest")`` of (N, C, H, W) inputs."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode="bilinear", align_corners=True)`` of (N, C, H, W) inputs."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "bilinear", align_corners=True)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed (out_h, out_w) whatever the input size (``F.adaptive_max_pool2d``)."""

    functional = staticmethod(F.adaptive_max_pool2d)  # the layer's F.adaptive_max_pool<n>d

    def __init__(self, output_size: int | tuple[int | None, int | None], return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x: Tensor) -> Any:
        """adaptive_max_pool<n>d(x, output_size) (with the indices if return_indices)."""
        return self.functional(x, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(AdaptiveMaxPool2d):
    """Max pooling of (N, C, L) to a fixed length."""

    functional = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool3d(AdaptiveMaxPool2d):
    """Max pooling of (N, C, D, H, W) to a fixed (out_d, out_h, out_w) (``F.adaptive_max_pool3d``)."""

    functional = staticmethod(F.adaptive_max_pool3d)


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r) (``F.pixel_shuffle``)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x: Tensor) -> Tensor:
        """pixel_shuffle(x, upscale_factor)."""
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W) (``F.pixel_unshuffle``)."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, x: Tensor) -> Tensor:
        """pixel_unshuffle(x, downscale_factor)."""
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class MaxUnpool2d(Module):
    """The partial inverse of MaxPool2d (``F.max_unpool2d``): values back at their pooled
    indices, zeros elsewhere; stride defaults to the kernel size. Sizes are kept as tuples, as
    PyTorch keeps and prints them."""

    n_spatial = 2
    functional = staticmethod(F.max_unpool2d)  # the layer's F.max_unpool<n>d

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        n, name = self.n_spatial, type(self).__name__
        self.kernel_size = F._ntuple(kernel_size, n, name, "kernel_size")
        self.stride = self.kernel_size if stride is None else F._ntuple(stride, n, name, "stride")
        self.padding = F._ntuple(padding, n, name, "padding")

    def forward(self, x: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        """max_unpool<n>d(x, indices, ...), x and indices: (N, C, H, W) or (C, H, W) (3-d: (N, C, D, H, W) or
        (C, D, H, W))."""
        return self.functional(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool3d(MaxUnpool2d):
    """The partial inverse of MaxPool3d (``F.max_unpool3d``): values back at their pooled indices in
    a zero volume (N, C, D, H, W)."""

    n_spatial = 3
    functional = staticmethod(F.max_unpool3d)


class Unfold(Module):
    """Sliding blocks as columns (``F.unfold``, im2col): (N, C, H, W) → (N, C·kh·kw, L)."""

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        """unfold(x, kernel_size, dilation, padding, stride)."""
        return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Unfold):
    """Columns summed back into an image (``F.fold``, col2im): (N, C·kh·kw, L) → (N, C, *output_size)."""

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        """fold(x, output_size, kernel_size, dilation, padding, stride)."""
        return F.fold(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, {super().extra_repr()}"
