r"""Multi-head attention and the Transformer (encoder and decoder layers and stacks), with PyTorch's parameters
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

from .. import dtypes
from ..tensor import ShapeError, Tensor
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


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: PyTorch's submodules (``self_attn``, for a decoder
    ``multihead_attn``, ``linear1``, ``dropout``, ``linear2``, ``norm1`` … ``norm<blocks>``, ``dropout1``
    … ``dropout<blocks>``, registered in PyTorch's order so state dicts list the same keys), the
    residual wrapper of each block and the feed-forward block, the last of the ``blocks``.

    Residual block i (post-norm, the default):  x ← norm_i(x + dropout_i(block(x)))
                     (``norm_first``, pre-norm): x ← x + dropout_i(block(norm_i(x)))
    Feed-forward:    FF(x) = linear2(dropout(act(linear1(x))))
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation: str | Callable[[Tensor], Tensor], layer_norm_eps: float, batch_first: bool,
                 norm_first: bool, bias: bool, dtype: Any, blocks: int) -> None:
        super().__init__()
        if isinstance(activation, str) and activation not in ("relu", "gelu"):
            raise ValueError(f"{type(self).__name__}: activation should be 'relu' or 'gelu', not {activation!r}")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        if blocks == 3:  # the decoder's attention from the target to the encoder's output ("memory")
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = {"relu": F.relu, "gelu": F.gelu}[activation] if isinstance(activation, str) else activation

    def _residual(self, x: Tensor, i: int, block: Callable[[Tensor], Tensor]) -> Tensor:
        """Residual block i around ``block`` (see the class docstring), with norm_i and dropout_i."""
        norm, dropout = getattr(self, f"norm{i}"), getattr(self, f"dropout{i}")
        if self.norm_first:
            return x + dropout(block(norm(x)))
        return norm(x + dropout(block(x)))

    @staticmethod
    def _attend(attention: MultiheadAttention, x: Tensor, memory: Tensor, mask: Tensor | None,
                padding: Tensor | None, is_causal: bool) -> Tensor:
        """Attention from ``x`` to ``memory`` (x itself for self-attention), without the weights."""
        out, _ = attention(x, memory, memory, attn_mask=mask, key_padding_mask=padding, need_weights=False,
                           is_causal=is_causal)
        return out

    def _feed_forward(self, x: Tensor) -> Tensor:
        """FF(x) = linear2(dropout(act(linear1(x)))), the block of the last residual."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a two-layer feed-forward net, each wrapped in a residual connection and a
    LayerNorm: x ← norm1(x + SA(x)); x ← norm2(x + FF(x)) (``norm_first``: x ← x + SA(norm1(x)),
    x ← x + FF(norm2(x))), FF(x) = linear2(dropout(act(linear1(x)))). PyTorch's submodules and names."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, bias, dtype, blocks=2)

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        """One encoder layer over (S, N, E) (or (N, S, E) with batch_first, or unbatched (S, E))."""
        x = self._residual(src, 1, lambda y: self._attend(self.self_attn, y, y, src_mask, src_key_padding_mask,
                                                          is_causal))
        return self._residual(x, 2, self._feed_forward)


class TransformerDecoderLayer(_TransformerLayer):
    """Masked self-attention over the target, attention from the target to the encoder's output
    (``memory``), then the feed-forward net, each a residual block with its LayerNorm:
    x ← norm1(x + SA(x)); x ← norm2(x + MHA(x, memory)); x ← norm3(x + FF(x))
    (``norm_first``: x ← x + SA(norm1(x)); x ← x + MHA(norm2(x), memory); x ← x + FF(norm3(x))).
    PyTorch's submodules and names (``self_attn``, ``multihead_attn``, ``norm1..3``, ``dropout1..3``)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, bias, dtype, blocks=3)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        """One decoder layer: target (T, N, E) and memory (S, N, E) (batch first with batch_first, or
        unbatched (T, E), (S, E)) to (T, N, E)."""
        x = self._residual(tgt, 1, lambda y: self._attend(self.self_attn, y, y, tgt_mask, tgt_key_padding_mask,
                                                          tgt_is_causal))
        x = self._residual(x, 2, lambda y: self._attend(self.multihead_attn, y, memory, memory_mask,
                                                        memory_key_padding_mask, memory_is_causal))
        return self._residual(x, 3, self._feed_forward)


def _clones(layer: Module, n: int) -> ModuleList:
    """``n`` deep copies of ``layer`` (independent parameters, equal initial values), as PyTorch's _get_clones."""
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (independent parameters) applied in turn, then ``norm``."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        """Every layer in turn (with the same masks), then the final norm if any."""
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` (independent parameters) applied in turn, each
    attending to the same ``memory``, then ``norm``."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        """Every layer in turn (with the same memory and masks), then the final norm if any."""
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=bool(tgt_is_causal),
                      memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder-decoder Transformer (Vaswani et al. 2017) as PyTorch builds it: ``encoder`` =
    TransformerEncoder(num_encoder_layers layers, final LayerNorm), ``decoder`` = TransformerDecoder
    (num_decoder_layers layers, final LayerNorm); forward(src, tgt) = decoder(tgt, encoder(src)).
    Every parameter with more than one dim is re-initialised ~ xavier_uniform (PyTorch's _reset_parameters).
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu", custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        options = {"dim_feedforward": dim_feedforward, "dropout": dropout, "activation": activation,
                   "layer_norm_eps": layer_norm_eps, "batch_first": batch_first, "norm_first": norm_first,
                   "bias": bias, "dtype": dtype}

        def final_norm() -> LayerNorm:
            return LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)

        self.encoder = custom_encoder if custom_encoder is not None else TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers, final_norm())
        self.decoder = custom_decoder if custom_decoder is not None else TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers, final_norm())
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        """memory = encoder(src); y = decoder(tgt, memory): src (S, N, E), tgt (T, N, E) (batch first with
        batch_first, or unbatched (S, E), (T, E)) to y (T, N, E)."""
        batch_dim = 1 if not self.batch_first and src.ndim == 3 else 0
        if src.ndim != tgt.ndim or (src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]):
            raise ShapeError(f"Transformer: the batch number of src and tgt must be equal, got src {src.shape} and "
                             f"tgt {tgt.shape} (batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(f"Transformer: the feature number of src and tgt must be equal to d_model "
                             f"{self.d_model}, got src {src.shape} and tgt {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The (sz, sz) causal float mask: 0 on and below the diagonal (position i may attend to j ≤ i),
        −inf above it; float32 unless ``dtype`` says otherwise."""
        above = np.triu(np.ones((sz, sz), dtype=bool), k=1)
        return Tensor._make(np.where(above, -np.inf, 0.0).astype(dtypes.default_float if dtype is None
                                                                  else dtypes.as_dtype(dtype)))
