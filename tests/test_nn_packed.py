"""nn.utils.rnn (padding and packing) and RNN/LSTM/GRU on PackedSequence input, against PyTorch:
data, batch_sizes, sorted/unsorted indices, round trips, gradients through every conversion, the
errors for bad lengths; the layers' packed output, h_n, c_n and the gradients w.r.t. the input,
h0, c0 and every parameter (float64 tight, float32), sorted and unsorted batches, bidirectional,
2 layers, grad-of-grad."""

from __future__ import annotations

import contextlib
import re
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn, ops
from tinygrad_edu.autograd import engine
from tinygrad_edu.nn.utils import rnn

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

TOLERANCE = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-4, atol=2e-5)}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
LENGTHS = pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 5, 1, 4], [3, 3, 3]],
                                  ids=["sorted", "unsorted", "ties"])


def _close(ours: tg.Tensor, theirs, dtype=np.float64, what: str = "") -> None:
    expected = theirs.detach().numpy()
    actual = ours.detach().numpy()
    assert actual.dtype == expected.dtype, what
    np.testing.assert_allclose(actual, expected, err_msg=what, **TOLERANCE[dtype])


def _equal(ours: tg.Tensor | None, theirs) -> None:
    """Index tensors: both None, or the same int64 values."""
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def _padded(lengths: list[int], dtype, batch_first: bool = False, features: int = 3, seed: int = 0) -> np.ndarray:
    shape = (len(lengths), max(lengths), features) if batch_first else (max(lengths), len(lengths), features)
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _weighted_sum(lib, outputs, seed: int = 1):
    """Σ_k Σ(out_k ⊙ w_k) with fixed random weights w_k, the same in both libraries."""
    rng = np.random.default_rng(seed)
    return sum((o * lib.tensor(rng.standard_normal(tuple(o.shape)).astype(o.detach().numpy().dtype))).sum()
               for o in outputs)


# ---- the utility functions -----------------------------------------------------------------


@DTYPES
@LENGTHS
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_sequence_and_back(dtype, lengths, batch_first):
    """data, batch_sizes and both index tensors as torch's; pad_packed_sequence (with total_length and a
    padding value) gives torch's padded batch and lengths; the input's gradient through pack + pad."""
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    x = _padded(lengths, dtype, batch_first)
    ours_x, theirs_x = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = rnn.pack_padded_sequence(ours_x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    theirs = trnn.pack_padded_sequence(theirs_x, torch.tensor(lengths), batch_first=batch_first,
                                       enforce_sorted=enforce_sorted)
    assert isinstance(ours, tuple) and ours._fields == theirs._fields
    _close(ours.data, theirs.data, dtype, "data")
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        _equal(getattr(ours, field), getattr(theirs, field))
    options = dict(batch_first=batch_first, padding_value=-2.5, total_length=max(lengths) + 2)
    (ours_padded, ours_lengths), (theirs_padded, theirs_lengths) = (
        rnn.pad_packed_sequence(ours, **options), trnn.pad_packed_sequence(theirs, **options))
    _close(ours_padded, theirs_padded, dtype, "padded")
    _equal(ours_lengths, theirs_lengths)
    _weighted_sum(tg, [ours_padded, ours.data]).backward()
    _weighted_sum(torch, [theirs_padded, theirs.data]).backward()
    _close(ours_x.grad, theirs_x.grad, dtype, "grad")


@DTYPES
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(dtype, batch_first, padding_side):
    """pad_sequence == torch's (value, both sides, both layouts) and so is every sequence's gradient."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((n, 2, 3)).astype(dtype) for n in (3, 5, 1)]
    ours_in = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    options = dict(batch_first=batch_first, padding_value=7.0, padding_side=padding_side)
    ours, theirs = rnn.pad_sequence(ours_in, **options), trnn.pad_sequence(theirs_in, **options)
    _close(ours, theirs, dtype)
    _weighted_sum(tg, [ours]).backward()
    _weighted_sum(torch, [theirs]).backward()
    for o, t in zip(ours_in, theirs_in):
        _close(o.grad, t.grad, dtype, "grad")


@LENGTHS
def test_pack_sequence_unpack_unpad(lengths):
    """pack_sequence == torch's; unpack_sequence and unpad_sequence give the original sequences back."""
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((n, 2)) for n in lengths]
    ours = rnn.pack_sequence([tg.tensor(a) for a in arrays], enforce_sorted=enforce_sorted)
    theirs = trnn.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=enforce_sorted)
    _close(ours.data, theirs.data)
    _equal(ours.batch_sizes, theirs.batch_sizes)
    _equal(ours.sorted_indices, theirs.sorted_indices)
    for back in (rnn.unpack_sequence(ours),
                 rnn.unpad_sequence(*rnn.pad_packed_sequence(ours, batch_first=True), batch_first=True),
                 rnn.unpad_sequence(rnn.pad_sequence([tg.tensor(a) for a in arrays]), tg.tensor(lengths))):
        assert len(back) == len(arrays)
        for b, a in zip(back, arrays):
            np.testing.assert_array_equal(b.numpy(), a)


