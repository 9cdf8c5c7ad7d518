"""PyTorch parity, round 4: scans, order statistics, writes at indices, products and grids.

cummax/cummin (ties: the last index, NaN: the latest NaN), logcumsumexp (stable, and its
backward with negative and zero g), quantile/nanquantile (every interpolation, q scalar or
1-D, dim/keepdim), nanmedian, index_fill/index_copy/index_put/scatter_reduce (and the
in-place forms), kron, cross, cdist (every p), renorm, logaddexp2, histc, searchsorted,
bucketize, trapezoid, cumulative_trapezoid, vander, tril/triu_indices, block_diag,
cartesian_prod, atleast_1d/2d/3d. Values and gradients against torch in float64 (tight)
and float32, shapes from hypothesis (size-1 and odd sizes, negative dims, transposed
input), gradcheck and gradgradcheck of each differentiable op, node names, and the errors
(torch's exception type, a message naming the op and the shapes). The op table
(tests/op_table.py) adds the layouts and the double backward against torch.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck, gradgradcheck
from tinygrad_edu.testing import assert_matches_torch

torch = pytest.importorskip("torch")

DTYPES = [np.float64, np.float32]
FEW = settings(max_examples=12, deadline=None)


@st.composite
def shape_and_dim(draw: st.DrawFn, min_dims: int = 1) -> tuple[tuple[int, ...], int]:
    """A shape of ``min_dims``-3 dims with sizes 1-5 and a dim of it (0 or −1 for a 0-d shape), often negative."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=5))
    rank = max(len(shape), 1)
    dim = draw(st.integers(-rank, rank - 1))
    return shape, dim


def _both(a: np.ndarray, requires_grad: bool = True):
    return tg.tensor(a.copy(), requires_grad=requires_grad), torch.tensor(a.copy(), requires_grad=requires_grad)


def _check_values_and_grads(ours, theirs, inputs, torch_inputs, rtol=1e-10, atol=1e-12, seed=0):
    """Values, and the gradients of Σ out ⊙ r for one random r, of a single-output op."""
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol, atol=atol)
    assert ours.dtype == theirs.detach().numpy().dtype
    r = np.random.default_rng(seed).standard_normal(theirs.shape).astype(theirs.detach().numpy().dtype)
    g_ours = tg.autograd.grad([ours], inputs, [tg.tensor(r)])
    g_theirs = torch.autograd.grad(theirs, torch_inputs, torch.tensor(r))
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol)


# ---- cummax cummin ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=shape_and_dim(), ties=st.booleans(), transposed=st.booleans())
def test_cummax_cummin_match_torch_values_indices_and_gradients(name, dtype, case, ties, transposed):
    shape, dim = case
    rng = np.random.default_rng(len(shape) + dim)
    # small integers make ties: torch keeps the last index of equal extremes, and so must we
    a = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)

    def scan(x):  # transposed: a non-contiguous view of the input
        return tuple(getattr(x.mT if transposed and x.ndim > 1 else x, name)(dim))

    assert_matches_torch(scan, scan, a, dtype=dtype)


def test_cummax_takes_the_last_of_tied_maxima_and_stays_at_the_latest_nan():
    values = [1.0, 3.0, 3.0, 2.0, 3.0, np.nan, 5.0, np.nan, 1.0]
    for name in ("cummax", "cummin"):
        ours, theirs = getattr(tg.tensor(values), name)(0), getattr(torch.tensor(values), name)(0)
        assert ours.indices.tolist() == theirs.indices.tolist()
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        assert type(ours).__name__ == name and ours._fields == ("values", "indices")


def test_cummax_of_a_0d_tensor_and_its_node_name():
    x, tx = _both(np.array(2.5))
    ours, theirs = x.cummax(0), tx.cummax(0)
    assert ours.values.item() == theirs.values.item() and ours.indices.item() == theirs.indices.item() == 0
    y = tg.tensor([[1.0, 2.0]], requires_grad=True)
    assert y.cummax(1).values.grad_fn.name() == "CummaxBackward0"
    assert y.cummin(1).values.grad_fn.name() == "CumminBackward0"


def test_cummax_gradcheck_and_gradgradcheck():
    x = tg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda t: t.cummax(1).values, [x])
    assert gradgradcheck(lambda t: t.cummin(0).values * t.cummin(0).values, [x])


# ---- logcumsumexp ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=shape_and_dim(min_dims=0))
def test_logcumsumexp_matches_torch(dtype, case):
    shape, dim = case
    assert_matches_torch(lambda x: x.logcumsumexp(dim), lambda x: torch.logcumsumexp(x, dim), shape, dtype=dtype)


def test_logcumsumexp_is_stable_where_the_naive_formula_overflows():
    a = np.array([[1000.0, -1000.0, 999.0, -np.inf, 0.0], [-np.inf, -np.inf, 5.0, 1e4, -1e4]])
    for dtype in DTYPES:
        ours = tg.tensor(a.astype(dtype)).logcumsumexp(1)
        theirs = torch.logcumsumexp(torch.tensor(a.astype(dtype)), 1)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
        assert ours.dtype == dtype and np.isfinite(ours.numpy()[:, -1]).all()


