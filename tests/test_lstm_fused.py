"""The fused LSTM ops (ops/recurrent.py) against their Tensor-op composites and against PyTorch.

* ``LSTMCell`` (one fused kernel per pass) == ``lstm_cell_composite`` (σ, tanh, products as
  separate Tensor ops): outputs and gradients, float64 and float32, both backends;
* ``LSTMLayer`` (the whole sequence in one node, BPTT written out) == ``lstm_layer_composite``;
* ``nn.LSTM`` (built on LSTMLayer) == ``torch.nn.LSTM``: output, (h_n, c_n) and the gradient of
  every parameter, the input and the initial states, float64 tight and float32 loose, one and
  several layers, ``batch_first`` both ways, initial states given or not, bias or not;
* grad-of-grad (``create_graph=True``) through the cell and through nn.LSTM vs torch;
* ``GRUCell`` (nn.GRU's fused step) == ``gru_cell_composite``, and its grad-of-grad vs torch.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, ops
from tinygrad_edu.autograd import engine
from tinygrad_edu.ops.recurrent import gru_cell_composite, lstm_cell_composite, lstm_layer_composite

torch = pytest.importorskip("torch")

TOLERANCE = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def _tensors(rng: np.random.Generator, shapes, dtype, scale: float = 1.0) -> list[tg.Tensor]:
    return [tg.tensor((rng.standard_normal(s) * scale).astype(dtype), requires_grad=True) for s in shapes]


def _outputs_and_grads(fn, inputs: list[tg.Tensor], seed: int = 0):
    """fn(*inputs) and the gradient of Σ_k Σ(out_k ⊙ w_k) (random weights w_k) w.r.t. every input."""
    outs = fn(*inputs)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    rng = np.random.default_rng(seed)
    weights = [tg.tensor(rng.standard_normal(o.shape).astype(o.dtype)) for o in outs]
    grads = engine.grad(outs, inputs, weights, allow_unused=True)
    return [o.data for o in outs], [g.data for g in grads]


def _assert_all_close(actual: list[np.ndarray], expected: list[np.ndarray], dtype) -> None:
    assert len(actual) == len(expected)
    for k, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == e.dtype == dtype, f"item {k}: dtype {a.dtype} vs {e.dtype}"
        np.testing.assert_allclose(a, e, err_msg=f"item {k}", **TOLERANCE[dtype])


# ---- fused == composite ------------------------------------------------------------------


@DTYPES
@pytest.mark.parametrize("batch, hidden", [(1, 1), (3, 5), (4, 17), (2, 32)])
def test_lstm_cell_fused_equals_composite(backend, dtype, batch, hidden):
    rng = np.random.default_rng(batch * 100 + hidden)
    inputs = _tensors(rng, [(batch, 4 * hidden), (batch, hidden)], dtype, scale=3.0)
    fused = _outputs_and_grads(lambda z, c: ops.LSTMCell.apply(z, c), inputs)
    composite = _outputs_and_grads(lstm_cell_composite, inputs)
    _assert_all_close(fused[0] + fused[1], composite[0] + composite[1], dtype)


@DTYPES
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_layer_fused_equals_composite(backend, dtype, bias):
    T, B, I, H = 6, 3, 4, 7
    rng = np.random.default_rng(7)
    shapes = [(T, B, I), (B, H), (B, H), (4 * H, I), (4 * H, H)] + ([(4 * H,), (4 * H,)] if bias else [])
    inputs = _tensors(rng, shapes, dtype, scale=0.8)
    layer = (lambda *a: ops.LSTMLayer.apply(*a)) if bias else (lambda *a: ops.LSTMLayer.apply(*a, None, None))
    composite = lstm_layer_composite if bias else (lambda *a: lstm_layer_composite(*a, None, None))
    fused = _outputs_and_grads(layer, inputs)
    expected = _outputs_and_grads(composite, inputs)
    _assert_all_close(fused[0] + fused[1], expected[0] + expected[1], dtype)


def test_lstm_layer_saved_output_is_not_shared_with_the_final_states():
    """h_n and c_n are copies: changing them (under no_grad) leaves the output and backward intact."""
    rng = np.random.default_rng(3)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _tensors(rng, [(3, 2, 2), (2, 3), (2, 3), (12, 2), (12, 3), (12,), (12,)],
                                                 np.float64)
    y, h, _ = ops.LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    before = y.data.copy()
    h.data[...] = 0
    np.testing.assert_array_equal(y.data, before)


def test_lstm_layer_output_changed_in_place_leaves_backward_intact(backend):
    """y is not a view of the buffers backward reads: filling it (under no_grad, as a user may)
    must not change the gradients, as in PyTorch."""
    rng = np.random.default_rng(4)
    shapes = [(3, 2, 2), (2, 3), (2, 3), (12, 2), (12, 3), (12,), (12,)]
    values = [t.data for t in _tensors(rng, shapes, np.float64)]

    def grads(fill_output: bool) -> list[np.ndarray]:
        inputs = [tg.tensor(v.copy(), requires_grad=True) for v in values]
        y, h, c = ops.LSTMLayer.apply(*inputs)
        if fill_output:
            with tg.no_grad():
                y.fill_(0.0)
        (h.sum() + c.sum()).backward()
        return [t.grad.data for t in inputs]

    for changed, untouched in zip(grads(True), grads(False)):
        np.testing.assert_array_equal(changed, untouched)


@pytest.mark.parametrize("module", [nn.LSTM, nn.GRU])
def test_float16_runs_the_reference_cell_and_is_close_to_float32(backend, module):
    """float16 has no C cell kernel: the C backend hands it to the NumPy reference (no error), as before fusion."""
    tg.manual_seed(5)
    net = module(3, 4)
    x = np.random.default_rng(5).standard_normal((5, 2, 3))
    results = {}
    for dtype in (np.float32, np.float16):
        for p in net.parameters():
            p.data, p.grad = p.data.astype(dtype), None
        xt = tg.tensor(x.astype(dtype), requires_grad=True)
        y, _ = net(xt)
        y.sum().backward()
        assert y.dtype == xt.grad.dtype == dtype
        results[dtype] = (y.detach().numpy(), xt.grad.numpy())
    for half, single in zip(results[np.float16], results[np.float32]):
        np.testing.assert_allclose(half.astype(np.float32), single, rtol=2e-2, atol=5e-3)


@DTYPES
@pytest.mark.parametrize("batch, hidden", [(1, 1), (3, 5), (4, 17)])
def test_gru_cell_fused_equals_composite(backend, dtype, batch, hidden):
    rng = np.random.default_rng(batch * 10 + hidden)
    inputs = _tensors(rng, [(batch, 3 * hidden), (batch, 3 * hidden), (batch, hidden)], dtype, scale=2.0)
    fused = _outputs_and_grads(lambda x, h, p: ops.GRUCell.apply(x, h, p), inputs)
    composite = _outputs_and_grads(gru_cell_composite, inputs)
    _assert_all_close(fused[0] + fused[1], composite[0] + composite[1], dtype)


# ---- nn.LSTM vs torch.nn.LSTM ----------------------------------------------------------------


def _module_pair(kind: str, dtype, **options):
    """nn.<kind> and torch.nn.<kind> (kind "LSTM" or "GRU") with the same parameters, in ``dtype``."""
    theirs = getattr(torch.nn, kind)(**options)
    theirs = theirs.double() if dtype == np.float64 else theirs
    ours = getattr(nn, kind)(**options)
    ours = ours.double() if dtype == np.float64 else ours
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@DTYPES
@pytest.mark.parametrize("options", [
    dict(input_size=5, hidden_size=8),
    dict(input_size=5, hidden_size=8, batch_first=True),
    dict(input_size=3, hidden_size=6, num_layers=3, batch_first=True),
    dict(input_size=4, hidden_size=9, num_layers=2, bias=False),
], ids=["1-layer", "batch_first", "3-layers-batch_first", "2-layers-no-bias"])
@pytest.mark.parametrize("with_states", [False, True], ids=["zero-states", "given-states"])
def test_nn_lstm_matches_torch_outputs_and_every_gradient(backend, dtype, options, with_states):
    T, B = 7, 4
    L, H = options.get("num_layers", 1), options["hidden_size"]
    ours, theirs = _module_pair("LSTM", dtype, **options)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((B, T, options["input_size"]) if options.get("batch_first") else
                            (T, B, options["input_size"])).astype(dtype)
    states = [rng.standard_normal((L, B, H)).astype(dtype) for _ in range(2)]
    g_x, t_x = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g_states = [tg.tensor(s, requires_grad=True) for s in states]
    t_states = [torch.tensor(s, requires_grad=True) for s in states]
    g_out, (g_h, g_c) = ours(g_x, tuple(g_states) if with_states else None)
    t_out, (t_h, t_c) = theirs(t_x, tuple(t_states) if with_states else None)
    weights = [rng.standard_normal(o.shape).astype(dtype) for o in (g_out, g_h, g_c)]
    sum(((o * w).sum() for o, w in zip((g_out, g_h, g_c), weights)), tg.tensor(0.0, dtype=dtype)).backward()
    sum((o * torch.from_numpy(w)).sum() for o, w in zip((t_out, t_h, t_c), weights)).backward()

    actual = [g_out.data, g_h.data, g_c.data, g_x.grad.data]
    expected = [t_out.detach().numpy(), t_h.detach().numpy(), t_c.detach().numpy(), t_x.grad.numpy()]
    if with_states:
        actual += [s.grad.data for s in g_states]
        expected += [s.grad.numpy() for s in t_states]
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        actual.append(p.grad.data)
        expected.append(t_params[name].grad.numpy())
    _assert_all_close(actual, expected, dtype)


def test_nn_lstm_benchmark_shape_float32_matches_torch():
    """The issue's model size (28 → 128, T = 28, batch_first), on a smaller batch, in float32."""
    ours, theirs = _module_pair("LSTM", np.float32, input_size=28, hidden_size=128, batch_first=True)
    x = np.random.default_rng(5).standard_normal((8, 28, 28)).astype(np.float32)
    g_x, t_x = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g_out, _ = ours(g_x)
    t_out, _ = theirs(t_x)
    g_out[:, -1].sum().backward()
    t_out[:, -1].sum().backward()
    np.testing.assert_allclose(g_out.data, t_out.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g_x.grad.data, t_x.grad.numpy(), rtol=1e-3, atol=1e-5)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, t_params[name].grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name)


