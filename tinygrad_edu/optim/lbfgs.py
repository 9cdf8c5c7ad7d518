"""L-BFGS (Nocedal 1980; Liu & Nocedal 1989), iterate for iterate as PyTorch (which follows minFunc).

Unlike the other optimisers, one ``step(closure)`` runs a whole inner loop of up to ``max_iter``
iterations, each of which evaluates the model again through the closure. All parameters are
viewed as one flat vector θ (their flattened values, concatenated in order), so the curvature
pairs couple every parameter with every other. Written in NumPy only: the work per iteration is
a few dot products over the history, not an element-wise pass worth a C kernel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor
from .optimizer import Optimizer, Params, check_non_negative

Objective = Callable[[float, np.ndarray], tuple[float, np.ndarray]]  # t, d ↦ (f(θ + t d), ∇f(θ + t d))


class LBFGS(Optimizer):
    r"""L-BFGS: quasi-Newton steps d = −H g, with H built from the last m pairs of steps and gradient changes.

    input: γ (lr), θ₀ (params), f (closure), m (history_size), max_iter, max_eval,
           tolerance_grad, tolerance_change, line_search_fn
    initialize (at the first iteration ever): d ← −g, H₀ ← 1, no pairs
    every step(closure):
        f, g ← closure()                                   (f(θ) and ∇f(θ) as one flat vector)
        if max|g| ≤ tolerance_grad:  return                (already optimal)
        for k = 1 … max_iter:
            if not the first iteration ever:
                y ← g − g_prev;  s ← t d
                if yᵀs > 10⁻¹⁰:                            (keep only pairs of positive curvature)
                    push (s, y, ρ = 1 / yᵀs), dropping the oldest beyond m;  H₀ ← yᵀs / yᵀy
                d ← −H g                                   (the two-loop recursion, ``_two_loop``)
            g_prev ← g;  f_prev ← f
            t ← min(1, 1 / Σ|g|) γ at the first iteration ever, else γ
            if gᵀd > −tolerance_change:  stop              (d is not a descent direction)
            if line_search_fn = "strong_wolfe":
                t, f, g ← the strong-Wolfe line search along d from t;  θ ← θ + t d
            else:
                θ ← θ + t d;  f, g ← closure() unless k = max_iter
            stop if k = max_iter, max_eval evaluations were spent, max|g| ≤ tolerance_grad,
                 max|t d| ≤ tolerance_change, or |f − f_prev| < tolerance_change
        return the closure's first loss

    H is never formed: the two-loop recursion applies the product of the m rank-two updates
    of BFGS, (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, to g, starting from H₀ I. The state
    (the pairs, d, t, g_prev, counters) lives in ``state`` of the first parameter, under
    PyTorch's names: old_dirs (y), old_stps (s), ro (ρ), H_diag (H₀), d, t, prev_flat_grad,
    prev_loss, al, func_evals, n_iter.

    Like PyTorch's, it takes one parameter group only, and needs the closure.
    """

    def __init__(self, params: Params, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_iter * 5 // 4 if max_eval is None else max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: parameter groups are not supported (one set of options for all parameters)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _validate(self, options: dict[str, Any]) -> None:
        check_non_negative(self, options, "lr", "tolerance_grad", "tolerance_change")
        if options["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {options['line_search_fn']!r}")
        if options["line_search_fn"] is not None and options["max_eval"] < 1:  # the line search gets max_eval − 1
            raise ValueError(f"LBFGS: max_eval must be at least 1 with a line search, got {options['max_eval']}")

    # ---- the parameters as one flat vector -------------------------------------------------

    def _gather_flat_grad(self) -> np.ndarray:
        """∇f as one vector (zeros for a parameter without a gradient)."""
        return np.concatenate([np.zeros(p.data.size, p.dtype) if p.grad is None else p.grad.data.ravel()
                               for p in self._params])

    def _add_step(self, step_size: float, direction: np.ndarray) -> None:
        """θ ← θ + step_size · d, in place on every parameter."""
        offset = 0
        for p in self._params:
            p.data += step_size * direction[offset:offset + p.data.size].reshape(p.shape)
            offset += p.data.size
            p._count_write()

    def _set_params(self, values: list[np.ndarray]) -> None:
        for p, value in zip(self._params, values):
            p.data[...] = value
            p._count_write()

    def _evaluate(self, closure: Callable[[], Any]) -> tuple[Any, float, np.ndarray]:
        """The closure's loss (as returned and as a float) and the flat gradient it leaves."""
        with enable_grad():
            loss = closure()
        return loss, float(loss), self._gather_flat_grad()

    def _directional_evaluate(self, closure: Callable[[], Any], x: list[np.ndarray], t: float,
                              d: np.ndarray) -> tuple[float, np.ndarray]:
        """f and ∇f at θ + t d (for the line search), then θ back to ``x``."""
        self._add_step(t, d)
        _, value, gradient = self._evaluate(closure)
        self._set_params(x)
        return value, gradient

    # ---- one step --------------------------------------------------------------------------

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; return the loss of the first closure call."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, loss, flat_grad = self._evaluate(closure)       # f, g ← closure()
        current_evals = 1
        state["func_evals"] += 1
        if np.abs(flat_grad).max() <= tolerance_grad:               # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_dirs, old_stps, ro, H_diag = -flat_grad, [], [], [], 1.0   # d ← −g, H₀ ← 1
            else:
                y = flat_grad - prev_flat_grad                     # y ← g − g_prev
                s = d * t                                          # s ← t d
                ys = float(y.dot(s))
                if ys > 1e-10:                                     # a pair of positive curvature
                    if len(old_dirs) == group["history_size"]:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)                            # ρ = 1 / yᵀs
                    H_diag = ys / float(y.dot(y))                  # H₀ ← yᵀs / yᵀy
                al = state.setdefault("al", [None] * group["history_size"])
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, al)    # d ← −H g
            prev_flat_grad = flat_grad.copy()                       # g_prev ← g
            prev_loss = loss
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad.dot(d))                          # gᵀd
            if gtd > -tolerance_change:                            # not a descent direction
                break

            evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x_init = [p.data.copy() for p in self._params]
                objective = functools.partial(self._directional_evaluate, closure, x_init)
                # as torch: the line search keeps its own tolerance_change (1e-9), not the optimiser's
                loss, flat_grad, t, evals = _strong_wolfe(objective, t, d, loss, flat_grad, gtd,
                                                          max_ls=max_eval - current_evals)
                self._add_step(t, d)                               # θ ← θ + t d
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_step(t, d)                               # θ ← θ + t d
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss is not needed: the next step() computes it
                    _, loss, flat_grad = self._evaluate(closure)
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    evals = 1
            current_evals += evals
            state["func_evals"] += evals

            if (n_iter == max_iter or current_evals >= max_eval or opt_cond
                    or np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change):
                break

        state.update({"d": d, "t": t, "old_dirs": old_dirs, "old_stps": old_stps, "ro": ro, "H_diag": H_diag,
                      "prev_flat_grad": prev_flat_grad, "prev_loss": prev_loss})
        return orig_loss

    # ---- state dicts -----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """As the base class, with the history lists copied too (so the dict is a snapshot)."""
        saved = super().state_dict()
        for state in saved["state"].values():
            for name, value in state.items():
                if isinstance(value, list):
                    state[name] = [v.copy() if isinstance(v, np.ndarray) else v for v in value]
        return saved

    def _restore_value(self, name: str, value: Any, p: Tensor) -> Any:
        """Flat vectors and 0-d values (PyTorch's tensors) as NumPy arrays and floats; lists element by element."""
        if isinstance(value, list):
            return [None if v is None else self._restore_value(name, v, p) for v in value]
        if isinstance(value, (int, float)):
            return value
        array = np.array(value.data if isinstance(value, Tensor) else value, dtype=p.dtype, copy=True)
        return float(array) if array.ndim == 0 else array