def test_logcumsumexp_backward_with_negative_and_zero_output_gradients():
    a = np.random.default_rng(2).standard_normal((3, 6)) * 30  # far apart: e^(x − y) spans many decades
    x, tx = _both(a)
    ours, theirs = x.logcumsumexp(-1), torch.logcumsumexp(tx, -1)
    g = np.array([[1.0, -2.0, 0.0, 3.0, 0.0, -1.0]] * 3)
    np.testing.assert_allclose(tg.autograd.grad([ours], [x], [tg.tensor(g)])[0].numpy(),
                               torch.autograd.grad(theirs, tx, torch.tensor(g))[0].numpy(), rtol=1e-9, atol=1e-12)
    assert ours.grad_fn.name() == theirs.grad_fn.name() == "LogcumsumexpBackward0"


def test_logcumsumexp_gradcheck_and_gradgradcheck():
    x = tg.tensor(np.random.default_rng(3).standard_normal((2, 5)), requires_grad=True)
    assert gradcheck(lambda t: t.logcumsumexp(1), [x])
    assert gradgradcheck(lambda t: t.logcumsumexp(-1), [x])


# ---- quantile nanquantile nanmedian ---------------------------------------------------------

INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=6, deadline=None)
@given(case=shape_and_dim(), keepdim=st.booleans(), whole=st.booleans(), q_vector=st.booleans())
def test_quantile_matches_torch(interpolation, dtype, case, keepdim, whole, q_vector):
    shape, dim = case
    dim = None if whole else dim
    qs = [0.0, 0.25, 0.5, 0.9, 1.0] if q_vector else 0.35

    def call(lib, x):
        q = lib.tensor(qs, dtype=x.dtype) if q_vector else qs
        return x.quantile(q, dim, keepdim, interpolation=interpolation)

    assert_matches_torch(lambda x: call(tg, x), lambda x: call(torch, x), shape, dtype=dtype)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_quantile_and_nanquantile_with_nan(interpolation):
    a = np.random.default_rng(4).standard_normal((4, 5))
    a[0, 1] = a[2, 3] = np.nan
    a[3, :] = np.nan
    for dim in (0, 1, None):
        for name in ("quantile", "nanquantile"):
            q = tg.tensor([0.2, 0.7], dtype=tg.float64)
            ours = getattr(tg.tensor(a), name)(q, dim, interpolation=interpolation)
            theirs = getattr(torch.tensor(a), name)(torch.tensor([0.2, 0.7], dtype=torch.float64), dim,
                                                    interpolation=interpolation)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, equal_nan=True)


def test_quantile_gradcheck_and_gradgradcheck():
    x = tg.tensor(np.random.default_rng(5).standard_normal((3, 5)), requires_grad=True)
    q = tg.tensor([0.1, 0.5, 0.8], dtype=tg.float64)
    assert gradcheck(lambda t: t.quantile(q, 1), [x])
    assert gradgradcheck(lambda t: t.nanquantile(0.3, 0, keepdim=True) ** 2, [x])


def test_nanmedian_matches_torch():
    a = np.random.default_rng(6).standard_normal((4, 5))
    a[0, 1] = a[1, :2] = np.nan
    for dtype in DTYPES:
        x, tx = _both(a.astype(dtype))
        assert_matches_torch(lambda t: t.nanmedian(), lambda t: t.nanmedian(), a.astype(dtype), dtype=dtype)
        for dim, keepdim in ((1, False), (-2, True)):
            ours, theirs = x.nanmedian(dim, keepdim), tx.nanmedian(dim, keepdim)
            assert type(ours).__name__ == "nanmedian"
            assert ours.indices.tolist() == theirs.indices.tolist()
            _check_values_and_grads(ours.values, theirs.values, [x], [tx])
    assert tg.tensor(a).nanmedian(0).values.grad_fn is None  # no grad asked, no node
    assert tg.tensor(a, requires_grad=True).nanmedian(0).values.grad_fn.name() == "NanmedianBackward1"
    assert tg.tensor(a, requires_grad=True).nanmedian().grad_fn.name() == "NanmedianBackward0"


def test_nanmedian_of_all_nan_is_nan_and_the_nans_share_the_gradient():
    x, tx = _both(np.full((2, 3), np.nan))
    ours, theirs = x.nanmedian(), tx.nanmedian()
    assert np.isnan(ours.item()) and np.isnan(theirs.item())
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    assert np.isnan(tg.tensor([[np.nan, np.nan], [1.0, np.nan]]).nanmedian(1).values.numpy()[0])
    assert np.isnan(tg.nanmedian(tg.zeros(0)).item())


