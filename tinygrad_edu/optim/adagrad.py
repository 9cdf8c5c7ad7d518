"""Adagrad (Duchi, Hazan & Singer 2011), step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_torch_flags
from .optimizer import Optimizer, ParamGroup, Params, check_non_negative


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients so far.

    input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight_decay),
           τ (initial_accumulator_value), η (lr_decay), ε (eps), maximize
    initialize: state_sum₀ ← τ
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        γ̃ ← γ / (1 + (t − 1) η)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
        state_sum_t ← state_sum_{t−1} + g_t²
        θ_t ← θ_{t−1} − γ̃ g_t / (√state_sum_t + ε)

    ``_update`` computes γ̃; the rest of the step runs as ``backend.adagrad_update``:
    ``backend/numpy_ref.py`` writes each line above in NumPy, csrc/optim.c does them all in one
    pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "eps": eps, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_non_negative(self, options, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
        check_torch_flags(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0.0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        state["step"] += 1
        t = state["step"]                                            # t ← t + 1
        lr_t = group["lr"] / (1 + (t - 1) * group["lr_decay"])       # γ̃ ← γ / (1 + (t − 1) η)
        backend.adagrad_update(param, grad, state["sum"], lr_t, group["eps"], group["weight_decay"], group["maximize"])
