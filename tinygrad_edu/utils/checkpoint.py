r"""Activation checkpointing: trade compute for memory (``torch.utils.checkpoint``).

Backward needs the activations forward computed (a ReLU keeps its input, a MatMul its
operands...), so a plain forward keeps every intermediate tensor of the network alive until
backward. ``checkpoint(function, *args)`` runs ``function`` with recording off instead and
keeps only its inputs; when backward reaches it, it runs ``function`` again, this time
recorded, and backpropagates through that fresh graph. Memory for the segment drops from
all its activations to its inputs; the cost is one more forward of the segment.

``checkpoint_sequential(functions, segments, input)`` cuts a chain f_N ∘ … ∘ f_1 into
``segments`` pieces and checkpoints all but the last: with N layers and √N segments the
activations kept fall from O(N) to O(√N), for about one extra forward pass.

The whole mechanism is one custom autograd ``Function`` (``Checkpoint``): its forward runs
the segment (``Function.apply`` runs every forward with recording off) and saves the inputs;
its backward recomputes and calls the engine. Randomness (dropout) must draw the same
numbers twice: with ``preserve_rng_state=True`` forward stores the global generator's state
and the recomputation replays it, then puts back the state it found.

Two variants, as in PyTorch:

``use_reentrant=False`` (recommended)
    The Function's inputs are the tensor arguments *and* the tensors that require grad which
    ``function`` reaches by itself: the parameters of a Module it is (or is a method of, or
    holds), and tensors in its closure, its default and partial arguments, or the globals it
    names. Backward calls ``tg.autograd.grad`` on the recomputed graph, so it works under
    ``tg.autograd.grad`` and with ``create_graph=True`` (grad-of-grad through a checkpoint).
    A tensor requiring grad that the search cannot see (read through another object's
    attribute, say) makes backward raise an error asking to pass it as an argument.

``use_reentrant=True`` (PyTorch's default until it removes it; ``None`` warns and picks it)
    The Function's inputs are the tensor arguments only. Backward recomputes on detached
    copies and runs a whole ``backward`` inside the engine's backward (hence "reentrant"):
    parameters used inside get their ``.grad`` from that inner pass. As in PyTorch: when no
    argument requires grad the output does not either (a warning says so, and parameters
    inside get no gradient), keyword arguments are refused, and the result cannot be
    differentiated twice. Use it with ``loss.backward()``; under ``tg.autograd.grad`` the
    parameters' gradients land in their ``.grad`` rather than in the result (PyTorch raises).
"""

from __future__ import annotations

import functools
import types
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import random
from ..autograd import engine
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..nn.module import Module
from ..tensor import Tensor

_REENTRANT_DEFAULT_WARNING = (
    "tg.utils.checkpoint: the use_reentrant parameter should be passed explicitly; without it "
    "use_reentrant=True is used, as in PyTorch 2.x. use_reentrant=False is recommended (it supports "
    "tg.autograd.grad, keyword arguments and grad-of-grad). See the module docstring for the differences."
)