def test_packed_sequence_is_a_named_tuple_as_torchs():
    """Fields by name and position; unsorted_indices defaults to the inverse of sorted_indices; .to(dtype)."""
    data, sizes = tg.tensor(np.arange(6.0).reshape(3, 2)), tg.tensor(np.array([2, 1]))
    packed = rnn.PackedSequence(data, sizes, tg.tensor(np.array([1, 0])))
    assert packed[0] is data and packed.batch_sizes is sizes
    np.testing.assert_array_equal(packed.unsorted_indices.numpy(), [1, 0])
    assert rnn.PackedSequence(data, sizes).sorted_indices is None
    assert packed.to(tg.float32).data.dtype == np.float32
    assert tg.nn.utils.rnn is rnn


@pytest.mark.parametrize("lengths, enforce_sorted, message", [
    ([4, 0, 2], False, "greater than 0"),
    ([4, 6, 2], False, "exceeds the sequence length"),
    ([2, 4, 1], True, "sorted in decreasing order"),
    ([4, 2], True, "expected 3 lengths"),
])
def test_pack_padded_sequence_refuses_bad_lengths(lengths, enforce_sorted, message):
    """Each bad ``lengths`` raises a ValueError naming the function and the problem (torch raises too,
    except for a length beyond the padded sequence, which it reads out of bounds)."""
    x = _padded([4, 4, 4], np.float64)
    with pytest.raises(ValueError, match=f"pack_padded_sequence: .*{message}"):
        rnn.pack_padded_sequence(tg.tensor(x), lengths, enforce_sorted=enforce_sorted)
    if message != "exceeds the sequence length":
        with pytest.raises(RuntimeError):
            trnn.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=enforce_sorted)


