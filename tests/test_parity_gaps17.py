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
    "cummax": lambda x: x.cummax(1),
    "cummin": lambda x: x.cummin(1),
    "nanmedian": lambda x: x.nanmedian(1),
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
    (np.bool_, np.bool_, 2), (np.bool_, np.bool_, 0), (np.bool_, np.bool_, 1.5), (np.bool_, np.int64, 3),
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


# ---- smooth_l1 / huber: one helper; huber = δ · smooth_l1(β = δ) ---------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("scale", [0.0, 0.3, 1.0, 2.5])
def test_smooth_l1_and_huber_match_torch(dtype, reduction, scale):
    x_np = RNG.standard_normal((4, 5)).astype(dtype) * 2
    target_np = RNG.standard_normal((4, 5)).astype(dtype)
    rtol, atol = TOLERANCES[dtype]
    cases = [("smooth_l1_loss", {"beta": scale})] + ([("huber_loss", {"delta": scale})] if scale > 0 else [])
    for name, option in cases:
        x, x_t = _both(x_np, requires_grad=True)
        loss = getattr(tg.nn.functional, name)(x, tg.tensor(target_np), reduction=reduction, **option)
        loss_t = getattr(torch.nn.functional, name)(x_t, torch.tensor(target_np), reduction=reduction, **option)
        weights = RNG.standard_normal(loss.shape).astype(dtype)
        (loss * tg.tensor(weights)).sum().backward()
        (loss_t * torch.tensor(weights)).sum().backward()
        assert loss.dtype == dtype
        np.testing.assert_allclose(loss.detach().numpy(), loss_t.detach().numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=rtol, atol=atol)


def test_huber_is_delta_times_smooth_l1_with_beta_delta_in_torch_too():
    x, target = torch.tensor(RNG.standard_normal(20) * 3), torch.tensor(RNG.standard_normal(20))
    for delta in (0.2, 1.0, 4.0):
        huber = torch.nn.functional.huber_loss(x, target, reduction="none", delta=delta)
        scaled = delta * torch.nn.functional.smooth_l1_loss(x, target, reduction="none", beta=delta)
        np.testing.assert_allclose(huber.numpy(), scaled.numpy(), rtol=1e-12)


def test_smooth_l1_and_huber_refuse_bad_thresholds_as_torch():
    a = tg.ones(3)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must not be negative, got -1"):
        tg.nn.functional.smooth_l1_loss(a, a, beta=-1.0)
    for delta in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"huber_loss: delta must be positive, got {delta}"):
            tg.nn.functional.huber_loss(a, a, delta=delta)
        with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta"):
            torch.nn.functional.huber_loss(torch.ones(3), torch.ones(3), delta=delta)


# ---- shape errors of the composed losses name the loss and the shapes ----------------------------

SHAPE_ERRORS = [
    ("margin_ranking_loss", [(3,), (4,), (3,)], r"margin_ranking_loss: input1 of shape \(3,\), input2 of shape "
                                                r"\(4,\), target of shape \(3,\) cannot be broadcast"),
    ("margin_ranking_loss", [(3,), (3,), (2,)], r"margin_ranking_loss: .*target of shape \(2,\)"),
    ("margin_ranking_loss", [(3,), (3, 1), (3,)], r"margin_ranking_loss: all input tensors should have the same "
                                                  r"number of dims, got input1 of shape \(3,\), input2 of shape"),
    ("poisson_nll_loss", [(3,), (4,)], r"poisson_nll_loss: input of shape \(3,\), target of shape \(4,\) cannot"),
    ("hinge_embedding_loss", [(2, 3), (2,)], r"hinge_embedding_loss: input of shape \(2, 3\), target of shape "
                                             r"\(2,\) cannot"),
]


