"""The whole-sequence GRU op (ops/recurrent.py ``GRULayer``) against its Tensor-op composite and PyTorch.

* ``GRULayer`` (one node, BPTT written out) == ``gru_layer_composite`` (nn.GRU's former path:
  one ``GRUCell`` node per step): outputs and every gradient, float64 and float32, both backends;
* ``nn.GRU`` (built on GRULayer) == ``torch.nn.GRU``: output, h_n and the gradient of the input,
  the initial state and every weight and bias, float64 tight and float32 loose, one and two
  layers, ``batch_first``, bias or not, a single time step, initial state given or not;
* grad-of-grad (``create_graph=True``): GRULayer == its composite, nn.GRU == torch;
* errors: mixed input/weight dtypes, bad shapes (bidirectional: tests/test_nn_bidirectional.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from op_table import _torch_gru_layer
from test_lstm_fused import (
    _assert_all_close,
    _module_pair,
    _outputs_and_grads,
    _second_order,
    _tensors,
    assert_nn_gradgrad_matches_torch,
)

import tinygrad_edu as tg
from tinygrad_edu import nn, ops
from tinygrad_edu.ops.recurrent import gru_cell_composite, gru_layer_composite

torch = pytest.importorskip("torch")

DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def _layer_inputs(dtype, T: int = 6, B: int = 3, I: int = 4, H: int = 7, seed: int = 7) -> list[tg.Tensor]:
    rng = np.random.default_rng(seed)
    return _tensors(rng, [(T, B, I), (B, H), (3 * H, I), (3 * H, H), (3 * H,), (3 * H,)], dtype, scale=0.8)


@DTYPES
@pytest.mark.parametrize("has_b_ih, has_b_hh", [(True, True), (False, False), (True, False), (False, True)],
                         ids=["both-biases", "no-bias", "b_ih-only", "b_hh-only"])
@pytest.mark.parametrize("steps", [1, 6])
def test_gru_layer_fused_equals_composite(backend, dtype, has_b_ih, has_b_hh, steps):
    x, h0, w_ih, w_hh, b_ih, b_hh = _layer_inputs(dtype, T=steps)
    args = [x, h0, w_ih, w_hh, b_ih if has_b_ih else None, b_hh if has_b_hh else None]
    given = [a for a in args if a is not None]  # the inputs the gradients are taken w.r.t.

    def call(layer):
        def run(*tensors):
            supplied = iter(tensors)
            return layer(*(None if a is None else next(supplied) for a in args))
        return run

    fused = _outputs_and_grads(call(ops.GRULayer.apply), given)
    expected = _outputs_and_grads(call(gru_layer_composite), given)
    _assert_all_close(fused[0] + fused[1], expected[0] + expected[1], dtype)


def test_gru_layer_output_changed_in_place_leaves_backward_intact(backend):
    """y and h_T are copies, not views of the buffers backward reads (as LSTMLayer)."""
    values = [t.data for t in _layer_inputs(np.float64)]

    def grads(fill_output: bool) -> list[np.ndarray]:
        inputs = [tg.tensor(v.copy(), requires_grad=True) for v in values]
        y, h = ops.GRULayer.apply(*inputs)
        if fill_output:
            with tg.no_grad():
                y.fill_(0.0)
        (h.sum() * 2).backward()
        return [t.grad.data for t in inputs]

    for changed, untouched in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(changed, untouched)


# ---- nn.GRU vs torch.nn.GRU ---------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("options, steps", [
    (dict(input_size=5, hidden_size=8), 7),
    (dict(input_size=5, hidden_size=8, batch_first=True), 7),
    (dict(input_size=3, hidden_size=6, num_layers=2, batch_first=True), 7),
    (dict(input_size=4, hidden_size=9, num_layers=2, bias=False), 7),
    (dict(input_size=4, hidden_size=5), 1),
], ids=["1-layer", "batch_first", "2-layers-batch_first", "2-layers-no-bias", "one-step"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_nn_gru_matches_torch_outputs_and_every_gradient(backend, dtype, options, steps, with_state):
    B, L, H = 4, options.get("num_layers", 1), options["hidden_size"]
    ours, theirs = _module_pair("GRU", dtype, **options)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((B, steps, options["input_size"]) if options.get("batch_first") else
                            (steps, B, options["input_size"])).astype(dtype)
    h0 = rng.standard_normal((L, B, H)).astype(dtype)
    g_x, t_x = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g_h0, t_h0 = tg.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
    g_out, g_h = ours(g_x, g_h0 if with_state else None)
    t_out, t_h = theirs(t_x, t_h0 if with_state else None)
    w_out, w_h = (rng.standard_normal(o.shape).astype(dtype) for o in (g_out, g_h))
    ((g_out * tg.tensor(w_out)).sum() + (g_h * tg.tensor(w_h)).sum()).backward()
    ((t_out * torch.from_numpy(w_out)).sum() + (t_h * torch.from_numpy(w_h)).sum()).backward()

    actual = [g_out.data, g_h.data, g_x.grad.data] + ([g_h0.grad.data] if with_state else [])
    expected = [t_out.detach().numpy(), t_h.detach().numpy(), t_x.grad.numpy()] + \
        ([t_h0.grad.numpy()] if with_state else [])
    t_params = dict(theirs.named_parameters())
    names = [name for name, _ in ours.named_parameters()]
    assert names == list(t_params)
    actual += [p.grad.data for _, p in ours.named_parameters()]
    expected += [t_params[name].grad.numpy() for name in names]
    _assert_all_close(actual, expected, dtype)


# ---- grad-of-grad ------------------------------------------------------------------------------


def test_gru_layer_gradgrad_matches_composite_and_torch(backend):
    """create_graph: GRULayer's backward differentiates the composite; both == the same cell chain in torch."""
    arrays = [t.data for t in _layer_inputs(np.float64, T=4, B=2, I=3, H=4)]
    fused = _second_order(tg, lambda *a: ops.GRULayer.apply(*a), arrays)
    composite = _second_order(tg, gru_layer_composite, arrays)
    _assert_all_close(fused, composite, np.float64)

    _assert_all_close(fused, _second_order(torch, _torch_gru_layer, arrays), np.float64)


