"""The engine: graph walk, accumulation, freeing, grad mode, autograd.grad, custom Functions, hooks."""

from __future__ import annotations

import copy
import gc
import pickle
import threading
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, GradcheckError, grad, gradcheck
from tinygrad_edu.autograd.engine import AccumulateGrad, topological_order


def _leaf(*shape: int, seed: int = 0) -> tg.Tensor:
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


# ---- the walk ---------------------------------------------------------------------------


def test_chain_of_100000_ops_backpropagates_without_recursion_error():
    x = tg.tensor(1.5, dtype=tg.float64, requires_grad=True)
    h = x
    for _ in range(100_000):
        h = h * 1.0001
    h.backward()
    assert x.grad.item() == pytest.approx(1.0001**100_000, rel=1e-4)


def test_shared_subexpression_gradients_add_up():
    # y = a·a + a  with  a = 3x  =>  dy/dx = (2a + 1)·3
    x = _leaf(4)
    a = x * 3.0
    (a * a + a).sum().backward()
    np.testing.assert_allclose(x.grad.data, (2 * 3 * x.data + 1) * 3, rtol=1e-12)


def test_leaf_grad_accumulates_across_backward_calls():
    x = _leaf(3)
    (x * 2.0).sum().backward()
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 7.0))


def test_leaf_grad_does_not_share_memory_between_leaves():
    x, y = _leaf(3), _leaf(3, seed=1)
    (x + y).sum().backward()
    x.grad.data += 1.0
    np.testing.assert_allclose(y.grad.data, np.ones(3))


def test_non_leaf_has_no_grad_unless_retained():
    x = _leaf(3)
    h = x * 2.0
    k = x * 3.0
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(k.grad.data, h.data)


def test_float32_gradients_stay_float32():
    x = tg.randn(4, 3, requires_grad=True)
    w = tg.randn(3, 2, requires_grad=True)
    ((x @ w).tanh() * 0.5 + 1.0).log().sum().backward()
    assert x.grad.dtype == tg.float32 and w.grad.dtype == tg.float32


# ---- freeing and retain_graph -------------------------------------------------------------


def test_saved_arrays_are_released_after_backward():
    x = _leaf(5)
    a = x.sin()
    a_data = weakref.ref(a.data)
    loss = (a * a).sum()  # Mul saves `a`; nothing else holds it once we drop our name
    del a
    gc.collect()
    assert a_data() is not None
    loss.backward()
    gc.collect()
    assert a_data() is None


def test_second_backward_through_freed_graph_raises_clear_error():
    x = _leaf(3)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_second_backward():
    x = _leaf(3)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 4 * x.data)


@pytest.fixture
def no_cyclic_gc():
    """The cyclic garbage collector off: what is freed then is freed by reference counting."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@pytest.mark.parametrize("retain_graph", [False, True])
def test_a_leaf_and_its_graph_are_freed_by_reference_counting(no_cyclic_gc, retain_graph):
    """A used leaf and its AccumulateGrad node are no reference cycle (the leaf refers to its node
    weakly, as PyTorch's): once the last names go, leaf, array and graph die without the cyclic
    collector, after backward (retained or not) and without one. Until then the graph keeps the
    leaf: a loss whose leaf has no name left still accumulates into it, and two uses of the leaf
    in one graph share one node."""
    for run_backward in (True, False):
        x = _leaf(3)
        node_ref, leaf_ref, array_ref = None, weakref.ref(x), weakref.ref(x.data)
        loss = (x * x + x * 2.0).sum()
        edges = {edge[0] for n in topological_order([loss.grad_fn]) for edge in n.next_functions if edge}
        leaves = [n for n in edges if isinstance(n, AccumulateGrad)]
        assert len(leaves) == 1 and leaves[0].variable is x
        node_ref = weakref.ref(leaves[0])
        del x, edges, leaves
        assert leaf_ref() is not None  # the graph holds its leaf
        if run_backward:
            loss.backward(retain_graph=retain_graph)
            np.testing.assert_allclose(leaf_ref().grad.data, 2 * leaf_ref().data + 2)
        del loss
        assert node_ref() is None and leaf_ref() is None and array_ref() is None


def test_a_leaf_used_in_a_new_graph_gets_a_new_node_and_keeps_accumulating():
    """The node of a leaf no graph holds any more is gone; the next graph makes another, and
    .grad and the leaf's hooks, which live on the leaf, carry on."""
    x = _leaf(3)
    calls = []
    x.register_hook(lambda g: calls.append(g))
    (x * 2.0).sum().backward()
    node = weakref.ref(x._grad_accumulator())
    assert node() is None  # (made for the asking, held by nothing)
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 5.0))
    assert len(calls) == 2


def test_pickle_and_copies_of_a_used_leaf_get_their_own_node():
    """The weak reference to the node is not copied (pickle could not): a copy's gradient goes to
    the copy's .grad, never to the original's."""
    x = _leaf(3)
    keep = (x * 2.0).sum()  # a graph holding x's node while the copies are made
    for copied in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x), copy.copy(x)):
        assert copied.requires_grad and copied._accumulator is None
        (copied * 3.0).sum().backward()
        np.testing.assert_allclose(copied.grad.data, np.full(3, 3.0))
    assert x.grad is None
    keep.backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 2.0))


