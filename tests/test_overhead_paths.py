"""The fast paths that cut the fixed Python cost of a training step (issue 9) keep the behaviour.

* Function nodes share class defaults (``_to_save``, ``_freed``, ``_output_hooks``) until they set
  their own: a hook on one node's output never reaches another node.
* The engine's topological order is the plain depth-first post-order (leaves are not pushed on the
  stack, but come out in the same place), and a gradient of the wrong shape names the right input.
* ``Module.__call__`` skips the hook machinery only while there are no hooks.
* Cross-entropy without class weights uses one cached, read-only array of ones: the same values and
  gradients as explicit unit weights (and as PyTorch), whatever the target's integer dtype or layout.
* The C adapters let cffi refuse read-only or strided buffers and only then say why.
* MatMul's plain backward of a 2-D product runs on arrays: PyTorch's gradients, whichever inputs need
  one and whatever their layout; with create_graph it stays differentiable.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.autograd import engine
from tinygrad_edu.autograd.function import Function
from tinygrad_edu.backend import numpy_ref as ref

torch = pytest.importorskip("torch")

needs_c = pytest.mark.skipif("c" not in tg.backend.available(), reason="the C extension is not built")


# ---- Function nodes and the engine ------------------------------------------------------------


def _reference_order(roots: list) -> list:
    """Depth-first post-order written recursively (the textbook walk; fine for these small graphs)."""
    order, visited = [], set()

    def visit(node) -> None:
        visited.add(node)
        for edge in node.next_functions:
            if edge is not None and edge[0] not in visited:
                visit(edge[0])
        order.append(node)

    for root in roots:
        if root not in visited:
            visit(root)
    return order


def test_topological_order_is_the_plain_depth_first_post_order():
    rng = np.random.default_rng(0)
    a, b, c = (tg.tensor(rng.standard_normal(3), requires_grad=True) for _ in range(3))
    d = tg.tensor(rng.standard_normal(3))  # needs no gradient: no edge
    h = (a * b + c).exp()
    outputs = [(h * a + d * h - b).sum(), (c * c).sum(), (a + a).sum()]
    roots = [out.grad_fn for out in outputs]
    order = engine.topological_order(roots)
    assert order == _reference_order(roots)
    assert len(order) == len(set(order))
    position = {node: i for i, node in enumerate(order)}
    for node in order:  # every node after the nodes its gradients go to
        for edge in node.next_functions:
            assert edge is None or position[edge[0]] < position[node]


def test_a_leaf_as_root_is_ordered_alone():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    node = x._grad_accumulator()
    assert engine.topological_order([node]) == [node]


class _TwoInputs(Function):
    """y = x − w; backward returns a gradient of the wrong shape for w (input 1)."""

    formula = ("g", "-g")

    @staticmethod
    def forward(ctx, x, w):
        return np.subtract(x.data, w.data)

    @staticmethod
    def backward(ctx, grad_output):
        wrong = -grad_output.reshape(-1)[:1]
        return grad_output, wrong


def test_a_gradient_of_the_wrong_shape_names_its_input():
    x = tg.tensor(np.ones((2, 2)), requires_grad=True)
    w = tg.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"_TwoInputsBackward0?: backward returned a gradient of shape \(1,\) "
                                           r"for input 1, which has shape \(2, 2\)"):
        _TwoInputs.apply(x, w).sum().backward()


def test_backward_runs_in_grad_mode_create_graph_and_restores_the_mode_even_when_it_fails():
    x = tg.tensor(np.ones(3), requires_grad=True)
    modes = []
    for create_graph in (False, True):
        y = x * 2.0
        y.register_hook(lambda g: modes.append(tg.is_grad_enabled()))
        y.sum().backward(create_graph=create_graph)
    assert modes == [False, True] and tg.is_grad_enabled()
    w = tg.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="backward returned a gradient of shape"):
        _TwoInputs.apply(w, w).sum().backward()
    assert tg.is_grad_enabled()


class _ArrayGradient(Function):
    """y = 3x with a backward that returns a plain ndarray (as the fused ops do)."""

    formula = ("3 * g",)

    @staticmethod
    def forward(ctx, x):
        return 3 * x.data

    @staticmethod
    def backward(ctx, grad_output):
        return 3 * grad_output.data


def test_a_backward_may_return_an_array():
    x = tg.tensor(np.arange(4.0), requires_grad=True)
    (_ArrayGradient.apply(x) * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, 6 * np.arange(4.0))
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_hooks_on_one_node_never_reach_another():
    x = tg.tensor(np.ones(3), requires_grad=True)
    y, z = x * 2.0, x * 3.0
    seen = []
    y.register_hook(lambda g: seen.append("y"))
    assert Function._output_hooks == {}  # the class default stays empty: the node got its own dict
    assert z.grad_fn._output_hooks == {}
    (y + z).sum().backward()
    assert seen == ["y"]
    np.testing.assert_array_equal(x.grad.data, np.full(3, 5.0))


def test_fresh_leaf_gradient_is_a_plain_tensor_of_its_own():
    w = tg.tensor(np.ones((3, 2)), requires_grad=True)
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    (x @ w).sum().backward()
    first = w.grad
    assert first.grad_fn is None and not first.requires_grad and first.data.base is None
    (x @ w).sum().backward()  # accumulates
    np.testing.assert_array_equal(w.grad.data, 2 * x.data.T @ np.ones((2, 2)))


# ---- Module.__call__ --------------------------------------------------------------------------


def test_hooks_added_after_calls_run_and_removing_them_restores_the_plain_call():
    layer = nn.Linear(3, 2)
    x = tg.tensor(np.ones((1, 3), np.float32))
    plain = layer(x).data
    handle = layer.register_forward_hook(lambda module, args, out: out * 2.0)
    np.testing.assert_allclose(layer(x).data, 2 * plain)
    handle.remove()
    np.testing.assert_array_equal(layer(x).data, plain)
    pre = layer.register_forward_pre_hook(lambda module, args: (args[0] * 0.0,))
    np.testing.assert_array_equal(layer(x).data, layer.bias.data[None, :])
    pre.remove()


def test_module_attribute_lookup_finds_each_registry_and_fails_clearly():
    layer = nn.BatchNorm1d(3)
    assert layer.weight is layer._parameters["weight"]
    assert layer.running_mean is layer._buffers["running_mean"]
    model = nn.Sequential(layer)
    assert getattr(model, "0") is layer
    with pytest.raises(AttributeError, match="'BatchNorm1d' object has no attribute 'nothing'"):
        _ = layer.nothing


def test_linear_layer_still_names_itself_for_a_wrong_input():
    with pytest.raises(ValueError, match=r"Linear: expected input with last dim 4, got shape \(\)"):
        nn.Linear(4, 2)(tg.tensor(1.0))


# ---- cross-entropy without class weights --------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target_dtype", [np.int64, np.int32, np.uint8])
def test_cross_entropy_without_weights_equals_unit_weights_and_torch(backend, reduction, target_dtype):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 4))
    target = np.array([0, 3, 1, 1, 2], dtype=target_dtype)[::-1]  # a strided view
    results = []
    for weight in (None, tg.tensor(np.ones(4))):
        x = tg.tensor(logits, requires_grad=True)
        loss = tg.nn.functional.cross_entropy(x, target, weight=weight, reduction=reduction)
        loss.sum().backward()
        results.append((loss.data, x.grad.data))
    xt = torch.tensor(logits, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(target.astype(np.int64)), reduction=reduction)
    lt.sum().backward()
    for values, grad in results:
        np.testing.assert_allclose(values, lt.detach().numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_the_shared_unit_weights_cannot_be_written():
    x = tg.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    loss = tg.nn.functional.cross_entropy(x, [0, 2])
    weight = loss.grad_fn.weight
    assert weight.dtype == np.float32 and np.array_equal(weight, np.ones(3)) and not weight.flags.writeable
    assert tg.nn.functional.cross_entropy(x, [1, 1]).grad_fn.weight is weight  # made once, shared
    with pytest.raises(ValueError, match="read-only"):
        weight[0] = 5.0


def test_cross_entropy_with_every_row_ignored_is_nan_without_warning(backend):
    x = tg.tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = tg.nn.functional.cross_entropy(x, [-100, -100])
        loss.backward()
    assert np.isnan(loss.item()) and loss.dtype == np.float32
    assert x.grad.shape == (2, 3)


# ---- MatMul's backward on arrays ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_matmul_2d_backward_on_arrays_equals_torch(backend, dtype, needs, layout):
    rng = np.random.default_rng(3)
    a, b, g = (rng.standard_normal(shape).astype(dtype) for shape in ((5, 7), (7, 3), (5, 3)))
    if layout == "transposed":
        a, b = a.T.copy().T, b.T.copy().T
    elif layout == "strided":
        a, b = np.repeat(a, 2, axis=1)[:, ::2], np.repeat(b, 2, axis=1)[:, ::2]
    x, w = tg.tensor(a, requires_grad=needs[0]), tg.tensor(b, requires_grad=needs[1])
    tx, tw = torch.tensor(a, requires_grad=needs[0]), torch.tensor(b, requires_grad=needs[1])
    (x @ w).backward(tg.tensor(g))
    (tx @ tw).backward(torch.from_numpy(g))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for ours, theirs in ((x, tx), (w, tw)):
        if theirs.grad is None:
            assert ours.grad is None
        else:
            assert ours.grad.dtype == dtype and ours.grad.grad_fn is None
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol, atol=tol)


def test_matmul_2d_backward_with_create_graph_is_differentiable():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((6, 2))
    x, w = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    tx, tw = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (gx,) = tg.autograd.grad(((x @ w) ** 2).sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad(((tx @ tw) ** 2).sum(), [tx], create_graph=True)
    assert gx.grad_fn is not None
    gx.sum().backward()
    tgx.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


# ---- C adapters: buffers cffi refuses -----------------------------------------------------------


@needs_c
def test_lstm_cell_out_buffers_that_are_read_only_or_strided_are_refused():
    from tinygrad_edu.backend import c

    gates, c_prev = np.zeros((2, 8)), np.zeros((2, 2))
    read_only = np.zeros((2, 2))
    read_only.flags.writeable = False
    strided = np.zeros((2, 4))[:, ::2]
    for bad in (read_only, strided):
        with pytest.raises(ValueError, match=r"lstm_cell: out must be 4 writable C-contiguous float64 arrays"):
            c.lstm_cell(gates, c_prev, out=(np.zeros((2, 2)), bad, np.zeros((2, 8)), np.zeros((2, 2))))
    h, cell, acts, tanh_c = c.lstm_cell(gates, c_prev, out=[np.empty((2, 2)), np.empty((2, 2)), np.empty((2, 8)),
                                                           np.empty((2, 2))])  # a list of outputs works too
    for got, expected in zip((h, cell, acts, tanh_c), ref.lstm_cell(gates, c_prev)):
        np.testing.assert_allclose(got, expected, rtol=1e-14)


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimiser_step_on_a_transposed_grad_and_strided_state(dtype):
    from tinygrad_edu.backend import c

    rng = np.random.default_rng(2)
    param, grad = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype).T
    expected_param = param.copy()
    ref.adam_update(expected_param, grad, np.zeros_like(param), np.zeros_like(param), None, 0.1, 0.9, 0.999,
                    1e-8, 0.0, False, False, 0.1, 1.0)
    c.adam_update(param, grad, np.zeros_like(param), np.zeros_like(param), None, 0.1, 0.9, 0.999, 1e-8, 0.0,
                  False, False, 0.1, 1.0)
    np.testing.assert_allclose(param, expected_param, rtol=1e-6 if dtype == np.float32 else 1e-14)
    strided_state = np.zeros((3, 8), dtype)[:, ::2]
    with pytest.raises(tg.backend.NoKernelError, match="adam_update: no C kernel for a parameter or state buffer"):
        c.adam_update(param, grad, strided_state, np.zeros_like(param), None, 0.1, 0.9, 0.999, 1e-8, 0.0, False,
                      False, 0.1, 1.0)
