"""Tensor construction, dtype rules (checked against PyTorch), attributes, factories, in-place rules."""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

# ---- construction and dtypes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype"),
    [(1.5, tg.float32), ([1.0, 2.0], tg.float32), ([[1, 2]], tg.int64), (3, tg.int64), ([True], tg.bool),
     (np.zeros(2), tg.float64), (np.zeros(2, np.float32), tg.float32), (np.arange(3, dtype=np.int32), tg.int32),
     (np.float64(2.0), tg.float64)],
)
def test_constructor_default_dtypes(data, dtype):
    assert tg.tensor(data).dtype == dtype


def test_constructor_dtype_argument_and_copy():
    a = np.arange(3.0)
    t = tg.Tensor(a, dtype=tg.float32)
    assert t.dtype == tg.float32
    u = tg.tensor(a)
    a[0] = 100.0
    assert u.data[0] == 0.0  # data is copied


def _example(dtype: str, zero_dim: bool):
    values = np.array(2.0 if zero_dim else [1.0, 0.0, 3.0]).astype(dtype)
    return tg.tensor(values), torch.tensor(values)


DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool"]
BINARY_OPS = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
              "lt": lambda a, b: a < b, "eq": lambda a, b: a == b, "where": lambda a, b: a.where(a > 1, b)}


def _assert_same_result(ours, theirs):
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("left", "right"), list(itertools.product(itertools.product(DTYPES, [False, True]), repeat=2)),
)
def test_binary_dtype_promotion_matches_torch(left, right):
    # PyTorch's categories bool < integer < float, and a 0-d tensor of the same category
    # (uint8 and int64 are both integer) does not widen a tensor with dims
    a_tg, a_torch = _example(*left)
    b_tg, b_torch = _example(*right)
    for op in BINARY_OPS.values():
        _assert_same_result(op(a_tg, b_tg), op(a_torch, b_torch))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True, np.float64(0.5), np.int64(3)])
def test_scalar_operand_dtype_matches_torch(dtype, scalar):
    # e.g. bool_tensor * 2 is int64 and bool_tensor / 2 halves (the 2 was cast to True before)
    a_tg, a_torch = _example(dtype, False)
    for op in (lambda a: a * scalar, lambda a: scalar + a, lambda a: a / scalar, lambda a: a < scalar,
               lambda a: a == scalar, lambda a: scalar * a):
        _assert_same_result(op(a_tg), op(a_torch))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("number", [3, -1.7, 1e-30])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow"])
def test_a_python_number_beside_a_float_tensor_acts_as_a_0d_tensor_of_its_dtype(op, number, dtype):
    """_binary's fast path for a float tensor with a Python int or float, on either side: the same
    values, dtype and gradient, bit for bit, as the number given as a 0-d tensor of the tensor's dtype."""
    data = np.random.default_rng(0).uniform(0.5, 2.0, (3, 4)).astype(dtype)
    fn = getattr(operator, op)
    for number_first in (False, True):
        results = []
        for operand in (number, tg.tensor(np.asarray(number, dtype))):
            x = tg.tensor(data, requires_grad=True)
            with np.errstate(all="ignore"):  # 1e-30 underflows in float16, and pow overflows
                y = fn(operand, x) if number_first else fn(x, operand)
                y.backward(tg.ones_like(y))
            results.append((y, x.grad))
        (fast, fast_grad), (general, general_grad) = results
        assert fast.dtype == general.dtype == np.dtype(dtype) and fast.shape == general.shape
        np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
        np.testing.assert_array_equal(fast_grad.numpy(), general_grad.numpy())


@pytest.mark.torch
@pytest.mark.parametrize(("x", "y"), [(1.0, 0.0), (1, 0), (1, 0.5), (True, 2)])
def test_where_with_two_numbers_matches_torch(x, y):
    cond = np.array([True, False])
    _assert_same_result(tg.where(tg.tensor(cond), x, y), torch.where(torch.tensor(cond), x, y))


@pytest.mark.torch
@pytest.mark.parametrize("value", [9, 9.7, True])
@pytest.mark.parametrize("dtype", ["int64", "float64", "bool"])
def test_masked_fill_keeps_the_tensors_dtype(dtype, value):
    x = np.array([1, 0, 3]).astype(dtype)
    mask = np.array([True, False, False])
    ours = tg.tensor(x).masked_fill(tg.tensor(mask), value)
    _assert_same_result(ours, torch.tensor(x).masked_fill(torch.tensor(mask), value))