class Checkpoint(Function):
    """A segment run without recording, recomputed in backward.

    Forward:   y = function(x₁, …, x_k)  computed with recording off; only the x's are saved
    Backward:  with y' = function(x₁, …, x_k) recomputed (recorded, same random state):
               ∂L/∂xᵢ = Σ_j (∂y'_j/∂xᵢ)ᵀ g_j   (the segment's own backward, run by the engine)
    """

    formula = ("recompute function(inputs), backpropagate g through it",)

    @staticmethod
    def forward(ctx: Checkpoint, *tensors: Tensor, run: Callable[[Sequence[Tensor]], Any], num_args: int,
                preserve_rng_state: bool, reentrant: bool, outside: weakref.WeakSet) -> Any:
        ctx.run, ctx.num_args, ctx.reentrant, ctx.outside = run, num_args, reentrant, outside
        ctx.rng_state = random.get_rng_state() if preserve_rng_state else None
        ctx.once_differentiable = reentrant  # the inner backward is not recorded (as PyTorch's reentrant variant)
        ctx.save_for_backward(*tensors)
        outputs = run(tensors[:num_args])
        ctx.output_is_tuple = isinstance(outputs, tuple)
        for out in outputs if ctx.output_is_tuple else (outputs,):
            if not isinstance(out, Tensor):
                raise TypeError(f"checkpoint: the function must return a Tensor or a tuple of Tensors, got an "
                                f"output of type {type(out).__name__}")
        return tuple(out.data for out in outputs) if ctx.output_is_tuple else outputs.data

    @staticmethod
    def backward(ctx: Checkpoint, *grad_outputs: Tensor) -> tuple[Tensor | None, ...]:
        tensors = ctx.saved_tensors
        inputs, outputs = _recompute(ctx, tensors[:ctx.num_args])
        pairs = [(out, g) for out, g in zip(outputs, grad_outputs) if out.requires_grad and g is not None]
        if not pairs:
            raise RuntimeError("checkpoint: none of the outputs of the recomputed function requires grad, so "
                               "this checkpoint is not needed")
        if ctx.reentrant:  # PyTorch's reentrant semantics: a full backward, leaves inside included
            engine.backward([out for out, _ in pairs], [g for _, g in pairs])
            return tuple(t.grad for t in inputs)
        create_graph = is_grad_enabled()  # the engine runs backward in grad mode = create_graph
        wanted = [(i, t) for i, (t, needed) in enumerate(zip([*inputs, *tensors[ctx.num_args:]], ctx.needs_input_grad))
                  if needed]
        reached = _nodes_reached(outputs, {_node(t) for _, t in wanted}, ctx.outside)
        wanted = [(i, t) for i, t in wanted if _node(t) in reached]  # e.g. a parameter of another segment: None
        if create_graph:
            _check_not_shared(inputs, [t for i, t in wanted if i >= ctx.num_args])
        result: list[Tensor | None] = [None] * len(ctx.needs_input_grad)
        if wanted:
            grads = engine.grad([out for out, _ in pairs], [t for _, t in wanted], [g for _, g in pairs],
                                create_graph=create_graph, allow_unused=True)
            for (i, _), g in zip(wanted, grads):
                result[i] = g
        return tuple(result)


def _recompute(ctx: Checkpoint, args: Sequence[Tensor]) -> tuple[list[Tensor], tuple[Tensor, ...]]:
    """Run the segment again, recorded, with the random state forward started from.

    It runs on stand-ins for the arguments, at which the gradient computation stops:
    detached copies (new leaves: neither the reentrant inner backward nor ``grad`` can run
    on into the outer graph and free or double-count it), or, with ``create_graph=True``,
    aliases (``view_as``: a node with an edge to the argument), so that the gradients stay
    connected to the arguments and can be differentiated again.
    Returns (the stand-ins, the outputs as a tuple).
    """
    create_graph = is_grad_enabled()
    state = random.get_rng_state()
    if ctx.rng_state is not None:
        random.set_rng_state(ctx.rng_state)
    try:
        with enable_grad():
            if ctx.reentrant or not create_graph:
                inputs = [t.detach().requires_grad_(t.requires_grad) for t in args]
            else:
                inputs = [t.view_as(t) if t.requires_grad else t.detach() for t in args]
            outputs = ctx.run(inputs)
    finally:
        if ctx.rng_state is not None:
            random.set_rng_state(state)  # the surrounding code draws on as if nothing was replayed
    return inputs, outputs if ctx.output_is_tuple else (outputs,)


def _node(t: Tensor) -> Any:
    """The graph node a gradient for ``t`` is delivered to."""
    return t.grad_fn if t.grad_fn is not None else t._grad_accumulator()