# ---- errors at the entry ------------------------------------------------------------------


def test_backward_of_non_scalar_without_gradient_raises():
    y = _leaf(2, 3) * 2.0
    with pytest.raises(RuntimeError, match=r"scalar output.*shape \(2, 3\)"):
        y.backward()


def test_backward_of_non_scalar_with_gradient():
    x = _leaf(2, 3)
    g = np.arange(6.0).reshape(2, 3)
    (x * x).backward(g)
    np.testing.assert_allclose(x.grad.data, 2 * x.data * g)


@pytest.mark.parametrize("root", ["leaf", "output"])
def test_gradient_of_another_dtype_is_cast_to_the_tensors_dtype(root):
    # PyTorch casts the given gradient: a float64 leaf gets a float64 .grad either way
    x = _leaf(3)
    y = x if root == "leaf" else x * 1.0
    y.backward(tg.tensor([1.0, 2.0, 3.0]), retain_graph=True)  # float32
    assert x.grad.dtype == tg.float64
    np.testing.assert_array_equal(x.grad.data, [1.0, 2.0, 3.0])
    (gx,) = grad(y, x, grad_outputs=tg.tensor([1.0, 1.0, 1.0]))
    assert gx.dtype == tg.float64


@pytest.mark.parametrize("write", ["+=", "add_", "fill_", "setitem", "copy_"])
def test_saved_tensor_modified_in_place_before_backward_raises(write):
    # as PyTorch's version counter: the gradient of w needs x as it was in forward
    x, w = tg.tensor(np.ones((3, 2))), _leaf(2, 2)
    loss = (x @ w).sum()
    writes = {"+=": lambda: x.__iadd__(1.0), "add_": lambda: x.add_(1.0), "fill_": lambda: x.fill_(2.0),
              "setitem": lambda: x.__setitem__(0, 5.0), "copy_": lambda: x.copy_(np.zeros((3, 2)))}
    writes[write]()
    with pytest.raises(RuntimeError, match=r"MmBackward0: a tensor of shape \(3, 2\) that this op saved"):
        loss.backward()
    loss = (x @ w).sum()  # written before the op: fine
    loss.backward()
    np.testing.assert_allclose(w.grad.data, x.data.sum(0)[:, None] * np.ones((1, 2)))


def test_backward_gradient_of_wrong_shape_raises():
    y = _leaf(2, 3) * 2.0
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_of_tensor_that_needs_no_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (tg.ones(3) * 2.0).sum().backward()


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2, 3], requires_grad=True)


# ---- grad mode -------------------------------------------------------------------------


def test_no_grad_context_records_nothing():
    x = _leaf(3)
    with tg.no_grad():
        y = x * 2.0
        with tg.enable_grad():
            z = x * 3.0
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None
    assert tg.is_grad_enabled()


def test_no_grad_decorator():
    @tg.no_grad()
    def double(t):
        return t * 2.0

    assert not double(_leaf(3)).requires_grad
    assert tg.is_grad_enabled()


def test_grad_mode_belongs_to_the_thread():
    # as in PyTorch: a no_grad block in one thread (say, validation) does not stop another
    # thread from recording, and a thread started inside no_grad starts with recording on
    x = _leaf(3)
    inside_no_grad, recorded = threading.Event(), threading.Event()
    seen = {}

    def validate():
        with tg.no_grad():
            seen["validate"] = (x * 2.0).requires_grad
            inside_no_grad.set()
            recorded.wait(timeout=10)
            seen["validate after"] = (x * 2.0).requires_grad

    def train():
        inside_no_grad.wait(timeout=10)
        y = (x * 3.0).sum()
        seen["train"] = (tg.is_grad_enabled(), y.requires_grad)
        y.backward()
        recorded.set()

    threads = [threading.Thread(target=validate), threading.Thread(target=train)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"validate": False, "train": (True, True), "validate after": False}
    np.testing.assert_allclose(x.grad.data, np.full(3, 3.0))
    with tg.no_grad():
        started_inside = []
        worker = threading.Thread(target=lambda: started_inside.append(tg.is_grad_enabled()))
        worker.start()
        worker.join()
    assert started_inside == [True]


def test_set_grad_enabled_as_a_call_a_block_and_a_decorator():
    # PyTorch: the bare call switches the mode at once; a with block restores it at the end
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled() and not (_leaf(2) * 2.0).requires_grad
        with tg.set_grad_enabled(True):
            assert (_leaf(2) * 2.0).requires_grad
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def double(t):
        return t * 2.0

    assert tg.is_grad_enabled()  # decorating does not switch the mode
    assert not double(_leaf(2)).requires_grad
    assert tg.is_grad_enabled()
    block = tg.set_grad_enabled(False)
    for _ in range(2):  # the same object entered twice
        with block:
            assert not tg.is_grad_enabled()
        assert tg.is_grad_enabled()
    decorator = tg.set_grad_enabled(True)  # used as a decorator, then as a block inside no_grad
    decorator(double)
    with tg.no_grad():
        with decorator:
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()  # the mode of now is restored, not the one at decoration time
    assert tg.is_grad_enabled()


