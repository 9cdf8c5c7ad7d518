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
    # compositions added for PyTorch names (values and gradients)
    "neg": (lambda x: x.neg(), None, 0),
    "negative": (lambda x: x.negative(), None, 0),
    "add_alpha": (lambda x: x.add(x * 2, alpha=-1.5), None, 0),
    "sub_alpha": (lambda x: x.sub(x.exp(), alpha=0.5), None, 0),
    "multiply_divide": (lambda x: x.multiply(3.0).divide(x.exp()).subtract(x), None, 0),
    "addcmul": (lambda x: x.addcmul(x.sin(), x.cos(), value=0.5), None, 0),
    "addcdiv": (lambda x: x.addcdiv(x.sin(), x.exp(), value=-2.0), None, 0),
    "clamp_min": (lambda x: x.clamp_min(0.3), None, 0),
    "clamp_max": (lambda x: x.clamp_max(-0.2), None, 0),
    "log2": (lambda x: x.abs().log2(), None, 0),
    "log10": (lambda x: x.abs().log10(), None, 0),
    "exp2": (lambda x: x.exp2(), None, 0),
    "logit": (lambda x: x.sigmoid().logit(), None, 0),
    "logit_eps": (lambda x: x.sigmoid().logit(eps=0.3), None, 0),
    "kthvalue": (lambda x: x.kthvalue(1), None, 0),
    "kthvalue_dim0_keepdim": (lambda x: x.kthvalue(x.shape[0] if x.ndim else 1, 0, keepdim=True), None, 0),
    "mode_distinct": (lambda x: x.mode(0), None, 0),
    "ravel": (lambda x: x.ravel(), None, 0),
    "broadcast_to": (lambda x: x.broadcast_to((2, *x.shape)), None, 0),
    "sum_to_size": (lambda x: x.sum_to_size((1,) * x.ndim), None, 0),
    "take_along_dim": (lambda x: x.take_along_dim(x.argsort(-1), -1), lambda x: x.take_along_dim(x.argsort(-1), -1), 1),
    "take_along_dim_flat": (lambda x: x.take_along_dim(x.reshape(-1).argsort()[:2]),  # (torch: only contiguous x)
                            lambda x: x.contiguous().take_along_dim(x.reshape(-1).argsort()[:2]), 1),
    "diagonal": (lambda x: x.diagonal(), None, 2),
    "diagonal_offset_dims": (lambda x: x.diagonal(1, -1, 0), None, 2),
    "diagonal_below": (lambda x: x.diagonal(-1), None, 2),
    "repeat_interleave": (lambda x: x.repeat_interleave(2), None, 0),
    "repeat_interleave_dim": (lambda x: x.repeat_interleave(3, dim=-1), None, 1),
    "diff": (lambda x: x.diff(), None, 1),
    "diff_2_dim0": (lambda x: x.diff(2, 0), None, 1),
    "diff_prepend_append": (lambda x: x.diff(dim=-1, prepend=x[..., :1].exp(), append=x[..., -1:] * 2), None, 1),
    "fliplr": (lambda x: x.fliplr(), None, 2),
    "flipud": (lambda x: x.flipud(), None, 1),
    "nanmean": (lambda x: x.nanmean(), None, 0),
    "nanmean_dim": (lambda x: x.nanmean(-1, keepdim=True), None, 1),
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


# ---- mode, frac, pow_, baddbmm, fill_diagonal_, byte/char/short, memory queries -------------


@SETTINGS
@given(data=st.data())
def test_mode_matches_torch_with_ties(data):
    """Values, indices (of the last occurrence) and gradients, on small integers (many ties) in
    slices of at most 16 elements: torch sorts those with an insertion sort, so its index is the
    last occurrence, as ours (beyond 16 its unstable sort picks any one)."""
    shape = data.draw(tst.shapes(0, 3, 1, 5), label="shape")
    dim = data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    values = np.asarray(data.draw(st.lists(st.integers(-2, 2), min_size=int(np.prod(shape)),
                                           max_size=int(np.prod(shape)))), dtype=np.float64).reshape(shape)
    for dtype in DTYPES:
        assert_matches_torch(lambda x: tuple(x.mode(dim, keepdim)), lambda x: tuple(x.mode(dim, keepdim)),
                             values.astype(dtype))


@pytest.mark.parametrize("row", [[3, 1, 3, 1], [1, 1, 2, 2, 1, 2, 0], [5, 4, 5, 4, 4, 9, 9, 9], [7], [2, -0.0, 0.0]])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_])
def test_mode_of_one_row_matches_torch(row, dtype):
    a = np.asarray(row).astype(dtype)
    ours, theirs = tg.tensor(a).mode(), torch.tensor(a).mode()
    assert ours.values.item() == theirs.values.item() and ours.indices.item() == theirs.indices.item()
    assert ours.values.dtype == a.dtype and ours.indices.dtype == np.int64


@pytest.mark.parametrize("row", [[2.0, np.nan, np.nan, 1.0], [np.nan, np.nan, 1.0, 1.0], [3.0, np.nan, 2.0],
                                 [np.nan, np.nan, np.nan]])
