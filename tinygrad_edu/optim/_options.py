"""Option checks shared by the optimisers, PyTorch's implementation flags included.

PyTorch's optimisers take ``foreach``, ``fused``, ``capturable`` and ``differentiable`` (each
the subset its torch class has) and keep them in every parameter group, so a ``state_dict``
moves between the libraries with the same keys. What they mean here:

``foreach`` (None/False/True) and ``fused`` (None/False/True)
    Accepted, and change nothing: PyTorch picks between a loop over the parameters, one
    vectorised op per step line over all of them (foreach) and one kernel per parameter doing
    every line (fused). Here every step is that last kind either way: ``backend.<name>_update``
    is one pass over each parameter's memory in C (its NumPy reference, line by line, on the
    NumPy backend), with the same arithmetic whatever the flags say: PyTorch's single-tensor
    arithmetic (its foreach ASGD rounds its float32 η/μ at other points, ~1e-7 relative apart).
    As in PyTorch, foreach and fused cannot both be True.
``capturable``
    False only: it keeps the step counters on the GPU for CUDA graphs; torch itself refuses
    it for CPU tensors (at the first step; here at construction).
``differentiable``
    False only. With True PyTorch records the update in the autograd graph (gradients of a
    loss after the step with respect to the hyperparameters or the previous parameters, for
    meta-learning); the parameters must then be non-leaf tensors (torch raises on leaves).
    Here the update writes ``p.data`` in place in one fused C/NumPy pass outside the graph,
    and recording it would need a second, Tensor-op version of every update rule, slower and
    written twice. Not supported: write such an update in Tensor ops (``w = w - lr * g``
    with ``tg.autograd.grad(..., create_graph=True)``), which is what it would record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, check_non_negative


def torch_flags(foreach: bool | None, capturable: bool, differentiable: bool) -> dict[str, Any]:
    """The three PyTorch-only options, as group entries."""
    return {"foreach": foreach, "capturable": capturable, "differentiable": differentiable}


_UNSUPPORTED_FLAG_REASONS = {
    "capturable": "it is for CUDA graphs, and torch refuses it for CPU tensors too",
    "differentiable": "the update runs on the parameters' arrays in one fused pass, outside the autograd graph; "
                      "write a differentiable update in Tensor ops (w - lr * g) instead",
}


def check_torch_flags(optimizer: Optimizer, options: dict[str, Any]) -> None:
    """The implementation flags (see the module docstring): ``foreach``/``fused`` None or a bool and
    not both True (RuntimeError, as PyTorch); ValueError naming the optimiser for ``capturable``
    or ``differentiable`` set."""
    name = type(optimizer).__name__
    for flag in ("foreach", "fused"):
        if options.get(flag) not in (None, False, True):
            raise ValueError(f"{name}: {flag} must be None, False or True, got {options[flag]!r}")
    if options.get("foreach") and options.get("fused"):
        raise RuntimeError(f"{name}: `fused` and `foreach` cannot be `True` together.")
    for flag, reason in _UNSUPPORTED_FLAG_REASONS.items():
        if options.get(flag, False):
            raise ValueError(f"{name}: {flag}=True is not supported ({reason})")


def check_adam_options(optimizer: Optimizer, options: dict[str, Any], *non_negative: str) -> None:
    """The checks of the Adam family (Adam, AdamW, Adamax, NAdam, RAdam): lr, eps, weight_decay (and
    ``non_negative``) ≥ 0, the betas, and the PyTorch-only flags where the optimiser has them."""
    check_non_negative(optimizer, options, "lr", "eps", "weight_decay", *non_negative)
    check_betas(optimizer, options)
    check_torch_flags(optimizer, options)


def check_betas(optimizer: Optimizer, options: dict[str, Any]) -> None:
    """ValueError naming the optimiser unless ``betas`` is a pair (β₁, β₂) in [0, 1)."""
    betas = options["betas"]
    if len(betas) != 2:
        raise ValueError(f"{type(optimizer).__name__}: betas must be a pair (β₁, β₂), got {betas}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{type(optimizer).__name__}: invalid betas[{i}] {beta} (must be in [0, 1))")


# PyTorch keeps some per-parameter scalars of the state (NAdam's Π μ_i, ASGD's η_t and μ_t) as 0-d
# tensors of its default dtype, float32, and loading a state dict casts them to the parameter's
# dtype. They are kept here the same way, as 0-d NumPy arrays, so that they round as PyTorch's do.
SCALAR_STATE_DTYPE = np.float32


def scalar_state(value: float) -> np.ndarray:
    """A fresh 0-d scalar of the state, in PyTorch's scalar dtype."""
    return np.array(value, dtype=SCALAR_STATE_DTYPE)


def restore_scalar_state(value: Any, dtype: np.dtype) -> np.ndarray:
    """A loaded 0-d scalar of the state, cast to the parameter's dtype as ``torch.optim`` casts it."""
    return np.array(np.asarray(value.numpy() if hasattr(value, "numpy") else value), dtype=dtype).reshape(())
