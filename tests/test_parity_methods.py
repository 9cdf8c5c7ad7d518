"""PyTorch parity of prod, cumsum, flip, roll, repeat, tril/triu, index_select, sort, topk,
new_zeros/new_ones/new_full/new_empty and the in-place unary ops.

Values and input gradients are compared with PyTorch (``tg.testing.assert_matches_torch``)
in float64 (tight) and float32, on shapes drawn by hypothesis (size-1 dims, odd sizes, 0-d
where PyTorch allows it) and on non-contiguous inputs (a transposed or strided view made
inside the function, so its gradient is compared too). The op-table rows (tests/op_table.py)
add gradcheck and double backward on both backends; here: dtype rules, prod's gradient with
zeros, stable sorting with ties and NaN, errors, and gradgradcheck.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck, gradgradcheck
from tinygrad_edu.testing import assert_matches_torch
from tinygrad_edu.testing import strategies as tst

torch = pytest.importorskip("torch")

DTYPES = (np.float64, np.float32)
SETTINGS = settings(max_examples=15, deadline=None)


def _view(layout: str):
    """A function making the same non-contiguous view of a tg or torch tensor (or none)."""
    if layout == "transposed":
        return lambda t: t.permute(*reversed(range(t.ndim)))
    if layout == "strided":
        return lambda t: t[..., ::2] if t.ndim else t
    return lambda t: t


def _compare(fn, torch_fn, shape, dtype, layout="contiguous", seed=0):
    """assert_matches_torch on ``fn`` applied to a view of N(0, 1) data of ``shape``."""
    view = _view(layout)
    raw = tuple(reversed(shape)) if layout == "transposed" else (*shape[:-1], 2 * shape[-1]) if shape else shape
    assert_matches_torch(lambda x: fn(view(x)), lambda x: torch_fn(view(x)), raw, dtype=dtype, seed=seed)


def _index_like(t, values: list[int]):
    """An int64 index tensor of the library ``t`` belongs to (torch's index_select takes no list)."""
    return torch.tensor(values) if isinstance(t, torch.Tensor) else tg.tensor(values)


# ---- values and gradients on drawn shapes ------------------------------------------------

# name: (tg function, torch function, smallest number of dims). The same lambda works on both
# libraries where the method names and arguments agree.
CASES = {
    "prod_all": (lambda x: x.prod(), None, 0),
    "prod_dim": (lambda x: x.prod(-1), None, 1),
    "prod_dim0_keepdim": (lambda x: x.prod(0, keepdim=True), None, 0),
    "cumsum_last": (lambda x: x.cumsum(-1), None, 0),
    "cumsum_first": (lambda x: x.cumsum(0), None, 0),
    "flip_first": (lambda x: x.flip(0), None, 0),
    "flip_all": (lambda x: x.flip(tuple(range(x.ndim))), lambda x: x.flip(tuple(range(x.ndim))), 0),
    "roll_flat": (lambda x: x.roll(3), None, 0),
    "roll_dims": (lambda x: x.roll((2, -1), (0, -1)), None, 1),
    "repeat": (lambda x: x.repeat(tuple([2, 1, 3][: x.ndim] + [1] * (x.ndim - 3))), None, 0),
    "repeat_more_dims": (lambda x: x.repeat(*([3] + [2] * x.ndim)), None, 0),
    "tile": (lambda x: x.tile((2, 1)), None, 0),
    "tril": (lambda x: x.tril(), None, 2),
    "triu_offset": (lambda x: x.triu(-1), None, 2),
    "tril_offset": (lambda x: x.tril(2), None, 2),
    "tg_functions": (lambda x: tg.flip(tg.cumsum(x, 0), [0]), lambda x: torch.flip(torch.cumsum(x, 0), [0]), 0),
    "index_select": (lambda x: x.index_select(0, [0, 0]), lambda x: x.index_select(0, torch.tensor([0, 0])), 1),
    "sort": (lambda x: x.sort(), None, 0),
    "sort_descending": (lambda x: x.sort(0, descending=True), None, 0),
    "topk_largest": (lambda x: x.topk(1), None, 0),
    "topk_smallest_dim0": (lambda x: x.topk(1, 0, largest=False), None, 0),
}


@SETTINGS
@given(data=st.data())
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_on_drawn_shapes(name, data):
    fn, torch_fn, min_dims = CASES[name]
    shape = data.draw(tst.shapes(min_dims, 3, 1, 5), label="shape")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    layout = data.draw(st.sampled_from(["contiguous", "transposed", "strided"] if shape else ["contiguous"]))
    _compare(fn, torch_fn or fn, shape, dtype, layout, seed=data.draw(st.integers(0, 2**16), label="seed"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_functions_match_torch(dtype):
    for tg_fn, torch_fn in [
        (lambda x: tg.prod(x, 1), lambda x: torch.prod(x, 1)),
        (lambda x: tg.roll(x, 1, 0), lambda x: torch.roll(x, 1, 0)),
        (lambda x: tg.tril(x, -1) + tg.triu(x, 1), lambda x: torch.tril(x, -1) + torch.triu(x, 1)),
        (lambda x: tg.index_select(x, 1, [2, 0]), lambda x: torch.index_select(x, 1, torch.tensor([2, 0]))),
        (lambda x: tg.sort(x, 0), lambda x: torch.sort(x, 0)),
        (lambda x: tg.topk(x, 2, 1), lambda x: torch.topk(x, 2, 1)),
    ]:
        assert_matches_torch(tg_fn, torch_fn, (3, 4), dtype=dtype)


def test_repeat_is_torch_repeat_not_numpy_repeat():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    ours = tg.tensor(x).repeat(2, 3).numpy()
    np.testing.assert_array_equal(ours, torch.tensor(x).repeat(2, 3).numpy())
    np.testing.assert_array_equal(ours[:, :2], np.concatenate([x, x]))  # whole copies side by side


# ---- prod: the gradient where the input holds zeros ----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("row", [
    [2.0, 0.0, 3.0, -1.5],     # one zero: it gets the product of the others, the rest 0
    [0.0, 4.0, 0.0, 2.0],      # two zeros: every gradient is 0
    [0.0, 0.0, 0.0, 0.0],
    [0.0, 5.0, 1.0, 0.5],
])
def test_prod_gradient_with_zeros_matches_torch(row, dtype):
    x = np.array([row, [1.0, 2.0, -3.0, 0.5]], dtype=dtype)  # the second row has no zero
    for fn in (lambda t: t.prod(-1), lambda t: t.prod(), lambda t: t.prod(0, keepdim=True)):
        assert_matches_torch(fn, fn, x, dtype=dtype)
    t = tg.tensor(x, requires_grad=True)
    t.prod(-1).sum().backward()
    others = [np.prod(np.delete(x[0], i)) for i in range(4)]  # Π_{j ≠ i} x_j, literally
    np.testing.assert_allclose(t.grad.numpy()[0], others, rtol=1e-6)
    assert np.isfinite(t.grad.numpy()).all()


@pytest.mark.parametrize("row", [[2.0, 0.0, 3.0, -1.5], [2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 1.5]])
def test_prod_second_derivative_with_zeros(row):
    x = np.array([row, [0.7, -1.2, 2.0, 0.9]])
    assert gradgradcheck(lambda t: t.prod(-1), [tg.tensor(x, requires_grad=True)])
    assert gradgradcheck(lambda t: t.prod(), [tg.tensor(x, requires_grad=True)])
    hessians = []
    for lib in (tg, torch):  # ∂²y/∂x_i∂x_k = Π_{j ≠ i, k} x_j, compared with torch
        t = lib.tensor(x[0], requires_grad=True)
        (g,) = (tg.autograd.grad if lib is tg else torch.autograd.grad)([t.prod()], [t], create_graph=True)
        rows = [(tg.autograd.grad if lib is tg else torch.autograd.grad)([g[i]], [t], retain_graph=True)[0]
                for i in range(4)]
        hessians.append(np.stack([np.asarray(r.detach().numpy()) for r in rows]))
    np.testing.assert_allclose(hessians[0], hessians[1], rtol=1e-12)


@pytest.mark.parametrize("name", ["cumsum_last", "flip_all", "roll_dims", "repeat", "tril", "sort", "topk_largest"])
def test_gradgradcheck(name):
    def fn(x):
        out = CASES[name][0](x)
        return out.values if isinstance(out, tuple) else out  # sort/topk: the indices have no gradient

    x = tg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(fn, [x])
    assert gradgradcheck(fn, [x])


# ---- dtype rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64, np.float32, np.float64])
def test_cumsum_and_prod_dtypes_match_torch(dtype):
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    for ours, theirs in [
        (tg.tensor(x).cumsum(1), torch.tensor(x).cumsum(1)),
        (tg.tensor(x).prod(0), torch.tensor(x).prod(0)),
        (tg.tensor(x).prod(), torch.tensor(x).prod()),
        (tg.tensor(x).cumsum(0, dtype=tg.float64), torch.tensor(x).cumsum(0, dtype=torch.float64)),
    ]:
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("fn", [lambda t: t.flip(0), lambda t: t.roll(1), lambda t: t.repeat(2, 1),
                                lambda t: t.tril(), lambda t: t.index_select(0, _index_like(t, [1])),
                                lambda t: t.sort(0).values, lambda t: t.topk(1).values])
def test_movement_keeps_integer_dtypes(fn):
    x = np.array([[3, 1], [2, 2]], dtype=np.int32)
    ours, theirs = fn(tg.tensor(x)), fn(torch.tensor(x))
    assert ours.dtype == np.int32
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- sorting: stable ties, NaN, indices ----------------------------------------------------


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_sort_with_ties_and_nan_matches_torch_stable_sort(descending, dim):
    x = np.random.default_rng(2).integers(-2, 3, (6, 7)).astype(np.float64)
    x[1, 3] = x[4, 0] = np.nan
    ours = tg.tensor(x).sort(dim, descending)
    theirs = torch.tensor(x).sort(dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())  # NaN == NaN in this assert
    assert ours.indices.dtype == np.int64


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int64])
def test_sort_descending_of_bool_and_unsigned_matches_torch(dtype):
    x = np.array([0, 3, 1, 3, 0, 2], dtype=dtype)
    ours, theirs = tg.tensor(x).sort(descending=True), torch.tensor(x).sort(descending=True, stable=True)
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_array_equal(tg.tensor(x).argsort(descending=True).numpy(),
                                  torch.tensor(x).argsort(descending=True, stable=True).numpy())


