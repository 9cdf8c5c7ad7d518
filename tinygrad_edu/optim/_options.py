"""Option checks shared by the optimisers that take PyTorch's ``foreach``/``capturable``/``differentiable``.

PyTorch keeps these three in every parameter group, so a ``state_dict`` moves between the
libraries with the same keys. Here ``foreach`` changes nothing (one NumPy pass per array
either way), and ``capturable`` (CUDA graphs) and ``differentiable`` (autograd through the
step) have no meaning for an update written on NumPy arrays, so they must stay False.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .optimizer import Optimizer, check_non_negative


def torch_flags(foreach: bool | None, capturable: bool, differentiable: bool) -> dict[str, Any]:
    """The three PyTorch-only options, as group entries."""
    return {"foreach": foreach, "capturable": capturable, "differentiable": differentiable}


def check_torch_flags(optimizer: Optimizer, options: dict[str, Any]) -> None:
    """ValueError naming the optimiser if ``capturable`` or ``differentiable`` is set."""
    for name in ("capturable", "differentiable"):
        if options.get(name, False):
            raise ValueError(f"{type(optimizer).__name__}: {name}=True is not supported (the update runs on "
                             f"NumPy arrays, outside autograd and CUDA graphs)")


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
