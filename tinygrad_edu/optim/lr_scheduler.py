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

import bisect
import math
import types
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .optimizer import Optimizer

EPOCH_DEPRECATION_WARNING = (  # PyTorch's text, word for word
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. Please "
    "use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. Please open an issue if you are "
    "unable to replicate your use case: https://github.com/pytorch/pytorch/issues/new/choose."
)


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
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's own step, to t = last_epoch + 1 (schedules that resume must not advance twice)."""
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rate of every parameter group at epoch ``last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr")

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch: t ← t + 1 and every ``group["lr"]`` ← η_t.

        ``step(epoch)`` (deprecated in PyTorch, which warns; so does this) sets t = ``epoch``
        instead and uses the closed form η_t where the schedule has one (else ``get_lr``).
        """
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        """Set every ``group["lr"]`` to η_t for t = last_epoch + 1, or for t = ``epoch``.

        Jumping to a given epoch uses the schedule's closed form (``_get_closed_form_lr``) where it
        has one, as PyTorch does: the recursive form only knows how to go one epoch forward.
        ``SequentialLR`` jumps its schedules to epoch 0 at each milestone this way.
        """
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
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


class _FunctionSchedule(LRScheduler):
    """A schedule driven by given functions of the epoch (one per group, or one for all): LambdaLR, MultiplicativeLR.

    The functions are code, given again to the constructor when resuming. Like PyTorch's,
    ``state_dict`` keeps the attributes of functions that are callable objects, under
    ``lr_lambdas`` (one entry per group, None for a plain function; restored into the new objects
    on loading); with only plain functions it leaves the key out, so the dict stays saveable
    by ``tg.save``.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = _one_per_group(self, optimizer, lr_lambda, "lr_lambdas")
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"{type(self).__name__}: lr_lambda must be callable, got {type(f).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """As the base class; the functions as None (plain functions) or their attributes (callable objects)."""
        state = {key: value for key, value in super().state_dict().items() if key != "lr_lambdas"}
        attributes = [None if isinstance(f, types.FunctionType) else dict(vars(f)) for f in self.lr_lambdas]
        if any(a is not None for a in attributes):
            state["lr_lambdas"] = attributes
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (PyTorch's too), keeping this scheduler's functions."""
        self.__dict__.update({key: value for key, value in state_dict.items() if key != "lr_lambdas"})
        for f, attributes in zip(self.lr_lambdas, state_dict.get("lr_lambdas", [])):
            if attributes is not None:
                vars(f).update(attributes)


class LambdaLR(_FunctionSchedule):
    """η_t = η₀ · f(t) for a given function f (one per group, or one for all)."""

    def get_lr(self) -> list[float]:
        return [base_lr * f(self.last_epoch) for f, base_lr in zip(self.lr_lambdas, self.base_lrs)]  # η₀ f(t)


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

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


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

    def _get_closed_form_lr(self) -> list[float]:
        passed = sum(count for milestone, count in self.milestones.items() if milestone <= self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Exponential decay η_t = η₀ γᵗ, computed as η_t = γ η_{t−1}."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]         # η_t = γ η_{t−1}

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


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

    def _get_closed_form_lr(self) -> list[float]:
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(T, self.last_epoch) / T) for base in self.base_lrs]


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

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """η_t = η₀ · factor for t < total_iters, then η₀: a constant warm-up level.

    Computed as PyTorch does: multiply by ``factor`` at t = 0 and by 1/factor at t = total_iters.
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]          # η_0 = η₀ factor
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]      # back to η₀ at total_iters

    def _get_closed_form_lr(self) -> list[float]:
        done = self.last_epoch >= self.total_iters
        return [base * (self.factor + done * (1 - self.factor)) for base in self.base_lrs]


class MultiplicativeLR(_FunctionSchedule):
    """η_t = η_{t−1} · f(t) for t ≥ 1 (η_0 = η₀): multiply by a given function's factor every epoch."""

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * f(self.last_epoch) for f, lr in zip(self.lr_lambdas, self._current_lrs())]  # η_{t−1} f(t)


