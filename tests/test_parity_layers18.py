"""nn.Bilinear, nn.EmbeddingBag, nn.CTCLoss and the Transformer decoder (layer, stack, whole model)
against PyTorch: parameter names, shapes and initialisation, forward values and the gradients of
every input and parameter in float64 (tight) and float32, options drawn by hypothesis, masks,
train/eval, and the error messages for bad shapes."""

from __future__ import annotations

import contextlib
import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F  # noqa: N812 - PyTorch's conventional name
from tinygrad_edu import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.torch

DTYPES = {"float64": (np.float64, torch.float64, 1e-9), "float32": (np.float32, torch.float32, 2e-5)}
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def close(ours: Any, theirs: Any, tol: float) -> None:
    """Values (and dtypes) equal to float tolerance; inf and nan must sit at the same places."""
    ours = ours.detach().numpy() if isinstance(ours, tg.Tensor) else np.asarray(ours)
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def pair(array: np.ndarray, dtype: str = "float64", requires_grad: bool = True) -> tuple[tg.Tensor, Any]:
    """The same values as a tinygrad_edu and a torch tensor of ``dtype``."""
    a = np.asarray(array).astype(DTYPES[dtype][0])
    return tg.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def copy_weights(ours: nn.Module, theirs: Any) -> None:
    """Load torch's initialised parameters into ours (the state-dict keys must be equal, in order)."""
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    for key, value in state.items():
        assert tuple(ours.state_dict()[key].shape) == tuple(value.shape), key
    ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in state.items()})


def check_parameter_grads(ours: nn.Module, theirs: Any, tol: float) -> None:
    theirs_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, theirs_grads[name].grad, tol)


# ---- Bilinear ------------------------------------------------------------------------------------


@SETTINGS
@given(batch=st.lists(st.integers(1, 3), max_size=2), in1=st.integers(1, 4), in2=st.integers(1, 4),
       out=st.integers(1, 3), bias=st.booleans(), dtype=st.sampled_from(sorted(DTYPES)), seed=st.integers(0, 99))
def test_bilinear_matches_torch(batch, in1, in2, out, bias, dtype, seed):
    _, torch_dtype, tol = DTYPES[dtype]
    theirs = torch.nn.Bilinear(in1, in2, out, bias=bias, dtype=torch_dtype)
    ours = nn.Bilinear(in1, in2, out, bias=bias, dtype=DTYPES[dtype][0])
    copy_weights(ours, theirs)
    rng = np.random.default_rng(seed)
    x1, t1 = pair(rng.standard_normal((*batch, in1)), dtype)
    x2, t2 = pair(rng.standard_normal((*batch, in2)), dtype)
    y, expected = ours(x1, x2), theirs(t1, t2)
    close(y, expected, tol)
    g = rng.standard_normal(expected.shape)
    y.backward(tg.tensor(g.astype(DTYPES[dtype][0])))
    expected.backward(torch.tensor(g, dtype=torch_dtype))
    close(x1.grad, t1.grad, tol)
    close(x2.grad, t2.grad, tol)
    check_parameter_grads(ours, theirs, tol)


def test_bilinear_init_repr_and_double_backward():
    tg.manual_seed(0)  # the bias has 5 values: unseeded, all below 0.6·bound one run in 13
    layer, reference = nn.Bilinear(3, 4, 5), torch.nn.Bilinear(3, 4, 5)
    assert repr(layer) == repr(reference)
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (5, 3, 4)
    bound = 1 / math.sqrt(3)  # PyTorch's U(−1/√in1, 1/√in1) for weight and bias
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.6 * bound
    rng = np.random.default_rng(0)
    args = [tg.tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 3), (2, 4), (5, 3, 4), (5,))]
    assert tg.autograd.gradcheck(F.bilinear, args)
    assert tg.testing.gradgradcheck(F.bilinear, args)


