r"""Recurrent ops: LSTMCell and GRUCell (one step), LSTMLayer and GRULayer (a whole sequence,
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

LSTMLayer and GRULayer go one step further for ``nn.LSTM`` and ``nn.GRU``: the whole layer over
the sequence is a single node, whose backward is the backpropagation-through-time loop written
out with the backend's matmul and cell kernels. A graph of per-step nodes would cost more in
bookkeeping than the small per-step products cost in arithmetic. What the two layers share (the
shape check, the input projection of all steps in one product, the weight gradients after the
loop) is in the helpers at the end of this file; only the per-step loops differ.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from .movement import Unbind


def run_time_reversed(layer: Callable[..., tuple], x: Any, *args: Any) -> tuple:
    """``layer(x_T … x_1, *args)`` with its output, the first result, flipped back to time order: the
    reverse direction of a bidirectional layer, made from the forward one. Output row t is then the
    state after reading x_T … x_t. ``x[::-1]`` is an index op, whose gradient flips the incoming
    gradient back the same way."""
    y, *rest = layer(x[::-1], *args)
    return (y[::-1], *rest)


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
                         b_hh: Any = None, reverse: bool = False) -> tuple[Any, Any, Any]:
    """One LSTM layer in Tensor ops (the reference for ``LSTMLayer``): (output (T, B, H), h_T, c_T);
    ``reverse``: the layer on x_T … x_1, its output flipped back to time order."""
    from ..tensor import stack

    if reverse:
        return run_time_reversed(lstm_layer_composite, x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    projected = x @ w_ih.T
    if b_ih is not None:
        projected = projected + (b_ih + b_hh)
    h, c, outputs = h0, c0, []
    for z_x in Unbind.apply(projected, dim=0):
        h, c = LSTMCell.apply(z_x + h @ w_hh.T, c)
        outputs.append(h)
    return stack(outputs, 0), h, c


class LSTMLayer(Function):
    r"""One LSTM layer over a whole sequence: x (T, B, I), h0 and c0 (B, H), W_ih (4H, I), W_hh (4H, H),
    biases (4H,) or None. Returns (y (T, B, H), h_T, c_T).

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
    Under ``create_graph=True`` backward differentiates ``lstm_layer_composite`` instead.
    """

    formula = ("dZ @ W_ih", "dh_0", "dc_0", "dZ.T @ X", "sum_t dz_t.T @ h_(t-1)", "sum(dZ)", "sum(dZ)")

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        _check_layer_shapes("lstm_layer", 4, x.shape, w_ih.shape, w_hh.shape, h0=h0.shape, c0=c0.shape)
        if (b_ih is None) != (b_hh is None):  # the backward gives both the same gradient
            raise ValueError("lstm_layer: give both biases b_ih and b_hh, or neither")
        (T, B, _), H = x.shape, w_hh.shape[1]
        projected = _project_inputs(x.data, w_ih.data)
        bias = None if b_ih is None else b_ih.data + b_hh.data
        w_hh_t = np.ascontiguousarray(w_hh.data.T)  # the layout the per-step product reads fastest
        # Buffers for every step: hs[t + 1] = h_t (hs[0] = h0), likewise cs (reverse: hs[t] = h_t,
        # hs[T] = h0, see _time_steps); acts and tanh_c are what the cell's backward needs. The cell
        # writes straight into their slices.
        hs, cs = np.empty((T + 1, B, H), dtype=x.dtype), np.empty((T + 1, B, H), dtype=x.dtype)
        acts, tanh_c = np.empty((T, B, 4 * H), dtype=x.dtype), np.empty((T, B, H), dtype=x.dtype)
        steps, first, last = _time_steps(T, reverse)
        hs[first], cs[first] = h0.data, c0.data
        for t, prev, new in steps:  # z_t = h_prev W_hhᵀ + x_t W_ihᵀ + b, summed inside the cell's one pass
            backend.lstm_cell(backend.matmul(hs[prev], w_hh_t), cs[prev], out=(hs[new], cs[new], acts[t], tanh_c[t]),
                              gates_x=projected[t], bias=bias)
        ctx.reverse = reverse
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, hs, cs, acts, tanh_c)
        # Every output is a copy: backward reads hs, so a view handed out would let a change to y
        # (say, in place under no_grad) silently alter the gradients. Copying costs one pass over
        # T·B·H values, little next to the 2T matrix products above.
        return _outputs_in_time_order(hs, reverse).copy(), hs[last].copy(), cs[last].copy()

    @staticmethod
    def backward(ctx, grad_y, grad_h, grad_c):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, hs, cs, acts, tanh_c = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh)
            composite = functools.partial(lstm_layer_composite, reverse=ctx.reverse)
            return _differentiate(composite, ctx, inputs, (grad_y, grad_h, grad_c))
        g_y, hs, cs, acts, tanh_c, w_hh_data = grad_y.data, hs.data, cs.data, acts.data, tanh_c.data, w_hh.data
        T, B, H = g_y.shape
        dz = np.empty((T, B, 4 * H), dtype=g_y.dtype)
        steps = _time_steps(T, ctx.reverse)[0]  # step k reads the h_prev that step k − 1 wrote
        dh, dc = grad_h.data + g_y[steps[-1][0]], grad_c.data  # the last step's h is also an output
        for k in reversed(range(T)):  # the forward's steps, last first
            t, prev, _ = steps[k]
            _, dc = backend.lstm_cell_backward(dh, dc, acts[t], cs[prev], tanh_c[t], out=(dz[t], np.empty_like(dc)))
            dh = backend.matmul(dz[t], w_hh_data)
            if k > 0:  # h_prev is also the output of step k − 1
                dh += g_y[steps[k - 1][0]]
        needs = ctx.needs_input_grad
        # z = z_x + z_h: both parts get δz, so b_ih and b_hh have the same gradient, Σ δz summed once
        grad_x, grad_w_ih, grad_w_hh, grad_b, _ = _layer_parameter_grads(
            (needs[0], needs[3], needs[4], needs[5] or needs[6], False), x.data, w_ih.data,
            _previous_states(hs, ctx.reverse), dz, dz)
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
                        reverse: bool = False) -> tuple[Any, Any]:
    """One GRU layer in Tensor ops (the reference for ``GRULayer``, nn.GRU's former path): (output (T, B, H), h_T);
    ``reverse``: the layer on x_T … x_1, its output flipped back to time order."""
    from ..tensor import stack

    if reverse:
        return run_time_reversed(gru_layer_composite, x, h0, w_ih, w_hh, b_ih, b_hh)
    projected = x @ w_ih.T if b_ih is None else x @ w_ih.T + b_ih
    h, outputs = h0, []
    for gates_x in Unbind.apply(projected, dim=0):
        h = GRUCell.apply(gates_x, h @ w_hh.T if b_hh is None else h @ w_hh.T + b_hh, h)
        outputs.append(h)
    return stack(outputs, 0), h


class GRULayer(Function):
    r"""One GRU layer over a whole sequence: x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H),
    biases (3H,) or None, gates in the order r, z, n. Returns (y (T, B, H), h_T).

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
    ``reverse=True``: time runs backwards, as in ``LSTMLayer``.
    Under ``create_graph=True`` backward differentiates ``gru_layer_composite`` instead.
    """

    formula = ("dX^ @ W_ih", "dh_0", "dX^.T @ X", "sum_t dh^_t.T @ h_(t-1)", "sum(dX^)", "sum(dh^)")

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
        _check_layer_shapes("gru_layer", 3, x.shape, w_ih.shape, w_hh.shape, h0=h0.shape)
        for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
            if b is not None and b.shape != (w_hh.shape[0],):
                raise ValueError(f"gru_layer: expected {name} of shape ({w_hh.shape[0]},), got {b.shape}")
        (T, B, _), H = x.shape, w_hh.shape[1]
        projected = _project_inputs(x.data, w_ih.data)
        bias_x, bias_h = (None if b is None else b.data for b in (b_ih, b_hh))
        w_hh_t = np.ascontiguousarray(w_hh.data.T)  # the layout the per-step product reads fastest
        # Buffers for every step: hs as in LSTMLayer; gates_h[t] = h_prev W_hhᵀ and acts[t] = [r | z | n]
        # of time step t are what the cell's backward needs. The cell adds both biases inside its one
        # pass and writes straight into the slices of hs and acts.
        hs = np.empty((T + 1, B, H), dtype=x.dtype)
        gates_h, acts = np.empty((T, B, 3 * H), dtype=x.dtype), np.empty((T, B, 3 * H), dtype=x.dtype)
        steps, first, last = _time_steps(T, reverse)
        hs[first] = h0.data
        for t, prev, new in steps:
            gates_h[t] = backend.matmul(hs[prev], w_hh_t)
            backend.gru_cell(projected[t], gates_h[t], hs[prev], out=(hs[new], acts[t]), bias_x=bias_x, bias_h=bias_h)
        ctx.reverse = reverse
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh, hs, gates_h, acts)
        # copies, not views of what backward reads (see LSTMLayer)
        return _outputs_in_time_order(hs, reverse).copy(), hs[last].copy()

    @staticmethod
    def backward(ctx, grad_y, grad_h):
        x, h0, w_ih, w_hh, b_ih, b_hh, hs, gates_h, acts = ctx.saved_tensors
        if grad_mode.is_grad_enabled():  # create_graph: a differentiable gradient
            composite = functools.partial(gru_layer_composite, reverse=ctx.reverse)
            return _differentiate(composite, ctx, (x, h0, w_ih, w_hh, b_ih, b_hh), (grad_y, grad_h))
        g_y, hs, gates_h, acts, w_hh_data = grad_y.data, hs.data, gates_h.data, acts.data, w_hh.data
        bias_h = None if b_hh is None else b_hh.data
        T = g_y.shape[0]
        d_gates_x, d_gates_h = np.empty_like(gates_h), np.empty_like(gates_h)
        steps = _time_steps(T, ctx.reverse)[0]  # step k reads the h_prev that step k − 1 wrote
        dh, dh_direct = grad_h.data + g_y[steps[-1][0]], np.empty_like(hs[0])  # the last step's h is also an output
        for k in reversed(range(T)):  # the forward's steps, last first
            t, prev, _ = steps[k]
            backend.gru_cell_backward(dh, acts[t], gates_h[t], hs[prev], out=(d_gates_x[t], d_gates_h[t], dh_direct),
                                      bias_h=bias_h)
            dh = backend.matmul(d_gates_h[t], w_hh_data)  # a fresh array, never dh_direct
            dh += dh_direct
            if k > 0:  # h_prev is also the output of step k − 1
                dh += g_y[steps[k - 1][0]]
        needs = ctx.needs_input_grad
        grad_x, grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh = _layer_parameter_grads(
            (needs[0], *needs[2:]), x.data, w_ih.data, _previous_states(hs, ctx.reverse), d_gates_x, d_gates_h)
        return grad_x, _tensor(dh), grad_w_ih, grad_w_hh, grad_b_ih, grad_b_hh


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


def _time_steps(T: int, reverse: bool) -> tuple[list[tuple[int, int, int]], int, int]:
    """The order a layer reads the sequence in, without copying it: ([(t, prev, new) per step], first, last),
    where t indexes x and the per-step buffers, and the states buffer hs (T + 1 rows) holds h_prev in row prev
    and receives h_t in row new; h0 goes in row first, the final state is row last.
    Forward: t = 0 … T−1, h_t in row t + 1 (h0 in row 0). Reverse (the second direction of a bidirectional
    layer, which reads x_T … x_1): t = T−1 … 0, h_t in row t (h0 in row T). Either way hs without the
    h0 row is the output in time order, and hs without the final row lists each step's h_prev."""
    if reverse:
        return [(t, t + 1, t) for t in reversed(range(T))], T, 0
    return [(t, t, t + 1) for t in range(T)], 0, T