@pytest.mark.parametrize(("name", "shapes", "match"), SHAPE_ERRORS)
def test_loss_shape_errors_name_the_loss_and_shapes(name, shapes, match):
    with pytest.raises(tg.ShapeError, match=match):
        getattr(tg.nn.functional, name)(*(tg.ones(*s) for s in shapes))
    with pytest.raises(RuntimeError):  # torch refuses these too (its message names the inner op's sizes)
        getattr(torch.nn.functional, name)(*(torch.ones(*s) for s in shapes))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_composed_losses_still_broadcast_as_torch(dtype):
    x_np, target_np = RNG.standard_normal((3, 1)).astype(dtype), np.sign(RNG.standard_normal(4)).astype(dtype)
    rtol, atol = TOLERANCES[dtype]
    for name in ("hinge_embedding_loss", "poisson_nll_loss"):
        loss = getattr(tg.nn.functional, name)(tg.tensor(x_np), tg.tensor(target_np))
        loss_t = getattr(torch.nn.functional, name)(torch.tensor(x_np), torch.tensor(target_np))
        np.testing.assert_allclose(loss.item(), loss_t.item(), rtol=rtol, atol=atol)


# ---- nansum / nanmean: the gradient is g ⊙ [x ≠ NaN], NaN for a slice of NaN only ---------------

NAN_SLICES = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [0.5, -2.0, np.nan]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["nanmean", "nansum"])
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (1, False), (1, True), (0, False), ((0, 1), True)])
def test_nan_reductions_values_and_gradients_match_torch(dtype, method, dim, keepdim):
    x, x_t = _both(NAN_SLICES.astype(dtype), requires_grad=True)
    args = () if dim is None else (dim, keepdim)
    y, y_t = getattr(x, method)(*args), getattr(x_t, method)(*args)
    assert y.grad_fn.name() == y_t.grad_fn.name()
    np.testing.assert_array_equal(y.detach().numpy(), y_t.detach().numpy())  # NaN where torch's is NaN
    weights = np.arange(1.0, 1.0 + y.numel()).reshape(y.shape).astype(dtype)
    (y * tg.tensor(weights)).sum().backward()
    (y_t * torch.tensor(weights)).sum().backward()
    rtol, atol = TOLERANCES[dtype]
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=rtol, atol=atol)  # NaN positions equal too


def test_nanmean_gradient_of_a_slice_of_nan_only_is_nan_as_torch():
    x, x_t = _both(NAN_SLICES, requires_grad=True)
    x.nanmean(1).sum().backward()
    x_t.nanmean(1).sum().backward()
    assert np.isnan(x.grad.numpy()[1]).all() and np.isnan(x_t.grad.numpy()[1]).all()
    np.testing.assert_array_equal(x.grad.numpy(), x_t.grad.numpy())


def test_nansum_gradient_is_a_product_with_the_mask_as_torch():
    """An infinite incoming gradient times the mask's 0 is NaN at the NaN elements, in both."""
    x, x_t = _both(NAN_SLICES, requires_grad=True)
    x.nansum(1).backward(tg.tensor([1.0, np.inf, 2.0]))
    x_t.nansum(1).backward(torch.tensor([1.0, np.inf, 2.0]))
    np.testing.assert_array_equal(x.grad.numpy(), x_t.grad.numpy())


def test_nansum_gradgrad_matches_gradcheck():
    x = tg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: t.nansum(1) ** 2, (x,))
    assert tg.autograd.gradgradcheck(lambda t: t.nansum(1) ** 2, (x,))


# ---- tg.<function>(not a tensor): TypeError naming the function and the type, as torch ------------

def _tensor_functions() -> list[str]:
    """The tg.* functions that are Tensor methods taking the tensor first (tg.exp is x.exp())."""
    return sorted(n for n in tg.__all__ if getattr(getattr(tg, n), "__qualname__", None) == n
                  and hasattr(getattr(tg, n), "__wrapped__"))


def test_every_method_function_checks_its_input():
    names = _tensor_functions()
    assert {"exp", "sin", "sum", "add", "max", "kthvalue", "maximum", "std_mean", "nanmean"} <= set(names)
    unchecked = [n for n in tg.__all__ if getattr(getattr(tg, n), "__qualname__", "").startswith("Tensor.")]
    assert unchecked == [], ("bare Tensor methods exported as functions: define them before the tensor_function "
                             "loop at the end of tinygrad_edu/__init__.py")


