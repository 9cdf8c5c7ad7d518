"""Activation modules: each wraps the matching ``F`` function (formulas in ops/activation.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .module import Module, Parameter


class ReLU(Module):
    """ReLU(x) = max(0, x)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        """max(0, x)."""
        return F.relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^(−x))."""

    def forward(self, x: Tensor) -> Tensor:
        """σ(x)."""
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x) = (eˣ − e^(−x)) / (eˣ + e^(−x))."""

    def forward(self, x: Tensor) -> Tensor:
        """tanh(x)."""
        return F.tanh(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope·x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x: Tensor) -> Tensor:
        """LeakyReLU(x)."""
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x·Φ(x), Φ the standard normal CDF (or its tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        """GELU(x)."""
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """e^(x_i) / Σ_j e^(x_j) along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        """softmax(x, dim) (dim None: 0 for 0-, 1- and 3-D inputs, else 1, as PyTorch)."""
        return F.softmax(x, _implicit_dim(x) if self.dim is None else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """x_i − logsumexp(x) along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        """log_softmax(x, dim)."""
        return F.log_softmax(x, _implicit_dim(x) if self.dim is None else self.dim)


def _implicit_dim(x: Tensor) -> int:
    return 0 if x.ndim in (0, 1, 3) else 1


# ---- more of PyTorch's activation modules (formulas in F) ------------------------------------


class _Elementwise(Module):
    """An activation without options: forward calls ``function`` (an F function)."""

    function: ClassVar[Callable[[Tensor], Tensor]]  # set by each subclass

    def forward(self, x: Tensor) -> Tensor:
        """The activation, elementwise."""
        return self.function(x)


class _ElementwiseInplace(_Elementwise):
    """An activation whose only option is PyTorch's ``inplace`` (accepted and shown in the repr)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class SiLU(_ElementwiseInplace):
    """x·σ(x)."""

    function = staticmethod(F.silu)


class Mish(_ElementwiseInplace):
    """x·tanh(softplus(x))."""

    function = staticmethod(F.mish)


class SELU(_ElementwiseInplace):
    """scale·elu(x, α) with PyTorch's constants."""

    function = staticmethod(F.selu)


class Hardsigmoid(_ElementwiseInplace):
    """x/6 + 1/2 clamped into [0, 1]."""

    function = staticmethod(F.hardsigmoid)


class Hardswish(_ElementwiseInplace):
    """x·hardsigmoid(x)."""

    function = staticmethod(F.hardswish)


class ReLU6(_ElementwiseInplace):
    """min(max(0, x), 6)."""

    function = staticmethod(F.relu6)


class LogSigmoid(_Elementwise):
    """log σ(x)."""

    function = staticmethod(F.logsigmoid)


class Softsign(_Elementwise):
    """x / (1 + |x|)."""

    function = staticmethod(F.softsign)


class Tanhshrink(_Elementwise):
    """x − tanh(x)."""

    function = staticmethod(F.tanhshrink)


class ELU(Module):
    """x if x > 0 else α·(eˣ − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x: Tensor) -> Tensor:
        """ELU(x)."""
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """x if x > 0 else α·(e^(x/α) − 1)."""

    def forward(self, x: Tensor) -> Tensor:
        """CELU(x)."""
        return F.celu(x, self.alpha)


class Hardtanh(Module):
    """x clamped into [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x: Tensor) -> Tensor:
        """hardtanh(x)."""
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Softplus(Module):
    """(1/β)·log(1 + e^(βx)), x itself where βx > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        """softplus(x)."""
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Threshold(Module):
    """x where x > threshold, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x: Tensor) -> Tensor:
        """threshold(x)."""
        return F.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Hardshrink(Module):
    """x where |x| > λ, else 0."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, x: Tensor) -> Tensor:
        """hardshrink(x)."""
        return F.hardshrink(x, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x ∓ λ outside [−λ, λ], else 0."""

    def forward(self, x: Tensor) -> Tensor:
        """softshrink(x)."""
        return F.softshrink(x, self.lambd)


class Softmin(Softmax):
    """softmax(−x) along ``dim``."""

    def forward(self, x: Tensor) -> Tensor:
        """softmin(x, dim)."""
        return F.softmin(x, _implicit_dim(x) if self.dim is None else self.dim)


class GLU(Module):
    """a ⊙ σ(b) for the halves a, b of x along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        """glu(x, dim)."""
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """x if x > 0 else a·x with a learnable slope ``weight`` (one, or one per channel), initialised to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        kind = dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)
        self.weight = Parameter(Tensor._make(np.full(num_parameters, init, dtype=kind)))

    def forward(self, x: Tensor) -> Tensor:
        """prelu(x, weight)."""
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """softmax over the channels (dim −3) of (N, C, H, W) or (C, H, W) input, at every position."""

    def forward(self, x: Tensor) -> Tensor:
        """softmax(x, −3)."""
        if x.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input with 3 or 4 dims, got shape {tuple(x.shape)}")
        return F.softmax(x, -3)