def test_mode_with_nan_matches_torch_where_torch_is_deterministic(row):
    ours, theirs = tg.tensor(row).mode(), torch.tensor(row).mode()
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    assert ours.indices.item() == theirs.indices.item()


def test_mode_of_empty_tensors_as_torch():
    assert tg.zeros(0, 3).mode(1).values.shape == torch.zeros(0, 3).mode(1).values.shape == (0,)
    with pytest.raises(IndexError, match="mode"):
        tg.zeros(2, 0).mode(1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_frac_matches_torch_with_special_values(dtype):
    values = np.array([2.5, -2.5, -0.0, 0.0, 3.0, -7.25, 1e30, np.inf, -np.inf, np.nan], dtype=dtype)
    assert_matches_torch(lambda x: x.frac(), lambda x: x.frac(), values)
    ours, theirs = tg.tensor(values).frac().numpy(), torch.tensor(values).frac().numpy()
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))  # −0.0 where torch has it
    inplace = tg.tensor(values)
    assert inplace.frac_() is inplace and inplace._version == 1
    np.testing.assert_array_equal(inplace.numpy(), theirs)
    with pytest.raises(TypeError, match="frac"):
        tg.tensor([1, 2]).frac()


@pytest.mark.parametrize("exponent", [2, 0.5, -1.5, "tensor"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_in_place_matches_torch(exponent, dtype):
    base = np.array([[0.5, 1.5, 2.0], [3.0, 0.25, 1.0]], dtype=dtype)
    ours, theirs = tg.tensor(base), torch.tensor(base)
    if exponent == "tensor":
        ours.pow_(tg.tensor(base[0])), theirs.pow_(torch.tensor(base[0]))
    else:
        ours.pow_(exponent), theirs.pow_(exponent)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert ours.dtype == dtype and ours._version == theirs._version == 1
    with pytest.raises(RuntimeError, match="pow_"):
        tg.tensor(base, requires_grad=True).pow_(2)


@pytest.mark.parametrize("self_shape", [(2, 3, 5), (3, 5), (5,), (1, 1, 5), ()])
@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, 2.0), (0, -1.0), (2, 0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_baddbmm_matches_torch(self_shape, beta, alpha, dtype):
    assert_matches_torch(lambda s, b1, b2: s.baddbmm(b1, b2, beta=beta, alpha=alpha),
                         lambda s, b1, b2: s.baddbmm(b1, b2, beta=beta, alpha=alpha),
                         self_shape, (2, 3, 4), (2, 4, 5), dtype=dtype)


def test_baddbmm_with_beta_0_ignores_nan_in_self_and_checks_shapes():
    nan_self = np.full((2, 3, 5), np.nan)
    b1, b2 = np.ones((2, 3, 4)), np.ones((2, 4, 5))
    ours = tg.tensor(nan_self).baddbmm(tg.tensor(b1), tg.tensor(b2), beta=0).numpy()
    np.testing.assert_array_equal(ours, torch.tensor(nan_self).baddbmm(torch.tensor(b1), torch.tensor(b2),
                                                                       beta=0).numpy())
    for self_shape, b1_shape in [((2, 3, 5), (2, 3, 3)), ((3, 2, 3, 5), (2, 3, 4)), ((4, 5), (2, 3, 4))]:
        with pytest.raises(tg.ShapeError, match="baddbmm"):
            tg.zeros(*self_shape).baddbmm(tg.zeros(*b1_shape), tg.zeros(2, 4, 5))
        with pytest.raises(RuntimeError):
            torch.zeros(*self_shape).baddbmm(torch.zeros(*b1_shape), torch.zeros(2, 4, 5))


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (7, 3), (3, 7), (4, 4), (1, 1), (3, 3, 3), (2, 2, 2, 2), (0, 3)])
@pytest.mark.parametrize("wrap", [False, True])
def test_fill_diagonal_matches_torch(shape, wrap):
    ours, theirs = tg.zeros(*shape), torch.zeros(*shape)
    assert ours.fill_diagonal_(7.5, wrap=wrap) is ours
    theirs.fill_diagonal_(7.5, wrap=wrap)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours._version == 1


def test_fill_diagonal_of_a_view_writes_the_base_and_refuses_bad_input():
    base = tg.zeros(4, 6)
    base[:, ::2].fill_diagonal_(1.0)
    expected = torch.zeros(4, 6)
    expected[:, ::2].fill_diagonal_(1.0)
    np.testing.assert_array_equal(base.numpy(), expected.numpy())
    for shape in [(3,), (2, 3, 4)]:
        with pytest.raises(tg.ShapeError, match="fill_diagonal_"):
            tg.zeros(*shape).fill_diagonal_(1.0)
        with pytest.raises(RuntimeError):
            torch.zeros(*shape).fill_diagonal_(1.0)
    with pytest.raises(RuntimeError, match="fill_diagonal_"):
        tg.zeros(2, 2, requires_grad=True).fill_diagonal_(1.0)


