"""RMSprop (Tieleman & Hinton 2012; centered variant: Graves 2013), step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_torch_flags, torch_flags
from .optimizer import Optimizer, ParamGroup, Params, check_non_negative


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    input: α (alpha), γ (lr), θ₀ (params), f(θ) (objective), λ (weight_decay),
           μ (momentum), centered, ε (eps), maximize
    initialize: v₀ ← 0 (square average), b₀ ← 0 (buffer), g₀^ave ← 0
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
        v_t ← α v_{t−1} + (1 − α) g_t²
        ṽ_t ← v_t
        if centered:
            g_t^ave ← α g_{t−1}^ave + (1 − α) g_t
            ṽ_t ← ṽ_t − (g_t^ave)²
        if μ > 0:
            b_t ← μ b_{t−1} + g_t / (√ṽ_t + ε)
            θ_t ← θ_{t−1} − γ b_t
        else:
            θ_t ← θ_{t−1} − γ g_t / (√ṽ_t + ε)

    ε is added after the square root (TensorFlow adds it inside).

    The step runs as ``backend.rmsprop_update``: ``backend/numpy_ref.py`` writes each line above
    in NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay, "momentum": momentum,
                    "centered": centered, "maximize": maximize, **torch_flags(foreach, capturable, differentiable)}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_non_negative(self, options, "lr", "alpha", "eps", "weight_decay", "momentum")
        check_torch_flags(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        state: dict[str, Any] = {"step": 0.0, "square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        state["step"] += 1                                           # t ← t + 1
        momentum = group["momentum"]
        backend.rmsprop_update(param, grad, state["square_avg"], state["grad_avg"] if group["centered"] else None,
                               state["momentum_buffer"] if momentum > 0 else None, group["lr"], group["alpha"],
                               group["eps"], group["weight_decay"], momentum, group["maximize"])
