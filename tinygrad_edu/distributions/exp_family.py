r"""ExponentialFamily: distributions whose density is  p(x; θ) = exp(⟨t(x), θ⟩ − F(θ) + k(x)).

    θ      the natural parameters (``_natural_params``, a tuple of Tensors)
    t(x)   the sufficient statistic;  k(x) the carrier measure (``_mean_carrier_measure`` = E[k(X)])
    F(θ)   the log-normaliser (``_log_normalizer(*θ)``) = log ∫ exp(⟨t(x), θ⟩ + k(x)) dx; its gradient is the
           mean of the sufficient statistic, ∇F(θ) = E_θ[t(X)]

Two quantities then follow from F and its gradient alone, which autograd supplies (Nielsen & Nock,
"Entropies and cross-entropies of exponential families", 2010):

    entropy         H(p_θ) = F(θ) − ⟨θ, ∇F(θ)⟩ − E[k(X)]
    KL divergence   KL(p_θ ‖ p_η) = F(η) − F(θ) − ⟨η − θ, ∇F(θ)⟩    (the Bregman divergence B_F(η, θ))

The families set θ, F and E[k] (Normal, Exponential, Gamma, Beta, Dirichlet, Bernoulli, ContinuousBernoulli,
Poisson, Wishart, as torch marks them); their own closed forms stay, and these general forms check them. The
Bregman KL is registered for (ExponentialFamily, ExponentialFamily) in kl.py: a pair of one family without a
closed form of its own (Wishart) gets it.
"""

from __future__ import annotations

from ..autograd import enable_grad, grad
from ..tensor import Tensor
from .distribution import Distribution
from .utils import sum_rightmost


class ExponentialFamily(Distribution):
    """Base class of the exponential families: subclasses give ``_natural_params``, ``_log_normalizer`` and
    (for the entropy) ``_mean_carrier_measure``; entropy and the same-family KL follow by autograd."""

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        """θ, a tuple of Tensors (each batch_shape + its own event dims)."""
        raise NotImplementedError(f"{type(self).__name__} does not define its natural parameters")

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        """F(θ), of shape batch_shape."""
        raise NotImplementedError(f"{type(self).__name__} does not define its log-normaliser")

    @property
    def _mean_carrier_measure(self) -> float | Tensor:
        """E[k(X)], the expected carrier measure."""
        raise NotImplementedError(f"{type(self).__name__} does not define its mean carrier measure")

    def _log_normalizer_and_gradient(self, natural_params: tuple[Tensor, ...]
                                     ) -> tuple[list[Tensor], Tensor, tuple[Tensor, ...]]:
        """(θ, F(θ), ∇F(θ)) for θ = ``natural_params``, ∇F recorded (create_graph) so that what is built from it
        stays differentiable.

        A θ that already requires grad is used as it is, so gradients reach the distribution's parameters
        through ∇F too (torch detaches θ here, so its entropy and KL have no gradient through these paths);
        the others become leaves that require grad only for taking ∇F.
        """
        with enable_grad():
            params = [p if p.requires_grad else p.detach().requires_grad_() for p in natural_params]
            log_normalizer = self._log_normalizer(*params)
            gradients = grad(log_normalizer.sum(), params, create_graph=True)
        return params, log_normalizer, gradients

    def _batch_sum(self, term: Tensor, param: Tensor) -> Tensor:
        """Σ over the dims of ``param`` right of the batch dims (a matrix parameter's ⟨A, B⟩ = Σᵢⱼ Aᵢⱼ Bᵢⱼ)."""
        return sum_rightmost(term, param.ndim - len(self.batch_shape))

    def entropy(self) -> Tensor:
        """H = F(θ) − ⟨θ, ∇F(θ)⟩ − E[k(X)]."""
        mean_carrier_measure = self._mean_carrier_measure        # first: a family without one fails at once
        natural_params = self._natural_params
        params, log_normalizer, gradients = self._log_normalizer_and_gradient(natural_params)
        result = log_normalizer - mean_carrier_measure
        for param, gradient in zip(params, gradients):
            result = result - self._batch_sum(param * gradient, param)
        return _detached_unless_needed(result, natural_params)


def bregman_kl(p: ExponentialFamily, q: ExponentialFamily) -> Tensor:
    """KL(p ‖ q) = F(θ_q) − F(θ_p) − ⟨θ_q − θ_p, ∇F(θ_p)⟩ for two members of one exponential family.

    Each ⟨·, ·⟩ term is summed over its own parameter's dims right of the batch (torch sums every term over
    len(event_shape) dims, which for Wishart's df term, one number per batch entry, sums over the batch), and
    gradients reach p's parameters through θ_p and ∇F(θ_p) (torch detaches θ_p: no gradient in p's parameters).
    NotImplementedError for two different families (their F differ, so the Bregman form does not apply).
    """
    if type(p) is not type(q):
        raise NotImplementedError(f"The cross KL-divergence between different exponential families "
                                  f"({type(p).__name__}, {type(q).__name__}) cannot be computed using Bregman "
                                  "divergences")
    p_natural, q_params = p._natural_params, q._natural_params
    p_params, p_log_normalizer, gradients = p._log_normalizer_and_gradient(p_natural)
    result = q._log_normalizer(*q_params) - p_log_normalizer
    for p_param, q_param, gradient in zip(p_params, q_params, gradients):
        result = result - p._batch_sum((q_param - p_param) * gradient, p_param)
    return _detached_unless_needed(result, (*p_natural, *q_params))


def _detached_unless_needed(result: Tensor, natural_params: tuple[Tensor, ...]) -> Tensor:
    """``result`` detached when no natural parameter requires grad (the leaves made for ∇F would otherwise leave
    a KL or entropy of constants requiring grad)."""
    return result if any(p.requires_grad for p in natural_params) else result.detach()


__all__ = ["ExponentialFamily", "bregman_kl"]
