"""The ``out=`` and in-place rules of the kernels, the same on both backends.

Every kernel that writes into arrays the caller gives follows ``numpy_ref.check_out_apart``:

- the backward cells (``lstm_cell_backward``, ``gru_cell_backward``): no output may share memory with
  another argument. Their C kernels declare every array ``restrict``;
- the forward cells (``lstm_cell``, ``gru_cell``): an output may be exactly an input (in place, as
  PyTorch allows for ``out=``), but a partial overlap, or two outputs sharing memory, raises, as
  PyTorch refuses it ("some elements of the input tensor and the written-to tensor refer to a single
  memory location");
- the optimiser updates: no two of param, the state buffers and grad may share memory, not even
  exactly (NumPy's line-by-line passes and C's one pass per element would compute different things).

C checks this itself (status 4, nothing written; csrc/tg_internal.h's tg_arrays_overlap) and the
adapter names the pair with the reference's check. C only sees what it is given, though: for a strided
input the adapter passes a contiguous copy, so it runs the reference's check on the caller's arrays first.
Each case runs on NumPy and on C at every instruction-set level the CPU has: the same ValueError naming
the op and the pair, nothing written; or, when nothing overlaps, the same results.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

BACKENDS = [pytest.param(None, id="numpy")]
if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

    _BEST_ISA = c.isa()
    _LEVELS = ("portable", "avx2", "avx512")
    BACKENDS += [pytest.param(level, id=f"c-{level}") for level in _LEVELS[: _LEVELS.index(_BEST_ISA) + 1]]
needs_c = pytest.mark.skipif("c" not in tg.backend.available(), reason="the C extension is not built")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """numpy_ref, or the C adapters with the kernels capped at one instruction-set level."""
    if request.param is None:
        yield ref
        return
    c.set_isa(request.param)
    try:
        yield c
    finally:
        c.set_isa(_BEST_ISA)


B, H = 3, 5
# Per cell: the names (out's arrays first: numpy_ref's name tuples), the shape of each array, and how many
# of them are outputs.
CELLS = {
    "lstm_cell": (ref.LSTM_CELL_NAMES, [(B, H), (B, H), (B, 4 * H), (B, H), (B, 4 * H), (B, 4 * H), (4 * H,), (B, H)],
                  4),
    "gru_cell": (ref.GRU_CELL_NAMES, [(B, H), (B, 3 * H), (B, 3 * H), (3 * H,), (B, 3 * H), (3 * H,), (B, H)], 2),
    "lstm_cell_backward": (ref.LSTM_CELL_BACKWARD_NAMES,
                           [(B, 4 * H), (B, H), (B, H), (B, H), (B, 4 * H), (B, H), (B, H)], 2),
    "gru_cell_backward": (ref.GRU_CELL_BACKWARD_NAMES,
                          [(B, 3 * H), (B, 3 * H), (B, H), (B, H), (B, 3 * H), (B, 3 * H), (3 * H,), (B, H)], 3),
}
IN_PLACE = {"lstm_cell", "gru_cell"}  # the cells whose outputs may be exactly an input
PAIRS = [(op, k, j) for op, (names, _, n_out) in CELLS.items() for k in range(n_out) for j in range(k + 1, len(names))]
# (output, input) pairs of the same shape: the exact aliases a caller could pass
SAME_SHAPE = [(op, k, j) for op, k, j in PAIRS if j >= CELLS[op][2] and CELLS[op][1][k] == CELLS[op][1][j]]
INPUTS = [(op, j) for op, (names, _, n_out) in CELLS.items() for j in range(n_out, len(names))]


def _ids(pairs):
    return ["-".join([p[0], *(CELLS[p[0]][0][i] for i in p[1:])]).replace("∂L/∂", "d_").replace("out's ", "out.")
            for p in pairs]


def _call_cell(backend, op: str, arrays: list, n_out: int, with_out: bool = True) -> tuple[np.ndarray, ...]:
    """backend.<op>(inputs…, out=arrays[:n_out] or None) with the cell's argument order."""
    out, inputs = tuple(arrays[:n_out]) if with_out else None, arrays[n_out:]
    if op == "lstm_cell":
        gates, gates_x, bias, c_prev = inputs
        return tuple(backend.lstm_cell(gates, c_prev, out=out, gates_x=gates_x, bias=bias))
    if op == "gru_cell":
        gates_x, bias_x, gates_h, bias_h, h_prev = inputs
        return tuple(backend.gru_cell(gates_x, gates_h, h_prev, out=out, bias_x=bias_x, bias_h=bias_h))
    if op == "lstm_cell_backward":
        return tuple(backend.lstm_cell_backward(*inputs, out=out))
    dh, acts, gates_h, bias_h, h_prev = inputs
    return tuple(backend.gru_cell_backward(dh, acts, gates_h, h_prev, out=out, bias_h=bias_h))


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