def test_bilinear_shape_errors_name_the_layer_and_shapes():
    layer = nn.Bilinear(3, 4, 5)
    with pytest.raises(ValueError, match=r"Bilinear.*\(2, 3\) and \(3, 4\)"):
        layer(tg.randn(2, 3), tg.randn(3, 4))
    with pytest.raises(ValueError, match=r"Bilinear.*\(2, 5\)"):
        layer(tg.randn(2, 5), tg.randn(2, 4))
    with pytest.raises(ValueError, match=r"bilinear.*bias \(4,\)"):
        F.bilinear(tg.randn(2, 3), tg.randn(2, 4), tg.randn(5, 3, 4), tg.randn(4))


# ---- EmbeddingBag --------------------------------------------------------------------------------


@st.composite
def bag_cases(draw: st.DrawFn) -> dict[str, Any]:
    """Bags (some empty, some with repeats and padding entries) as a 2-D input or 1-D input + offsets."""
    rows = draw(st.integers(2, 6))
    mode = draw(st.sampled_from(("sum", "mean", "max")))
    case = {"rows": rows, "mode": mode, "padding_idx": draw(st.sampled_from((None, 0, -1))),
            "weighted": mode == "sum" and draw(st.booleans()), "include_last_offset": False}
    index = st.integers(0, rows - 1)
    if draw(st.booleans()):
        width = draw(st.integers(1, 4))
        case["input"] = np.array(draw(st.lists(st.lists(index, min_size=width, max_size=width), min_size=1,
                                               max_size=3)))
        case["offsets"] = None
    else:
        bags = draw(st.lists(st.lists(index, max_size=4), min_size=1, max_size=4))
        case["input"] = np.array([i for bag in bags for i in bag], dtype=np.int64)
        starts = np.cumsum([0] + [len(bag) for bag in bags])
        case["include_last_offset"] = draw(st.booleans())
        case["offsets"] = starts if case["include_last_offset"] else starts[:-1]
    return case


@SETTINGS
@given(case=bag_cases(), dtype=st.sampled_from(sorted(DTYPES)), seed=st.integers(0, 99))
def test_embedding_bag_matches_torch(case, dtype, seed):
    ours_dtype, torch_dtype, tol = DTYPES[dtype]
    theirs = torch.nn.EmbeddingBag(case["rows"], 3, mode=case["mode"], padding_idx=case["padding_idx"],
                                   include_last_offset=case["include_last_offset"], dtype=torch_dtype)
    ours = nn.EmbeddingBag(case["rows"], 3, mode=case["mode"], padding_idx=case["padding_idx"],
                           include_last_offset=case["include_last_offset"], dtype=ours_dtype)
    copy_weights(ours, theirs)
    rng = np.random.default_rng(seed)
    weights = pair(rng.standard_normal(case["input"].shape), dtype) if case["weighted"] else (None, None)
    offsets = case["offsets"]
    y = ours(tg.tensor(case["input"]), None if offsets is None else tg.tensor(offsets), weights[0])
    expected = theirs(torch.tensor(case["input"]), None if offsets is None else torch.tensor(offsets), weights[1])
    close(y, expected, tol)
    g = rng.standard_normal(expected.shape)
    y.backward(tg.tensor(g.astype(ours_dtype)))
    expected.backward(torch.tensor(g, dtype=torch_dtype))
    check_parameter_grads(ours, theirs, tol)
    if case["weighted"]:
        close(weights[0].grad, weights[1].grad, tol)


def test_embedding_bag_init_from_pretrained_and_repr():
    layer = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=-2)
    assert layer.padding_idx == 8 and not layer.weight.data[8].any() and layer.weight.data.std() > 0.3
    assert repr(layer) == repr(torch.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=-2))
    assert repr(nn.EmbeddingBag(4, 2)) == repr(torch.nn.EmbeddingBag(4, 2))
    table = tg.tensor(np.arange(12.0).reshape(4, 3))
    for freeze in (True, False):
        bag = nn.EmbeddingBag.from_pretrained(table, freeze=freeze, mode="max")
        assert bag.weight.requires_grad is not freeze and bag.mode == "max"
        np.testing.assert_array_equal(bag(tg.tensor([[0, 3], [1, 2]])).detach().numpy(), [[9, 10, 11], [6, 7, 8]])
    embedding = nn.Embedding.from_pretrained(table, padding_idx=1)
    assert not embedding.weight.requires_grad and embedding.weight.data[1].tolist() == [3.0, 4.0, 5.0]


