"""Dense layers: ``Identity``, ``Linear`` (y = x Wᵀ + b), ``Bilinear`` (y = x₁ᵀ A x₂ + b) and ``Flatten``."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import dtypes, ops
from ..tensor import ShapeError, Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from . import init
from .activation import ReLU
from .module import FUSED_PAIRS, Module, Parameter


def check_input(layer: str, ok: bool, expected: str, x: Tensor) -> None:
    """Raise a ValueError naming the layer, what it expected and the shape it got."""
    if not ok:
        raise ValueError(f"{layer}: expected input with {expected}, got shape {tuple(x.shape)}")


@contextlib.contextmanager
def errors_named(layer: str) -> Iterator[None]:
    """Put the layer's name in front of a ValueError or IndexError raised inside (the ``F`` function
    a layer calls names itself), so the message says which layer got the bad input."""
    try:
        yield
    except (ValueError, IndexError) as error:
        raise type(error)(f"{layer}: {error}") from None


class Identity(Module):
    """Returns its input unchanged (a placeholder layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        """y = x."""
        return x


class Linear(Module):
    r"""Fully connected layer: the source documents' dense layer y = f(Wx + b) without f.

    Forward:  y = x Wᵀ + b,   x: (*, in_features), W: (out_features, in_features), b: (out_features,)
    Init (PyTorch's): W ~ kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in); b ~ U(−1/√in, 1/√in).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty_parameter((out_features, in_features), dtype))
        self.bias = Parameter(empty_parameter((out_features,), dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (see the class docstring)."""
        reset_fan_in_uniform(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        """y = x Wᵀ + b."""
        self._check_features(x)
        return F.linear(x, self.weight, self.bias)

    def forward_relu(self, x: Tensor) -> Tensor:
        """y = relu(x Wᵀ + b) as one op (``ops.Linear`` with ``activation="relu"``): what
        Sequential runs for this layer followed by a ReLU (``module.FUSED_PAIRS``)."""
        self._check_features(x)
        weight, bias = self.weight, self.bias
        if bias is not None and bias.shape != weight.shape[:1]:  # a bias F.linear broadcasts: not fused
            return F.relu(F.linear(x, weight, bias))
        return ops.Linear.apply(x, weight, bias, activation="relu")

    def _check_features(self, x: Tensor) -> None:
        shape = x.data.shape
        if not shape or shape[-1] != self.in_features:  # (tested first: check_input's message costs a format)
            check_input("Linear", False, f"last dim {self.in_features}", x)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def empty_parameter(shape: tuple[int, ...], dtype: Any = None) -> Tensor:
    """A zero tensor of ``shape`` (float32 by default) for a parameter that init fills next."""
    return Tensor._make(np.zeros(shape, dtype=dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)))


def reset_fan_in_uniform(weight: Tensor, bias: Tensor | None) -> None:
    """Linear/Conv default init: W ~ kaiming_uniform(a=√5), b ~ U(−1/√fan_in, 1/√fan_in)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


FUSED_PAIRS[Linear, ReLU] = Linear.forward_relu


class Bilinear(Module):
    r"""Bilinear layer: one bilinear form per output feature.

    Forward:  y_o = x₁ᵀ A_o x₂ + b_o = Σ_i Σ_j x₁[i] A[o, i, j] x₂[j] + b[o],
              x₁: (*, in1_features), x₂: (*, in2_features) (the same batch dims *), A: (out_features,
              in1_features, in2_features), b: (out_features,), y: (*, out_features)
    Init (PyTorch's): A and b ~ U(−1/√in1_features, 1/√in1_features).
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = Parameter(empty_parameter((out_features, in1_features, in2_features), dtype))
        self.bias = Parameter(empty_parameter((out_features,), dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default initialisation (see the class docstring)."""
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        """y = x₁ᵀ A x₂ + b for every batch entry."""
        if input1.shape[:-1] != input2.shape[:-1] or input1.shape[-1:] != (self.in1_features,) or (
                input2.shape[-1:] != (self.in2_features,)):
            raise ShapeError(f"Bilinear: expected input1 (*, {self.in1_features}) and input2 (*, {self.in2_features}) "
                             f"with the same batch dims *, got {tuple(input1.shape)} and {tuple(input2.shape)}")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Merge dims ``start_dim`` … ``end_dim`` into one (default: all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        """y = x.flatten(start_dim, end_dim)."""
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, x: Tensor) -> Tensor:
        """y = x.unflatten(dim, unflattened_size)."""
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