def _outputs_in_time_order(hs: np.ndarray, reverse: bool) -> np.ndarray:
    """y (T, B, H) = h_t for t = 1 … T in time order: hs without the h0 row (see _time_steps)."""
    return hs[:-1] if reverse else hs[1:]


def _previous_states(hs: np.ndarray, reverse: bool) -> np.ndarray:
    """(T, B, H): the h_prev that time step t read, in time order (see _time_steps)."""
    return hs[1:] if reverse else hs[:-1]


def _project_inputs(x: np.ndarray, w_ih: np.ndarray) -> np.ndarray:
    """X W_ihᵀ for all T steps as one matrix product of T·B rows: (T, B, I) -> (T, B, G·H); the cells add the biases."""
    T, B, I = x.shape
    return backend.matmul(x.reshape(T * B, I), w_ih.T).reshape(T, B, w_ih.shape[0])


def _layer_parameter_grads(needs: tuple[bool, ...], x: np.ndarray, w_ih: np.ndarray, h_prevs: np.ndarray,
                           d_gates_x: np.ndarray, d_gates_h: np.ndarray) -> tuple[Any, ...]:
    """(∂L/∂x, ∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b_ih, ∂L/∂b_hh) of a recurrent layer after its BPTT loop,
    each None unless ``needs`` says so, from the gradients of the input part x_t W_ihᵀ + b_ih
    (``d_gates_x`` (T, B, G·H)) and of the recurrent part h_prev W_hhᵀ + b_hh (``d_gates_h``) of
    every time step t, and h_prevs (T, B, H), the h_prev of every t: each is one matrix product over all T·B rows.
    """
    (T, B, I), H, width = x.shape, h_prevs.shape[2], d_gates_x.shape[2]
    dx_flat, dh_flat = d_gates_x.reshape(T * B, width), d_gates_h.reshape(T * B, width)
    need_x, need_w_ih, need_w_hh, need_b_ih, need_b_hh = needs
    return (_tensor(backend.matmul(dx_flat, w_ih).reshape(x.shape)) if need_x else None,
            _tensor(backend.matmul(dx_flat.T, x.reshape(T * B, I))) if need_w_ih else None,
            _tensor(backend.matmul(dh_flat.T, h_prevs.reshape(T * B, H))) if need_w_hh else None,
            _tensor(dx_flat.sum(0)) if need_b_ih else None,
            _tensor(dh_flat.sum(0)) if need_b_hh else None)
