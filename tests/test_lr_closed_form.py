"""The schedules with a closed form (PyTorch's ``_get_closed_form_lr``) against torch over many
epochs: the recursive ``step()`` chain, the deprecated ``step(epoch)`` (jumps forward and back,
repeats, mixed with plain steps, after a resume), and the closed form against the recursion."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import lr_scheduler

torch = pytest.importorskip("torch")

SCHEDULES = {  # name: (class name, keywords); two groups with their own base rates
    "StepLR": ("StepLR", {"step_size": 3, "gamma": 0.5}),
    "MultiStepLR": ("MultiStepLR", {"milestones": [2, 5, 5, 11], "gamma": 0.3}),
    "ExponentialLR": ("ExponentialLR", {"gamma": 0.93}),
    "CosineAnnealingLR": ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    "CosineAnnealingLR-eta0": ("CosineAnnealingLR", {"T_max": 4}),
    "LinearLR": ("LinearLR", {"start_factor": 0.25, "end_factor": 0.9, "total_iters": 6}),
    "LinearLR-down": ("LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 9}),
    "ConstantLR": ("ConstantLR", {"factor": 0.4, "total_iters": 5}),
    "PolynomialLR": ("PolynomialLR", {"total_iters": 8, "power": 2.0}),
    "PolynomialLR-sqrt": ("PolynomialLR", {"total_iters": 5, "power": 0.5}),
}
EPOCHS = 40  # several periods / well past every total_iters and milestone

# what step(epoch) is called with: forward runs, jumps, repeats, going back, 0
EPOCH_SEQUENCES = {
    "increasing": list(range(1, EPOCHS)),
    "jumps": [3, 4, 9, 17, 2, 2, 0, 30, 7, 25, 26, 1],
}


def make(lib, name: str, last_epoch: int = -1):
    cls, keywords = SCHEDULES[name]
    groups = [{"params": [lib.zeros(1, requires_grad=True)], "lr": 0.1},
              {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.37}]
    opt = lib.optim.SGD(groups, lr=0.1)
    if last_epoch != -1:
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"]
    return getattr(lib.optim.lr_scheduler, cls)(opt, **keywords, last_epoch=last_epoch)


def lrs(scheduler) -> list[float]:
    return [float(v) for v in scheduler.get_last_lr()]


def assert_same_rates(ours, theirs, context) -> None:
    np.testing.assert_allclose(lrs(ours), lrs(theirs), rtol=1e-13, atol=1e-16, err_msg=str(context))
    assert ours.last_epoch == theirs.last_epoch


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's step-order and both libraries' epoch warnings
        yield


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_chained_steps_match_torch_over_many_epochs(name):
    ours, theirs = make(tg, name), make(torch, name)
    for epoch in range(EPOCHS):
        assert_same_rates(ours, theirs, epoch)
        ours.step()
        theirs.step()


@pytest.mark.parametrize("sequence", list(EPOCH_SEQUENCES))
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_step_with_an_epoch_uses_the_closed_form_as_torch(name, sequence):
    ours, theirs = make(tg, name), make(torch, name)
    for epoch in EPOCH_SEQUENCES[sequence]:
        ours.step(epoch)
        theirs.step(epoch)
        assert_same_rates(ours, theirs, ("step", epoch))
        ours.step()  # a plain step after a jump goes on recursively from there
        theirs.step()
        assert_same_rates(ours, theirs, ("step() after", epoch))


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_resumed_schedule_matches_torch(name):
    """last_epoch given: the first step uses the closed form (or the recursion, as torch), then recursion."""
    ours, theirs = make(tg, name, last_epoch=4), make(torch, name, last_epoch=4)
    for epoch in range(EPOCHS):
        assert_same_rates(ours, theirs, epoch)
        ours.step()
        theirs.step()


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_closed_form_agrees_with_the_recursion(name):
    """Where the recursion does not go back up (cosine beyond T_max), η_t from step(t) equals the
    chained value to rounding: both are the same schedule."""
    chained, jumping = make(tg, name), make(tg, name)
    cls, keywords = SCHEDULES[name]
    horizon = 2 * keywords["T_max"] if cls == "CosineAnnealingLR" else EPOCHS
    for epoch in range(1, horizon):
        chained.step()
        jumping.step(epoch)
        np.testing.assert_allclose(lrs(jumping), lrs(chained), rtol=1e-12, atol=1e-15, err_msg=str(epoch))


def test_step_with_an_epoch_warns_as_torch():
    opt = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"The epoch parameter in `scheduler.step\(\)` was not necessary"):
        scheduler.step(4)
    assert scheduler.last_epoch == 4 and scheduler.get_last_lr() == pytest.approx([0.1 * 0.1 ** 2])
    plateau = lr_scheduler.ReduceLROnPlateau(optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1), patience=0)
    plateau_torch = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), patience=0)
    with pytest.warns(UserWarning, match="The epoch parameter"):
        plateau.step(1.0, epoch=10)
    with pytest.warns(UserWarning, match="The epoch parameter"):
        plateau_torch.step(1.0, epoch=10)
    assert plateau.last_epoch == plateau_torch.last_epoch == 10
    plateau.step(2.0)
    plateau_torch.step(2.0)
    assert plateau.last_epoch == plateau_torch.last_epoch == 11
    assert plateau.get_last_lr() == pytest.approx(plateau_torch.get_last_lr(), rel=1e-15)
