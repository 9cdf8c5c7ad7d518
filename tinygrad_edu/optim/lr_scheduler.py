"""Learning-rate schedules η_t, as ``torch.optim.lr_scheduler`` computes them.

A scheduler rewrites ``group["lr"]`` of its optimiser each time ``step()`` is called (once
per epoch, after ``optimizer.step()``). Epoch t = ``last_epoch`` counts those calls; the
constructor already performs the step to t = 0. The schedules of the source documents:

    fixed learning rate       η_t = η                 (no scheduler, or LambdaLR(opt, lambda t: 1.0))
    exponential decay         η_t = η γᵗ              ExponentialLR(opt, gamma=γ)
    time-based (linear) decay η_t = η (1 − α t)       LambdaLR(opt, time_based_decay(α)); or
                                                      LinearLR(opt, 1.0, 1 − α T, total_iters=T) for t ≤ T

Like PyTorch, most schedules are computed recursively from the current ``group["lr"]``
(η_t = γ η_{t−1} rather than η γᵗ), so that they compose with other changes to the rate;
the tests compare with PyTorch's sequence exactly and with the closed forms to rounding.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .optimizer import Optimizer


class LRScheduler:
    """Base class: ``base_lrs`` (each group's initial lr), ``last_epoch``, ``step()``, ``get_last_lr()``.

    Subclasses implement ``get_lr()``: the rates for epoch ``last_epoch``, computed when
    ``step()`` has just advanced it. Pass ``last_epoch`` only to resume (the groups must then
    hold ``"initial_lr"``, as a loaded optimiser state does).
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(self, optimizer)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' to resume from "
                               f"(last_epoch={last_epoch}); load the optimiser's state first")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the constructor's own step (schedules that resume must not advance twice)
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rate of every parameter group at epoch ``last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr")

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch: t ← t + 1 and every ``group["lr"]`` ← η_t."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything the scheduler knows except the optimiser (numbers and lists, saveable)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``."""
        self.__dict__.update(state_dict)


def _check_optimizer(scheduler: LRScheduler, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(scheduler).__name__}: {type(optimizer).__name__} is not an Optimizer")


def _one_per_group(scheduler: LRScheduler, optimizer: Optimizer, value: Any, name: str) -> list[Any]:
    """``value`` for every parameter group: a list or tuple is checked to have one entry per group."""
    _check_optimizer(scheduler, optimizer)
    n_groups = len(optimizer.param_groups)
    if not isinstance(value, (list, tuple)):
        return [value] * n_groups
    if len(value) != n_groups:
        raise ValueError(f"{type(scheduler).__name__}: expected {n_groups} {name} (one per group), got {len(value)}")
    return list(value)


def time_based_decay(alpha: float) -> Callable[[int], float]:
    """The factor of time-based decay for ``LambdaLR``: t ↦ 1 − α t, so η_t = η (1 − α t).

    Keep α t < 1 over the epochs you train (the rate reaches 0 at t = 1/α).
    """
    return lambda epoch: 1.0 - alpha * epoch


class LambdaLR(LRScheduler):
    """η_t = η₀ · f(t) for a given function f (one per group, or one for all).

    Only the schedule's counters are saved in ``state_dict``; the functions are code and are
    given again to the constructor when resuming (PyTorch saves the attributes of callable
    objects, and nothing for plain functions).
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _one_per_group(self, optimizer, lr_lambda, "lr_lambdas")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]  # η₀ f(t)

    def state_dict(self) -> dict[str, Any]:
        """As the base class, without the functions."""
        return {key: value for key, value in super().state_dict().items() if key != "lr_lambdas"}


class StepLR(LRScheduler):
    """η_t = η₀ · γ^⌊t / step_size⌋: multiply by γ every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]        # η_t = γ η_{t−1} at multiples of step_size


class MultiStepLR(LRScheduler):
    """η_t = η₀ · γ^(number of milestones ≤ t): multiply by γ at each listed epoch."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = dict(Counter(milestones))  # a milestone listed twice multiplies by γ²
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Exponential decay η_t = η₀ γᵗ, computed as η_t = γ η_{t−1}."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]         # η_t = γ η_{t−1}


class LinearLR(LRScheduler):
    """η_t = η₀ · (s + (e − s) · min(t, T) / T): the factor moves linearly from s to e over T epochs.

    s = ``start_factor``, e = ``end_factor``, T = ``total_iters``. Computed, as PyTorch does,
    as η_t = η_{t−1} · (1 + (e − s) / (T s + (t − 1)(e − s))). With s = 1 and e = 1 − α T it is
    the time-based decay η_t = η₀ (1 − α t) for t ≤ T.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        s, e, T, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        if t == 0:
            return [lr * s for lr in self._current_lrs()]              # η_0 = η₀ s
        if self._is_initial or t > T:
            return self._current_lrs()
        return [lr * (1.0 + (e - s) / (T * s + (t - 1) * (e - s))) for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from η₀ down to η_min over T_max epochs (SGDR without restarts).

    Closed form:  η_t = η_min + (η₀ − η_min) (1 + cos(π t / T_max)) / 2.
    Computed as PyTorch does, recursively (so it composes with other changes to the rate):
        η_t = η_min + (η_{t−1} − η_min) · (1 + cos(π t / T_max)) / (1 + cos(π (t − 1) / T_max)),
    which agrees with the closed form up to rounding; after T_max the rate rises again
    (a cosine of period 2 T_max).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # first step after resuming: the closed form
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # at the bottom of the cosine the ratio below would be 0/0
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta_min) + eta_min
                for lr in self._current_lrs()]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a monitored value stops improving.

    ``step(metric)`` once per epoch. The value improves on the best so far ``best`` when
        mode "min", threshold_mode "rel":  metric < best · (1 − threshold)
        mode "min", threshold_mode "abs":  metric < best − threshold
        mode "max", threshold_mode "rel":  metric > best · (1 + threshold)
        mode "max", threshold_mode "abs":  metric > best + threshold
    After more than ``patience`` epochs in a row without improvement each group's rate
    becomes max(lr · factor, min_lr) (ignored if that changes it by no more than ``eps``),
    then ``cooldown`` epochs pass in which bad epochs are not counted.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.min_lrs = _one_per_group(self, optimizer, min_lr, "min_lrs")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record this epoch's monitored value and reduce the rates if it has plateaued."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _is_better(self, metric: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return metric < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return metric < self.best - self.threshold
        if self.threshold_mode == "rel":
            return metric > self.best * (self.threshold + 1.0)
        return metric > self.best + self.threshold

    def _reduce_lr(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)                  # η ← max(η · factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr
