"""``tg.testing``: check your own ops the way tinygrad_edu checks its own.

    from tinygrad_edu import testing
    testing.gradcheck(fn, inputs)                 # analytic vs central differences, float64
    testing.gradgradcheck(fn, inputs)             # the same for the gradient (create_graph)
    testing.assert_matches_torch(lambda x, w: x @ w, lambda x, w: x @ w, (3, 4), (4, 2))
    from tinygrad_edu.testing import strategies   # hypothesis strategies (needs hypothesis)

``assert_matches_torch(tg_fn, torch_fn, *shapes_or_arrays)`` runs both functions on the
same inputs (a shape becomes a seeded standard-normal array; an array is used as given),
compares every output (shape, dtype, values), then seeds each output with the same random
upstream gradient ``g`` and compares every input gradient ∂(Σ out ⊙ g)/∂input. A random
``g`` rather than ``out.sum()`` catches a backward that swaps or permutes elements.
Values agree when ``|tg − torch| ≤ atol + rtol·|torch|`` elementwise, with defaults by
dtype (``DEFAULT_TOLERANCES``): float64 is tight, float32 looser, because two correct
float32 implementations that add in a different order differ by a few ulps times the
number of terms. On failure the message names the output or input and its worst element.

What the gradient is at a kink
------------------------------
A function like ReLU has no derivative at 0; autodiff must still return a number there.
tinygrad_edu returns what PyTorch returns, so gradients agree at every point, kinks included
(each line is proven against PyTorch in ``tests/test_testing_toolkit.py``):

    relu'(0) = 0                    ReLU: g ⊙ [x > 0]
    abs'(0) = 0                     Abs: g ⊙ sign(x), and sign(0) = 0
    max()/min(), amax/amin          tied extremes share the gradient evenly: each of k ties gets g/k
    maximum(x, w)/minimum(x, w)     on x = w each input gets g/2
    max(dim)/min(dim)               the gradient goes only to the returned index (the first extreme)
    clamp(x, lo, hi)                x = lo or x = hi passes the gradient: g ⊙ [lo ≤ x ≤ hi]

Finite differences straddle a kink, so ``gradcheck`` fails there for any convention: keep
random test inputs away from kinks (``strategies.well_conditioned_arrays`` does) and test
the kink values themselves against PyTorch, as above.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import GradcheckError, gradcheck, gradgradcheck
from ..autograd import engine as _engine
from ..tensor import Tensor

# (rtol, atol) by dtype: float64 agrees to rounding; float32 to a few ulps of accumulated error.
DEFAULT_TOLERANCES: dict[np.dtype, tuple[float, float]] = {
    np.dtype(np.float64): (1e-7, 1e-10),
    np.dtype(np.float32): (1e-4, 1e-5),
    np.dtype(np.float16): (1e-2, 1e-3),
}


class TorchUnavailableError(ImportError):
    """PyTorch is not installed, so there is nothing to compare against.

    A subclass of ImportError: in a pytest suite, ``pytest.importorskip("torch")`` skips
    cleanly, or catch this error to skip.
    """


class MismatchError(AssertionError):
    """tinygrad_edu and PyTorch disagree; the message shows where and by how much."""


def _torch() -> Any:
    """Import torch only when a comparison is asked for: tinygrad_edu never needs it."""
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise TorchUnavailableError(
            "assert_matches_torch needs PyTorch (pip install torch); use gradcheck to test without it"
        ) from error


def _as_array(arg: Any, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """A shape (tuple or int) becomes seeded N(0, 1) data of ``dtype``; anything else is data."""
    if isinstance(arg, int) or (isinstance(arg, tuple) and all(isinstance(n, int) for n in arg)):
        shape = (arg,) if isinstance(arg, int) else arg
        return rng.standard_normal(shape).astype(dtype)
    if isinstance(arg, Tensor):
        return arg.data.copy()
    return np.array(arg, copy=True)


def _tolerances(dtype: np.dtype, rtol: float | None, atol: float | None) -> tuple[float, float]:
    default_rtol, default_atol = DEFAULT_TOLERANCES.get(np.dtype(dtype), DEFAULT_TOLERANCES[np.dtype(np.float32)])
    return (default_rtol if rtol is None else rtol), (default_atol if atol is None else atol)


def _compare(what: str, actual: np.ndarray, expected: np.ndarray, rtol: float | None, atol: float | None) -> None:
    """Raise MismatchError naming ``what`` and its worst element unless the arrays agree."""
    if actual.shape != expected.shape:
        raise MismatchError(f"assert_matches_torch: {what} has shape {actual.shape}, torch gives {expected.shape}")
    if actual.dtype != expected.dtype:
        raise MismatchError(f"assert_matches_torch: {what} is {actual.dtype}, torch gives {expected.dtype}")
    if not np.issubdtype(expected.dtype, np.floating):
        if not np.array_equal(actual, expected):
            bad = tuple(int(i) for i in np.argwhere(actual != expected)[0])
            raise MismatchError(f"assert_matches_torch: {what} differs at {bad}: "
                                f"tinygrad_edu {actual[bad]}, torch {expected[bad]}")
        return
    rtol, atol = _tolerances(expected.dtype, rtol, atol)
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    same_nonfinite = (a == e) | (np.isnan(a) & np.isnan(e))  # inf == inf, nan "==" nan
    with np.errstate(invalid="ignore"):  # inf − inf where both are inf: nan, masked by same_nonfinite
        excess = np.where(same_nonfinite, -np.inf, np.abs(a - e) - (atol + rtol * np.abs(e)))
    excess = np.nan_to_num(excess, nan=np.inf, posinf=np.inf)
    if excess.size and np.max(excess) > 0:
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        raise MismatchError(
            f"assert_matches_torch: {what} differs (rtol={rtol:g}, atol={atol:g}); "
            f"{int(np.sum(excess > 0))} of {excess.size} elements out of tolerance, worst at "
            f"{tuple(int(i) for i in worst)}: tinygrad_edu {a[worst]:.10g}, torch {e[worst]:.10g}, "
            f"difference {a[worst] - e[worst]:.3g}"
        )


def _outputs(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def assert_matches_torch(
    tg_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    *shapes_or_arrays: Any,
    rtol: float | None = None,
    atol: float | None = None,
    dtype: Any = np.float64,
    seed: int = 0,
    check_grad: bool = True,
) -> None:
    """Assert that ``tg_fn`` and ``torch_fn`` agree in forward values and input gradients.

    Each positional argument is a shape (random N(0, 1) inputs of ``dtype``, seeded by
    ``seed``) or an array/Tensor used as given. Floating inputs require grad; integer and
    boolean ones (indices, masks) are passed as they are. Outputs may be one tensor or a
    tuple (e.g. ``max(dim)``'s values and indices). ``rtol``/``atol`` default by dtype
    (``DEFAULT_TOLERANCES``). Raises ``MismatchError`` (an AssertionError) on a difference,
    ``TorchUnavailableError`` (an ImportError) when PyTorch is not installed.
    """
    torch = _torch()
    rng = np.random.default_rng(seed)
    arrays = [_as_array(arg, rng, np.dtype(dtype)) for arg in shapes_or_arrays]
    differentiable = [np.issubdtype(a.dtype, np.floating) for a in arrays]
    tg_inputs = [Tensor(a.copy(), requires_grad=d) for a, d in zip(arrays, differentiable)]
    torch_inputs = [torch.tensor(a.copy(), requires_grad=d) for a, d in zip(arrays, differentiable)]

    tg_outs, torch_outs = _outputs(tg_fn(*tg_inputs)), _outputs(torch_fn(*torch_inputs))
    if len(tg_outs) != len(torch_outs):
        raise MismatchError(f"assert_matches_torch: tinygrad_edu returned {len(tg_outs)} outputs, "
                            f"torch {len(torch_outs)}")
    for k, (ours, theirs) in enumerate(zip(tg_outs, torch_outs)):
        _compare(f"output {k}", np.asarray(ours.data), theirs.detach().numpy(), rtol, atol)
    if not check_grad or not any(differentiable):
        return

    pairs = [(o, t) for o, t in zip(tg_outs, torch_outs) if o.requires_grad and t.requires_grad]
    if not pairs:
        return
    seeds = [rng.standard_normal(t.shape).astype(t.detach().numpy().dtype) for _, t in pairs]
    wanted = [i for i, d in enumerate(differentiable) if d]
    ours = _engine.grad([o for o, _ in pairs], [tg_inputs[i] for i in wanted],
                        [Tensor(s) for s in seeds], allow_unused=True)
    theirs = torch.autograd.grad([t for _, t in pairs], [torch_inputs[i] for i in wanted],
                                 [torch.tensor(s) for s in seeds], allow_unused=True)
    for i, g_ours, g_theirs in zip(wanted, ours, theirs):
        zeros = np.zeros_like(arrays[i])  # an unused input has gradient zero in both libraries
        _compare(f"gradient of input {i}", zeros if g_ours is None else g_ours.data,
                 zeros if g_theirs is None else g_theirs.numpy(), rtol, atol)


def __getattr__(name: str) -> Any:
    """``tg.testing.strategies`` imports hypothesis only when it is first used (a test extra)."""
    if name == "strategies":
        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_TOLERANCES",
    "GradcheckError",
    "MismatchError",
    "TorchUnavailableError",
    "assert_matches_torch",
    "gradcheck",
    "gradgradcheck",
]
