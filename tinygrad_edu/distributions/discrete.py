"""Discrete distributions: Bernoulli, Categorical, OneHotCategorical(StraightThrough), Binomial, Geometric, Poisson.

Bernoulli-like distributions take either ``probs`` p or ``logits`` l = log(p/(1 − p)) (not both);
Categorical takes probs or unnormalised logits over the last dim. Whichever is given is stored,
the other is computed on first use (``lazy_property``). Log-probabilities are computed from
the logits with log-sum-exp forms, which stay finite where p rounds to 0 or 1.
Discrete samples have no reparameterisation (``has_rsample`` is False): for gradients through
discrete choices use the score-function (REINFORCE) estimator ∇E[f] = E[f ∇log p], or the
relaxed distributions of relaxed.py.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from .. import random
from ..autograd import no_grad
from ..factories import zeros_like
from ..nn import functional as F  # noqa: N812 - PyTorch's conventional name
from ..tensor import Tensor, broadcast_tensors, where
from . import constraints
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .utils import (
    as_float_tensor,
    as_shape,
    broadcast_all,
    constant,
    lazy_property,
    log1p_exp,
    logits_to_probs,
    probs_to_logits,
    standard_uniform,
)

_COUNT_AT_ONCE = 4096  # Categorical.sample: largest draws × categories per batch row compared in one array


def _bernoulli_log_prob(logits: Tensor, value: Tensor) -> Tensor:
    """x log σ(l) + (1 − x) log σ(−l) with log σ(z) = −log(1 + e^(−z)): each term is accurate on its own
    (the equal x·l − log(1 + eˡ) loses everything to cancellation when l ≫ 0 and x = 1)."""
    return -(value * log1p_exp(-logits) + (1 - value) * log1p_exp(logits))


def _one_of(probs: Any, logits: Any) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _BinaryParameters(Distribution):
    """probs ↔ logits for distributions with one success probability p per batch entry (given as either)."""

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"probs": constraints.unit_interval,
                                                             "logits": constraints.real}

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        self._set_probs_or_logits(probs, logits)
        super().__init__(self._param.shape, validate_args=validate_args)

    @lazy_property
    def logits(self) -> Tensor:
        """l = log p − log(1 − p)."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        """p = σ(l)."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def _param(self) -> Tensor:
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]

    def _set_probs_or_logits(self, probs: Any, logits: Any, *others: Any) -> list[Tensor]:
        """Store whichever of probs/logits is given (exactly one must be) as a Tensor, broadcast together
        with ``others`` (e.g. Binomial's total_count; broadcast_all's rules, others first); return those."""
        _one_of(probs, logits)
        *broadcast_others, param = broadcast_all(*others, probs if probs is not None else logits)
        setattr(self, "probs" if probs is not None else "logits", param)
        return broadcast_others


