"""Count distributions over several trials: Multinomial and NegativeBinomial.

Both are discrete (no ``rsample``). Multinomial counts how often each of k categories comes up in
n draws of a Categorical; NegativeBinomial counts successes before the r-th failure, and is also
a Poisson whose rate is Gamma distributed (which is how it is sampled).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import random
from ..nn import functional as F  # noqa: N812 - PyTorch's conventional name
from ..tensor import Tensor, where
from . import constraints
from .discrete import Binomial, Categorical, CategoricalWrapper, _BinaryParameters
from .distribution import Distribution
from .utils import constant


class _Multinomial(constraints.Constraint):
    """Non-negative integer vectors whose entries sum to at most ``upper_bound`` (PyTorch's check)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound: int) -> None:
        self.upper_bound = upper_bound

    def _check(self, value: np.ndarray) -> np.ndarray:
        return (value >= 0).all(-1) & (value.sum(-1) <= self.upper_bound) & (value == np.round(value)).all(-1)


class Multinomial(CategoricalWrapper, Distribution):
    r"""Counts x = (x₁, …, x_k), Σxᵢ = n = ``total_count``, of n independent draws from Categorical(p).

    pmf       P(x) = n! / Πxᵢ! · Π pᵢ^xᵢ;   log P(x) = log Γ(n + 1) − Σ log Γ(xᵢ + 1) + Σ xᵢ log pᵢ
              (with n = Σxᵢ read from the value, as PyTorch; 0 · log 0 counts as 0)
    mean = n p,  variance = n p (1 − p)  (per category),
    entropy = n H(p) − log n! + Σᵢ Σ_{j=1..n} Binomial(n, pᵢ)(j) log j!
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"probs": constraints.simplex,
                                                             "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(total_count, (int, np.integer)):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        self._binomial = Binomial(total_count=self.total_count, probs=self.probs, validate_args=False)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:
        return _Multinomial(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = np.broadcast_to(self.probs.data.astype(np.float64), shape)
        probs = probs / probs.sum(-1, keepdims=True)  # NumPy checks Σp ≤ 1 in float64
        return constant(random.generator().multinomial(self.total_count, probs), self.probs)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        log_factorials = (value.sum(-1) + 1).lgamma() - (value + 1).lgamma().sum(-1)
        logits = where((value.data == 0) & np.isneginf(self.logits.data), 0.0, self.logits)
        return log_factorials + (logits * value).sum(-1)

    def entropy(self) -> Tensor:
        n = self.total_count
        support = constant(np.arange(1, n + 1).reshape((-1,) + (1,) * (len(self.batch_shape) + 1)), self.probs)
        binomial_probs = self._binomial.log_prob(support).exp()
        return (n * self._categorical.entropy() - math.lgamma(n + 1)
                + (binomial_probs * (support + 1).lgamma()).sum((0, -1)))


class NegativeBinomial(_BinaryParameters):
    r"""Number of successes before ``total_count`` r failures, each trial succeeding with probability p.

    pmf       P(k) = Γ(k + r) / (k! Γ(r)) pᵏ (1 − p)ʳ;
              log P(k) = r log σ(−l) + k log σ(l) − log Γ(r + k) + log Γ(k + 1) + log Γ(r)  (l the logit;
              the normaliser is 0 where r + k = 0)
    mean = r p/(1 − p) = r eˡ,  mode = ⌊(r − 1) eˡ⌋⁺,  variance = mean/(1 − p)
    sample    Poisson(λ) with λ ~ Gamma(r, rate (1 − p)/p)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"total_count": constraints.nonnegative,
                                                             "probs": constraints.half_open_interval(0.0, 1.0),
                                                             "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        (total_count,) = self._set_probs_or_logits(probs, logits, total_count)
        self.total_count = total_count.astype(self._param.dtype)
        Distribution.__init__(self, self._param.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        generator = random.generator()
        shape_r = np.broadcast_to(self.total_count.data.astype(np.float64), shape)
        odds = np.broadcast_to(np.exp(self.logits.data.astype(np.float64)), shape)  # p/(1 − p): the gamma's scale
        rates = np.where(shape_r > 0, generator.standard_gamma(np.maximum(shape_r, 1e-300)) * odds, 0.0)
        return constant(generator.poisson(rates), self._param)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        r, logits = self.total_count, self.logits
        log_unnormalised = r * F.logsigmoid(-logits) + value * F.logsigmoid(logits)
        log_normaliser = -(r + value).lgamma() + (1 + value).lgamma() + r.lgamma()
        return log_unnormalised - where((r + value).data == 0, 0.0, log_normaliser)


__all__ = ["Multinomial", "NegativeBinomial"]
