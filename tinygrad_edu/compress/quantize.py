r"""Post-training int8 quantisation of ``Linear`` and ``Conv2d`` (source document 000).

Weights, symmetric, one scale per output channel o (row o of W, or filter o of a conv):

    s_w[o] = max |W[o]| / 127          (1 where the row is all zero)
    q[o]   = clip(rint(W[o] / s_w[o]), −127, 127)   int8: a quarter of float32's bytes
    W[o]  ≈ s_w[o] · q[o],   |W[o] − s_w[o]·q[o]| ≤ s_w[o] / 2

Activations, symmetric, one scale per call (the whole batch), computed on the fly:

    s_x = max |x| / 127,   x_q = clip(rint(x · (127 / max |x|)), −127, 127)   (s_x = 1 for x = 0)

Then the layer is an integer product, exact in int32, rescaled once per output channel:

    y[., o] = (Σ_k x_q[., k] · q[o, k]) · (s_x · s_w[o]) + b[o]

computed by ``backend.qlinear`` / ``backend.qconv2d`` (C: csrc/qgemm.c, AVX-512 VNNI where the
CPU has it; NumPy: backend/numpy_ref.py, the same bits). The quantised layers are for
inference only: their weights are integers (no gradient) and the output has no ``grad_fn``,
so calling one on an input that requires grad, with gradients on, raises.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..nn.conv import Conv2d
from ..nn.linear import Linear, check_input
from ..nn.module import Module
from ..tensor import Tensor
from .prune import _effective_values

QMAX = 127  # symmetric int8: −127 … 127 (−128 unused, so that −q is always representable)
_SMALLEST_SCALED = np.float32(QMAX) / np.finfo(np.float32).max  # ≈ 3.7e−37


def quantize_per_channel(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(q int8 of w's shape, s float32 (out,)): s[o] = max|w[o]| / 127, q[o] = clip(rint(w[o] / s[o]))."""
    w = np.asarray(w, dtype=np.float32)
    rows = w.reshape(w.shape[0], -1)
    scale = (np.abs(rows).max(axis=1) / np.float32(QMAX)).astype(np.float32)
    scale[scale == 0] = 1  # an all-zero row stays zero with any scale
    q = np.clip(np.rint(rows / scale[:, None]), -QMAX, QMAX).astype(np.int8)
    return q.reshape(w.shape), scale


def dequantize_weights(weight_int8: np.ndarray | Tensor, weight_scale: np.ndarray | Tensor) -> np.ndarray:
    """The float32 weights the int8 ones stand for: W[o] ≈ s[o] · q[o]."""
    q = weight_int8.data if isinstance(weight_int8, Tensor) else np.asarray(weight_int8)
    s = weight_scale.data if isinstance(weight_scale, Tensor) else np.asarray(weight_scale)
    return (q.astype(np.float32) * s.reshape((-1,) + (1,) * (q.ndim - 1))).astype(np.float32)


def activation_scale(x: np.ndarray, layer: str) -> tuple[np.float32, np.float32]:
    """(s_x, 1/s_x) = (max|x| / 127, 127 / max|x|) in float32; (1, 1) when max|x| ≤ 3.7e−37 (all zeros,
    or so small that 127 / max|x| overflows: x then quantises to zeros)."""
    if x.size == 0:
        return np.float32(1), np.float32(1)
    largest = np.float32(max(x.max(), -x.min()))  # max |x| without a temporary |x| array
    if not np.isfinite(largest):
        raise ValueError(f"{layer}: cannot quantise an input holding inf or NaN")
    if largest <= _SMALLEST_SCALED:  # 127 / max|x| would overflow float32: x quantises to zeros
        return np.float32(1), np.float32(1)
    return largest / np.float32(QMAX), np.float32(QMAX) / largest


def _float32_input(x: Tensor, layer: str) -> np.ndarray:
    """x's values as float32, refusing an input that would need a gradient through this layer."""
    if x.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(f"{layer} is inference-only (int8 weights, no backward): call it under "
                           "tg.no_grad(), or on an input that does not require grad")
    return np.asarray(x.data, dtype=np.float32)


class _QuantizedLayer(Module):
    """The buffers shared by the int8 layers: weight_int8, weight_scale (per out channel), bias."""

    def __init__(self, weight_shape: tuple[int, ...], bias: bool) -> None:
        super().__init__()
        self.register_buffer("weight_int8", Tensor._make(np.zeros(weight_shape, dtype=np.int8)))
        self.register_buffer("weight_scale", Tensor._make(np.ones(weight_shape[0], dtype=np.float32)))
        self.register_buffer("bias", Tensor._make(np.zeros(weight_shape[0], dtype=np.float32)) if bias else None)
        self.eval()

    def _load_float(self, layer: Module) -> None:
        """Quantise the float layer's weight and copy its bias, as its next forward would use them: a
        pruned tensor is orig ⊙ mask now (its attribute holds the value of the last forward, stale
        after an optimiser step)."""
        weight = _effective_values(layer, "weight")
        self.weight_int8.data[...], self.weight_scale.data[...] = quantize_per_channel(weight)
        if layer.bias is not None:
            self.bias.data[...] = _effective_values(layer, "bias")

    def _output_scale_and_bias(self, s_x: np.float32) -> tuple[np.ndarray, np.ndarray | None]:
        """scale[o] = s_x · s_w[o] (float32) and the float32 bias (or None); float32 even after ``.double()``."""
        scale = (s_x * self.weight_scale.data).astype(np.float32, copy=False)
        return scale, None if self.bias is None else self.bias.data.astype(np.float32, copy=False)