class PolynomialLR(LRScheduler):
    """η_t = η₀ · (1 − min(t, T) / T)^p: polynomial decay to 0 over T = ``total_iters`` epochs.

    Computed as PyTorch does, recursively: η_t = η_{t−1} · ((1 − t/T) / (1 − (t − 1)/T))^p for t ≤ T.
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T = self.last_epoch, self.total_iters
        if self._is_initial or t > T:
            return self._current_lrs()
        decay_factor = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [lr * decay_factor for lr in self._current_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        T = self.total_iters
        return [base * (1.0 - min(T, self.last_epoch) / T) ** self.power for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""SGDR (Loshchilov & Hutter 2017): cosine annealing that restarts from η₀ every T_i epochs.

        η_t = η_min + (η₀ − η_min) (1 + cos(π T_cur / T_i)) / 2

    T_cur counts the epochs since the last restart; the first period is T_i = T_0 and each
    restart multiplies it by T_mult. ``step(epoch)`` may be given a fractional epoch (e.g.
    ``epoch + i / iters_per_epoch`` inside an epoch), from which T_cur and T_i are recomputed.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_0 must be a positive integer, got {T_0}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"CosineAnnealingWarmRestarts: eta_min must be a number, got {type(eta_min).__name__}")
        self.T_0, self.T_i, self.T_mult = T_0, T_0, T_mult
        self.eta_min = eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:  # type: ignore[override]
        """Advance one epoch, or jump to ``epoch`` (which may be fractional)."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:                                # restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got {epoch}")
        elif epoch >= self.T_0 and self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        elif epoch >= self.T_0:  # n restarts so far: T_0 (1 + T_mult + … + T_mult^(n−1)) ≤ epoch
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**n
        else:
            self.T_i = self.T_0
            self.T_cur = epoch
        self._update_lr(math.floor(epoch))  # no closed form: get_lr() at the new T_cur and T_i


