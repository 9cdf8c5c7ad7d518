"""View methods against PyTorch: values, gradients, and what a write through the result does
(a view writes into its base and shares its version counter; a copy does neither)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

X = np.arange(24.0).reshape(2, 3, 4) / 7.0
VIEW_METHODS = {
    "narrow": lambda x: x.narrow(2, 1, 2),
    "narrow negative start": lambda x: x.narrow(-1, -3, 3),
    "unbind": lambda x: x.unbind(1)[2],
    "movedim": lambda x: x.movedim(0, -1),
    "movedim tuple": lambda x: x.movedim((0, 2), (2, 0)),
    "moveaxis": lambda x: x.moveaxis(1, 0),
    "swapaxes": lambda x: x.swapaxes(0, 2),
    "swapdims": lambda x: x.swapdims(1, 2),
    "reshape to its own shape": lambda x: x.reshape(2, 3, 4),
    "expand to its own shape": lambda x: x.expand(2, 3, 4),
    "squeeze of nothing": lambda x: x.squeeze(),
}


@pytest.mark.parametrize("method", VIEW_METHODS)
def test_view_method_values_and_gradients_as_torch(method):
    fn = VIEW_METHODS[method]
    results = []
    for lib in (tg, torch):
        x = lib.tensor(X, requires_grad=True)
        y = fn(x)
        weights = lib.tensor(np.linspace(-1.0, 1.0, y.numel()).reshape(tuple(y.shape)))
        (y * weights).sum().backward()
        results.append((y.detach().numpy().copy(), x.grad.numpy().copy(), y.is_leaf, y.requires_grad))
    ours, theirs = results
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    assert ours[2:] == theirs[2:]  # a view of a tensor that requires grad is never a leaf


@pytest.mark.parametrize("method", VIEW_METHODS)
def test_write_through_view_method_reaches_the_base_as_torch(method):
    results = []
    for lib in (tg, torch):
        x = lib.tensor(X)
        view = VIEW_METHODS[method](x)
        view.mul_(-1.0)
        results.append((x.numpy().copy(), x._version, view._version))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:] == (1, 1)


def test_masked_fill_in_place_as_torch():
    results = []
    for lib in (tg, torch):
        x = lib.tensor(X.copy())
        out = x.masked_fill_(x > 2.0, -1.5)
        results.append((out is x, x.numpy().copy(), x._version))
        with pytest.raises(RuntimeError):
            lib.tensor(X, requires_grad=True).masked_fill_(lib.tensor(X) > 1.0, 0.0)
    assert results[0][0] and results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][2] == results[1][2] == 1


def test_finite_checks_and_small_queries_as_torch():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 0.0])
    for name in ("isinf", "isfinite", "isnan"):
        np.testing.assert_array_equal(getattr(tg.tensor(a), name)().numpy(), getattr(torch.tensor(a), name)().numpy())
    for a in (X, np.arange(3)):
        assert tg.tensor(a).nelement() == torch.tensor(a).nelement()
        assert tg.tensor(a).is_floating_point() == torch.tensor(a).is_floating_point()


@pytest.mark.parametrize(("call", "error"), [
    (lambda x: x.narrow(2, 3, 2), IndexError), (lambda x: x.narrow(0, 0, 3), IndexError),
    (lambda x: x.movedim((0, 1), (2,)), ValueError), (lambda x: x.movedim((0, 0), (1, 2)), ValueError),
    (lambda x: x.unbind(3), IndexError),
])
def test_view_method_errors_as_torch(call, error):
    with pytest.raises(error):
        call(tg.tensor(X))
    with pytest.raises((IndexError, RuntimeError, ValueError)):
        call(torch.tensor(X))


@pytest.mark.parametrize("write", ["mul_", "+=", "copy_", "fill_"])
def test_write_into_an_expanded_view_raises_a_runtime_error(write):
    # several elements of an expanded view are one memory location; torch refuses arithmetic
    # writes there (it allows fill_ of one value, which tinygrad_edu refuses too: NumPy marks
    # the view read-only)
    calls = {"mul_": lambda v, lib: v.mul_(2.0), "+=": lambda v, lib: v.__iadd__(1.0),
             "copy_": lambda v, lib: v.copy_(lib.zeros(2, 3)), "fill_": lambda v, lib: v.fill_(2.0)}
    for lib in (tg, torch) if write != "fill_" else (tg,):
        x = lib.ones(3)
        with pytest.raises(RuntimeError, match=r"read-only|more than one element"):
            calls[write](x.expand(2, 3), lib)
        assert x.tolist() == [1.0, 1.0, 1.0] and x._version == 0


@pytest.mark.parametrize("call", [lambda t: t.item(), bool, float, int], ids=["item", "bool", "float", "int"])
def test_scalar_conversion_of_several_elements_raises_what_torch_raises(call):
    # torch raises RuntimeError from item()/bool() and ValueError from float()/int(): ours is
    # a ShapeError, both at once, so code catching either works unchanged
    with pytest.raises((RuntimeError, ValueError)) as theirs:
        call(torch.tensor([1.0, 2.0]))
    with pytest.raises(type(theirs.value)):
        call(tg.tensor([1.0, 2.0]))


def test_iterating_a_0d_tensor_raises_as_torch():
    for lib in (tg, torch):
        with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
            list(lib.tensor(1.0))