def test_topk_gradient_goes_to_the_chosen_indices():
    x = tg.tensor([[0.5, 3.0, -1.0, 2.0]], requires_grad=True)
    values, indices = x.topk(2)
    (values * tg.tensor([[10.0, 1.0]])).sum().backward()
    np.testing.assert_array_equal(indices.numpy(), [[1, 3]])
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 10.0, 0.0, 1.0]])


# ---- scatter and scatter_add ------------------------------------------------------------------

REPEATED_INDEX = np.array([[0, 2], [1, 1], [3, 0]])  # row 1 writes twice into column 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_and_scatter_add_match_torch(dtype):
    index = torch.tensor(REPEATED_INDEX)
    assert_matches_torch(lambda x, s: x.scatter(1, REPEATED_INDEX, s), lambda x, s: x.scatter(1, index, s),
                         (3, 4), (3, 2), dtype=dtype)  # the last write wins; both writes get gather(g)
    assert_matches_torch(lambda x, s: tg.scatter_add(x, 1, REPEATED_INDEX, s),
                         lambda x, s: torch.scatter_add(x, 1, index, s), (3, 4), (3, 2), dtype=dtype)
    assert_matches_torch(lambda x: x.scatter(0, REPEATED_INDEX.T[:, :3], -1.0),
                         lambda x: x.scatter(0, index.T[:, :3], -1.0), (4, 3), dtype=dtype)
    # src larger than index: only the covered part is used (torch's backward refuses this shape)
    assert_matches_torch(lambda x, s: x.scatter_add(1, REPEATED_INDEX, s), lambda x, s: x.scatter_add(1, index, s),
                         (3, 4), (4, 3), dtype=dtype, check_grad=False)