def test_embedding_bag_errors():
    weight = tg.randn(5, 3)
    with pytest.raises(ValueError, match="offsets must be None"):
        F.embedding_bag(tg.tensor([[1, 2]]), weight, tg.tensor([0]))
    with pytest.raises(ValueError, match=r"EmbeddingBag: embedding_bag: a 2-D input \(1, 2\)"):  # the layer named
        nn.EmbeddingBag(5, 3)(tg.tensor([[1, 2]]), tg.tensor([0]))
    with pytest.raises(ValueError, match="1-D offsets"):
        F.embedding_bag(tg.tensor([1, 2]), weight)
    with pytest.raises(ValueError, match=r"offsets\[0\] must be 0"):
        F.embedding_bag(tg.tensor([1, 2]), weight, tg.tensor([1]))
    with pytest.raises(ValueError, match="non-decreasing"):
        F.embedding_bag(tg.tensor([1, 2, 3]), weight, tg.tensor([0, 2, 1]))
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(tg.tensor([1, 2]), weight, tg.tensor([0]), per_sample_weights=tg.ones(2))
    with pytest.raises(ValueError, match=r"per_sample_weights \(3,\) must have the input's shape \(2,\)"):
        F.embedding_bag(tg.tensor([1, 2]), weight, tg.tensor([0]), mode="sum", per_sample_weights=tg.ones(3))
    with pytest.raises(IndexError, match="out of range"):
        F.embedding_bag(tg.tensor([1, 5]), weight, tg.tensor([0]))
    with pytest.raises(ValueError, match="mode has to be one of"):
        nn.EmbeddingBag(5, 3, mode="min")
    with pytest.raises(NotImplementedError, match="sparse=True"):  # (max_norm is supported: test_embedding_bag_more)
        nn.EmbeddingBag(5, 3, sparse=True)
    with pytest.raises(ValueError, match="EmbeddingBag: padding_idx 5"):
        nn.EmbeddingBag(5, 3, padding_idx=5)


def test_embedding_bag_include_last_offset_needs_the_input_length_last():
    """PyTorch's contract: offsets[-1] == len(input) (CSR). Its kernel ignores the last offset (the
    last bag runs to the input's end whatever it says), so anything else is refused, not guessed."""
    table = np.arange(24, dtype=np.float64).reshape(8, 3)
    indices = np.arange(6)
    ours = F.embedding_bag(tg.tensor(indices), tg.tensor(table), tg.tensor([0, 2, 6]), mode="sum",
                           include_last_offset=True)
    theirs = torch.nn.functional.embedding_bag(torch.tensor(indices), torch.tensor(table), torch.tensor([0, 2, 6]),
                                               mode="sum", include_last_offset=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for offsets in ([0, 2, 5], [0, 2, 4], [0]):
        with pytest.raises(ValueError, match=r"include_last_offset=True the last offset must be the input's length 6"):
            F.embedding_bag(tg.tensor(indices), tg.tensor(table), tg.tensor(offsets), include_last_offset=True)


# ---- CTC -----------------------------------------------------------------------------------------


@st.composite
def ctc_cases(draw: st.DrawFn) -> dict[str, Any]:
    """Random frames, classes, lengths (target length 0, inputs too short for their target: impossible)."""
    frames, batch, classes = draw(st.integers(1, 7)), draw(st.integers(1, 3)), draw(st.integers(2, 4))
    blank = draw(st.integers(0, classes - 1))
    labels = [c for c in range(classes) if c != blank]
    targets = [draw(st.lists(st.sampled_from(labels), max_size=4)) for _ in range(batch)]  # small C: repeats
    return {"frames": frames, "classes": classes, "blank": blank, "targets": targets,
            "input_lengths": [draw(st.integers(0, frames)) for _ in range(batch)],
            "reduction": draw(st.sampled_from(("none", "mean", "sum"))), "zero_infinity": draw(st.booleans()),
            "concatenated": draw(st.booleans()), "normalised": draw(st.booleans())}


def _ctc_targets(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(t) for t in case["targets"]], dtype=np.int64)
    if case["concatenated"]:
        return np.array([c for t in case["targets"] for c in t], dtype=np.int64), lengths
    padded = np.full((len(lengths), max(lengths.max(), 1)), case["blank"], dtype=np.int64)
    for row, target in zip(padded, case["targets"]):
        row[:len(target)] = target
    return padded, lengths


