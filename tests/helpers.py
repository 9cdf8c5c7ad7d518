"""The op-test harness: one function per kind of check, shared by every table-driven test.

    check_op(tg_fn, torch_fn, shapes, ...)   forward values, dtype, shape and input gradients vs PyTorch
    check_grad(tg_fn, shapes, ...)           tg.autograd.gradcheck in float64 (central differences)
    check_gradgrad(tg_fn, torch_fn, shapes)  double backward vs torch.autograd.grad(..., create_graph=True)

The idea is tinygrad's ``helper_test_op``: the same seeded inputs go to both libraries.
``check_op`` builds on ``tg.testing.assert_matches_torch``, which seeds each output's
gradient with a *random* tensor (∂Σ(out ⊙ r)/∂x rather than ∂Σ out/∂x, so a backward that
swaps or permutes elements cannot hide behind a gradient of all ones).

Inputs are drawn from a named *domain* (``DOMAINS``) so that each op is tested where it
is defined and differentiable: positive numbers for log and sqrt, values away from the
kinks of relu/abs/clamp, small integers to provoke ties for max and maximum.

A *layout* makes the op see a non-contiguous array, the way it does inside a real graph:
``"transposed"`` draws the input with its dims reversed and permutes it back (a strided
view), ``"strided"`` draws twice as many columns and keeps every other one. The permute
or slice is part of the function given to both libraries, so the gradient that flows back
through it is compared too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu.autograd import engine
from tinygrad_edu.testing import DEFAULT_TOLERANCES, assert_matches_torch

try:  # the reference oracle; test modules that need it call pytest.importorskip("torch")
    import torch
except ImportError:  # pragma: no cover - torch is a test dependency, always present in CI
    torch = None

Shape = tuple[int, ...]
Value = TypeVar("Value")


@contextlib.contextmanager
def temporarily(set_value: Callable[[Value], object], get_value: Callable[[], Value], value: Value) -> Iterator[None]:
    """Run the block with ``set_value(value)``, then put back what ``get_value()`` returned before
    (a kernel setting such as the thread count, for one test)."""
    previous = get_value()
    set_value(value)
    try:
        yield
    finally:
        set_value(previous)


def amx_and_best_isa() -> tuple[bool, str]:
    """Whether the C kernels can use AMX tiles here, and their best ISA level (the one to restore after a
    test forces a lower one); (False, "portable") where the C extension is not built."""
    if "c" not in tg.backend.available():
        return False, "portable"
    from tinygrad_edu.backend import c

    return c.amx_usable(), c.isa()


def c_isa_names() -> tuple[str, list[str]]:
    """The C kernels' best ISA level here (the one to restore after a test forces a lower one) and the names
    of every level this CPU runs, lowest first; ("portable", ["portable"]) where the C extension is not built."""
    if "c" not in tg.backend.available():
        return "portable", ["portable"]
    from tinygrad_edu.backend import c

    return c.isa(), [name for level, name in sorted(c.ISA_NAMES.items()) if level <= c.lib.tg_isa_level()]


# ---- input domains ------------------------------------------------------------------


def _real(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.standard_normal(shape)


def _positive(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _unit(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.uniform(-0.9, 0.9, shape)


def _probability(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Values in [0.05, 0.95]: probabilities away from 0 and 1, where log and 1/x are steep."""
    return rng.uniform(0.05, 0.95, shape)


