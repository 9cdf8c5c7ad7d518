"""The fused ops (ops.CrossEntropy, ops.Linear, ops.ReLU) equal the composites they replace.

Each fused op sits beside a composite written in plain Tensor ops (the code before fusion);
values and gradients must agree to rounding, under every backend, in float64 and float32.
Also: the plain backward (arrays, fused kernels) and the create_graph backward (Tensor ops)
give the same gradients, gradients of gradients are right, Linear computes only the gradients
its inputs need and is one node in the graph, and everything matches PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, ops
from tinygrad_edu.autograd import engine
from tinygrad_edu.nn import functional as F  # noqa: N812 - PyTorch's conventional name

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}
WEIGHT = np.array([0.5, 2.0, 1.0, 1.5, 0.7])
TARGET = np.array([2, -100, 4, 0, 1, -100, 3])


def composite_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax-cross-entropy as plain Tensor ops: log_softmax, gather, weights, smoothing, reduction."""
    classes = x.shape[1]
    keep = target != ignore_index
    t = np.where(keep, target, 0)
    w = np.ones(classes) if weight is None else weight
    row_weight = (w[t] * keep).astype(x.dtype)
    log_p = x.log_softmax(1)
    nll = -log_p.gather(1, t[:, None]).squeeze(1) * row_weight
    smooth = -(log_p * w.astype(x.dtype)).sum(1) * keep.astype(x.dtype)
    per_row = (1 - label_smoothing) * nll + (label_smoothing / classes) * smooth
    if reduction == "none":
        return per_row
    return per_row.sum() if reduction == "sum" else per_row.sum() / float(row_weight.sum())


def _values_and_grads(fn, arrays, dtype, create_graph=False):
    """fn's output and the gradients of Σ output·seed w.r.t. every input, as arrays."""
    inputs = [tg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = fn(*inputs)
    seed = tg.tensor(np.linspace(-1.0, 2.0, max(out.numel(), 1)).reshape(out.shape).astype(dtype))
    grads = engine.grad([out], inputs, [seed], create_graph=create_graph)
    return [out.detach().numpy()] + [g.detach().numpy() for g in grads]


def assert_all_close(actual, expected, dtype):
    for a, e in zip(actual, expected):
        assert a.dtype == e.dtype == dtype
        np.testing.assert_allclose(a, e, **TOL[dtype])


OPTIONS = [dict(), dict(weight=WEIGHT), dict(label_smoothing=0.2), dict(weight=WEIGHT, label_smoothing=0.1),
           dict(ignore_index=4, weight=WEIGHT)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(o) or "plain")
def test_cross_entropy_fused_equals_composite(backend, reduction, options, dtype, rng):
    x = rng.standard_normal((7, 5)) * 3
    target = np.where(TARGET == -100, options.get("ignore_index", -100), TARGET)

    def fused(x):
        weight = options.get("weight")
        return ops.CrossEntropy.apply(x, target=target, reduction=reduction,
                                      **dict(options, weight=None if weight is None else weight.astype(dtype)))

    expected = _values_and_grads(lambda x: composite_cross_entropy(x, target, reduction=reduction, **options),
                                 [x], dtype)
    assert_all_close(_values_and_grads(fused, [x], dtype), expected, dtype)
    assert_all_close(_values_and_grads(fused, [x], dtype, create_graph=True), expected, dtype)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_gradgrad(backend, reduction, rng):
    x = tg.tensor(rng.standard_normal((7, 5)), requires_grad=True)
    assert tg.autograd.gradgradcheck(
        lambda x: F.cross_entropy(x, TARGET, weight=tg.tensor(WEIGHT), reduction=reduction, label_smoothing=0.3),
        (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_spatial_input_matches_torch(backend, reduction, rng):
    """(N, C, d) logits with ignored positions, class weights and smoothing, values and gradients."""
    x = rng.standard_normal((3, 5, 4))
    target = rng.integers(0, 5, (3, 4))
    target[0, 1] = target[2, 3] = -1
    kwargs = dict(ignore_index=-1, reduction=reduction, label_smoothing=0.15)
    xg = tg.tensor(x, requires_grad=True)
    y = F.cross_entropy(xg, tg.tensor(target), weight=tg.tensor(WEIGHT), **kwargs)
    y.sum().backward()
    xt = torch.from_numpy(x).requires_grad_()
    yt = torch.nn.functional.cross_entropy(xt, torch.from_numpy(target), weight=torch.from_numpy(WEIGHT), **kwargs)
    yt.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-14)


def test_cross_entropy_every_row_ignored_is_nan_for_mean_as_torch(backend):
    x, target = np.zeros((2, 3)), np.array([-100, -100])
    for reduction in ("mean", "sum"):
        ours = F.cross_entropy(tg.tensor(x), target, reduction=reduction).item()
        theirs = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(target),
                                                   reduction=reduction).item()
        np.testing.assert_equal(ours, theirs)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_float16_runs_the_reference_and_is_close_to_float32(backend, reduction, rng):
    """float16 has no C kernel (and no float16 check in the reference): it must still work, as before fusion."""
    x = rng.standard_normal((7, 5))
    results = {}
    for dtype in (np.float32, np.float16):
        xg = tg.tensor(x.astype(dtype), requires_grad=True)
        loss = F.cross_entropy(xg, TARGET, weight=tg.tensor(WEIGHT), reduction=reduction, label_smoothing=0.1)
        loss.sum().backward()
        assert loss.dtype == xg.grad.dtype == dtype
        results[dtype] = (loss.detach().numpy(), xg.grad.numpy())
    for half, single in zip(results[np.float16], results[np.float32]):
        np.testing.assert_allclose(half.astype(np.float32), single, rtol=1e-2, atol=2e-3)


def test_cross_entropy_node_keeps_no_class_sized_array_after_backward(backend, rng):
    """Backward frees what it saved (softmax p included): a loss kept after backward (losses.append(loss)) must
    not hold an (N, C) array per step."""
    x = tg.tensor(rng.standard_normal((7, 5)), requires_grad=True)
    loss = F.cross_entropy(x, TARGET)
    loss.backward()
    node = loss.grad_fn
    held = [name for name, value in vars(node).items() if isinstance(value, np.ndarray) and value.size >= x.numel()]
    held += ["_saved"] if any(np.size(entry[1]) >= x.numel() for entry in node._saved) else []
    assert held == []


def test_cross_entropy_op_rejects_a_bad_reduction():
    with pytest.raises(ValueError, match="cross_entropy: reduction must be one of"):
        ops.CrossEntropy.apply(tg.zeros(2, 3), target=np.array([0, 1]), reduction="batchmean")


# ---- Linear -------------------------------------------------------------------------------------


def composite_linear(x, w, b, activation="none"):
    """x @ Wᵀ + b (then ReLU) as separate ops: Permute, MatMul, Expand + Add, ReLU."""
    y = x @ w.T + b
    return y.relu() if activation == "relu" else y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ["none", "relu"])
