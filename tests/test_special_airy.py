"""tg.special.airy_ai against mpmath (the exact values) and torch.special.airy_ai (Cephes), float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")
mpmath = pytest.importorskip("mpmath")

# both regions of the Taylor table (|x| ≤ 10, nodes every ½, the points halfway between them), the asymptotic ones
# (|x| > 10) and their borders, 0 and the decay into underflow
X = np.concatenate([np.linspace(-10.0, 10.0, 401), np.linspace(-10.0, 10.0, 40) + 0.2499, [-10.0001, 10.0001],
                    -np.logspace(1, 3, 60), np.logspace(1, np.log10(110.0), 40), [0.0, -0.0, 1e-300, -1e-300]])


@pytest.fixture(scope="module")
def exact() -> np.ndarray:
    with mpmath.mp.workdps(30):
        return np.array([float(mpmath.airyai(v)) for v in X.tolist()])


@pytest.fixture(scope="module")
def exact32() -> np.ndarray:
    with mpmath.mp.workdps(30):
        return np.array([float(mpmath.airyai(float(v))) for v in X.astype(np.float32).tolist()])


def test_airy_ai_float64_against_mpmath(exact):
    y = tg.special.airy_ai(tg.tensor(X)).numpy()
    assert y.dtype == np.float64
    error = np.abs(y - exact)
    # relative 2·10⁻¹⁴ where |Ai| is not small; near Ai's zeros (x < 0) and in the asymptotic region the absolute
    # error counts: |x|^(−¼)·3·10⁻¹⁵ (the size of the oscillation times the rounding of the phase ζ + π/4)
    bound = np.maximum(2e-14 * np.abs(exact), 3e-15 * np.maximum(np.abs(X), 1.0) ** 0.75)
    assert np.all(error <= bound), (X[np.argmax(error / bound)], np.max(error / bound))


def test_airy_ai_float64_against_torch(exact):
    """Where torch (Cephes) is itself accurate, the two agree; torch's error near x = −2.3 reaches 3·10⁻⁶."""
    y = tg.special.airy_ai(tg.tensor(X)).numpy()
    expected = torch.special.airy_ai(torch.from_numpy(X)).numpy()
    torch_good = np.abs(expected - exact) <= 1e-13 * np.maximum(np.abs(exact), 1e-3)
    assert torch_good.mean() > 0.8
    np.testing.assert_allclose(y[torch_good], expected[torch_good], rtol=5e-12, atol=1e-15)


def test_airy_ai_float32_is_float64_rounded_once(exact32):
    exact = exact32
    x32 = X.astype(np.float32)
    y = tg.special.airy_ai(tg.tensor(x32)).numpy()
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, tg.special.airy_ai(tg.tensor(x32.astype(np.float64))).numpy().astype(np.float32))
    finite = np.isfinite(exact)
    np.testing.assert_allclose(y[finite], exact[finite].astype(np.float32), rtol=1.2e-7, atol=1e-45)
    near = np.abs(x32) <= 10  # beyond, torch's float32 phase ζ + π/4 has lost its digits (errors ~10⁻⁴)
    expected = torch.special.airy_ai(torch.from_numpy(x32[near])).numpy()
    np.testing.assert_allclose(y[near], expected, rtol=1e-5, atol=2e-6)


def test_airy_ai_special_values_and_no_gradient_like_torch():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 200.0])
    np.testing.assert_array_equal(tg.special.airy_ai(tg.tensor(x)).numpy(),
                                  torch.special.airy_ai(torch.from_numpy(x)).numpy())
    ints = tg.special.airy_ai(tg.tensor([1, 2]))
    assert ints.dtype == tg.float32  # integer input becomes float32, as in torch
    np.testing.assert_allclose(ints.numpy(), torch.special.airy_ai(torch.tensor([1, 2])).numpy(), rtol=1e-6)
    x = tg.tensor([0.5, -3.0], dtype=tg.float64, requires_grad=True)
    assert not tg.special.airy_ai(x).requires_grad  # torch: requires_grad False, no grad_fn
    assert not torch.special.airy_ai(torch.tensor([0.5], requires_grad=True)).requires_grad