def test_nanmedian_gradcheck():
    x = tg.tensor(np.random.default_rng(7).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda t: t.nanmedian(), [x])
    assert gradgradcheck(lambda t: t.nanmedian(1).values ** 2, [x])


# ---- index_fill index_copy index_put scatter_reduce -----------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=shape_and_dim(), data=st.data())
def test_index_fill_and_index_copy_match_torch(dtype, case, data):
    shape, dim = case
    size = shape[dim]
    picked = data.draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=size, unique=True), label="index")
    fill = data.draw(st.integers(-size, size - 1), label="fill index")  # negative indices fill too
    source_shape = tuple(len(picked) if k == dim % len(shape) else n for k, n in enumerate(shape))
    assert_matches_torch(lambda x: x.index_fill(dim, [fill, 0], -2.5),
                         lambda x: x.index_fill(dim, torch.tensor([fill, 0]), -2.5), shape, dtype=dtype)
    assert_matches_torch(lambda x, s: x.index_copy(dim, picked, s),
                         lambda x, s: x.index_copy(dim, torch.tensor(picked), s), shape, source_shape, dtype=dtype)


def test_index_fill_with_a_0d_tensor_value_sends_it_the_summed_gradient():
    x, tx = _both(np.random.default_rng(8).standard_normal((3, 4)))
    v, tv = _both(np.array(1.5))
    ours, theirs = x.index_fill(1, [0, 2], v), tx.index_fill(1, torch.tensor([0, 2]), tv)
    _check_values_and_grads(ours, theirs, [x, v], [tx, tv])
    assert ours.grad_fn.name() == theirs.grad_fn.name() == "IndexFillBackward1"
    assert x.index_fill(1, [0], 1.0).grad_fn.name() == "IndexFillBackward0"
    assert x.index_copy(0, [1], tg.ones(1, 4, dtype=tg.float64)).grad_fn.name() == "IndexCopyBackward0"


PUT_CASES = [  # (x shape, index arrays, values shape, accumulate)
    ((3, 4), (np.array([0, 2, 1]), np.array([1, 3, 1])), (3,), False),
    ((3, 4), (np.array([0, 2, 0]), np.array([1, 3, 1])), (3,), True),  # (0, 1) twice: both add
    ((3, 4), (np.array([[0], [2]]), np.array([1, 3])), (2, 2), False),  # index tensors broadcast together
    ((3, 4), (np.array([[0], [2]]), np.array([1, 3])), (2, 2), True),
    ((3, 4), (np.array([0, 2, 2]),), (4,), True),  # whole rows, a repeat; values broadcast along rows
    ((3, 4), (np.array([2, 0]),), (1,), False),
    ((3, 4, 2), (np.array([1, 0]), np.array([3, 3])), (1, 2), False),  # trailing dim kept
    ((3, 4), (np.array([[True, False, True, False]] * 3),), (), False),  # a bool mask, scalar value
    ((3, 4), (np.array([[True, False, True, False]] * 3),), (6,), True),
]  # (repeated writes without accumulate are left out: which one wins is unspecified in torch)


@pytest.mark.parametrize("case", PUT_CASES, ids=range(len(PUT_CASES)))
@pytest.mark.parametrize("dtype", DTYPES)
def test_index_put_matches_torch(dtype, case):
    shape, index, values_shape, accumulate = case
    assert_matches_torch(lambda x, v: x.index_put(index, v, accumulate),
                         lambda x, v: x.index_put(tuple(torch.tensor(i) for i in index), v, accumulate),
                         shape, values_shape, dtype=dtype)


def test_index_put_gradients_with_repeats_and_gradgradcheck():
    x, tx = _both(np.random.default_rng(9).standard_normal((3, 4)))
    v, tv = _both(np.array([1.0, 2.0, 3.0]))
    rows, cols = [0, 2, 0], [1, 3, 1]
    ours = x.index_put((tg.tensor(rows), tg.tensor(cols)), v)
    theirs = tx.index_put((torch.tensor(rows), torch.tensor(cols)), tv)
    r = np.random.default_rng(0).standard_normal((3, 4))
    for a, b in zip(tg.autograd.grad([ours], [x, v], [tg.tensor(r)]),
                    torch.autograd.grad(theirs, [tx, tv], torch.tensor(r))):
        np.testing.assert_allclose(a.numpy(), b.numpy())  # every copy of v gets its g, as torch
    assert ours.grad_fn.name() == "IndexPutBackward0"
    assert gradgradcheck(lambda a, b: a.index_put((tg.tensor([1, 2]),), b * b, accumulate=True) * a,
                         [x, tg.tensor(np.ones(4), requires_grad=True)])


