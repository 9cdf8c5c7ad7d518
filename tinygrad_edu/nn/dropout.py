"""Dropout: zero random elements (Dropout) or whole channels (Dropout1d/2d) while training
(inverted dropout: the kept values are scaled by 1/(1 − p)); identity in eval mode."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .module import Module


class Dropout(Module):
    """y = x ⊙ m / (1 − p) with m ~ Bernoulli(1 − p) in training mode, y = x in eval mode.

    The mask is drawn from tinygrad_edu's global generator, so ``tg.manual_seed`` makes it
    reproducible.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        """Drop and rescale (training) or pass through (eval)."""
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Channel dropout on (N, C, L) or (C, L): y[n, c, :] = x[n, c, :] · m[n, c] / (1 − p), m ~ Bernoulli(1 − p)."""

    def forward(self, x: Tensor) -> Tensor:
        """Drop whole channels and rescale (training) or pass through (eval)."""
        return F.dropout1d(x, self.p, self.training)


class Dropout2d(Dropout):
    """Channel dropout on (N, C, H, W): y[n, c, :, :] = x[n, c, :, :] · m[n, c] / (1 − p), m ~ Bernoulli(1 − p)."""

    def forward(self, x: Tensor) -> Tensor:
        """Drop whole channels and rescale (training) or pass through (eval)."""
        return F.dropout2d(x, self.p, self.training)