def _nodes_reached(outputs: Sequence[Tensor], stops: set[Any], outside: weakref.WeakSet | None = None) -> set[Any]:
    """The ``stops`` the graph of ``outputs`` reaches, walking no further than them.

    With ``outside`` (the recomputed segment): the walk may end only at the Function's inputs.
    A leaf requiring grad that is not one of them, or a graph computed outside the segment,
    would get no gradient: that is an error.
    """
    stack = [out.grad_fn for out in outputs if out.grad_fn is not None]
    seen, reached = set(stack), set()
    while stack:
        node = stack.pop()
        if node in stops:
            reached.add(node)
            continue
        if outside is not None and (isinstance(node, engine.AccumulateGrad) or node in outside):
            what = node.variable.shape if isinstance(node, engine.AccumulateGrad) else f"{node.name()} output"
            raise RuntimeError(
                f"checkpoint: the function used a tensor that requires grad ({what}) that checkpoint could not "
                "find among its arguments or the Modules/closure it holds, so it would get no gradient; pass it "
                "as an argument to checkpoint (or use use_reentrant=True)")
        for edge in node.next_functions:
            if edge is not None and edge[0] not in seen:
                seen.add(edge[0])
                stack.append(edge[0])
    return reached


def _check_not_shared(aliases: Sequence[Tensor], parameters: Sequence[Tensor]) -> None:
    """With create_graph, ``grad`` walks on past the aliases into the graph that computed the
    arguments whenever a parameter the segment uses also produced them (weight sharing
    across the boundary), and would count that parameter's gradient twice: refuse."""
    behind = [t for t in aliases if t.grad_fn is not None]
    if parameters and _nodes_reached(behind, {_node(p) for p in parameters}):
        raise NotImplementedError(
            "checkpoint (use_reentrant=False) with create_graph=True: a parameter used inside the checkpointed "
            "function also computed its inputs; grad-of-grad through such a checkpoint is not supported")


# ---- finding the tensors a function reaches by itself ----------------------------------------

_SCALARS = (str, bytes, int, float, complex, bool, type(None), np.ndarray, np.generic, type, types.ModuleType)


def _reachable_tensors(roots: Sequence[Any]) -> tuple[list[Tensor], weakref.WeakSet]:
    """The leaf tensors requiring grad that ``roots`` (the function, non-tensor arguments) can
    reach: Module parameters, closure cells, defaults, partial arguments, named globals,
    attributes of plain objects, list/tuple/dict items. Also returns the graph nodes of
    non-leaf tensors found: backward refuses a recomputed graph that runs into one of them."""
    leaves: dict[int, Tensor] = {}
    outside: weakref.WeakSet = weakref.WeakSet()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if isinstance(obj, _SCALARS) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Tensor):
            if obj.requires_grad and obj.grad_fn is None:
                leaves.setdefault(id(obj), obj)
            elif obj.grad_fn is not None:
                outside.add(obj.grad_fn)
        elif isinstance(obj, Module):  # its parameters, its submodules (walked the same way), plain attributes
            stack.extend(obj._parameters.values())
            stack.extend(obj._modules.values())
            stack.extend(v for v in vars(obj).values() if not isinstance(v, dict))  # (the dicts: bookkeeping)
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, functools.partial):
            stack.extend([obj.func, *obj.args, *obj.keywords.values()])
        elif isinstance(obj, types.MethodType):
            stack.extend([obj.__self__, obj.__func__])
        elif isinstance(obj, types.FunctionType):
            stack.extend(cell.cell_contents for cell in obj.__closure__ or () if _filled(cell))
            stack.extend(obj.__defaults__ or ())
            stack.extend((obj.__kwdefaults__ or {}).values())
            stack.extend(obj.__globals__[name] for name in _global_names(obj.__code__) if name in obj.__globals__)
        elif hasattr(obj, "__dict__"):  # a plain object (a callable class instance, a config holding layers)
            stack.extend(vars(obj).values())
    return list(leaves.values()), outside


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell (a name not yet bound) raises
    except ValueError:
        return False
    return True


