r"""Recurrent ops: LSTMCell and GRUCell (one step), RNNLayer, LSTMLayer and GRULayer (a whole sequence,
backpropagation through time).

Notation as in ``ops/elementwise.py``; here H is the hidden size, B the batch and T the
sequence length. The gate pre-activations of one step are

    z = x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh        (B, 4H) = [z_i | z_f | z_g | z_o]

in PyTorch's gate order i, f, g, o. Written as separate Tensor ops, one LSTM step is about
fifteen graph nodes, each a sweep over memory; here the cell is one node whose forward and
backward are one pass each (``backend.lstm_cell``: C in csrc/lstm.c, NumPy in
backend/numpy_ref.py). ``lstm_cell_composite`` is the same cell in Tensor ops: the readable
definition the tests compare against, and what backward differentiates when a graph of the
gradient is wanted (``create_graph=True``), so grad-of-grad keeps working.

RNNLayer, LSTMLayer and GRULayer go one step further for ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``: the
whole layer over the sequence is a single node, whose backward is the backpropagation-through-time
loop written out with the backend's matmul (and, for LSTM and GRU, cell kernels). A graph of per-step
nodes would cost more in bookkeeping than the small per-step products cost in arithmetic. What the
three layers share (the shape checks, the input projection of all steps in one product, where each
step reads and writes, the weight gradients after the loop) is in the helpers at the end of this
file; only the per-step loops differ.

The layers also run a batch of sequences of different lengths (``batch_sizes=``, nn/utils/rnn.py's
packed layout): x is then the packed rows (N, I), step t's n_t rows after step t−1's, n_1 ≥ … ≥ n_T,
and the sequences still running at step t are always the first n_t of the batch. Step t advances
only those rows; the others keep their states (a sequence that has ended keeps its last h and c,
one that has not started yet, in the reverse direction, keeps h0 and c0). So each sequence's final
state is h_T's row, and the reverse direction starts each sequence at its own last step. A padded
(T, B, I) input is the case n_t = B for every t: its rows, in memory order, are already packed.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from .movement import Unbind


def run_recurrence(step: Callable[[Any, list[Any]], list[Any]], projected: Any, states: list[Any],
                   reverse: bool = False, batch_sizes: Sequence[int] | None = None) -> tuple[Any, list[Any]]:
    """The time loop of a recurrent layer in Tensor ops: ``step(z_x, states) -> new states`` (h first, the
    step's output) for every step, in time order or, ``reverse``, from the last step back to the first.

    ``projected`` holds x_t W_ihᵀ (+ bias) of every step: (T, B, G·H) for a padded batch, or the
    packed rows (N, G·H) with ``batch_sizes`` n_1 ≥ … ≥ n_T (see the module docstring). Returns
    (y in the same layout, H wide; the final states (B, H)). Step t runs the first n_t sequences only:
    forward, when n drops the sequences n … have ended, and their states are final and leave the
    running batch; reverse, when n grows the sequences n_{t+1} … n_t − 1 have their last step here and
    join it from their initial states. The slices and joins happen only where n changes."""
    from ..tensor import cat, stack

    padded = batch_sizes is None
    if padded:
        batch_sizes = [projected.shape[1]] * projected.shape[0]
        pieces = Unbind.apply(projected, dim=0)
    else:
        pieces = projected.split(list(batch_sizes))
    outputs: list[Any] = [None] * len(batch_sizes)
    running, ended, count = states, [], states[0].shape[0]  # count: the rows in the running batch
    if reverse:
        running, count = [], 0  # no sequence has started yet
    for t in (reversed(range(len(batch_sizes))) if reverse else range(len(batch_sizes))):
        n = batch_sizes[t]
        if n < count:  # forward: the sequences n … count − 1 have ended
            ended.append([s[n:] for s in running])
            running = [s[:n] for s in running]
        elif n > count:  # reverse: the sequences count … n − 1 start here
            joining = [s[count:n] for s in states]
            running = [cat([r, j], 0) for r, j in zip(running, joining)] if count else joining
        count = n
        running = step(pieces[t], running)
        outputs[t] = running[0]
    finals = [cat([part[i] for part in [running, *reversed(ended)]], 0) if ended else running[i]
              for i in range(len(states))]
    return (stack(outputs, 0) if padded else cat(outputs, 0)), finals


def lstm_cell_composite(gates: Any, c_prev: Any) -> tuple[Any, Any]:
    """The LSTM cell in Tensor ops (the reference for ``LSTMCell``): returns (h, c)."""
    i, f, g, o = gates.chunk(4, 1)
    c = f.sigmoid() * c_prev + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return h, c


def _differentiate(composite: Any, ctx: Function, inputs: tuple[Any, ...], grad_outputs: tuple[Any, ...]) -> tuple:
    """∂L/∂input of ``composite(*inputs)`` for the inputs that need it, as a differentiable graph.

    Used by backward when grad mode is on (``create_graph=True``): the op's forward is run
    again as Tensor ops and the engine differentiates that, so the gradient it returns has a
    graph of its own, as grad-of-grad needs. The composite runs on clones, new graph nodes of
    their own: an input may be an ancestor of another (GRU: gates_h = h_prev W_hhᵀ + b_hh), and
    the gradient w.r.t. the input itself would then also count the path through the other one.
    """
    from ..autograd import engine

    inputs = tuple(None if x is None else x.clone() for x in inputs)
    with grad_mode.enable_grad():
        outputs = composite(*inputs)
    outputs = list(outputs) if isinstance(outputs, tuple) else [outputs]
    wanted = [x for x, needed in zip(inputs, ctx.needs_input_grad) if needed]
    grads = iter(engine.grad(outputs, wanted, list(grad_outputs), create_graph=True, allow_unused=True))
    return tuple(next(grads) if needed else None for needed in ctx.needs_input_grad)


class LSTMCell(Function):
    r"""One LSTM step from its gate pre-activations z (B, 4H) and the previous cell state c_prev (B, H).

    Forward:   i = σ(z_i),  f = σ(z_f),  g = tanh(z_g),  o = σ(z_o)
               c = f ⊙ c_prev + i ⊙ g
               h = o ⊙ tanh(c)                                       returns (h, c)
    Backward:  with g_h = ∂L/∂h, g_c = ∂L/∂c and δc = g_c + g_h ⊙ o ⊙ (1 − tanh²c):
               ∂L/∂z = [δc ⊙ g ⊙ i(1−i) | δc ⊙ c_prev ⊙ f(1−f) | δc ⊙ i ⊙ (1−g²) | g_h ⊙ tanh c ⊙ o(1−o)]
               ∂L/∂c_prev = δc ⊙ f
    Both passes are one fused kernel each (``backend.lstm_cell``, ``backend.lstm_cell_backward``);
    under ``create_graph=True`` backward differentiates ``lstm_cell_composite`` instead.
    """

    formula = ("[dc*g*i*(1-i) | dc*c_prev*f*(1-f) | dc*i*(1-g**2) | g_h*tanh(c)*o*(1-o)]", "dc * f")

    @staticmethod
    def forward(ctx, gates, c_prev):
        _check_cell_shapes(gates.shape, c_prev.shape)
        h, c, acts, tanh_c = backend.lstm_cell(gates.data, c_prev.data)
        ctx.save_for_backward(gates, c_prev, acts, tanh_c)
        return h, c

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        gates, c_prev, acts, tanh_c = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            return _differentiate(lstm_cell_composite, ctx, (gates, c_prev), (grad_h, grad_c))
        d_gates, dc_prev = backend.lstm_cell_backward(grad_h.data, grad_c.data, acts.data, c_prev.data, tanh_c.data)
        return _tensor(d_gates), _tensor(dc_prev)


def lstm_layer_composite(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None,
                         b_hh: Any = None, reverse: bool = False,
                         batch_sizes: Sequence[int] | None = None) -> tuple[Any, Any, Any]:
    """One LSTM layer in Tensor ops (the reference for ``LSTMLayer``): (output, h_T, c_T); ``reverse``:
    the layer on x_T … x_1, its output in time order; ``batch_sizes``: x is packed (see ``run_recurrence``)."""
    projected = x @ w_ih.T
    if b_ih is not None:
        projected = projected + (b_ih + b_hh)

    def step(z_x: Any, states: list[Any]) -> list[Any]:
        h, c = states
        return list(LSTMCell.apply(z_x + h @ w_hh.T, c))

    y, (h, c) = run_recurrence(step, projected, [h0, c0], reverse, batch_sizes)
    return y, h, c


class LSTMLayer(Function):
    r"""One LSTM layer over a whole sequence: x (T, B, I), h0 and c0 (B, H), W_ih (4H, I), W_hh (4H, H),
    biases (4H,) or None. Returns (y (T, B, H), h_T, c_T). With ``batch_sizes`` (n_1 ≥ … ≥ n_T), x is
    packed rows (N, I), y packed rows (N, H), and step t runs the first n_t rows (module docstring).

    Forward:   Z = X W_ihᵀ + b_ih + b_hh                          all T steps in one matrix product
               z_t = Z_t + h_{t−1} W_hhᵀ,  (h_t, c_t) = LSTMCell(z_t, c_{t−1})    for t = 1 … T
               y = (h_1, …, h_T)
    Backward:  for t = T … 1 (backpropagation through time), with δh_T = g_y[T] + g_hT, δc_T = g_cT:
                   δz_t, δc_{t−1} = LSTMCell backward(δh_t, δc_t)
                   δh_{t−1} = δz_t W_hh + g_y[t−1]
               ∂L/∂x = δZ W_ih               ∂L/∂h0 = δh_0,  ∂L/∂c0 = δc_0
               ∂L/∂W_ih = δZᵀ X              ∂L/∂W_hh = Σ_t δz_tᵀ h_{t−1}
               ∂L/∂b_ih = ∂L/∂b_hh = Σ_{t,b} δz_t
    ``reverse=True`` (the second direction of a bidirectional LSTM): the same with time running backwards,
    t = T … 1 forward and 1 … T backward (h_{t+1} in place of h_{t−1}); y stays in time order.
    Packed: step t's z_t, c_{t−1}, h_{t−1} are the first n_t rows; a row not running at step t copies
    h_{t−1}, c_{t−1} to h_t, c_t, so backward passes its δh, δc through that step unchanged.
    Under ``create_graph=True`` backward differentiates ``lstm_layer_composite`` instead.
    """

    formula = ("dZ @ W_ih", "dh_0", "dc_0", "dZ.T @ X", "sum_t dz_t.T @ h_(t-1)", "sum(dZ)", "sum(dZ)")

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False, batch_sizes=None):
        layout = _Layout("lstm_layer", 4, x.shape, w_ih.shape, w_hh.shape, batch_sizes, reverse, h0=h0.shape,
                         c0=c0.shape)
        _check_biases("lstm_layer", w_hh.shape[0], b_ih, b_hh, paired=True)
        T, B, N, H = layout.steps, layout.batch, layout.rows, w_hh.shape[1]
        projected = layout.project(x.data, w_ih.data)  # (N, 4H)
        bias = None if b_ih is None else b_ih.data + b_hh.data
        w_hh_t = backend.pack_b(w_hh.data.T)  # packed once, for every step's product
        # hs[row] and cs[row] hold the states of all B sequences at one time (rows as in _Layout); acts and
        # tanh_c (packed rows, as x) are what the cell's backward needs. The cell writes straight into slices.
        hs, cs = np.empty((T + 1, B, H), dtype=x.dtype), np.empty((T + 1, B, H), dtype=x.dtype)
        acts, tanh_c = np.empty((N, 4 * H), dtype=x.dtype), np.empty((N, H), dtype=x.dtype)
        hs[layout.first], cs[layout.first] = h0.data, c0.data
        # step t's rows: z_x[t], act[t], tanh[t] (views of projected, acts, tanh_c; see _Layout.by_step)
        z_x, act, tanh = layout.by_step(projected), layout.by_step(acts), layout.by_step(tanh_c)
        for t, _, prev, new, idle in layout.run_order:  # z_t = h_prev W_hhᵀ + x_t W_ihᵀ + b, in one pass
            backend.lstm_cell(backend.matmul_packed(hs[prev], w_hh_t), cs[prev],
                              out=(hs[new], cs[new], act[t], tanh[t]), gates_x=z_x[t], bias=bias)
            if idle:  # the rows not running keep their states
                hs[idle.new], cs[idle.new] = hs[idle.prev], cs[idle.prev]
        ctx.layout = layout
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, hs, cs, acts, tanh_c)
        # Every output is a copy (the gather makes y one): backward reads hs, so a view handed out would let
        # a change to y (say, in place under no_grad) silently alter the gradients.
        return layout.outputs(hs).reshape(*x.shape[:-1], H), hs[layout.last].copy(), cs[layout.last].copy()

    @staticmethod
    def backward(ctx, grad_y, grad_h, grad_c):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, hs, cs, acts, tanh_c = ctx.saved_tensors
        layout = ctx.layout
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
            composite = functools.partial(lstm_layer_composite, reverse=layout.reverse,
                                          batch_sizes=layout.packed_sizes)
            return _differentiate(composite, ctx, inputs, (grad_y, grad_h, grad_c))
        cs, w_hh_packed = cs.data, backend.pack_b(w_hh.data)  # packed once, for every step's product
        dz = np.empty_like(acts.data)
        g_y, act, tanh, dz_t = (layout.by_step(a) for a in (grad_y.data, acts.data, tanh_c.data, dz))
        # δh, δc of all B rows at the current time (dc_prev receives the step's δc_{t−1})
        dh, dc, dc_prev = grad_h.data.copy(), grad_c.data.copy(), np.empty_like(grad_c.data)
        for t, n, prev, _, idle in reversed(layout.run_order):  # the forward's steps, last first
            # the rows this step runs: all (the arrays themselves, no view to make) or the first n
            dh_n, dc_n, dc_prev_n = (dh[:n], dc[:n], dc_prev[:n]) if idle else (dh, dc, dc_prev)
            dh_n += g_y[t]  # h_t is also an output
            backend.lstm_cell_backward(dh_n, dc_n, act[t], cs[prev], tanh[t], out=(dz_t[t], dc_prev_n))
            dh_prev = backend.matmul_packed(dz_t[t], w_hh_packed)
            if idle:  # the rows not running pass their gradients through the step unchanged
                dh_prev, dc_prev[n:] = np.concatenate([dh_prev, dh[n:]]), dc[n:]
            dh, dc, dc_prev = dh_prev, dc_prev, dc
        needs = ctx.needs_input_grad
        # z = z_x + z_h: both parts get δz, so b_ih and b_hh have the same gradient, Σ δz summed once
        grad_x, grad_w_ih, grad_w_hh, grad_b, _ = _layer_parameter_grads(
            (needs[0], needs[3], needs[4], needs[5] or needs[6], False), x.data, w_ih.data,
            layout.previous_states(hs.data), dz, dz)
        return (grad_x, _tensor(dh), _tensor(dc), grad_w_ih, grad_w_hh, grad_b if needs[5] else None,
                grad_b if needs[6] else None)


def gru_cell_composite(gates_x: Any, gates_h: Any, h_prev: Any) -> Any:
    """The GRU cell in Tensor ops (the reference for ``GRUCell``): returns h."""
    x_r, x_z, x_n = gates_x.chunk(3, 1)
    h_r, h_z, h_n = gates_h.chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h_prev


class GRUCell(Function):
    r"""One GRU step from gates_x = x W_ihᵀ + b_ih and gates_h = h_prev W_hhᵀ + b_hh (B, 3H, order r, z, n)
    and h_prev (B, H).

    Forward:   r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ⊙ h_n)
               h = (1 − z) ⊙ n + z ⊙ h_prev
    Backward:  with g = ∂L/∂h, δn = g ⊙ (1 − z) ⊙ (1 − n²), δz = g ⊙ (h_prev − n) ⊙ z(1 − z),
               δr = δn ⊙ h_n ⊙ r(1 − r):
               ∂L/∂gates_x = [δr | δz | δn]
               ∂L/∂gates_h = [δr | δz | δn ⊙ r]
               ∂L/∂h_prev  = g ⊙ z
    One fused kernel per pass (``backend.gru_cell``, ``backend.gru_cell_backward``); under
    ``create_graph=True`` backward differentiates ``gru_cell_composite`` instead.
    """

    formula = ("[dr | dz | dn]", "[dr | dz | dn * r]", "g * z")

    @staticmethod
    def forward(ctx, gates_x, gates_h, h_prev):
        if len(h_prev.shape) != 2 or gates_x.shape != gates_h.shape or \
                gates_x.shape != (h_prev.shape[0], 3 * h_prev.shape[1]):
            raise ValueError(f"gru_cell: expected gates_x and gates_h (B, 3H) and h_prev (B, H), got gates_x "
                             f"{gates_x.shape}, gates_h {gates_h.shape} and h_prev {h_prev.shape}")
        h, acts = backend.gru_cell(gates_x.data, gates_h.data, h_prev.data)
        ctx.save_for_backward(gates_x, gates_h, h_prev, acts)
        return h

    @staticmethod
    def backward(ctx, grad_output):
        gates_x, gates_h, h_prev, acts = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            return _differentiate(gru_cell_composite, ctx, (gates_x, gates_h, h_prev), (grad_output,))
        grads = backend.gru_cell_backward(grad_output.data, acts.data, gates_h.data, h_prev.data)
        return tuple(_tensor(g) for g in grads)


def gru_layer_composite(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
                        reverse: bool = False, batch_sizes: Sequence[int] | None = None) -> tuple[Any, Any]:
    """One GRU layer in Tensor ops (the reference for ``GRULayer``, nn.GRU's former path): (output, h_T);
    ``reverse`` and ``batch_sizes`` as in ``lstm_layer_composite``."""
    projected = x @ w_ih.T if b_ih is None else x @ w_ih.T + b_ih

    def step(gates_x: Any, states: list[Any]) -> list[Any]:
        (h,) = states
        return [GRUCell.apply(gates_x, h @ w_hh.T if b_hh is None else h @ w_hh.T + b_hh, h)]

    y, (h,) = run_recurrence(step, projected, [h0], reverse, batch_sizes)
    return y, h


class GRULayer(Function):
    r"""One GRU layer over a whole sequence: x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H),
    biases (3H,) or None, gates in the order r, z, n. Returns (y (T, B, H), h_T). ``batch_sizes``: packed
    rows, as in ``LSTMLayer``.

    Forward:   X̂ = X W_ihᵀ + b_ih                                 all T steps in one matrix product
               ĥ_t = h_{t−1} W_hhᵀ + b_hh,  h_t = GRUCell(X̂_t, ĥ_t, h_{t−1})      for t = 1 … T
               (both biases are added inside the cell's one pass: ``backend.gru_cell(bias_x=, bias_h=)``)
               (r = σ(x̂_r + ĥ_r), z = σ(x̂_z + ĥ_z), n = tanh(x̂_n + r ⊙ ĥ_n), h = (1 − z) ⊙ n + z ⊙ h_{t−1})
               y = (h_1, …, h_T)
    Backward:  for t = T … 1 (backpropagation through time), with δh_T = g_y[T] + g_hT:
                   δx̂_t, δĥ_t, δh_direct = GRUCell backward(δh_t)
                   δh_{t−1} = δh_direct + δĥ_t W_hh + g_y[t−1]
               ∂L/∂x = δX̂ W_ih                ∂L/∂h0 = δh_0
               ∂L/∂W_ih = δX̂ᵀ X               ∂L/∂W_hh = Σ_t δĥ_tᵀ h_{t−1}
               ∂L/∂b_ih = Σ_{t,b} δx̂_t        ∂L/∂b_hh = Σ_{t,b} δĥ_t
    δx̂ and δĥ differ only in the n block (δĥ_n = δx̂_n ⊙ r): b_hn sits inside r ⊙ (…).
    ``reverse=True``: time runs backwards; packed: the rows not running keep h, as in ``LSTMLayer``.
    Under ``create_graph=True`` backward differentiates ``gru_layer_composite`` instead.
    """

    formula = ("dX^ @ W_ih", "dh_0", "dX^.T @ X", "sum_t dh^_t.T @ h_(t-1)", "sum(dX^)", "sum(dh^)")

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False, batch_sizes=None):
        layout = _Layout("gru_layer", 3, x.shape, w_ih.shape, w_hh.shape, batch_sizes, reverse, h0=h0.shape)
        _check_biases("gru_layer", w_hh.shape[0], b_ih, b_hh, paired=False)
        T, B, N, H = layout.steps, layout.batch, layout.rows, w_hh.shape[1]
        projected = layout.project(x.data, w_ih.data)  # (N, 3H)
        bias_x, bias_h = (None if b is None else b.data for b in (b_ih, b_hh))
        w_hh_t = backend.pack_b(w_hh.data.T)  # packed once, for every step's product
        # hs as in LSTMLayer; gates_h = h_prev W_hhᵀ and acts = [r | z | n] of every step (packed rows) are
        # what the cell's backward needs. The cell adds both biases inside its one pass and writes
        # straight into the slices of hs and acts.
        hs = np.empty((T + 1, B, H), dtype=x.dtype)
        gates_h, acts = np.empty((N, 3 * H), dtype=x.dtype), np.empty((N, 3 * H), dtype=x.dtype)
        hs[layout.first] = h0.data
        g_x, g_h, act = layout.by_step(projected), layout.by_step(gates_h), layout.by_step(acts)
        for t, _, prev, new, idle in layout.run_order:
            g_h[t] = backend.matmul_packed(hs[prev], w_hh_t)
            backend.gru_cell(g_x[t], g_h[t], hs[prev], out=(hs[new], act[t]), bias_x=bias_x, bias_h=bias_h)
            if idle:  # the rows not running keep their states
                hs[idle.new] = hs[idle.prev]
        ctx.layout = layout
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh, hs, gates_h, acts)
        # copies, not views of what backward reads (see LSTMLayer)
        return layout.outputs(hs).reshape(*x.shape[:-1], H), hs[layout.last].copy()

    @staticmethod
    def backward(ctx, grad_y, grad_h):
        x, h0, w_ih, w_hh, b_ih, b_hh, hs, gates_h, acts = ctx.saved_tensors
        layout = ctx.layout
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            composite = functools.partial(gru_layer_composite, reverse=layout.reverse,
                                          batch_sizes=layout.packed_sizes)
            return _differentiate(composite, ctx, (x, h0, w_ih, w_hh, b_ih, b_hh), (grad_y, grad_h))
        hs, w_hh_packed = hs.data, backend.pack_b(w_hh.data)  # packed once, for every step's product
        bias_h = None if b_hh is None else b_hh.data
        d_gates_x, d_gates_h = np.empty_like(gates_h.data), np.empty_like(gates_h.data)
        g_y, act, g_h, dg_x, dg_h = (layout.by_step(a) for a in (grad_y.data, acts.data, gates_h.data, d_gates_x,
                                                                 d_gates_h))
        dh, dh_direct = grad_h.data.copy(), np.empty_like(grad_h.data)  # all B rows, as in LSTMLayer
        for t, n, prev, _, idle in reversed(layout.run_order):  # the forward's steps, last first
            dh_n, dh_direct_n = (dh[:n], dh_direct[:n]) if idle else (dh, dh_direct)  # the rows it runs, as LSTM
            dh_n += g_y[t]  # h_t is also an output
            backend.gru_cell_backward(dh_n, act[t], g_h[t], hs[prev], out=(dg_x[t], dg_h[t], dh_direct_n),
                                      bias_h=bias_h)
            dh_prev = backend.matmul_packed(dg_h[t], w_hh_packed)  # a fresh array
            dh_prev += dh_direct_n
            if idle:  # the rows not running pass their gradient through the step unchanged
                dh_prev = np.concatenate([dh_prev, dh[n:]])
            dh = dh_prev
        needs = ctx.needs_input_grad
        grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh = _layer_parameter_grads(
            (needs[0], *needs[2:]), x.data, w_ih.data, layout.previous_states(hs), d_gates_x, d_gates_h)
        return grad_x, _tensor(dh), grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


# the nonlinearity of nn.RNN, and its derivative written in terms of its output h = f(p)
_RNN_ACTIVATIONS = {
    "tanh": (np.tanh, lambda h: 1 - h * h),
    "relu": (lambda p, out: np.maximum(p, 0, out=out), lambda h: (h > 0).astype(h.dtype)),
}


def rnn_layer_composite(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any = None, b_hh: Any = None,
                        nonlinearity: str = "tanh", reverse: bool = False,
                        batch_sizes: Sequence[int] | None = None) -> tuple[Any, Any]:
    """One Elman RNN layer in Tensor ops (the reference for ``RNNLayer``, nn.RNN's former path): (output, h_T);
    ``reverse`` and ``batch_sizes`` as in ``lstm_layer_composite``."""
    projected = x @ w_ih.T
    if b_ih is not None:
        projected = projected + (b_ih + b_hh)  # both biases simply add up
    w_hh_t = w_hh.T  # transposed once per layer, not once per step

    def step(p_x: Any, states: list[Any]) -> list[Any]:
        p = p_x + states[0] @ w_hh_t
        return [p.tanh() if nonlinearity == "tanh" else p.relu()]

    y, (h,) = run_recurrence(step, projected, [h0], reverse, batch_sizes)
    return y, h


class RNNLayer(Function):
    r"""One Elman RNN layer over a whole sequence: x (T, B, I), h0 (B, H), W_ih (H, I), W_hh (H, H), biases (H,)
    or None, f = tanh or ReLU (``nonlinearity``). Returns (y (T, B, H), h_T). ``batch_sizes``: packed rows, as
    in ``LSTMLayer``.

    Forward:   P = X W_ihᵀ + b_ih + b_hh                          all T steps in one matrix product
               h_t = f(P_t + h_{t−1} W_hhᵀ)                       for t = 1 … T
               (h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), or ReLU in place of tanh)
               y = (h_1, …, h_T)
    Backward:  for t = T … 1 (backpropagation through time), with δ_{T+1} W_hh read as 0:
                   δ_t = (g_y[t] + δ_{t+1} W_hh) ⊙ f′,   f′ = 1 − h_t² (tanh) or [h_t > 0] (ReLU)
               ∂L/∂x = δ W_ih               ∂L/∂h0 = δ_1 W_hh   (and g_hT joins g_y[T])
               ∂L/∂W_ih = δᵀ X              ∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1}
               ∂L/∂b_ih = ∂L/∂b_hh = Σ_{t,b} δ_t
    f′ is computed from the output h_t, as PyTorch's tanh and ReLU backwards do (ReLU′(0) = 0).
    ``reverse=True``: time runs backwards; packed: the rows not running keep h, as in ``LSTMLayer``.
    Under ``create_graph=True`` backward differentiates ``rnn_layer_composite`` instead. The node is named
    as PyTorch's last op of nn.RNN's layer: ``StackBackward0`` (padded), ``CatBackward0`` (packed).
    """

    formula = ("dP @ W_ih", "dP_1 @ W_hh", "dP.T @ X", "sum_t dP_t.T @ h_(t-1)", "sum(dP)", "sum(dP)")

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh", reverse=False, batch_sizes=None):
        if nonlinearity not in _RNN_ACTIVATIONS:
            raise ValueError(f"rnn_layer: unknown nonlinearity {nonlinearity!r} (use 'tanh' or 'relu')")
        layout = _Layout("rnn_layer", 1, x.shape, w_ih.shape, w_hh.shape, batch_sizes, reverse, h0=h0.shape)
        _check_biases("rnn_layer", w_hh.shape[0], b_ih, b_hh, paired=True)
        T, B, H = layout.steps, layout.batch, w_hh.shape[1]
        projected = layout.project(x.data, w_ih.data)  # (N, H), a fresh array
        if b_ih is not None:
            projected += b_ih.data + b_hh.data
        w_hh_t = backend.pack_b(w_hh.data.T)  # packed once, for every step's product
        activation = _RNN_ACTIVATIONS[nonlinearity][0]
        hs = np.empty((T + 1, B, H), dtype=x.dtype)  # as in LSTMLayer
        hs[layout.first] = h0.data
        p_x = layout.by_step(projected)
        for t, _, prev, new, idle in layout.run_order:
            h = hs[new]
            activation(np.add(backend.matmul_packed(hs[prev], w_hh_t), p_x[t], out=h), out=h)
            if idle:  # the rows not running keep their states
                hs[idle.new] = hs[idle.prev]
        ctx.layout, ctx.nonlinearity = layout, nonlinearity
        ctx.torch_name = "StackBackward0" if batch_sizes is None else "CatBackward0"
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh, hs)
        # copies, not views of what backward reads (see LSTMLayer)
        return layout.outputs(hs).reshape(*x.shape[:-1], H), hs[layout.last].copy()

    @staticmethod
    def backward(ctx, grad_y, grad_h):
        x, h0, w_ih, w_hh, b_ih, b_hh, hs = ctx.saved_tensors
        layout = ctx.layout
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            composite = functools.partial(rnn_layer_composite, nonlinearity=ctx.nonlinearity, reverse=layout.reverse,
                                          batch_sizes=layout.packed_sizes)
            return _differentiate(composite, ctx, (x, h0, w_ih, w_hh, b_ih, b_hh), (grad_y, grad_h))
        hs, w_hh_packed = hs.data, backend.pack_b(w_hh.data)  # packed once, for every step's product
        slope = _RNN_ACTIVATIONS[ctx.nonlinearity][1](hs)  # f′ of every step at once, in hs's rows
        d_p = np.empty((layout.rows, w_hh.shape[1]), dtype=hs.dtype)
        g_y, d_p_t = layout.by_step(grad_y.data), layout.by_step(d_p)
        dh = grad_h.data.copy()  # all B rows, as in LSTMLayer
        for t, n, _, new, idle in reversed(layout.run_order):  # the forward's steps, last first
            dh_n = dh[:n] if idle else dh  # the rows it runs, as in LSTMLayer
            dh_n += g_y[t]  # h_t is also an output
            np.multiply(dh_n, slope[new], out=d_p_t[t])
            dh_prev = backend.matmul_packed(d_p_t[t], w_hh_packed)  # a fresh array
            if idle:  # the rows not running pass their gradient through the step unchanged
                dh_prev = np.concatenate([dh_prev, dh[n:]])
            dh = dh_prev
        needs = ctx.needs_input_grad
        # both biases sit in the same sum: the same gradient Σ δ, summed once
        grad_x, grad_w_ih, grad_w_hh, grad_b, _ = _layer_parameter_grads(
            (needs[0], needs[2], needs[3], needs[4] or needs[5], False), x.data, w_ih.data,
            layout.previous_states(hs), d_p, d_p)
        return (grad_x, _tensor(dh), grad_w_ih, grad_w_hh, grad_b if needs[4] else None,
                grad_b if needs[5] else None)


def _tensor(array: np.ndarray) -> Any:
    """A graph-free Tensor around a gradient computed on arrays (imported here: tensor.py imports the ops)."""
    from ..tensor import Tensor

    return Tensor._make(array)


def _check_cell_shapes(gates_shape: tuple[int, ...], c_shape: tuple[int, ...]) -> None:
    """ValueError naming the shapes unless gates is (B, 4H) and c_prev (B, H)."""
    if len(c_shape) != 2 or gates_shape != (c_shape[0], 4 * c_shape[1]):
        raise ValueError(f"lstm_cell: expected gates (B, 4H) and c_prev (B, H), got gates {gates_shape} and "
                         f"c_prev {c_shape}")


Shape = tuple[int, ...]


def _check_biases(op: str, rows: int, b_ih: Any, b_hh: Any, paired: bool) -> None:
    """ValueError unless each bias given is (G·H,) = (``rows``,), and, ``paired`` (a layer whose backward gives
    both biases one gradient, as they sit in one sum), unless both or neither are given."""
    if paired and (b_ih is None) != (b_hh is None):
        raise ValueError(f"{op}: give both biases b_ih and b_hh, or neither")
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is not None and b.shape != (rows,):
            raise ValueError(f"{op}: expected {name} of shape ({rows},), got {b.shape}")


def _check_layer_shapes(op: str, gates: int, x_shape: Shape, w_ih_shape: Shape, w_hh_shape: Shape,
                        **states: Shape) -> None:
    """ValueError naming every shape unless they fit one recurrent layer with ``gates`` gates:
    x (T ≥ 1, B, I), every state (B, H), weight_ih (G·H, I), weight_hh (G·H, H)."""
    T, B, I = x_shape if len(x_shape) == 3 else (None, None, None)
    H = w_hh_shape[1] if len(w_hh_shape) == 2 else None
    if T is None or H is None or T < 1 or w_hh_shape != (gates * H, H) or w_ih_shape != (gates * H, I) or \
            any(shape != (B, H) for shape in states.values()):
        names, got = " and ".join(states), ", ".join(f"{name} {shape}" for name, shape in states.items())
        raise ValueError(f"{op}: expected x (T ≥ 1, B, I), {names} (B, H), weight_ih ({gates}H, I), "
                         f"weight_hh ({gates}H, H); got x {x_shape}, {got}, weight_ih {w_ih_shape}, "
                         f"weight_hh {w_hh_shape}")


class _Layout:
    """Where the steps of a layer read and write, padded or packed.

    x, the gates and every other per-step array are *rows* (N, ·): step t's n_t rows follow step t−1's
    (a padded (T, B, ·) array reshaped to (T·B, ·) is this with n_t = B). The states live in a buffer
    hs (T + 1, B, H) that holds all B sequences at one time per row: step t reads h_prev from
    hs[prev, :n_t] and writes h_t to hs[new, :n_t]. Forward: t = 0 … T−1, h_t in row t + 1, h0 in row 0.
    Reverse (the second direction of a bidirectional layer, which reads x_T … x_1): t = T−1 … 0, h_t in
    row t, h0 in row T. Either way hs without the h0 row holds the outputs in time order, hs without
    the final row each step's h_prev, and x is never copied or flipped.

    ``run_order`` lists the steps as (t, n_t, prev, new, idle), ready-made indices, so a layer's loop
    reads step t's rows of an array a as ``by_step(a)[t]``, h_prev as ``hs[prev]`` and h_t as ``hs[new]``,
    and, for a step that does not run the whole batch, the rows that keep their states as
    ``hs[idle.new] = hs[idle.prev]`` (idle is None when n_t = B). When every step runs the whole batch
    (padded) these are plain integers, the cheapest index NumPy has (a few dozen ns per slice less, over
    some ten slices a step); otherwise slices."""

    def __init__(self, op: str, gates: int, x_shape: Shape, w_ih_shape: Shape, w_hh_shape: Shape,
                 batch_sizes: Sequence[int] | None, reverse: bool, **states: Shape) -> None:
        self.packed_sizes = None if batch_sizes is None else tuple(int(n) for n in batch_sizes)
        if self.packed_sizes is None:  # padded: every step runs all B rows
            check_shape = x_shape
            sizes = (x_shape[1],) * x_shape[0] if len(x_shape) == 3 else ()
        else:
            sizes = self.packed_sizes
            if len(x_shape) != 2 or not sizes or sum(sizes) != x_shape[0] or sizes[-1] < 1 or \
                    any(a < b for a, b in zip(sizes, sizes[1:])):
                raise ValueError(f"{op}: packed x must be (N, I) with batch_sizes n_1 ≥ … ≥ n_T ≥ 1 adding up to "
                                 f"N; got x {x_shape} and batch_sizes {list(sizes)}")
            check_shape = (len(sizes), sizes[0], x_shape[1])
        _check_layer_shapes(op, gates, check_shape, w_ih_shape, w_hh_shape, **states)
        self.batch_sizes, self.reverse = sizes, reverse
        self.steps, self.batch, self.rows = len(sizes), check_shape[1], sum(sizes)
        self.first, self.last = (self.steps, 0) if reverse else (0, self.steps)  # the rows of h0 and of h_T
        self.full = sizes[-1] == self.batch  # every step runs the whole batch (padded, or packed of one length)
        self.run_order = _run_order(sizes, reverse)

    def by_step(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` (N, ·) so that run_order's t picks step t's rows: (T, B, ·) when every step runs the
        whole batch (t an integer), else the rows themselves (t a slice). A view."""
        return rows.reshape(self.steps, self.batch, rows.shape[-1]) if self.full else rows

    def project(self, x: np.ndarray, w_ih: np.ndarray) -> np.ndarray:
        """X W_ihᵀ, (N, G·H): the input part of every step in one matrix product; the cells add the biases."""
        return backend.matmul(x.reshape(self.rows, x.shape[-1]), w_ih.T)

    def outputs(self, hs: np.ndarray) -> np.ndarray:
        """y as rows (N, H): every step's h_t, a copy (backward reads hs)."""
        rows = self._rows(hs[:-1] if self.reverse else hs[1:])
        return rows.copy() if self.full else rows

    def previous_states(self, hs: np.ndarray) -> np.ndarray:
        """(N, H): the h_prev every step read, as rows."""
        return self._rows(hs[1:] if self.reverse else hs[:-1])

    def _rows(self, per_step: np.ndarray) -> np.ndarray:
        """The rows (N, H) of per_step (T, B, H): step t's first n_t rows (a view when every step runs the
        whole batch, else a copy)."""
        if self.full:
            return per_step.reshape(self.rows, per_step.shape[-1])
        return np.concatenate([h[:n] for h, n in zip(per_step, self.batch_sizes)])