@SETTINGS
@given(case=ctc_cases(), dtype=st.sampled_from(sorted(DTYPES)), seed=st.integers(0, 99))
def test_ctc_loss_matches_torch(case, dtype, seed):
    _, _, tol = DTYPES[dtype]
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((case["frames"], len(case["targets"]), case["classes"]))
    # raw values too: the gradient is PyTorch's (exp(lp) − posterior) either way
    x, t = pair(logits - np.log(np.exp(logits).sum(2, keepdims=True)) if case["normalised"] else logits, dtype)
    targets, lengths = _ctc_targets(case)
    options = {"blank": case["blank"], "reduction": case["reduction"], "zero_infinity": case["zero_infinity"]}
    y = nn.CTCLoss(**options)(x, tg.tensor(targets), tg.tensor(case["input_lengths"]), tg.tensor(lengths))
    expected = torch.nn.CTCLoss(**options)(t, torch.tensor(targets), torch.tensor(case["input_lengths"]),
                                           torch.tensor(lengths))
    close(y, expected, tol)
    g = rng.standard_normal(expected.shape)
    y.backward(tg.tensor(g.astype(DTYPES[dtype][0])))
    expected.backward(torch.tensor(g, dtype=DTYPES[dtype][1]))
    close(x.grad, t.grad, tol)


def _ctc_by_enumeration(log_probs: np.ndarray, target: list[int], blank: int) -> float:
    """−log Σ over all C^T frame labellings that collapse (merge repeats, drop blanks) to ``target``."""
    frames, classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=frames):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == target:
            total += math.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -math.log(total) if total else math.inf


@pytest.mark.parametrize("target", [[], [1], [1, 1], [1, 2], [2, 1, 2], [1, 1, 1]])
def test_ctc_alpha_recursion_equals_the_sum_over_all_alignments(target):
    rng = np.random.default_rng(len(target))
    logits = rng.standard_normal((4, 3))
    log_probs = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ours = F.ctc_loss(tg.tensor(log_probs), tg.tensor(target, dtype=tg.int64), 4, len(target), reduction="sum")
    np.testing.assert_allclose(ours.item(), _ctc_by_enumeration(log_probs, target, 0), rtol=1e-12)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_impossible_alignment(zero_infinity):
    """[1, 1] needs 3 frames (1, blank, 1): in 2 frames p = 0, the loss inf (nan gradient), or 0 and a
    zero gradient with zero_infinity; the possible second sample is unaffected either way."""
    rng = np.random.default_rng(2)
    x, t = pair(rng.standard_normal((2, 2, 3)))
    targets, lengths = np.array([[1, 1], [1, 2]]), np.array([2, 2])
    y = F.ctc_loss(x, tg.tensor(targets), [2, 2], tg.tensor(lengths), reduction="none", zero_infinity=zero_infinity)
    expected = TF.ctc_loss(t, torch.tensor(targets), torch.tensor([2, 2]), torch.tensor(lengths), reduction="none",
                           zero_infinity=zero_infinity)
    assert y.detach().numpy()[0] == (0.0 if zero_infinity else math.inf) and np.isfinite(y.detach().numpy()[1])
    close(y, expected, 1e-12)
    y.sum().backward()
    expected.sum().backward()
    assert np.isnan(x.grad.numpy()[:, 0]).all() != zero_infinity and np.isfinite(x.grad.numpy()[:, 1]).all()
    close(x.grad, t.grad, 1e-12)


