"""PyTorch parity, gaps left by the previous session: the result types of the (values, indices)
ops, the recurrent cells' dtype error, add/sub's alpha on integral tensors, (more below)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(17)
TOLERANCES = {np.float64: (1e-7, 1e-10), np.float32: (1e-5, 1e-6)}


def _both(array: np.ndarray, requires_grad: bool = False):
    """The same values as a tinygrad_edu tensor and a torch tensor."""
    return (tg.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


# ---- result types: each op its own named tuple, named as torch.return_types' ----------------------

RESULT_OPS = {
    "max": lambda x: x.max(1),
    "min": lambda x: x.min(1),
    "kthvalue": lambda x: x.kthvalue(2, 1),
    "median": lambda x: x.median(1),
    "mode": lambda x: x.mode(1),
    "sort": lambda x: x.sort(1),
    "topk": lambda x: x.topk(2, 1),
    "aminmax": lambda x: x.aminmax(dim=1),
}


@pytest.mark.parametrize("op", RESULT_OPS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_result_type_is_named_as_torch(op, dtype):
    ours, theirs = _both(RNG.standard_normal((3, 5)).astype(dtype))
    result, result_t = RESULT_OPS[op](ours), RESULT_OPS[op](theirs)
    assert type(result).__name__ == type(result_t).__name__ == op
    assert type(result) is getattr(tg.return_types, op)
    assert len(result) == len(result_t)
    for field in result._fields:
        np.testing.assert_array_equal(getattr(result, field).numpy(), getattr(result_t, field).numpy())


def test_each_op_has_its_own_result_type():
    x = tg.tensor(RNG.standard_normal((3, 5)))
    assert len({type(RESULT_OPS[op](x)) for op in RESULT_OPS}) == len(RESULT_OPS)


# ---- recurrent cells: a dtype mismatch is check_same_dtype's TypeError, as linear's --------------

@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_refuse_another_dtype_with_the_shared_type_error(name):
    cell = getattr(tg.nn, name)(3, 4)
    with pytest.raises(TypeError, match=f"{name}: expected input and weight_ih of one dtype.*float64.*float32"):
        cell(tg.tensor(np.ones((2, 3))))
    state = tg.tensor(np.zeros((2, 4)))
    with pytest.raises(TypeError, match=f"{name}: expected state and weight_hh of one dtype.*float64.*float32"):
        cell(tg.ones(2, 3), (state, state) if name == "LSTMCell" else state)
    with pytest.raises(RuntimeError):  # torch's cells fail in their matmul
        getattr(torch.nn, name)(3, 4)(torch.ones(2, 3, dtype=torch.float64))


def test_rnn_layers_keep_torchs_value_error():
    with pytest.raises(ValueError, match="LSTM: input dtype float64 does not match the weight dtype float32"):
        tg.nn.LSTM(3, 4)(tg.tensor(np.ones((2, 1, 3))))
    with pytest.raises(ValueError):
        torch.nn.LSTM(3, 4)(torch.ones(2, 1, 3, dtype=torch.float64))


# ---- add / sub alpha: an integral result refuses a float alpha -----------------------------------

ALPHA_CASES = [
    (np.int64, np.int64, 1.5), (np.int64, np.int64, 1.0), (np.int64, "scalar_int", 2.5), (np.int32, np.int32, 0.5),
    (np.int64, np.float64, 1.5), (np.float32, np.int64, 1.5), (np.int64, "scalar_float", 1.5),
    (np.int64, np.int64, 2), (np.int64, np.int64, True), (np.bool_, np.bool_, True), (np.float64, np.float64, -0.5),
]


@pytest.mark.parametrize(("op", "left", "right", "alpha"), [  # bool − bool is refused by both: not an alpha rule
    (op, *case) for op in ("add", "sub") for case in ALPHA_CASES if not (op == "sub" and case[0] is np.bool_)])
def test_alpha_rules_as_torch(op, left, right, alpha):
    a = np.array([1, 0, 3]).astype(left)
    scalars = {"scalar_int": 2, "scalar_float": 1.5}
    b = scalars[right] if isinstance(right, str) else np.array([2, 1, 0]).astype(right)
    ours, theirs = tg.tensor(a), torch.tensor(a)
    try:
        expected = getattr(theirs, op)(b if np.isscalar(b) else torch.tensor(b), alpha=alpha)
    except RuntimeError as error:
        with pytest.raises(TypeError, match=f"{op}: " + str(error).split(",")[0][:20].lower()):
            getattr(ours, op)(b if np.isscalar(b) else tg.tensor(b), alpha=alpha)
        return
    result = getattr(ours, op)(b if np.isscalar(b) else tg.tensor(b), alpha=alpha)
    assert str(result.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(result.numpy(), expected.numpy())


def test_in_place_add_refuses_a_float_alpha_on_an_int_tensor():
    x = tg.tensor([1, 2])
    with pytest.raises(TypeError, match="sub: for integral input tensors"):
        x.sub_(x, alpha=0.5)
    with pytest.raises(RuntimeError, match="For integral input tensors"):
        torch.tensor([1, 2]).sub_(torch.tensor([1, 2]), alpha=0.5)
    np.testing.assert_array_equal(x.numpy(), [1, 2])


# ---- loss weights are buffers: in state_dict, converted by .to() / .double() ------------------------

WEIGHTED_LOSSES = {
    "CrossEntropyLoss": ("weight",), "NLLLoss": ("weight",), "BCELoss": ("weight",),
    "BCEWithLogitsLoss": ("weight", "pos_weight"), "MultiMarginLoss": ("weight",),
    "MultiLabelSoftMarginLoss": ("weight",),
}


@pytest.mark.parametrize("name", WEIGHTED_LOSSES)
def test_loss_weights_are_buffers_as_torch(name):
    weights = {key: np.arange(1.0, 4.0, dtype=np.float32) + i for i, key in enumerate(WEIGHTED_LOSSES[name])}
    ours = getattr(tg.nn, name)(**{k: tg.tensor(w) for k, w in weights.items()})
    theirs = getattr(torch.nn, name)(**{k: torch.tensor(w) for k, w in weights.items()})
    assert list(ours.state_dict()) == list(theirs.state_dict()) == list(WEIGHTED_LOSSES[name])
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), theirs.state_dict()[key].numpy())
    ours.double()
    theirs.double()
    for key in WEIGHTED_LOSSES[name]:
        assert getattr(ours, key).dtype == tg.float64 and getattr(theirs, key).dtype == torch.float64
    assert list(getattr(tg.nn, name)().state_dict()) == list(getattr(torch.nn, name)().state_dict()) == []
    assert getattr(tg.nn, name)().weight is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_cross_entropy_after_to_matches_torch(dtype):
    weight = np.array([0.5, 2.0, 1.0])
    logits = RNG.standard_normal((4, 3)).astype(dtype)
    target = np.array([0, 2, 1, 2])
    ours = tg.nn.CrossEntropyLoss(weight=tg.tensor(weight.astype(np.float32))).to(tg.dtypes.as_dtype(dtype))
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight.astype(np.float32))).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    x, x_t = _both(logits, requires_grad=True)
    loss, loss_t = ours(x, tg.tensor(target)), theirs(x_t, torch.tensor(target))
    loss.backward()
    loss_t.backward()
    rtol, atol = TOLERANCES[dtype]
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=rtol, atol=atol)


def test_loss_weight_must_be_a_tensor_as_torch():
    with pytest.raises(TypeError, match="weight"):
        tg.nn.NLLLoss(weight=[1.0, 2.0])
    with pytest.raises(TypeError):
        torch.nn.NLLLoss(weight=[1.0, 2.0])