class _Idle(NamedTuple):
    """The rows a step does not run, in the state buffer: they keep their states (hs[new] = hs[prev])."""

    prev: tuple[int, slice]
    new: tuple[int, slice]


@functools.lru_cache(maxsize=256)
def _run_order(batch_sizes: tuple[int, ...], reverse: bool) -> tuple[tuple[Any, int, Any, Any, _Idle | None], ...]:
    """(t, n, prev, new, idle) of every step in the order the forward runs them (see ``_Layout``): the index of
    step t's rows in ``_Layout.by_step``, its batch size n_t, the indices of h_prev and h_t in the state
    buffer and of the rows not running. The same for every call with these batch sizes, so cached."""
    batch, bounds = batch_sizes[0], list(itertools.accumulate(batch_sizes, initial=0))
    full = batch_sizes[-1] == batch
    steps = []
    for t, n in enumerate(batch_sizes):
        rows = t if full else slice(bounds[t], bounds[t + 1])
        prev, new = (t + 1, t) if reverse else (t, t + 1)  # reverse: h_t in row t, h_prev in row t + 1
        if n == batch:
            steps.append((rows, n, prev, new, None))
        else:  # the first n rows run, the others keep their states
            steps.append((rows, n, (prev, slice(n)), (new, slice(n)),
                          _Idle((prev, slice(n, None)), (new, slice(n, None)))))
    return tuple(reversed(steps)) if reverse else tuple(steps)


