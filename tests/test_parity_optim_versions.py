"""``optimizer.step()`` is an in-place write of every parameter it updates, as in PyTorch:
the version counter goes up, so backward through a graph that saved a parameter before the
step raises instead of computing the gradient with the updated values."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

OPTIMIZERS = {
    "SGD": {"lr": 0.1, "momentum": 0.9},
    "Adam": {"lr": 0.01},
    "AdamW": {"lr": 0.01},
    "RMSprop": {"lr": 0.01},
    "Adagrad": {"lr": 0.01},
}


def _after_step(lib, name):
    """One warm-up step (so every optimiser has state), then a loss that saved w, a step, the loss."""
    w = lib.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    x = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)  # x needs grad, so w * x saves w (torch too)
    opt = getattr(lib.optim, name)([w], **OPTIMIZERS[name])
    (w * x).sum().backward()
    opt.step()
    version = w._version
    loss = (w * x).sum()
    opt.step()
    return w, loss, version


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if hasattr(tg.optim, n)])
def test_step_between_forward_and_backward_raises_as_torch(name):
    w, loss, version = _after_step(tg, name)
    w_t, loss_t, version_t = _after_step(torch, name)
    assert w._version == version + 1  # one write per step (torch's AdamW counts two: decay, then update)
    assert w_t._version > version_t
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss_t.backward()
    with pytest.raises(RuntimeError, match="MulBackward0: a tensor of shape \\(3,\\) that this op saved"):
        loss.backward()


def test_a_training_loop_still_runs_and_matches_torch():
    """zero_grad, forward, backward, step: the saved values are released by backward, so the
    version check never fires; the parameters follow torch's."""
    rng = np.random.default_rng(0)
    w0, x0, t0 = rng.standard_normal((4, 3)), rng.standard_normal((8, 3)), rng.standard_normal((8, 4))
    results = []
    for lib in (tg, torch):
        w = lib.tensor(w0, requires_grad=True)
        x, t = lib.tensor(x0), lib.tensor(t0)
        opt = lib.optim.Adam([w], lr=0.05)
        for _ in range(3):
            opt.zero_grad()
            ((x @ w.T - t) ** 2).mean().backward()
            opt.step()
        results.append(w.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-7, atol=1e-12)