# ---- grad-of-grad --------------------------------------------------------------------------


def _second_order(lib, fn, arrays):
    """g = ∂Σ(fn(inputs)⊙w)/∂inputs with create_graph, then ∂(Σ_k Σ g_k²)/∂inputs."""
    inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
    outs = fn(*inputs)
    outs = list(outs) if isinstance(outs, tuple) else [outs]
    rng = np.random.default_rng(1)
    weights = [lib.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
    grad = engine.grad if lib is tg else torch.autograd.grad
    firsts = grad(outs, inputs, weights, create_graph=True)
    total = sum((g * g).sum() for g in firsts)
    seconds = grad([total] if lib is tg else total, inputs)
    return [np.asarray(g.data if lib is tg else g.detach().numpy()) for g in list(firsts) + list(seconds)]


def test_lstm_cell_gradgrad_matches_torch(backend):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((3, 20)) * 2, rng.standard_normal((3, 5))]
    ours = _second_order(tg, lambda z, c: ops.LSTMCell.apply(z, c), arrays)
    theirs = _second_order(torch, lstm_cell_composite, arrays)
    _assert_all_close(ours, theirs, np.float64)


def test_gru_cell_gradgrad_matches_torch(backend):
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal((3, 12)) * 2, rng.standard_normal((3, 12)), rng.standard_normal((3, 4))]
    ours = _second_order(tg, lambda x, h, p: ops.GRUCell.apply(x, h, p), arrays)
    theirs = _second_order(torch, gru_cell_composite, arrays)
    _assert_all_close(ours, theirs, np.float64)


