"""Averaged SGD (Polyak & Juditsky 1992), step for step as PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._options import check_torch_flags, restore_scalar_state, scalar_state, torch_flags
from .optimizer import Optimizer, ParamGroup, Params, check_non_negative


class ASGD(Optimizer):
    r"""Averaged SGD: decaying-rate SGD steps, plus a running average ``ax`` of the iterates after t₀.

    input: γ (lr), θ₀ (params), f(θ) (objective), λ (lambd), α (alpha), t₀ (t0),
           λ_wd (weight_decay), maximize
    initialize: η₀ ← γ (step size), μ₀ ← 1 (averaging weight), ax₀ ← 0 (average)
    for t = 1, 2, …:
        g_t ← ∇_θ f_t(θ_{t−1})                  (g_t ← −∇_θ f_t(θ_{t−1}) if maximize)
        if λ_wd ≠ 0:  g_t ← g_t + λ_wd θ_{t−1}
        θ_t ← θ_{t−1} (1 − λ η_{t−1})
        θ_t ← θ_t − η_{t−1} g_t
        if μ_{t−1} ≠ 1:  ax_t ← ax_{t−1} + μ_{t−1} (θ_t − ax_{t−1})
        else:            ax_t ← θ_t
        η_t ← γ / (1 + λ γ t)^α
        μ_t ← 1 / max(1, t − t₀)

    The optimiser trains θ; ``ax`` (the average of θ over the steps after t₀, a lower-variance
    estimate) is only kept in the state, for the caller to copy into the model. λ is a second,
    built-in decay of the weights. η_t and μ_t are kept as PyTorch keeps ``eta`` and ``mu``:
    float32 0-d scalars (see _options.py), so they round exactly as PyTorch's.

    The step runs as ``backend.asgd_update``: ``backend/numpy_ref.py`` writes each line above in
    NumPy, csrc/optim.c does them all in one pass over the parameter's memory.
    """

    def __init__(self, params: Params, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "maximize": maximize, **torch_flags(foreach, capturable, differentiable)}
        super().__init__(params, defaults)

    def _validate(self, options: dict[str, Any]) -> None:
        check_non_negative(self, options, "lr", "weight_decay")
        check_torch_flags(self, options)

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        return {"step": 0.0, "eta": scalar_state(group["lr"]), "mu": scalar_state(1.0), "ax": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        lr, lambd = group["lr"], group["lambd"]
        state["step"] += 1
        t = state["step"]                                            # t ← t + 1
        backend.asgd_update(param, grad, state["ax"], lambd, float(state["eta"]), state["mu"],
                            group["weight_decay"], group["maximize"])
        # the new values pass through PyTorch's scalar dtype even when a loaded state holds float64 scalars
        state["eta"][...] = scalar_state(lr / ((1 + lambd * lr * t) ** group["alpha"]))  # η_t ← γ / (1 + λγt)^α
        state["mu"][...] = scalar_state(1 / max(1, t - group["t0"]))                      # μ_t ← 1 / max(1, t − t₀)

    def _restore_value(self, name: str, value: Any, p: Tensor) -> Any:
        """As the base class; ``eta`` and ``mu`` become 0-d scalars of the parameter's dtype (as in PyTorch)."""
        if name in ("eta", "mu"):
            return restore_scalar_state(value, p.dtype)
        return super()._restore_value(name, value, p)
