"""tg.optim.lr_scheduler against torch.optim.lr_scheduler: the get_last_lr() sequences, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import lr_scheduler

torch = pytest.importorskip("torch")

EPOCHS = 40
GROUP_LRS = (0.1, 0.03)

SCHEDULERS = [
    ("StepLR", {"step_size": 7}),
    ("StepLR", {"step_size": 3, "gamma": 0.7}),
    ("MultiStepLR", {"milestones": [4, 10, 10, 25], "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("LambdaLR", {"lr_lambda": lambda t: 1.0 / (1.0 + 0.3 * t)}),
    ("LambdaLR", {"lr_lambda": [lambda t: 0.95**t, lambda t: 1.0 - 0.02 * t]}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 30}),
    ("LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 12}),
    ("CosineAnnealingLR", {"T_max": 15}),
    ("CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}),
]


def scheduler_id(config: tuple[str, dict]) -> str:
    name, options = config
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items() if k != "lr_lambda")


def optimizers():
    """The same two-group SGD in both libraries (no gradients: only the rates move)."""
    ours = optim.SGD([{"params": [tg.Tensor([1.0], requires_grad=True)], "lr": lr} for lr in GROUP_LRS])
    theirs = torch.optim.SGD([{"params": [torch.ones(1, requires_grad=True)], "lr": lr} for lr in GROUP_LRS])
    return ours, theirs


def lr_sequence(opt, scheduler, epochs: int = EPOCHS, metrics=None) -> list[list[float]]:
    """get_last_lr() after construction and after each epoch (optimizer.step() first, as PyTorch wants)."""
    rates = [scheduler.get_last_lr()]
    for epoch in range(epochs):
        opt.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        rates.append(scheduler.get_last_lr())
        assert [group["lr"] for group in opt.param_groups] == rates[-1]
    return rates


@pytest.mark.parametrize("config", SCHEDULERS, ids=scheduler_id)
def test_scheduler_matches_torch(config):
    name, options = config
    ours, theirs = optimizers()
    expected = lr_sequence(theirs, getattr(torch.optim.lr_scheduler, name)(theirs, **options))
    actual = lr_sequence(ours, getattr(lr_scheduler, name)(ours, **options))
    assert actual == expected  # the same floating-point operations in the same order: equal, not close
    assert len({tuple(r) for r in actual}) > 3  # the schedule really moved


PLATEAU_METRICS = [1.0, 0.9, 0.8, 0.8, 0.8, 0.8, 0.79999, 0.7, 0.7, 0.71, 0.72, 0.73, 0.6, 0.6, 0.6, 0.6,
                   0.6, 0.5, 0.4, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3,
                   0.29, 0.28, 0.28, 0.28, 0.28, 0.28, 0.28]
PLATEAU_CONFIGS = [
    {"patience": 4},
    {"patience": 2},
    {"patience": 1, "factor": 0.5, "cooldown": 2},
    {"patience": 0, "factor": 0.5, "threshold": 0.05, "threshold_mode": "abs"},
    {"patience": 1, "factor": 0.3, "min_lr": 0.005},
    {"patience": 1, "factor": 0.3, "min_lr": [0.01, 0.001], "eps": 1e-3},
    {"mode": "max", "patience": 1, "factor": 0.5},
    {"mode": "max", "patience": 2, "threshold": 0.02, "threshold_mode": "abs", "cooldown": 1},
]


@pytest.mark.parametrize("options", PLATEAU_CONFIGS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_reduce_lr_on_plateau_matches_torch(options):
    metrics = [-m for m in PLATEAU_METRICS] if options.get("mode") == "max" else PLATEAU_METRICS
    ours, theirs = optimizers()
    expected = lr_sequence(theirs, torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options), metrics=metrics)
    actual = lr_sequence(ours, lr_scheduler.ReduceLROnPlateau(ours, **options), metrics=metrics)
    assert actual == expected
    assert actual[-1] != actual[0]  # the plateaus did reduce the rate


def test_reduce_lr_on_plateau_accepts_a_tensor_metric():
    ours, _ = optimizers()
    scheduler = lr_scheduler.ReduceLROnPlateau(ours, patience=0)
    scheduler.step(tg.tensor(1.0))
    scheduler.step(tg.tensor(2.0))
    assert scheduler.get_last_lr() == pytest.approx([0.01, 0.003])


def test_cosine_annealing_recursion_agrees_with_the_closed_form():
    ours, _ = optimizers()
    T_max, eta_min = 15, 0.002
    rates = np.array(lr_sequence(ours, lr_scheduler.CosineAnnealingLR(ours, T_max=T_max, eta_min=eta_min), 30))
    t = np.arange(31)[:, None]
    closed = eta_min + (np.array(GROUP_LRS) - eta_min) * (1 + np.cos(np.pi * t / T_max)) / 2
    np.testing.assert_allclose(rates, closed, rtol=1e-12, atol=1e-15)


SAVED = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [5, 12, 30]}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("LambdaLR", {"lr_lambda": lr_scheduler.time_based_decay(0.02)}),
    ("LinearLR", {"start_factor": 0.5, "total_iters": 25}),
    ("CosineAnnealingLR", {"T_max": 12}),
    ("ReduceLROnPlateau", {"patience": 1, "factor": 0.5, "cooldown": 1}),
]


@pytest.mark.parametrize("config", SAVED, ids=scheduler_id)
def test_state_dict_saved_mid_schedule_resumes_identically(config, tmp_path):
    name, options = config
    metrics = PLATEAU_METRICS if name == "ReduceLROnPlateau" else None
    ours, _ = optimizers()
    scheduler = getattr(lr_scheduler, name)(ours, **options)
    uninterrupted = lr_sequence(ours, scheduler, metrics=metrics)
    ours, _ = optimizers()
    scheduler = getattr(lr_scheduler, name)(ours, **options)
    lr_sequence(ours, scheduler, 15, metrics=metrics)
    tg.save({"optimizer": ours.state_dict(), "scheduler": scheduler.state_dict()}, tmp_path / "s.safetensors")
    checkpoint = tg.load(tmp_path / "s.safetensors")

    fresh, _ = optimizers()
    fresh_scheduler = getattr(lr_scheduler, name)(fresh, **options)  # construct first, then load (as PyTorch)
    fresh.load_state_dict(checkpoint["optimizer"])
    fresh_scheduler.load_state_dict(checkpoint["scheduler"])
    assert fresh_scheduler.get_last_lr() == uninterrupted[15]
    rest = lr_sequence(fresh, fresh_scheduler, EPOCHS - 15, metrics=metrics[15:] if metrics else None)
    assert rest == uninterrupted[15:]


def test_lambda_lr_state_dict_leaves_out_the_functions():
    ours, _ = optimizers()
    state = lr_scheduler.LambdaLR(ours, lambda t: 0.5**t).state_dict()
    assert "lr_lambdas" not in state and state["base_lrs"] == list(GROUP_LRS) and state["last_epoch"] == 0


def test_resuming_with_last_epoch_needs_initial_lr():
    ours, _ = optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(ours, step_size=3, last_epoch=5)


def test_bad_scheduler_arguments_raise():
    ours, _ = optimizers()
    with pytest.raises(TypeError, match="StepLR: list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=1)
    with pytest.raises(TypeError, match="LambdaLR: list is not an Optimizer"):
        lr_scheduler.LambdaLR([], lambda t: 1.0)
    with pytest.raises(TypeError, match="ReduceLROnPlateau: list is not an Optimizer"):
        lr_scheduler.ReduceLROnPlateau([])
    with pytest.raises(ValueError, match="LinearLR: start_factor"):
        lr_scheduler.LinearLR(ours, start_factor=0.0)
    with pytest.raises(ValueError, match="LinearLR: end_factor"):
        lr_scheduler.LinearLR(ours, end_factor=1.5)
    with pytest.raises(ValueError, match="LambdaLR: expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(ours, [lambda t: 1.0])
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor"):
        lr_scheduler.ReduceLROnPlateau(ours, factor=1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode"):
        lr_scheduler.ReduceLROnPlateau(ours, mode="lowest")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: threshold_mode"):
        lr_scheduler.ReduceLROnPlateau(ours, threshold_mode="percent")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: expected 2 min_lrs"):
        lr_scheduler.ReduceLROnPlateau(ours, min_lr=[0.1])


def test_exponential_lr_is_eta_gamma_to_the_t():
    ours, _ = optimizers()
    rates = lr_sequence(ours, lr_scheduler.ExponentialLR(ours, gamma=0.9), 30)
    t = np.arange(31)
    for group, eta in enumerate(GROUP_LRS):
        np.testing.assert_allclose([r[group] for r in rates], eta * 0.9**t, rtol=1e-13)
    assert math.isclose(rates[30][0], 0.1 * 0.9**30, rel_tol=1e-13)