@pytest.mark.torch
def test_tensor_from_a_list_of_0d_tensors_matches_torch():
    # e.g. tg.tensor(losses) for a list of losses
    for items in ([1.0, 2.5], [np.float64(1.5), np.float64(2.0)], [1, 2]):
        _assert_same_result(tg.tensor([tg.tensor(v) for v in items]), torch.tensor([torch.tensor(v) for v in items]))
    losses = [tg.tensor(1.5, requires_grad=True) * 2.0, tg.tensor(0.5, requires_grad=True) * 2.0]
    _assert_same_result(tg.tensor(losses), torch.tensor([3.0, 1.0]))  # the values, cut off from the graph
    nested = tg.tensor([[tg.tensor(1.0), 2.0]])
    assert nested.shape == (1, 2) and nested.dtype == tg.float32
    with pytest.raises(TypeError, match="cannot make a tensor from list data"):
        tg.tensor([object()])


def test_float32_stays_float32_through_ops():
    x = tg.randn(3, 4)
    y = ((x * 0.5 + 1.0).exp().log() @ tg.randn(4, 2)).softmax(1).sum(0)
    assert y.dtype == tg.float32


# ---- attributes and conversions ----------------------------------------------------------


def test_attributes():
    x = tg.zeros(2, 3, requires_grad=True)
    y = x * 2.0
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(1) == 3 and x.numel() == 6
    assert x.is_leaf and not y.is_leaf
    assert y.grad_fn.name() == "MulBackward0"
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert "requires_grad=True" in repr(x)


def test_conversions():
    x = tg.tensor([[1.5, 2.5]])
    assert x.tolist() == [[1.5, 2.5]]
    assert tg.tensor([3.0]).item() == 3.0
    assert x.double().dtype == tg.float64 and x.long().dtype == tg.int64 and x.astype("float64").dtype == tg.float64
    with pytest.raises(ValueError, match="one-element"):
        x.item()


def test_numpy_of_tensor_requiring_grad_raises_and_detach_shares_memory():
    x = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    d = x.detach()
    assert not d.requires_grad
    d.data[0] = 5.0
    assert x.data[0] == 5.0


def test_cast_between_floats_is_differentiable():
    x = tg.ones(3, requires_grad=True)
    y = x.double() * 2.0
    y.sum().backward()
    assert y.dtype == tg.float64 and x.grad.dtype == tg.float32
    np.testing.assert_allclose(x.grad.data, 2.0)


def test_comparisons_are_bool_and_not_differentiable():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert result.dtype == tg.bool and not result.requires_grad
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])


@pytest.mark.torch
def test_device_and_layout_calls_of_pytorch_scripts_work():
    # x.to(device), .cpu(), .contiguous(): the CPU is the only device, so they return x itself
    x = tg.tensor([[1.0, np.nan], [0.0, 2.0]])
    for same in (x.to("cpu"), x.to(torch.device("cpu")), x.to(device="cpu"), x.cpu(), x.contiguous(),
                 x.to(tg.float32), x.type_as(x)):
        assert same is x
    assert x.to(tg.tensor([1])).dtype == tg.int64 and x.to("float64").dtype == tg.float64
    for device in ("cuda", torch.device("cuda:0")):
        with pytest.raises(RuntimeError, match=r"to: device 'cuda.*' is not available; tinygrad_edu runs on the CPU"):
            x.to(device)
    t = torch.tensor(x.data)
    for name in ("isnan", "all", "any"):
        _assert_same_result(getattr(x, name)(), getattr(t, name)())
    for name in ("all", "any"):
        _assert_same_result(getattr(x > 0, name)(1, keepdim=True), getattr(t > 0, name)(1, keepdim=True))
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        _assert_same_result(getattr(x, name)(1.0), getattr(t, name)(1.0))
    assert x.view_as(tg.zeros(4)).shape == x.reshape_as(tg.zeros(4, 1)).squeeze().shape == (4,)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "bool"])
def test_integer_and_bool_ops_match_torch(dtype):
    # sums of integers and bools are int64 (NumPy gave uint64 for uint8); & | ^ are bitwise on integers
    a = np.array([[200, 3, 0], [7, 200, 1]]).astype(dtype)
    b = np.array([[6, 5, 1], [0, 255, 1]]).astype(dtype)
    ours, theirs = (tg.tensor(a), tg.tensor(b)), (torch.tensor(a), torch.tensor(b))
    for op in (lambda x, y: x.sum(), lambda x, y: x.sum(1, keepdim=True), lambda x, y: x & y, lambda x, y: x | y,
               lambda x, y: x ^ y):
        _assert_same_result(op(*ours), op(*theirs))