def test_ctc_loss_gradcheck_unbatched_long_inputs_and_no_double_backward():
    rng = np.random.default_rng(1)
    logits = tg.tensor(rng.standard_normal((6, 2, 4)), requires_grad=True)
    targets, in_lengths, lengths = tg.tensor([[1, 1, 3], [2, 0, 0]]), tg.tensor([6, 3]), tg.tensor([3, 1])
    assert tg.autograd.gradcheck(lambda x: F.ctc_loss(x.log_softmax(2), targets, in_lengths, lengths), [logits])
    loss = F.ctc_loss(logits.log_softmax(2), targets, in_lengths, lengths)
    (grad,) = tg.autograd.grad(loss, [logits], create_graph=False)
    assert grad.shape == logits.shape
    with pytest.raises(NotImplementedError, match="CTCLoss"):
        tg.autograd.grad(F.ctc_loss(logits.log_softmax(2), targets, in_lengths, lengths), [logits], create_graph=True)
    # unbatched (T, C): a scalar for every reduction, as PyTorch
    x, t = pair(rng.standard_normal((5, 3)))
    for reduction in ("none", "mean", "sum"):
        close(F.ctc_loss(x, tg.tensor([1, 2]), 5, 2, reduction=reduction),
              TF.ctc_loss(t, torch.tensor([1, 2]), torch.tensor(5), torch.tensor(2), reduction=reduction), 1e-12)
    # 400 frames: p(l | x) below e^−745, which is 0 in float64 (not even subnormal): fine in log space
    logits = 4 * rng.standard_normal((400, 1, 5))
    x, t = pair(logits - np.log(np.exp(logits).sum(2, keepdims=True)))
    targets = rng.integers(1, 5, (1, 60))
    y = F.ctc_loss(x, tg.tensor(targets), [400], [60], reduction="sum")
    expected = TF.ctc_loss(t, torch.tensor(targets), torch.tensor([400]), torch.tensor([60]), reduction="sum")
    assert np.isfinite(y.item()) and y.item() > 745
    close(y, expected, 1e-10)
    y.backward()
    expected.backward()
    close(x.grad, t.grad, 1e-10)


def test_ctc_loss_errors_and_module():
    x = tg.randn(5, 2, 4)
    assert repr(nn.CTCLoss(blank=2)) == repr(torch.nn.CTCLoss(blank=2)) == "CTCLoss()"
    with pytest.raises(ValueError, match=r"input_lengths must be within 0\.\.5"):
        F.ctc_loss(x, tg.tensor([[1], [2]]), [6, 5], [1, 1])
    with pytest.raises(ValueError, match=r"target_lengths must be within 0\.\.1"):
        F.ctc_loss(x, tg.tensor([[1], [2]]), [5, 5], [2, 1])
    with pytest.raises(ValueError, match="input_lengths must hold 2 integers"):
        F.ctc_loss(x, tg.tensor([[1], [2]]), [5], [1, 1])
    with pytest.raises(IndexError, match=r"class indices in 0\.\.3"):
        F.ctc_loss(x, tg.tensor([[1], [7]]), [5, 5], [1, 1])
    with pytest.raises(ValueError, match=r"ctc_loss: expected log_probs \(T, N, C\) or \(T, C\), got \(5,\)"):
        F.ctc_loss(tg.randn(5), tg.tensor([1]), [5], [1])
    with pytest.raises(ValueError, match=r"CTCLoss: ctc_loss: expected log_probs .* got \(5, 2, 4, 1\)"):
        nn.CTCLoss()(x.unsqueeze(-1), tg.tensor([[1], [2]]), [5, 5], [1, 1])
    with pytest.raises(ValueError, match="shorter than the sum of target_lengths"):
        F.ctc_loss(x, tg.tensor([1, 2]), [5, 5], [2, 1])
    with pytest.raises(ValueError, match="blank 4"):
        F.ctc_loss(x, tg.tensor([[1], [2]]), [5, 5], [1, 1], blank=4)
    with pytest.raises(ValueError, match="reduction"):
        nn.CTCLoss(reduction="avg")