class Bernoulli(_BinaryParameters, ExponentialFamily):
    r"""Bernoulli distribution on {0, 1} with success probability p (``probs``) or ``logits`` l.

    pmf       P(x) = pˣ (1 − p)^(1−x);   log P(x) = x log σ(l) + (1 − x) log σ(−l)  (= x l − log(1 + eˡ))
    mean = p,  mode = 1 if p > ½, 0 if p < ½, nan at p = ½,  variance = p(1 − p)
    entropy = −p log p − (1 − p) log(1 − p) = log(1 + eˡ) − p l
    """

    support = constraints.boolean
    has_enumerate_support = True

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return where(self.probs == 0.5, math.nan, (self.probs >= 0.5).astype(self.probs.dtype))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            p = self.probs.expand(self._extended_shape(sample_shape))
            return (standard_uniform(p.shape, p) < p).astype(p.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return _bernoulli_log_prob(self.logits, value)

    def entropy(self) -> Tensor:
        return -_bernoulli_log_prob(self.logits, self.probs)

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """θ = l (the logit) for t(x) = x."""
        return (self.logits,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """F(θ) = log(1 + e^θ)."""
        return log1p_exp(x)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = constant(np.arange(2).reshape((2,) + (1,) * len(self.batch_shape)), self._param)
        return values.expand((2, *self.batch_shape)) if expand else values


class Geometric(_BinaryParameters):
    r"""Number of failures before the first success, success probability p ∈ (0, 1].

    pmf       P(k) = (1 − p)ᵏ p,  k = 0, 1, 2, …
    mean = 1/p − 1,  mode = 0,  variance = (1 − p)/p²,  entropy = (−p log p − (1 − p) log(1 − p)) / p
    sample    k = ⌊log u / log(1 − p)⌋,  u ~ U(0, 1)
    """

    support = constraints.nonnegative_integer

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            p = self.probs.expand(self._extended_shape(sample_shape))
            return (standard_uniform(p.shape, p).log() / (-p).log1p()).floor()

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        # p = 1 and k = 0: 0·log(0) is 0 (PyTorch zeroes p there before the log1p)
        probs = where((self.probs == 1) & (value == 0), 0.0, self.probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        return -_bernoulli_log_prob(self.logits, self.probs) / self.probs


class Binomial(_BinaryParameters):
    r"""Number of successes in n = ``total_count`` trials, each with probability p.

    pmf       P(k) = C(n, k) pᵏ (1 − p)^(n−k);
              log P(k) = log n! − log k! − log (n−k)! + k l − n log(1 + eˡ)   (l the logit)
    mean = np,  mode = min(⌊(n + 1)p⌋, n),  variance = np(1 − p),
    entropy = −Σₖ P(k) log P(k)  (summed over k = 0..n; needs one n for the whole batch)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"total_count": constraints.nonnegative_integer,
                                                             "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        (total_count,) = self._set_probs_or_logits(probs, logits, total_count)
        self.total_count = total_count.astype(self._param.dtype)
        # the parameters are set (broadcast with total_count): skip _BinaryParameters.__init__, which sets them
        Distribution.__init__(self, self._param.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        n = np.broadcast_to(self.total_count.data, shape).astype(np.int64)
        p = np.broadcast_to(self.probs.data, shape)
        return constant(random.generator().binomial(n, p), self.probs)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        n, logits = self.total_count, self.logits
        log_choose = (n + 1).lgamma() - (value + 1).lgamma() - (n - value + 1).lgamma()
        return log_choose + value * logits - n * log1p_exp(logits)

    def _homogeneous_count(self, op: str) -> int:
        counts = self.total_count.data
        if counts.size and counts.min() != counts.max():
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{op}`.")
        return int(counts.max()) if counts.size else 0

    def entropy(self) -> Tensor:
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self._homogeneous_count("enumerate_support")
        values = constant(np.arange(n + 1).reshape((-1,) + (1,) * len(self.batch_shape)), self._param)
        return values.expand((n + 1, *self.batch_shape)) if expand else values


class Poisson(ExponentialFamily):
    r"""Poisson distribution with ``rate`` λ ≥ 0: counts of events in a unit interval.

    pmf       P(k) = λᵏ e^(−λ) / k!;   log P(k) = k log λ − λ − log Γ(k + 1)
    mean = λ,  mode = ⌊λ⌋,  variance = λ   (no closed-form entropy; PyTorch has none either)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Any = ()) -> Tensor:
        rate = np.broadcast_to(self.rate.data, self._extended_shape(sample_shape))
        return constant(random.generator().poisson(rate), self.rate)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - (value + 1).lgamma()

    @property
    def _natural_params(self) -> tuple[Tensor]:
        """θ = log λ for t(x) = x (carrier k(x) = −log x!, whose mean has no closed form)."""
        return (self.rate.log(),)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        """F(θ) = e^θ."""
        return x.exp()


class Categorical(Distribution):
    r"""Categorical distribution over {0, …, K−1}, with ``probs`` (normalised over the last dim)
    or ``logits`` (unnormalised log-probabilities; normalised by subtracting log-sum-exp).

    pmf       P(k) = p_k = softmax(logits)_k;   log P(k) = logits_k − log Σⱼ exp(logitsⱼ)
    mean = variance = nan (categories are labels),  mode = argmax_k p_k,  entropy = −Σ p_k log p_k
    batch_shape = probs.shape[:-1], event_shape = ()
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"probs": constraints.simplex,
                                                             "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            probs = as_float_tensor(probs)
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            logits = as_float_tensor(logits)
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._param = self.__dict__.get("probs", self.__dict__.get("logits"))
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self) -> Tensor:
        """log p_k (probabilities clamped away from 0 first)."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        """softmax(logits)."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> tuple[int, ...]:
        """Shape of probs/logits: batch_shape + (K,)."""
        return tuple(self._param.shape)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self) -> Tensor:
        return constant(np.full(self.batch_shape, np.nan), self.probs)

    @property
    def mode(self) -> Tensor:
        return Tensor(self.probs.data.argmax(-1))

    @property
    def variance(self) -> Tensor:
        return self.mean

    def sample(self, sample_shape: Any = ()) -> Tensor:
        sample_shape = as_shape(sample_shape)
        cumulative = np.cumsum(self.probs.data.reshape(-1, self._num_events), -1)
        n_draws = int(np.prod(sample_shape))
        u = random.generator().random((n_draws, cumulative.shape[0], 1)) * cumulative[:, -1:]
        # the category is the number of cumulative probabilities below u (inverse-cdf sampling): counted
        # at once while draws × categories is small, else by binary search in each row (the cumulative
        # probabilities are sorted), which needs no draws × batch × categories temporary
        if n_draws * self._num_events <= _COUNT_AT_ONCE:
            below = (cumulative < u).sum(-1)
        else:
            below = np.stack([np.searchsorted(row, u_row, side="left") for row, u_row in zip(cumulative, u.T[0])], -1)
        draws = np.minimum(below, self._num_events - 1)
        return Tensor(draws.reshape(sample_shape + self.batch_shape).astype(np.int64))

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        index, log_pmf = broadcast_tensors(value.astype(np.int64).unsqueeze(-1), self.logits)
        return log_pmf.gather(-1, index[..., :1]).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))  # −inf·0 would be nan
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = Tensor(np.arange(self._num_events).reshape((-1,) + (1,) * len(self.batch_shape)))
        return values.expand((self._num_events, *self.batch_shape)) if expand else values