# ---- factories -----------------------------------------------------------------------------


def test_factories_shapes_and_dtypes():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros((2, 3)).dtype == tg.float32
    assert tg.ones(4, dtype=tg.float64).dtype == tg.float64
    assert tg.full((2,), 7).dtype == tg.int64 and tg.full((2,), 7.0).dtype == tg.float32
    np.testing.assert_array_equal(tg.eye(3).data, np.eye(3))
    assert tg.arange(5).dtype == tg.int64 and tg.arange(0.0, 1.0, 0.25).shape == (4,)
    np.testing.assert_allclose(tg.linspace(0, 1, 5).data, np.linspace(0, 1, 5))
    x = tg.randn(2, 2, dtype=tg.float64)
    assert tg.zeros_like(x).dtype == tg.float64 and tg.ones_like(x).shape == (2, 2)
    assert tg.randint(0, 10, (5,)).dtype == tg.int64


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["int64", "float32", "float64"])
def test_floor_division_and_remainder_match_torch(dtype):
    a, b = np.array([7, -7, 7, -7, 0]).astype(dtype), np.array([3, 3, -3, -3, 5]).astype(dtype)
    ours, theirs = (tg.tensor(a), tg.tensor(b)), (torch.tensor(a), torch.tensor(b))
    for op in (lambda x, y: x // y, lambda x, y: x % y, lambda x, y: x // 2, lambda x, y: x % 2.5,
               lambda x, y: 7 // y, lambda x, y: 7.5 % y):
        _assert_same_result(op(*ours), op(*theirs))


@pytest.mark.torch
def test_remainder_gradient_matches_torch_and_floor_division_has_none():
    # d(x % w)/dx = 1, d(x % w)/dw = −⌊x / w⌋ (PyTorch's remainder backward)
    _assert_matches_torch_with_grads(lambda x, w: x % w, np.array([7.5, -7.5, 1.0]), np.array([2.0, 2.0, -0.75]))
    with pytest.raises(RuntimeError, match=r"floor_divide \(//\): not differentiable"):
        tg.tensor([1.0], requires_grad=True) // 2


def test_numpy_conversion_of_a_tensor_as_torch():
    # np.asarray(t) (what plotting libraries call) sees the values, not an object array of 0-d tensors
    t = tg.tensor([[1.0, 2.0]])
    assert np.asarray(t) is t.data and np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.array(t) is not t.data and np.array([t.sum(), t.sum()]).tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match=r"requires grad; call tensor\.detach"):
        np.asarray(tg.tensor([1.0], requires_grad=True))


def test_randint_with_high_and_size_only_as_torch():
    # torch.randint(high, size): low = 0
    draws = tg.randint(3, (400,))
    assert draws.shape == (400,) and draws.dtype == tg.int64 and set(draws.tolist()) == {0, 1, 2}
    assert tg.randint(3, size=(2, 2)).shape == (2, 2) and tg.randint(3).shape == ()


def test_manual_seed_makes_draws_reproducible():
    tg.manual_seed(123)
    first = (tg.rand(3).data, tg.randn(3).data, tg.randint(0, 100, (3,)).data)
    tg.manual_seed(123)
    second = (tg.rand(3).data, tg.randn(3).data, tg.randint(0, 100, (3,)).data)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert 0.0 <= first[0].min() and first[0].max() < 1.0


# ---- in-place writes ----------------------------------------------------------------------


def test_inplace_on_leaf_requiring_grad_needs_no_grad():
    w = tg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in place"):
        w.fill_(0.0)
    with tg.no_grad():
        w.zero_()
        w[1] = 4.0
    np.testing.assert_array_equal(w.data, [0.0, 4.0, 0.0])