REDUCES = ["sum", "prod", "mean", "amax", "amin"]


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=6, deadline=None)
@given(case=shape_and_dim(), seed=st.integers(0, 2**16))
def test_scatter_reduce_matches_torch(dtype, reduce, include_self, case, seed):
    shape, dim = case
    rng = np.random.default_rng(seed)
    index_shape = tuple(int(max(1, n - rng.integers(0, 2))) for n in shape)
    index = rng.integers(0, shape[dim], index_shape)  # repeats: several src values land on one position
    assert_matches_torch(lambda x, s: x.scatter_reduce(dim, index, s, reduce, include_self=include_self),
                         lambda x, s: x.scatter_reduce(dim, torch.tensor(index), s, reduce, include_self=include_self),
                         shape, index_shape, dtype=dtype, seed=seed)
    # a src larger than index: only the part index covers is used (torch's backward then fails: values only)
    larger = tuple(n + 1 for n in index_shape)
    assert_matches_torch(lambda x, s: x.scatter_reduce(dim, index, s, reduce, include_self=include_self),
                         lambda x, s: x.scatter_reduce(dim, torch.tensor(index), s, reduce, include_self=include_self),
                         shape, larger, dtype=dtype, seed=seed, check_grad=False)


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_at_ties_and_zeros_match_torch(reduce, include_self):
    x_values = np.array([[1.0, 0.0, 2.0, 2.0], [0.0, 3.0, -1.0, 1.0]])
    src_values = np.array([[2.0, 2.0, 0.0], [1.0, 0.0, 0.0]])  # ties with x, one and two zeros per position
    index = np.array([[0, 2, 3], [3, 0, 0]])
    x, tx = _both(x_values)
    s, ts = _both(src_values)
    ours = x.scatter_reduce(1, index, s, reduce, include_self=include_self)
    theirs = tx.scatter_reduce(1, torch.tensor(index), ts, reduce, include_self=include_self)
    _check_values_and_grads(ours, theirs, [x, s], [tx, ts])
    assert ours.grad_fn.name() == theirs.grad_fn.name() == "ScatterReduceBackward0"


def test_scatter_reduce_gradgradcheck_and_prod_double_backward_at_two_zeros_refused():
    rng = np.random.default_rng(10)
    x = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    s = tg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    index = rng.integers(0, 4, (3, 3))
    for reduce in REDUCES:
        for include_self in (True, False):
            def fn(a, b, reduce=reduce, include_self=include_self):
                return a.scatter_reduce(1, index, b, reduce, include_self=include_self)

            assert gradcheck(fn, [x, s]) and gradgradcheck(fn, [x, s])
    zeros = tg.tensor([[0.0, 0.0]], requires_grad=True)
    y = tg.ones(1, 2, dtype=tg.float32).scatter_reduce(1, [[0, 0]], zeros.float(), "prod")
    with pytest.raises(RuntimeError, match=r"scatter_reduce.*double backward"):
        tg.autograd.grad([y.sum()], [zeros], create_graph=True)


def test_in_place_forms_write_into_the_tensor():
    a = np.random.default_rng(11).standard_normal((3, 4))
    for name, args, torch_args in (
        ("index_fill_", (1, [0, 3], 2.0), (1, torch.tensor([0, 3]), 2.0)),
        ("index_copy_", (0, [2], np.ones((1, 4))), (0, torch.tensor([2]), torch.ones(1, 4, dtype=torch.float64))),
        ("index_put_", ((np.array([1, 2]),), tg.tensor(5.0, dtype=tg.float64), True),
         ((torch.tensor([1, 2]),), torch.tensor(5.0, dtype=torch.float64), True)),
        ("scatter_reduce_", (1, [[0], [1], [1]], tg.ones(3, 1, dtype=tg.float64) * 3, "amax"),
         (1, torch.tensor([[0], [1], [1]]), torch.ones(3, 1, dtype=torch.float64) * 3, "amax")),
    ):
        ours, theirs = tg.tensor(a), torch.tensor(a)
        result = getattr(ours, name)(*args)
        getattr(theirs, name)(*torch_args)
        assert result is ours and ours._version == 1
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x = tg.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="index_fill_"):
        x.index_fill_(1, [0], 1.0)
    r = tg.tensor(a)
    assert r.renorm_(2, 0, 0.5) is r
    np.testing.assert_allclose(r.numpy(), torch.tensor(a).renorm_(2, 0, 0.5).numpy())


# ---- kron cross cdist renorm logaddexp2 -------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(a=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), b=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_kron_matches_torch(dtype, a, b):
    assert_matches_torch(tg.kron, torch.kron, a, b, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3), data=st.data())
def test_cross_matches_torch_along_any_dim_of_size_3(dtype, shapes, data):
    x_shape, w_shape = shapes.input_shapes
    n = max(len(x_shape), len(w_shape))
    x_shape, w_shape = (1,) * (n - len(x_shape)) + x_shape, (1,) * (n - len(w_shape)) + w_shape
    dim = data.draw(st.integers(-n, n - 1), label="dim")
    x_shape = tuple(3 if k == dim % n else s for k, s in enumerate(x_shape))
    w_shape = tuple(3 if k == dim % n else s for k, s in enumerate(w_shape))
    assert_matches_torch(lambda x, w: tg.cross(x, w, dim=dim), lambda x, w: torch.linalg.cross(x, w, dim=dim),
                         x_shape, w_shape, dtype=dtype)