def _layer_parameter_grads(needs: tuple[bool, ...], x: np.ndarray, w_ih: np.ndarray, h_prevs: np.ndarray,
                           d_gates_x: np.ndarray, d_gates_h: np.ndarray) -> tuple[Any, ...]:
    """(∂L/∂x, ∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b_ih, ∂L/∂b_hh) of a recurrent layer after its BPTT loop,
    each None unless ``needs`` says so, from the gradients of the input part x_t W_ihᵀ + b_ih
    (``d_gates_x`` (N, G·H), the rows of every step, see ``_Layout``) and of the recurrent part
    h_prev W_hhᵀ + b_hh (``d_gates_h``) and h_prevs (N, H), the h_prev of every row: each is one
    matrix product over all N rows. ∂L/∂x has x's shape.
    """
    x_rows = x.reshape(d_gates_x.shape[0], x.shape[-1])
    need_x, need_w_ih, need_w_hh, need_b_ih, need_b_hh = needs
    return (_tensor(backend.matmul(d_gates_x, w_ih).reshape(x.shape)) if need_x else None,
            _tensor(backend.matmul(d_gates_x.T, x_rows)) if need_w_ih else None,
            _tensor(backend.matmul(d_gates_h.T, h_prevs)) if need_w_hh else None,
            _tensor(d_gates_x.sum(0)) if need_b_ih else None,
            _tensor(d_gates_h.sum(0)) if need_b_hh else None)
