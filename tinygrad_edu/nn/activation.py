"""Activation modules: each wraps the matching ``F`` function (formulas in ops/activation.py)."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .module import Module


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