def test_ctc_loss_refuses_float_targets_of_either_layout():
    """Class indices must be integers, padded (N, S) or concatenated (Σ U_n,): a float 2.5 is not
    truncated to class 2 (PyTorch casts silently)."""
    log_probs = tg.tensor(np.log(np.full((6, 2, 4), 0.25)))
    for targets in (np.array([[1.0, 2.0], [2.0, 2.0]]), np.array([1.0, 2.5, 3.0])):
        with pytest.raises(ValueError, match=r"ctc_loss: expected integer targets .* float64"):
            F.ctc_loss(log_probs, targets, [6, 6], [2, 1])


# ---- Transformer decoder -------------------------------------------------------------------------


def _masks(lib: Any, target: int, source: int, kind: str, dtype: Any) -> dict[str, Any]:
    """tgt_mask (causal), memory_mask and both key-padding masks in bool or float form (None: no masks)."""
    if kind == "none":
        return {}
    causal = np.triu(np.ones((target, target), dtype=bool), 1)
    memory = np.zeros((target, source), dtype=bool)
    memory[0, -1] = True
    tgt_padding = np.zeros((2, target), dtype=bool)
    tgt_padding[1, -1] = True
    mem_padding = np.zeros((2, source), dtype=bool)
    mem_padding[0, 0] = True

    def as_mask(m: np.ndarray) -> Any:
        return lib.tensor(m if kind == "bool" else np.where(m, -np.inf, 0.0).astype(dtype))

    masks = {"tgt_mask": as_mask(causal), "memory_mask": as_mask(memory), "tgt_key_padding_mask": as_mask(tgt_padding),
             "memory_key_padding_mask": as_mask(mem_padding)}
    if kind == "float":  # PyTorch warns on mixed mask types: all float here
        masks["tgt_is_causal"] = True
    return masks


@settings(max_examples=12, deadline=None)
@given(batch_first=st.booleans(), norm_first=st.booleans(), activation=st.sampled_from(("relu", "gelu")),
       bias=st.booleans(), masks=st.sampled_from(("none", "bool", "float")), dtype=st.sampled_from(sorted(DTYPES)),
       seed=st.integers(0, 99))
def test_transformer_decoder_layer_matches_torch(batch_first, norm_first, activation, bias, masks, dtype, seed):
    ours_dtype, torch_dtype, tol = DTYPES[dtype]
    options = {"dim_feedforward": 6, "dropout": 0.0, "activation": activation, "batch_first": batch_first,
               "norm_first": norm_first, "bias": bias}
    theirs = torch.nn.TransformerDecoderLayer(4, 2, dtype=torch_dtype, **options)
    ours = nn.TransformerDecoderLayer(4, 2, dtype=ours_dtype, **options)
    copy_weights(ours, theirs)
    rng = np.random.default_rng(seed)
    shape_t, shape_m = ((2, 3, 4), (2, 5, 4)) if batch_first else ((3, 2, 4), (5, 2, 4))
    tgt, t_tgt = pair(rng.standard_normal(shape_t), dtype)
    memory, t_memory = pair(rng.standard_normal(shape_m), dtype)
    y = ours(tgt, memory, **_masks(tg, 3, 5, masks, ours_dtype))
    expected = theirs(t_tgt, t_memory, **_masks(torch, 3, 5, masks, ours_dtype))
    close(y, expected, tol)
    g = rng.standard_normal(expected.shape)
    y.backward(tg.tensor(g.astype(ours_dtype)))
    expected.backward(torch.tensor(g, dtype=torch_dtype))
    close(tgt.grad, t_tgt.grad, tol)
    close(memory.grad, t_memory.grad, tol)
    check_parameter_grads(ours, theirs, tol)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(dtype, batch_first):
    ours_dtype, torch_dtype, tol = DTYPES[dtype]
    options = {"d_model": 8, "nhead": 2, "num_encoder_layers": 2, "num_decoder_layers": 2, "dim_feedforward": 12,
               "dropout": 0.0, "batch_first": batch_first}
    with pytest.warns(UserWarning) if not batch_first else contextlib.nullcontext():  # PyTorch's nested-tensor hint
        theirs = torch.nn.Transformer(dtype=torch_dtype, **options)
    ours = nn.Transformer(dtype=ours_dtype, **options)
    copy_weights(ours, theirs)
    rng = np.random.default_rng(3)
    src, t_src = pair(rng.standard_normal((2, 5, 8) if batch_first else (5, 2, 8)), dtype)
    tgt, t_tgt = pair(rng.standard_normal((2, 4, 8) if batch_first else (4, 2, 8)), dtype)
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=ours_dtype)
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch_dtype)
    close(mask, t_mask, 0)
    padding = np.array([[False] * 4 + [True], [False] * 5])
    y = ours(src, tgt, tgt_mask=mask, src_key_padding_mask=tg.tensor(padding),
             memory_key_padding_mask=tg.tensor(padding), tgt_is_causal=True)
    expected = theirs(t_src, t_tgt, tgt_mask=t_mask, src_key_padding_mask=torch.tensor(padding),
                      memory_key_padding_mask=torch.tensor(padding), tgt_is_causal=True)
    close(y, expected, tol * 10)
    y.sum().backward()
    expected.sum().backward()
    close(src.grad, t_src.grad, tol * 10)
    close(tgt.grad, t_tgt.grad, tol * 10)
    check_parameter_grads(ours, theirs, tol * 10)


