"""RNN, LSTM and GRU against PyTorch: parameter names, shapes and init; outputs, final
states and every gradient over num_layers, batch_first, bias, initial states, unbatched
input; the cell formulas written out in NumPy; bad shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_nn_layers import DTYPES, compare_with_torch

import tinygrad_edu as tg
from tinygrad_edu import nn, ops

torch = pytest.importorskip("torch")

KINDS = ["RNN", "RNN_relu", "LSTM", "GRU"]


def _pair(kind: str, *args, **kwargs):
    if kind == "RNN_relu":
        kwargs["nonlinearity"] = "relu"
        kind = "RNN"
    return getattr(nn, kind)(*args, **kwargs), getattr(torch.nn, kind)(*args, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options", [dict(), dict(num_layers=2, batch_first=True), dict(bias=False)], ids=str)
def test_recurrent_matches_torch(kind, options, dtype):
    ours, theirs = _pair(kind, 3, 4, **options)
    rng = np.random.default_rng(0)
    shape = (2, 5, 3) if options.get("batch_first") else (5, 2, 3)
    compare_with_torch(ours, theirs, [rng.standard_normal(shape).astype(dtype)], dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_with_initial_states_matches_torch(kind):
    ours, theirs = _pair(kind, 3, 4, num_layers=2)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 2, 3))
    states = [rng.standard_normal((2, 2, 4)) for _ in range(2 if kind == "LSTM" else 1)]
    theirs = theirs.double()
    ours.double().load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    t_states = [torch.tensor(s, requires_grad=True) for s in states]
    g_states = [tg.tensor(s, requires_grad=True) for s in states]
    t_out, t_final = theirs(torch.tensor(x), tuple(t_states) if kind == "LSTM" else t_states[0])
    g_out, g_final = ours(tg.tensor(x), tuple(g_states) if kind == "LSTM" else g_states[0])
    np.testing.assert_allclose(g_out.data, t_out.detach().numpy(), rtol=1e-7)
    t_final = t_final if isinstance(t_final, tuple) else (t_final,)
    g_final = g_final if isinstance(g_final, tuple) else (g_final,)
    for t, g in zip(t_final, g_final):
        np.testing.assert_allclose(g.data, t.detach().numpy(), rtol=1e-7)
    (t_out.sum() + sum(t.sum() * 0.5 for t in t_final)).backward()
    (g_out.sum() + sum(g.sum() * 0.5 for g in g_final)).backward()
    for t, g in zip(t_states, g_states):
        np.testing.assert_allclose(g.grad.data, t.grad.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_matches_torch(kind):
    ours, theirs = _pair(kind, 3, 4)
    compare_with_torch(ours, theirs, [np.random.default_rng(2).standard_normal((6, 3))], np.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_parameter_names_shapes_init_and_repr_like_torch(kind):
    tg.manual_seed(0)
    ours, theirs = _pair(kind, 5, 20, num_layers=2, batch_first=True)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    bound = 1 / math.sqrt(20)
    values = np.concatenate([p.data.ravel() for p in ours.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.95 * bound
    assert repr(ours) == repr(theirs)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def test_rnn_cell_formula_literally():
    """h_t = tanh(W x_t + U h_{t−1} + b) with W = weight_ih, U = weight_hh, b = b_ih + b_hh."""
    rnn = nn.RNN(3, 4).double()
    x = np.random.default_rng(3).standard_normal((5, 1, 3))
    W, U = rnn.weight_ih_l0.data, rnn.weight_hh_l0.data
    b = rnn.bias_ih_l0.data + rnn.bias_hh_l0.data
    h = np.zeros((1, 4))
    expected = []
    for t in range(5):
        h = np.tanh(x[t] @ W.T + h @ U.T + b)
        expected.append(h)
    out, h_n = rnn(tg.tensor(x))
    np.testing.assert_allclose(out.data, np.stack(expected), rtol=1e-12)
    np.testing.assert_allclose(h_n.data[0], h, rtol=1e-12)


def test_lstm_gate_equations_literally():
    """i, f, g, o from the stacked weights in PyTorch's order; c = f c + i g; h = o tanh(c)."""
    lstm = nn.LSTM(3, 2).double()
    x = np.random.default_rng(4).standard_normal((4, 1, 3))
    W, U = lstm.weight_ih_l0.data, lstm.weight_hh_l0.data
    b = lstm.bias_ih_l0.data + lstm.bias_hh_l0.data
    h, c = np.zeros((1, 2)), np.zeros((1, 2))
    for t in range(4):
        z = x[t] @ W.T + h @ U.T + b
        i, f, g, o = _sigmoid(z[:, 0:2]), _sigmoid(z[:, 2:4]), np.tanh(z[:, 4:6]), _sigmoid(z[:, 6:8])
        c = f * c + i * g
        h = o * np.tanh(c)
    _, (h_n, c_n) = lstm(tg.tensor(x))
    np.testing.assert_allclose(h_n.data[0], h, rtol=1e-12)
    np.testing.assert_allclose(c_n.data[0], c, rtol=1e-12)


