"""Adamax (Kingma & Ba 2015, section 7.1), step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_adam_options, torch_flags
from .optimizer import Optimizer, ParamGroup, Params


class Adamax(Optimizer):
    r"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight_decay), ε (eps), maximize
    initialize: m₀ ← 0 (first moment), u₀ ← 0 (infinity norm)
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        u_t ← max(β₂ u_{t−1}, |g_t| + ε)
        θ_t ← θ_{t−1} − γ m_t / ((1 − β₁ᵗ) u_t)

    u_t needs no bias correction (a maximum is not pulled towards its zero start the way an
    average is). ε sits inside the max, as in PyTorch, so u_t > 0. State names as PyTorch's:
    ``exp_avg`` (m) and ``exp_inf`` (u).

    The step runs as ``backend.adamax_update``: ``backend/numpy_ref.py`` writes each line above in
    NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    **torch_flags(foreach, capturable, differentiable)}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_adam_options(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0.0, "exp_avg": np.zeros_like(param), "exp_inf": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        beta1, beta2 = group["betas"]
        state["step"] += 1
        t = state["step"]                                            # t ← t + 1
        backend.adamax_update(param, grad, state["exp_avg"], state["exp_inf"], group["lr"], beta1, beta2,
                              group["eps"], group["weight_decay"], group["maximize"],
                              bias_correction1=1 - beta1**t)       # 1 − β₁ᵗ
