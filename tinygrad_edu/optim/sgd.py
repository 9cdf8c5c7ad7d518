"""Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_torch_flags
from .optimizer import Optimizer, ParamGroup, Params, check_non_negative


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight_decay),
           μ (momentum), τ (dampening), nesterov, maximize
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t−1}
        if μ ≠ 0:
            if t > 1:  b_t ← μ b_{t−1} + (1 − τ) g_t
            else:      b_t ← g_t
            if nesterov:  g_t ← g_t + μ b_t
            else:         g_t ← b_t
        θ_t ← θ_{t−1} − γ g_t

    Without momentum this is the gradient-descent step θ_{t+1} = θ_t − α ∇J(θ_t): full-batch,
    mini-batch or stochastic depending only on how many samples the loss ∇J averaged over.
    ``weight_decay`` λ adds the gradient of the L2 penalty (λ/2)‖θ‖², so λ = λ_reg/m turns
    J + (λ_reg/2m) Σθ² into the step. Nesterov momentum: Sutskever et al. 2013.

    The step runs as ``backend.sgd_update``: ``backend/numpy_ref.py`` writes each line above in
    NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach, "differentiable": differentiable,
                    "fused": fused}  # (implementation flags: see optim/_options.py)
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_non_negative(self, options, "lr", "momentum", "weight_decay")
        check_torch_flags(self, options)
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        momentum = group["momentum"]
        buffer = state.get("momentum_buffer")
        first_step = buffer is None
        if momentum != 0 and first_step:
            buffer = state["momentum_buffer"] = np.empty_like(param)  # b_1 ← g_1 fills it
        backend.sgd_update(param, grad, buffer if momentum != 0 else None, group["lr"], momentum, group["dampening"],
                           group["weight_decay"], group["nesterov"], group["maximize"], first_step)
