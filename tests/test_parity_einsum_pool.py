"""PyTorch parity: dtype checks of matmul-like ops, einsum, max_pool2d indices / max_unpool2d, unfold / fold.

Every behaviour is compared against torch (values and gradients, float64 tight, float32 loose).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F  # noqa: N812 - PyTorch's conventional name

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

TF = torch.nn.functional


# ---- 1. no dtype promotion in matmul-like ops (torch raises) --------------------------------------

MIXED = {  # name: (tinygrad_edu call, torch call), float32 and float64 operands mixed
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b),
    "matmul_method": (lambda a, b: a.matmul(b), lambda a, b: a.matmul(b)),
    "mm": (lambda a, b: a.mm(b), lambda a, b: a.mm(b)),
    "bmm": (lambda a, b: a.unsqueeze(0).bmm(b.unsqueeze(0)), lambda a, b: a.unsqueeze(0).bmm(b.unsqueeze(0))),
    "linear": (lambda a, b: F.linear(a, b.T), lambda a, b: TF.linear(a, b.T)),
    "linear_bias": (lambda a, b: F.linear(b.T, b.T, a[0, :2]), lambda a, b: TF.linear(b.T, b.T, a[0, :2])),
    "conv2d": (lambda a, b: F.conv2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2)[..., :2, :2]),
               lambda a, b: TF.conv2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2)[..., :2, :2])),
    "conv1d": (lambda a, b: F.conv1d(a.reshape(1, 2, 3), b.reshape(1, 2, 3)[..., :2]),
               lambda a, b: TF.conv1d(a.reshape(1, 2, 3), b.reshape(1, 2, 3)[..., :2])),
    "conv_transpose2d": (lambda a, b: F.conv_transpose2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2)),
                         lambda a, b: TF.conv_transpose2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2))),
}


@pytest.mark.parametrize("name", sorted(MIXED))
@pytest.mark.parametrize("first64", [False, True])
def test_mixed_float_dtypes_raise_as_in_torch(name, first64):
    ours, theirs = MIXED[name]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    dt_a, dt_b = (np.float64, np.float32) if first64 else (np.float32, np.float64)
    with pytest.raises(RuntimeError):  # the oracle: torch refuses this mix
        theirs(torch.tensor(a.astype(dt_a)), torch.tensor(b.astype(dt_b)))
    with pytest.raises(TypeError, match=r"float(32|64).*float(64|32)"):
        ours(tg.tensor(a.astype(dt_a)), tg.tensor(b.astype(dt_b)))
    # one dtype: works, and agrees with torch
    same = ours(tg.tensor(a), tg.tensor(b)).numpy()
    np.testing.assert_allclose(same, theirs(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)


def test_the_mixed_dtype_error_names_what_the_op_calls_its_arguments():
    a, b = tg.ones(2, 2), tg.ones(2, 2, dtype=tg.float64)
    with pytest.raises(TypeError, match=r"matmul: .*left operand float32, right operand float64"):
        a @ b
    with pytest.raises(TypeError, match=r"linear: .*input float64, weight float32, bias float32"):
        F.linear(b, a, a[0])


@pytest.mark.parametrize("layer", ["linear", "conv2d", "conv1d", "conv_transpose2d"])
def test_layers_refuse_an_input_of_another_dtype(layer):
    make = {"linear": (lambda: nn.Linear(3, 2), (4, 3)), "conv2d": (lambda: nn.Conv2d(1, 2, 2), (1, 1, 4, 4)),
            "conv1d": (lambda: nn.Conv1d(1, 2, 2), (1, 1, 4)),
            "conv_transpose2d": (lambda: nn.ConvTranspose2d(1, 2, 2), (1, 1, 4, 4))}
    ctor, shape = make[layer]
    x = tg.randn(*shape, dtype=tg.float64)
    with pytest.raises(TypeError, match=f"{layer}.*float64.*float32"):
        ctor()(x)
    assert ctor().to(tg.float64)(x).dtype == tg.float64  # converted layer: fine


def test_elementwise_and_outer_still_promote_as_in_torch():
    a, b = tg.ones(2, 3), tg.ones(2, 3, dtype=tg.float64)
    assert (a + b).dtype == tg.float64 == (a * b).dtype
    assert str((torch.ones(2, 3) + torch.ones(2, 3, dtype=torch.float64)).dtype) == "torch.float64"


def test_matmul_with_an_array_operand_still_converts_it():
    np.testing.assert_allclose((tg.ones(2, 3) @ np.ones((3, 2))).numpy(), np.full((2, 2), 3.0))


# ---- 2. einsum ---------------------------------------------------------------------------------

EINSUM_CASES = [  # (equation, operand shapes): explicit / implicit, "...", shared, summed, repeated indices
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ij->", [(2, 3)]), ("ji", [(2, 3)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij,jk->ik", [(3, 3, 2), (2, 4)]), ("i,j->ij", [(3,), (4,)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]), ("...i,...i", [(2, 1, 3), (4, 3)]), ("b...,b...->b", [(2, 3), (2, 3)]),
    ("bij,bjk,bkl->bil", [(2, 2, 3), (2, 3, 4), (2, 4, 2)]), ("ij,k->jk", [(2, 3), (4,)]),
    ("bi,ck->", [(2, 3), (2, 4)]), ("Ab,bC->AC", [(2, 3), (3, 2)]), ("i,i->i", [(3,), (3,)]),
    ("ij , jk -> ki", [(2, 3), (3, 2)]),
]


def _einsum_both(equation, shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, y_t = tg.einsum(equation, *ours), torch.einsum(equation, *theirs)
    g = rng.standard_normal(y_t.shape).astype(dtype)
    grads = tg.autograd.grad(y, ours, tg.tensor(g), create_graph=True)
    grads_t = torch.autograd.grad(y_t, theirs, torch.tensor(g), create_graph=True)
    return (y, y_t), ours, theirs, grads, grads_t


@pytest.mark.parametrize(("equation", "shapes"), EINSUM_CASES)
@pytest.mark.parametrize(("dtype", "rtol", "atol"), [(np.float64, 1e-10, 1e-12), (np.float32, 1e-4, 1e-5)])
def test_einsum_values_grads_and_grads_of_grads_match_torch(equation, shapes, dtype, rtol, atol):
    (y, y_t), ours, theirs, grads, grads_t = _einsum_both(equation, shapes, dtype)
    assert y.dtype == dtype and y.shape == tuple(y_t.shape)
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=rtol, atol=atol)
    for a, b in zip(grads, grads_t):
        assert a.dtype == dtype
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
    loss_t = sum((b * b * b).sum() for b in grads_t)
    if loss_t.requires_grad:  # the gradient depends on some operand: compare its derivative too
        second_t = torch.autograd.grad(loss_t, theirs, allow_unused=True)
        second = tg.autograd.grad(sum((a * a * a).sum() for a in grads), ours, allow_unused=True)
        for a, b in zip(second, second_t):
            if b is not None:
                np.testing.assert_allclose(a.detach().numpy(), b.numpy(), rtol=rtol * 10, atol=atol * 10)


@pytest.mark.parametrize(("equation", "shapes"), [
    ("i,i->", [(3,), (1,)]), ("i,i->", [(0,), (1,)]), ("ij,jk->ik", [(2, 3), (1, 4)]), ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("ij,jk,kl->il", [(2, 1), (3, 4), (1, 5)]),
])
def test_einsum_broadcasts_a_size_one_summed_index_as_torch(equation, shapes):
    # a summed index one operand has at size 1: the others' gradient is copied along it
    (y, y_t), _, _, grads, grads_t = _einsum_both(equation, shapes, np.float64)
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(grads, grads_t):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=5, max_size=5), st.sampled_from(["bij,bjk->bik", "bij,bkj", "bij,jk->bk",
                                                                             "...ij,jk->...k", "bii,bi->b"]))
def test_einsum_on_drawn_sizes(sizes, equation):
    b, i, j, k, _ = sizes
    dims = {"b": b, "i": i, "j": j, "k": k}
    inputs = equation.split("->")[0].split(",")
    shapes = [tuple(dims[c] for c in (s.replace("...", "b") if "..." in s else s)) for s in inputs]
    if equation == "bii,bi->b":
        shapes = [(b, i, i), (b, i)]
    (y, y_t), _, _, grads, grads_t = _einsum_both(equation, shapes, np.float64)
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, c in zip(grads, grads_t):
        np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_einsum_takes_a_list_of_operands_and_gradchecks():
    a, b = (tg.tensor(np.random.default_rng(1).standard_normal(s), requires_grad=True) for s in [(2, 3), (3, 3)])
    np.testing.assert_allclose(tg.einsum("ij,jj->i", [a, b]).detach().numpy(),
                               torch.einsum("ij,jj->i", [torch.tensor(a.detach().numpy()),
                                                         torch.tensor(b.detach().numpy())]).numpy(), rtol=1e-12)
    assert tg.autograd.gradcheck(lambda a, b: tg.einsum("ij,jj->i", a, b), (a, b))


@pytest.mark.parametrize(("equation", "shapes", "error", "match"), [
    ("ij,jk->ik", [(2, 3), (4, 5)], ValueError, "index 'j' has size 3 and size 4"),
    ("ij->ik", [(2, 3)], ValueError, "output subscripts"),
    ("ij->ii", [(2, 3)], ValueError, "output subscripts"),
    ("ij,jk", [(2, 3)], ValueError, "names 2 operands, got 1"),
    ("ijk", [(2, 3)], ValueError, "operand 0 has 2 dims"),
    ("i1", [(2, 3)], ValueError, "invalid equation"),
    ("i..j", [(2, 3)], ValueError, "invalid equation"),
    ("ii->", [(3, 1)], ValueError, r"einsum: index 'i' has size 3 and size 1 \(operand 0, shape \(3, 1\)\)"),
    ("i,i,i->", [(0,), (1,), (5,)], ValueError, r"einsum: index 'i' has size 0 and size 5 \(operand 2"),
])
def test_einsum_bad_equations_raise_like_torch(equation, shapes, error, match):
    arrays = [np.ones(s) for s in shapes]
    with pytest.raises(RuntimeError):
        torch.einsum(equation, *map(torch.tensor, arrays))
    with pytest.raises(error, match=match):
        tg.einsum(equation, *map(tg.tensor, arrays))


def test_einsum_refuses_mixed_dtypes_as_torch():
    with pytest.raises(RuntimeError):
        torch.einsum("ij,jk", torch.ones(2, 3), torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"einsum.*float32.*float64"):
        tg.einsum("ij,jk", tg.ones(2, 3), tg.ones(3, 2, dtype=tg.float64))


# ---- 3. max_pool2d indices, max_unpool2d, unfold / fold -------------------------------------------

def _grads_match(ours_out, theirs_out, ours_in, theirs_in, dtype, rtol, atol, seed=0):
    np.testing.assert_allclose(ours_out.detach().numpy(), theirs_out.detach().numpy(), rtol=rtol, atol=atol)
    g = np.random.default_rng(seed).standard_normal(tuple(theirs_out.shape)).astype(dtype)
    (grad,) = tg.autograd.grad(ours_out, [ours_in], tg.tensor(g))
    (grad_t,) = torch.autograd.grad(theirs_out, [theirs_in], torch.tensor(g))
    np.testing.assert_allclose(grad.numpy(), grad_t.numpy(), rtol=rtol, atol=atol)


PRECISIONS = [(np.float64, 1e-12, 1e-12), (np.float32, 1e-5, 1e-6)]


@settings(max_examples=30, deadline=None)
@given(st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7)),
       st.tuples(st.integers(1, 3), st.integers(1, 3)), st.tuples(st.integers(1, 2), st.integers(1, 2)),
       st.tuples(st.integers(0, 1), st.integers(0, 1)), st.tuples(st.integers(1, 2), st.integers(1, 2)),
       st.sampled_from(PRECISIONS))
def test_unfold_and_fold_match_torch(shape, kernel, dilation, padding, stride, precision):
    dtype, rtol, atol = precision
    if any(n + 2 * p < d * (k - 1) + 1 for n, k, p, d in zip(shape[2:], kernel, padding, dilation)):
        return  # no complete window: both libraries refuse (tested below)
    kw = dict(kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cols, cols_t = F.unfold(a, **kw), TF.unfold(b, **kw)
    assert cols.dtype == dtype
    _grads_match(cols, cols_t, a, b, dtype, rtol, atol)
    c = np.random.default_rng(2).standard_normal(tuple(cols_t.shape)).astype(dtype)
    ca, cb = tg.tensor(c, requires_grad=True), torch.tensor(c, requires_grad=True)
    _grads_match(F.fold(ca, shape[2:], **kw), TF.fold(cb, shape[2:], **kw), ca, cb, dtype, rtol, atol)


def test_unfold_fold_layers_unbatched_and_grad_of_grad():
    x = np.random.default_rng(3).standard_normal((2, 5, 4))
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    unfold, unfold_t = nn.Unfold(2, padding=1), torch.nn.Unfold(2, padding=1)
    fold, fold_t = nn.Fold((5, 4), 2, padding=1), torch.nn.Fold((5, 4), 2, padding=1)
    y, y_t = fold(unfold(a)), fold_t(unfold_t(b))  # each pixel times the number of windows covering it
    np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-12)
    assert repr(fold) == repr(fold_t) and repr(unfold) == repr(unfold_t)
    (g,) = tg.autograd.grad((y * y).sum(), [a], create_graph=True)
    (g_t,) = torch.autograd.grad((y_t * y_t).sum(), [b], create_graph=True)
    (gg,) = tg.autograd.grad((g * g.sin()).sum(), [a])
    (gg_t,) = torch.autograd.grad((g_t * g_t.sin()).sum(), [b])
    np.testing.assert_allclose(gg.numpy(), gg_t.numpy(), rtol=1e-10)


@pytest.mark.parametrize(("call", "match"), [
    (lambda lib: lib.nn.functional.unfold(lib.ones(1, 1, 2, 2), 3), "smaller than"),
    (lambda lib: lib.nn.functional.unfold(lib.ones(2, 2), 1), "expected input"),
    (lambda lib: lib.nn.functional.fold(lib.ones(1, 5, 4), (3, 3), 2), "fold"),
    (lambda lib: lib.nn.functional.fold(lib.ones(1, 4, 5), (3, 3), 2), "fold"),
])
def test_unfold_fold_bad_shapes_raise_like_torch(call, match):
    with pytest.raises((RuntimeError, IndexError)):  # torch: IndexError for a 2-D input
        call(torch)
    with pytest.raises(ValueError, match=match):  # ShapeError is a ValueError and a RuntimeError
        call(tg)


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding", "output_size"), [
    ((2, 3, 6, 7), 2, None, 0, (6, 7)), ((1, 2, 5, 5), 3, 2, 1, None), ((3, 4, 4), 2, 1, 0, None),
    ((1, 1, 7, 5), (3, 2), (2, 1), (1, 0), (1, 1, 7, 5)),
])
@pytest.mark.parametrize(("dtype", "rtol", "atol"), PRECISIONS)
def test_max_pool_indices_and_max_unpool2d_match_torch(shape, kernel, stride, padding, output_size, dtype, rtol, atol):
    x = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pool, pool_t = nn.MaxPool2d(kernel, stride, padding, return_indices=True), \
        torch.nn.MaxPool2d(kernel, stride, padding, return_indices=True)
    (y, idx), (y_t, idx_t) = pool(a), pool_t(b)
    np.testing.assert_array_equal(idx.numpy(), idx_t.numpy())  # flat per-plane indices h·W + w
    assert idx.dtype == tg.int64
    unpool, unpool_t = nn.MaxUnpool2d(kernel, stride, padding), torch.nn.MaxUnpool2d(kernel, stride, padding)
    u, u_t = unpool(y, idx, output_size), unpool_t(y_t, idx_t, output_size)
    assert u.dtype == dtype and u.shape == tuple(u_t.shape)
    _grads_match(u, u_t, a, b, dtype, rtol, atol)


def test_max_unpool2d_refuses_indices_outside_the_output():
    x, idx = torch.ones(1, 1, 2, 2), torch.tensor([[[[0, 1], [2, 16]]]])
    with pytest.raises(RuntimeError):
        TF.max_unpool2d(x, idx, 2)
    with pytest.raises(IndexError, match=r"max_unpool2d.*outside"):
        F.max_unpool2d(tg.ones(1, 1, 2, 2), tg.tensor(idx.numpy()), 2)
    with pytest.raises(ValueError, match=r"max_unpool2d.*same shape"):
        F.max_unpool2d(tg.ones(1, 1, 2, 2), tg.tensor(idx.numpy()[..., :1]), 2)


@pytest.mark.parametrize("output_size", [(9, 9), (3, 7), (1, 1, 5, 3)])
def test_max_unpool2d_refuses_an_output_size_max_pool2d_cannot_come_from_as_torch(output_size):
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 7))
    y_t, idx_t = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    with pytest.raises(ValueError, match="invalid output_size"):
        TF.max_unpool2d(y_t, idx_t, 3, 2, 1, output_size=output_size)
    with pytest.raises(ValueError, match=r"max_unpool2d: invalid output_size.*\(1, 2, 3, 4\)"):
        F.max_unpool2d(tg.tensor(y_t.numpy()), tg.tensor(idx_t.numpy()), 3, 2, 1, output_size=output_size)


def test_max_unpool2d_names_the_unbatched_shapes_given():
    with pytest.raises(ValueError, match=r"max_unpool2d.*\(2, 2, 2\) and \(1, 2, 2, 2\)"):
        F.max_unpool2d(tg.ones(2, 2, 2), tg.tensor(np.zeros((1, 2, 2, 2), dtype=np.int64)), 2)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: F.unfold(tg.ones(1, 2, 2), 3), r"unfold: input of shape \(1, 2, 2\)"),
    (lambda: F.fold(tg.ones(5, 4), (3, 3), 2), r"fold: .*got \(5, 4\)"),
    (lambda: F.fold(tg.ones(4), (3, 3), 2), r"fold: .*got \(4,\)"),
])
def test_unbatched_unfold_fold_errors_name_the_shape_given(call, match):
    with pytest.raises(ValueError, match=match):
        call()