@pytest.mark.parametrize("method", ["byte", "char", "short"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_integer_casts_match_torch(method, dtype):
    values = np.array([0, 1, 2.7, -1.7, 127, 128, 255, 300.5, -129, 40000]).astype(dtype)
    ours, theirs = getattr(tg.tensor(values), method)(), getattr(torch.tensor(values), method)()
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int64, np.int32, np.uint8, np.bool_])
def test_element_size_matches_torch(dtype):
    assert tg.tensor(np.zeros(3, dtype)).element_size() == torch.tensor(np.zeros(3, dtype)).element_size()


VIEWS = {
    "whole": lambda t: t,
    "rows": lambda t: t[1:],
    "column": lambda t: t[:, 2],
    "element": lambda t: t[2, 3],
    "transpose_row": lambda t: t.t()[1],
    "slice_transposed": lambda t: t[1:].t(),
    "strided": lambda t: t[1:, 1::2],
    "reshape_of_rows": lambda t: t[1:].reshape(-1),
    "expand": lambda t: t[1].expand(2, 4),
    "narrow": lambda t: t.narrow(1, 1, 2),
    "unbind": lambda t: t.unbind(0)[2],
    "reshape_copy": lambda t: t.t().reshape(-1),
    "clone": lambda t: t[1:].clone(),
    "detach": lambda t: t[1:].detach(),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_storage_offset_and_data_ptr_match_torch(view):
    base = np.arange(12.0).reshape(3, 4)
    ours, theirs = VIEWS[view](tg.tensor(base)), VIEWS[view](torch.tensor(base))
    assert ours.storage_offset() == theirs.storage_offset()
    ours_base, theirs_base = tg.tensor(base), torch.tensor(base)  # data_ptr: the same distance from the base
    ours, theirs = VIEWS[view](ours_base), VIEWS[view](theirs_base)
    shares = np.shares_memory(ours.data, ours_base.data)
    if shares:
        assert (ours.data_ptr() - ours_base.data_ptr()) == (theirs.data_ptr() - theirs_base.data_ptr())
    assert shares == (theirs.untyped_storage().data_ptr() == theirs_base.untyped_storage().data_ptr())


# ---- integer operands of hypot / logaddexp / atan2, as torch -------------------------------


@pytest.mark.parametrize("op", ["hypot", "logaddexp", "atan2"])
@pytest.mark.parametrize("x_dtype, w_dtype", [(np.int64, np.int64), (np.int32, np.int64), (np.bool_, np.bool_),
                                              (np.int64, np.float64), (np.float32, np.int64), (np.uint8, np.float32),
                                              (np.float32, np.float64)])
def test_binary_functions_of_integer_tensors_as_torch(op, x_dtype, w_dtype):
    x, w = np.array([1, 2, 0]).astype(x_dtype), np.array([4, 1, 0]).astype(w_dtype)
    try:
        theirs = getattr(torch.tensor(x), op)(torch.tensor(w))
    except (RuntimeError, NotImplementedError):
        with pytest.raises(TypeError, match=op):
            getattr(tg.tensor(x), op)(tg.tensor(w))
        return
    ours = getattr(tg.tensor(x), op)(tg.tensor(w))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


# ---- max() / min() / median() of all: the gradient of a nan result, as torch ----------------


@pytest.mark.parametrize("name", ["max", "min", "median"])
@pytest.mark.parametrize("row", [[1.0, np.nan, 3.0, np.nan], [1.0, 3.0, 3.0, 0.5], [np.nan], [2.0, 2.0, 2.0]])
@pytest.mark.parametrize("dtype", DTYPES)
def test_whole_tensor_max_min_median_share_the_gradient_as_torch(name, row, dtype):
    assert_matches_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(),
                         np.array(row, dtype=dtype).reshape(2, -1) if len(row) == 4 else np.array(row, dtype=dtype))


def test_max_of_an_empty_tensor_raises_as_torch_and_median_is_nan():
    with pytest.raises(RuntimeError, match="max"):
        tg.zeros(0).max()
    with pytest.raises(RuntimeError):
        torch.zeros(0).max()
    assert np.isnan(tg.zeros(0).median().item()) and np.isnan(torch.zeros(0).median().item())


# ---- clamp with tensor bounds: one op, torch's gradient rule --------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_with_tensor_bounds_routes_the_gradient_as_torch(dtype):
    """Ties of x with a bound, lo > hi (hi wins) and lo = hi (torch gives no input the gradient)."""
    x = np.array([0.0, 1.0, 2.0, 3.0, 1.0, 5.0, 2.0, -1.0], dtype=dtype)
    lo = np.array([1.0, 1.0, 1.0, 1.0, 4.0, 4.0, 2.0, 2.0], dtype=dtype)
    hi = np.array([2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 2.0, 2.0], dtype=dtype)
    assert_matches_torch(lambda x, lo, hi: x.clamp(lo, hi), lambda x, lo, hi: x.clamp(lo, hi), x, lo, hi)
    assert_matches_torch(lambda x, lo: x.clamp(min=lo), lambda x, lo: x.clamp(min=lo), x, lo)
    assert_matches_torch(lambda x, hi: x.clamp(max=hi), lambda x, hi: x.clamp(max=hi), x, hi)