def test_cross_default_dim_is_the_first_of_size_3_and_grad_checks():
    x, tx = _both(np.random.default_rng(12).standard_normal((3, 3, 2)))
    w, tw = _both(np.random.default_rng(13).standard_normal((3, 3, 2)))
    with pytest.warns(UserWarning):
        theirs = torch.cross(tx, tw)
    _check_values_and_grads(x.cross(w), theirs, [x, w], [tx, tw])
    assert x.cross(w, dim=1).grad_fn.name() == "LinalgCrossBackward0"
    assert gradgradcheck(lambda a, b: a.cross(b, dim=0), [x, w])


P_VALUES = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf]


@pytest.mark.parametrize("p", P_VALUES)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=5, deadline=None)
@given(batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       sizes=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4)))
def test_cdist_matches_torch(p, dtype, batch, sizes):
    rows1, rows2, columns = sizes
    (b1, b2) = batch.input_shapes
    assert_matches_torch(lambda x, w: tg.cdist(x, w, p), lambda x, w: torch.cdist(x, w, p),
                         (*b1, rows1, columns), (*b2, rows2, columns), dtype=dtype)


@pytest.mark.parametrize("p", P_VALUES)
def test_cdist_gradients_at_equal_rows_and_gradgradcheck(p):
    a = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, -1.0]])
    b = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 5.0], [3.0, -1.0, 2.0]])  # row 0 equal, row 1 one coordinate apart
    x, tx = _both(a)
    w, tw = _both(b)
    ours, theirs = tg.cdist(x, w, p), torch.cdist(tx, tw, p)
    _check_values_and_grads(ours, theirs, [x, w], [tx, tw])
    assert ours.grad_fn.name() == "CdistBackward0"
    rng = np.random.default_rng(14)  # (torch has no double backward of cdist: finite differences are the oracle)
    x, w = (tg.tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 3, 2), (1, 4, 2)))
    assert gradcheck(lambda s, t: tg.cdist(s, t, p), [x, w])
    if p not in (0.0, 1.0, math.inf):  # (there the first derivative is piecewise constant)
        assert gradgradcheck(lambda s, t: tg.cdist(s, t, p), [x, w])


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=shape_and_dim(min_dims=2), p=st.sampled_from([1.0, 2.0, 3.0]), maxnorm=st.sampled_from([0.5, 1.5, 10.0]))
def test_renorm_matches_torch(dtype, case, p, maxnorm):
    shape, dim = case
    assert_matches_torch(lambda x: x.renorm(p, dim, maxnorm), lambda x: x.renorm(p, dim, maxnorm), shape,
                         dtype=dtype)


def test_renorm_gradgradcheck_and_logaddexp2():
    x = tg.tensor(np.random.default_rng(15).standard_normal((3, 4)), requires_grad=True)
    assert gradgradcheck(lambda t: t.renorm(2, 1, 0.7), [x])
    assert x.renorm(2, 1, 0.7).grad_fn.name() == "RenormBackward0"
    for dtype in DTYPES:
        assert_matches_torch(tg.logaddexp2, torch.logaddexp2, (3, 1), (4,), dtype=dtype)
    big = np.array([2000.0, -2000.0, 3.0])
    np.testing.assert_allclose(tg.tensor(big).logaddexp2(tg.tensor(big[::-1].copy())).numpy(),
                               torch.logaddexp2(torch.tensor(big), torch.tensor(big[::-1].copy())).numpy(), rtol=1e-12)
    assert gradgradcheck(lambda a, b: a.logaddexp2(b), [x, tg.tensor(np.ones(4), requires_grad=True)])


# ---- histc searchsorted bucketize -------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=6), bins=st.integers(1, 9),
       bounds=st.sampled_from([(0, 0), (-1, 1), (-0.5, 2.0), (1.5, 1.5)]), seed=st.integers(0, 99))
def test_histc_matches_torch(dtype, shape, bins, bounds, seed):
    a = np.round(np.random.default_rng(seed).standard_normal(shape), 1).astype(dtype)  # values on bin edges too
    ours, theirs = tg.tensor(a).histc(bins, *bounds), torch.histc(torch.tensor(a), bins, *bounds)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == dtype


@FEW
@given(rows=st.integers(1, 3), n=st.integers(0, 6), m=st.integers(1, 5), right=st.booleans(), seed=st.integers(0, 99),
       batched=st.booleans(), out_int32=st.booleans())