def test_scatter_gradient_of_overwritten_elements_is_zero():
    x = tg.zeros(2, 3, dtype=tg.float64, requires_grad=True)
    src = tg.tensor(np.array([[5.0], [7.0]]), requires_grad=True)
    y = x.scatter(1, [[2], [0]], src)
    (y * tg.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), [[0, 0, 5], [7, 0, 0]])
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [0, 4, 5]])
    np.testing.assert_array_equal(src.grad.numpy(), [[2], [3]])
    assert gradgradcheck(lambda a, b: a.scatter(1, [[2], [0]], b) ** 2,
                         [x.detach().requires_grad_(), src.detach().requires_grad_()])


# ---- new_* and in-place unary ops ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_new_factories_match_torch(dtype):
    ours, theirs = tg.tensor(np.ones((2, 2), dtype)), torch.tensor(np.ones((2, 2), dtype))
    pairs = [
        (ours.new_zeros(3, 1), theirs.new_zeros(3, 1)),
        (ours.new_ones((2,)), theirs.new_ones((2,))),
        (ours.new_full((2, 3), 7), theirs.new_full((2, 3), 7)),
        (ours.new_zeros(2, dtype=tg.float64), theirs.new_zeros(2, dtype=torch.float64)),
        (ours.new_tensor([[1.5, 2]]), theirs.new_tensor([[1.5, 2]])),
    ]
    for a, b in pairs:
        assert str(a.dtype) == str(b.dtype).removeprefix("torch.") and a.shape == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    empty = ours.new_empty(4, 2)
    assert empty.shape == (4, 2) and empty.dtype == dtype
    assert ours.new_ones(2, requires_grad=True).requires_grad if dtype == np.float32 else True