def assert_nn_gradgrad_matches_torch(kind: str, **options) -> None:
    """create_graph through a whole-sequence op (its backward then differentiates the composite):
    the gradient of Σ(first gradients²) w.r.t. every parameter of a 2-layer nn.<kind> (built with
    ``options``) == torch."""
    ours, theirs = _module_pair(kind, np.float64, input_size=3, hidden_size=4, num_layers=2, **options)
    x = np.random.default_rng(4).standard_normal((5, 2, 3))
    t_params = dict(theirs.named_parameters())
    names = [name for name, _ in ours.named_parameters()]

    def total(lib, module, params):
        xt = lib.tensor(x, requires_grad=True)
        out, _ = module(xt)
        grad = engine.grad if lib is tg else torch.autograd.grad
        first = grad([(out * out).sum()] if lib is tg else (out * out).sum(), [xt, *params], create_graph=True)
        return sum((g * g).sum() for g in first)

    g_params = [p for _, p in ours.named_parameters()]
    engine.backward([total(tg, ours, g_params)], [None])
    torch_params = [t_params[n] for n in names]
    total(torch, theirs, torch_params).backward()
    _assert_all_close([p.grad.data for p in g_params], [p.grad.numpy() for p in torch_params], np.float64)


def test_nn_lstm_gradgrad_matches_torch():
    assert_nn_gradgrad_matches_torch("LSTM")


