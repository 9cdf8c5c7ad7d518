"""Gradients at nan as PyTorch gives them: |x| and the 1-norm take sign(nan) = 0, so a nan
input gets gradient 0 there (NumPy's sign(nan) would make it nan)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

X = [np.nan, -1.5, 0.0, 2.0, -np.inf]
LOSSES = {
    "abs": lambda x: x.abs().sum(),
    "norm_p1": lambda x: x.norm(p=1),
    "norm_p1_dim": lambda x: x.reshape(1, 5).norm(p=1, dim=1).sum(),
    "norm_p2": lambda x: x.norm(p=2),
    "norm_p3": lambda x: x.norm(p=3),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_at_nan_as_torch(loss, dtype):
    ours = tg.tensor(np.array(X, dtype=dtype), requires_grad=True)
    theirs = torch.tensor(np.array(X, dtype=dtype), requires_grad=True)
    LOSSES[loss](ours).backward()
    LOSSES[loss](theirs).backward()
    assert ours.grad.dtype == ours.dtype
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("value", [np.nan, -2.0, 0.0])
def test_abs_of_a_0d_tensor_as_torch(value):
    ours, theirs = tg.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
    ours.abs().backward()
    theirs.abs().backward()
    assert ours.grad.shape == () and ours.grad.item() == theirs.grad.item()