@pytest.mark.parametrize("name", ["exp_", "log_", "sqrt_", "abs_", "neg_", "sigmoid_", "tanh_", "relu_", "sin_",
                                  "cos_"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_unary_matches_torch(name, dtype):
    x = np.random.default_rng(3).uniform(-2, 2, (3, 4)).astype(dtype)
    if name in ("log_", "sqrt_"):
        x = np.abs(x) + 0.1
    ours, theirs = tg.tensor(x), torch.tensor(x)
    assert getattr(ours, name)() is ours
    getattr(theirs, name)()
    assert ours.dtype == dtype
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_inplace_unary_refuses_a_leaf_that_requires_grad():
    with pytest.raises(RuntimeError, match="exp_"):
        tg.tensor([1.0, 2.0], requires_grad=True).exp_()


# ---- bad input: errors naming the op and the shapes ------------------------------------------


@pytest.mark.parametrize("call, error, words", [
    (lambda x: x.flip(2), IndexError, ["flip", "dim 2"]),
    (lambda x: x.flip(0, -2), ValueError, ["flip", "(2, 3)"]),
    (lambda x: x.cumsum(-3), IndexError, ["cumsum", "-3"]),
    (lambda x: x.prod(5), IndexError, ["prod", "5"]),
    (lambda x: x.roll((1, 2), 0), ValueError, ["roll", "(1, 2)"]),
    (lambda x: x.roll((1, 2)), ValueError, ["roll", "(2, 3)"]),
    (lambda x: x.repeat(2), ValueError, ["repeat", "(2, 3)"]),
    (lambda x: x.repeat(2, -1), ValueError, ["repeat", "(2, 3)"]),
    (lambda x: x[0].tril(), tg.ShapeError, ["tril", "(3,)"]),
    (lambda x: x[0].triu(), tg.ShapeError, ["triu", "(3,)"]),
    (lambda x: x.index_select(1, [0, 3]), IndexError, ["index_select", "(2, 3)"]),
    (lambda x: x.index_select(0, [[0]]), IndexError, ["index_select", "(1, 1)"]),
    (lambda x: x.topk(4), IndexError, ["topk", "(2, 3)"]),
    (lambda x: x.sort(2), IndexError, ["sort", "dim 2"]),
    (lambda x: x.scatter(1, [[3]], 1.0), IndexError, ["scatter", "(2, 3)"]),
    (lambda x: x.scatter(1, [0], 1.0), IndexError, ["scatter", "(1,)"]),
    (lambda x: x.scatter(1, [[0, 1]], tg.zeros(1, 1)), IndexError, ["scatter", "(1, 2)", "(1, 1)"]),
    (lambda x: x.scatter(1, [[0]], tg.zeros(1, 1, dtype=tg.float64)), TypeError, ["scatter", "float64"]),
    (lambda x: x.scatter(1, [[0]]), TypeError, ["scatter", "src"]),
    (lambda x: x.scatter_add(0, [[-1]], tg.zeros(1, 1)), IndexError, ["scatter_add", "(2, 3)"]),
])
def test_bad_input_raises_naming_the_op(call, error, words):
    with pytest.raises(error) as info:
        call(tg.zeros(2, 3))
    assert all(w in str(info.value) for w in words), str(info.value)
