"""PyTorch parity: dtype checks of matmul-like ops, einsum, max_pool2d indices / max_unpool2d, unfold / fold.

Every behaviour is compared against torch (values and gradients, float64 tight, float32 loose).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F  # noqa: N812 - PyTorch's conventional name

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

TF = torch.nn.functional


# ---- 1. no dtype promotion in matmul-like ops (torch raises) --------------------------------------

MIXED = {  # name: (tinygrad_edu call, torch call), float32 and float64 operands mixed
    "matmul": (lambda a, b: a @ b, lambda a, b: a @ b),
    "matmul_method": (lambda a, b: a.matmul(b), lambda a, b: a.matmul(b)),
    "mm": (lambda a, b: a.mm(b), lambda a, b: a.mm(b)),
    "bmm": (lambda a, b: a.unsqueeze(0).bmm(b.unsqueeze(0)), lambda a, b: a.unsqueeze(0).bmm(b.unsqueeze(0))),
    "linear": (lambda a, b: F.linear(a, b.T), lambda a, b: TF.linear(a, b.T)),
    "linear_bias": (lambda a, b: F.linear(b.T, b.T, a[0, :2]), lambda a, b: TF.linear(b.T, b.T, a[0, :2])),
    "conv2d": (lambda a, b: F.conv2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2)[..., :2, :2]),
               lambda a, b: TF.conv2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2)[..., :2, :2])),
    "conv1d": (lambda a, b: F.conv1d(a.reshape(1, 2, 3), b.reshape(1, 2, 3)[..., :2]),
               lambda a, b: TF.conv1d(a.reshape(1, 2, 3), b.reshape(1, 2, 3)[..., :2])),
    "conv_transpose2d": (lambda a, b: F.conv_transpose2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2)),
                         lambda a, b: TF.conv_transpose2d(a.reshape(1, 1, 2, 3), b.reshape(1, 1, 3, 2))),
}


@pytest.mark.parametrize("name", sorted(MIXED))
@pytest.mark.parametrize("first64", [False, True])
def test_mixed_float_dtypes_raise_as_in_torch(name, first64):
    ours, theirs = MIXED[name]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    dt_a, dt_b = (np.float64, np.float32) if first64 else (np.float32, np.float64)
    with pytest.raises(RuntimeError):  # the oracle: torch refuses this mix
        theirs(torch.tensor(a.astype(dt_a)), torch.tensor(b.astype(dt_b)))
    with pytest.raises(TypeError, match=r"float(32|64).*float(64|32)"):
        ours(tg.tensor(a.astype(dt_a)), tg.tensor(b.astype(dt_b)))
    # one dtype: works, and agrees with torch
    same = ours(tg.tensor(a), tg.tensor(b)).numpy()
    np.testing.assert_allclose(same, theirs(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)


@pytest.mark.parametrize("layer", ["linear", "conv2d", "conv1d", "conv_transpose2d"])
def test_layers_refuse_an_input_of_another_dtype(layer):
    make = {"linear": (lambda: nn.Linear(3, 2), (4, 3)), "conv2d": (lambda: nn.Conv2d(1, 2, 2), (1, 1, 4, 4)),
            "conv1d": (lambda: nn.Conv1d(1, 2, 2), (1, 1, 4)),
            "conv_transpose2d": (lambda: nn.ConvTranspose2d(1, 2, 2), (1, 1, 4, 4))}
    ctor, shape = make[layer]
    x = tg.randn(*shape, dtype=tg.float64)
    with pytest.raises(TypeError, match=f"{layer}.*float64.*float32"):
        ctor()(x)
    assert ctor().to(tg.float64)(x).dtype == tg.float64  # converted layer: fine


def test_elementwise_and_outer_still_promote_as_in_torch():
    a, b = tg.ones(2, 3), tg.ones(2, 3, dtype=tg.float64)
    assert (a + b).dtype == tg.float64 == (a * b).dtype
    assert str((torch.ones(2, 3) + torch.ones(2, 3, dtype=torch.float64)).dtype) == "torch.float64"


def test_matmul_with_an_array_operand_still_converts_it():
    np.testing.assert_allclose((tg.ones(2, 3) @ np.ones((3, 2))).numpy(), np.full((2, 2), 3.0))
