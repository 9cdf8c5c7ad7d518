"""``nn.utils``: gradient clipping and the L1/L2 penalties of the source documents; ``nn.utils.rnn``
(padding and packing variable-length sequences) is utils/rnn.py; ``parametrize`` and
``parametrizations`` (weight/spectral norm, orthogonal) reparametrize a module's weights, and
norm_hooks.py holds the older hook-based ``weight_norm`` / ``spectral_norm``.

    L2 regularisation:  J(θ) = data term + (λ/2m) Σ_j θ_j²   ->  add λ/(2m) · l2_penalty(params)
    L1 regularisation:  J(θ) = data term + λ Σ_j |θ_j|       ->  add λ · l1_penalty(params)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...tensor import Tensor, cat
from . import parametrizations as parametrizations  # weight_norm, spectral_norm, orthogonal (parametrize-based)
from . import parametrize as parametrize  # register_parametrization, remove_parametrizations, cached
from . import rnn as rnn  # tg.nn.utils.rnn, as torch.nn.utils.rnn (re-exported)
from .norm_hooks import remove_spectral_norm as remove_spectral_norm  # the hook-based forms (re-exported)
from .norm_hooks import remove_weight_norm as remove_weight_norm
from .norm_hooks import spectral_norm as spectral_norm
from .norm_hooks import weight_norm as weight_norm


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients by min(1, max_norm / (‖g‖ + 1e-6)) where ‖g‖ is the norm of all of
    them together; returns that total norm (as PyTorch)."""
    params = _as_list(parameters)
    total = get_total_norm([p.grad for p in params if p.grad is not None], norm_type, error_if_nonfinite,
                           op="clip_grad_norm_")  # (no gradients: a norm of 0, nothing to scale)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None, *, op: str = "get_total_norm") -> Tensor:
    """‖(‖t₁‖, ‖t₂‖, …)‖ of order ``norm_type``: the norm of all the tensors' elements together
    (accumulated in float64; returned in the first tensor's dtype). ``foreach`` is accepted for
    PyTorch's signature and ignored."""
    arrays = [t.data for t in _as_list(tensors)]
    if not arrays:
        return Tensor(0.0)
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        total = max(float(np.abs(a).max()) if a.size else 0.0 for a in arrays)
    else:
        total = float(sum(np.sum(np.abs(a.astype(np.float64)) ** norm_type) for a in arrays) ** (1 / norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is non-finite")
    return Tensor(np.asarray(total, dtype=arrays[0].dtype))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor | float,
                          foreach: bool | None = None) -> None:
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)), in place (the second half
    of ``clip_grad_norm_``, given the norm from ``get_total_norm``)."""
    coef = min(1.0, max_norm / (float(total_norm) + 1e-6))
    for p in _as_list(parameters):
        if p.grad is not None:
            p.grad.data[...] = p.grad.data * coef


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' values (the inverse of
    ``parameters_to_vector``), outside the graph."""
    params = list(parameters)
    needed = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != needed:
        raise ValueError(f"vector_to_parameters: expects a 1-D tensor of {needed} elements, got shape {vec.shape}")
    start = 0
    for p in params:
        p.data[...] = vec.data[start:start + p.numel()].reshape(p.shape)
        p._count_write()
        start += p.numel()


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