@pytest.mark.parametrize("x_shape", [(6, 5), (5,), (2, 3, 5)])
def test_linear_fused_equals_composite(backend, x_shape, activation, dtype, rng):
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((4, 5)), rng.standard_normal(4)]
    expected = _values_and_grads(lambda x, w, b: composite_linear(x, w, b, activation), arrays, dtype)

    def fused(x, w, b):
        return ops.Linear.apply(x, w, b, activation=activation)

    assert_all_close(_values_and_grads(fused, arrays, dtype), expected, dtype)
    assert_all_close(_values_and_grads(fused, arrays, dtype, create_graph=True), expected, dtype)


@pytest.mark.parametrize("bias_shape", [(1, 4), (), (1,)], ids=["row", "scalar", "one"])
def test_functional_linear_broadcasts_a_bias_as_torch(backend, bias_shape, rng):
    """torch's F.linear adds any bias that broadcasts to (…, out); only (out,) goes into the fused op."""
    x, w, b = rng.standard_normal((3, 5)), rng.standard_normal((4, 5)), rng.standard_normal(bias_shape)
    tensors = [tg.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.linear(*tensors)
    y.sum().backward()
    torch_tensors = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
    yt = torch.nn.functional.linear(*torch_tensors)
    yt.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    for ours, theirs in zip(tensors, torch_tensors):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_linear_relu_gradgrad(backend, rng):
    x, w, b = (tg.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (2, 4), (2,)))
    assert tg.autograd.gradgradcheck(lambda x, w, b: ops.Linear.apply(x, w, b, activation="relu").tanh(), (x, w, b))


@pytest.mark.parametrize("wanted, matmuls", [((True, True, True), 2), ((False, True, True), 1),
                                             ((True, False, False), 1), ((False, False, True), 0)])
def test_linear_backward_computes_only_the_needed_gradients(backend, monkeypatch, wanted, matmuls, rng):
    calls = []
    real_matmul = tg.backend.matmul
    monkeypatch.setattr(tg.backend, "matmul", lambda a, b: calls.append(a.shape) or real_matmul(a, b))
    x, w, b = (tg.tensor(rng.standard_normal(s), requires_grad=r) for s, r in zip(((3, 4), (2, 4), (2,)), wanted))
    F.linear(x, w, b).sum().backward()
    assert len(calls) == matmuls
    assert [t.grad is not None for t in (x, w, b)] == list(wanted)


