r"""Recurrent layers: RNN (tanh or ReLU), LSTM, GRU, with PyTorch's names, shapes and gate orders.

Every layer k holds ``weight_ih_l{k}`` (G·H, input), ``weight_hh_l{k}`` (G·H, H),
``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G·H,), where G is the number of gates (RNN 1,
LSTM 4, GRU 3) stacked in PyTorch's order; all initialised U(−1/√H, 1/√H).

How the computation is organised (the same in all three): the input projection
x_t W_ihᵀ + b_ih of *all* time steps is one matrix product (T·B rows at once); only the
recurrent part h_{t−1} W_hhᵀ remains in the per-step loop, which stays a few lines long.
All three hand each whole layer to one op, ``ops.RNNLayer`` / ``ops.LSTMLayer`` / ``ops.GRULayer``
(ops/recurrent.py): that loop on arrays (for LSTM and GRU with the gate nonlinearities and state
update fused into one kernel per step), and backpropagation through time written out in its backward,
instead of a few (RNN) to some thirty (LSTM) graph nodes per time step.

Input (T, B, I) (or (B, T, I) with ``batch_first``, or unbatched (T, I)); initial states
(num_layers, B, H) default to zeros; the result is ``(output, h_n)`` (LSTM:
``(output, (h_n, c_n))``) with output (T, B, H): the last layer's h_t at every step.

``bidirectional=True`` gives every layer a second set of parameters, ``…_l{k}_reverse``,
run over the time-reversed sequence (the same layer loop reading x_T … x_1, its outputs kept
in time order, with no flipped copy of x). Layer k's output is [h→_t | h←_t] (T, B, 2H), which layer k + 1 reads (so its
W_ih is (G·H, 2H)); states are (num_layers·2, B, H), rows in the order l0, l0_reverse, l1, ….

A ``PackedSequence`` input (nn/utils/rnn.py: sequences of different lengths, sorted longest first)
gives a PackedSequence output and, in h_n/c_n, each sequence's state after its own last step.
Each layer is still one call on the packed rows with the batch sizes n_1 ≥ … ≥ n_T (the same op
as for a padded batch, ``batch_sizes=``): step t advances only the n_t sequences still running
(the first n_t rows), the others keep their states; the reverse direction reads each sequence from
its own last step back to its first. Initial and final states are in the batch's original order,
as PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..ops.linalg import check_same_dtype
from ..tensor import Tensor, cat, stack
from . import functional as F  # noqa: N812 - PyTorch's conventional name
from . import init
from .linear import check_input, empty_parameter
from .module import Module, Parameter
from .utils.rnn import PackedSequence


def _check_dtype(name: str, x: Tensor, weight: Tensor) -> None:
    """As PyTorch: an input whose dtype differs from the weights' is refused, not silently promoted
    (the same on both backends). ValueError, as PyTorch's RNN/LSTM/GRU; the cells, whose PyTorch
    check is matmul's, use ``check_same_dtype``'s TypeError as linear does."""
    if x.dtype != weight.dtype:
        raise ValueError(f"{name}: input dtype {x.dtype} does not match the weight dtype {weight.dtype}; "
                         f"convert the input (x.to({weight.dtype})) or the model (model.to({x.dtype}))")


class _RNNBase(Module):
    """Parameters, shape handling and the layer loop shared by RNN, LSTM and GRU."""

    gates = 1
    state_count = 1  # LSTM carries (h, c)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if num_layers < 1:
            raise ValueError(f"{name}: num_layers must be at least 1, got {num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bool(bidirectional)
        rows, directions = self.gates * hidden_size, self._directions()
        for k in range(num_layers):
            cols = input_size if k == 0 else len(directions) * hidden_size  # layer k reads layer k−1's output
            for suffix in directions:  # PyTorch's registration order: layer by layer, forward then reverse
                layer = f"l{k}{suffix}"
                setattr(self, f"weight_ih_{layer}", Parameter(empty_parameter((rows, cols), dtype)))
                setattr(self, f"weight_hh_{layer}", Parameter(empty_parameter((rows, hidden_size), dtype)))
                if bias:
                    setattr(self, f"bias_ih_{layer}", Parameter(empty_parameter((rows,), dtype)))
                    setattr(self, f"bias_hh_{layer}", Parameter(empty_parameter((rows,), dtype)))
        self.reset_parameters()

    def _directions(self) -> tuple[str, ...]:
        """The parameter-name suffix of each direction: ``("",)``, or ``("", "_reverse")`` if bidirectional."""
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√H, 1/√H) (PyTorch's default)."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _layer(self, layer: str) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(W_ih, W_hh, b_ih, b_hh) of ``layer``, a name suffix such as "l0" or "l1_reverse"."""
        get = self._parameters.get
        return get(f"weight_ih_{layer}"), get(f"weight_hh_{layer}"), get(f"bias_ih_{layer}"), get(f"bias_hh_{layer}")

    def _initial_states(self, hx: Any, batch: int, batched: bool, dtype: np.dtype) -> list[Tensor]:
        """One (num_layers·D, B, H) tensor per carried state (D = 2 if bidirectional, else 1), zeros when
        not given; row k·D + d belongs to layer k, direction d."""
        name = type(self).__name__
        rows = self.num_layers * len(self._directions())
        expected = (rows, batch, self.hidden_size) if batched else (rows, self.hidden_size)
        if hx is None:
            return [Tensor._make(np.zeros((rows, batch, self.hidden_size), dtype=dtype))] * self.state_count
        states = list(hx) if self.state_count > 1 else [hx]
        if len(states) != self.state_count:
            raise ValueError(f"{name}: expected {self.state_count} initial states, got {len(states)}")
        for s in states:
            if tuple(s.shape) != expected:
                raise ValueError(f"{name}: expected initial state of shape {expected}, got shape {tuple(s.shape)}")
        return [s if batched else s.unsqueeze(1) for s in states]

    def forward(self, x: Tensor | PackedSequence, hx: Any = None) -> tuple[Tensor | PackedSequence, Any]:
        """Run every layer over the sequence; returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``)."""
        if isinstance(x, PackedSequence):
            return self._forward_packed(x, hx)
        name = type(self).__name__
        check_input(name, x.ndim in (2, 3) and x.shape[-1] == self.input_size,
                    f"last dim {self.input_size} (input_size) and 2 or 3 dims", x)
        _check_dtype(name, x, self.weight_ih_l0)
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        initial = self._initial_states(hx, x.shape[1], batched, x.dtype)
        x, final = self._run_layers(x, initial)
        if not batched:
            x, final = x.squeeze(1), [s.squeeze(1) for s in final]
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, (tuple(final) if self.state_count > 1 else final[0])

    def _run_layers(self, x: Tensor, initial: list[Tensor],
                    batch_sizes: list[int] | None = None) -> tuple[Tensor, list[Tensor]]:
        """Every layer and direction in turn, each one ``_run_layer`` call: (the last layer's output, the final
        states stacked in h_n's row order). x is (T, B, ·), or the packed rows (N, ·) with ``batch_sizes``;
        either way the features are its last dim."""
        finals: list[list[Tensor]] = []  # one entry per (layer, direction), in h_n's row order
        directions = self._directions()
        for k in range(self.num_layers):
            row = k * len(directions)
            y, states = self._run_layer(x, f"l{k}", [s[row] for s in initial], batch_sizes=batch_sizes)
            finals.append(states)
            if self.bidirectional:
                # the reverse direction: h after reading x_T … x_t in output row t
                y_reverse, states = self._run_layer(x, f"l{k}_reverse", [s[row + 1] for s in initial], reverse=True,
                                                    batch_sizes=batch_sizes)
                y = cat([y, y_reverse], -1)  # (…, 2H): forward half, then reverse half
                finals.append(states)
            x = y
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        return x, [stack([f[i] for f in finals], 0) for i in range(self.state_count)]

    def _run_layer(self, x: Tensor, layer: str, states: list[Tensor], reverse: bool = False,
                   batch_sizes: list[int] | None = None) -> tuple[Tensor, list[Tensor]]:
        """``layer`` (e.g. "l0", "l1_reverse") over the sequence x (T, B, ·), starting from ``states``:
        (output (T, B, H), final states). Each subclass computes its own recurrence. ``reverse``
        (the second direction of a bidirectional layer): the recurrence reads x_T … x_1, and output
        row t is h after reading x_T … x_t. ``batch_sizes``: x is packed rows (N, ·) and so is the
        output; step t runs the first n_t sequences (ops/recurrent.py's module docstring)."""
        raise NotImplementedError

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
        """``forward`` for a PackedSequence: the states' batch rows are put in the packing's sorted
        order (``sorted_indices``) for the layers, and back (``unsorted_indices``) for h_n."""
        name, data = type(self).__name__, packed.data
        check_input(name, data.ndim == 2 and data.shape[-1] == self.input_size,
                    f"packed data of shape (N, {self.input_size})", data)
        _check_dtype(name, data, self.weight_ih_l0)
        batch_sizes = [int(n) for n in packed.batch_sizes.data]
        initial = self._initial_states(hx, batch_sizes[0], True, data.dtype)
        if packed.sorted_indices is not None:
            initial = [s[:, packed.sorted_indices.data] for s in initial]
        y, final = self._run_layers(data, initial, batch_sizes)
        if packed.unsorted_indices is not None:
            final = [s[:, packed.unsorted_indices.data] for s in final]
        output = PackedSequence(y, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        return output, (tuple(final) if self.state_count > 1 else final[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(_RNNBase):
    r"""Elman RNN, the source documents' recurrent layer:

        h_t = f(W x_t + U h_{t−1} + b),   f = tanh (default) or ReLU

    with W = ``weight_ih_l{k}``, U = ``weight_hh_l{k}`` and b = ``bias_ih_l{k} + bias_hh_l{k}``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (use 'tanh' or 'relu')")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def _run_layer(self, x: Tensor, layer: str, states: list[Tensor], reverse: bool = False,
                   batch_sizes: list[int] | None = None) -> tuple[Tensor, list[Tensor]]:
        """The whole layer is one op, ``ops.RNNLayer``: the equation above for t = 1 … T, W x_t + b for
        all steps in one matrix product, one product and one activation per step, and backpropagation
        through time written out in its backward. ``ops.recurrent.rnn_layer_composite`` is the same
        layer as a chain of Tensor ops."""
        w_ih, w_hh, b_ih, b_hh = self._layer(layer)
        y, h = ops.RNNLayer.apply(x, states[0], w_ih, w_hh, b_ih, b_hh, nonlinearity=self.nonlinearity,
                                  reverse=reverse, batch_sizes=batch_sizes)
        return y, [h]


class LSTM(_RNNBase):
    r"""Long short-term memory, gates in PyTorch's order i, f, g, o:

        i_t = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi)        input gate
        f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)        forget gate
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)     candidate cell
        o_t = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)        output gate
        c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
        h_t = o_t ⊙ tanh(c_t)

    ``weight_ih_l{k}`` = [W_ii | W_if | W_ig | W_io] stacked by rows (4H, input), likewise
    ``weight_hh_l{k}`` and the biases.
    """

    gates = 4
    state_count = 2

    def _run_layer(self, x: Tensor, layer: str, states: list[Tensor], reverse: bool = False,
                   batch_sizes: list[int] | None = None) -> tuple[Tensor, list[Tensor]]:
        """The whole layer is one op, ``ops.LSTMLayer``: the equations above for t = 1 … T, the input
        projection of all steps in one matrix product, each step's gate nonlinearities and state
        update in one fused kernel (``ops.LSTMCell``), and backpropagation through time written
        out in its backward. ``ops.recurrent.lstm_layer_composite`` is the same layer as a chain of
        Tensor ops."""
        w_ih, w_hh, b_ih, b_hh = self._layer(layer)
        y, h, c = ops.LSTMLayer.apply(x, states[0], states[1], w_ih, w_hh, b_ih, b_hh, reverse=reverse,
                                      batch_sizes=batch_sizes)
        return y, [h, c]


class GRU(_RNNBase):
    r"""Gated recurrent unit, gates in PyTorch's order r, z, n:

        r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)               reset gate
        z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)               update gate
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))     candidate
        h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

    b_hn sits inside r_t ⊙ (…), so b_hh cannot be folded into the input projection as in LSTM.
    """

    gates = 3

    def _run_layer(self, x: Tensor, layer: str, states: list[Tensor], reverse: bool = False,
                   batch_sizes: list[int] | None = None) -> tuple[Tensor, list[Tensor]]:
        """The whole layer is one op, ``ops.GRULayer``: the equations above for t = 1 … T, the input
        projection of all steps in one matrix product, each step's gates and update in one fused
        kernel (``ops.GRUCell``), and backpropagation through time written out in its backward.
        ``ops.recurrent.gru_layer_composite`` is the same layer as a chain of Tensor ops."""
        w_ih, w_hh, b_ih, b_hh = self._layer(layer)
        y, h = ops.GRULayer.apply(x, states[0], w_ih, w_hh, b_ih, b_hh, reverse=reverse, batch_sizes=batch_sizes)
        return y, [h]


# ---- single steps: RNNCell, LSTMCell, GRUCell (the caller writes the loop over time) ----------


class _CellBase(Module):
    """One recurrent step with PyTorch's parameters ``weight_ih`` (G·H, input), ``weight_hh``
    (G·H, H), ``bias_ih``/``bias_hh`` (G·H,), all U(−1/√H, 1/√H). Input (B, input) or (input,);
    the state defaults to zeros."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self.gates * hidden_size
        self.weight_ih = Parameter(empty_parameter((rows, input_size), dtype))
        self.weight_hh = Parameter(empty_parameter((rows, hidden_size), dtype))
        for name in ("bias_ih", "bias_hh"):  # registered as None without bias: absent from the state dict
            self.register_parameter(name, Parameter(empty_parameter((rows,), dtype)) if bias else None)
        self.reset_parameters()

    reset_parameters = _RNNBase.reset_parameters  # every parameter ~ U(−1/√H, 1/√H), as the layers

    def _inputs(self, x: Tensor, states: list[Tensor | None]) -> tuple[Tensor, list[Tensor], bool]:
        """x as (B, input) and the states as (B, H) (zeros when None); and whether x was batched."""
        name = type(self).__name__
        check_input(name, x.ndim in (1, 2) and x.shape[-1] == self.input_size,
                    f"last dim {self.input_size} (input_size) and 1 or 2 dims", x)
        check_same_dtype(name, x.data, self.weight_ih.data, names=("input", "weight_ih"))
        batched = x.ndim == 2
        x = x if batched else x.unsqueeze(0)
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        full = []
        for s in states:
            if s is None:
                s = Tensor._make(np.zeros((x.shape[0], self.hidden_size), dtype=x.dtype))
            elif tuple(s.shape) != expected:
                raise ValueError(f"{name}: expected a state of shape {expected}, got shape {tuple(s.shape)}")
            else:
                check_same_dtype(name, s.data, self.weight_hh.data, names=("state", "weight_hh"))
                s = s if batched else s.unsqueeze(0)
            full.append(s)
        return x, full, batched

    def _projections(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """(x W_ihᵀ + b_ih, h W_hhᵀ + b_hh)."""
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        return s


class RNNCell(_CellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state h'."""
        x, (h,), batched = self._inputs(x, [hx])
        gates_x, gates_h = self._projections(x, h)
        pre = gates_x + gates_h
        h = pre.tanh() if self.nonlinearity == "tanh" else pre.relu()
        return h if batched else h.squeeze(0)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else f"{s}, nonlinearity={self.nonlinearity}"


class LSTMCell(_CellBase):
    """i, f, g, o from x W_ihᵀ + b_ih + h W_hhᵀ + b_hh; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh c' (ops.LSTMCell)."""

    gates = 4

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """The next states (h', c')."""
        x, (h, c), batched = self._inputs(x, [None, None] if hx is None else list(hx))
        gates_x, gates_h = self._projections(x, h)
        h, c = ops.LSTMCell.apply(gates_x + gates_h, c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """r, z, n from the two projections; h' = (1 − z) ⊙ n + z ⊙ h (ops.GRUCell)."""

    gates = 3

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state h'."""
        x, (h,), batched = self._inputs(x, [hx])
        gates_x, gates_h = self._projections(x, h)
        h = ops.GRUCell.apply(gates_x, gates_h, h)
        return h if batched else h.squeeze(0)
