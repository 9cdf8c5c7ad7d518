"""Padding layers against PyTorch: the class hierarchy (isinstance), repr, and the 3-d layers."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

torch = pytest.importorskip("torch")

MODES = ("Zero", "Constant", "Reflection", "Replication", "Circular")
NAMES = [f"{mode}Pad{n}d" for mode in MODES for n in (1, 2, 3)]


def _make(lib_nn, name):
    return getattr(lib_nn, name)(1, 2.5) if name.startswith("Constant") else getattr(lib_nn, name)(1)


@pytest.mark.parametrize("name", NAMES)
def test_padding_class_hierarchy_as_torch(name):
    # e.g. a ReflectionPad2d is not a ReflectionPad1d, but a ZeroPad2d is a ConstantPad2d
    ours, theirs = _make(nn, name), _make(torch.nn, name)
    our_kinds = [other for other in NAMES if isinstance(ours, getattr(nn, other))]
    their_kinds = [other for other in NAMES if isinstance(theirs, getattr(torch.nn, other))]
    assert our_kinds == their_kinds
    assert isinstance(ours, nn.Module)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(("name", "args"), [
    ("ReflectionPad3d", ((1, 0, 2, 1, 1, 1),)), ("ReplicationPad3d", (2,)), ("CircularPad3d", ((1, 2, 0, 1, 1, 0),)),
    ("ZeroPad3d", ((1, -1, 0, 2, 1, 1),)), ("ConstantPad3d", ((1, 0, 1, 2, 0, 1), -1.5)),
])
def test_3d_padding_layers_match_torch_values_and_gradients(name, args):
    x = np.random.default_rng(0).standard_normal((2, 3, 3, 4, 3))
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    xt, xg = torch.tensor(x, requires_grad=True), tg.tensor(x, requires_grad=True)
    yt, yg = theirs(xt), ours(xg)
    np.testing.assert_allclose(yg.data, yt.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(1).standard_normal(yt.shape)
    yt.backward(torch.tensor(g))
    yg.backward(tg.tensor(g))
    np.testing.assert_allclose(xg.grad.data, xt.grad.numpy(), rtol=1e-12)


def test_padding_width_count_is_checked_per_dims():
    with pytest.raises(ValueError, match=r"ReflectionPad3d: padding must be an int or a tuple of 6 ints"):
        nn.ReflectionPad3d((1, 1, 1, 1))
