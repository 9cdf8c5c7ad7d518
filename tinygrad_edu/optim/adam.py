"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_adam_options
from .optimizer import Optimizer, ParamGroup, Params


class Adam(Optimizer):
    r"""Adam: gradient steps scaled by running estimates of the gradient's first two moments.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight_decay),
           ε (eps), amsgrad, maximize
    initialize: m₀ ← 0 (first moment), v₀ ← 0 (second moment), v₀^max ← 0
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}        (AdamW instead: θ_{t−1} ← θ_{t−1} − γ λ θ_{t−1})
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t ← m_t / (1 − β₁ᵗ)
        if amsgrad:
            v_t^max ← max(v_{t−1}^max, v_t)
            v̂_t ← v_t^max / (1 − β₂ᵗ)
        else:
            v̂_t ← v_t / (1 − β₂ᵗ)
        θ_t ← θ_{t−1} − γ m̂_t / (√v̂_t + ε)

    The last line is computed in PyTorch's order, which rounds differently from a literal
    m̂_t/(√v̂_t + ε): denom = √v_t / √(1 − β₂ᵗ) + ε, step_size = γ / (1 − β₁ᵗ),
    θ_t ← θ_{t−1} − step_size · m_t / denom. ε is added after the bias correction (adding
    it before, as some teaching code does, is a different algorithm).

    The step runs as ``backend.adam_update``, given this step's bias corrections:
    ``backend/numpy_ref.py`` writes each line above in NumPy, csrc/optim.c does them all in one
    pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,  # (implementation flags: optim/_options.py)
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_adam_options(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        state: dict[str, Any] = {"step": 0.0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        state["step"] += 1
        t = state["step"]                                            # t ← t + 1
        backend.adam_update(param, grad, state["exp_avg"], state["exp_avg_sq"],
                            state["max_exp_avg_sq"] if group["amsgrad"] else None, lr, beta1, beta2, group["eps"],
                            group["weight_decay"], group["decoupled_weight_decay"], group["maximize"],
                            step_size=lr / (1 - beta1**t),                  # γ m̂_t = step_size · m_t
                            bias_correction2_sqrt=(1 - beta2**t) ** 0.5)    # √v̂_t = √v_t / √(1 − β₂ᵗ)


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), as ``torch.optim.AdamW``.

    Weight decay shrinks the parameters directly instead of being added to the gradient, so
    it does not pass through the moment estimates:

    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        θ_t ← θ_{t−1} − γ λ θ_{t−1}
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t ← m_t / (1 − β₁ᵗ)
        v̂_t ← v_t / (1 − β₂ᵗ)                  (v_t^max as in Adam if amsgrad)
        θ_t ← θ_t − γ m̂_t / (√v̂_t + ε)

    The update is ``Adam._update`` with ``decoupled_weight_decay=True``; the default λ is 1e-2.
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
