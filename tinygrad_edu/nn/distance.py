"""Distance modules: each calls the matching ``F`` function (formulas there)."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from .module import Module


class CosineSimilarity(Module):
    """Σ x1·x2 / (max(‖x1‖, ε)·max(‖x2‖, ε)) along ``dim``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """cosine_similarity(x1, x2, dim, eps)."""
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """‖x1 − x2 + ε‖_p over the last dim."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim  # (PyTorch's attribute name for p is norm)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """pairwise_distance(x1, x2, p, eps, keepdim)."""
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
