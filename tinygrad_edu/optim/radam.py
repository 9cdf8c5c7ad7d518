"""RAdam (Liu et al. 2020): Adam with a rectified adaptive learning rate, step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_adam_options, torch_flags
from .optimizer import Optimizer, ParamGroup, Params


class RAdam(Optimizer):
    r"""RAdam: Adam that falls back to momentum SGD while the variance of v_t is too uncertain to use.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight_decay), ε (eps),
           decoupled_weight_decay, maximize
    initialize: m₀ ← 0 (first moment), v₀ ← 0 (second moment), ρ_∞ ← 2/(1 − β₂) − 1
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ ≠ 0:
            if decoupled_weight_decay:  θ_{t−1} ← θ_{t−1} − γ λ θ_{t−1}
            else:                       g_t ← g_t + λ θ_{t−1}
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t ← m_t / (1 − β₁ᵗ)
        ρ_t ← ρ_∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)
        if ρ_t > 5:
            l_t ← √(1 − β₂ᵗ) / (√v_t + ε)
            r_t ← √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
            θ_t ← θ_{t−1} − γ m̂_t r_t l_t
        else:
            θ_t ← θ_{t−1} − γ m̂_t

    ρ_t is the length of the simple moving average that v_t approximates; r_t rescales the
    adaptive step so that its variance is that of a long average. With the default β₂ = 0.999,
    ρ_t > 5 from t = 6 on. The product is formed in PyTorch's order ((m̂_t γ) l_t) r_t.

    The step runs as ``backend.radam_update``: ``backend/numpy_ref.py`` writes each line above in
    NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    **torch_flags(foreach, capturable, differentiable)}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_adam_options(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0.0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        beta1, beta2 = group["betas"]
        state["step"] += 1
        t = state["step"]                                            # t ← t + 1
        bias_correction1, bias_correction2 = 1 - beta1**t, 1 - beta2**t
        rho_inf = 2 / (1 - beta2) - 1                                # ρ_∞
        rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2      # ρ_t ← ρ_∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)
        rect = None
        if rho_t > 5.0:                                              # r_t
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        backend.radam_update(param, grad, state["exp_avg"], state["exp_avg_sq"], group["lr"], beta1, beta2,
                             group["eps"], group["weight_decay"], group["decoupled_weight_decay"], group["maximize"],
                             bias_correction1, bias_correction2, rect)