def test_recurrent_bad_input_and_options():
    with pytest.raises(ValueError, match=r"LSTM: expected input with last dim 3 .*got shape \(5, 2, 4\)"):
        nn.LSTM(3, 4)(tg.randn(5, 2, 4))
    with pytest.raises(ValueError, match=r"GRU: expected initial state of shape \(1, 2, 4\), got shape \(1, 3, 4\)"):
        nn.GRU(3, 4)(tg.randn(5, 2, 3), tg.randn(1, 3, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


def test_long_sequence_backward_is_linear_in_length():
    """A 300-step LSTM backward runs (no recursion limit, one input-projection matmul)."""
    lstm = nn.LSTM(2, 3)
    out, _ = lstm(tg.randn(300, 1, 2))
    out[-1].sum().backward()
    assert lstm.weight_ih_l0.grad.shape == (12, 2)


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("backend_name", tg.backend.available())
def test_input_dtype_other_than_the_weights_raises_on_every_backend(layer, backend_name):
    # PyTorch raises ValueError here; the C cell kernels would otherwise reject float64 against
    # float32 weights with a message naming the kernel, while the NumPy backend promoted silently
    module = getattr(nn, layer)(3, 4)
    with tg.backend.using(backend_name), pytest.raises(ValueError, match=f"{layer}: input dtype float64 .* float32"):
        module(tg.tensor(np.zeros((2, 1, 3))))


# ---- ops.RNNLayer: nn.RNN's whole layer as one op ------------------------------------------------

TOLERANCE = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}


def _torch_rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity: str, reverse: bool, lengths: list[int]):
    """The layer's definition in torch ops, one sequence at a time over its own length (padded x (T, B, I)):
    h_t = f(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), ``reverse`` reading x_len … x_1. Returns (each sequence's
    outputs (len, H) in time order, h_n (B, H))."""
    act = torch.tanh if nonlinearity == "tanh" else torch.relu
    outputs, finals = [], []
    for b, length in enumerate(lengths):
        h, ys = h0[b], {}
        for t in (reversed(range(length)) if reverse else range(length)):
            pre = x[t, b] @ w_ih.T + h @ w_hh.T
            h = act(pre if b_ih is None else pre + b_ih + b_hh)
            ys[t] = h
        outputs.append(torch.stack([ys[t] for t in range(length)]))
        finals.append(h)
    return outputs, torch.stack(finals)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("lengths", [[4, 4, 4], [4, 3, 3, 1]], ids=["padded", "packed"])
