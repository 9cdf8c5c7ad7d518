"""Rprop (Riedmiller & Braun 1993), step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ._options import check_torch_flags, torch_flags
from .optimizer import Optimizer, ParamGroup, Params, check_non_negative


class Rprop(Optimizer):
    r"""Rprop: each coordinate moves by its own step size, grown while the gradient keeps its sign.

    input: θ₀ (params), f(θ) (objective), η_{+/−} (etaplus, etaminus), Γ_{max/min} (step sizes),
           η (lr), maximize
    initialize: g⁰_prev ← 0, η_0 ← lr (learning rate)
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        for i = 0, 1, …, d − 1:
            if g^i_prev g^i_t > 0:
                η^i_t ← min(η^i_{t−1} η₊, Γ_max)
            else if g^i_prev g^i_t < 0:
                η^i_t ← max(η^i_{t−1} η₋, Γ_min)
                g^i_t ← 0
            else:
                η^i_t ← η^i_{t−1}
        θ_t ← θ_{t−1} − η_t sign(g_t)
        g_prev ← g_t

    Only the gradient's sign is used (which is why Rprop is for full-batch training). After a
    sign flip the coordinate does not move and its g_prev is 0, so the next step keeps η. The
    clip to [Γ_min, Γ_max] is applied to every coordinate each step, as PyTorch does. State
    names as PyTorch's: ``prev`` (g_prev) and ``step_size`` (η_t, one per coordinate).

    The step runs as ``backend.rprop_update``: ``backend/numpy_ref.py`` writes each line above in
    NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        defaults = {"lr": lr, "etas": tuple(etas), "step_sizes": tuple(step_sizes), "maximize": maximize,
                    **torch_flags(foreach, capturable, differentiable)}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_non_negative(self, options, "lr")
        etaminus, etaplus = options["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Rprop: invalid etas {options['etas']} (need 0 < etaminus < 1 < etaplus)")
        check_torch_flags(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0.0, "prev": np.zeros_like(param), "step_size": np.full_like(param, group["lr"])}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        (etaminus, etaplus), (step_size_min, step_size_max) = group["etas"], group["step_sizes"]
        state["step"] += 1                                           # t ← t + 1
        backend.rprop_update(param, grad, state["prev"], state["step_size"], etaminus, etaplus, step_size_min,
                             step_size_max, group["maximize"])
