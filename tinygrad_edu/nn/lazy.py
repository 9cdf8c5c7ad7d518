"""Lazy modules: layers whose input size is read from the first input instead of being given.

    fc = nn.LazyLinear(10)         # in_features unknown: weight is an UninitializedParameter
    fc(tg.randn(32, 784))          # now weight is (10, 784), initialised as Linear's, and
    type(fc) is nn.Linear          # the module has become the ordinary class (``cls_to_become``)

How (as PyTorch's ``LazyModuleMixin``): the constructor builds the ordinary layer with size 0,
puts ``UninitializedParameter`` / ``UninitializedBuffer`` placeholders (nn/parameter.py) in
place of the tensors whose shape depends on the input, and registers a forward pre-hook. At
the first call that hook runs ``initialize_parameters(input)`` (materialize the placeholders,
then the layer's own ``reset_parameters``), removes itself and swaps the class. The
placeholders are the same objects afterwards, so an optimiser built before the dry run works.
A state dict of an initialised model loads into a lazy one: a load_state_dict pre-hook
materializes the placeholders with the saved shapes first.

LazyLinear is written out; the convolutions and norms share three bases (_LazyConv,
_LazyConvTranspose, _LazyNorm), and ``_lazy(base, layer)`` makes each ``Lazy<layer>`` class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear, check_input
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .parameter import UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d", "LazyConv3d",
           "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear", "LazyModuleMixin"]


def _materialize_from_state_dict(module: Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """load_state_dict pre-hook: a placeholder whose key the state dict holds takes its shape."""
    for name, tensor in [*module._parameters.items(), *module._buffers.items()]:
        key = prefix + name
        if key in state_dict and is_lazy(tensor) and not is_lazy(state_dict[key]):
            value = state_dict[key]
            tensor.materialize(np.shape(value.data if isinstance(value, Tensor) else value))


def _infer_parameters(module: Module, args: tuple) -> None:
    """Forward pre-hook of the first call: initialise from the input, then become the ordinary class."""
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._initialize_hook.remove()
    module._load_hook.remove()
    del module._initialize_hook, module._load_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


class LazyModuleMixin:
    """Base of the lazy layers (listed first, before the ordinary layer class).

    A subclass names ``cls_to_become``, the attribute inferred from the input (``inferred``,
    e.g. "in_features", 0 until known) and writes ``initialize_parameters(input)``.
    """

    cls_to_become: type | None = None
    inferred = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self.register_load_state_dict_pre_hook(_materialize_from_state_dict)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self) -> bool:
        """True while some parameter or buffer is still a placeholder."""
        return any(is_lazy(t) for t in [*self._parameters.values(), *self._buffers.values()])

    def reset_parameters(self) -> None:
        """The layer's own initialisation, once the shapes are known (a no-op before)."""
        if not self.has_uninitialized_params() and getattr(self, self.inferred) != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args: Any) -> None:
        """Materialize the placeholders from the first input; each lazy layer defines it."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` with ``in_features`` read from the last dim of the first input."""

    cls_to_become = Linear
    inferred = "in_features"

    def __init__(self, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__(0, 0, False, dtype=dtype)  # no bias tensor: it is replaced right away
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def initialize_parameters(self, input: Tensor) -> None:
        """in_features = input.shape[-1]; W (out, in) and b (out,) with Linear's initialisation."""
        if self.has_uninitialized_params():
            check_input(type(self).__name__, input.ndim >= 1, "at least 1 dim", input)
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        if self.in_features == 0:  # the weight came from load_state_dict
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {input.shape[-1]} is not equal to "
                                     f"in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


class _LazyConvMixin(LazyModuleMixin):
    """in_channels read from dim 1 of a batched input (dim 0 of an unbatched one)."""

    inferred = "in_channels"
    transposed = False

    def _lazy_init(self, out_channels: int, bias: bool, dtype: Any) -> None:
        """The placeholders, after the size-0 layer was built without a bias."""
        self.weight = UninitializedParameter(dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def _get_in_channels(self, input: Tensor) -> int:
        unbatched = self.n_spatial + 1
        if input.ndim not in (unbatched, unbatched + 1):
            raise RuntimeError(f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {tuple(input.shape)}")
        return input.shape[1] if input.ndim == unbatched + 1 else input.shape[0]

    def initialize_parameters(self, input: Tensor) -> None:
        """W (out, in/groups, *kernel), or (in, out/groups, *kernel) transposed; b (out,)."""
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self.transposed:
                self.weight.materialize((self.in_channels, self.out_channels // self.groups, *self.kernel_size))
            else:
                self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()
        elif self.in_channels == 0:  # the weight came from load_state_dict
            shape = self.weight.shape
            self.in_channels = shape[0] if self.transposed else shape[1] * self.groups


class _LazyConv(_LazyConvMixin):
    """The constructor of LazyConv1d/2d/3d: Conv's arguments without in_channels."""

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, dtype=dtype)
        self._lazy_init(out_channels, bias, dtype)


class _LazyConvTranspose(_LazyConvMixin):
    """The constructor of LazyConvTranspose1d/2d/3d: ConvTranspose's arguments without in_channels."""

    transposed = True

    def __init__(self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", dtype: Any = None) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode,
                         dtype=dtype)
        self._lazy_init(out_channels, bias, dtype)


class _LazyNorm(LazyModuleMixin):
    """num_features read from dim 1 of the first input; γ, β and the running statistics wait for it.
    The lazy instance norms share it, defaults included (affine and tracked statistics, unlike
    InstanceNorm's own defaults; and dim 1 even for an unbatched input), as PyTorch's do."""

    inferred = "num_features"

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, False, False, dtype=dtype)  # no tensors: placeholders follow
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(dtype=dtype)
            self.bias = UninitializedParameter(dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)
            self.num_batches_tracked = Tensor(0)

    def initialize_parameters(self, input: Tensor) -> None:
        """γ, β, running mean and variance, each (num_features,), num_features = input.shape[1]."""
        if self.has_uninitialized_params():
            check_input(type(self).__name__, input.ndim in self.input_ranks, f"shape {self.layout}", input)
            self.num_features = input.shape[1]
            for tensor in (self.weight, self.bias, self.running_mean, self.running_var):
                if tensor is not None:
                    tensor.materialize((self.num_features,))
            self.reset_parameters()
        elif self.num_features == 0:  # the tensors came from load_state_dict
            self.num_features = input.shape[1]


def _lazy(base: type, layer: type) -> type:
    """The lazy form of ``layer``: class ``Lazy<layer>``, with ``base``'s constructor and inference,
    that becomes a plain ``layer`` after its first call (what PyTorch writes out as one class each)."""
    name = f"Lazy{layer.__name__}"
    doc = f"``{layer.__name__}`` with its input size ({base.inferred}) read from the first input."
    return type(name, (base, layer), {"cls_to_become": layer, "__doc__": doc, "__module__": __name__,
                                      "__qualname__": name})


LazyConv1d, LazyConv2d, LazyConv3d = (_lazy(_LazyConv, layer) for layer in (Conv1d, Conv2d, Conv3d))
LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d = (
    _lazy(_LazyConvTranspose, layer) for layer in (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d))
LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d = (
    _lazy(_LazyNorm, layer) for layer in (BatchNorm1d, BatchNorm2d, BatchNorm3d))
LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d = (
    _lazy(_LazyNorm, layer) for layer in (InstanceNorm1d, InstanceNorm2d, InstanceNorm3d))