def test_rnn_layer_op_matches_torch(dtype, nonlinearity, reverse, bias, lengths):
    """ops.RNNLayer on a padded batch (lengths all equal, x (T, B, I)) or on packed rows (batch_sizes): y, h_T and
    the gradients w.r.t. x, h0, W_ih, W_hh, b_ih, b_hh against the formula run sequence by sequence in torch."""
    T, B, I, H = max(lengths), len(lengths), 3, 5
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in [(T, B, I), (B, H), (H, I), (H, H), (H,), (H,)]]
    if not bias:
        arrays[4:] = [None, None]
    packed = len(set(lengths)) > 1
    batch_sizes = [sum(length > t for length in lengths) for t in range(T)]
    ours = [None if a is None else tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    x = tg.cat([ours[0][t, :n] for t, n in enumerate(batch_sizes)], 0) if packed else ours[0]
    y, h_n = ops.RNNLayer.apply(x, *ours[1:], nonlinearity=nonlinearity, reverse=reverse,
                                batch_sizes=batch_sizes if packed else None)
    outputs, t_h_n = _torch_rnn_layer(*theirs, nonlinearity, reverse, lengths)
    # y's rows in the packed order: step t's first n_t sequences
    t_y = torch.cat([torch.stack([outputs[b][t] for b in range(n)]) for t, n in enumerate(batch_sizes)])
    assert y.dtype == dtype and h_n.dtype == dtype
    np.testing.assert_allclose(y.data.reshape(-1, H), t_y.detach().numpy(), **TOLERANCE[dtype])
    np.testing.assert_allclose(h_n.data, t_h_n.detach().numpy(), **TOLERANCE[dtype])
    weights = [rng.standard_normal(shape).astype(dtype) for shape in (t_y.shape, t_h_n.shape)]
    ((y.reshape(*t_y.shape) * weights[0]).sum() + (h_n * weights[1]).sum()).backward()
    ((t_y * torch.tensor(weights[0])).sum() + (t_h_n * torch.tensor(weights[1])).sum()).backward()
    for name, o, t in zip(["x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"], ours, theirs):
        if o is not None:
            assert o.grad.dtype == dtype, name
            np.testing.assert_allclose(o.grad.data, t.grad.numpy(), err_msg=name, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_rnn_two_bidirectional_layers_batch_first_match_torch(dtype, nonlinearity, bias):
    """nn.RNN with every option at once (2 layers, bidirectional, batch_first, h0 given): outputs, h_n, the
    gradients w.r.t. the input, h0 and every parameter."""
    ours, theirs = _pair("RNN", 3, 4, num_layers=2, bidirectional=True, batch_first=True, bias=bias,
                         nonlinearity=nonlinearity)
    rng = np.random.default_rng(12)
    inputs = [rng.standard_normal((2, 5, 3)).astype(dtype), rng.standard_normal((4, 2, 4)).astype(dtype)]
    compare_with_torch(ours, theirs, inputs, dtype)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("batch_sizes", [None, [3, 2, 1]], ids=["padded", "packed"])
def test_rnn_layer_gradcheck_and_gradgradcheck(nonlinearity, reverse, batch_sizes):
    """Finite differences: the first-order BPTT of the op and, through the composite, the second order."""
    rng = np.random.default_rng(13)
    x_shape = (6, 2) if batch_sizes else (3, 3, 2)
    arrays = [rng.standard_normal(shape) for shape in [x_shape, (3, 3), (3, 2), (3, 3), (3,), (3,)]]
    leaves = [tg.tensor(a, requires_grad=True) for a in arrays]

    def layer(*args):
        return ops.RNNLayer.apply(*args, nonlinearity=nonlinearity, reverse=reverse, batch_sizes=batch_sizes)

    assert tg.autograd.gradcheck(layer, leaves)
    assert tg.autograd.gradgradcheck(layer, leaves)


def test_rnn_node_names_as_torch():
    """nn.RNN's output node has torch's name: StackBackward0 padded, CatBackward0 bidirectional or packed."""
    x = np.random.default_rng(14).standard_normal((4, 2, 3))
    for options, lengths in [(dict(), None), (dict(bidirectional=True), None), (dict(), [4, 2])]:
        names = []
        for lib, module in zip((tg, torch), _pair("RNN", 3, 4, **options)):
            leaf = lib.tensor(x, requires_grad=True)
            if lengths:
                pack = nn.utils.rnn.pack_padded_sequence if lib is tg else torch.nn.utils.rnn.pack_padded_sequence
                out, h_n = module.double()(pack(leaf, lengths))
                out = out.data
            else:
                out, h_n = module.double()(leaf)
            names.append((out.grad_fn.name(), h_n.grad_fn.name()))
        assert names[0] == names[1], (options, lengths)


def test_rnn_layer_bad_arguments_name_the_op():
    x, h0, w_ih, w_hh, b = tg.zeros(2, 1, 3), tg.zeros(1, 4), tg.zeros(4, 3), tg.zeros(4, 4), tg.zeros(4)
    with pytest.raises(ValueError, match="rnn_layer: unknown nonlinearity 'gelu'"):
        ops.RNNLayer.apply(x, h0, w_ih, w_hh, b, b, nonlinearity="gelu")
    with pytest.raises(ValueError, match="rnn_layer: give both biases"):
        ops.RNNLayer.apply(x, h0, w_ih, w_hh, b, None)
    with pytest.raises(ValueError, match=r"rnn_layer: expected b_hh of shape \(4,\), got \(1,\)"):
        ops.RNNLayer.apply(x, h0, w_ih, w_hh, b, tg.zeros(1))
    with pytest.raises(ValueError, match=r"rnn_layer: expected x \(T ≥ 1, B, I\), h0 \(B, H\).*got x \(2, 1, 3\), "
                                         r"h0 \(2, 4\)"):
        ops.RNNLayer.apply(x, tg.zeros(2, 4), w_ih, w_hh, b, b)