class CategoricalWrapper:
    """Mixin for distributions built on a Categorical ``_categorical``: its probs, logits and param_shape."""

    _categorical: Categorical

    @property
    def probs(self) -> Tensor:
        """The category probabilities p."""
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        """The normalised log-probabilities log p."""
        return self._categorical.logits

    @property
    def param_shape(self) -> tuple[int, ...]:
        """batch_shape + (K,)."""
        return self._categorical.param_shape


class OneHotCategorical(CategoricalWrapper, Distribution):
    r"""Categorical with one-hot vectors as values: x ∈ {e₀, …, e_{K−1}}, event_shape = (K,).

    pmf       P(x) = Π p_k^(x_k) = p_k for x = e_k
    mean = p,  mode = e_{argmax p},  variance = p(1 − p),  entropy = −Σ p_k log p_k
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"probs": constraints.simplex,
                                                             "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return F.one_hot(self._categorical.mode, self.event_shape[-1]).astype(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        return F.one_hot(self._categorical.sample(sample_shape), self.event_shape[-1]).astype(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        return self._categorical.log_prob(Tensor(value.data.argmax(-1)))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        n = self.event_shape[0]
        values = constant(np.eye(n).reshape((n,) + (1,) * len(self.batch_shape) + (n,)), self.probs)
        return values.expand((n, *self.batch_shape, n)) if expand else values

    def __repr__(self) -> str:
        return repr(self._categorical).replace("Categorical", "OneHotCategorical", 1)


class OneHotCategoricalStraightThrough(OneHotCategorical):
    r"""OneHotCategorical with the straight-through gradient estimator (Bengio et al. 2013):

    rsample   x + (p − stop_grad(p)):  the value is the one-hot sample x, the gradient that of p
    (a biased but low-variance surrogate for ∂E[f(x)]/∂p)
    """

    has_rsample = True

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())


__all__ = ["Bernoulli", "Binomial", "Categorical", "Geometric", "OneHotCategorical", "OneHotCategoricalStraightThrough",
           "Poisson"]