# ---- edge cases and errors --------------------------------------------------------------------


def test_nn_lstm_empty_batch_and_single_step(backend):
    """Batch 0 gives empty outputs and zero weight gradients (as PyTorch); T = 1 matches PyTorch."""
    ours, theirs = _module_pair("LSTM", np.float64, input_size=3, hidden_size=4)
    x = tg.tensor(np.zeros((5, 0, 3)), requires_grad=True)
    out, (h, c) = ours(x)
    assert out.shape == (5, 0, 4) and h.shape == c.shape == (1, 0, 4)
    out.sum().backward()
    assert x.grad.shape == (5, 0, 3) and not ours.weight_hh_l0.grad.data.any()
    one = np.random.default_rng(6).standard_normal((1, 2, 3))
    np.testing.assert_allclose(ours(tg.tensor(one))[0].data, theirs(torch.tensor(one))[0].detach().numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: ops.LSTMCell.apply(tg.zeros(2, 8), tg.zeros(2, 3)), r"lstm_cell: .*gates \(2, 8\) and c_prev \(2, 3\)"),
    (lambda: ops.LSTMCell.apply(tg.zeros(8), tg.zeros(2)), r"lstm_cell: .*gates \(8,\) and c_prev \(2,\)"),
    (lambda: ops.LSTMLayer.apply(tg.zeros(2, 3), tg.zeros(2, 4), tg.zeros(2, 4), tg.zeros(16, 3), tg.zeros(16, 4),
                                 None, None), r"lstm_layer: .*got x \(2, 3\)"),
    (lambda: ops.LSTMLayer.apply(tg.zeros(0, 2, 3), tg.zeros(2, 4), tg.zeros(2, 4), tg.zeros(16, 3),
                                 tg.zeros(16, 4), None, None), r"lstm_layer: expected x \(T ≥ 1"),
    (lambda: ops.LSTMLayer.apply(tg.zeros(5, 2, 3), tg.zeros(2, 4), tg.zeros(2, 4), tg.zeros(16, 2),
                                 tg.zeros(16, 4), None, None), r"lstm_layer: .*weight_ih \(16, 2\)"),
    (lambda: ops.LSTMLayer.apply(tg.zeros(5, 2, 3), tg.zeros(3, 4), tg.zeros(2, 4), tg.zeros(16, 3),
                                 tg.zeros(16, 4), None, None), r"lstm_layer: .*h0 \(3, 4\)"),
    (lambda: ops.LSTMLayer.apply(tg.zeros(5, 2, 3), tg.zeros(2, 4), tg.zeros(2, 4), tg.zeros(16, 3),
                                 tg.zeros(16, 4), tg.zeros(16), None), r"lstm_layer: give both biases"),
], ids=["cell-hidden", "cell-1d", "layer-2d", "layer-empty-sequence", "layer-weight", "layer-h0", "layer-one-bias"])
def test_bad_shapes_raise_value_error_naming_the_op(backend, call, message):
    with pytest.raises(ValueError, match=message):
        call()