def test_searchsorted_and_bucketize_match_torch(rows, n, m, right, seed, batched, out_int32):
    rng = np.random.default_rng(seed)
    boundaries = np.sort(rng.integers(-3, 4, (rows, n)).astype(np.float64), axis=1)  # repeats: left ≠ right
    values = rng.integers(-4, 5, (rows, m)).astype(np.float64)
    seq = boundaries if batched else boundaries[0]
    ours = tg.searchsorted(tg.tensor(seq), tg.tensor(values), right=right, out_int32=out_int32)
    theirs = torch.searchsorted(torch.tensor(seq), torch.tensor(values), right=right, out_int32=out_int32)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == theirs.numpy().dtype
    side = tg.searchsorted(tg.tensor(seq), tg.tensor(values), side="right" if right else "left")
    np.testing.assert_array_equal(side.numpy(), theirs.numpy())
    bucket = torch.bucketize(torch.tensor(values), torch.tensor(boundaries[0]), right=right)
    np.testing.assert_array_equal(tg.bucketize(tg.tensor(values), tg.tensor(boundaries[0]), right=right).numpy(),
                                  bucket.numpy())


def test_searchsorted_with_sorter_and_a_scalar_value():
    seq = np.array([3.0, 1.0, 2.0, 5.0])
    sorter = np.argsort(seq)
    ours = tg.searchsorted(tg.tensor(seq), tg.tensor([2.5, 0.0, 9.0]), sorter=tg.tensor(sorter))
    theirs = torch.searchsorted(torch.tensor(seq), torch.tensor([2.5, 0.0, 9.0]), sorter=torch.tensor(sorter))
    assert ours.tolist() == theirs.tolist()
    assert tg.searchsorted(tg.tensor([1.0, 2.0]), 1.5).item() == 1 and tg.searchsorted(tg.tensor([1.0]), 1.5).ndim == 0


# ---- trapezoid cumulative_trapezoid vander tril/triu_indices block_diag cartesian_prod atleast ----


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(case=shape_and_dim(), how=st.sampled_from(["unit", "dx", "x_1d", "x_full"]))
def test_trapezoid_and_cumulative_trapezoid_match_torch(dtype, case, how):
    shape, dim = case
    n = shape[dim]
    options = {"dim": dim} if how != "dx" else {"dx": 0.3, "dim": dim}
    inputs = (shape,) if how in ("unit", "dx") else (shape, (n,) if how == "x_1d" else shape)
    for name in ("trapezoid", "cumulative_trapezoid"):
        assert_matches_torch(lambda *a, name=name: getattr(tg, name)(*a, **options),
                             lambda *a, name=name: getattr(torch, name)(*a, **options), *inputs, dtype=dtype)


def test_trapezoid_of_an_empty_dim_and_gradgradcheck():
    assert tg.trapezoid(tg.ones(2, 0)).tolist() == torch.trapezoid(torch.ones(2, 0)).tolist()
    assert tg.trapz is tg.trapezoid
    y = tg.tensor(np.random.default_rng(16).standard_normal((3, 4)), requires_grad=True)
    x = tg.tensor(np.cumsum(np.random.default_rng(17).random((3, 4)), 1), requires_grad=True)
    assert gradgradcheck(lambda a, b: tg.trapezoid(a, b) ** 2, [y, x])
    assert gradgradcheck(lambda a, b: tg.cumulative_trapezoid(a * a, b, dim=0), [y, x])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_])
@pytest.mark.parametrize("n", [None, 0, 1, 4])
@pytest.mark.parametrize("increasing", [False, True])
def test_vander_matches_torch(dtype, n, increasing):
    a = np.array([2, -1, 0, 3]).astype(dtype)
    ours, theirs = tg.vander(tg.tensor(a), n, increasing), torch.vander(torch.tensor(a), n, increasing)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert ours.dtype == theirs.numpy().dtype


def test_vander_gradient_is_exact_at_zero():
    # torch.vander's own backward fails (an in-place write), so the oracle is the derivative k·x^(k−1)
    x = tg.tensor([0.0, 1.5, -2.0], dtype=tg.float64, requires_grad=True)
    tg.vander(x, 4).sum().backward()
    v = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 1 + 2 * v + 3 * v ** 2)
    assert gradcheck(lambda t: tg.vander(t, 4, increasing=True), [x])
    assert gradgradcheck(lambda t: tg.vander(t, 3), [x])


@pytest.mark.parametrize("row, col, offset", [(3, 5, 0), (4, 3, -1), (3, 3, 2), (0, 3, 0), (2, 4, -5), (1, 1, 9)])
def test_tril_and_triu_indices_match_torch(row, col, offset):
    for name in ("tril_indices", "triu_indices"):
        ours, theirs = getattr(tg, name)(row, col, offset), getattr(torch, name)(row, col, offset)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)