def test_pack_padded_sequence_refuses_an_empty_batch_as_torch():
    with pytest.raises(RuntimeError, match="empty"):
        trnn.pack_padded_sequence(torch.zeros(3, 0, 2), torch.zeros(0, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"pack_padded_sequence: cannot pack an empty batch"):
        rnn.pack_padded_sequence(tg.zeros(3, 0, 2), [])


@pytest.mark.parametrize("lengths", [[[4, 3, 2]], np.array(3), tg.tensor(np.array([[4], [3], [2]]))],
                         ids=["list-of-lists", "0-d", "2-d-tensor"])
def test_pack_padded_sequence_refuses_lengths_not_1d(lengths):
    """lengths must be 1-D (torch: RuntimeError); the error names the function and the shape."""
    x = _padded([4, 3, 2], np.float64)
    array = np.asarray(lengths.numpy() if isinstance(lengths, tg.Tensor) else lengths)
    message = rf"pack_padded_sequence: lengths must be a 1-D .*shape {re.escape(str(array.shape))}"
    with pytest.raises(ValueError, match=message):
        rnn.pack_padded_sequence(tg.tensor(x), lengths)
    with pytest.raises(RuntimeError, match="1D"):
        trnn.pack_padded_sequence(torch.tensor(x), torch.tensor(array))


def test_other_bad_inputs_name_the_function():
    x = tg.tensor(_padded([3, 2], np.float64))
    with pytest.raises(ValueError, match=r"pad_sequence: .*empty"):
        rnn.pad_sequence([])
    with pytest.raises(ValueError, match=r"pad_sequence: .*same shape"):
        rnn.pad_sequence([tg.zeros(2, 3), tg.zeros(2, 4)])
    with pytest.raises(ValueError, match="pad_sequence: padding_side"):
        rnn.pad_sequence([tg.zeros(2, 3)], padding_side="middle")
    with pytest.raises(ValueError, match="pad_packed_sequence: total_length=2"):
        rnn.pad_packed_sequence(rnn.pack_padded_sequence(x, [3, 2]), total_length=2)


# ---- RNN / LSTM / GRU on packed input ----------------------------------------------------------


def _module_pair(kind: str, dtype, **options):
    """nn.<kind> and torch.nn.<kind> (input 3, hidden 4, ``options``) with the same weights."""
    ours = getattr(nn, kind)(3, 4, dtype=dtype, **options)
    theirs = getattr(torch.nn, kind)(3, 4, **options).to(torch.float64 if dtype == np.float64 else torch.float32)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def _states(kind: str, layers: int, batch: int, dtype, seed: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((layers, batch, 4)).astype(dtype) for _ in range(2 if kind == "LSTM" else 1)]


@contextlib.contextmanager
def _without_onednn(lib):
    """torch's float32 LSTM through oneDNN builds its kernels anew for every shape (about 1.4 s each on this
    machine, forward and backward); its native kernels are the same reference in milliseconds. (Switching
    oneDNN off warns about TF32 on Intel GPUs, which do not exist here.)"""
    if lib is tg:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def _run_packed(lib, module, x: np.ndarray, lengths: list[int], states: list[np.ndarray] | None,
                enforce_sorted: bool, batch_first: bool = False):
    """Pack x, run the module, and return (the leaves, [output data, h_n(, c_n)], the output packing)."""
    pack = rnn.pack_padded_sequence if lib is tg else trnn.pack_padded_sequence
    leaves = [lib.tensor(a, requires_grad=True) for a in [x, *(states or [])]]
    packed = pack(leaves[0], lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    hx = None if states is None else (leaves[1] if len(leaves) == 2 else tuple(leaves[1:]))
    with _without_onednn(lib):
        out, final = module(packed, hx)
    return leaves, [out.data, *(final if isinstance(final, tuple) else [final])], out


@DTYPES
@LENGTHS
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("options", [dict(), dict(num_layers=2, bidirectional=True)], ids=["1-layer", "2-layer-bi"])
def test_recurrent_layers_on_packed_input(backend, dtype, lengths, kind, options):
    """Output data, h_n, c_n (each sequence's last valid step, original order) and the gradients
    w.r.t. the padded input, h0, c0 and every parameter == torch's."""
    _assert_packed_run_matches_torch(kind, dtype, lengths, options)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@DTYPES
@settings(max_examples=6)
@given(lengths=st.lists(st.integers(1, 6), min_size=1, max_size=6))
@example(lengths=[4, 4, 4])  # all equal: one batch size, the padded case
@example(lengths=[1, 1, 1, 1])  # one step
@example(lengths=[5])  # a single sequence
@example(lengths=[1, 6, 1, 2])  # the shortest first: every step has its own batch size
def test_packed_layers_on_drawn_lengths(kind, dtype, lengths):
    """As above on drawn lengths (sorted or not; each batch size a step of its own or shared), through
    two bidirectional layers with dropout=0, on every backend: outputs, states and all gradients."""
    for name in tg.backend.available():
        with tg.backend.using(name):
            _assert_packed_run_matches_torch(kind, dtype, lengths, dict(num_layers=2, bidirectional=True, dropout=0.0))


def _assert_packed_run_matches_torch(kind: str, dtype, lengths: list[int], options: dict) -> None:
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    ours, theirs = _module_pair(kind, dtype, **options)
    x = _padded(lengths, dtype)
    states = _states(kind, options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1), len(lengths),
                     dtype)
    ours_leaves, ours_out, ours_packed = _run_packed(tg, ours, x, lengths, states, enforce_sorted)
    theirs_leaves, theirs_out, theirs_packed = _run_packed(torch, theirs, x, lengths, states, enforce_sorted)
    assert isinstance(ours_packed, rnn.PackedSequence)
    _equal(ours_packed.batch_sizes, theirs_packed.batch_sizes)
    _equal(ours_packed.unsorted_indices, theirs_packed.unsorted_indices)
    for k, (o, t) in enumerate(zip(ours_out, theirs_out, strict=True)):
        _close(o, t, dtype, f"output {k}")
    _weighted_sum(tg, ours_out).backward()
    _weighted_sum(torch, theirs_out).backward()
    for k, (o, t) in enumerate(zip(ours_leaves, theirs_leaves)):
        _close(o.grad, t.grad, dtype, f"grad of input {k}")
    for (name, o), t in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        _close(o.grad, t.grad, dtype, f"grad of {name}")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_packed_input_ignores_batch_first_and_defaults_states_to_zero(kind):
    """batch_first changes only how the padded batch is packed, not the layer's packed run; no hx: zeros."""
    lengths = [2, 4, 3]
    ours, theirs = _module_pair(kind, np.float64, batch_first=True, num_layers=2)
    x = _padded(lengths, np.float64, batch_first=True)
    _, ours_out, _ = _run_packed(tg, ours, x, lengths, None, False, batch_first=True)
    _, theirs_out, _ = _run_packed(torch, theirs, x, lengths, None, False, batch_first=True)
    for o, t in zip(ours_out, theirs_out, strict=True):
        _close(o, t)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_gradgrad_matches_torch(kind):
    """create_graph through a packed bidirectional layer: the gradient of Σ(∂L/∂x)² w.r.t. every parameter."""
    lengths = [3, 1, 2]
    ours, theirs = _module_pair(kind, np.float64, bidirectional=True)
    x = _padded(lengths, np.float64)

    def second_order(lib, module):
        leaves, outputs, _ = _run_packed(lib, module, x, lengths, None, False)
        grad = engine.grad if lib is tg else torch.autograd.grad
        (first,) = grad([_weighted_sum(lib, outputs)], [leaves[0]], create_graph=True)
        return (first * first).sum()

    second_order(tg, ours).backward()
    second_order(torch, theirs).backward()
    for (name, o), t in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        _close(o.grad, t.grad, np.float64, f"grad of {name}")


def test_packed_input_of_the_wrong_width_or_dtype_is_refused():
    lstm = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="LSTM"):
        lstm(rnn.pack_sequence([tg.zeros(2, 5)]))
    with pytest.raises(ValueError, match="LSTM: input dtype"):
        lstm(rnn.pack_sequence([tg.zeros(2, 3, dtype=tg.float64)]))
    with pytest.raises(ValueError, match="LSTM: expected initial state of shape"):
        lstm(rnn.pack_sequence([tg.zeros(2, 3), tg.zeros(1, 3)]), (tg.zeros(1, 3, 4), tg.zeros(1, 3, 4)))


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_layer_op_on_packed_rows_of_equal_lengths_is_the_padded_op(backend, kind, reverse):
    """batch_sizes = [B] * T on x.reshape(T·B, I) is the padded layer exactly: y (as rows), the final
    states and every gradient, bit for bit (the same steps on the same rows)."""
    gates, (T, B, I, H) = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind], (4, 3, 2, 5)
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(shape) for shape in [(T, B, I), *[(B, H)] * (2 if kind == "LSTM" else 1),
                                                       (gates * H, I), (gates * H, H), (gates * H,), (gates * H,)]]
    layer = getattr(ops, f"{kind}Layer")
    results = []
    for packed in (False, True):
        leaves = [tg.tensor(a, requires_grad=True) for a in arrays]
        x = leaves[0].reshape(T * B, I) if packed else leaves[0]
        y, *finals = layer.apply(x, *leaves[1:], reverse=reverse, batch_sizes=[B] * T if packed else None)
        _weighted_sum(tg, [y.reshape(T * B, H), *finals]).backward()
        results.append([y.reshape(T * B, H), *finals, *(leaf.grad for leaf in leaves)])
    for padded_result, packed_result in zip(*results, strict=True):
        np.testing.assert_array_equal(packed_result.detach().numpy(), padded_result.detach().numpy())


@pytest.mark.parametrize("batch_sizes", [[3, 2], [2, 3, 1], [3, 2, 0], []])
def test_layer_op_refuses_batch_sizes_that_do_not_fit_the_rows(batch_sizes):
    """Packed rows (6, 2) need n_1 ≥ … ≥ n_T ≥ 1 adding up to 6; the error names the op and both."""
    w_ih, w_hh, h0 = tg.zeros(12, 2), tg.zeros(12, 4), tg.zeros(3, 4)
    with pytest.raises(ValueError, match=r"gru_layer: packed x must be \(N, I\).*got x \(6, 2\) and batch_sizes"):
        ops.GRULayer.apply(tg.zeros(6, 2), h0, w_ih, w_hh, None, None, batch_sizes=batch_sizes)
