"""The backward cells' ``out=`` rule: no output array may overlap another argument.

The C kernels of ``lstm_cell_backward`` and ``gru_cell_backward`` (csrc/lstm_cell.inc) declare every
array ``restrict``: an output sharing memory with an input or with another output would let the
compiler reorder loads and stores into wrong gradients. The C entry points check this first and
return status 4, nothing written (csrc/lstm.c); the adapter turns that into a ValueError naming the op
and both arrays (``numpy_ref.check_out_apart``), and the NumPy reference applies the same rule itself
(its later lines also read what earlier ones wrote). Checked here on both backends, for every pair of
an output with another argument, one element of overlap: it raises and nothing is written; the same
arrays laid out edge to edge, sharing no element, give exactly the results of ``out=None``.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

BACKENDS = [pytest.param(ref, id="numpy")]
if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

    BACKENDS.append(pytest.param(c, id="c"))

B, H = 3, 5
# Per cell: the op, the names (out's arrays first: numpy_ref's name tuple), the shape of each array,
# and how many of them are outputs.
CELLS = {
    "lstm_cell_backward": (ref.LSTM_CELL_BACKWARD_NAMES,
                           [(B, 4 * H), (B, H), (B, H), (B, H), (B, 4 * H), (B, H), (B, H)], 2),
    "gru_cell_backward": (ref.GRU_CELL_BACKWARD_NAMES,
                          [(B, 3 * H), (B, 3 * H), (B, H), (B, H), (B, 3 * H), (B, 3 * H), (3 * H,), (B, H)], 3),
}
PAIRS = [(op, k, j) for op, (names, _, n_out) in CELLS.items() for k in range(n_out) for j in range(len(names))
         if j != k]


def _call(backend, op: str, arrays: list[np.ndarray], n_out: int, with_out: bool) -> tuple[np.ndarray, ...]:
    """backend.<op>(inputs…, out=arrays[:n_out] or None) with the cell's argument order."""
    out, inputs = tuple(arrays[:n_out]), arrays[n_out:]
    if op == "lstm_cell_backward":
        return backend.lstm_cell_backward(*inputs, out=out if with_out else None)
    dh, acts, gates_h, bias_h, h_prev = inputs
    return backend.gru_cell_backward(dh, acts, gates_h, h_prev, out=out if with_out else None, bias_h=bias_h)


def _fill(a: np.ndarray, rng: np.random.Generator, name: str) -> None:
    """Values in the range the forward would give: activations in (0, 1), everything else N(0, 1)."""
    a[...] = rng.uniform(0.05, 0.95, a.shape) if name == "acts" else rng.standard_normal(a.shape)


