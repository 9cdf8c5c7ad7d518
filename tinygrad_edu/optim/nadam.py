"""NAdam (Dozat 2016): Adam with Nesterov momentum, step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._options import check_adam_options, restore_scalar_state, scalar_state, torch_flags
from .optimizer import Optimizer, ParamGroup, Params


class NAdam(Optimizer):
    r"""NAdam: Adam whose first moment looks one step ahead (Nesterov momentum), with a warming-up μ_t.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight_decay),
           ψ (momentum_decay), ε (eps), decoupled_weight_decay, maximize
    initialize: m₀ ← 0 (first moment), v₀ ← 0 (second moment), Π₀ ← 1 (mu_product)
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ ≠ 0:
            if decoupled_weight_decay:  θ_{t−1} ← θ_{t−1} − γ λ θ_{t−1}
            else:                       g_t ← g_t + λ θ_{t−1}
        μ_t ← β₁ (1 − ½ · 0.96^(t ψ))
        μ_{t+1} ← β₁ (1 − ½ · 0.96^((t+1) ψ))
        Π_t ← Π_{t−1} μ_t                       (Π_t = ∏_{i≤t} μ_i)
        m_t ← β₁ m_{t−1} + (1 − β₁) g_t
        v_t ← β₂ v_{t−1} + (1 − β₂) g_t²
        m̂_t ← μ_{t+1} m_t / (1 − Π_t μ_{t+1}) + (1 − μ_t) g_t / (1 − Π_t)
        v̂_t ← v_t / (1 − β₂ᵗ)
        θ_t ← θ_{t−1} − γ m̂_t / (√v̂_t + ε)

    With ψ = 0 every μ_t is β₁/2. decoupled_weight_decay = True is NAdamW (as AdamW is to Adam).
    The last line runs as PyTorch's two steps, one for each term of m̂_t (the g_t term first).
    Π_t is kept as PyTorch keeps ``mu_product``: a float32 0-d scalar (see _options.py), so its
    rounding, and with it the step, matches PyTorch's to the last bit in float64 too.

    The step runs as ``backend.nadam_update``: ``backend/numpy_ref.py`` writes each line above in
    NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize, **torch_flags(foreach, capturable, differentiable)}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_adam_options(self, options, "momentum_decay")

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0.0, "mu_product": scalar_state(1.0), "exp_avg": np.zeros_like(param),
                "exp_avg_sq": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        lr, (beta1, beta2), psi = group["lr"], group["betas"], group["momentum_decay"]
        state["step"] += 1
        t = state["step"]                                            # t ← t + 1
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))                 # μ_t
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))      # μ_{t+1}
        state["mu_product"] *= mu                                    # Π_t ← Π_{t−1} μ_t
        mu_product = float(state["mu_product"])
        backend.nadam_update(param, grad, state["exp_avg"], state["exp_avg_sq"], lr, beta1, beta2, group["eps"],
                             group["weight_decay"], group["decoupled_weight_decay"], group["maximize"],
                             bias_correction2=1 - beta2**t,                                 # 1 − β₂ᵗ
                             grad_coefficient=lr * (1.0 - mu) / (1.0 - mu_product),        # γ (1 − μ_t) / (1 − Π_t)
                             exp_avg_coefficient=lr * mu_next / (1.0 - mu_product * mu_next))

    def _restore_value(self, name: str, value: Any, p: Tensor) -> Any:
        """As the base class; ``mu_product`` becomes a 0-d scalar of the parameter's dtype (as in PyTorch)."""
        if name == "mu_product":
            return restore_scalar_state(value, p.dtype)
        return super()._restore_value(name, value, p)