@pytest.mark.torch
def test_manual_sgd_step_with_augmented_assignment_updates_the_parameter_as_torch():
    # `p -= lr * p.grad` under no_grad must change the parameter itself: without __isub__
    # Python rebinds p to a new tensor and the model's parameter silently stays as it was
    rng = np.random.default_rng(0)
    w0, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    results = []
    for lib in (tg, torch):
        w = lib.tensor(w0, requires_grad=True)
        params = [w]
        for step in range(3):
            loss = ((lib.tensor(x) @ w) ** 2).mean()
            loss.backward()
            with lib.no_grad():
                for p in params:
                    if step == 0:
                        p -= 0.1 * p.grad
                    elif step == 1:
                        p.add_(p.grad, alpha=-0.1)
                    else:
                        p.sub_(p.grad * 0.05).mul_(2.0).div_(2.0).clamp_(-0.5, 0.5)
                    p.grad.zero_()
        results.append(w.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


@pytest.mark.torch
def test_augmented_assignment_matches_torch_inside_and_outside_the_graph():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    total = 0
    for k in range(3):
        total += (x * k).sum()  # recording: a new node each time, so the sum stays differentiable
    total *= 2.0
    total.backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0, 6.0])
    data = tg.tensor([1, 2, 3])
    alias = data
    data += 2
    data *= 3
    assert alias is data and data.tolist() == [9, 12, 15] and data.dtype == tg.int64
    with pytest.raises(RuntimeError, match=r"\+=: a tensor that requires grad cannot be modified in place"):
        x += 1.0  # a leaf that requires grad, while recording (PyTorch raises too)
    with pytest.raises(TypeError, match=r"/=: a float32 result cannot be stored in place into a int64 tensor"):
        data /= 2  # PyTorch: "result type Float can't be cast to the desired output type Long"
    with pytest.raises(tg.ShapeError, match=r"add_: the result of shape \(2, 3\) does not fit in place"):
        tg.zeros(3).add_(tg.ones(2, 3))


def test_setting_requires_grad_false_on_non_leaf_raises():
    y = tg.ones(2, requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False


# ---- edge cases of reductions and shape methods, against PyTorch --------------------------


def _with_grads(fn, lib, *arrays):
    """fn(*tensors) and the gradients of its sum (or of fn's first output) for each input."""
    inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    out.sum().backward()
    return out, [t.grad for t in inputs]


def _assert_matches_torch_with_grads(fn, *arrays):
    ours, our_grads = _with_grads(fn, tg, *arrays)
    theirs, their_grads = _with_grads(fn, torch, *arrays)
    for a, b in zip([ours, *our_grads], [theirs, *their_grads]):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("dim", [(), []])
def test_empty_dim_list_reduces_every_dim_as_torch(reduction, dim):
    x = np.random.default_rng(0).standard_normal((2, 3))
    _assert_matches_torch_with_grads(lambda t: getattr(t, reduction)(dim=dim), x)


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["amax", "amin"])
def test_amax_of_an_empty_tensor_along_a_nonempty_dim(reduction):
    _assert_matches_torch_with_grads(lambda t: getattr(t, reduction)(dim=1), np.zeros((0, 3)))
    _assert_matches_torch_with_grads(lambda t: getattr(t, reduction)(dim=-1, keepdim=True), np.zeros((0, 3)))
    with pytest.raises(RuntimeError, match=f"{reduction}: cannot reduce over a dim of size 0"):
        getattr(tg.zeros(0, 3), reduction)(dim=0)


@pytest.mark.torch
@pytest.mark.parametrize("args", [(1,), (0, 1), (1, 2), (0, -1), (-2, -1)])
def test_flatten_of_an_empty_batch_matches_torch(args):
    # e.g. nn.Flatten on the empty last batch of a loader: the -1 of a reshape cannot be inferred there
    _assert_matches_torch_with_grads(lambda t: t.flatten(*args), np.zeros((0, 2, 3)))


def test_flatten_rejects_start_dim_after_end_dim():
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        tg.zeros(2, 3, 4).flatten(2, 1)


@pytest.mark.torch
@pytest.mark.parametrize("bounds", ["min", "max", "both"])
def test_clamp_with_tensor_bounds_matches_torch(bounds):
    rng = np.random.default_rng(1)
    x, low, high = rng.standard_normal((3, 4)), rng.standard_normal(4) - 0.5, rng.standard_normal((3, 1)) + 0.5
    low[0] = x[0, 0]  # a tie: the gradient stays with x, as in PyTorch
    fns = {
        "min": lambda t, lo, hi: t.clamp(min=lo) + 0 * hi.sum(),
        "max": lambda t, lo, hi: t.clamp(max=hi) + 0 * lo.sum(),
        "both": lambda t, lo, hi: t.clamp(lo, hi),
    }
    _assert_matches_torch_with_grads(fns[bounds], x, low, high)
