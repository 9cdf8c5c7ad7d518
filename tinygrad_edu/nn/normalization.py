r"""Normalisation layers: BatchNorm1d/2d/3d, LayerNorm, GroupNorm, InstanceNorm1d/2d/3d, RMSNorm.

BatchNorm (training):  y = (x − μ_B) / √(σ²_B + ε) · γ + β, per channel, with the batch
mean μ_B and biased variance σ²_B; the running statistics are updated as
running ← (1 − momentum)·running + momentum·stat, using the unbiased variance (PyTorch).
In eval mode the running statistics replace the batch ones. ``momentum=None`` uses the
cumulative average (factor 1 / num_batches_tracked).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from . import init
from .linear import check_input, empty_parameter
from .module import Module, Parameter


class _BatchNorm(Module):
    """Shared state and forward of BatchNorm1d/2d/3d; subclasses say which input ranks they take."""

    input_ranks: tuple[int, ...] = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(empty_parameter((num_features,), dtype)) if affine else None
        self.bias = Parameter(empty_parameter((num_features,), dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", empty_parameter((num_features,), dtype))
            self.register_buffer("running_var", empty_parameter((num_features,), dtype))
            self.register_buffer("num_batches_tracked", Tensor._make(np.zeros((), dtype=dtypes.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        """γ = 1, β = 0 and fresh running statistics."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise with batch statistics (training) or running statistics (eval)."""
        ok = x.ndim in self.input_ranks and x.shape[1 if x.ndim > 1 else 0] == self.num_features
        check_input(type(self).__name__, ok and x.ndim > 1, f"shape {self.layout} with C = {self.num_features}", x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C."""

    input_ranks = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs, per channel C."""

    input_ranks = (4,)
    layout = "(N, C, H, W)"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs, per channel C (statistics over N, D, H, W)."""

    input_ranks = (5,)
    layout = "(N, C, D, H, W)"


class LayerNorm(Module):
    """y = (x − mean) / √(var + ε) · γ + β over the trailing ``normalized_shape`` dims."""

    def __init__(self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(empty_parameter(shape, dtype)) if elementwise_affine else None
        self.bias = Parameter(empty_parameter(shape, dtype)) if elementwise_affine and bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """γ = 1, β = 0."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise over the trailing dims."""
        n = len(self.normalized_shape)
        check_input("LayerNorm", tuple(x.shape[x.ndim - n:]) == self.normalized_shape and x.ndim >= n,
                    f"trailing shape {self.normalized_shape}", x)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalisation over groups of channels of each sample: ``F.group_norm``; γ, β per channel."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        if not isinstance(num_groups, (int, np.integer)) or num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by num_groups={num_groups}")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(empty_parameter((num_channels,), dtype)) if affine else None
        self.bias = Parameter(empty_parameter((num_channels,), dtype)) if affine and bias else None
        if affine:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise each group of channels of each sample."""
        check_input("GroupNorm", x.ndim >= 2 and x.shape[1] == self.num_channels,
                    f"shape (N, C, ...) with C = {self.num_channels}", x)
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_BatchNorm):
    """Instance normalisation (statistics per sample and channel); PyTorch's defaults: no affine
    parameters, no running statistics. Also takes unbatched input (C, ...)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise each channel of each sample over its positions (running statistics in eval
        mode if tracked)."""
        batched = x.ndim == max(self.input_ranks)
        check_input(type(self).__name__, x.ndim in self.input_ranks and x.shape[x.ndim - len(self.layout) + 1]
                    == self.num_features, f"shape {self.layout} or without N, with C = {self.num_features}", x)
        x = x if batched else x.unsqueeze(0)
        use_input_stats = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                            self.momentum, self.eps)
        return y if batched else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) (or (C, L)) inputs."""

    input_ranks = (2, 3)
    layout = "NCL"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) (or (C, H, W)) inputs."""

    input_ranks = (3, 4)
    layout = "NCHW"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) (or (C, D, H, W)) inputs."""

    input_ranks = (4, 5)
    layout = "NCDHW"


class RMSNorm(Module):
    """y = x / √(mean(x²) + ε) · γ over the trailing ``normalized_shape`` dims (``F.rms_norm``)."""

    def __init__(self, normalized_shape: Any, eps: float | None = None, elementwise_affine: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = Parameter(empty_parameter(shape, dtype)) if elementwise_affine else None
        if elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise by the root mean square over the trailing dims."""
        n = len(self.normalized_shape)
        check_input("RMSNorm", tuple(x.shape[x.ndim - n:]) == self.normalized_shape and x.ndim >= n,
                    f"trailing shape {self.normalized_shape}", x)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
