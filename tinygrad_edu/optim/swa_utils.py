"""Weight averaging, as ``torch.optim.swa_utils``: SWA (Izmailov et al. 2018) and EMA of a model's weights.

    swa_model = AveragedModel(model)                     # a copy whose weights are an average
    scheduler = SWALR(optimizer, swa_lr=0.05)            # anneal to a constant rate for the SWA phase
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        if epoch >= swa_start:
            swa_model.update_parameters(model)           # θ_avg ← running mean of the θ seen so far
            scheduler.step()
    update_bn(loader, swa_model)                         # BatchNorm statistics for the averaged weights

The averages, after n models have been averaged (θ_i the i-th model's weights):
    SWA (default)  θ_avg ← θ_avg + (θ − θ_avg) / (n + 1)      = the mean of θ_1 … θ_{n+1}
    EMA            θ_avg ← d θ_avg + (1 − d) θ                 (``get_ema_multi_avg_fn(d)``)
The first call copies θ. The ``*_multi_avg_fn`` forms update a list of arrays in place (PyTorch's
foreach lerp), the ``*_avg_fn`` forms return the new value of one; they round differently, as in
PyTorch. Average functions receive tensors (no gradient tracking) and n as a Python int.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..backend.numpy_ref import lerp_
from ..nn.module import Module
from ..nn.normalization import _BatchNorm, _InstanceNorm
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _one_per_group
from .optimizer import Optimizer

AvgFn = Callable[[Tensor, Tensor, int], Tensor]           # (θ_avg, θ, n) ↦ new θ_avg
MultiAvgFn = Callable[[list[Tensor], list[Tensor], int], None]  # updates the θ_avg list in place


def _lerp_or_blend(averaged: list[Tensor], current: list[Tensor], weight: float) -> None:
    """θ_avg ← θ_avg + w (θ − θ_avg) on each pair, in place: ``lerp_`` for floats, a blend for integers."""
    for avg, cur in zip(averaged, current):
        if avg.data.dtype.kind == "f":
            lerp_(avg.data, cur.data, weight)
        else:  # integer buffers (BatchNorm's num_batches_tracked with use_buffers): rounded toward zero
            avg.data[...] = avg.data * (1 - weight) + cur.data * weight


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """The in-place EMA update θ_avg ← d θ_avg + (1 − d) θ (``lerp`` with weight 1 − d), for ``multi_avg_fn``."""
    _check_decay(decay)

    def ema_update(ema_params: list[Tensor], current_params: list[Tensor], num_averaged: int) -> None:
        _lerp_or_blend(ema_params, current_params, 1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """The in-place SWA update θ_avg ← θ_avg + (θ − θ_avg) / (n + 1) (``lerp`` with weight 1/(n + 1))."""

    def swa_update(averaged_params: list[Tensor], current_params: list[Tensor], num_averaged: int) -> None:
        # PyTorch divides its int64 counter, which gives the weight as a tensor of its default dtype, float32
        _lerp_or_blend(averaged_params, current_params, float(np.float32(1 / (num_averaged + 1))))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """The EMA of one tensor, d θ_avg + (1 − d) θ, for ``avg_fn``."""
    _check_decay(decay)
    return lambda ema_param, current_param, num_averaged: decay * ema_param + (1 - decay) * current_param


def get_swa_avg_fn() -> AvgFn:
    """The running mean of one tensor, θ_avg + (θ − θ_avg) / (n + 1), for ``avg_fn``."""
    return lambda averaged, current, num_averaged: averaged + (current - averaged) / (num_averaged + 1)


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"EMA: decay must be in [0, 1], got {decay}")


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and, with ``use_buffers``, buffers) are an average.

    ``update_parameters(model)`` folds the model's current weights into the average: the
    first call copies them; later calls apply ``avg_fn`` (one tensor at a time, returning the
    new value) or ``multi_avg_fn`` (a list per dtype, in place); without either, the running
    mean (SWA). ``n_averaged`` (an int64 buffer) counts the calls. Without ``use_buffers`` the
    buffers (BatchNorm statistics) are copied from the model, and ``update_bn`` recomputes
    them for the averaged weights. ``forward`` is the copy's forward.
    """

    def __init__(self, model: Module, device: Any = None, avg_fn: AvgFn | None = None,
                 multi_avg_fn: MultiAvgFn | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give avg_fn or multi_avg_fn, not both")
        if device not in (None, "cpu"):
            raise ValueError(f"AveragedModel: only the CPU is supported, got device={device!r}")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", Tensor._make(np.zeros((), dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The averaged copy's output."""
        return self.module(*args, **kwargs)

    def _averaged_tensors(self, model: Module) -> tuple[list[Tensor], list[Tensor]]:
        """The (averaged, current) tensors that take part: parameters, then buffers with ``use_buffers``."""
        if self.use_buffers:
            return (list(itertools.chain(self.module.parameters(), self.module.buffers())),
                    list(itertools.chain(model.parameters(), model.buffers())))
        return list(self.module.parameters()), list(model.parameters())

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average; n_averaged ← n_averaged + 1."""
        averaged, current = self._averaged_tensors(model)
        n = int(self.n_averaged.data)
        with no_grad():
            if n == 0:
                for avg, cur in zip(averaged, current):
                    avg.data[...] = cur.data                                  # θ_avg ← θ (first model)
            elif self.multi_avg_fn is not None:
                for group_avg, group_cur in _group_by_dtype(averaged, current):
                    self.multi_avg_fn(group_avg, group_cur, n)
            else:  # without avg_fn the running mean (SWA), one tensor at a time as PyTorch on a CPU
                avg_fn = self.avg_fn if self.avg_fn is not None else get_swa_avg_fn()
                for avg, cur in zip(averaged, current):
                    avg.data[...] = _as_array(avg_fn(_detached(avg), _detached(cur), n))
            if not self.use_buffers:
                for avg_buffer, model_buffer in zip(self.module.buffers(), model.buffers()):
                    avg_buffer.data[...] = model_buffer.data
        self.n_averaged.data[...] += 1


def _detached(t: Tensor) -> Tensor:
    """A tensor sharing ``t``'s data, outside any graph (what PyTorch's ``.detach()`` gives an avg_fn)."""
    return Tensor._make(t.data)


def _as_array(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _group_by_dtype(averaged: list[Tensor], current: list[Tensor]) -> list[tuple[list[Tensor], list[Tensor]]]:
    """The pairs split by dtype, in order of first appearance (as PyTorch groups them for foreach)."""
    groups: dict[np.dtype, tuple[list[Tensor], list[Tensor]]] = {}
    for avg, cur in zip(averaged, current):
        group = groups.setdefault(avg.data.dtype, ([], []))
        group[0].append(_detached(avg))
        group[1].append(_detached(cur))
    return list(groups.values())


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute every BatchNorm's running mean and variance over ``loader`` (one pass, training mode).

    Each BatchNorm's statistics are reset and averaged with equal weights over the batches
    (momentum None: the cumulative mean), as the averaged weights need statistics of their
    own. A batch that is a list or tuple contributes its first element. Restores the
    momenta and the model's training mode afterwards.
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            model(batch[0] if isinstance(batch, (list, tuple)) else batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneal each group's rate from its current value to ``swa_lr`` over ``anneal_epochs``, then hold it.

    With s = the number of steps so far and α(u) = (1 − cos πu)/2 ("cos") or u ("linear"):
        η_s = swa_lr · α(u_s) + η̃ (1 − α(u_s)),   u_s = clip(s / anneal_epochs, 0, 1)
    where η̃ = (η_{s−1} − α(u_{s−1}) swa_lr) / (1 − α(u_{s−1})) is the starting rate recovered
    from the current one (PyTorch's recursive form; with anneal_epochs = 0 the rate jumps).
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        for lr, group in zip(_one_per_group(self, optimizer, swa_lr, "swa_lr"), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an integer >= 0, got {anneal_epochs}")
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _alpha(self, u: float) -> float:
        return (1 - math.cos(math.pi * u)) / 2 if self._anneal_strategy == "cos" else u

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._alpha(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self._alpha(max(0, min(1, step / max(1, self.anneal_epochs))))
        lrs = []
        for group in self.optimizer.param_groups:
            swa_lr = group["swa_lr"]
            start = swa_lr if prev_alpha == 1 else (group["lr"] - prev_alpha * swa_lr) / (1 - prev_alpha)   # η̃
            lrs.append(swa_lr * alpha + start * (1 - alpha))
        return lrs
