"""Bidirectional RNN, LSTM and GRU against PyTorch: torch's state_dict loads (same keys, order
and shapes), outputs (T, B, 2H), h_n / c_n (num_layers·2, B, H) and the gradients of x, h0, c0
and every parameter, in float64 (tight) and float32, on every backend, over num_layers 1 and 2,
batch_first, bias=False, sequence length 1, unbatched input and dropout between layers; grad-of-grad."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_lstm_fused import _assert_all_close, _outputs_and_grads, _tensors, assert_nn_gradgrad_matches_torch
from test_nn_layers import DTYPES, compare_with_torch

import tinygrad_edu as tg
from tinygrad_edu import nn, ops

torch = pytest.importorskip("torch")

KINDS = ["RNN", "LSTM", "GRU"]
INPUT, HIDDEN, BATCH = 3, 4, 2


class _WithStates(nn.Module):
    """``rnn(x, h0)`` (LSTM: ``rnn(x, (h0, c0))``) with the states as separate arguments, so that
    compare_with_torch checks their gradients like the input's."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h0, c0=None):
        return self.rnn(x, h0 if c0 is None else (h0, c0))


class _TorchWithStates(torch.nn.Module):
    """The same wrapper around the torch layer (the same parameter names: ``rnn.…``)."""

    def __init__(self, rnn: torch.nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h0, c0=None):
        return self.rnn(x, h0 if c0 is None else (h0, c0))


def _pair(kind: str, **options):
    return (getattr(nn, kind)(INPUT, HIDDEN, bidirectional=True, **options),
            getattr(torch.nn, kind)(INPUT, HIDDEN, bidirectional=True, **options))


def _input(steps: int, batch_first: bool, dtype, seed: int = 0) -> np.ndarray:
    shape = (BATCH, steps, INPUT) if batch_first else (steps, BATCH, INPUT)
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("options, steps", [(dict(), 5), (dict(num_layers=2, batch_first=True), 5),
                                            (dict(num_layers=2, bias=False), 4), (dict(num_layers=2), 1)],
                         ids=["l1", "l2-batch_first", "l2-no_bias", "l2-seq1"])
def test_bidirectional_matches_torch(kind, options, steps, dtype, backend):
    ours, theirs = _pair(kind, **options)
    compare_with_torch(ours, theirs, [_input(steps, options.get("batch_first", False), dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_bidirectional_with_initial_states_matches_torch(kind, batch_first, dtype, backend):
    ours, theirs = _pair(kind, num_layers=2, batch_first=batch_first)
    rng = np.random.default_rng(3)
    states = [rng.standard_normal((2 * 2, BATCH, HIDDEN)).astype(dtype) for _ in range(2 if kind == "LSTM" else 1)]
    compare_with_torch(_WithStates(ours), _TorchWithStates(theirs), [_input(4, batch_first, dtype), *states], dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_unbatched_input_with_states_matches_torch(kind, backend):
    ours, theirs = _pair(kind, num_layers=2)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, INPUT))
    states = [rng.standard_normal((2 * 2, HIDDEN)) for _ in range(2 if kind == "LSTM" else 1)]
    compare_with_torch(_WithStates(ours), _TorchWithStates(theirs), [x, *states], np.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_acts_between_layers_as_in_torch(kind):
    # p = 1 zeroes layer 0's whole output, so layer 1 reads zeros in both libraries: a deterministic
    # check that dropout sits after the concatenated [forward | reverse] output and not after the last layer.
    ours, theirs = _pair(kind, num_layers=2, dropout=1.0)
    compare_with_torch(ours.train(), theirs.train(), [_input(3, False, np.float64)], np.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_parameters_init_and_repr_like_torch(kind):
    tg.manual_seed(0)
    ours, theirs = _pair(kind, num_layers=2, batch_first=True, dropout=0.25)
    # names, registration order and shapes: l0, l0_reverse, l1 (input 2H), l1_reverse
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert ours.weight_ih_l1_reverse.shape == (ours.gates * HIDDEN, 2 * HIDDEN)
    bound = 1 / math.sqrt(HIDDEN)
    values = np.concatenate([p.data.ravel() for p in ours.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    assert repr(ours) == repr(theirs)


def test_reverse_direction_reads_the_sequence_backwards():
    # The reverse half at step t depends only on x_t … x_T: changing x_0 leaves it unchanged at t ≥ 1
    # and changes the forward half everywhere.
    rnn = nn.GRU(INPUT, HIDDEN, bidirectional=True).double()
    x = _input(4, False, np.float64)
    changed = x.copy()
    changed[0] += 1.0
    (y, _), (y_changed, _) = rnn(tg.tensor(x)), rnn(tg.tensor(changed))
    np.testing.assert_array_equal(y.data[1:, :, HIDDEN:], y_changed.data[1:, :, HIDDEN:])
    assert np.all(np.abs(y.data[:, :, :HIDDEN] - y_changed.data[:, :, :HIDDEN]).max(axis=(1, 2)) > 0)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_initial_state_of_unidirectional_shape_raises(kind):
    rnn = getattr(nn, kind)(INPUT, HIDDEN, num_layers=2, bidirectional=True)
    h0 = tg.zeros(2, BATCH, HIDDEN)
    message = rf"{kind}: expected initial state of shape \(4, 2, 4\), got shape \(2, 2, 4\)"
    with pytest.raises(ValueError, match=message):
        rnn(tg.zeros(5, BATCH, INPUT), (h0, h0) if kind == "LSTM" else h0)


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_gradgrad_matches_torch(kind):
    # create_graph through the flips (index ops) and both directions' layer ops
    assert_nn_gradgrad_matches_torch(kind, bidirectional=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("kind, gates", [("LSTM", 4), ("GRU", 3)])
@pytest.mark.parametrize("steps", [1, 5])
def test_layer_op_reverse_equals_the_layer_on_the_flipped_sequence(kind, gates, steps, dtype, backend):
    """LSTMLayer / GRULayer(reverse=True), which walk time backwards without copying x, equal the
    forward layer op on x_T … x_1 with its output flipped back: outputs, final states and every gradient."""
    layer = ops.LSTMLayer if kind == "LSTM" else ops.GRULayer
    states = [(BATCH, HIDDEN)] * (2 if kind == "LSTM" else 1)
    shapes = [(steps, BATCH, INPUT), *states, (gates * HIDDEN, INPUT), (gates * HIDDEN, HIDDEN),
              (gates * HIDDEN,), (gates * HIDDEN,)]
    inputs = _tensors(np.random.default_rng(steps), shapes, dtype, scale=0.8)

    def reversed_op(x, *rest):
        return layer.apply(x, *rest, reverse=True)

    def flipped(x, *rest):
        y, *finals = layer.apply(x[::-1], *rest)
        return (y[::-1], *finals)

    actual, expected = _outputs_and_grads(reversed_op, inputs), _outputs_and_grads(flipped, inputs)
    _assert_all_close(actual[0] + actual[1], expected[0] + expected[1], dtype)
