"""Embedding (a learnable lookup table of vectors, one row per index) and EmbeddingBag (the sum,
mean or max of the rows of each bag of indices)."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from . import init
from .linear import empty_parameter, errors_named
from .module import Module, Parameter


class _LookupTable(Module):
    """What Embedding and EmbeddingBag share: the weight (num_embeddings, embedding_dim) ~ N(0, 1)
    (or the given ``_weight``, shared), ``padding_idx``, whose row starts at zero, and the options
    ``max_norm``/``norm_type`` (rows renormalised in place when looked up) and ``scale_grad_by_freq``
    (see ``F.embedding``). ``sparse=True`` is refused: there are no sparse tensors."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None, dtype: Any,
                 _weight: Tensor | None, max_norm: float | None, norm_type: float, scale_grad_by_freq: bool,
                 sparse: bool) -> None:
        super().__init__()
        layer = type(self).__name__
        F._check_not_sparse(layer, sparse)
        self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse = (max_norm, norm_type,
                                                                               scale_grad_by_freq, sparse)
        if not -num_embeddings <= (padding_idx or 0) < num_embeddings:
            raise ValueError(f"{layer}: padding_idx {padding_idx} must be within num_embeddings {num_embeddings}")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings  # negative: from the end
        if _weight is None:
            self.weight = Parameter(empty_parameter((num_embeddings, embedding_dim), dtype))
            self.reset_parameters()
        elif tuple(_weight.shape) != (num_embeddings, embedding_dim):
            raise ValueError(f"{layer}: the weight must have shape {(num_embeddings, embedding_dim)}, "
                             f"got {tuple(_weight.shape)}")
        else:
            self.weight = Parameter(_weight.detach())

    def reset_parameters(self) -> None:
        """weight ~ N(0, 1); the padding row is zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def _padding_repr(self) -> str:
        return f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""

    def _options_repr(self) -> str:
        """The non-default options, as PyTorch prints them."""
        text = f", max_norm={self.max_norm}" if self.max_norm is not None else ""
        text += f", norm_type={self.norm_type}" if self.norm_type != 2 else ""
        return text + (f", scale_grad_by_freq={self.scale_grad_by_freq}" if self.scale_grad_by_freq else "")


def _check_pretrained(layer: str, embeddings: Tensor) -> None:
    if embeddings.ndim != 2:
        raise ValueError(f"{layer}.from_pretrained: embeddings must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(embeddings.shape)}")


class Embedding(_LookupTable):
    """y[…] = weight[indices[…]], weight: (num_embeddings, embedding_dim) ~ N(0, 1).

    The row ``padding_idx`` is initialised to zeros and receives no gradient. ``max_norm``,
    ``norm_type`` and ``scale_grad_by_freq`` as in ``F.embedding``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False,
                 dtype: Any = None) -> None:
        super().__init__(num_embeddings, embedding_dim, padding_idx, dtype, _weight, max_norm, norm_type,
                         scale_grad_by_freq, sparse)
        self.weight.requires_grad = not _freeze

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (memory shared; not trained if ``freeze``), as PyTorch's."""
        _check_pretrained("Embedding", embeddings)
        return cls(*embeddings.shape, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, embeddings,
                   _freeze=freeze)

    def forward(self, indices: Any) -> Any:
        """Look up the rows of ``indices`` (an integer tensor of any shape)."""
        with errors_named("Embedding"):
            return F.embedding(indices, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + self._padding_repr() + self._options_repr()


class EmbeddingBag(_LookupTable):
    """Bags of indices reduced to one vector each: y[b] = reduce_{i ∈ bag b, i ≠ padding_idx} weight[i].

    ``mode`` 'sum' (Σ, or Σ w_i·weight[i] with ``per_sample_weights``), 'mean' (Σ / the bag's size) or
    'max' (the elementwise max); an empty bag gives zeros. The bags are the rows of a 2-D input, or
    the slices input[offsets[b]:offsets[b+1]] of a 1-D input (see ``F.embedding_bag``). Parameter and
    initialisation as Embedding's; ``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` (modes sum
    and mean) as in ``F.embedding_bag``.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight: Tensor | None = None, include_last_offset: bool = False, padding_idx: int | None = None,
                 dtype: Any = None) -> None:
        F._check_embedding_bag_options("EmbeddingBag", mode, scale_grad_by_freq)
        super().__init__(num_embeddings, embedding_dim, padding_idx, dtype, _weight, max_norm, norm_type,
                         scale_grad_by_freq, sparse)
        self.mode, self.include_last_offset = mode, include_last_offset

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                        sparse: bool = False, include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An EmbeddingBag whose weight is ``embeddings`` (memory shared; not trained if ``freeze``), as PyTorch's."""
        _check_pretrained("EmbeddingBag", embeddings)
        layer = cls(*embeddings.shape, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                    include_last_offset, padding_idx)
        layer.weight.requires_grad = not freeze
        return layer

    def forward(self, input: Any, offsets: Any = None, per_sample_weights: Tensor | None = None) -> Tensor:
        """One reduced vector per bag: (B, embedding_dim)."""
        with errors_named("EmbeddingBag"):
            return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                                   self.scale_grad_by_freq, self.mode, per_sample_weights=per_sample_weights,
                                   include_last_offset=self.include_last_offset, padding_idx=self.padding_idx)

    def extra_repr(self) -> str:
        return (f"{self.num_embeddings}, {self.embedding_dim}" + self._options_repr() + f", mode={self.mode!r}"
                + self._padding_repr())
