r"""Connectionist temporal classification (Graves et al. 2006): the loss of a label sequence given
per-frame class log-probabilities, summed over every alignment, by the forward-backward recursion.

Notation (one sample; the batch runs the same recursion side by side):
    lp[t, k]   log-probability of class k at frame t, t = 0 … T−1 (T = its input length)
    l          the target labels l_1 … l_U (U = its target length; U = 0 allowed)
    l'         l with a blank before, between and after the labels: l' = (∅, l_1, ∅, l_2, …, l_U, ∅),
               length S = 2U + 1 (∅ = ``blank``)
    skip(s)    l'_s ≠ l'_{s−2} (s ≥ 2): a path may jump over the blank between two different labels
               (never from a blank, whose l'_{s−2} is a blank too, nor between repeated labels)

Forward variables, α_t(s) = log Σ over path prefixes that emit l'_1..s by frame t:
    α_0(0) = lp[0, ∅],   α_0(1) = lp[0, l_1] (if U ≥ 1),   α_0(s) = −inf for s ≥ 2
    α_t(s) = lp[t, l'_s] + logsumexp(α_{t−1}(s), α_{t−1}(s−1), α_{t−1}(s−2) if skip(s))
Backward variables, β_t(s) = log Σ over path suffixes from (t, s) to the end (emission at t included):
    β_{T−1}(S−1) = lp[T−1, ∅],   β_{T−1}(S−2) = lp[T−1, l_U] (if U ≥ 1),   β_{T−1}(s) = −inf otherwise
    β_t(s) = lp[t, l'_s] + logsumexp(β_{t+1}(s), β_{t+1}(s+1), β_{t+1}(s+2) if skip(s+2))
Loss:  −log p(l | x) = −logsumexp(α_{T−1}(S−1), α_{T−1}(S−2))   (+inf when no alignment fits in T frames)
Every path through (t, s) emits lp[t, l'_s] once, so α_t(s) + β_t(s) − lp[t, l'_s] is the log
probability of the paths through (t, s) and, for each t, p(l | x) = Σ_s exp(α_t(s) + β_t(s) − lp[t, l'_s]).
Everything stays in log space (logaddexp): the probabilities underflow after a few dozen frames.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor


def _logsumexp3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """log(eᵃ + eᵇ + eᶜ) elementwise, −inf terms allowed (np.logaddexp handles them without warnings)."""
    return np.logaddexp(np.logaddexp(a, b), c)


def _shift(x: np.ndarray, by: int, fill: float = -np.inf) -> np.ndarray:
    """x moved ``by`` places along the last axis (positive: to higher s), the gap filled with ``fill``."""
    out = np.full_like(x, fill)
    if by > 0:
        out[..., by:] = x[..., :-by]
    else:
        out[..., :by] = x[..., -by:]
    return out


class CTCLoss(Function):
    r"""Per-sample CTC loss −log p(l | x) of log-probabilities ``log_probs`` (T, N, C), the module
    docstring's recursions run for the N samples side by side.

    Forward:   y[n] = −logsumexp(α_{T_n−1}(S_n−1), α_{T_n−1}(S_n−2))   (0 where infinite and ``zero_infinity``)
    Backward:  ∂L/∂lp[t, n, k] = g[n] · (exp(lp[t, n, k]) − γ_t(k)) for t < T_n, 0 for t ≥ T_n, where
               γ_t(k) = Σ_{s : l'_s = k} exp(α_t(s) + β_t(s) − lp[t, l'_s] + y[n])
               is the posterior probability that frame t emits class k. As in PyTorch the gradient
               assumes normalised log-probabilities (a log_softmax output): the exact gradient is −γ,
               and the added exp(lp) (Σ_k exp(lp[t, k]) = 1 = Σ_k γ_t(k)) vanishes in log_softmax's
               backward, which leaves softmax − γ for the logits either way. An infinite loss (no
               alignment) gets a nan gradient, or 0 with ``zero_infinity`` (PyTorch's).
    The backward is computed on arrays (α, β): it cannot be differentiated again, as in PyTorch.
    """

    formula = ("g * (exp(lp) - posterior(alpha + beta))",)
    once_differentiable = True
    torch_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx: Function, log_probs: Tensor, *, targets: np.ndarray, input_lengths: np.ndarray,
                target_lengths: np.ndarray, blank: int, zero_infinity: bool) -> np.ndarray:
        extended, skip, valid = _extended_labels(targets, target_lengths, blank)
        emissions = _emissions(log_probs.data, extended)
        alpha = _alpha(emissions, skip, valid)
        nll = _negative_log_likelihood(alpha, input_lengths, target_lengths)
        infinite = np.isinf(nll)
        if zero_infinity:
            nll = np.where(infinite, 0.0, nll)
        ctx.save_for_backward(log_probs, extended, skip, valid, alpha, nll, infinite, input_lengths)
        ctx.zero_infinity = zero_infinity
        return nll.astype(log_probs.dtype)

    @staticmethod
    def backward(ctx: Function, grad_output: Tensor) -> Tensor:
        log_probs, extended, skip, valid, alpha, nll, infinite, input_lengths = (t.data for t in ctx.saved_tensors)
        lp = log_probs.astype(np.float64)
        emissions = _emissions(lp, extended)
        beta = _beta(emissions, skip, valid, input_lengths)
        with np.errstate(invalid="ignore"):  # an infinite loss: −inf + inf = nan (replaced below)
            posterior = np.exp(alpha + beta - emissions + nll[None, :, None])
        # γ_t(k): the posteriors of the states s with l'_s = k summed (a state's flat index in lp: (t·N + n)·C + l'_s)
        frames, batch, classes = lp.shape
        cell = (np.arange(frames * batch).reshape(frames, batch, 1) * classes + extended).ravel()
        occupancy = np.bincount(cell, weights=posterior.ravel(), minlength=lp.size).reshape(lp.shape)
        grad = np.exp(lp) - occupancy
        grad[:, infinite] = 0.0 if ctx.zero_infinity else np.nan  # PyTorch's: nan for every class of an infinite loss
        grad[np.arange(lp.shape[0])[:, None] >= input_lengths[None, :]] = 0.0  # frames past each input's end
        grad = grad * grad_output.data[None, :, None].astype(np.float64)
        return Tensor._make(grad.astype(grad_output.dtype))


def _extended_labels(targets: np.ndarray, target_lengths: np.ndarray, blank: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """l' per sample, padded to S = 2·max(U) + 1 (N, S); skip(s) (N, S); valid (N, S): s < 2U_n + 1."""
    batch, longest = targets.shape
    extended = np.full((batch, 2 * longest + 1), blank, dtype=np.int64)
    extended[:, 1::2] = targets
    valid = np.arange(extended.shape[1]) < (2 * target_lengths + 1)[:, None]
    extended[~valid] = blank
    skip = extended != _shift(extended, 2, fill=blank)  # blanks never skip: l'_{s−2} is a blank too
    return extended, skip, valid


def _emissions(log_probs: np.ndarray, extended: np.ndarray) -> np.ndarray:
    """lp[t, n, l'_s] (T, N, S) in float64 (the recursions run in float64 whatever the input's dtype)."""
    lp = log_probs.astype(np.float64, copy=False)  # (backward passes it float64 already)
    return np.take_along_axis(lp, np.broadcast_to(extended, (lp.shape[0], *extended.shape)), axis=2)


def _alpha(emissions: np.ndarray, skip: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """α_t(s) for all t (T, N, S) by the forward recursion (module docstring); −inf past each l'."""
    alpha = np.full(emissions.shape, -np.inf)
    alpha[0, :, :2] = emissions[0, :, :2]
    alpha[0][~valid] = -np.inf
    for t in range(1, emissions.shape[0]):
        prev = alpha[t - 1]
        alpha[t] = emissions[t] + _logsumexp3(prev, _shift(prev, 1), np.where(skip, _shift(prev, 2), -np.inf))
        alpha[t][~valid] = -np.inf
    return alpha


def _beta(emissions: np.ndarray, skip: np.ndarray, valid: np.ndarray, input_lengths: np.ndarray) -> np.ndarray:
    """β_t(s) for all t (T, N, S) by the backward recursion, each sample starting at its last frame
    T_n − 1 from its last two states (module docstring); −inf past each input's end and each l'."""
    frames, batch, states = emissions.shape
    last_state = valid.sum(1) - 1  # S_n − 1 = 2U_n
    ends = np.full((batch, states), -np.inf)
    for offset in (0, 1):  # the final blank and, if U_n > 0, the last label
        rows = np.flatnonzero(last_state - offset >= 0)
        ends[rows, last_state[rows] - offset] = 0.0
    beta = np.full(emissions.shape, -np.inf)
    following = np.full((batch, states), -np.inf)
    for t in range(frames - 1, -1, -1):
        reach = _logsumexp3(following, _shift(following, -1), _shift(np.where(skip, following, -np.inf), -2))
        reach = np.where((t == input_lengths - 1)[:, None], ends, reach)
        beta[t] = np.where((t < input_lengths)[:, None] & valid, emissions[t] + reach, -np.inf)
        following = beta[t]
    return beta


def _negative_log_likelihood(alpha: np.ndarray, input_lengths: np.ndarray, target_lengths: np.ndarray) -> np.ndarray:
    """−logsumexp(α_{T_n−1}(S_n−1), α_{T_n−1}(S_n−2)) per sample; an empty input (T_n = 0) has
    probability 1 for an empty target and 0 otherwise."""
    batch = np.arange(alpha.shape[1])
    last = np.maximum(input_lengths - 1, 0)
    final_blank = alpha[last, batch, 2 * target_lengths]
    final_label = np.where(target_lengths > 0, alpha[last, batch, np.maximum(2 * target_lengths - 1, 0)], -np.inf)
    nll = -np.logaddexp(final_blank, final_label)
    return np.where(input_lengths == 0, np.where(target_lengths == 0, 0.0, np.inf), nll)