def _global_names(code: types.CodeType) -> set[str]:
    """Names a function's code (and the lambdas/functions defined in it) may read as globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


# ---- the public functions --------------------------------------------------------------------


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, context_fn: Callable[[], Any] | None = None,
               determinism_check: str = "default", debug: bool = False, **kwargs: Any) -> Any:
    """Return ``function(*args, **kwargs)`` without keeping its activations; recompute them in backward.

    ``function`` returns a Tensor or a tuple of Tensors. ``preserve_rng_state=True`` replays
    the random draws (dropout) of the forward in the recomputation, so the gradients equal
    those of the plain call. See the module docstring for ``use_reentrant``. PyTorch's
    ``context_fn`` and ``debug`` are not supported (an error if set); ``determinism_check``
    is accepted ("default" or "none") and no check is made (the replayed random state and
    NumPy's deterministic kernels make the recomputation equal the forward).
    """
    if context_fn is not None or debug:
        raise NotImplementedError("checkpoint: context_fn and debug are not supported")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"checkpoint: determinism_check must be 'default' or 'none', got {determinism_check!r}")
    if use_reentrant is None:
        warnings.warn(_REENTRANT_DEFAULT_WARNING, stacklevel=2)
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    names = list(kwargs)
    values = [*args, *kwargs.values()]
    slots = [i for i, v in enumerate(values) if isinstance(v, Tensor)]  # the tensors among the arguments

    def run(tensors: Sequence[Tensor]) -> Any:
        filled = list(values)
        for i, t in zip(slots, tensors):
            filled[i] = t
        return function(*filled[:len(args)], **dict(zip(names, filled[len(args):])))

    arg_tensors = [values[i] for i in slots]
    captured, outside = [], weakref.WeakSet()
    if use_reentrant:
        if not any(t.requires_grad for t in arg_tensors) and is_grad_enabled():
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
    elif is_grad_enabled():  # (under no_grad nothing is recorded, so there is nothing to search for)
        others = [v for i, v in enumerate(values) if i not in set(slots)]
        captured, outside = _reachable_tensors([function, *others])
        ids = {id(t) for t in arg_tensors}
        captured = [t for t in captured if id(t) not in ids]
    return Checkpoint.apply(*arg_tensors, *captured, run=run, num_args=len(arg_tensors),
                            preserve_rng_state=preserve_rng_state, reentrant=use_reentrant, outside=outside)


def checkpoint_sequential(functions: Module | Sequence[Callable[[Any], Any]], segments: int, input: Any,
                          use_reentrant: bool | None = None, **kwargs: Any) -> Any:
    """Run ``functions`` (a ``Sequential`` or a list of one-argument callables) in a chain, in
    ``segments`` pieces of ``len // segments`` functions, checkpointing all but the last piece
    (which takes the remainder): the activations kept are the segment boundaries and the last
    piece's. ``preserve_rng_state`` may be passed as a keyword (any other keyword is an error).
    """
    if use_reentrant is None:
        warnings.warn(_REENTRANT_DEFAULT_WARNING, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if isinstance(functions, Module):
        functions = list(functions.children())
    functions = list(functions)
    if not isinstance(segments, int) or not 1 <= segments <= max(len(functions), 1):
        raise ValueError(f"checkpoint_sequential: segments must be an int between 1 and the number of functions "
                         f"({len(functions)}), got {segments!r}")

    def run_segment(segment: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
        # (the closure holds only this segment's functions: checkpoint's search finds their parameters alone)
        def forward(x: Any) -> Any:
            for f in segment:
                x = f(x)
            return x
        return forward

    size = len(functions) // segments
    stop = 0
    for start in range(0, size * (segments - 1), size):
        stop = start + size
        input = checkpoint(run_segment(functions[start:stop]), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_segment(functions[stop:])(input)