@pytest.mark.parametrize("value", [2.0, np.array([1.0, 2.0]), [1.0, 2.0], 3])
def test_functions_refuse_a_non_tensor_input_as_torch(value):
    kind = {float: "float", int: "int", list: "list", np.ndarray: "numpy.ndarray"}[type(value)]
    compared = 0
    for name in _tensor_functions():
        with pytest.raises(TypeError, match=rf"^{name}\(\): argument 'input' \(position 1\) must be Tensor, "
                                            rf"not {kind}$"):
            getattr(tg, name)(value)
        # torch.norm is Python code that fails inside (AttributeError); every other one is a TypeError
        with pytest.raises(AttributeError if name == "norm" else TypeError):
            getattr(torch, name)(value)
        compared += 1
    assert compared > 200


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_functions_on_tensors_are_the_methods(dtype):
    x_np = RNG.standard_normal((3, 4)).astype(dtype)
    x, x_t = _both(x_np)
    rtol, atol = TOLERANCES[dtype]
    for name, args, kwargs in [("exp", (), {}), ("sin", (), {}), ("sum", (1,), {"keepdim": True}),
                               ("add", (x,), {"alpha": 2.0}), ("clamp", (), {"min": -0.5, "max": 0.5}),
                               ("softmax", (0,), {}), ("std", (1,), {}), ("amax", (), {"dim": 0})]:
        ours = getattr(tg, name)(x, *args, **kwargs)
        theirs = getattr(torch, name)(x_t, *(x_t if a is x else a for a in args), **kwargs)
        np.testing.assert_array_equal(ours.numpy(), getattr(x, name)(*args, **kwargs).numpy())
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=atol)
    assert tg.max(x, 1).indices.tolist() == torch.max(x_t, 1).indices.tolist()
    assert tg.maximum(x, x * 2).shape == x.shape


def test_function_keeps_the_methods_name_doc_and_signature():
    import inspect

    assert tg.exp.__name__ == "exp" and tg.exp.__doc__ == tg.Tensor.exp.__doc__
    assert tg.divide.__name__ == "divide" and tg.divide.__wrapped__ is tg.Tensor.div
    assert list(inspect.signature(tg.sum).parameters) == list(inspect.signature(tg.Tensor.sum).parameters)


# ---- grad_fn names of einsum (a composite in torch: its last op), unfold (Im2Col), fold (Col2Im) ---

EINSUM_NAMES = [
    ("ij->ij", [(2, 3)]), ("ij->ji", [(2, 3)]), ("ij->i", [(2, 3)]), ("ij->", [(2, 3)]), ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]), ("iij->j", [(3, 3, 2)]), ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk->ki", [(2, 3), (3, 4)]),
    ("ij,j->i", [(2, 3), (3,)]), ("i,i->", [(3,), (3,)]), ("i,i->i", [(3,), (3,)]), ("i,j->ji", [(2,), (3,)]),
    ("ij,k->jk", [(2, 3), (4,)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]), ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("i,j,k->kji", [(2,), (3,), (1,)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ba", [(2, 3)]),
]


@pytest.mark.parametrize(("equation", "shapes"), EINSUM_NAMES)
def test_einsum_grad_fn_name_as_torch(equation, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    ours = tg.einsum(equation, *(tg.tensor(a, requires_grad=True) for a in arrays))
    theirs = torch.einsum(equation, *(torch.tensor(a, requires_grad=True) for a in arrays))
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(2, 3, 5, 5), (3, 5, 5)])  # batched, and unbatched: one node too, as torch
def test_unfold_and_fold_grad_fn_names_as_torch(dtype, shape):
    x, x_t = _both(RNG.standard_normal(shape).astype(dtype), requires_grad=True)
    cols, cols_t = tg.nn.functional.unfold(x, 2, padding=1), torch.nn.functional.unfold(x_t, 2, padding=1)
    image = tg.nn.functional.fold(cols, (5, 5), 2, padding=1)
    image_t = torch.nn.functional.fold(cols_t, (5, 5), 2, padding=1)
    assert (cols.grad_fn.name(), image.grad_fn.name()) == (cols_t.grad_fn.name(), image_t.grad_fn.name()) == (
        "Im2ColBackward0", "Col2ImBackward0")
    assert f"grad_fn=<{cols_t.grad_fn.name()}>" in repr(cols)
    rtol, atol = TOLERANCES[dtype]
    np.testing.assert_allclose(image.detach().numpy(), image_t.detach().numpy(), rtol=rtol, atol=atol)
    weights = RNG.standard_normal(image.shape).astype(dtype)
    (image * tg.tensor(weights)).sum().backward()
    (image_t * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=rtol, atol=atol)
    if dtype == np.float64:
        assert tg.autograd.gradgradcheck(lambda t: tg.nn.functional.fold(
            tg.nn.functional.unfold(t, 2, padding=1) ** 2, (5, 5), 2, padding=1), (x.detach().requires_grad_(),))


