"""Helpers shared by the distributions: broadcasting parameters, probs ↔ logits, noise draws.

Every random draw comes from tinygrad_edu's one generator (``tg.manual_seed`` makes it
reproducible); the numbers differ from PyTorch's generator, the distributions do not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import random
from ..autograd import enable_grad
from ..nn import functional as F  # noqa: N812 - PyTorch's conventional name
from ..tensor import Tensor, broadcast_tensors

Shape = tuple[int, ...]


def as_shape(sample_shape: Any) -> Shape:
    """``sample_shape`` as a tuple of ints (torch takes a torch.Size; an int or list is accepted too)."""
    if isinstance(sample_shape, int):
        return (sample_shape,)
    return tuple(int(n) for n in sample_shape)


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """Broadcast parameters (Tensors or numbers) to one shape, as torch.distributions.utils.broadcast_all.

    Numbers take the dtype of the first Tensor among the values (as torch: an integer Tensor makes
    them integers), float32 if there is none. Lists (which torch does not take) are read as floats:
    the dtype of the first floating Tensor, else float32, so that [0.2, 0.7] never becomes [0, 0].
    """
    tensors = [v for v in values if isinstance(v, Tensor)]
    number_dtype = tensors[0].dtype if tensors else np.float32
    list_dtype = next((t.dtype for t in tensors if np.issubdtype(t.dtype, np.floating)), np.float32)
    converted = [v if isinstance(v, Tensor) else
                 Tensor(np.asarray(v, dtype=number_dtype if np.ndim(v) == 0 else list_dtype)) for v in values]
    if not all(np.issubdtype(t.data.dtype, np.number) or t.data.dtype == bool for t in converted):
        raise ValueError("Input arguments must all be instances of numbers.Number or Tensor.")
    return tuple(broadcast_tensors(*converted))


def as_float_tensor(value: Any) -> Tensor:
    """A parameter given as a number or list becomes a float32 Tensor; a Tensor is kept as it is."""
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value, dtype=np.float32))


def sum_rightmost(value: Tensor, dims: int) -> Tensor:
    """Sum over the ``dims`` rightmost dimensions (turns per-entry log-densities into per-event ones)."""
    return value.sum(tuple(range(-dims, 0))) if dims > 0 else value


def tiny(dtype: Any) -> float:
    """The smallest positive normal number of ``dtype`` (keeps logs of samples finite)."""
    return float(np.finfo(dtype).tiny)


def eps(dtype: Any) -> float:
    """Machine epsilon of ``dtype``."""
    return float(np.finfo(dtype).eps)


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities into [eps, 1 − eps] so that their logs and log(1 − p) stay finite."""
    e = eps(probs.dtype)
    return probs.clamp(min=e, max=1 - e)


def log1p_exp(x: Tensor) -> Tensor:
    """log(1 + eˣ) (softplus without a threshold), stable for any x: logaddexp(x, 0)."""
    return x.logaddexp(0.0)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Binary: logit = log p − log(1 − p). Categorical: logit = log p (normalised later by log_softmax)."""
    clamped = clamp_probs(probs)
    return clamped.log() - (-clamped).log1p() if is_binary else clamped.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Binary: p = σ(logit). Categorical: p = softmax(logits) over the last dim."""
    return logits.sigmoid() if is_binary else F.softmax(logits, dim=-1)


def standard_normal(shape: Shape, like: Tensor) -> Tensor:
    """ε ~ N(0, 1) of the given shape, in ``like``'s dtype (a constant: no gradient flows into noise)."""
    return Tensor(random.generator().standard_normal(shape).astype(like.dtype))


def standard_uniform(shape: Shape, like: Tensor, low: float = 0.0) -> Tensor:
    """u ~ U[low, 1) in ``like``'s dtype, with u ≥ tiny so that log u is finite."""
    u = random.generator().uniform(low, 1.0, size=shape).astype(like.dtype)
    return Tensor(np.maximum(u, tiny(like.dtype)) if low == 0.0 else u)


def constant(array: Any, like: Tensor) -> Tensor:
    """A Tensor (no gradient) holding ``array`` in ``like``'s dtype."""
    return Tensor(np.asarray(array, dtype=like.dtype))


class lazy_property:
    """A property computed on first access and then stored on the instance (probs ↔ logits).

    It is computed with gradients enabled, as in torch: the stored value is reused by every later
    call, so a first access under ``no_grad`` (``sample`` makes one) must not cut it off the parameters.
    """

    def __init__(self, method: Any) -> None:
        self.method = method
        self.__doc__ = method.__doc__
        self.name = method.__name__

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        with enable_grad():
            value = self.method(instance)
        instance.__dict__[self.name] = value
        return value
