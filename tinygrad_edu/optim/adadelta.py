"""Adadelta (Zeiler 2012), step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_torch_flags, torch_flags
from .optimizer import Optimizer, ParamGroup, Params, check_non_negative


class Adadelta(Optimizer):
    r"""Adadelta: a step whose size is the ratio of two running RMS values, of past steps and of gradients.

    input: γ (lr), θ₀ (params), f(θ) (objective), ρ (decay), λ (weight_decay), ε (eps), maximize
    initialize: v₀ ← 0 (square avg), u₀ ← 0 (accumulate variables)
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
        v_t ← ρ v_{t−1} + (1 − ρ) g_t²
        Δx_t ← √(u_{t−1} + ε) / √(v_t + ε) · g_t
        u_t ← ρ u_{t−1} + (1 − ρ) Δx_t²
        θ_t ← θ_{t−1} − γ Δx_t

    The ratio makes the step carry the units of θ (Zeiler's argument), so the paper has no
    learning rate; PyTorch keeps γ as a factor (default 1). State names as PyTorch's:
    ``square_avg`` (v) and ``acc_delta`` (u).

    The step runs as ``backend.adadelta_update``: ``backend/numpy_ref.py`` writes each line above in
    NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    **torch_flags(foreach, capturable, differentiable)}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_non_negative(self, options, "lr", "eps", "weight_decay")
        if not 0.0 <= options["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {options['rho']} (must be in [0, 1])")
        check_torch_flags(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0.0, "square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        state["step"] += 1                                           # t ← t + 1
        backend.adadelta_update(param, grad, state["square_avg"], state["acc_delta"], group["lr"], group["rho"],
                                group["eps"], group["weight_decay"], group["maximize"])
