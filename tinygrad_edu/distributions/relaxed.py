"""Relaxed (continuous) versions of Bernoulli and OneHotCategorical: the Concrete / Gumbel-softmax
distributions (Maddison et al. 2017, Jang et al. 2017).

A categorical draw is argmax_k (logits_k + G_k) with Gumbel noise G_k = −log(−log u_k). Replacing the
argmax by a softmax at ``temperature`` τ gives a point on the simplex that is a differentiable
function of the logits, so it has ``rsample``; as τ → 0 the samples approach one-hot vectors.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from ..tensor import Tensor
from . import constraints
from .discrete import Categorical, CategoricalWrapper, _BinaryParameters
from .distribution import Distribution
from .transformed import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform
from .utils import clamp_probs, constant, log1p_exp, probs_to_logits, standard_uniform


class _Tempered:
    """What the two relaxed bases share: a reparameterised sampler and a ``temperature`` τ, one number
    (a Tensor or a float made a Tensor of the parameters' dtype) that ``expand`` leaves as it is."""

    has_rsample = True
    _not_batched = ("temperature",)

    def _set_temperature(self, temperature: Any, like: Tensor) -> None:
        self.temperature = temperature if isinstance(temperature, Tensor) else constant(temperature, like)


class LogitRelaxedBernoulli(_Tempered, _BinaryParameters):
    r"""The logit of a RelaxedBernoulli sample: x = (l + log u − log(1 − u)) / τ,  u ~ U(0, 1).

    density   log p(x) = log τ + (l − τx) − 2 log(1 + e^(l − τx))   (a logistic density, scale 1/τ)
    """

    support = constraints.real

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        super().__init__(probs, logits, validate_args=validate_args)
        self._set_temperature(temperature, self._param)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = standard_uniform(self._extended_shape(sample_shape), self._param)
        return (probs_to_logits(u, is_binary=True) + self.logits) / self.temperature  # logistic noise

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        diff = self.logits - value * self.temperature
        return self.temperature.log() + diff - 2 * log1p_exp(diff)


class _Relaxed(TransformedDistribution):
    """A relaxed distribution = ``_transform_type()`` applied to a ``_base_type(temperature, probs, logits)``."""

    _base_type: type[Distribution]
    _transform_type: type

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        base = self._base_type(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, self._transform_type(), validate_args=validate_args)

    @property
    def temperature(self) -> Tensor:
        """τ, the softmax temperature."""
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        """The logits (normalised for the categorical)."""
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        """The probabilities."""
        return self.base_dist.probs


class RelaxedBernoulli(_Relaxed):
    r"""Relaxed Bernoulli on (0, 1) with ``temperature`` τ and ``probs`` p or ``logits`` l:
    y = σ((l + log u − log(1 − u)) / τ),  u ~ U(0, 1).

    density   p(y) = τ α y^(−τ−1) (1 − y)^(−τ−1) / (α y^(−τ) + (1 − y)^(−τ))²,   α = e^l
    (no closed-form mean or variance; as τ → 0 samples approach Bernoulli(p) draws.)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"probs": constraints.unit_interval,
                                                             "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    _base_type = LogitRelaxedBernoulli
    _transform_type = SigmoidTransform


class ExpRelaxedCategorical(_Tempered, CategoricalWrapper, Distribution):
    r"""The log of a RelaxedOneHotCategorical sample: x = log softmax((logits + G)/τ), G_k Gumbel.

    density   log p(x) = log Γ(K) + (K − 1) log τ + Σ_k (s_k − logsumexp(s)),  s = logits − τx
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"probs": constraints.simplex,
                                                             "logits": constraints.real_vector}
    support = constraints.real_vector

    def __init__(self, temperature: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits)
        self._set_temperature(temperature, self._categorical._param)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        u = clamp_probs(standard_uniform(self._extended_shape(sample_shape), self.logits))
        gumbels = -(-u.log()).log()
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value: Tensor) -> Tensor:
        value = self._checked(value)
        k = self.event_shape[0]
        log_scale = math.lgamma(k) + (k - 1) * self.temperature.log()
        score = self.logits - value * self.temperature
        return (score - score.logsumexp(-1, keepdim=True)).sum(-1) + log_scale


class RelaxedOneHotCategorical(_Relaxed):
    r"""Gumbel-softmax / Concrete distribution on the simplex, ``temperature`` τ, ``probs`` or ``logits``:
    y = softmax((logits + G)/τ),  G_k = −log(−log u_k),  u_k ~ U(0, 1).

    density   p(y) = Γ(K) τ^(K−1) Π_k (p_k y_k^(−τ−1)) / (Σ_k p_k y_k^(−τ))^K
    (no closed-form mean or variance; as τ → 0 samples approach one-hot draws of Categorical(p).)
    """

    arg_constraints: ClassVar[constraints.ArgConstraints] = {"probs": constraints.simplex,
                                                             "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    _base_type = ExpRelaxedCategorical
    _transform_type = ExpTransform
