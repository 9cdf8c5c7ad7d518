"""Scans and order statistics that ``reduce.py`` does not have: LogCumSumExp, NanMedian.

Notation as in ``ops/elementwise.py``. ``cummax``/``cummin`` need no op of their own: their
values are x read at the running arg-extreme, a ``Gather`` (see ``composites.cummax``), so
their gradient is a scatter-add to those indices, as PyTorch's.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .fpstate import quietly
from .reduce import Median


class LogCumSumExp(Function):
    """Running log Σ exp along ``dim``, computed stably (one logaddexp per step).

    Forward:   y_i = log Σ_{j ≤ i} e^(x_j)            (y_i = logaddexp(y_{i−1}, x_i), never overflows)
    Backward:  ∂L/∂x_j = Σ_{i ≥ j} g_i e^(x_j − y_i)
               = e^(x_j + rlcse(log g⁺ − y)_j) − e^(x_j + rlcse(log g⁻ − y)_j)
               rlcse = logcumsumexp from the end (flip, scan, flip); g⁺ / g⁻ the positive and
               negative parts of g (log 0 taken as a huge negative float), so no term overflows —
               PyTorch's logcumsumexp_backward (after TensorFlow's).
    """

    formula = ("exp(x + rlcse(log g+ - y)) - exp(x + rlcse(log g- - y))",)
    torch_name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx, x, *, dim):
        ctx.dim = dim
        a = x.data.reshape(1) if x.ndim == 0 else x.data
        y = quietly(np.logaddexp.accumulate, a, dim).reshape(x.shape)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return grad_output
        g, d = grad_output, ctx.dim
        # "log 0": PyTorch takes the lowest float; an eighth of it, so that the sums of a few such
        # terms in higher derivatives stay finite too (e^(that) is 0 all the same)
        lowest = np.finfo(g.dtype).min / 8
        # |g| with 0 replaced by 1 before the log, so that neither log 0 nor its slope 1/0 appears
        log_abs_g = g.abs().masked_fill(g.data == 0, 1.0).log()

        def from_the_end(t):
            return LogCumSumExp.apply(t.flip(d), dim=d).flip(d)

        positive = from_the_end(log_abs_g.masked_fill(~(g.data > 0), lowest) - y)
        negative = from_the_end(log_abs_g.masked_fill(~(g.data < 0), lowest) - y)
        return (positive + x).exp() - (negative + x).exp()


class NanMedian(Median):
    """The lower median of the elements that are not NaN (``x.nanmedian()``); the elements
    equal to it share the gradient evenly.

    Forward:   y = sorted(x without NaN)[⌊(k − 1)/2⌋]     (k non-NaN elements; NaN if k = 0)
    Backward:  ∂L/∂x = g ⊙ [x = y] / #{i : x_i = y}      (y NaN: the NaN elements share it)
    """

    torch_name = "NanmedianBackward0"

    @staticmethod
    def pick(a: np.ndarray) -> np.ndarray:
        kept = np.sort(a[~np.isnan(a)]) if a.dtype.kind == "f" else np.sort(a)
        return kept[(kept.size - 1) // 2] if kept.size else np.asarray(np.nan, a.dtype)