def test_block_diag_and_cartesian_prod_match_torch():
    rng = np.random.default_rng(18)
    parts = [rng.standard_normal((2, 3)), np.array(1.5), rng.standard_normal(4), rng.standard_normal((0, 2))]
    for dtype in DTYPES:
        assert_matches_torch(tg.block_diag, torch.block_diag, *[p.astype(dtype) for p in parts], dtype=dtype)
    mixed = tg.block_diag(tg.ones(1, 1, dtype=tg.float32), tg.tensor([[2]]))
    assert mixed.dtype == torch.block_diag(torch.ones(1, 1), torch.tensor([[2]])).numpy().dtype
    assert tg.block_diag().shape == tuple(torch.block_diag().shape)
    for dtype in DTYPES:
        assert_matches_torch(tg.cartesian_prod, torch.cartesian_prod, (2,), (3,), (1,), dtype=dtype)
    single = tg.tensor([1, 2])
    assert tg.cartesian_prod(single) is single


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast_nd_matches_torch(name):
    shapes = [(), (3,), (2, 3), (2, 3, 4), (1, 2, 3, 4)]
    arrays = [np.arange(math.prod(s), dtype=np.float64).reshape(s) for s in shapes]
    ours_fn, theirs_fn = getattr(tg, name), getattr(torch, name)
    for a in arrays:
        assert ours_fn(tg.tensor(a)).shape == tuple(theirs_fn(torch.tensor(a)).shape)
    ours = ours_fn(*[tg.tensor(a) for a in arrays])
    theirs = theirs_fn(*[torch.tensor(a) for a in arrays])
    assert isinstance(ours, tuple) and [t.shape for t in ours] == [tuple(t.shape) for t in theirs]
    assert [t.shape for t in ours_fn([tg.tensor(a) for a in arrays[:2]])] == [tuple(t.shape) for t in theirs[:2]]
    x = tg.tensor(np.ones(3), requires_grad=True)
    ours_fn(x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


# ---- non-contiguous input: transposed and strided views -------------------------------------

VIEWS = {  # each op on x.mT (4, 3) and strided slices of x (3, 4), in either library (not kron: torch's fails)
    "cummax": lambda lib, x: x.mT.cummax(0).values,
    "logcumsumexp": lambda lib, x: x.mT.logcumsumexp(0),
    "quantile": lambda lib, x: x.mT.quantile(lib.tensor([0.2, 0.9], dtype=x.dtype), 1, True),
    "nanmedian": lambda lib, x: x.mT.nanmedian(0).values,
    "index_put": lambda lib, x: x.mT.index_put((lib.tensor([3, 0]),), x[::2, 1:], accumulate=True),
    "index_copy": lambda lib, x: x.mT.index_copy(1, lib.tensor([2, 0]), x[::2].mT),
    "scatter_reduce": lambda lib, x: x.mT.scatter_reduce(0, lib.tensor([[0, 3, 1], [0, 0, 2]]), x.mT[::2], "prod"),
    "cross": lambda lib, x: lib.cross(x.mT, x.mT.flip(0), dim=1),
    "cdist": lambda lib, x: lib.cdist(x.mT, x[:, ::2].mT, 1.5),
    "renorm": lambda lib, x: x.mT.renorm(2, 1, 0.8),
    "trapezoid": lambda lib, x: lib.cumulative_trapezoid(x.mT, x[0], dim=0),
}


@pytest.mark.parametrize("name", VIEWS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_ops_on_non_contiguous_views_match_torch(name, dtype):
    assert_matches_torch(lambda x: VIEWS[name](tg, x), lambda x: VIEWS[name](torch, x), (3, 4), dtype=dtype)


# ---- errors: torch's exception type, a message naming the op -------------------------------

X = np.ones((2, 3))
ERRORS = [  # (name, tinygrad_edu call, torch call, what the message names)
    ("quantile_q_range", lambda m: m.tensor(X).quantile(1.5), "quantile"),
    ("quantile_q_dtype", lambda m: m.tensor(X).quantile(m.tensor([0.5], dtype=m.float32)), "quantile"),
    ("quantile_mode", lambda m: m.tensor(X).quantile(0.5, interpolation="cubic"), "interpolation"),
    ("quantile_empty", lambda m: m.tensor(np.ones(0)).quantile(0.5), "non-empty"),
    ("quantile_q_2d", lambda m: m.tensor(X).quantile(m.tensor(X * 0.5)), "1D"),
    ("quantile_int", lambda m: m.tensor([1, 2]).quantile(0.5), "float"),
    ("quantile_dim", lambda m: m.tensor(X).quantile(0.5, 2), "dim"),
    ("cummax_dim", lambda m: m.tensor(X).cummax(2), "dim"),
    ("logcumsumexp_int", lambda m: m.logcumsumexp(m.tensor([1, 2]), 0), "logcumsumexp"),
    ("nanmedian_empty_dim", lambda m: m.tensor(np.ones((2, 0))).nanmedian(1), "dim"),
    ("index_fill_2d_index", lambda m: m.tensor(X).index_fill(1, m.tensor([[0]]), 1.0), "vector"),
    ("index_fill_range", lambda m: m.tensor(X).index_fill(1, m.tensor([5]), 1.0), "5"),
    ("index_fill_value_1d", lambda m: m.tensor(X).index_fill(1, m.tensor([0]), m.tensor([1.0])), "0-dim"),
    ("index_copy_count", lambda m: m.tensor(X).index_copy(1, m.tensor([0]), m.tensor(np.ones((2, 2)))), "(2, 2)|2"),
    ("index_copy_dtype", lambda m: m.tensor(X).index_copy(1, m.tensor([0]), m.tensor(np.ones((2, 1)),
                                                                                    dtype=m.float32)), "dtype"),
    ("index_copy_negative", lambda m: m.tensor(X).index_copy(1, m.tensor([-1]), m.tensor(np.ones((2, 1)))), "-1"),
    ("index_put_float_index", lambda m: m.tensor(X).index_put((m.tensor([0.0]),), m.tensor(np.array(1.0))), "long"),
    ("index_put_shape", lambda m: m.tensor(X).index_put((m.tensor([0]),), m.tensor(np.ones(2))), "shape"),
    ("index_put_too_many", lambda m: m.tensor(X).index_put((m.tensor([0]),) * 3, m.tensor(np.array(1.0))),
     "too many"),
    ("index_put_range", lambda m: m.tensor(X).index_put((m.tensor([5]),), m.tensor(np.array(1.0))), "5"),
    ("index_put_dtype", lambda m: m.tensor(X).index_put((m.tensor([0]),), m.tensor(1.0, dtype=m.float32)), "dtype"),
    ("scatter_reduce_mode", lambda m: m.tensor(X).scatter_reduce(1, m.tensor([[0]]), m.tensor([[1.0]]), "median"),
     "reduce"),
    ("cross_size", lambda m: m.cross(m.tensor(np.ones((2, 2))), m.tensor(np.ones((2, 2))), dim=1), "3"),
    ("cross_ranks", lambda m: m.cross(m.tensor(np.ones((2, 3))), m.tensor(np.ones(3)), dim=-1), "dimensions"),
    ("cross_broadcast", lambda m: m.cross(m.tensor(np.ones((2, 3))), m.tensor(np.ones((4, 3))), dim=1), "(2, 3)|size"),
    ("cdist_1d", lambda m: m.cdist(m.tensor(np.ones(3)), m.tensor(np.ones(3))), "2D"),
    ("cdist_columns", lambda m: m.cdist(m.tensor(X), m.tensor(np.ones((2, 4)))), "columns"),
    ("cdist_negative_p", lambda m: m.cdist(m.tensor(X), m.tensor(X), p=-1), "non-negative"),
    ("cdist_int", lambda m: m.cdist(m.tensor([[1, 2]]), m.tensor([[1, 2]])), "floating"),
    ("renorm_1d", lambda m: m.tensor(np.ones(3)).renorm(2, 0, 1.0), "2 dimensions"),
    ("renorm_p", lambda m: m.tensor(X).renorm(0, 0, 1.0), "non-positive"),
    ("renorm_maxnorm", lambda m: m.tensor(X).renorm(2, 0, -1.0), "maxnorm"),
    ("histc_bins", lambda m: m.tensor(X).histc(0), "bins"),
    ("histc_range", lambda m: m.tensor(X).histc(5, 3, 1), "max must be larger than min"),
    ("histc_int", lambda m: m.tensor([1, 2]).histc(3), "histc|histogram"),
    ("logaddexp2_int", lambda m: m.logaddexp2(m.tensor([1, 2]), m.tensor([1, 2])), "logaddexp2"),
    ("searchsorted_rows", lambda m: m.searchsorted(m.tensor(X), m.tensor(np.ones((3, 2)))), "boundaries"),
    ("searchsorted_side", lambda m: m.searchsorted(m.tensor([1.0]), m.tensor([1.0]), side="left", right=True),
     "opposites"),
    ("bucketize_2d", lambda m: m.bucketize(m.tensor([1.0]), m.tensor(X)), "1 dimension"),
    ("trapezoid_x", lambda m: m.trapezoid(m.tensor(X), m.tensor(np.ones(2))), "one `x` value"),
    ("vander_2d", lambda m: m.vander(m.tensor(X)), "one-dimensional"),
    ("vander_n", lambda m: m.vander(m.tensor(np.ones(3)), N=-1), "non-negative"),
    ("tril_indices_row", lambda m: m.tril_indices(-1, 2), "non-negative"),
    ("block_diag_3d", lambda m: m.block_diag(m.tensor(np.ones((2, 2, 2)))), "2 or fewer"),
    ("cartesian_prod_2d", lambda m: m.cartesian_prod(m.tensor(np.ones((2, 2)))), "1D"),
    ("cartesian_prod_dtypes", lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([1.5])), "dtype"),
    ("histc_inf", lambda m: m.histc(m.tensor(np.array([1.0, np.inf])), 3), "not finite"),
]


@pytest.mark.parametrize("call, named", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_have_torchs_type_and_name_the_op(call, named):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(tg)
    assert isinstance(ours.value, type(theirs.value)), (type(ours.value), type(theirs.value), str(ours.value))
    assert re.search(named, str(ours.value)), str(ours.value)