def test_transformer_init_unbatched_train_eval_and_errors():
    tg.manual_seed(0)
    model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.5)
    reference = torch.nn.Transformer(8, 2, 1, 1, 16, dropout=0.5, batch_first=True)
    assert list(model.state_dict()) == list(reference.state_dict())
    assert repr(model) == repr(reference)
    bound = math.sqrt(6 / (16 + 8))  # xavier_uniform of linear1.weight (16, 8): every matrix re-initialised
    weight = model.encoder.layers[0].linear1.weight.data
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
    src, tgt = tg.randn(5, 8), tg.randn(3, 8)  # unbatched
    assert model(src, tgt).shape == (3, 8)
    model.train()
    assert not np.allclose(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())
    model.eval()
    np.testing.assert_array_equal(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())
    with pytest.raises(ValueError, match=r"Transformer: the batch number of src and tgt must be equal"):
        model(tg.randn(5, 2, 8), tg.randn(3, 3, 8))
    with pytest.raises(ValueError, match=r"d_model 8, got src \(5, 2, 6\)"):
        model(tg.randn(5, 2, 6), tg.randn(3, 2, 6))
    with pytest.raises(ValueError, match="TransformerDecoderLayer: activation should be 'relu' or 'gelu'"):
        nn.TransformerDecoderLayer(8, 2, activation="tanh")


def test_transformer_decoder_stack_with_norm_matches_torch():
    theirs = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(4, 2, 6, 0.0, dtype=torch.float64), 2,
                                         norm=torch.nn.LayerNorm(4, dtype=torch.float64))
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 6, 0.0, dtype=np.float64), 2,
                                 norm=nn.LayerNorm(4, dtype=np.float64))
    copy_weights(ours, theirs)
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight  # independent copies
    rng = np.random.default_rng(5)
    tgt, t_tgt = pair(rng.standard_normal((3, 2, 4)))
    memory, t_memory = pair(rng.standard_normal((4, 2, 4)))
    mask = np.triu(np.ones((3, 3), dtype=bool), 1)
    y = ours(tgt, memory, tgt_mask=tg.tensor(mask))
    expected = theirs(t_tgt, t_memory, tgt_mask=torch.tensor(mask))
    close(y, expected, 1e-9)
    y.sum().backward()
    expected.sum().backward()
    close(memory.grad, t_memory.grad, 1e-9)
    check_parameter_grads(ours, theirs, 1e-9)