# ---- MultiheadAttention: one packed in-projection for self-attention (and key = value) -----------

def _attention_pair(dtype, batch_first=False):
    ours = tg.nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=tg.dtypes.as_dtype(dtype))
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first,
                                         dtype=torch.float64 if dtype == np.float64 else torch.float32)
    ours.in_proj_bias.data = RNG.standard_normal(24).astype(dtype)  # nonzero, so that the bias slicing shows
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sharing", ["self", "key_is_value", "cross"])
@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
def test_attention_projections_match_torch(dtype, sharing, layout):
    ours, theirs = _attention_pair(dtype, batch_first=layout == "batch_first")
    shape = {"seq_first": (5, 3, 8), "batch_first": (3, 5, 8), "unbatched": (5, 8)}[layout]
    arrays = [RNG.standard_normal(shape).astype(dtype) for _ in range(3)]
    inputs = [_both(a, requires_grad=True) for a in arrays]
    pick = {"self": (0, 0, 0), "key_is_value": (0, 1, 1), "cross": (0, 1, 2)}[sharing]
    out, weights = ours(*(inputs[i][0] for i in pick))
    out_t, weights_t = theirs(*(inputs[i][1] for i in pick))
    (out * out).sum().backward()
    (out_t * out_t).sum().backward()
    rtol, atol = TOLERANCES[dtype]
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(weights.detach().numpy(), weights_t.detach().numpy(), rtol=rtol, atol=atol)
    for i in sorted(set(pick)):
        np.testing.assert_allclose(inputs[i][0].grad.numpy(), inputs[i][1].grad.numpy(), rtol=rtol, atol=atol * 10)
    np.testing.assert_allclose(ours.in_proj_weight.grad.numpy(), theirs.in_proj_weight.grad.numpy(),
                               rtol=rtol, atol=atol * 10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_packed_projection_gives_the_same_values_as_three(dtype, monkeypatch):
    ours, _ = _attention_pair(dtype)
    x = tg.tensor(RNG.standard_normal((6, 2, 8)).astype(dtype))
    calls = []
    linear = tg.nn.functional.linear
    monkeypatch.setattr(tg.nn.functional, "linear", lambda *a: calls.append(a[1].shape) or linear(*a))
    packed = ours(x, x, x)
    assert calls[0] == (24, 8) and len(calls) == 2  # the packed in-projection, then out_proj
    calls.clear()
    separate = ours(x, x.clone(), x.clone())  # equal values, three tensors: three projections
    assert calls[:3] == [(8, 8)] * 3
    calls.clear()
    shared = x.clone()
    key_value = ours(x, shared, shared)
    assert calls[:2] == [(8, 8), (16, 8)]
    for result in (packed, key_value):
        for value, expected in zip(result, separate):
            np.testing.assert_array_equal(value.detach().numpy(), expected.detach().numpy())
