r"""Convolution layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d (the ops and their backwards are in ops/conv.py).

Conv2d:  y[n, o] = b[o] + Σ_c w[o, c] ⋆ x[n, k·C/G + c]   (⋆: cross-correlation with stride,
         padding and dilation), w: (out_channels, in_channels/groups, kh, kw); G = groups
         channel groups, k = o // (out_channels/G) the group of output channel o.
Default init as PyTorch: w ~ kaiming_uniform(a=√5), b ~ U(−1/√fan_in, 1/√fan_in),
fan_in = (in_channels/groups)·kh·kw. Conv3d is the same over (N, C, D, H, W) volumes with a
(kd, kh, kw) kernel; Conv1d over (N, C, L) sequences. Each layer calls its ``F.conv<n>d``.
padding_mode 'reflect' / 'replicate' / 'circular' pads the input with F.pad in that mode first
(then the convolution pads nothing), as PyTorch does; 'zeros' is the convolution's own padding.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .linear import check_input, empty_parameter, reset_fan_in_uniform
from .module import Module, Parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvBase(Module):
    """What Conv1d/2d/3d and ConvTranspose1d/2d/3d share: PyTorch's default init, the input check and
    the printing (n = number of spatial dims)."""

    n_spatial = 0

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation: kaiming_uniform(a=√5) of the weight, bias U(−1/√fan_in,
        1/√fan_in) with fan_in from the weight's dims 1… (as PyTorch computes it for both layouts)."""
        reset_fan_in_uniform(self.weight, self.bias)

    def _check_groups(self, in_channels: int, out_channels: int, groups: Any) -> None:
        """groups must be a positive int dividing both channel counts (each check with its own message)."""
        name = type(self).__name__
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups ({in_channels} and {groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups ({out_channels} and {groups})")

    def _check(self, x: Tensor) -> None:
        n = self.n_spatial
        ok = x.ndim in (n + 1, n + 2) and x.shape[-n - 1] == self.in_channels
        check_input(type(self).__name__, ok, f"shape (N, C, {F._SPATIAL_NAMES[n]}) with C = {self.in_channels}", x)

    def extra_repr(self) -> str:
        n = self.n_spatial
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _ConvNd(_ConvBase):
    """Shared parameters and forward of Conv1d/2d/3d; ``functional`` is the layer's F.conv<n>d."""

    functional: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        self._check_groups(in_channels, out_channels, groups)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        n = self.n_spatial
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = F._ntuple(kernel_size, n, name, "kernel_size")
        self.stride, self.dilation = F._ntuple(stride, n, name, "stride"), F._ntuple(dilation, n, name, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid' or numbers, got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = F._ntuple(padding, n, name, "padding")
        self.groups, self.padding_mode = groups, padding_mode
        self.output_padding = (0,) * n  # PyTorch's attribute of every convolution; only a transposed one sets it
        self._reversed_padding_repeated_twice = self._pad_widths()
        self.weight = Parameter(empty_parameter((out_channels, in_channels // groups, *self.kernel_size), dtype))
        self.bias = Parameter(empty_parameter((out_channels,), dtype)) if bias else None
        self.reset_parameters()

    def _pad_widths(self) -> tuple[int, ...]:
        """F.pad widths (last dim first) for a non-zero padding_mode; 'same' puts the odd one at the end."""
        if self.padding == "valid":
            return (0, 0) * self.n_spatial
        if self.padding == "same":
            pairs = F._same_pad_pairs(self.kernel_size, self.dilation)
        else:
            pairs = [(p, p) for p in self.padding]
        return tuple(w for pair in reversed(pairs) for w in pair)

    def _conv_input(self, x: Tensor) -> tuple[Tensor, Any]:
        """(input, padding) for the conv call: padding_mode 'zeros' lets the conv pad; any other mode
        pads x here with F.pad (reflect, replicate or circular) and the conv pads nothing."""
        self._check(x)
        if self.padding_mode == "zeros":
            return x, self.padding
        return F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode), 0

    def forward(self, x: Tensor) -> Tensor:
        """y = conv<n>d(x, w) + b."""
        x, padding = self._conv_input(x)
        return self.functional(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) inputs (see the module docstring)."""

    n_spatial = 2
    functional = staticmethod(F.conv2d)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) inputs: a Conv2d with a unit height."""

    n_spatial = 1
    functional = staticmethod(F.conv1d)


class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W) inputs (or unbatched (C, D, H, W)); weight
    (out_channels, in_channels/groups, kd, kh, kw). Runs the NumPy kernels on either backend."""

    n_spatial = 3
    functional = staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvBase):
    """Shared parameters and forward of ConvTranspose1d/2d/3d: weight (in_channels, out_channels/groups,
    *kernel); ``functional`` is the layer's F.conv_transpose<n>d."""

    functional: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", dtype: Any = None) -> None:
        super().__init__()
        self._check_groups(in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        n, name = self.n_spatial, type(self).__name__
        self.in_channels, self.out_channels, self.groups, self.padding_mode = in_channels, out_channels, groups, "zeros"
        self.kernel_size = F._ntuple(kernel_size, n, name, "kernel_size")
        self.stride, self.padding = F._ntuple(stride, n, name, "stride"), F._ntuple(padding, n, name, "padding")
        self.output_padding = F._ntuple(output_padding, n, name, "output_padding")
        self.dilation = F._ntuple(dilation, n, name, "dilation")
        self.weight = Parameter(empty_parameter((in_channels, out_channels // groups, *self.kernel_size), dtype))
        self.bias = Parameter(empty_parameter((out_channels,), dtype)) if bias else None
        self.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """y = conv_transpose<n>d(x, w) + b."""
        self._check(x)
        return self.functional(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                               self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution over (N, C, H, W) inputs (``F.conv_transpose2d``): the layer of
    decoders and upsampling paths."""

    n_spatial = 2
    functional = staticmethod(F.conv_transpose2d)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution over (N, C, L) inputs (``F.conv_transpose1d``)."""

    n_spatial = 1
    functional = staticmethod(F.conv_transpose1d)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution over (N, C, D, H, W) inputs (``F.conv_transpose3d``): the layer of
    volumetric decoders (3-D U-Nets). Runs the NumPy kernels on either backend."""

    n_spatial = 3
    functional = staticmethod(F.conv_transpose3d)