def _two_loop(flat_grad: np.ndarray, old_dirs: list[np.ndarray], old_stps: list[np.ndarray], ro: list[float],
              H_diag: float, al: list[Any]) -> np.ndarray:
    """−H g by the two-loop recursion over the pairs (s_i, y_i, ρ_i), oldest first, from H₀ = H_diag · I."""
    q = -flat_grad
    for i in range(len(old_dirs) - 1, -1, -1):                     # newest to oldest
        al[i] = float(old_stps[i].dot(q)) * ro[i]                  # α_i ← ρ_i s_iᵀ q
        q -= al[i] * old_dirs[i]                                   # q ← q − α_i y_i
    r = q * H_diag                                                 # r ← H₀ q
    for i in range(len(old_dirs)):                                 # oldest to newest
        be_i = float(old_dirs[i].dot(r)) * ro[i]                   # β_i ← ρ_i y_iᵀ r
        r += (al[i] - be_i) * old_stps[i]                          # r ← r + (α_i − β_i) s_i
    return r


def _cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                       bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to ``bounds``.

    Bounds default to [min(x1, x2), max(x1, x2)]; without a real minimiser the bounds' midpoint.
    """
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (xmin_bound + xmax_bound) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, xmin_bound), xmax_bound)


def _strong_wolfe(objective: Objective, t: float, d: np.ndarray, f: float, g: np.ndarray, gtd: float,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple[float, np.ndarray, float, int]:
    """A step t along d satisfying the strong Wolfe conditions -> (f_new, g_new, t, evaluations).

        sufficient decrease:  f(θ + t d) ≤ f + c1 t gᵀd
        curvature:            |∇f(θ + t d)ᵀd| ≤ −c2 gᵀd

    First grow t (cubic extrapolation) until an interval [t_lo, t_hi] must contain such a step,
    then shrink it (cubic interpolation, kept away from the ends) until a step satisfies both
    (Nocedal & Wright, Algorithms 3.5 and 3.6, as minFunc and PyTorch write them).
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = objective(t, d)
    evals = 1
    gtd_new = float(g_new.dot(d))
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    # ---- bracketing phase: find an interval that contains a point satisfying the conditions
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10       # extrapolate
        t_prev, t = t, _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = objective(t, d)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
    if ls_iter == max_ls:  # out of evaluations: the best of the start and the last point
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # ---- zoom phase: shrink the bracket until a point satisfies the conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:   # the interval is too small
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # keep t at least 10 % of the interval from its ends, unless the last step already made progress there
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = objective(t, d)
        evals += 1
        gtd_new = float(g_new.dot(d))
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:   # the old high end becomes the low end
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos] = t, f_new, g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], evals
