"""PyTorch parity for the Tensor methods of the third parity round, each compared with torch.

Group 1: logaddexp, hypot, atan2 (one op each, ops/elementwise.py), and compositions of
existing ops: lerp, addmm, nan_to_num, nansum, count_nonzero, aminmax.
Values and input gradients in float64 (tight) and float32, shapes drawn by hypothesis
(broadcasting for the binary ops), the special values inf, nan and atan2(0, 0), and the
error messages (they name the op and the shapes).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu.testing import assert_matches_torch

torch = pytest.importorskip("torch")

DTYPES = [np.float64, np.float32]
FEW = settings(max_examples=15, deadline=None)


def _pair(x, y):
    """The same two float64 arrays as tinygrad_edu and torch leaves that require grad."""
    return ([tg.tensor(a.copy(), requires_grad=True) for a in (x, y)],
            [torch.tensor(a.copy(), requires_grad=True) for a in (x, y)])


# ---- logaddexp, hypot, atan2 --------------------------------------------------------------

BINARY_FUNCS = {
    "logaddexp": (lambda x, y: x.logaddexp(y), torch.logaddexp),
    "hypot": (lambda x, y: tg.hypot(x, y), torch.hypot),
    "atan2": (lambda x, y: tg.atan2(x, y), torch.atan2),
}


@pytest.mark.parametrize("name", BINARY_FUNCS)
@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
def test_binary_functions_match_torch_with_broadcasting(name, dtype, shapes):
    ours, theirs = BINARY_FUNCS[name]
    assert_matches_torch(ours, theirs, *shapes.input_shapes, dtype=dtype)


def _special_grid():
    """Every pair of special and ordinary values, as two flat float64 arrays."""
    values = np.array([0.0, -0.0, 1.0, -2.5, 700.0, -700.0, np.inf, -np.inf, np.nan])
    x, y = np.meshgrid(values, values)
    return x.ravel(), y.ravel()


@pytest.mark.parametrize("name", BINARY_FUNCS)
def test_binary_functions_on_special_values_match_torch_values_and_gradients(name):
    ours_fn, theirs_fn = BINARY_FUNCS[name]
    x, y = _special_grid()
    (a, b), (ta, tb) = _pair(x, y)
    ours, theirs = ours_fn(a, b), theirs_fn(ta, tb)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=0)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12, atol=0)


def test_logaddexp_does_not_overflow_where_the_naive_formula_does():
    x = tg.tensor([1000.0, -1000.0, 88.0], dtype=tg.float32)
    y = tg.tensor([1000.0, -1000.0, 89.0], dtype=tg.float32)
    expected = torch.logaddexp(torch.tensor(x.numpy()), torch.tensor(y.numpy())).numpy()
    np.testing.assert_allclose(x.logaddexp(y).numpy(), expected, rtol=1e-6)
    assert x.logaddexp(y).dtype == tg.float32


def test_atan2_gradient_at_the_origin_is_zero_as_torch():
    a, b = tg.zeros(3, dtype=tg.float64, requires_grad=True), tg.zeros(3, dtype=tg.float64, requires_grad=True)
    ta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    tb = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    a.atan2(b).sum().backward()
    torch.atan2(ta, tb).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())


@pytest.mark.parametrize("name", BINARY_FUNCS)
def test_binary_functions_second_derivative_matches_torch(name):
    ours_fn, theirs_fn = BINARY_FUNCS[name]
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=5), rng.normal(size=5)
    (a, b), (ta, tb) = _pair(x, y)
    (ga,) = tg.autograd.grad(ours_fn(a, b).sum(), [a], create_graph=True)
    (tga,) = torch.autograd.grad(theirs_fn(ta, tb).sum(), [ta], create_graph=True)
    ga.sum().backward()
    tga.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", BINARY_FUNCS)
def test_binary_functions_name_the_op_and_shapes_on_a_broadcast_error(name):
    ours_fn, _ = BINARY_FUNCS[name]
    with pytest.raises(tg.ShapeError, match=rf"{name}.*\(2, 3\).*\(4,\)"):
        ours_fn(tg.ones(2, 3), tg.ones(4))


def test_atan2_of_integers_is_float32_as_torch():
    ours = tg.atan2(tg.tensor([1, -2]), tg.tensor([3, 0]))
    theirs = torch.atan2(torch.tensor([1, -2]), torch.tensor([3, 0]))
    assert ours.dtype == tg.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


# ---- lerp, addmm ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4))
def test_lerp_with_a_tensor_weight_matches_torch(dtype, shapes):
    assert_matches_torch(lambda x, e, w: x.lerp(e, w), torch.lerp, *shapes.input_shapes, dtype=dtype)


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0, 2.5])
def test_lerp_with_a_number_weight_matches_torch(weight):
    assert_matches_torch(lambda x, e: tg.lerp(x, e, weight), lambda x, e: torch.lerp(x, e, weight), (2, 3), (3,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("beta", "alpha"), [(1, 1), (0.5, -2.0), (0, 1.5)])
@pytest.mark.parametrize("self_shape", [(2, 4), (4,), (1, 4), ()])
def test_addmm_matches_torch(dtype, beta, alpha, self_shape):
    assert_matches_torch(lambda m, a, b: m.addmm(a, b, beta=beta, alpha=alpha),
                         lambda m, a, b: torch.addmm(m, a, b, beta=beta, alpha=alpha),
                         self_shape, (2, 3), (3, 4), dtype=dtype)


def test_addmm_with_beta_zero_ignores_nan_in_self_as_torch():
    m = np.full((2, 2), np.nan)
    a = np.arange(4.0).reshape(2, 2)
    ours = tg.addmm(tg.tensor(m), tg.tensor(a), tg.tensor(a), beta=0)
    np.testing.assert_array_equal(ours.numpy(), torch.addmm(torch.tensor(m), torch.tensor(a), torch.tensor(a),
                                                            beta=0).numpy())


def test_addmm_errors_name_the_op_and_shapes():
    with pytest.raises(tg.ShapeError, match=r"addmm.*\(2, 3\).*\(4, 5\)"):
        tg.ones(2, 5).addmm(tg.ones(2, 3), tg.ones(4, 5))
    with pytest.raises(tg.ShapeError, match=r"addmm.*\(3, 5\).*\(2, 5\)"):
        tg.ones(3, 5).addmm(tg.ones(2, 3), tg.ones(3, 5))


# ---- nan_to_num, nansum, count_nonzero, aminmax ------------------------------------------------

SPECIAL = np.array([[1.5, np.nan, -np.inf], [np.inf, -2.0, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"nan": 2.0}, {"nan": -1.0, "posinf": 10.0, "neginf": -10.0}])
def test_nan_to_num_values_and_gradient_match_torch(dtype, kwargs):
    assert_matches_torch(lambda x: x.nan_to_num(**kwargs), lambda x: x.nan_to_num(**kwargs), SPECIAL.astype(dtype),
                         dtype=dtype)


def test_nan_to_num_of_integers_is_a_copy():
    x = tg.tensor([1, 2])
    np.testing.assert_array_equal(tg.nan_to_num(x).numpy(), torch.nan_to_num(torch.tensor([1, 2])).numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (0, False), (1, True), ((0, 1), False)])
def test_nansum_matches_torch_values_and_gradient(dtype, dim, keepdim):
    data = np.array([[1.5, np.nan, 3.0], [np.nan, -2.0, 0.25]], dtype=dtype)
    if dim is None:
        assert_matches_torch(lambda x: x.nansum(), lambda x: x.nansum(), data, dtype=dtype)
    else:
        assert_matches_torch(lambda x: tg.nansum(x, dim, keepdim), lambda x: torch.nansum(x, dim, keepdim), data,
                             dtype=dtype)


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)])
def test_count_nonzero_matches_torch(dim):
    data = np.array([[0.0, 1.0, np.nan], [0.0, 0.0, -3.0]])
    ours = tg.tensor(data).count_nonzero(dim)
    theirs = torch.tensor(data).count_nonzero(dim)
    assert ours.dtype == tg.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_count_nonzero_names_the_op_for_a_bad_dim():
    with pytest.raises(IndexError, match="count_nonzero"):
        tg.ones(2, 3).count_nonzero(2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("dim", "keepdim"), [(None, False), (0, False), (1, True)])
def test_aminmax_matches_torch_values_and_gradients(dtype, dim, keepdim):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(3, 4)).astype(dtype)
    assert_matches_torch(lambda x: tuple(x.aminmax(dim=dim, keepdim=keepdim)),
                         lambda x: tuple(torch.aminmax(x, dim=dim, keepdim=keepdim)), data, dtype=dtype)
    result = tg.tensor(data).aminmax(dim=dim, keepdim=keepdim)
    assert result._fields == ("min", "max")


def test_aminmax_of_an_empty_tensor_names_the_op():
    with pytest.raises(RuntimeError, match=r"aminmax.*\(0,\)"):
        tg.tensor([]).aminmax()


# ---- group 2: comparisons of whole tensors, logical ops, memory layout, autograd flags ----------


@pytest.mark.parametrize("kwargs", [{}, {"rtol": 0.1}, {"atol": 1e-3}, {"equal_nan": True}])
@pytest.mark.parametrize("dtype", DTYPES)
def test_allclose_matches_torch(kwargs, dtype):
    x = np.array([[1.0, np.nan, 100.0], [0.0, -np.inf, 2.0]], dtype=dtype)
    for y in (x, x + np.asarray(5e-4, dtype), x * np.asarray(1.05, dtype), x[1]):
        ours = tg.tensor(x).allclose(tg.tensor(y), **kwargs)
        assert type(ours) is bool
        assert ours == torch.allclose(torch.tensor(x), torch.tensor(y), **kwargs)


def test_allclose_errors_name_the_op():
    with pytest.raises(TypeError, match=r"allclose.*float32.*float64"):
        tg.allclose(tg.ones(2), tg.ones(2, dtype=tg.float64))
    with pytest.raises(tg.ShapeError, match=r"allclose.*\(2,\).*\(3,\)"):
        tg.ones(2).allclose(tg.ones(3))


@pytest.mark.parametrize(("x", "y"), [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 3.0]), ([1.0], [1.0, 1.0]),
                                      ([[1.0, 2.0]], [1.0, 2.0]), ([float("nan")], [float("nan")])])
def test_equal_matches_torch(x, y):
    assert tg.equal(tg.tensor(x), tg.tensor(y)) is torch.equal(torch.tensor(x), torch.tensor(y))


LOGICAL = ["logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize("name", LOGICAL)
def test_logical_binary_ops_match_torch_with_broadcasting(name):
    x = np.array([[0.0, 1.0, -2.0], [np.nan, 0.0, 3.0]])
    y = np.array([0, 5, 0])
    ours = getattr(tg.tensor(x), name)(tg.tensor(y))
    theirs = getattr(torch.tensor(x), name)(torch.tensor(y))
    assert ours.dtype == tg.bool
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(tg.ShapeError, match=rf"{name}.*\(2, 3\).*\(2,\)"):
        getattr(tg, name)(tg.tensor(x), tg.ones(2))


def test_logical_not_matches_torch():
    x = np.array([0.0, 1.0, np.nan, -0.0])
    np.testing.assert_array_equal(tg.logical_not(tg.tensor(x)).numpy(), torch.logical_not(torch.tensor(x)).numpy())


VIEWS = {
    "fresh": lambda t: t,
    "transposed": lambda t: t.transpose(0, 2),
    "sliced": lambda t: t[:, 1:, ::2],
    "expanded": lambda t: t[:, :1].expand(2, 4, 4),
    "unsqueezed": lambda t: t.unsqueeze(1),
    "permuted_back": lambda t: t.permute(2, 0, 1).permute(1, 2, 0),
}


@pytest.mark.parametrize("view", VIEWS)
def test_stride_and_is_contiguous_match_torch(view):
    data = np.arange(32.0).reshape(2, 4, 4)
    ours, theirs = VIEWS[view](tg.tensor(data)), VIEWS[view](torch.tensor(data))
    assert ours.stride() == theirs.stride()
    assert ours.stride(-1) == theirs.stride(-1)
    assert ours.is_contiguous() == theirs.is_contiguous()


@pytest.mark.parametrize("view", VIEWS)
def test_contiguous_and_clone_lay_out_memory_as_torch(view):
    """contiguous(): itself when row-major, else a row-major copy; clone() keeps the layout (torch's
    preserve_format); both pass the gradient through (CloneBackward0)."""
    data = np.arange(32.0).reshape(2, 4, 4)
    x, tx = tg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    for make in (lambda t: t.contiguous(), lambda t: t.clone()):
        source, theirs_source = VIEWS[view](x * 1), VIEWS[view](tx * 1)
        ours, theirs = make(source), make(theirs_source)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
        assert (ours.stride(), ours.is_contiguous()) == (theirs.stride(), theirs.is_contiguous())
        assert (ours is source) == (theirs is theirs_source)
        if ours is not source:  # (the views' own node names are tested in test_parity_names)
            assert ours.grad_fn.name() == theirs.grad_fn.name() == "CloneBackward0"
        (ours * ours).sum().backward()
        (theirs * theirs).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
        x.grad, tx.grad = None, None
    plain = tg.tensor(data)
    assert plain.contiguous() is plain


def test_detach_in_place_makes_a_leaf_as_torch():
    ours, theirs = tg.ones(2, requires_grad=True) * 2, torch.ones(2, requires_grad=True) * 2
    assert ours.detach_() is ours
    theirs.detach_()
    assert (ours.is_leaf, ours.requires_grad, ours.grad_fn) == (theirs.is_leaf, theirs.requires_grad, None)
    assert theirs.grad_fn is None


def _retains(lib):
    """retains_grad of a leaf, of a non-leaf before and after retain_grad(), and the kept .grad."""
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    flags = [x.retains_grad, y.retains_grad]
    y.retain_grad()
    y.retain_grad()  # a second call must not double the kept gradient
    flags.append(y.retains_grad)
    (y * 3).sum().backward()
    return flags, np.asarray(y.grad.tolist())


def test_retain_grad_and_retains_grad_match_torch():
    ours_flags, ours_grad = _retains(tg)
    theirs_flags, theirs_grad = _retains(torch)
    assert ours_flags == theirs_flags == [False, False, True]
    np.testing.assert_array_equal(ours_grad, theirs_grad)


def _grad_after_hooks(lib, retain_first: bool, remove: bool):
    x = lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64, requires_grad=True)
    y = x * 2
    if retain_first:
        y.retain_grad()
    handle = y.register_hook(lambda g: g * 3)
    y.register_hook(lambda g: g + 1)
    if not retain_first:
        y.retain_grad()
    if remove:
        handle.remove()
    (y * y).sum().backward()
    return y.grad.detach().numpy(), x.grad.detach().numpy()


@pytest.mark.parametrize("remove", [False, True])
@pytest.mark.parametrize("retain_first", [True, False])
def test_retain_grad_stores_the_gradient_after_every_hook_as_torch(retain_first, remove):
    """PyTorch runs the retain_grad hook last, whenever it was registered: .grad is what the tensor's
    other hooks made of the gradient (which also flows on to x)."""
    ours, theirs = _grad_after_hooks(tg, retain_first, remove), _grad_after_hooks(torch, retain_first, remove)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_is_complex_matches_torch():
    assert tg.ones(2).is_complex() is torch.ones(2).is_complex() is False


# ---- group 3: median, unfold ------------------------------------------------------------------

MEDIAN_DATA = {
    "odd": np.array([3.0, 1.0, 4.0, 1.5, 5.0]),
    "even_lower": np.array([4.0, 1.0, 3.0, 2.0]),
    "ties": np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0, 3.0]),
    "nan": np.array([1.0, np.nan, 2.0, np.nan]),
    "matrix": np.array([[0.5, -1.0, 2.0], [3.0, 3.0, -4.0]]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MEDIAN_DATA)
def test_median_of_everything_matches_torch_value_and_shared_gradient(dtype, case):
    data = MEDIAN_DATA[case].astype(dtype)
    assert_matches_torch(lambda x: x.median(), lambda x: x.median(), data, dtype=dtype)


def test_median_of_an_empty_tensor_is_nan_as_torch():
    assert np.isnan(tg.tensor([]).median().item()) and np.isnan(torch.tensor([]).median().item())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("dim", "keepdim"), [(0, False), (1, False), (-1, True), (2, False)])
def test_median_along_a_dim_matches_torch_values_indices_and_gradient(dtype, dim, keepdim):
    data = np.random.default_rng(4).permutation(60).reshape(3, 4, 5).astype(dtype)  # distinct: one right index
    assert_matches_torch(lambda x: tuple(x.median(dim, keepdim)), lambda x: tuple(x.median(dim, keepdim)), data,
                         dtype=dtype)
    assert tg.tensor(data).median(dim, keepdim)._fields == ("values", "indices")


def test_median_along_a_dim_with_nan_and_ties_matches_torch():
    data = np.array([[3.0, 1.0, 3.0, 2.0], [1.0, np.nan, 2.0, np.nan], [2.0, 2.0, 2.0, 2.0]])
    ours, theirs = tg.tensor(data).median(1), torch.tensor(data).median(1)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy()[:2], theirs.indices.numpy()[:2])  # the tie row: any 2


def test_median_of_a_0d_tensor_along_dim_0_matches_torch():
    ours, theirs = tg.tensor(5.0).median(0), torch.tensor(5.0).median(0)
    assert ours.values.shape == tuple(theirs.values.shape) == () and ours.indices.item() == theirs.indices.item()


def test_median_names_the_op_for_a_bad_dim():
    with pytest.raises(IndexError, match="median"):
        tg.ones(2, 3).median(2)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "dimension", "size", "step"),
                         [((7,), 0, 3, 2), ((7,), 0, 3, 1), ((2, 6, 3), 1, 2, 3), ((2, 6, 3), -1, 3, 1),
                          ((4, 5), 0, 4, 5), ((3, 5), 1, 1, 1), ((3, 5), 1, 0, 2)])
def test_unfold_matches_torch_values_and_gradient(dtype, shape, dimension, size, step):
    assert_matches_torch(lambda x: x.unfold(dimension, size, step), lambda x: x.unfold(dimension, size, step), shape,
                         dtype=dtype)


def test_unfold_of_a_0d_tensor_matches_torch():
    np.testing.assert_array_equal(tg.tensor(5.0).unfold(0, 1, 1).numpy(), torch.tensor(5.0).unfold(0, 1, 1).numpy())


def test_unfold_second_derivative_matches_torch():
    assert_matches_torch(lambda x: (x.unfold(0, 3, 1) ** 3).sum().reshape(1),
                         lambda x: (x.unfold(0, 3, 1) ** 3).sum().reshape(1), (6,))
    x, tx = tg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True), torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    (g,) = tg.autograd.grad((x.unfold(0, 2, 1) ** 3).sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad((tx.unfold(0, 2, 1) ** 3).sum(), [tx], create_graph=True)
    g.sum().backward()
    tgx.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_unfold_errors_name_the_op_and_shape():
    with pytest.raises(tg.ShapeError, match=r"unfold.*size 4.*\(2, 3\)"):
        tg.ones(2, 3).unfold(1, 4, 1)
    with pytest.raises(ValueError, match="unfold: step is 0"):
        tg.ones(2, 3).unfold(1, 2, 0)