def _kink_free(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Values in [−2, 2] at least 0.05 away from every multiple of ½ (the kinks of relu,
    abs, leaky_relu at 0 and of clamp at ±½, ±1), so finite differences never straddle one."""
    return 0.5 * rng.integers(-4, 4, shape) + rng.uniform(0.05, 0.45, shape)


def _ties(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Small integers: equal values are common, which is what tie-breaking tests need."""
    return rng.integers(-2, 3, shape).astype(np.float64)


def _index(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Integers in [0, 3) as int64: indices and integer operands (no gradient)."""
    return rng.integers(0, 3, shape)


DOMAINS: dict[str, Callable[[np.random.Generator, Shape], np.ndarray]] = {
    "real": _real,
    "positive": _positive,
    "unit": _unit,
    "probability": _probability,
    "kink_free": _kink_free,
    "ties": _ties,
    "int": _index,
}

LAYOUTS = ("contiguous", "transposed", "strided")


def make_inputs(shapes: Sequence[Shape], domain: str | Sequence[str], dtype: Any, seed: int = 0,
                layout: str = "contiguous") -> list[np.ndarray]:
    """One seeded array per shape. ``domain`` names a ``DOMAINS`` entry (one for all inputs or
    one per input); float inputs get ``dtype``. For a non-contiguous ``layout`` the arrays are
    the *raw* storage that ``apply_layout`` turns back into ``shapes``."""
    domains = [domain] * len(shapes) if isinstance(domain, str) else list(domain)
    if len(domains) != len(shapes):
        raise ValueError(f"make_inputs: {len(shapes)} shapes but {len(domains)} domains")
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, name in zip(shapes, domains):
        raw = _raw_shape(tuple(shape), layout if name != "int" else "contiguous")  # as apply_layout
        a = DOMAINS[name](rng, raw)
        arrays.append(a.astype(dtype) if a.dtype.kind == "f" else a)
    return arrays


def _raw_shape(shape: Shape, layout: str) -> Shape:
    if not shape or layout == "contiguous":
        return shape
    if layout == "transposed":
        return shape[::-1]
    if layout == "strided":
        return (*shape[:-1], 2 * shape[-1])
    raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")


def apply_layout(fn: Callable[..., Any], layout: str) -> Callable[..., Any]:
    """Wrap ``fn`` so each float input with dims is first viewed back into its logical shape
    (a permute or a strided slice: both libraries then hand the op a non-contiguous array)."""
    if layout == "contiguous":
        return fn

    def view(x: Any) -> Any:
        if x.ndim == 0 or "float" not in str(x.dtype):  # indices, masks and scalars stay as they are
            return x
        if layout == "transposed":
            return x.permute(*range(x.ndim - 1, -1, -1))
        return x[..., ::2]

    return lambda *xs: fn(*(view(x) for x in xs))


# ---- the three checks ----------------------------------------------------------------


def check_op(tg_fn: Callable[..., Any], torch_fn: Callable[..., Any] | None, shapes: Sequence[Shape], *,
             domain: str | Sequence[str] = "real", dtype: Any = np.float64, seed: int = 0,
             layout: str = "contiguous", forward_only: bool = False,
             tol32: tuple[float, float] | None = None) -> None:
    """Forward (values, shape, dtype) and input gradients of ``tg_fn`` vs ``torch_fn``.

    ``torch_fn=None`` means ``tg_fn`` itself runs on torch tensors (the APIs agree).
    Raises ``tg.testing.MismatchError`` naming the output or input and its worst element.
    """
    # None: tg.testing picks the tolerance by the dtype of each compared array (float64 rtol 1e-7)
    rtol, atol = tol32 if tol32 is not None and np.dtype(dtype) == np.float32 else (None, None)
    arrays = make_inputs(shapes, domain, dtype, seed, layout)
    assert_matches_torch(apply_layout(tg_fn, layout), apply_layout(torch_fn or tg_fn, layout), *arrays,
                         rtol=rtol, atol=atol, dtype=dtype, seed=seed, check_grad=not forward_only)


def _float64_tensors(arrays: Sequence[np.ndarray]) -> list[tg.Tensor]:
    return [tg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]


def check_grad(tg_fn: Callable[..., Any], shapes: Sequence[Shape], *, domain: str | Sequence[str] = "real",
               seed: int = 0) -> None:
    """``tg.autograd.gradcheck`` of ``tg_fn`` in float64: every analytic input gradient equals
    central differences (a GradcheckError shows the worst element per input otherwise)."""
    inputs = _float64_tensors(make_inputs(shapes, domain, np.float64, seed))
    tg.autograd.gradcheck(tg_fn, inputs)


def _as_list(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _second_derivatives(lib_grad: Callable[..., Any], outs: list[Any], inputs: list[Any], seeds: list[Any],
                        directions: list[Any]) -> list[Any]:
    """For one library: first g = ∂Σ(out ⊙ seed)/∂inputs with create_graph, then the gradient of
    s = Σ_i Σ(g_i ⊙ direction_i) with respect to the inputs and the seeds (None where unused)."""
    firsts = lib_grad(outs, inputs, seeds, create_graph=True, allow_unused=True)
    terms = [(g * v).sum() for g, v in zip(firsts, directions) if g is not None and g.requires_grad]
    if not terms:  # the gradient is a constant (a linear op in its inputs and seeds): all zero
        return [None] * (len(inputs) + len(seeds))
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return list(lib_grad([total], inputs + seeds, None, allow_unused=True))


def check_gradgrad(tg_fn: Callable[..., Any], torch_fn: Callable[..., Any] | None, shapes: Sequence[Shape], *,
                   domain: str | Sequence[str] = "real", seed: int = 0) -> None:
    """Double backward in float64 vs ``torch.autograd.grad(..., create_graph=True)``.

    With random output seeds r (which also require grad) and random directions v, both
    libraries compute g = ∂Σ(out ⊙ r)/∂x recorded, then ∂Σ(g ⊙ v)/∂x and ∂Σ(g ⊙ v)/∂r.
    The second derivatives with respect to x test every backward's own backward; those with
    respect to r test that each backward is linear in the incoming gradient, as it must be.
    """
    rtol, atol = DEFAULT_TOLERANCES[np.dtype(np.float64)]
    arrays = make_inputs(shapes, domain, np.float64, seed)
    rng = np.random.default_rng(seed + 1)
    wanted = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]

    ours_in = _float64_tensors(arrays)
    theirs_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ours_out = [o for o in _as_list(tg_fn(*ours_in)) if o.requires_grad]
    theirs_out = [o for o in _as_list((torch_fn or tg_fn)(*theirs_in)) if o.requires_grad]
    assert len(ours_out) == len(theirs_out), (
        f"{len(ours_out)} differentiable outputs, torch has {len(theirs_out)}")
    seeds = [rng.standard_normal(o.shape) for o in ours_out]
    directions = [rng.standard_normal(arrays[i].shape) for i in wanted]

    ours = _second_derivatives(
        engine.grad, ours_out, [ours_in[i] for i in wanted],
        [tg.tensor(s, requires_grad=True) for s in seeds], [tg.tensor(v) for v in directions])
    theirs = _second_derivatives(
        torch.autograd.grad, theirs_out, [theirs_in[i] for i in wanted],
        [torch.tensor(s, requires_grad=True) for s in seeds], [torch.tensor(v) for v in directions])
    names = [f"input {i}" for i in wanted] + [f"output seed {k}" for k in range(len(seeds))]
    shapes_of = [arrays[i].shape for i in wanted] + [s.shape for s in seeds]
    for name, shape, a, b in zip(names, shapes_of, ours, theirs):
        a = np.zeros(shape) if a is None else a.data
        b = np.zeros(shape) if b is None else b.detach().numpy(force=True)  # force: torch may return a ZeroTensor
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"second derivative wrt {name}")