def _filled(arrays: list[np.ndarray], names: tuple[str, ...], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    for a, name in zip(arrays, names):
        _fill(a, rng, name)
    return arrays


def _raises_naming(op: str, names: tuple[str, ...], k: int, j: int):
    return pytest.raises(ValueError, match=re.escape(f"{op}: {names[k]} must not share memory with {names[j]}"))


def _assert_unchanged(arrays: list[np.ndarray], before: list[np.ndarray]) -> None:
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)  # nothing written


# ---- the cells -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, k, j", PAIRS, ids=_ids(PAIRS))
def test_cell_output_overlapping_another_array_by_one_element_raises(backend, dtype, op, k, j):
    """A partial overlap: refused by every cell (forward ones too: it is not in place)."""
    names, shapes, n_out = CELLS[op]
    arrays = _filled(_laid_out(shapes, dtype, overlap=(k, j)), names, k * 10 + j)
    before = [a.copy() for a in arrays]
    with _raises_naming(op, names, k, j):
        _call_cell(backend, op, arrays, n_out)
    _assert_unchanged(arrays, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", list(CELLS))
def test_cell_arrays_edge_to_edge_work(backend, dtype, op):
    """Arrays in one buffer, each ending where the next begins: no element shared, so no error, and
    the outputs written into out are the results of out=None to the bit."""
    names, shapes, n_out = CELLS[op]
    arrays = _filled(_laid_out(shapes, dtype), names, 1)
    expected = _call_cell(backend, op, arrays, n_out, with_out=False)
    result = _call_cell(backend, op, arrays, n_out)
    for got, out, want in zip(result, arrays[:n_out], expected):
        assert got is out
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op, k, j", SAME_SHAPE, ids=_ids(SAME_SHAPE))
def test_cell_output_that_is_an_input(backend, op, k, j):
    """Exactly an input: the forward cells compute in place, giving the results of separate arrays to
    the bit (every element is read before the same element of an output is written); the backward
    cells refuse it."""
    names, shapes, n_out = CELLS[op]
    arrays = _filled([np.empty(shape) for shape in shapes], names, 2)
    separate = [a.copy() for a in arrays]
    arrays[k] = arrays[j]
    if op not in IN_PLACE:
        before = [a.copy() for a in arrays]
        with _raises_naming(op, names, k, j):
            _call_cell(backend, op, arrays, n_out)
        _assert_unchanged(arrays, before)
        return
    expected = _call_cell(backend, op, separate, n_out)
    result = _call_cell(backend, op, arrays, n_out)
    assert result[k] is arrays[j]
    for got, want in zip(result, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shares_elements", [True, False], ids=["sharing", "interleaved"])
@pytest.mark.parametrize("op, j", INPUTS, ids=_ids(INPUTS))
def test_strided_input_overlapping_out_raises(backend, op, j, shares_elements):
    """A strided input (every other element of a buffer) whose memory out's first array overlaps: C
    receives a contiguous copy, which overlaps nothing, so the adapter checks the caller's arrays itself;
    both backends refuse it (with or without a common element: np.may_share_memory compares bounds)."""
    names, shapes, n_out = CELLS[op]
    arrays = _filled([np.empty(shape) for shape in shapes], names, 3)
    size_j, size_0 = arrays[j].size, arrays[0].size
    pool = np.random.default_rng(4).uniform(0.05, 0.95, 2 * size_j + size_0)
    arrays[j] = pool[: 2 * size_j : 2].reshape(shapes[j])
    assert not arrays[j].flags.c_contiguous
    start = 0 if shares_elements else 1
    arrays[0] = pool[start : start + size_0].reshape(shapes[0])
    before, pool_before = [a.copy() for a in arrays], pool.copy()
    with _raises_naming(op, names, 0, j):
        _call_cell(backend, op, arrays, n_out)
    _assert_unchanged(arrays, before)
    np.testing.assert_array_equal(pool, pool_before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", list(CELLS))
def test_strided_inputs_apart_from_out(backend, dtype, op):
    """Every input strided, out apart from them: the results of contiguous inputs, to the bit."""
    names, shapes, n_out = CELLS[op]
    arrays = _filled([np.empty(shape, dtype) for shape in shapes], names, 5)
    expected = _call_cell(backend, op, arrays, n_out, with_out=False)
    for i in range(n_out, len(arrays)):  # the same values, every other element of a buffer twice as long
        strided = np.empty((*shapes[i][:-1], 2 * shapes[i][-1]), dtype)[..., ::2]
        strided[...] = arrays[i]
        arrays[i] = strided
    result = _call_cell(backend, op, arrays, n_out)
    for got, out, want in zip(result, arrays[:n_out], expected):
        assert got is out
        np.testing.assert_array_equal(got, want)


def test_arrays_over_memory_numpy_does_not_own(backend):
    """Arrays over a bytearray (np.frombuffer): no ndarray owns that memory, so they are compared too."""
    memory = bytearray(8 * (2 * B * H + 1))
    c_prev = np.frombuffer(memory, count=B * H).reshape(B, H)
    c_out = np.frombuffer(memory, offset=8 * (B * H - 1), count=B * H).reshape(B, H)  # c_prev's last element
    c_prev[...] = 0.5
    gates = np.random.default_rng(10).standard_normal((B, 4 * H))
    with _raises_naming("lstm_cell", ref.LSTM_CELL_NAMES, 1, 7):
        backend.lstm_cell(gates, c_prev, out=(np.empty((B, H)), c_out, np.empty((B, 4 * H)), np.empty((B, H))))


@needs_c
@pytest.mark.parametrize("dtype, ctype", [(np.float32, "float[]"), (np.float64, "double[]")])
def test_c_entry_points_check_overlap_themselves(dtype, ctype):
    """For any caller of the C API: status 4 and nothing written when an output overlaps another array
    by one element, 0 when arrays touch end to start; a NULL bias overlaps nothing; the forward cells
    take an output that is exactly an input (same start, same length)."""
    suffix = "_f32" if dtype == np.float32 else "_f64"
    lstm, lstm_bw, gru, gru_bw = (getattr(c.lib, f"tg_{name}{suffix}")
                                  for name in ("lstm_cell", "lstm_cell_backward", "gru_cell", "gru_cell_backward"))
    n = B * H
    pool = np.full(64 * n, 0.5, dtype)
    p = lambda start: c.ffi.from_buffer(ctype, pool[start:])  # noqa: E731 - a pointer `start` elements in
    null = c.ffi.NULL
    # LSTM backward: dh, dc, acts (4n), c_prev, tanh_c, then d_gates (4n), dc_prev, each right after the previous one
    assert lstm_bw(p(0), p(n), p(2 * n), p(6 * n), p(7 * n), p(8 * n), p(12 * n), B, H) == 0
    before = pool.copy()
    assert lstm_bw(p(0), p(n), p(2 * n), p(6 * n), p(7 * n), p(8 * n - 1), p(12 * n), B, H) == 4  # d_gates ∩ tanh_c
    assert lstm_bw(p(0), p(n), p(2 * n), p(6 * n), p(7 * n), p(8 * n), p(12 * n - 1), B, H) == 4  # dc_prev ∩ d_gates
    assert lstm_bw(p(0), p(n), p(2 * n), p(6 * n), p(7 * n), p(8 * n), p(n), B, H) == 4  # dc_prev = dc
    # GRU backward: dh, acts (3n), gates_h (3n), h_prev, then d_gates_x (3n), d_gates_h (3n), dh_prev
    assert gru_bw(p(0), p(n), p(4 * n), null, p(7 * n), p(8 * n), p(11 * n), p(0), B, H) == 4  # dh_prev = dh
    assert gru_bw(p(0), p(n), p(4 * n), p(8 * n), p(7 * n), p(8 * n), p(11 * n), p(14 * n), B, H) == 4  # bias_h
    # LSTM forward: gates (4n), gates_x (4n), bias (4H), c_prev, then h, c, acts (4n), tanh_c
    bias = 8 * n
    assert lstm(p(0), p(4 * n), p(bias), p(9 * n), p(10 * n), p(11 * n - 1), p(12 * n), p(16 * n), B, H) == 4  # c ∩ h
    assert lstm(p(0), p(4 * n), p(bias), p(9 * n), p(10 * n), p(11 * n), p(4 * n - 1), p(16 * n), B, H) == 4
    assert lstm(p(0), p(4 * n), p(bias), p(9 * n), p(9 * n + 1), p(11 * n), p(12 * n), p(16 * n), B, H) == 4
    # GRU forward: gates_x (3n), bias_x (3H), gates_h (3n), bias_h, h_prev, then h, acts (3n)
    assert gru(p(0), null, p(3 * n), null, p(6 * n), p(7 * n), p(6 * n), B, H) == 4  # acts ∩ h_prev
    np.testing.assert_array_equal(pool, before)
    assert lstm(p(0), p(4 * n), p(bias), p(9 * n), p(10 * n), p(11 * n), p(12 * n), p(16 * n), B, H) == 0
    assert lstm(p(0), null, null, p(9 * n), p(9 * n), p(9 * n), p(0), p(9 * n), B, H) == 4  # h and c: two outputs
    assert lstm(p(0), null, null, p(9 * n), p(10 * n), p(9 * n), p(0), p(11 * n), B, H) == 0  # in place: c, acts
    assert gru(p(0), null, p(3 * n), null, p(6 * n), p(6 * n), p(3 * n), B, H) == 0  # h in h_prev, acts in gates_h


# ---- the optimiser updates -------------------------------------------------------------------

N = 7
UPDATES = list(ref.UPDATE_NAMES)  # every option with a state buffer on: momentum, amsgrad, centered
UPDATE_PAIRS = [(op, k, j) for op in UPDATES for k in range(len(ref.UPDATE_NAMES[op]) - 1)
                for j in range(k + 1, len(ref.UPDATE_NAMES[op]))]
UPDATE_IDS = [f"{op}-{ref.UPDATE_NAMES[op][k]}-{ref.UPDATE_NAMES[op][j]}" for op, k, j in UPDATE_PAIRS]


# The options after the arrays of each update (numpy_ref's signatures): every state buffer in use.
UPDATE_OPTIONS = {"sgd_update": (0.1, 0.9, 0.1, 0.01, True, False, False),
                  "adam_update": (0.01, 0.9, 0.999, 1e-8, 0.01, False, False, 0.1, 0.5),
                  "rmsprop_update": (0.01, 0.99, 1e-8, 0.01, 0.9, False),
                  "adagrad_update": (0.01, 1e-10, 0.01, False),
                  "adadelta_update": (1.0, 0.9, 1e-6, 0.01, False),
                  "adamax_update": (0.01, 0.9, 0.999, 1e-8, 0.01, False, 0.1),
                  "nadam_update": (0.01, 0.9, 0.999, 1e-8, 0.01, False, False, 0.5, 0.1, 0.9),
                  "radam_update": (0.01, 0.9, 0.999, 1e-8, 0.01, False, False, 0.1, 0.5, 0.8),
                  "rprop_update": (0.5, 1.2, 1e-6, 50.0, False)}


def _update(backend, op: str, arrays: list[np.ndarray]) -> None:
    """One step of ``op`` on arrays = [param, *state, grad] (numpy_ref.UPDATE_NAMES' order)."""
    param, *state, grad = arrays
    if op == "asgd_update":  # μ is a 0-d array in the middle of the options
        backend.asgd_update(param, grad, *state, 1e-4, 0.01, np.array(0.5, param.dtype), 0.01, False)
    else:
        getattr(backend, op)(param, grad, *state, *UPDATE_OPTIONS[op])


def _update_arrays(op: str, arrays: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """param and grad N(0, 1), the state buffers in (0.1, 1), RMSprop's grad_avg in (−0.3, 0.3): square
    averages are positive, and v − grad_avg² stays so."""
    rng = np.random.default_rng(seed)
    for a, name in zip(arrays, ref.UPDATE_NAMES[op]):
        low, high = (-0.3, 0.3) if name == "grad_avg" else (0.1, 1)
        a[...] = rng.standard_normal(a.shape) if name in ("param", "grad") else rng.uniform(low, high, a.shape)
    return arrays


@pytest.mark.parametrize("exact", [True, False], ids=["same-array", "one-element"])
@pytest.mark.parametrize("op, k, j", UPDATE_PAIRS, ids=UPDATE_IDS)
def test_update_arrays_sharing_memory_raise(backend, op, k, j, exact):
    """Any two of param, the state buffers and grad sharing memory: exactly (the same array twice, e.g.
    grad given as exp_avg) or by one element. Both backends refuse it, naming the pair."""
    names = ref.UPDATE_NAMES[op]
    if exact:
        arrays = _update_arrays(op, [np.empty(N) for _ in names], 6)
        arrays[j] = arrays[k]
    else:
        arrays = _update_arrays(op, _laid_out([(N,)] * len(names), np.float64, overlap=(k, j)), 6)
    before = [a.copy() for a in arrays]
    with _raises_naming(op, names, k, j):
        _update(backend, op, arrays)
    _assert_unchanged(arrays, before)


@pytest.mark.parametrize("strided", ["grad", "param"])
@pytest.mark.parametrize("shares_elements", [True, False], ids=["sharing", "interleaved"])
@pytest.mark.parametrize("op", UPDATES)
def test_strided_array_overlapping_another_raises(backend, op, shares_elements, strided):
    """A strided grad in param's memory: C would read a copy, so the adapter checks the caller's arrays
    first. A strided param in grad's memory: C cannot update it in place, and the check comes before the
    fall-back to the reference (NoKernelError), which would refuse it too."""
    names = ref.UPDATE_NAMES[op]
    arrays = _update_arrays(op, [np.empty(N) for _ in names], 7)
    pool = np.random.default_rng(8).standard_normal(2 * N + 1)
    strided_at, other_at = (-1, 0) if strided == "grad" else (0, -1)
    arrays[strided_at] = pool[: 2 * N : 2]
    arrays[other_at] = pool[0 if shares_elements else 1 :][:N]
    before, pool_before = [a.copy() for a in arrays], pool.copy()
    with _raises_naming(op, names, 0, len(names) - 1):
        _update(backend, op, arrays)
    _assert_unchanged(arrays, before)
    np.testing.assert_array_equal(pool, pool_before)


@pytest.mark.parametrize("strided_grad", [False, True], ids=["contiguous", "strided-grad"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", UPDATES)
def test_update_arrays_edge_to_edge_work(backend, op, dtype, strided_grad):
    """Arrays in one buffer, touching end to start (grad also as a strided view of a buffer of its own):
    no error, and the step of separate arrays, to the bit (C equals the reference bit for bit)."""
    names = ref.UPDATE_NAMES[op]
    arrays = _update_arrays(op, _laid_out([(N,)] * len(names), dtype), 9)
    separate = [a.copy() for a in arrays]
    if strided_grad:
        arrays[-1] = np.repeat(arrays[-1], 2)[::2]
    _update(backend, op, arrays)
    _update(ref, op, separate)
    for got, want in zip(arrays, separate):
        np.testing.assert_array_equal(got, want)


@needs_c
@pytest.mark.parametrize("dtype, ctype", [(np.float32, "float[]"), (np.float64, "double[]")])
def test_c_update_entry_points_check_overlap_themselves(dtype, ctype):
    """Status 4, nothing written, for grad = a state buffer or a one-element overlap; 0 edge to edge."""
    suffix = "_f32" if dtype == np.float32 else "_f64"
    sgd, adam = getattr(c.lib, f"tg_sgd_update{suffix}"), getattr(c.lib, f"tg_adam_update{suffix}")
    pool = np.full(8 * N, 0.5, dtype)
    p = lambda start: c.ffi.from_buffer(ctype, pool[start:])  # noqa: E731 - a pointer `start` elements in
    adam_args = (0.01, 0.9, 0.999, 1e-8, 0.0, 0, 0, 0.1, 0.5)
    before = pool.copy()
    assert sgd(p(0), p(N), p(N), N, 0.1, 0.9, 0.0, 0.0, 0, 0, 0) == 4  # grad = momentum_buffer
    assert sgd(p(0), p(2 * N), p(N - 1), N, 0.1, 0.9, 0.0, 0.0, 0, 0, 0) == 4
    assert adam(p(0), p(4 * N), p(N), p(2 * N), p(3 * N - 1), N, *adam_args) == 4  # max_exp_avg_sq ∩ exp_avg_sq
    assert adam(p(0), p(N), p(N), p(2 * N), c.ffi.NULL, N, *adam_args) == 4  # grad = exp_avg
    np.testing.assert_array_equal(pool, before)
    assert adam(p(0), p(4 * N), p(N), p(2 * N), p(3 * N), N, *adam_args) == 0
    assert sgd(p(0), p(2 * N), c.ffi.NULL, N, 0.1, 0.9, 0.0, 0.0, 0, 0, 0) == 0