# ---- autograd.grad and create_graph ------------------------------------------------------


def test_grad_returns_gradients_without_touching_dot_grad():
    x = _leaf(3)
    (gx,) = grad((x * x).sum(), x)
    np.testing.assert_allclose(gx.data, 2 * x.data)
    assert x.grad is None


def test_grad_with_respect_to_non_leaf():
    x = _leaf(3)
    h = x.exp()
    (gh,) = grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.data, 2 * h.data)


def test_grad_of_grad_of_cube_is_6x():
    x = _leaf(4)
    (g1,) = grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g1.data, 3 * x.data**2)
    (g2,) = grad(g1.sum(), x)
    np.testing.assert_allclose(g2.data, 6 * x.data)


def test_backward_with_create_graph_gives_differentiable_grad():
    x = _leaf(3)
    (x.sin() * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = grad(x.grad.sum(), x)
    # d/dx (sin x + x cos x) = 2 cos x − x sin x
    np.testing.assert_allclose(g2.data, 2 * np.cos(x.data) - x.data * np.sin(x.data), rtol=1e-12)


def test_grad_unused_input_raises_unless_allowed():
    x, y = _leaf(3), _leaf(3, seed=1)
    with pytest.raises(RuntimeError, match="not used"):
        grad((x * 2.0).sum(), [x, y])
    gx, gy = grad((x * 2.0).sum(), [x, y], allow_unused=True)
    assert gy is None
    np.testing.assert_allclose(gx.data, np.full(3, 2.0))


# ---- custom Functions --------------------------------------------------------------------


class Swish(Function):
    """x·σ(x).

    Forward:   y = x σ(x)
    Backward:  ∂L/∂x = g (σ(x) + x σ(x)(1 − σ(x)))
    """

    @staticmethod
    def forward(ctx, x):
        s = 1.0 / (1.0 + np.exp(-x.data))
        ctx.save_for_backward(x)
        return x.data * s

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad_output * (s + x * s * (1.0 - s))


class SwishWrongBackward(Swish):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x.sigmoid()  # forgets the x·σ'(x) term


def test_custom_function_passes_gradcheck_and_double_backward():
    x = _leaf(2, 3)
    assert gradcheck(Swish.apply, (x,))
    assert tg.autograd.gradgradcheck(Swish.apply, (x,))


def test_gradcheck_catches_a_wrong_custom_backward():
    with pytest.raises(GradcheckError, match=r"analytic .* numeric .* difference"):
        gradcheck(SwishWrongBackward.apply, (_leaf(3),))


class SplitSum(Function):
    """Two outputs: (x + w, x · w)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x.data + w.data, x.data * w.data

    @staticmethod
    def backward(ctx, grad_sum, grad_prod):
        x, w = ctx.saved_tensors
        return grad_sum + grad_prod * w, grad_sum + grad_prod * x


def test_function_with_two_outputs():
    x, w = _leaf(3), _leaf(3, seed=1)
    s, p = SplitSum.apply(x, w)
    assert s.grad_fn is p.grad_fn
    (s * 2.0 + p).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 + w.data)


def test_unused_output_of_multi_output_function_gets_zero_gradient():
    x, w = _leaf(3), _leaf(3, seed=1)
    _, p = SplitSum.apply(x, w)
    p.sum().backward()
    np.testing.assert_allclose(x.grad.data, w.data)


class WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x.data * 2

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.sum()


class TooManyGrads(Function):
    @staticmethod
    def forward(ctx, x):
        return x.data * 2

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output


def test_backward_returning_wrong_shape_names_the_op():
    with pytest.raises(RuntimeError, match=r"WrongShapeBackward.*shape \(\).*\(3,\)"):
        WrongShape.apply(_leaf(3)).sum().backward()


def test_backward_returning_too_many_gradients_names_the_op():
    with pytest.raises(RuntimeError, match=r"TooManyGradsBackward.*2 gradients, expected 1"):
        TooManyGrads.apply(_leaf(3)).sum().backward()


def test_function_output_needs_no_grad_when_inputs_do_not():
    y = Swish.apply(tg.ones(3))
    assert not y.requires_grad and y.grad_fn is None


# ---- hooks -----------------------------------------------------------------------------


def test_register_hook_can_replace_the_gradient():
    x = _leaf(3)
    h = x * 2.0
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()) or g * 10.0)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], np.ones(3))
    np.testing.assert_allclose(x.grad.data, np.full(3, 20.0))


def test_leaf_hook_and_its_removal():
    x = _leaf(3)
    remove = x.register_hook(lambda g: g * 0.0)
    (x * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.zeros(3))
    remove()
    x.grad = None
    (x * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.ones(3))


def test_hook_handle_remove_as_in_pytorch():
    x = _leaf(3)
    y = x * 2.0
    keep = y.register_hook(lambda g: g * 3.0)
    handle = y.register_hook(lambda g: g * 100.0)
    handle.remove()
    handle.remove()  # a second time: nothing
    (y * 1.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 6.0))
    keep.remove()
