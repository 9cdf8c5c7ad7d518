"""Pooling on inputs smaller than the kernel: F.avg_pool1d/2d/3d and F.max_pool1d/2d/3d raise where
torch 2.13 raises (with its message, after our op name) and compute what torch computes elsewhere.

torch's rules: 1-D and 2-D pool only need one output position (padding or ceil_mode can give it);
avg_pool3d alone also requires every spatial size ≥ the kernel, padding or not; a batch may be empty,
no other dim."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F  # noqa: N812 - as torch's F

torch = pytest.importorskip("torch")
import torch.nn.functional as TF  # noqa: E402, N812 - after the importorskip

CASES = [  # (function, input shape, kernel_size, keywords)
    ("avg_pool1d", (1, 2, 3), 4, {}),
    ("avg_pool1d", (2, 3), 4, {}),
    ("avg_pool1d", (1, 2, 3), 4, {"ceil_mode": True}),
    ("avg_pool1d", (1, 2, 3), 4, {"padding": 1}),
    ("avg_pool2d", (1, 2, 3, 3), 4, {}),
    ("avg_pool2d", (2, 3, 3), 4, {}),
    ("avg_pool2d", (1, 2, 3, 8), 4, {}),
    ("avg_pool2d", (1, 2, 3, 3), 4, {"ceil_mode": True}),
    ("avg_pool2d", (1, 2, 3, 3), 4, {"padding": 1}),
    ("avg_pool3d", (1, 2, 3, 3, 3), 4, {}),
    ("avg_pool3d", (2, 3, 3, 3), 4, {}),
    ("avg_pool3d", (1, 2, 3, 3, 3), 4, {"ceil_mode": True}),
    ("avg_pool3d", (1, 2, 3, 3, 3), 4, {"padding": 1}),
    ("avg_pool3d", (1, 2, 3, 3, 3), 4, {"padding": 1, "divisor_override": 3}),
    ("avg_pool3d", (1, 2, 3, 8, 8), 4, {}),
    ("avg_pool3d", (1, 2, 8, 8, 3), (2, 2, 4), {"stride": 1}),
    ("avg_pool3d", (1, 2, 4, 4, 4), 4, {"stride": 9}),
    ("avg_pool3d", (0, 2, 4, 4, 4), 2, {}),
    ("avg_pool3d", (1, 2, 0, 3, 3), 2, {}),
    ("avg_pool3d", (1, 0, 4, 4, 4), 2, {}),
    ("max_pool1d", (1, 2, 3), 4, {}),
    ("max_pool1d", (1, 2, 3), 4, {"padding": 1}),
    ("max_pool2d", (1, 2, 3, 3), 4, {}),
    ("max_pool2d", (1, 2, 3, 3), 4, {"ceil_mode": True}),
    ("max_pool3d", (1, 2, 3, 3, 3), 4, {}),
    ("max_pool3d", (1, 2, 3, 3, 3), 4, {"padding": 1}),
    ("max_pool3d", (1, 2, 3, 3, 3), 4, {"ceil_mode": True}),
    ("max_pool3d", (1, 2, 5, 5, 5), 3, {"dilation": 3}),
    ("max_pool3d", (1, 2, 5, 5, 5), 3, {"dilation": 2}),
    ("max_pool3d", (1, 2, 0, 3, 3), 2, {}),
]

# torch's message where its wording is not the shared one (its 1-D max pool and zero-size checks
# come from other code paths): the phrase ours must contain instead
OUR_PHRASE = {"max_pool1d() Invalid computed output size: 0": "Output size is too small",
              "non-batch dimensions to have positive length": "non-batch dimensions to have positive length"}


@pytest.mark.parametrize(("name", "shape", "kernel", "keywords"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in CASES])
def test_pool_small_input_matches_torch(name, shape, kernel, keywords):
    x = np.random.default_rng(0).standard_normal(shape)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours_x = tg.tensor(x, requires_grad=True)
    try:
        expected = getattr(TF, name)(theirs_x, kernel, **keywords)
    except RuntimeError as error:
        message = str(error).split("\n")[0]
        phrase = next((p for key, p in OUR_PHRASE.items() if key in message), message)
        with pytest.raises(RuntimeError, match=f"^{name}: .*{re.escape(phrase)}"):
            getattr(F, name)(ours_x, kernel, **keywords)
        return
    got = getattr(F, name)(ours_x, kernel, **keywords)
    assert got.shape == tuple(expected.shape)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    if got.data.size:
        (got ** 2).sum().backward()
        (expected ** 2).sum().backward()
        np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)


def test_the_layers_raise_as_the_functions():
    with pytest.raises(RuntimeError, match=re.escape("avg_pool3d: input image (T: 3 H: 3 W: 3) smaller than kernel")):
        tg.nn.AvgPool3d(4, padding=1)(tg.randn(1, 2, 3, 3, 3))
    assert tg.nn.AvgPool2d(4, padding=1)(tg.randn(1, 2, 3, 3)).shape == (1, 2, 1, 1)
    with pytest.raises(RuntimeError, match=re.escape(
            "max_pool3d: Given input size: (2x3x3x3). Calculated output size: (2x0x0x0). Output size is too small")):
        tg.nn.MaxPool3d(4)(tg.randn(1, 2, 3, 3, 3))