@pytest.mark.parametrize("x_dtype, bound_dtype", [(np.int64, np.float32), (np.float32, np.float64),
                                                  (np.int64, np.int32), (np.float64, np.int64)])
def test_clamp_with_tensor_bounds_promotes_as_torch(x_dtype, bound_dtype):
    x, lo, hi = np.array([0, 3, 7]).astype(x_dtype), np.array([1, 1, 1]).astype(bound_dtype), np.array(5).astype(
        bound_dtype)
    ours = tg.tensor(x).clamp(tg.tensor(lo), tg.tensor(hi))
    theirs = torch.tensor(x).clamp(torch.tensor(lo), torch.tensor(hi))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_index_add_checks_once_and_refuses_another_dtype_as_torch():
    x = tg.zeros(2, 3)
    with pytest.raises(TypeError, match="index_add"):
        x.index_add(1, [0], tg.ones(2, 1, dtype=tg.float64))
    with pytest.raises(RuntimeError):
        torch.zeros(2, 3).index_add(1, torch.tensor([0]), torch.ones(2, 1, dtype=torch.float64))
    ours = tg.zeros(2, 3).index_add(1, [2, 0, 2], tg.ones(2, 3), alpha=2.0)
    theirs = torch.zeros(2, 3).index_add(1, torch.tensor([2, 0, 2]), torch.ones(2, 3), alpha=2.0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_topk_unsorted_returns_the_same_elements_as_torch():
    """sorted=False: torch's CPU order is its partial sort's (unspecified); ours is sorted. The set agrees."""
    x = np.random.default_rng(0).standard_normal((3, 40))
    ours, theirs = tg.tensor(x).topk(7, sorted=False), torch.tensor(x).topk(7, sorted=False)
    np.testing.assert_array_equal(np.sort(ours.indices.numpy(), axis=1), np.sort(theirs.indices.numpy(), axis=1))


# ---- the smaller PyTorch names: predicates, in-place forms, random fills --------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_nanmean_with_nan_matches_torch(dtype):
    """Values and gradients; a slice of NaN only: the value NaN in both (its gradient, NaN in both:
    test_parity_gaps17)."""
    x = np.array([[1.0, np.nan, 3.0], [np.nan, 0.25, np.nan], [0.5, 2.0, -1.0]], dtype=dtype)
    for fn in (lambda t: t.nanmean(), lambda t: t.nanmean(1), lambda t: t.nanmean(0, keepdim=True)):
        assert_matches_torch(fn, fn, x)
    all_nan = np.full((2, 3), np.nan, dtype=dtype)
    np.testing.assert_array_equal(tg.tensor(all_nan).nanmean(1).numpy(), torch.tensor(all_nan).nanmean(1).numpy())


@pytest.mark.parametrize("name", ["isclose", "signbit", "isposinf", "isneginf"])
def test_predicates_match_torch(name):
    x = np.array([0.0, -0.0, 1.0, -2.0, np.inf, -np.inf, np.nan, 1e-9, 1.0 + 1e-6])
    w = np.array([1e-9, 0.0, 1.0 + 1e-6, -2.0, np.inf, np.inf, np.nan, 0.0, 1.0])
    args = (lambda lib: (lib.tensor(w),)) if name == "isclose" else (lambda lib: ())
    ours = getattr(tg.tensor(x), name)(*args(tg)).numpy()
    theirs = getattr(torch.tensor(x), name)(*args(torch)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == np.bool_
    if name == "isclose":
        np.testing.assert_array_equal(tg.tensor(x).isclose(tg.tensor(w), equal_nan=True).numpy(),
                                      torch.tensor(x).isclose(torch.tensor(w), equal_nan=True).numpy())


INPLACE = {
    "addcmul_": lambda lib, x, a, b: x.addcmul_(a, b, value=0.5),
    "addcdiv_": lambda lib, x, a, b: x.addcdiv_(a, b.exp(), value=-2.0),
    "clamp_min_": lambda lib, x, a, b: x.clamp_min_(0.1),
    "clamp_max_": lambda lib, x, a, b: x.clamp_max_(a),
    "lerp_": lambda lib, x, a, b: x.lerp_(a, 0.25),
    "index_add_": lambda lib, x, a, b: x.index_add_(1, lib.tensor([2, 0, 2]), a[:, :3], alpha=2.0),
    "scatter_": lambda lib, x, a, b: x.scatter_(1, lib.tensor([[0, 3], [1, 2], [3, 0]]), a),
    "scatter_value_": lambda lib, x, a, b: x.scatter_(1, lib.tensor([[0, 3], [1, 2], [3, 0]]), value=7.0),
    "scatter_add_": lambda lib, x, a, b: x.scatter_add_(1, lib.tensor([[0, 0], [1, 2], [3, 3]]), a),
}


@pytest.mark.parametrize("name", list(INPLACE))
@pytest.mark.parametrize("dtype", DTYPES)
def test_more_in_place_forms_match_torch(name, dtype):
    rng = np.random.default_rng(1)
    x, a, b = (rng.standard_normal((3, 4)).astype(dtype) for _ in range(3))
    ours, theirs = tg.tensor(x), torch.tensor(x)
    assert INPLACE[name](tg, ours, tg.tensor(a), tg.tensor(b)) is ours
    INPLACE[name](torch, theirs, torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert ours._version == theirs._version == 1
    with pytest.raises(RuntimeError, match=name.removesuffix("value_") if name == "scatter_value_" else name):
        INPLACE[name](tg, tg.tensor(x, requires_grad=True), tg.tensor(a), tg.tensor(b))


@pytest.mark.parametrize("name, args", [("uniform_", (-2.0, 3.0)), ("normal_", (1.5, 0.5))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_fills_in_place_are_seeded_and_in_distribution(name, args, dtype):
    tg.manual_seed(3)
    first = getattr(tg.zeros(200, 50, dtype=dtype), name)(*args)
    tg.manual_seed(3)
    second = getattr(tg.zeros(200, 50, dtype=dtype), name)(*args)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert first.dtype == dtype and first._version == 1
    values = first.numpy().astype(np.float64)
    if name == "uniform_":
        assert values.min() >= -2.0 and values.max() <= 3.0 and abs(values.mean() - 0.5) < 0.05
    else:
        assert abs(values.mean() - 1.5) < 0.02 and abs(values.std() - 0.5) < 0.02
    with pytest.raises(RuntimeError, match=name):
        getattr(tg.zeros(2, requires_grad=True), name)()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint8, np.bool_])
def test_size_queries_match_torch(dtype):
    a = np.zeros((3, 4), dtype=dtype)
    ours, theirs = tg.tensor(a), torch.tensor(a)
    assert (ours.itemsize, ours.nbytes, ours.ndimension(), ours.is_signed()) == (
        theirs.itemsize, theirs.nbytes, theirs.ndimension(), theirs.is_signed())
    assert ours.is_same_size(tg.zeros(3, 4)) and not ours.is_same_size(tg.zeros(4, 3))
    assert ours[:, None].expand(3, 5, 4).nbytes == theirs[:, None].expand(3, 5, 4).nbytes


def test_repeat_interleave_kthvalue_diff_match_torch_on_integers_and_edge_cases():
    x = np.array([[3, 1, 2], [0, 5, 5]])
    for fn in (lambda t, lib: t.repeat_interleave(lib.tensor([1, 0, 2]), dim=1),
               lambda t, lib: t.repeat_interleave(lib.tensor([2, 1]), dim=0),
               lambda t, lib: t.repeat_interleave(2),
               lambda t, lib: t.kthvalue(2, 1).values, lambda t, lib: t.kthvalue(2, 1).indices,
               lambda t, lib: t.diff(), lambda t, lib: (t > 1).diff(dim=0), lambda t, lib: t.diff(5),
               lambda t, lib: t.diagonal(), lambda t, lib: t.fliplr(), lambda t, lib: t.ravel()):
        ours, theirs = fn(tg.tensor(x), tg), fn(torch.tensor(x), torch)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


@pytest.mark.parametrize("call, error, words", [
    (lambda x: x.kthvalue(4), IndexError, ["kthvalue", "(2, 3)"]),
    (lambda x: x.kthvalue(0, 0), IndexError, ["kthvalue", "k = 0"]),
    (lambda x: x.repeat_interleave([1, 2], dim=1), ValueError, ["repeat_interleave", "(2, 3)"]),
    (lambda x: x.repeat_interleave(-1), ValueError, ["repeat_interleave"]),
    (lambda x: x.diagonal(0, 1, -1), ValueError, ["diagonal", "dim 1"]),
    (lambda x: x.sum_to_size(2), tg.ShapeError, ["sum_to_size", "(2, 3)", "(2,)"]),
    (lambda x: x.sum_to_size(1, 2, 3), tg.ShapeError, ["sum_to_size"]),
    (lambda x: x.take_along_dim(tg.zeros(2, dtype=tg.int64), 1), IndexError, ["take_along_dim", "(2,)"]),
    (lambda x: x.take_along_dim(tg.zeros(3, 1, dtype=tg.int64), 1), tg.ShapeError, ["take_along_dim", "(3, 1)"]),
    (lambda x: x[0, 0].diff(), tg.ShapeError, ["diff", "0-d"]),
    (lambda x: x[0].fliplr(), tg.ShapeError, ["fliplr", "(3,)"]),
    (lambda x: x.int().logit(), TypeError, ["logit", "int32"]),
    (lambda x: x.int().nanmean(), TypeError, ["nanmean", "int32"]),
])
def test_bad_input_to_the_smaller_names_raises_naming_the_op(call, error, words):
    with pytest.raises(error) as info:
        call(tg.zeros(2, 3))
    assert all(w in str(info.value) for w in words), str(info.value)


# ---- tg.<name>(x, ...) is torch.<name>(x, ...) -----------------------------------------------

# name: the arguments after the (3, 4) input; the same call on both libraries
FUNCTIONS = {
    "mode": (1,), "kthvalue": (2, 1), "frac": (), "nanmean": (), "diff": (), "diagonal": (1,), "abs": (),
    "absolute": (), "neg": (), "negative": (), "exp": (), "sin": (), "cos": (), "erf": (), "exp2": (), "tanh": (),
    "sigmoid": (), "relu": (), "add": (2.0,), "sub": (2.0,), "subtract": (2.0,), "mul": (3.0,), "multiply": (3.0,),
    "div": (4.0,), "divide": (4.0,), "true_divide": (4.0,), "pow": (2,), "clamp": (-0.5, 0.5), "clip": (-0.5, 0.5),
    "clamp_min": (0.1,), "clamp_max": (0.1,), "sum": (1,), "mean": (0,), "var": (1,), "std": (0,), "norm": (),
    "logsumexp": (1,), "amax": (1,), "amin": (0,), "max": (1,), "min": (), "argmax": (1,), "argmin": (),
    "argsort": (1,), "all": (), "any": (), "softmax": (1,), "log_softmax": (0,), "t": (), "transpose": (0, 1),
    "swapaxes": (0, 1), "swapdims": (1, 0), "permute": ((1, 0),), "reshape": ((2, 6),), "flatten": (),
    "unflatten": (1, (2, 2)), "squeeze": (), "unsqueeze": (1,), "ravel": (), "chunk": (2, 1), "split": (2, 1),
    "unbind": (1,), "narrow": (1, 1, 2), "movedim": (0, 1), "moveaxis": (1, 0), "tile": ((2, 1),),
    "repeat_interleave": (2,), "broadcast_to": ((2, 3, 4),), "clone": (), "fliplr": (), "flipud": (), "isnan": (),
    "isinf": (), "isfinite": (), "signbit": (), "isposinf": (), "isneginf": (), "eq": (0.5,), "ne": (0.5,),
    "lt": (0.5,), "le": (0.5,), "gt": (0.5,), "ge": (0.5,), "greater": (0.5,), "greater_equal": (0.5,),
    "less": (0.5,), "less_equal": (0.5,), "not_equal": (0.5,),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_tg_functions_are_torch_functions(name):
    args = FUNCTIONS[name]
    assert_matches_torch(lambda x: getattr(tg, name)(x, *args), lambda x: getattr(torch, name)(x, *args), (3, 4))


@pytest.mark.parametrize("name, make_args", [
    ("log", lambda lib, x: (x.abs(),)), ("sqrt", lambda lib, x: (x.abs(),)), ("log2", lambda lib, x: (x.abs(),)),
    ("log10", lambda lib, x: (x.abs(),)), ("logit", lambda lib, x: (x.sigmoid(),)),
    ("addcmul", lambda lib, x: (x, x.sin(), x.cos())), ("addcdiv", lambda lib, x: (x, x.sin(), x.exp())),
    ("matmul", lambda lib, x: (x, x.T)), ("baddbmm", lambda lib, x: (x, x[None, :, :3], x[None, :3])),
    ("gather", lambda lib, x: (x, 1, lib.tensor([[0], [3], [1]]))),
    ("take_along_dim", lambda lib, x: (x, lib.tensor([[0], [3], [1]]), 1)),
    ("masked_fill", lambda lib, x: (x, x > 0, 2.0)), ("isclose", lambda lib, x: (x, x + 1e-9)),
    ("numel", lambda lib, x: (x,)), ("detach", lambda lib, x: (x,)),
])
def test_tg_functions_with_more_tensors_are_torch_functions(name, make_args):
    def call(lib):
        return lambda x: (lambda out: lib.tensor(out) if isinstance(out, int) else out)(
            getattr(lib, name)(*make_args(lib, x)))
    assert_matches_torch(call(tg), call(torch), (3, 4))


# ---- factories and functions of several tensors ---------------------------------------------


def test_like_factories_and_empty_match_torch_shapes_and_dtypes():
    for dtype in (np.float32, np.float64):
        ours, theirs = tg.tensor(np.zeros((2, 3), dtype)), torch.tensor(np.zeros((2, 3), dtype))
        for name in ("rand_like", "randn_like", "empty_like"):
            a, b = getattr(tg, name)(ours), getattr(torch, name)(theirs)
            assert a.shape == tuple(b.shape) and str(a.dtype) == str(b.dtype).removeprefix("torch.")
        a, b = tg.randint_like(ours, 3, 7), torch.randint_like(theirs, 3, 7)
        assert a.shape == tuple(b.shape) and a.dtype == dtype and a.numpy().min() >= 3 and a.numpy().max() < 7
    assert tg.empty(2, 3).shape == tuple(torch.empty(2, 3).shape) and tg.empty(2, 3).dtype == np.float32
    assert tg.randint_like(tg.zeros(50, dtype=tg.int64), 4).numpy().max() < 4


def test_randperm_is_a_seeded_permutation():
    tg.manual_seed(5)
    first = tg.randperm(20)
    tg.manual_seed(5)
    np.testing.assert_array_equal(first.numpy(), tg.randperm(20).numpy())
    np.testing.assert_array_equal(np.sort(first.numpy()), np.arange(20))
    assert first.dtype == torch.randperm(3).numpy().dtype
    with pytest.raises(RuntimeError):  # the oracle refuses a negative n
        torch.randperm(-1)
    with pytest.raises(ValueError, match="randperm: n must be non-negative, got -1"):
        tg.randperm(-1)
    assert tg.randperm(0).shape == (0,)


def test_from_numpy_and_as_tensor_share_memory_as_torch():
    a = np.arange(6.0).reshape(2, 3)
    for make in (tg.from_numpy, tg.as_tensor):
        t = make(a)
        a[0, 0] = 7.0
        assert t[0, 0].item() == 7.0 and t.dtype == a.dtype
        a[0, 0] = 0.0
    assert not np.shares_memory(tg.as_tensor(a, dtype=tg.float32).data, a)
    assert tg.as_tensor([1, 2]).dtype == torch.as_tensor([1, 2]).numpy().dtype
    t = tg.ones(2)
    assert tg.as_tensor(t) is t and tg.is_tensor(t) and not tg.is_tensor(a)
    with pytest.raises(TypeError, match="from_numpy"):
        tg.from_numpy([1.0])


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_meshgrid_and_broadcast_tensors_match_torch(indexing, dtype):
    assert_matches_torch(lambda a, b, c: tg.meshgrid(a, b, c, indexing=indexing),
                         lambda a, b, c: torch.meshgrid(a, b, c, indexing=indexing), (3,), (2,), (4,), dtype=dtype)
    assert_matches_torch(lambda a, b: tg.meshgrid([a, b], indexing=indexing),
                         lambda a, b: torch.meshgrid([a, b], indexing=indexing), (3,), (), dtype=dtype)
    assert_matches_torch(lambda a, b: tg.broadcast_tensors(a, b), lambda a, b: torch.broadcast_tensors(a, b),
                         (3, 1), (1, 4), dtype=dtype)
    assert tg.broadcast_shapes((3, 1), (4,), ()) == tuple(torch.broadcast_shapes((3, 1), (4,), ()))
    with pytest.raises(tg.ShapeError, match="broadcast_shapes"):
        tg.broadcast_shapes((2,), (3,))


@pytest.mark.parametrize("name", ["std_mean", "var_mean"])
@pytest.mark.parametrize("args, options", [((), {}), ((1,), {}), ((0,), {"keepdim": True, "correction": 0})])
@pytest.mark.parametrize("dtype", DTYPES)
def test_std_mean_and_var_mean_match_torch(name, args, options, dtype):
    assert_matches_torch(lambda x: getattr(tg, name)(x, *args, **options),
                         lambda x: getattr(torch, name)(x, *args, **options), (3, 4), dtype=dtype)


@pytest.mark.parametrize("name", ["tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh",
                                  "arctan", "arcsin", "arccos", "arcsinh", "arccosh", "arctanh"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_elementary_functions_at_special_values_match_torch(name, dtype):
    """Values and gradients at and outside the domain edges (nan, ±inf, as torch), and as tg.<name>;
    integers become float32."""
    values = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 800.0, -np.inf, np.inf, np.nan], dtype=dtype)
    assert_matches_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), values)
    assert_matches_torch(lambda x: getattr(tg, name)(x), lambda x: getattr(torch, name)(x), (3, 4), dtype=dtype)
    ours, theirs = getattr(tg.tensor([0, 1, 2]), name)(), getattr(torch.tensor([0, 1, 2]), name)()
    assert ours.dtype == np.float32 == theirs.numpy().dtype


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_apply_and_map_in_place_match_torch(layout, dtype):
    base = np.arange(12).reshape(3, 4).astype(dtype)
    ours, theirs = tg.tensor(base), torch.tensor(base)
    view = (lambda t: t.t()) if layout == "transposed" else (lambda t: t)
    assert view(ours).apply_(lambda v: v * 2.7 - 1) is not None
    view(theirs).apply_(lambda v: v * 2.7 - 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    other = np.arange(3 if layout == "transposed" else 4).astype(dtype)  # broadcast along the view's rows
    view(ours).map_(tg.tensor(other), lambda a, b: a * 10 + b)
    view(theirs).map_(torch.tensor(other), lambda a, b: a * 10 + b)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours._version == 2
    with pytest.raises(RuntimeError, match="apply_"):
        tg.ones(2, requires_grad=True).apply_(float)


@pytest.mark.parametrize("row", [[2.0, 0.0, 3.0, -1.5], [0.0, 0.0, 2.0, 1.0], [1.5, -2.0, 0.5, 0.0], [3.0]])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cumprod_gradient_with_zeros_matches_torch(row, dtype):
    x = np.array([row, [1.0] * len(row)], dtype=dtype)
    assert_matches_torch(lambda t: t.cumprod(1), lambda t: t.cumprod(1), x)
    assert_matches_torch(lambda t: tg.cumprod(t, 0), lambda t: torch.cumprod(t, 0), x.T.copy())
    t = tg.tensor(np.array(row), requires_grad=True)
    assert gradgradcheck(lambda v: v.cumprod(0), [t])


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.int64, np.float32])
def test_cumprod_dtypes_and_in_place_match_torch(dtype):
    a = np.array([[1, 2, 0], [3, 1, 2]]).astype(dtype)
    ours, theirs = tg.tensor(a).cumprod(1), torch.tensor(a).cumprod(1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    if dtype in (np.int64, np.float32):
        ours, theirs = tg.tensor(a), torch.tensor(a)
        assert ours.cumprod_(0) is ours
        theirs.cumprod_(0)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- data-handling and sampling names: unique, bincount, tensor_split, rot90, take, ... -----------


@pytest.mark.parametrize("dtype", DTYPES)
def test_differentiable_small_names_match_torch(dtype):
    for fn in (lambda t: t.take(torch.tensor([[0, 5], [7, 7]]) if isinstance(t, torch.Tensor) else [[0, 5], [7, 7]]),
               lambda t: t.trace(), lambda t: t.rot90(), lambda t: t.rot90(2), lambda t: t.rot90(-1, (1, 0)),
               lambda t: t.rot90(3), lambda t: t.rot90(4), lambda t: t.tensor_split(3, 1),
               lambda t: t.tensor_split([1, 3], 1), lambda t: t.tensor_split([2, 1], 0),
               lambda t: t.fmod(0.7), lambda t: t.fmod(t.flip(0) + 3.0), lambda t: t.remainder(-0.7),
               lambda t: t.positive() * 2):
        assert_matches_torch(fn, fn, (3, 4), dtype=dtype)
    np.testing.assert_array_equal(tg.tensor([-3.0, 3.0]).fmod(2).numpy(), torch.tensor([-3.0, 3.0]).fmod(2).numpy())


@pytest.mark.parametrize("options", [{}, {"return_inverse": True}, {"return_counts": True},
                                     {"return_inverse": True, "return_counts": True}, {"dim": 0}, {"dim": 1}])
def test_unique_matches_torch(options):
    a = np.array([[3, 1, 3], [1, 1, 2], [3, 1, 3]])
    ours, theirs = tg.tensor(a).unique(**options), torch.tensor(a).unique(**options)
    for o, t in zip(ours if isinstance(ours, tuple) else (ours,), theirs if isinstance(theirs, tuple) else (theirs,)):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
        assert o.dtype == t.numpy().dtype


@pytest.mark.parametrize("weights, minlength", [(None, 0), (None, 7), ([0.5, 1.0, 2.0, 1.0], 0)])
def test_bincount_and_argwhere_match_torch(weights, minlength):
    a = np.array([1, 1, 3, 0])
    ours = tg.tensor(a).bincount(None if weights is None else tg.tensor(weights), minlength=minlength)
    theirs = torch.tensor(a).bincount(None if weights is None else torch.tensor(weights), minlength=minlength)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == theirs.numpy().dtype
    m = np.array([[0, 1.5], [2.0, 0]])
    np.testing.assert_array_equal(tg.tensor(m).argwhere().numpy(), torch.tensor(m).argwhere().numpy())
    with pytest.raises(ValueError, match="bincount"):
        tg.tensor([-1, 2]).bincount()


def test_device_queries_as_torch_on_the_cpu():
    ours, theirs = tg.ones(2), torch.ones(2)
    assert (ours.is_cpu, ours.is_cuda, ours.get_device()) == (theirs.is_cpu, theirs.is_cuda, theirs.get_device())


def test_bernoulli_and_multinomial_are_seeded_and_in_distribution():
    tg.manual_seed(0)
    draws = tg.full((20000,), 0.3, dtype=tg.float64).bernoulli()
    assert draws.dtype == np.float64 and set(np.unique(draws.numpy())) <= {0.0, 1.0}
    assert abs(draws.numpy().mean() - 0.3) < 0.02
    tg.manual_seed(0)
    np.testing.assert_array_equal(draws.numpy(), tg.full((20000,), 0.3, dtype=tg.float64).bernoulli().numpy())
    assert abs(tg.zeros(20000).bernoulli_(0.8).numpy().mean() - 0.8) < 0.02
    weights = tg.tensor([[0.0, 1.0, 3.0], [2.0, 2.0, 0.0]])
    picks = weights.multinomial(4000, replacement=True)
    assert picks.shape == (2, 4000) and picks.dtype == np.int64
    assert abs((picks.numpy()[0] == 2).mean() - 0.75) < 0.03 and not (picks.numpy()[1] == 2).any()
    without = tg.tensor([1.0, 1.0, 1.0, 1.0]).multinomial(4)
    np.testing.assert_array_equal(np.sort(without.numpy()), np.arange(4))
    with pytest.raises(ValueError, match="multinomial"):
        weights.multinomial(3)  # each row has only 2 categories with nonzero weight
