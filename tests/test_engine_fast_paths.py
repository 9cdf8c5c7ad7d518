"""The engine's fast paths (issue 9) keep PyTorch's semantics.

* AccumulateGrad keeps an incoming gradient's array instead of copying it only when nothing
  else refers to it: a leaf's ``.grad`` never shares memory with another tensor.
* Unrecorded gradient sums (no ``create_graph``) are done on arrays: same values as Tensor adds.
* ``_binary``'s own broadcast-shape rule agrees with NumPy's and raises ShapeError like before.
* The freed heap is kept for the next step (backend's mallopt), instead of being faulted in again.
* Expand's ``broadcast_view`` is exactly ``np.broadcast_to`` (shape, strides, values, read-only).
* Whatever form a backward returns its gradient in (Tensor, ndarray of another dtype, list, NumPy
  scalar) reaches the input as a Tensor of its shape and dtype; a wrong shape names the op.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import engine
from tinygrad_edu.ops.movement import broadcast_view, sum_to_array
from tinygrad_edu.tensor import ShapeError


def _leaves(*shapes: tuple[int, ...]) -> list[tg.Tensor]:
    rng = np.random.default_rng(0)
    return [tg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def test_one_gradient_sent_to_two_leaves_gives_two_buffers():
    a, c = _leaves((3,), (3,))
    (a * 3.0 + c).sum().backward()  # Add's backward returns the same tensor for both inputs
    assert not np.shares_memory(a.grad.data, c.grad.data)
    c.grad.data[...] = 7.0  # an in-place change of one .grad must not reach the other
    np.testing.assert_array_equal(a.grad.data, np.full(3, 3.0))


def test_retained_gradient_and_leaf_gradient_do_not_share_memory():
    a, c = _leaves((4,), (4,))
    y = a * 2.0 + c
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.data, 2 * y.data)
    np.testing.assert_allclose(c.grad.data, 2 * y.data)
    assert not np.shares_memory(y.grad.data, c.grad.data)


@pytest.mark.parametrize("through_op", [True, False])
def test_user_gradient_is_never_taken_over(through_op):
    (a,) = _leaves((3,))
    given = tg.tensor([1.0, 2.0, 3.0], dtype=a.dtype)
    (a * 1.0 if through_op else a).backward(given)
    np.testing.assert_array_equal(a.grad.data, given.data)
    assert not np.shares_memory(a.grad.data, given.data)


def test_fresh_weight_gradient_is_kept_without_copy_and_is_correct(monkeypatch):
    seen = []
    accumulate = engine.AccumulateGrad.accumulate

    def spy(node, grad, create_graph, unshared=False):
        seen.append((grad.data, unshared))
        accumulate(node, grad, create_graph, unshared)

    monkeypatch.setattr(engine.AccumulateGrad, "accumulate", spy)
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    (w,) = _leaves((3, 2))
    (x @ w).sum().backward()
    np.testing.assert_allclose(w.grad.data, x.data.T @ np.ones((2, 2)))
    assert seen[0][1], "the matmul's fresh gradient should have been kept, not copied"
    assert w.grad.data is seen[0][0]


def test_second_backward_accumulates_and_repeated_use_sums():
    (x,) = _leaves((5,))
    for _ in range(2):
        (x * x + x * x).sum().backward()  # x reaches the leaf four times per pass
    np.testing.assert_allclose(x.grad.data, 2 * 4 * x.data)


def test_unrecorded_and_recorded_gradient_sums_agree():
    (x,) = _leaves((2, 3))
    y = (x.exp() * x + x.sin()).sum()
    (g_plain,) = tg.autograd.grad(y, x, retain_graph=True)
    (g_graph,) = tg.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g_plain.data, g_graph.data, rtol=1e-12)
    np.testing.assert_allclose(g_plain.data, np.exp(x.data) * (x.data + 1) + np.cos(x.data), rtol=1e-12)
    assert g_graph.requires_grad and not g_plain.requires_grad


@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((4, 1), (1, 5)), ((1,), (2, 2)), ((), (3, 1)),
                                    ((2, 1, 3), (4, 1)), ((0, 3), (1, 3))])
def test_broadcast_shape_matches_numpy(shapes):
    a, b = (tg.zeros(s) for s in shapes)
    assert (a + b).shape == np.broadcast_shapes(*shapes)


def test_broadcast_mismatch_raises_shape_error():
    with pytest.raises(ShapeError, match=r"add: shapes \(2, 3\) and \(4,\)"):
        tg.zeros(2, 3) + tg.zeros(4)


def test_reshape_to_own_shape_is_the_same_tensor():
    (x,) = _leaves((2, 3))
    g = x.detach()  # e.g. a gradient in backward: no node needed
    assert g.reshape((2, 3)) is g and g.reshape(2, 3) is g
    assert x.reshape(3, 2).shape == (3, 2)
    assert x.reshape(2, 3) is not x and not x.reshape(2, 3).is_leaf  # requires grad: a view node, as PyTorch


# Appended to each script below, which defines step(): the minor page faults per step, once warm.
_PRINT_FAULTS_PER_STEP = """
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""

_ALLOCATE_AND_FREE = """
import resource, numpy as np, tinygrad_edu
def step():  # what a training step does to the heap: allocate a few MB, free them all
    arrays = [np.ones(1 << 17) for _ in range(8)]
    del arrays
"""

