"""The C LSTM (and GRU) cell kernels (csrc/lstm.c) against the NumPy reference (backend/numpy_ref.py).

``numpy_ref.lstm_cell`` / ``lstm_cell_backward`` are the definition of correct, and are
themselves checked here against the gate formulas written out in NumPy. The C kernels must
agree on shapes drawn by hypothesis (B = 1, H = 1, odd H, H not a multiple of any vector
width), in float32 and float64, at every instruction-set level this CPU has (the cell's σ and
tanh are vectorised by hand: AVX-512, AVX2 and SSE2 variants), with pre-activations up to ±50
(and ±1000, where σ saturates), non-contiguous inputs and ``out=`` buffers; bad dtypes, shapes
and ``out`` arrays raise ValueError naming the op and the shapes before C runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kernels_conv import ISA_LEVELS, forced_isa, pytestmark  # noqa: F401 - the skip marker applies here too

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

# |C − NumPy| ≤ TOL·(1 + |NumPy|): a few units in the last place of each type
TOL = {np.float32: 1e-6, np.float64: 1e-14}


def tol_for(dtype) -> float:
    return TOL[np.dtype(dtype).type]


def _assert_close(actual: np.ndarray, expected: np.ndarray, dtype, magnitude: float = 1.0) -> None:
    """Equal within TOL, in absolute terms TOL·``magnitude`` where values are sums of terms that large."""
    assert actual.dtype == expected.dtype == dtype and actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype], atol=TOL[dtype] * max(1.0, magnitude))


def _cell_inputs(rng: np.random.Generator, batch: int, hidden: int, scale: float, dtype) -> tuple[np.ndarray, ...]:
    """Pre-activations ~ N(0, scale²) with the extremes ±50 and 0 planted, c_prev, dh, dc."""
    gates = rng.standard_normal((batch, 4 * hidden)) * scale
    gates.flat[: min(3, gates.size)] = [50.0, -50.0, 0.0][: min(3, gates.size)]
    c_prev, dh, dc = (rng.standard_normal((batch, hidden)) for _ in range(3))
    return tuple(a.astype(dtype) for a in (gates, c_prev, dh, dc))


@ISA_LEVELS
@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 9), hidden=st.sampled_from([1, 2, 3, 5, 7, 8, 16, 17, 31, 33, 64]),
       scale=st.sampled_from([0.01, 1.0, 8.0, 50.0]), dtype=st.sampled_from([np.float32, np.float64]),
       addends=st.sampled_from(["", "x", "b", "xb"]), seed=st.integers(0, 2**16))
def test_lstm_cell_c_matches_numpy(isa, batch, hidden, scale, dtype, addends, seed):
    rng = np.random.default_rng(seed)
    gates, c_prev, dh, dc = _cell_inputs(rng, batch, hidden, scale, dtype)
    gates_x = rng.standard_normal(gates.shape).astype(dtype) if "x" in addends else None
    bias = rng.standard_normal(4 * hidden).astype(dtype) if "b" in addends else None
    expected = ref.lstm_cell(gates, c_prev, gates_x=gates_x, bias=bias)
    with forced_isa(isa):
        actual = c.lstm_cell(gates, c_prev, gates_x=gates_x, bias=bias)
        for a, e in zip(actual, expected):
            _assert_close(a, e, dtype)
        # backward from the reference's saved values, so both see identical inputs
        acts, tanh_c = expected[2], expected[3]
        for a, e in zip(c.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c),
                        ref.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c)):
            _assert_close(a, e, dtype)


@ISA_LEVELS
@settings(max_examples=20, deadline=None)
@given(batch=st.integers(1, 9), hidden=st.sampled_from([1, 2, 3, 7, 16, 17, 33]),
       scale=st.sampled_from([0.01, 1.0, 8.0, 50.0]), dtype=st.sampled_from([np.float32, np.float64]),
       biases=st.sampled_from(["", "x", "h", "xh"]), use_out=st.booleans(), seed=st.integers(0, 2**16))
def test_gru_cell_c_matches_numpy(isa, batch, hidden, scale, dtype, biases, use_out, seed):
    rng = np.random.default_rng(seed)
    gates_x, gates_h = (rng.standard_normal((2, batch, 3 * hidden)) * scale).astype(dtype)
    gates_x.flat[:2] = [50.0, -50.0][: gates_x.size]
    h_prev, dh = rng.standard_normal((2, batch, hidden)).astype(dtype)
    bias_x = rng.standard_normal(3 * hidden).astype(dtype) if "x" in biases else None
    bias_h = rng.standard_normal(3 * hidden).astype(dtype) if "h" in biases else None
    expected = ref.gru_cell(gates_x, gates_h, h_prev, bias_x=bias_x, bias_h=bias_h)
    acts = expected[1]
    expected_back = ref.gru_cell_backward(dh, acts, gates_h, h_prev, bias_h=bias_h)
    out = tuple(np.full(e.shape, np.nan, dtype=dtype) for e in expected) if use_out else None
    out_back = tuple(np.full(e.shape, np.nan, dtype=dtype) for e in expected_back) if use_out else None
    # n = tanh(x_n + r·h_n) with |h_n| up to ~4·scale: r's last-place rounding moves the argument, and
    # so n, h and the gradients through r·h_n, by about eps·|h_n| (float32, scale 50: ~1e-6·50)
    magnitude = 4 * scale
    with forced_isa(isa):
        actual = c.gru_cell(gates_x, gates_h, h_prev, out=out, bias_x=bias_x, bias_h=bias_h)
        actual_back = c.gru_cell_backward(dh, acts, gates_h, h_prev, out=out_back, bias_h=bias_h)
    for a, e in zip(actual + actual_back, expected + expected_back):
        _assert_close(a, e, dtype, magnitude)
    if use_out:
        assert all(a is o for a, o in zip(actual + actual_back, out + out_back))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_gru_reference_biases_are_addends(dtype, rng):
    """gru_cell(bias_x=, bias_h=) is gru_cell of gates_x + bias_x and gates_h + bias_h, and its backward
    (bias_h=) that of gates_h + bias_h; ``out`` receives the same values."""
    gates_x, gates_h = rng.standard_normal((2, 3, 15)).astype(dtype)
    h_prev, dh = rng.standard_normal((2, 3, 5)).astype(dtype)
    bias_x, bias_h = rng.standard_normal((2, 15)).astype(dtype)
    added = ref.gru_cell(gates_x + bias_x, gates_h + bias_h, h_prev)
    out = (np.empty((3, 5), dtype), np.empty((3, 15), dtype))
    folded = ref.gru_cell(gates_x, gates_h, h_prev, out=out, bias_x=bias_x, bias_h=bias_h)
    added_back = ref.gru_cell_backward(dh, added[1], gates_h + bias_h, h_prev)
    out_back = (np.empty((3, 15), dtype), np.empty((3, 15), dtype), np.empty((3, 5), dtype))
    folded_back = ref.gru_cell_backward(dh, added[1], gates_h, h_prev, out=out_back, bias_h=bias_h)
    assert all(f is o for f, o in zip(folded + folded_back, out + out_back))
    for f, a in zip(folded + folded_back, added + added_back):
        _assert_close(f, a, dtype)


@ISA_LEVELS
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_cell_tanh_is_odd_down_to_the_sign_of_zero(isa, dtype):
    """The g gate's tanh works on |x| and copies x's sign back: tanh(−x) = −tanh(x) exactly, and
    tanh(±0) = ±0 as NumPy (a sign mask that is really +0.0 would make every lane |x| = x)."""
    z = np.array([0.0, 1e-30, 1e-3, 0.5, 1.0, 3.0, 20.0, 100.0], dtype=dtype)
    both = np.concatenate([z, -z])
    gates = np.tile(both, 4)[None, :]
    with forced_isa(isa):
        tanh = c.lstm_cell(gates, np.zeros((1, both.size), dtype=dtype))[2][0, 2 * both.size: 3 * both.size]
    np.testing.assert_array_equal(tanh[z.size:], -tanh[: z.size])
    np.testing.assert_array_equal(np.signbit(tanh), np.signbit(np.tanh(both)))
    np.testing.assert_allclose(tanh, np.tanh(both), rtol=TOL[dtype], atol=0)


@ISA_LEVELS
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_cell_saturates_at_extreme_preactivations(isa, dtype):
    """σ and tanh of ±50 … ±1000 and ±inf agree with NumPy, where far below the exponent range σ
    may return the smallest normal number instead of a subnormal or 0; tanh is exactly ±1 and
    never NaN; NaN stays NaN."""
    z = np.array([1000.0, -1000.0, 100.0, -100.0, 88.0, -88.0, np.inf, -np.inf, 50.0, -50.0], dtype=dtype)
    gates = np.tile(z, 4)[None, :]  # every gate sees every value
    c_prev = np.zeros((1, z.size), dtype=dtype)
    with forced_isa(isa):
        acts = c.lstm_cell(gates, c_prev)[2]
    np.testing.assert_allclose(acts, ref.lstm_cell(gates, c_prev)[2], rtol=TOL[dtype], atol=2 * np.finfo(dtype).tiny)
    np.testing.assert_array_equal(acts[0, 2 * z.size: 3 * z.size], np.sign(z))  # tanh
    nan_gates = np.full((1, 4), np.nan, dtype=dtype)
    with forced_isa(isa):
        assert np.isnan(c.lstm_cell(nan_gates, np.zeros((1, 1), dtype=dtype))[0]).all()


@ISA_LEVELS
def test_lstm_cell_hidden_128_batch_64(isa, rng):
    """The benchmark's shape (batch 64, hidden 128), float32: whole vectors only, no tail."""
    gates, c_prev, dh, dc = _cell_inputs(rng, 64, 128, 3.0, np.float32)
    expected = ref.lstm_cell(gates, c_prev)
    acts, tanh_c = expected[2], expected[3]
    with forced_isa(isa):
        for a, e in zip(c.lstm_cell(gates, c_prev), expected):
            _assert_close(a, e, np.float32)
        for a, e in zip(c.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c),
                        ref.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c)):
            _assert_close(a, e, np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_reference_is_the_gate_formula(dtype, rng):
    """i, f, g, o = σ, σ, tanh, σ of the four column blocks; c = f c_prev + i g; h = o tanh c;
    backward against central differences of the formula."""
    gates, c_prev, dh, dc = _cell_inputs(rng, 3, 5, 2.0, np.float64)

    def formula(z, cp):
        s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        i, f, g, o = s(z[:, :5]), s(z[:, 5:10]), np.tanh(z[:, 10:15]), s(z[:, 15:])
        cell = f * cp + i * g
        return o * np.tanh(cell), cell

    h, cell, acts, tanh_c = ref.lstm_cell(gates.astype(dtype), c_prev.astype(dtype))
    h_formula, c_formula = formula(gates, c_prev)
    half, bias = (0.5 * gates).astype(dtype), np.full(gates.shape[1], 0.25, dtype=dtype)  # gates = 2·half
    split = ref.lstm_cell(half, c_prev.astype(dtype), gates_x=half - bias, bias=bias)
    np.testing.assert_allclose(split[0], h, rtol=4 * tol_for(dtype), atol=4 * tol_for(dtype))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(h, h_formula, rtol=tol, atol=tol)
    np.testing.assert_allclose(cell, c_formula, rtol=tol, atol=tol)
    assert h.dtype == cell.dtype == acts.dtype == tanh_c.dtype == dtype
    # backward (float64): the gradient of L = Σ dh ⊙ h + dc ⊙ c, against central differences
    _, _, acts, tanh_c = ref.lstm_cell(gates, c_prev)
    d_gates, dc_prev = ref.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c)

    def loss(z, cp):
        h, cell = formula(z, cp)
        return float(np.sum(dh * h) + np.sum(dc * cell))

    eps = 1e-6
    for index in [(0, 0), (1, 6), (2, 12), (0, 19), (2, 4)]:
        step = np.zeros_like(gates)
        step[index] = eps
        numeric = (loss(gates + step, c_prev) - loss(gates - step, c_prev)) / (2 * eps)
        assert abs(d_gates[index] - numeric) < 1e-7
    step = np.zeros_like(c_prev)
    step[1, 3] = eps
    assert abs(dc_prev[1, 3] - (loss(gates, c_prev + step) - loss(gates, c_prev - step)) / (2 * eps)) < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lstm_cell_non_contiguous_inputs_and_out_buffers(dtype, rng):
    gates, c_prev, dh, dc = _cell_inputs(rng, 4, 6, 2.0, dtype)
    gates_view = np.asfortranarray(gates)  # same values, column-major
    c_view = np.repeat(c_prev, 2, axis=1)[:, ::2]  # the same values in strided columns
    expected = ref.lstm_cell(gates, c_prev)
    out = tuple(np.full(e.shape, np.nan, dtype=dtype) for e in expected)
    for backend in (c, ref):
        result = backend.lstm_cell(gates_view, c_view, out=out)
        assert all(r is o for r, o in zip(result, out))
        for a, e in zip(out, expected):
            _assert_close(a, e, dtype)
    acts, tanh_c = expected[2], expected[3]
    expected_back = ref.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c)
    for backend in (c, ref):
        out_back = (np.empty((4, 24), dtype=dtype), np.empty((4, 6), dtype=dtype))
        backend.lstm_cell_backward(dh.T.copy().T, dc, np.asfortranarray(acts), c_prev, tanh_c, out=out_back)
        for a, e in zip(out_back, expected_back):
            _assert_close(a, e, dtype)


