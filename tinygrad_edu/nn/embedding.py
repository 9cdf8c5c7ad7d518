"""Embedding: a learnable lookup table of vectors, one row per index."""

from __future__ import annotations

from typing import Any

from . import functional as F  # noqa: N812 - PyTorch's conventional name
from . import init
from .linear import empty_parameter
from .module import Module, Parameter


class Embedding(Module):
    """y[…] = weight[indices[…]], weight: (num_embeddings, embedding_dim) ~ N(0, 1).

    The row ``padding_idx`` is initialised to zeros and receives no gradient.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings {num_embeddings}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = Parameter(empty_parameter((num_embeddings, embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight ~ N(0, 1); the padding row is zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices: Any) -> Any:
        """Look up the rows of ``indices`` (an integer tensor of any shape)."""
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
