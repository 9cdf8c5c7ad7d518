"""grad_fn names as PyTorch prints them (``MulBackward0``), for the ops whose class bears
PyTorch's name."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

X = np.array([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]])
OPS = {
    "add": lambda lib, x: x + x,
    "sub": lambda lib, x: x - 1.0,
    "mul": lambda lib, x: x * x,
    "div": lambda lib, x: x / 2.0,
    "neg": lambda lib, x: -x,
    "pow": lambda lib, x: x**2,
    "exp": lambda lib, x: x.exp(),
    "log": lambda lib, x: x.log(),
    "sqrt": lambda lib, x: x.sqrt(),
    "abs": lambda lib, x: x.abs(),
    "sin": lambda lib, x: x.sin(),
    "floor": lambda lib, x: x.floor(),
    "ceil": lambda lib, x: x.ceil(),
    "round": lambda lib, x: x.round(),
    "trunc": lambda lib, x: x.trunc(),
    "sign": lambda lib, x: x.sign(),
    "tanh": lambda lib, x: x.tanh(),
    "sigmoid": lambda lib, x: x.sigmoid(),
    "sum": lambda lib, x: x.sum(),
    "mean": lambda lib, x: x.mean(),
    "var": lambda lib, x: x.var(1),
    "std": lambda lib, x: x.std(1),
    "amax": lambda lib, x: x.amax(1),
    "softmax": lambda lib, x: x.softmax(1),
    "log_softmax": lambda lib, x: x.log_softmax(1),
    "permute": lambda lib, x: x.permute(1, 0),
    "expand": lambda lib, x: x[:1].expand(4, 3),
    "where": lambda lib, x: lib.where(x > 1.0, x, x * 2.0),
    "maximum": lambda lib, x: lib.maximum(x, x * 2.0),
    "cat": lambda lib, x: lib.cat([x, x]),
    "stack": lambda lib, x: lib.stack([x, x]),
    "gather": lambda lib, x: x.gather(1, lib.tensor([[0], [2]])),
}


@pytest.mark.parametrize("op", OPS)
def test_grad_fn_name_as_torch(op):
    ours = OPS[op](tg, tg.tensor(X, requires_grad=True))
    theirs = OPS[op](torch, torch.tensor(X, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name() == type(theirs.grad_fn).__name__
    assert f"grad_fn=<{theirs.grad_fn.name()}>" in repr(ours)