def _set_momentum(optimizer: Optimizer, group: dict[str, Any], momentum: float) -> None:
    """Write a cycled momentum: β₁ of optimisers with ``betas`` (Adam...), else ``momentum`` (SGD, RMSprop)."""
    if "betas" in optimizer.defaults:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _init_cycled_momentum(scheduler: LRScheduler, optimizer: Optimizer, base_momentum: Any, max_momentum: Any,
                          last_epoch: int) -> tuple[list[float], list[float]]:
    """CyclicLR's and OneCycleLR's momentum set-up: (base_momentums, max_momentums), momentum ← max at the start."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"{type(scheduler).__name__}: cycle_momentum needs an optimiser with momentum or betas")
    base_momentums = _one_per_group(scheduler, optimizer, base_momentum, "base_momentum")
    max_momentums = _one_per_group(scheduler, optimizer, max_momentum, "max_momentum")
    if last_epoch == -1:
        for base, top, group in zip(base_momentums, max_momentums, optimizer.param_groups):
            _set_momentum(optimizer, group, top)
            group["max_momentum"], group["base_momentum"] = top, base
    return base_momentums, max_momentums


class CyclicLR(LRScheduler):
    r"""Cyclical learning rates (Smith 2017): η goes from base_lr up to max_lr and back, every cycle.

    With c = ⌊1 + t / (up + down)⌋ the cycle and x = 1 + t / (up + down) − c ∈ [0, 1) the
    position in it, the rise is s = x / r for x ≤ r, the fall s = (x − 1) / (r − 1) after,
    r = up / (up + down), and
        η_t = base_lr + (max_lr − base_lr) · s · scale(c or t)
    scale: 1 ("triangular"), 1/2^(c−1) ("triangular2", halved each cycle), γᵗ ("exp_range"), or
    a given ``scale_fn`` of the cycle or of t (``scale_mode``). With ``cycle_momentum`` the
    momentum (or β₁) moves the opposite way, from max_momentum down to base_momentum.
    Call ``step()`` after every batch, not every epoch.
    """

    def __init__(self, optimizer: Optimizer, base_lr: float | Sequence[float], max_lr: float | Sequence[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float = 0.8, max_momentum: float = 0.9,
                 last_epoch: int = -1) -> None:
        base_lrs = _one_per_group(self, optimizer, base_lr, "base_lr")
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _one_per_group(self, optimizer, max_lr, "max_lr")
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' (or give a "
                             f"scale_fn), got {mode!r}")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums, self.max_momentums = _init_cycled_momentum(self, optimizer, base_momentum,
                                                                            max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude's scale at cycle (or iteration) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)     # c
        x = 1.0 + self.last_epoch / self.total_size - cycle           # position in the cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio                        # rising
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)            # falling
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, base, top in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(self.optimizer, group, top - (top - base) * scale_factor * scale)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As the base class, without a custom scale function (code: given again when resuming)."""
        return {key: value for key, value in super().state_dict().items() if key != "_scale_fn_custom"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (PyTorch's too), keeping this scheduler's scale function."""
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in ("_scale_fn_custom", "_scale_fn_ref")})


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin 2019): warm up to max_lr, then anneal far below the start.

    Phases over T = total_steps steps (p = pct_start):
        0 … pT − 1:            η from max_lr / div_factor up to max_lr
        pT − 1 … T − 1:        η from max_lr down to max_lr / (div_factor · final_div_factor)
    (three_phase: up over pT − 1 steps, back down to the start by 2pT − 2, then to the minimum).
    Within a phase from a to b at fraction f of it: "cos" a + (b − a)(1 − cos πf)/2 (written
    b + (a − b)(1 + cos πf)/2), "linear" a + (b − a) f. Momentum (or β₁) moves the opposite way
    between max_momentum and base_momentum. Call ``step()`` after every batch.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85, max_momentum: float | Sequence[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(value, int) or value <= 0:
                    raise ValueError(f"OneCycleLR: {name} must be a positive integer, got {value}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be a float in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self._anneal_func_type = anneal_strategy
        up_end = float(pct_start * self.total_steps) - 1
        if three_phase:  # each phase's last step, and the group keys of the values it goes from and to
            phases = [(up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                       "max_momentum"),
                      (self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            phases = [(up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                      (self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        keys = ("end_step", "start_lr", "end_lr", "start_momentum", "end_momentum")  # PyTorch's state layout
        self._schedule_phases = [dict(zip(keys, phase)) for phase in phases]
        max_lrs = _one_per_group(self, optimizer, max_lr, "max_lr")
        if last_epoch == -1:
            for top, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = "betas" in optimizer.defaults
            _init_cycled_momentum(self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)          # fraction f of this phase
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        _set_momentum(self.optimizer, group,
                                      self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct))
                    break
                start_step = end_step
        return lrs


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

    def step(self, metrics: float, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's monitored value and reduce the rates if it has plateaued
        (``epoch``, deprecated as in PyTorch: sets the epoch counter instead of adding 1)."""
        current = float(metrics)
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
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


def _check_schedulers(scheduler: LRScheduler, schedulers: Sequence[Any], optimizer: Optimizer) -> None:
    """SequentialLR's and ChainedScheduler's checks: at least one, none a ReduceLROnPlateau, one optimiser."""
    name = type(scheduler).__name__
    if len(schedulers) < 1:
        raise ValueError(f"{name}: expected at least one scheduler")
    for i, inner in enumerate(schedulers):
        if not hasattr(inner, "optimizer"):
            raise TypeError(f"{name}: the scheduler at index {i} has no optimizer")
        if isinstance(inner, ReduceLROnPlateau):
            raise ValueError(f"{name}: ReduceLROnPlateau (index {i}) cannot be combined, its step needs a metric")
        if inner.optimizer is not optimizer:
            raise ValueError(f"{name}: the scheduler at index {i} ({type(inner).__name__}) "
                             f"belongs to another optimizer")


class _ScheduleOfSchedules(LRScheduler):
    """SequentialLR's and ChainedScheduler's base: a schedule run by the schedulers in ``_schedulers``,
    whose ``state_dict``s its own holds."""

    _schedulers: list[LRScheduler]

    def state_dict(self) -> dict[str, Any]:
        """Its counters and every inner scheduler's ``state_dict``."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [inner.state_dict() for inner in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``, the inner schedulers' too."""
        self.__dict__.update({key: value for key, value in state_dict.items() if key != "_schedulers"})
        for inner, inner_state in zip(self._schedulers, state_dict["_schedulers"]):
            inner.load_state_dict(inner_state)


class SequentialLR(_ScheduleOfSchedules):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` until ``milestones[1]``, ….

    At a milestone the next schedule starts from its own epoch 0 (computed by its closed form
    from its base rates). As PyTorch, the constructor first undoes the steps the inner
    schedulers' constructors took (each is one epoch behind afterwards) and restarts the first.
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        _check_optimizer(self, optimizer)
        _check_schedulers(self, schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestones (one fewer than schedulers), "
                             f"got {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for inner in self._schedulers:  # undo the step each constructor took
            _undo_step(inner)
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        """Advance one epoch with the schedule whose turn it is (restarted at its epoch 0 on a milestone)."""
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


def _undo_step(scheduler: Any) -> None:
    """last_epoch ← last_epoch − 1, through nested SequentialLR / ChainedScheduler."""
    if hasattr(scheduler, "_schedulers"):
        for inner in scheduler._schedulers:
            _undo_step(inner)
    elif hasattr(scheduler, "last_epoch"):
        scheduler.last_epoch -= 1


class ChainedScheduler(_ScheduleOfSchedules):
    """Step several schedules of one optimiser together: each ``step()`` steps them all, in order.

    The recursive schedules then compose: e.g. ConstantLR then ExponentialLR multiply their factors.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler: expected at least one scheduler")
        optimizer = optimizer or schedulers[0].optimizer
        _check_schedulers(self, schedulers, optimizer)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self) -> None:
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()