def test_gru_cell_gradgrad_with_gates_h_computed_from_h_prev(backend):
    """gates_h = h_prev W_hhᵀ: an input of GRUCell that depends on another. The create_graph
    gradient w.r.t. h_prev must not count the path through gates_h twice."""
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal((2, 9)), rng.standard_normal((2, 3)), rng.standard_normal((9, 3))]

    def cell(lib_apply):
        return lambda gx, h, w: lib_apply(gx, h @ w.T, h)

    ours = _second_order(tg, cell(ops.GRUCell.apply), arrays)
    theirs = _second_order(torch, cell(gru_cell_composite), arrays)
    _assert_all_close(ours, theirs, np.float64)


def test_nn_gru_gradgrad_matches_torch():
    assert_nn_gradgrad_matches_torch("GRU")


# ---- errors ------------------------------------------------------------------------------------


def test_nn_gru_refuses_mixed_input_and_weight_dtypes(backend):
    net = nn.GRU(3, 4)  # float32 weights
    with pytest.raises(ValueError, match=r"GRU: input dtype float64 does not match the weight dtype float32"):
        net(tg.tensor(np.zeros((5, 2, 3))))


@pytest.mark.parametrize("shapes, message", [
    ([(2, 3), (2, 4), (12, 3), (12, 4)], r"gru_layer: .*got x \(2, 3\)"),
    ([(0, 2, 3), (2, 4), (12, 3), (12, 4)], r"gru_layer: expected x \(T ≥ 1"),
    ([(5, 2, 3), (2, 4), (16, 3), (16, 4)], r"gru_layer: .*weight_ih \(3H, I\).*weight_ih \(16, 3\)"),
    ([(5, 2, 3), (3, 4), (12, 3), (12, 4)], r"gru_layer: .*h0 \(3, 4\)"),
    ([(5, 2, 3), (2, 4), (12, 3), (12, 4), (16,), (12,)], r"gru_layer: expected b_ih of shape \(12,\), got \(16,\)"),
], ids=["2d-input", "empty-sequence", "lstm-sized-weights", "h0", "bias"])
def test_gru_layer_bad_shapes_raise_value_error_naming_the_op(backend, shapes, message):
    arrays = [tg.zeros(*s) for s in shapes] + [None] * (6 - len(shapes))
    with pytest.raises(ValueError, match=message):
        ops.GRULayer.apply(*arrays)

