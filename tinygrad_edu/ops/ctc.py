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

How it is computed: every sample and every state s advance together, so the only Python loop is
over the frames, and each step is four NumPy calls writing into preallocated memory. α is kept
with two −inf columns before s = 0, so α_{t−1}(s−1) and α_{t−1}(s−2) are views, not copies (β: two
after the last state); skip(s) is the additive mask 0 / −inf; and the lp entries outside a sample
(states past its l', frames past its input) are −inf in the emissions the recursions read, so no
step needs a mask of its own. np.logaddexp is scalar code (~30 ns an element), so large batches
add their logs with its own formula on NumPy's vectorised exp and log1p instead (``_LogAdder``).
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor


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
        alpha = _alpha(_inside(emissions, valid, input_lengths), _skip_penalty(skip))
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
        beta = _beta(_inside(emissions, valid, input_lengths), _skip_penalty(skip), valid, input_lengths)
        with np.errstate(invalid="ignore"):  # an infinite loss: −inf + inf = nan (replaced below)
            log_posterior = alpha + beta - emissions + nll[None, :, None]
            # 0 below e^−700 (< 1e−304, lost in the sums): np.exp is ~50x slower where it underflows
            posterior = np.exp(log_posterior, out=np.zeros_like(log_posterior), where=log_posterior > -700.0)
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
    skip = extended != blank  # (s < 2: l'_{s−2} taken as a blank; there is no state to jump from)
    skip[:, 2:] = extended[:, 2:] != extended[:, :-2]  # blanks never skip: l'_{s−2} is a blank too
    return extended, skip, valid


def _emissions(log_probs: np.ndarray, extended: np.ndarray) -> np.ndarray:
    """lp[t, n, l'_s] (T, N, S) in float64 (the recursions run in float64 whatever the input's dtype),
    gathered as columns n·C + l'_s of lp seen as (T, N·C): one np.take (take_along_axis: ~25x slower)."""
    frames, batch, classes = log_probs.shape
    columns = (np.arange(batch)[:, None] * classes + extended).ravel()
    flat = log_probs.reshape(frames, batch * classes)
    return np.take(flat, columns, axis=1).astype(np.float64, copy=False).reshape(frames, *extended.shape)


def _inside(emissions: np.ndarray, valid: np.ndarray, input_lengths: np.ndarray) -> np.ndarray:
    """The emissions the recursions read: −inf for the states past each l' and the frames past each
    input's end, so that no path enters them (the backward's posterior reads the plain ones)."""
    frames = np.arange(emissions.shape[0])[:, None, None]
    return np.where(valid[None] & (frames < input_lengths[None, :, None]), emissions, -np.inf)


def _skip_penalty(skip: np.ndarray) -> np.ndarray:
    """0 where skip(s), −inf where not: added to the jump term instead of selecting it."""
    return np.where(skip, 0.0, -np.inf)


# Above this many elements a step adds logs with _LogAdder's seven vectorised calls; below it with
# np.logaddexp, whose one call on scalar code is then cheaper (measured: 2592 elements 10.6 µs
# against 32 µs; 164 elements 3.5 µs against 1.6 µs).
_VECTORISED_FROM = 512


class _LogAdder:
    """out ← log(eᵃ + eᵇ) = max(a, b) + log1p(exp(−|a − b|)), the formula of np.logaddexp (the same
    results), but on NumPy's vectorised exp/log1p instead of its scalar loop; scratch memory is
    allocated once. −|a − b| is nan where both are −inf and exp slows down ~50x where it
    underflows, so it is cut at −700 (e^−700 < 1e−304 changes no sum of logs by more than that)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.vectorised = int(np.prod(shape)) >= _VECTORISED_FROM
        self.low = np.empty(shape)

    def __call__(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        if not self.vectorised:
            np.logaddexp(a, b, out=out)
            return
        low = self.low
        np.minimum(a, b, out=low)
        np.maximum(a, b, out=out)
        np.subtract(low, out, out=low)                             # −|a − b|
        np.fmax(low, -700.0, out=low)                              # (fmax: nan → −700 as well)
        np.exp(low, out=low)
        np.log1p(low, out=low)
        np.add(out, low, out=out)


def _alpha(emissions: np.ndarray, skip_penalty: np.ndarray) -> np.ndarray:
    """α_t(s) for all t (T, N, S) by the forward recursion (module docstring); −inf outside each sample."""
    frames, batch, states = emissions.shape
    padded = np.full((frames, batch, states + 2), -np.inf)  # α_t(s) at [t, :, s + 2]: two −inf columns first
    padded[0, :, 2:4] = emissions[0, :, :2]  # α_0(0), α_0(1) (−inf if that state is outside the sample)
    jump = np.empty((batch, states))
    add_logs = _LogAdder(jump.shape)
    with np.errstate(invalid="ignore"):  # −inf − (−inf) in _LogAdder, handled there
        for t in range(1, frames):
            prev = padded[t - 1]
            np.add(prev[:, :-2], skip_penalty, out=jump)           # α_{t−1}(s−2) where skip(s)
            add_logs(jump, prev[:, 1:-1], out=jump)                # … ⊕ α_{t−1}(s−1)
            add_logs(jump, prev[:, 2:], out=jump)                  # … ⊕ α_{t−1}(s)
            np.add(jump, emissions[t], out=padded[t, :, 2:])       # α_t(s) = lp[t, l'_s] + …
    return padded[:, :, 2:]


def _beta(emissions: np.ndarray, skip_penalty: np.ndarray, valid: np.ndarray, input_lengths: np.ndarray
          ) -> np.ndarray:
    """β_t(s) for all t (T, N, S) by the backward recursion, each sample starting at its last frame
    T_n − 1 from its last two states (module docstring); −inf outside each sample."""
    frames, batch, states = emissions.shape
    last_state = valid.sum(1) - 1  # S_n − 1 = 2U_n
    ends = np.full((batch, states), -np.inf)
    for offset in (0, 1):  # the final blank and, if U_n > 0, the last label
        rows = np.flatnonzero(last_state - offset >= 0)
        ends[rows, last_state[rows] - offset] = 0.0
    starts = np.arange(frames)[:, None, None] == (input_lengths - 1)[None, :, None]  # (T, N, 1): t = T_n − 1
    jump_penalty = np.full_like(skip_penalty, -np.inf)  # skip(s + 2): the jump from s to s + 2 allowed
    jump_penalty[:, :-2] = skip_penalty[:, 2:]
    padded = np.full((frames + 1, batch, states + 2), -np.inf)  # β_t(s) at [t, :, s]; β_T = −inf, two −inf after
    reach = np.empty((batch, states))
    add_logs = _LogAdder(reach.shape)
    with np.errstate(invalid="ignore"):
        for t in range(frames - 1, -1, -1):
            following = padded[t + 1]
            np.add(following[:, 2:], jump_penalty, out=reach)      # β_{t+1}(s+2) where skip(s+2)
            add_logs(reach, following[:, 1:-1], out=reach)         # … ⊕ β_{t+1}(s+1)
            add_logs(reach, following[:, :-2], out=reach)          # … ⊕ β_{t+1}(s)
            np.copyto(reach, ends, where=starts[t])                # a sample's last frame: its two end states
            np.add(reach, emissions[t], out=padded[t, :, :-2])     # β_t(s) = lp[t, l'_s] + …
    return padded[:-1, :, :-2]


def _negative_log_likelihood(alpha: np.ndarray, input_lengths: np.ndarray, target_lengths: np.ndarray) -> np.ndarray:
    """−logsumexp(α_{T_n−1}(S_n−1), α_{T_n−1}(S_n−2)) per sample; an empty input (T_n = 0) has
    probability 1 for an empty target and 0 otherwise."""
    batch = np.arange(alpha.shape[1])
    last = np.maximum(input_lengths - 1, 0)
    final_blank = alpha[last, batch, 2 * target_lengths]
    final_label = np.where(target_lengths > 0, alpha[last, batch, np.maximum(2 * target_lengths - 1, 0)], -np.inf)
    nll = -np.logaddexp(final_blank, final_label)
    return np.where(input_lengths == 0, np.where(target_lengths == 0, 0.0, np.inf), nll)