def test_nn_linear_is_one_node_in_the_graph(rng):
    layer = nn.Linear(4, 3)
    y = layer(tg.tensor(rng.standard_normal((2, 4)).astype(np.float32)))
    assert type(y.grad_fn).__name__ == "Linear"
    assert all(type(edge[0]).__name__ == "AccumulateGrad" for edge in y.grad_fn.next_functions if edge)


def test_linear_rejects_shapes_that_do_not_fit():
    with pytest.raises(tg.ShapeError, match=r"linear: input of shape \(2, 3\) does not fit weight of shape \(4, 4\)"):
        F.linear(tg.zeros(2, 3), tg.zeros(4, 4))
    with pytest.raises(tg.ShapeError, match=r"and bias of shape \(3,\)"):
        F.linear(tg.zeros(2, 4), tg.zeros(5, 4), tg.zeros(3))
    with pytest.raises(ValueError, match="linear: activation must be one of"):
        ops.Linear.apply(tg.zeros(2, 4), tg.zeros(5, 4), None, activation="gelu")


# ---- ReLU ---------------------------------------------------------------------------------------


def _assert_same_values_and_signs(ours, theirs):
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))  # relu(−0) = −0 in PyTorch


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_relu_matches_torch_at_zero_and_nan(backend, dtype):
    x = np.array([-2.0, -0.0, 0.0, 0.5, np.nan, 3.0, -np.inf, np.inf], dtype)
    xg = tg.tensor(x, requires_grad=True)
    y = xg.relu()
    y.backward(tg.tensor(np.arange(1.0, 9.0, dtype=dtype)))
    xt = torch.from_numpy(x).requires_grad_()
    torch.relu(xt).backward(torch.arange(1.0, 9.0).to(xt.dtype))
    _assert_same_values_and_signs(y.detach().numpy(), torch.relu(xt).detach().numpy())
    np.testing.assert_array_equal(xg.grad.numpy(), xt.grad.numpy())
    _assert_same_values_and_signs(tg.tensor(x[1]).relu().numpy(), torch.relu(torch.from_numpy(x[1:2]))[0].numpy())
    # the bias-and-ReLU pass of Linear: act(v + b), with v + b = −0 + −0 = −0 in the first column
    v, bias = np.array([[-0.0, 0.0, -1.0], [-0.0, -0.0, 2.0]], dtype), np.array([-0.0, -0.0, 0.5], dtype)
    ours = tg.backend.bias_act(v, bias, "relu")
    _assert_same_values_and_signs(ours, torch.relu(torch.from_numpy(v) + torch.from_numpy(bias)).numpy())


def test_relu_keeps_integer_dtypes(backend):
    y = tg.tensor(np.array([-3, 0, 2], dtype=np.int32)).relu()
    assert y.dtype == np.int32 and y.numpy().tolist() == [0, 0, 2]


def test_relu_and_linear_relu_keep_float16_and_match_torch(backend):
    """float16 has no C kernel: forward and backward both take the NumPy reference (no error), as before fusion."""
    x = np.array([[-2.0, -0.0, 0.5], [1.5, -1.0, 3.0]], dtype=np.float16)
    w = np.array([[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]], dtype=np.float16)
    xg, wg = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    y = F.linear(xg, wg).relu() + xg.relu().sum(1, keepdim=True)
    y.sum().backward()
    xt, wt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    yt = torch.relu(torch.nn.functional.linear(xt, wt)) + torch.relu(xt).sum(1, keepdim=True)
    yt.sum().backward()
    assert y.dtype == xg.grad.dtype == wg.grad.dtype == np.float16
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=2e-3)
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=2e-3)
    np.testing.assert_allclose(wg.grad.numpy(), wt.grad.numpy(), rtol=2e-3)


def test_empty_batch_matches_torch(backend):
    """No rows: Linear gives (0, out) with zero weight gradients; mean cross-entropy is nan, sum 0."""
    x = tg.zeros(0, 4, requires_grad=True)
    w, b = tg.ones(3, 4, requires_grad=True), tg.ones(3, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.shape == (0, 3)
    F.cross_entropy(y, np.zeros(0, np.int64), reduction="sum").backward()
    assert not w.grad.numpy().any() and not b.grad.numpy().any() and x.grad.shape == (0, 4)
    empty = torch.zeros(0, 3)
    for reduction in ("mean", "sum"):
        np.testing.assert_equal(F.cross_entropy(tg.zeros(0, 3), np.zeros(0, np.int64), reduction=reduction).item(),
                                torch.nn.functional.cross_entropy(empty, torch.zeros(0, dtype=torch.long),
                                                                  reduction=reduction).item())