_LARGE_ARRAY_WHEN_THE_HEAP_TOP_IS_SMALL = """
import ctypes, resource, numpy as np, tinygrad_edu
class Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                     "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype, libc.malloc.restype = Mallinfo2, ctypes.c_void_p
filler = libc.malloc(libc.mallinfo2().keepcost - (256 << 10))  # leaves under 256 KB at the heap's top
def step():  # an MLP step's 784x256 weight gradient: a 1 MB array allocated and freed
    gradient = np.ones(1 << 17)
    del gradient
"""

_GLIBC_ONLY = pytest.mark.skipif(not hasattr(os, "confstr") or not os.confstr("CS_GNU_LIBC_VERSION"),
                                 reason="glibc only")


def _faults_per_step(script: str, env: dict[str, str] | None = None) -> float:
    """Run ``script`` + _PRINT_FAULTS_PER_STEP in a fresh interpreter (malloc's settings are per process)."""
    out = subprocess.run([sys.executable, "-c", script + _PRINT_FAULTS_PER_STEP], env=env, capture_output=True,
                         text=True, timeout=60)
    if out.returncode and "mallinfo2" in out.stderr:  # glibc before 2.33
        pytest.skip("glibc without mallinfo2")
    out.check_returncode()
    return float(out.stdout)


@_GLIBC_ONLY
def test_freed_heap_memory_is_kept_for_the_next_step():
    def with_top_pad(top_pad: str) -> float:
        return _faults_per_step(_ALLOCATE_AND_FREE, {**os.environ, "TINYGRAD_EDU_MALLOC_TOP_PAD": top_pad})

    kept, returned = with_top_pad("67108864"), with_top_pad("0")
    assert returned > 200  # 8 MB handed back to the OS and faulted in again each step
    assert kept < returned / 4


@_GLIBC_ONLY
def test_large_arrays_are_not_mapped_afresh_each_step():
    # mallopt(M_TOP_PAD) freezes glibc's dynamic mmap threshold; without the explicit 32 MiB threshold an array
    # above the frozen value that does not fit the heap's top is mmapped each time: 257 faults per step here
    assert _faults_per_step(_LARGE_ARRAY_WHEN_THE_HEAP_TOP_IS_SMALL) < 10


@pytest.mark.parametrize(("a_shape", "shape"), [((4,), (3, 4)), ((1,), (2, 3)), ((), (2, 2)), ((3, 1), (2, 3, 5)),
                                                ((0, 3), (2, 0, 3)), ((2, 1, 4), (2, 5, 4)), ((1, 1), (1, 1))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_broadcast_view_is_np_broadcast_to(a_shape, shape, dtype):
    a = np.asarray(np.random.default_rng(0).standard_normal(a_shape)).astype(dtype)
    view, reference = broadcast_view(a, shape), np.broadcast_to(a, shape)
    assert view.shape == reference.shape and view.dtype == reference.dtype
    stepped = [k for k, n in enumerate(shape) if n > 1]  # the stride of a size-1 dim is never used
    assert [view.strides[k] for k in stepped] == [reference.strides[k] for k in stepped]
    np.testing.assert_array_equal(view, reference)
    assert not view.flags.writeable and (a.size == 0 or np.shares_memory(view, a))


def test_broadcast_view_of_a_transposed_array():
    a = np.arange(12.0).reshape(4, 3).T  # not C-contiguous: the np.broadcast_to branch
    np.testing.assert_array_equal(broadcast_view(a, (2, 3, 4)), np.broadcast_to(a, (2, 3, 4)))


@pytest.mark.parametrize(("a_shape", "shape"), [((64, 6, 5, 5), (1, 6, 1, 1)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 1)),
                                                ((5, 1, 3), (1, 1, 1)), ((3, 4), (3, 4)), ((2, 3), ()), ((0, 3), (3,))])
def test_sum_to_array_is_the_sum_over_the_broadcast_axes(a_shape, shape):
    a = np.random.default_rng(1).standard_normal(a_shape)
    lead = len(a_shape) - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and a_shape[lead + i] != 1)
    np.testing.assert_allclose(sum_to_array(a, shape), a.sum(axis=axes).reshape(shape), rtol=1e-12, atol=1e-12)


class _ReturnsAs(tg.autograd.Function):
    """y = 2x; backward returns ∂L/∂x = 2g in the form ``ctx.kind`` names (what a user-written backward may return)."""

    @staticmethod
    def forward(ctx, x, *, kind):
        ctx.kind = kind
        return 2 * x.data

    @staticmethod
    def backward(ctx, grad_output):
        g = 2 * grad_output.data
        forms = {"tensor": tg.Tensor, "ndarray": np.asarray, "float32 array": lambda a: a.astype(np.float32),
                 "list": lambda a: a.tolist(), "numpy scalar": lambda a: a[()]}
        return forms[ctx.kind](g)


@pytest.mark.parametrize("kind", ["tensor", "ndarray", "float32 array", "list", "numpy scalar"])
def test_backward_may_return_arrays_lists_and_scalars(kind):
    """Whatever backward returns becomes a Tensor of the input's shape and dtype (here float64)."""
    shape = () if kind == "numpy scalar" else (3,)
    x = tg.tensor(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), requires_grad=True)
    (_ReturnsAs.apply(x, kind=kind) * 3.0).sum().backward()
    assert isinstance(x.grad, tg.Tensor) and x.grad.dtype == np.float64 and x.grad.shape == shape
    np.testing.assert_array_equal(x.grad.data, np.full(shape, 6.0))


def test_backward_returning_an_array_of_the_wrong_shape_names_the_op():
    class WrongShape(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data.copy()

        @staticmethod
        def backward(ctx, grad_output):
            return np.zeros(5)

    x = tg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongShapeBackward0: backward returned a gradient of shape \(5,\)"):
        WrongShape.apply(x).sum().backward()
