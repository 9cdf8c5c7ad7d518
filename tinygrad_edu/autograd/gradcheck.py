"""``gradcheck``: compare autograd's gradients with central finite differences.

For every input x that requires grad and every element x_j, the numeric derivative is

    ∂f_i/∂x_j ≈ (f_i(x + ε e_j) − f_i(x − ε e_j)) / 2ε         (error O(ε²))

and the analytic one is row i of the Jacobian, from a backward pass seeded with the unit
vector e_i. They must agree within ``atol + rtol·|numeric|``. Both run in float64:
in float32 the rounding error of f (~1e-7·|f|/ε) would swamp the comparison.

``gradgradcheck`` applies the same test to the gradient function itself, which checks
that every backward used on the way is differentiable and correct (grad-of-grad).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import engine


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message shows each input's worst element."""


def _outputs_of(fn: Callable[..., Any], inputs: Sequence[Any]) -> list[Any]:
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _numeric_jacobians(fn, inputs, checked, eps) -> list[np.ndarray]:
    """One (n_outputs_total, input.numel) matrix per checked input, by central differences."""
    from ..tensor import Tensor

    def flat_outputs(values: list[np.ndarray]) -> np.ndarray:
        # fresh tensors with the same requires_grad, since fn may itself differentiate (gradgradcheck)
        args = [Tensor(v, requires_grad=a.requires_grad) if isinstance(a, Tensor) else a
                for v, a in zip(values, inputs)]
        outs = _outputs_of(fn, args)
        return np.concatenate([o.data.reshape(-1).astype(np.float64) for o in outs])

    base = [a.data.copy() if isinstance(a, Tensor) else a for a in inputs]
    jacobians = []
    for i in checked:
        x = base[i]
        columns = []
        for j in range(x.size):
            original = x.flat[j]
            x.flat[j] = original + eps
            plus = flat_outputs(base)
            x.flat[j] = original - eps
            minus = flat_outputs(base)
            x.flat[j] = original
            columns.append((plus - minus) / (2 * eps))
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def _analytic_jacobians(fn, inputs, checked) -> list[np.ndarray]:
    """The same matrices from autograd: one backward pass per output element."""
    from ..tensor import Tensor

    outs = [o for o in _outputs_of(fn, inputs) if isinstance(o, Tensor)]
    targets = [inputs[i] for i in checked]
    rows: list[list[np.ndarray]] = [[] for _ in checked]
    for out in outs:
        for k in range(out.numel()):
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.flat[k] = 1.0
            if out.requires_grad:
                grads = engine.grad([out], targets, [Tensor._make(seed)], retain_graph=True, allow_unused=True)
            else:
                grads = (None,) * len(targets)
            for row, g, x in zip(rows, grads, targets):
                row.append(np.zeros(x.numel()) if g is None else g.data.reshape(-1).astype(np.float64))
    return [np.stack(r) if r else np.zeros((0, inputs[i].numel())) for r, i in zip(rows, checked)]


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` (float64 tensors) against finite differences.

    ``fn`` returns a Tensor or a tuple of Tensors. Every input with ``requires_grad=True``
    is checked. Returns True, or raises ``GradcheckError`` (False if
    ``raise_exception=False``) with, per input, the worst element: analytic, numeric,
    difference.
    """
    from ..tensor import Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} is {inputs[i].dtype}; use float64 (.double()), since float32 "
                "rounding makes finite differences meaningless"
            )
    numeric = _numeric_jacobians(fn, inputs, checked, eps)
    analytic = _analytic_jacobians(fn, inputs, checked)
    lines = []
    for i, a, n in zip(checked, analytic, numeric):
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        if excess.size and (np.any(excess > 0) or not np.all(np.isfinite(a) == np.isfinite(n))):
            out_k, in_j = np.unravel_index(np.argmax(np.nan_to_num(excess, nan=np.inf)), excess.shape)
            where = [int(k) for k in np.unravel_index(in_j, inputs[i].shape)] if inputs[i].ndim else ()
            lines.append(
                f"  input {i} (shape {inputs[i].shape}), output element {out_k}, input element {tuple(where)}: "
                f"analytic {a[out_k, in_j]:.10g}, numeric {n[out_k, in_j]:.10g}, "
                f"difference {a[out_k, in_j] - n[out_k, in_j]:.3g}"
            )
    if lines:
        if not raise_exception:
            return False
        raise GradcheckError(
            f"gradcheck: analytic and numeric gradients differ (atol={atol}, rtol={rtol}); "
            "worst element per input:\n" + "\n".join(lines)
        )
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Gradcheck the gradient of ``fn``: checks that its backward is itself differentiable.

    The function checked is ``inputs ↦ grad(fn(inputs), inputs, grad_outputs)``, built with
    ``create_graph=True``; ``grad_outputs`` are random float64 tensors unless given.
    """
    from ..tensor import Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    outs = _outputs_of(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor._make(rng.standard_normal(o.shape)) for o in outs]
    grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
    checked = [i for i, a in enumerate(inputs) if isinstance(a, Tensor) and a.requires_grad]

    def first_derivatives(*args: Any) -> tuple[Any, ...]:
        results = _outputs_of(fn, args)
        grads = engine.grad(results, [args[i] for i in checked], grad_outputs,
                            create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor._make(np.zeros(args[i].shape)) for g, i in zip(grads, checked))

    return gradcheck(first_derivatives, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
