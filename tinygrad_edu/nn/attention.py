r"""Multi-head attention and the Transformer encoder layer, with PyTorch's parameters
(``in_proj_weight`` (3E, E), ``in_proj_bias``, ``out_proj``, ...) so that state dicts load unchanged.

For each head h (E/heads columns of the projections): Q_h = X_q W_qᵀ + b_q, K_h, V_h likewise,
head_h = softmax(Q_h K_hᵀ / √d + M) V_h with d = E/heads and M = −inf where a mask forbids (a
bool ``attn_mask`` True, a ``key_padding_mask`` True: PyTorch's convention here, the opposite of
``F.scaled_dot_product_attention``'s) or a float mask added; y = [head_1 … head_heads] W_oᵀ + b_o.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from . import init
from .dropout import Dropout
from .linear import Linear, empty_parameter
from .module import Module, ModuleList, Parameter
from .normalization import LayerNorm


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under the name PyTorch gives MultiheadAttention's output projection (so reprs match)."""


class MultiheadAttention(Module):
    """Multi-head (self- or cross-) attention over (L, N, E) input, (N, L, E) with ``batch_first``,
    or unbatched (L, E); returns ``(output, weights)``, the weights averaged over the heads unless
    ``average_attn_weights=False`` (None with ``need_weights=False``)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, dtype: Any = None) -> None:
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError("MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim other than "
                                      "embed_dim are not supported")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        self.in_proj_weight = Parameter(empty_parameter((3 * embed_dim, embed_dim), dtype))
        if bias:
            self.in_proj_bias = Parameter(empty_parameter((3 * embed_dim,), dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        init.xavier_uniform_(self.in_proj_weight)
        if bias:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value`` (see the class and module docstrings)."""
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: is_causal is a hint that needs attn_mask (the causal mask) too")
        # PyTorch's in_projection_packed: self-attention (one tensor as query, key and value) takes one
        # product with the whole packed (3E, E) weight, key = value one with its last two thirds
        packed = 3 if query is key and key is value else 2 if key is value else 1
        batched = query.ndim == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        (length, batch, e), source = query.shape, key.shape[0]
        if e != self.embed_dim or key.shape[1:] != (batch, e) or value.shape != key.shape:
            raise ValueError(f"MultiheadAttention: expected query (L, N, {self.embed_dim}) and key/value (S, N, "
                             f"{self.embed_dim}) (batch first if batch_first), got {query.shape}, {key.shape}, "
                             f"{value.shape}")
        q, k, v = self._in_projection(query, key, value, packed)
        heads = self.num_heads

        def split(t: Tensor, n: int) -> Tensor:  # (n, N, E) -> (N, heads, n, d)
            return t.reshape(n, batch, heads, self.head_dim).permute(1, 2, 0, 3)

        forbidden, added = self._masks(attn_mask, key_padding_mask, batch, length, source, q.dtype)
        attended, weights = F._attention(split(q, length), split(k, source), split(v, source), forbidden, added,
                                         1.0 / math.sqrt(self.head_dim), self.dropout if self.training else 0.0)
        heads_out = attended.permute(2, 0, 1, 3).reshape(length, batch, e)
        out = self.out_proj(heads_out)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, (weights.mean(-3) if average_attn_weights else weights)

    def _in_projection(self, query: Tensor, key: Tensor, value: Tensor, packed: int) -> tuple[Tensor, Tensor, Tensor]:
        """Q = X_q W_qᵀ + b_q, K, V likewise, W_q, W_k, W_v the thirds of ``in_proj_weight``. ``packed``
        (3: query is key is value, 2: key is value) inputs share one product with that many thirds,
        whose output columns are then split (the same values, one matmul instead of three)."""
        w, b, e = self.in_proj_weight, self.in_proj_bias, self.embed_dim

        def projection(x: Tensor, first: int, last: int) -> Tensor:  # x W[rows]ᵀ + b[rows], rows of thirds first..last
            if (first, last) == (0, 3):
                return F.linear(x, w, b)
            rows = slice(first * e, last * e)
            return F.linear(x, w[rows], None if b is None else b[rows])

        if packed == 3:
            return projection(query, 0, 3).chunk(3, dim=-1)
        if packed == 2:
            return (projection(query, 0, 1), *projection(key, 1, 3).chunk(2, dim=-1))
        return projection(query, 0, 1), projection(key, 1, 2), projection(value, 2, 3)

    def _masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, batch: int, length: int,
               source: int, dtype: Any) -> tuple[np.ndarray, Tensor | None]:
        """The masks as ``F._attention`` takes them: (forbidden (N, heads, L, S), where a bool mask says
        True; the sum of the float masks, or None)."""
        masks = {"attn_mask": (attn_mask, ((length, source), (batch * self.num_heads, length, source))),
                 "key_padding_mask": (key_padding_mask, ((batch, source),))}
        for name, (mask, shapes) in masks.items():
            if mask is not None and tuple(mask.shape) not in shapes:
                raise ValueError(f"MultiheadAttention: expected {name} of shape {' or '.join(map(str, shapes))}, "
                                 f"got shape {tuple(mask.shape)}")
        forbidden = np.zeros((batch, self.num_heads, length, source), dtype=bool)
        added = None
        if attn_mask is not None:
            mask = attn_mask.reshape(-1, self.num_heads, length, source) if attn_mask.ndim == 3 else attn_mask
            if attn_mask.dtype == np.bool_:
                forbidden = forbidden | mask.data
            else:
                added = mask
        if key_padding_mask is not None:
            padding = key_padding_mask.data.reshape(batch, 1, 1, source)
            if key_padding_mask.dtype == np.bool_:
                forbidden = forbidden | padding
            else:
                added = Tensor._make(padding.astype(dtype)) if added is None else added + padding
        return forbidden, added


class TransformerEncoderLayer(Module):
    """Self-attention then a two-layer feed-forward net, each wrapped in a residual connection and a
    LayerNorm: x ← norm1(x + SA(x)); x ← norm2(x + FF(x)) (``norm_first``: x ← x + SA(norm1(x)),
    x ← x + FF(norm2(x))), FF(x) = linear2(dropout(act(linear1(x)))). PyTorch's submodules and names."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        if isinstance(activation, str) and activation not in ("relu", "gelu"):
            raise ValueError(f"TransformerEncoderLayer: activation should be 'relu' or 'gelu', not {activation!r}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = {"relu": F.relu, "gelu": F.gelu}[activation] if isinstance(activation, str) else activation

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        """One encoder layer over (S, N, E) (or (N, S, E) with batch_first, or unbatched (S, E))."""
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x: Tensor, mask: Tensor | None, padding: Tensor | None, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding, need_weights=False,
                                is_causal=is_causal)
        return self.dropout1(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (independent parameters) applied in turn, then ``norm``."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        """Every layer in turn (with the same masks), then the final norm if any."""
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)
