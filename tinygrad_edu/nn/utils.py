"""``nn.utils``: gradient clipping and the L1/L2 penalties of the source documents.

    L2 regularisation:  J(θ) = data term + (λ/2m) Σ_j θ_j²   ->  add λ/(2m) · l2_penalty(params)
    L1 regularisation:  J(θ) = data term + λ Σ_j |θ_j|       ->  add λ · l1_penalty(params)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients by min(1, max_norm / (‖g‖ + 1e-6)) where ‖g‖ is the norm of all of
    them together; returns that total norm (as PyTorch)."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        total = max(float(np.abs(g.data).max()) if g.data.size else 0.0 for g in grads)
    else:
        total = float(sum(np.sum(np.abs(g.data.astype(np.float64)) ** norm_type) for g in grads) ** (1 / norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite")
    coef = min(1.0, max_norm / (total + 1e-6))
    for g in grads:
        g.data[...] = g.data * coef
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place."""
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def l1_penalty(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """Σ_j |θ_j| over all parameters (differentiable)."""
    return sum((p.abs().sum() for p in _as_list(parameters)), start=Tensor(0.0))


def l2_penalty(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """Σ_j θ_j² over all parameters (differentiable)."""
    return sum(((p * p).sum() for p in _as_list(parameters)), start=Tensor(0.0))