@pytest.mark.parametrize("call, message", [
    (lambda: c.lstm_cell(np.zeros((2, 8), np.int64), np.zeros((2, 2), np.int64)), r"lstm_cell: .*float32 or float64"),
    (lambda: c.lstm_cell(np.zeros((2, 8), np.float32), np.zeros((2, 2))), r"lstm_cell: .*one dtype"),
    (lambda: c.lstm_cell(np.zeros((2, 8)), np.zeros((2, 3))),
     r"lstm_cell: expected gates of shape \(B, 4H\) and c_prev of shape \(B, H\), got gates \(2, 8\), c_prev \(2, 3\)"),
    (lambda: c.lstm_cell(np.zeros((3, 8)), np.zeros((2, 2))), r"lstm_cell: .*gates \(3, 8\), c_prev \(2, 2\)"),
    (lambda: c.lstm_cell(np.zeros(8), np.zeros(2)), r"lstm_cell: .*gates \(8,\), c_prev \(2,\)"),
    (lambda: c.lstm_cell(np.zeros((2, 8)), np.zeros((2, 2)), out=(np.zeros((2, 2)),) * 4),
     r"lstm_cell: out must be 4 .* arrays of shapes"),
    (lambda: c.lstm_cell(np.zeros((2, 8)), np.zeros((2, 2)),
                         out=(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 8), np.float32), np.zeros((2, 2)))),
     r"lstm_cell: out must be"),
    (lambda: c.lstm_cell_backward(*(np.zeros((2, 2)),) * 2, np.zeros((2, 6)), *(np.zeros((2, 2)),) * 2),
     r"lstm_cell_backward: expected acts of shape \(B, 4H\) .*acts \(2, 6\)"),
    (lambda: c.lstm_cell_backward(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 8)), *(np.zeros((2, 2)),) * 2),
     r"lstm_cell_backward: .*dh \(2, 3\)"),
    (lambda: c.lstm_cell_backward(*(np.zeros((2, 2), np.float32),) * 2, np.zeros((2, 8)), *(np.zeros((2, 2)),) * 2),
     r"lstm_cell_backward: .*one dtype"),
    (lambda: c.lstm_cell(np.zeros((2, 8)), np.zeros((2, 2)), gates_x=np.zeros((2, 4))),
     r"lstm_cell: .*gates/gates_x of shape \(B, 4H\).*gates_x \(2, 4\)"),
    (lambda: c.lstm_cell(np.zeros((2, 8)), np.zeros((2, 2)), bias=np.zeros(4)),
     r"lstm_cell: expected bias of shape \(8,\)"),
    (lambda: c.lstm_cell(np.zeros((2, 8)), np.zeros((2, 2)), bias=np.zeros(8, np.float32)),
     r"lstm_cell: expected bias .*float64"),
    (lambda: c.gru_cell(np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 3))),
     r"gru_cell: expected gates_x/gates_h of shape \(B, 3H\) and h_prev of shape \(B, H\), got gates_x \(2, 6\), "
     r"gates_h \(2, 6\), h_prev \(2, 3\)"),
    (lambda: c.gru_cell(np.zeros((2, 6), np.float32), np.zeros((2, 6)), np.zeros((2, 2))), r"gru_cell: .*one dtype"),
    (lambda: c.gru_cell_backward(np.zeros((2, 2)), np.zeros((2, 6)), np.zeros((2, 5)), np.zeros((2, 2))),
     r"gru_cell_backward: .*gates_h \(2, 5\)"),
    (lambda: c.gru_cell(np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 2)), bias_x=np.zeros(4)),
     r"gru_cell: expected bias_x of shape \(6,\)"),
    (lambda: c.gru_cell(np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 2)), bias_h=np.zeros(6, np.float32)),
     r"gru_cell: expected bias_h .*float64"),
    (lambda: c.gru_cell(np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 2)), out=(np.zeros((2, 2)),) * 2),
     r"gru_cell: out must be 2 .* arrays of shapes"),
    (lambda: c.gru_cell_backward(np.zeros((2, 2)), np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 2)),
                                 bias_h=np.zeros(2)), r"gru_cell_backward: expected bias_h of shape \(6,\)"),
    (lambda: c.gru_cell_backward(np.zeros((2, 2)), np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 2)),
                                 out=(np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 3)))),
     r"gru_cell_backward: out must be 3 .* arrays of shapes"),
    (lambda: (lambda dh: c.gru_cell_backward(dh, np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 2)),
                                             out=(np.zeros((2, 6)), np.zeros((2, 6)), dh)))(np.zeros((2, 2))),
     r"gru_cell_backward: out's .*must not share memory with dh"),
], ids=["int", "mixed", "hidden", "batch", "1-d", "out-shape", "out-dtype", "bw-acts", "bw-dh", "bw-mixed",
        "gates_x-shape", "bias-shape", "bias-dtype", "gru-shape", "gru-mixed", "gru-bw-shape",
        "gru-bias_x-shape", "gru-bias_h-dtype", "gru-out-shape", "gru-bw-bias-shape", "gru-bw-out-shape",
        "gru-bw-out-aliases-dh"])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_c_rejects_negative_sizes():
    """The C entry points check their sizes themselves too (status 1, nothing written)."""
    buf = c.ffi.new("float[]", 8)
    assert c.lib.tg_lstm_cell_f32(buf, c.ffi.NULL, c.ffi.NULL, buf, buf, buf, buf, buf, -1, 2) == 1
    assert c.lib.tg_lstm_cell_backward_f64(*(c.ffi.new("double[]", 8),) * 7, 2, -1) == 1
    assert c.lib.tg_lstm_cell_f32(buf, buf, buf, buf, buf, buf, buf, buf, 0, 2) == 0  # empty batch: nothing to do
    assert c.lib.tg_gru_cell_f32(buf, c.ffi.NULL, buf, c.ffi.NULL, buf, buf, buf, 2, -1) == 1
    assert c.lib.tg_gru_cell_backward_f32(buf, buf, buf, c.ffi.NULL, buf, buf, buf, buf, -3, 1) == 1