def _laid_out(shapes: list[tuple[int, ...]], dtype, overlap: tuple[int, int] | None = None) -> list[np.ndarray]:
    """C-contiguous arrays of these shapes as views of one buffer, each starting where the previous one
    ends; with ``overlap`` = (k, j), array j is placed last but one and array k after it, starting on
    j's last element: k shares that one element with j and nothing with any other array."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    order = list(range(len(shapes)))
    if overlap is not None:
        order = [i for i in order if i not in overlap] + [overlap[1], overlap[0]]
    pool, arrays, at = np.empty(sum(sizes), dtype), [None] * len(shapes), 0
    for i in order:
        if overlap is not None and i == overlap[0]:
            at -= 1
        arrays[i] = pool[at:at + sizes[i]].reshape(shapes[i])
        at += sizes[i]
    return arrays


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, k, j", PAIRS, ids=[f"{op}-{CELLS[op][0][k]}-{CELLS[op][0][j]}".replace("∂L/∂", "d_")
                                               for op, k, j in PAIRS])
def test_out_overlapping_another_array_raises_and_writes_nothing(backend, dtype, op, k, j):
    names, shapes, n_out = CELLS[op]
    arrays = _laid_out(shapes, dtype, overlap=(k, j))
    rng = np.random.default_rng(k * 10 + j)
    for a, name in zip(arrays, names):
        _fill(a, rng, name)
    before = [a.copy() for a in arrays]
    first, second = min(k, j), max(k, j)  # the pair as the check meets it: outputs come first
    with pytest.raises(ValueError, match=f"{op}: out's {names[first]} must not share memory with {names[second]}"):
        _call(backend, op, arrays, n_out, with_out=True)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)  # nothing written


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", list(CELLS))
def test_out_edge_to_edge_with_the_inputs_works(backend, dtype, op):
    """Arrays in one buffer, each ending where the next begins: no element shared, so no error, and
    the outputs written into out are the results of out=None to the bit."""
    names, shapes, n_out = CELLS[op]
    arrays = _laid_out(shapes, dtype)
    rng = np.random.default_rng(1)
    for a, name in zip(arrays, names):
        _fill(a, rng, name)
    expected = _call(backend, op, arrays, n_out, with_out=False)
    result = _call(backend, op, arrays, n_out, with_out=True)
    for got, out, want in zip(result, arrays[:n_out], expected):
        assert got is out
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_the_same_array_as_an_input_raises(backend):
    """The plainest case: ∂L/∂c_prev written into dc itself."""
    dh, dc, c_prev, tanh_c = (np.zeros((2, 3)) for _ in range(4))
    acts = np.full((2, 12), 0.5)
    with pytest.raises(ValueError, match=r"lstm_cell_backward: out's ∂L/∂c_prev must not share memory with dc"):
        backend.lstm_cell_backward(dh, dc, acts, c_prev, tanh_c, out=(np.empty((2, 12)), dc))


@pytest.mark.skipif("c" not in tg.backend.available(), reason="the C extension is not built (pip install -e .)")
@pytest.mark.parametrize("dtype, ctype", [(np.float32, "float[]"), (np.float64, "double[]")])
def test_c_entry_points_check_overlap_themselves(dtype, ctype):
    """For any caller of the C API: status 4 and nothing written when an output overlaps another array
    by one element, 0 when arrays touch end to start; a NULL bias overlaps nothing."""
    suffix = "_f32" if dtype == np.float32 else "_f64"
    lstm_bw, gru_bw = getattr(c.lib, f"tg_lstm_cell_backward{suffix}"), getattr(c.lib, f"tg_gru_cell_backward{suffix}")
    n = B * H
    pool = np.full(64 * n, 0.5, dtype)
    p = lambda start: c.ffi.from_buffer(ctype, pool[start:])  # noqa: E731 - a pointer `start` elements in
    # LSTM: dh, dc, acts (4n), c_prev, tanh_c, then d_gates (4n), dc_prev, each right after the previous one
    assert lstm_bw(p(0), p(n), p(2 * n), p(6 * n), p(7 * n), p(8 * n), p(12 * n), B, H) == 0
    before = pool.copy()
    assert lstm_bw(p(0), p(n), p(2 * n), p(6 * n), p(7 * n), p(8 * n - 1), p(12 * n), B, H) == 4  # d_gates ∩ tanh_c
    assert lstm_bw(p(0), p(n), p(2 * n), p(6 * n), p(7 * n), p(8 * n), p(12 * n - 1), B, H) == 4  # dc_prev ∩ d_gates
    np.testing.assert_array_equal(pool, before)
    # GRU: dh, acts (3n), gates_h (3n), h_prev, then d_gates_x (3n), d_gates_h (3n), dh_prev
    assert gru_bw(p(0), p(n), p(4 * n), c.ffi.NULL, p(7 * n), p(8 * n), p(11 * n), p(14 * n), B, H) == 0
    assert gru_bw(p(0), p(n), p(4 * n), p(20 * n), p(7 * n), p(8 * n), p(11 * n), p(14 * n), B, H) == 0
    before = pool.copy()
    assert gru_bw(p(0), p(n), p(4 * n), c.ffi.NULL, p(7 * n), p(8 * n), p(11 * n), p(0), B, H) == 4  # dh_prev = dh
    assert gru_bw(p(0), p(n), p(4 * n), p(8 * n), p(7 * n), p(8 * n), p(11 * n), p(14 * n), B, H) == 4  # bias_h
    np.testing.assert_array_equal(pool, before)
