"""PyTorch parity of log1p, expm1, rsqrt, reciprocal, square, sign, floor/ceil/round/trunc (and
their in-place forms), mm/bmm/mv/dot/outer, diag, masked_select, nonzero, index_add and the
dtype shortcuts .int()/.bool()/.half().

Values and input gradients are compared with PyTorch (``tg.testing.assert_matches_torch``) in
float64 (tight) and float32 on shapes drawn by hypothesis; special values (0, −0, ±inf, nan,
negatives outside the domain) must give PyTorch's values and gradients without a NumPy
warning; bad shapes and dtypes must raise an error naming the op and the shapes. The op-table
rows (tests/op_table.py) add gradcheck and double backward on both backends.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradgradcheck
from tinygrad_edu.testing import assert_matches_torch
from tinygrad_edu.testing import strategies as tst

torch = pytest.importorskip("torch")

DTYPES = (np.float64, np.float32)
SETTINGS = settings(max_examples=10, deadline=None)

# name: a function on tg or torch tensors (the method names agree). Inputs are N(0, 1); ops with
# a smaller domain map them into it first with the same ops in both libraries.
UNARY = {
    "log1p": lambda x: x.tanh().log1p(),  # (−1, 1): near −1 the slope 1/(1 + x) is steep
    "expm1": lambda x: x.expm1(),
    "rsqrt": lambda x: (x.abs() + 0.1).rsqrt(),
    "reciprocal": lambda x: (x.abs() + 0.1).reciprocal(),
    "square": lambda x: x.square(),
    "sign": lambda x: x.sign(),
    "floor": lambda x: (3 * x).floor(),
    "ceil": lambda x: (3 * x).ceil(),
    "round": lambda x: (3 * x).round(),
    "round_decimals": lambda x: x.round(decimals=2),
    "trunc": lambda x: (3 * x).trunc(),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", UNARY)
@SETTINGS
@given(shape=tst.shapes(0, 3, 1, 4))
def test_unary_values_and_gradients_match_torch(name, dtype, shape):
    fn = UNARY[name]
    assert_matches_torch(fn, fn, shape, dtype=dtype, seed=len(shape))


SPECIAL = np.array([0.0, -0.0, 1e-12, -1e-12, 0.5, -0.5, 1.5, 2.5, -2.5, -1.0, -2.0, 1e300, -1e300,
                    np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["log1p", "expm1", "rsqrt", "reciprocal", "square", "sign", "floor", "ceil",
                                  "round", "trunc"])
def test_special_values_and_their_gradients_match_torch_without_warnings(name, dtype):
    with np.errstate(over="ignore"):
        data = SPECIAL.astype(dtype)  # ±1e300 become ±inf in float32
    x, t = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning fails the test
        y = getattr(x, name)()
        y.backward(tg.ones_like(y))
    expected = getattr(t, name)()
    expected.backward(torch.ones_like(expected))
    assert y.dtype == np.dtype(dtype)
    # nan and ±inf where torch has them; finite values within an ulp in float64, a few in float32:
    # libm's and PyTorch's log1p/expm1 round differently (glibc's float64 expm1(-2.5) is 1 ulp off,
    # PyTorch's is correctly rounded). The gradients may differ by one ulp of 1 besides: expm1's slope
    # y + 1 carries y's last-bit difference (~1e-16 near y = -1) into a value as small as 0.08.
    rtol = 1e-15 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=np.finfo(dtype).eps)


def test_tiny_arguments_keep_full_precision():
    tiny = np.array([1e-20, -3e-17, 1e-10])
    np.testing.assert_array_equal(tg.tensor(tiny).log1p().numpy(), torch.tensor(tiny).log1p().numpy())
    np.testing.assert_array_equal(tg.tensor(tiny).expm1().numpy(), torch.tensor(tiny).expm1().numpy())
    assert tg.tensor(tiny).log1p().numpy()[0] == 1e-20  # log(1 + x) would give 0


def test_round_is_half_to_even_and_decimals_match_torch():
    data = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.2345, -6.789, 123.456])
    for decimals in (0, 1, 2, -1):
        np.testing.assert_allclose(tg.tensor(data).round(decimals=decimals).numpy(),
                                   torch.tensor(data).round(decimals=decimals).numpy(), rtol=1e-15)


@pytest.mark.parametrize("name", ["log1p", "expm1", "rsqrt", "reciprocal", "square", "sign", "floor", "ceil",
                                  "round", "trunc", "sgn", "fix"])
def test_integer_input_gives_torchs_dtype_and_values(name):
    data = np.array([-3, 0, 1, 4])
    ours, theirs = getattr(tg.tensor(data), name)(), getattr(torch.tensor(data), name)()
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["log1p_", "expm1_", "rsqrt_", "reciprocal_", "square_", "sign_", "floor_", "ceil_",
                                  "round_", "trunc_"])
def test_in_place_variants_write_the_out_of_place_result(name):
    data = np.array([[0.3, 1.7], [2.5, 4.0]], dtype=np.float32)
    x, t = tg.tensor(data), torch.tensor(data)
    assert getattr(x, name)() is x
    getattr(t, name)()
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match=name):
        getattr(tg.tensor(data, requires_grad=True), name)()  # a leaf that needs grad cannot change in place


@pytest.mark.parametrize("name", ["log1p", "expm1", "rsqrt", "reciprocal"])
def test_second_derivatives_pass_gradgradcheck(name):
    x = tg.tensor(np.random.default_rng(1).uniform(0.2, 0.9, (2, 3)), requires_grad=True)
    assert gradgradcheck(lambda t: getattr(t, name)(), (x,))


def test_step_functions_pass_an_inf_gradient_as_zero():
    x = tg.tensor([0.4, 1.6], requires_grad=True)
    x.floor().backward(tg.tensor([np.inf, 1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])  # g·0 would be nan


# ---- matrix products ------------------------------------------------------------------------

@st.composite
def _product_shapes(draw, op):
    n, k, m, b = (draw(st.integers(1, 4)) for _ in range(4))
    return {"mm": ((n, k), (k, m)), "bmm": ((b, n, k), (b, k, m)), "mv": ((n, k), (k,)), "dot": ((k,), (k,)),
            "outer": ((n,), (m,))}[op]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", ["mm", "bmm", "mv", "dot", "outer"])
@SETTINGS
@given(data=st.data())
def test_products_match_torch(op, dtype, data):
    shapes = data.draw(_product_shapes(op))
    assert_matches_torch(lambda x, w: getattr(x, op)(w), lambda x, w: getattr(x, op)(w), *shapes, dtype=dtype)
    assert_matches_torch(lambda x, w: getattr(tg, op)(x, w), lambda x, w: getattr(torch, op)(x, w), *shapes,
                         dtype=dtype)


@pytest.mark.parametrize(("op", "x_shape", "w_shape"), [
    ("mm", (2, 3), (2, 3)), ("mm", (2, 3, 4), (4, 2)), ("mm", (3,), (3, 2)),
    ("bmm", (2, 3, 4), (3, 4, 5)), ("bmm", (3, 4), (4, 5)), ("bmm", (2, 3, 4), (2, 3, 5)),
    ("mv", (2, 3), (4,)), ("mv", (2, 3), (3, 1)), ("dot", (3,), (4,)), ("dot", (1, 3), (3,)),
    ("outer", (2, 3), (3,)), ("outer", (), (3,)),
])
def test_products_reject_shapes_torch_rejects_with_the_op_and_shapes(op, x_shape, w_shape):
    with pytest.raises(RuntimeError):
        getattr(torch.zeros(x_shape), op)(torch.zeros(w_shape))
    with pytest.raises(tg.ShapeError, match=rf"{op}.*{re.escape(str(x_shape))}.*{re.escape(str(w_shape))}"):
        getattr(tg.zeros(x_shape), op)(tg.zeros(w_shape))


def test_products_reject_mixed_dtypes_and_non_tensors():
    with pytest.raises(TypeError, match=r"mm: .*float32.*float64"):
        tg.zeros((2, 3)).mm(tg.zeros((3, 2), dtype=tg.float64))
    with pytest.raises(TypeError, match="dot"):
        tg.zeros(3).dot([1.0, 2.0, 3.0])


# ---- diag, masked_select, nonzero, index_add ------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(1,), (4,), (3, 3), (2, 5), (5, 2)])
def test_diag_matches_torch_for_every_offset(shape, dtype):
    for k in range(-3, 4):
        assert_matches_torch(lambda x, k=k: x.diag(k), lambda x, k=k: x.diag(k), shape, dtype=dtype, seed=k + 3)
        assert_matches_torch(lambda x, k=k: tg.diag(x, k), lambda x, k=k: torch.diag(x, k), shape, dtype=dtype)


def test_diag_of_inf_keeps_zeros_off_the_diagonal_and_rejects_3d():
    data = np.array([np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(tg.tensor(data).diag(1).numpy(), torch.tensor(data).diag(1).numpy())
    with pytest.raises(tg.ShapeError, match=r"diag.*\(2, 2, 2\)"):
        tg.zeros((2, 2, 2)).diag()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@SETTINGS
@given(shapes=tst.broadcastable_shapes(max_dims=3, max_side=4), seed=st.integers(0, 99))
def test_masked_select_with_a_broadcast_mask_matches_torch(shapes, seed, dtype):
    x_shape, mask_shape = shapes
    mask = np.random.default_rng(seed).random(mask_shape) > 0.5
    assert_matches_torch(lambda x, m: x.masked_select(m), lambda x, m: x.masked_select(m), x_shape, mask,
                         dtype=dtype)


def test_masked_select_rejects_a_non_bool_or_unbroadcastable_mask():
    with pytest.raises(TypeError, match=r"masked_select.*bool"):
        tg.zeros(3).masked_select(tg.tensor([1, 0, 1]))
    with pytest.raises(tg.ShapeError, match=r"masked_select.*\(2,\).*\(3,\)"):
        tg.zeros(3).masked_select(tg.tensor([True, False]))


@pytest.mark.parametrize("data", [np.array([[0.0, 1.5], [-2.0, 0.0]]), np.zeros((2, 3)), np.array(3.0),
                                  np.array(0.0), np.array([0, 7, 0, -1]), np.array([np.nan, 0.0])])
def test_nonzero_matches_torch_in_both_forms(data):
    ours, theirs = tg.tensor(data).nonzero(), torch.tensor(data).nonzero()
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for a, b in zip(tg.nonzero(tg.tensor(data), as_tuple=True), torch.tensor(data).nonzero(as_tuple=True),
                    strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not tg.tensor(data.astype(float), requires_grad=True).nonzero().requires_grad


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize(("dim", "index", "alpha"), [(0, [2, 0, 2], 1), (1, [1, 1], 2.5), (-1, [0], -1)])
def test_index_add_with_repeated_indices_and_alpha_matches_torch(dim, index, alpha, dtype):
    x_shape = (3, 4)
    src_shape = tuple(len(index) if k == dim % 2 else n for k, n in enumerate(x_shape))
    assert_matches_torch(lambda x, s: x.index_add(dim, index, s, alpha=alpha),
                         lambda x, s: x.index_add(dim, torch.tensor(index), s, alpha=alpha),
                         x_shape, src_shape, dtype=dtype)


@pytest.mark.parametrize(("index", "src_shape"), [([0, 4], (3, 2)), ([0, 1], (3, 3)), ([[0], [1]], (3, 2)),
                                                  ([-1], (3, 1))])
def test_index_add_rejects_bad_index_or_source(index, src_shape):
    with pytest.raises(IndexError, match=r"index_add.*\(3, 4\)"):
        tg.zeros((3, 4)).index_add(1, index, tg.zeros(src_shape))


# ---- dtype shortcuts ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["int", "long", "bool", "half", "float", "double"])
def test_dtype_shortcuts_match_torch(name):
    data = np.array([-1.7, -0.0, 0.0, 0.4, 2.9, 300.25])
    ours, theirs = getattr(tg.tensor(data), name)(), getattr(torch.tensor(data), name)()
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_half_is_differentiable_back_to_the_source_dtype():
    x = tg.tensor([1.0, 2.0], dtype=tg.float32, requires_grad=True)
    (x.half() * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