class QuantizedLinear(_QuantizedLayer):
    r"""int8 ``Linear``: y = (x_q q_wᵀ) ⊙ (s_x s_w) + b  (see the module docstring).

    Buffers: weight_int8 (out_features, in_features) int8, weight_scale (out_features,) float32,
    bias (out_features,) float32 or None. Input float (*, in_features); output float32.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__((out_features, in_features), bias)
        self.in_features, self.out_features = in_features, out_features

    @classmethod
    def from_float(cls, layer: Linear) -> QuantizedLinear:
        """The int8 version of a trained ``nn.Linear``."""
        quantized = cls(layer.in_features, layer.out_features, bias=layer.bias is not None)
        quantized._load_float(layer)
        return quantized

    def forward(self, x: Tensor) -> Tensor:
        """y = qlinear(x): quantise x (one scale), int8 product, rescale per output feature."""
        check_input("QuantizedLinear", x.ndim >= 1 and x.shape[-1] == self.in_features,
                    f"last dim {self.in_features}", x)
        values = _float32_input(x, "QuantizedLinear")
        rows = values.reshape(-1, self.in_features)
        s_x, inv = activation_scale(rows, "QuantizedLinear")
        scale, bias = self._output_scale_and_bias(s_x)
        y = backend.qlinear(rows, inv, self.weight_int8.data, scale, bias)
        return Tensor._make(y.reshape(*x.shape[:-1], self.out_features))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class QuantizedConv2d(_QuantizedLayer):
    r"""int8 ``Conv2d`` (groups = 1, zero padding): y[n, o] = (Σ_c q_w[o, c] ⋆ x_q[n, c]) · s_x s_w[o] + b[o].

    Buffers: weight_int8 (out, in, kh, kw) int8, weight_scale (out,) float32, bias (out,) float32
    or None. Input float (N, C, H, W) or (C, H, W); output float32.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple[int, int],
                 stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0),
                 dilation: tuple[int, int] = (1, 1), bias: bool = True) -> None:
        super().__init__((out_channels, in_channels, *kernel_size), bias)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)
        self.padding, self.dilation = tuple(padding), tuple(dilation)

    @classmethod
    def from_float(cls, layer: Conv2d) -> QuantizedConv2d:
        """The int8 version of a trained ``nn.Conv2d``; ValueError for settings the int8 kernel lacks."""
        if getattr(layer, "groups", 1) != 1 or getattr(layer, "padding_mode", "zeros") != "zeros":
            raise ValueError(f"QuantizedConv2d: only groups=1 and padding_mode='zeros' are supported, got "
                             f"groups={layer.groups}, padding_mode={layer.padding_mode!r}")
        left, right, top, bottom = layer._pad_widths()  # 'valid', 'same' or ints as F.pad widths, last dim first
        if (left, top) != (right, bottom):  # only 'same' with an odd total d·(k − 1)
            raise ValueError(f"QuantizedConv2d: padding='same' with kernel {layer.kernel_size} and dilation "
                             f"{layer.dilation} pads unevenly, which the int8 kernel does not support")
        padding = (top, left)
        quantized = cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, padding,
                        layer.dilation, bias=layer.bias is not None)
        quantized._load_float(layer)
        return quantized

    def forward(self, x: Tensor) -> Tensor:
        """y = qconv2d(x): quantise x (one scale), int8 convolution, rescale per output channel."""
        check_input("QuantizedConv2d", x.ndim in (3, 4) and x.shape[-3] == self.in_channels,
                    f"shape (N, C, H, W) with C = {self.in_channels}", x)
        values = _float32_input(x, "QuantizedConv2d")
        batch = values if values.ndim == 4 else values[None]
        s_x, inv = activation_scale(batch, "QuantizedConv2d")
        scale, bias = self._output_scale_and_bias(s_x)
        y = backend.qconv2d(batch, inv, self.weight_int8.data, scale, bias, self.stride, self.padding, self.dilation)
        return Tensor._make(y if values.ndim == 4 else y[0])

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        return s + ("" if self.bias is not None else ", bias=False")


def _quantized(layer: Module) -> Module | None:
    """The int8 replacement of a Linear or Conv2d, or None for any other module."""
    if isinstance(layer, Linear):
        return QuantizedLinear.from_float(layer)
    if isinstance(layer, Conv2d):
        return QuantizedConv2d.from_float(layer)
    return None


def quantize_int8(model: Module, inplace: bool = False) -> Module:
    """A model whose every ``nn.Linear`` / ``nn.Conv2d`` is replaced by its int8 version.

    The replacement keeps the attribute name in its parent (``fc1.weight`` becomes
    ``fc1.weight_int8`` + ``fc1.weight_scale``, ``fc1.bias`` stays) and its place in a
    Sequential. A deep copy is quantised unless ``inplace``; the result is in eval mode.
    Other layers (activations, pooling, normalisation, Conv1d, ...) stay float32.
    """
    if not isinstance(model, Module):
        raise TypeError(f"quantize_int8: expected an nn.Module, got {type(model).__name__}")
    model = model if inplace else copy.deepcopy(model)
    top = _quantized(model)
    if top is not None:
        return top
    for module in list(model.modules()):
        for name, child in list(module._modules.items()):
            replacement = _quantized(child) if child is not None else None
            if replacement is not None:
                module._modules[name] = replacement  # same key, same position: Sequential order holds
    return model.eval()


def model_size_bytes(model: Module) -> int:
    """Bytes of a model's parameters and buffers (each tensor counted once)."""
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    return sum(t.data.nbytes for t in tensors.values())
