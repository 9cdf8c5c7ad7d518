r"""Activation checkpointing: trade compute for memory (``torch.utils.checkpoint``).

Backward needs the activations forward computed (a ReLU keeps its input, a MatMul its
operands...), so a plain forward keeps every intermediate tensor of the network alive until
backward. ``checkpoint(function, *args)`` keeps only the segment's inputs instead; when
backward reaches it, it runs ``function`` again, this time recorded, and backpropagates
through that fresh graph. Memory for the segment drops from all its activations to its
inputs; the cost is one more forward of the segment.

``checkpoint_sequential(functions, segments, input)`` cuts a chain f_N ∘ … ∘ f_1 into
``segments`` pieces and checkpoints all but the last: with N layers and √N segments the
activations kept fall from O(N) to O(√N), for about one extra forward pass.

The mechanism is one custom autograd ``Function`` (``Checkpoint``) whose backward recomputes
the segment and calls the engine on it. Randomness (dropout) must draw the same numbers
twice: with ``preserve_rng_state=True`` the global generator's state at the start of the
segment is stored and the recomputation replays it, then puts back the state it found.

Two variants, as in PyTorch:

``use_reentrant=False`` (recommended)
    The segment must send gradients to every tensor requiring grad it uses: its arguments,
    but also the parameters of the layers it calls and any tensor it reads from a closure,
    a global or an attribute. Nothing needs to be searched for: the graph tells.

    forward
      1. Run the function *recorded*, on stand-ins of the arguments (detached copies, so the
         recording stops at them). Keep the outputs' arrays and, of the graph, only weak
         references to its nodes, the edges between them, and its ops (name, output shapes
         and dtypes): ``_Recording``.
      2. Drop the recording: the segment's nodes die with it, the nodes of tensors computed
         before the call live on (those tensors hold them). A live node that leads to a dead
         one, or to a stand-in, is the segment's all the same (the function left a reference
         to it: a node made before the call cannot lead to one made during it). An edge
         from the segment's nodes to a node from before the call, or to a leaf's
         ``AccumulateGrad`` (a parameter) other than a stand-in's, leaves the segment: its
         target is a tensor of the *boundary*.
      3. Make the ``Checkpoint`` node, its inputs the arguments and the boundary, its outputs
         the kept arrays; it saves the arguments only. The engine orders and delivers the
         boundary's gradients as for any op's inputs (``tg.autograd.grad`` and
         ``create_graph=True``, grad-of-grad, included).
    backward
      4. Run the function again, recorded, on new stand-ins of the saved arguments, with the
         random state forward started from. With ``determinism_check="default"`` it must run
         the same ops (names, output shapes and dtypes), or backward raises instead of
         returning gradients of some other computation.
      5. Compute the gradients of the stand-ins and of the boundary on that fresh graph,
         stopping at the boundary (an edge to a non-leaf, or to a leaf with hooks, leads to a
         fresh leaf while it runs): the outer backward carries them on from the Checkpoint
         node, and runs the boundary tensors' hooks, once.

    This is PyTorch's design in spirit: its forward is recorded too, the activations being
    packed away by saved-tensor hooks; here the whole recording goes and backward records again.
    Backward starts from the recomputed outputs, so the whole function runs again. PyTorch's
    recomputation (early stop, its default) ends once it has unpacked every saved tensor, so
    code after the segment's last saved activation runs once there: a side effect of the
    function (appending to a list after its last op) happens twice here, once in PyTorch.
    A tensor the function returns without computing it (an argument, a parameter, a constant,
    a tensor made before the call) comes back as that very tensor, as from PyTorch's; the
    outputs it computes are the Checkpoint node's. Under ``no_grad`` nothing is recorded or
    recomputed: checkpoint is the plain call, as PyTorch's.

``use_reentrant=True`` (PyTorch's default until it removes it; ``None`` warns and picks it)
    The Function's inputs are the tensor arguments only, and forward runs with recording
    off. Backward recomputes on detached copies and runs a whole ``backward`` inside the
    engine's backward (hence "reentrant"): parameters used inside get their ``.grad`` from
    that inner pass. As in PyTorch: when no argument requires grad the output does not
    either (a warning says so, and parameters inside get no gradient), keyword arguments are
    refused, and the result cannot be differentiated twice. Use it with ``loss.backward()``;
    under ``tg.autograd.grad`` the parameters' gradients land in their ``.grad`` rather than
    in the result (PyTorch raises).
    A non-leaf tensor the function reads from outside its arguments (a closure over
    ``z = w * 2``) is part of the recomputed graph: the inner backward runs on through z's graph
    (w gets its gradient there) and, never retaining it, frees it, as PyTorch's does; a later
    backward through that graph raises. So does one that also uses z outside the segment, in
    PyTorch always (its engine runs a node before every node made before it, so the Checkpoint
    node before z's), here unless this engine's depth-first order reaches z's nodes from the
    outer graph first with ``retain_graph=True`` (that backward then gives the plain run's
    gradients, the next one raises). Pass such a tensor as an argument instead.
    Every output is a new tensor, the Checkpoint node's, as PyTorch's for an argument returned
    as it is. A tensor the function was not given and returns as it is (a parameter, a closure's
    tensor) PyTorch 2.13 returns as itself, its history rewritten in place: in grad mode it
    becomes an output of the checkpoint node (a parameter is no longer a leaf, and backward
    re-enters that node without end), under ``no_grad`` it is detached (a parameter no longer
    requires grad). Here such a tensor is left as it was and gets the plain call's gradients.
"""

from __future__ import annotations

import gc
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
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

_A_TENSOR = object()  # where an output Tensor was in what the function returned (see _Segment.layout)
Node = Any  # a Function instance (an op's node) or an engine.AccumulateGrad
Signature = list[tuple[str, tuple[Any, ...]]]  # the segment's ops: (name, ((shape, dtype) per output))


class Checkpoint(Function):
    """A segment whose activations are not kept, recomputed in backward.

    Forward:   y = function(x₁, …, x_k)  (its inputs x: the arguments, then, with
               use_reentrant=False, the parameters and outside tensors it reads); only the
               arguments are saved
    Backward:  with y' = function(x₁, …, x_k) recomputed (recorded, same random state):
               ∂L/∂xᵢ = Σ_j (∂y'_j/∂xᵢ)ᵀ g_j   (the segment's own backward, run by the engine)
    """

    formula = ("recompute function(inputs), backpropagate g through it",)

    @staticmethod
    def forward(ctx: Checkpoint, *tensors: Tensor, segment: _Segment, recorded: list[np.ndarray] | None) -> Any:
        ctx.segment = segment
        ctx.once_differentiable = segment.reentrant  # the inner backward is not recorded (as PyTorch's reentrant)
        # An output that received no gradient: None (use_reentrant=False), so that a tensor only it
        # depends on gets no gradient, as in the plain run; zeros (reentrant), as PyTorch's.
        ctx.materialize_grads = segment.reentrant
        ctx.save_for_backward(*tensors[:segment.num_args])
        # the outputs: computed already when the segment ran recorded (use_reentrant=False), or computed now
        arrays = recorded if recorded is not None else [out.data for out in segment.call(tensors[:segment.num_args])]
        return arrays[0] if segment.layout is _A_TENSOR else tuple(arrays)

    @staticmethod
    def backward(ctx: Checkpoint, *grad_outputs: Tensor) -> tuple[Tensor | None, ...]:
        segment = ctx.segment
        create_graph = is_grad_enabled()  # the engine runs backward in grad mode = create_graph
        stand_ins, outputs = segment.recompute(ctx.saved_tensors, alias=create_graph and not segment.reentrant)
        if segment.reentrant:  # PyTorch's reentrant semantics: a full backward, leaves inside included
            pairs = _with_gradients(outputs, grad_outputs)
            engine.backward([out for out, _ in pairs], [g for _, g in pairs])
            return tuple(t.grad for t in stand_ins)
        # grad must stop at the segment's boundary: the outer backward delivers these gradients on
        # (through the Checkpoint node's edges) and runs the tensors' hooks, once. So while grad runs,
        # each edge of the recomputed graph to a tensor of the boundary that is not a leaf, or has
        # hooks, leads to a fresh leaf of its own instead (grad would run on into the outer graph,
        # or run the hooks a second time).
        inputs = [*stand_ins, *segment.boundary]  # (the Checkpoint node's inputs, in order)
        # per input that needs a gradient: the edge along which the recomputed graph reaches it, and
        # the tensor at which grad collects its gradient (the input itself, or the fresh leaf)
        ends = {_edge(t): _end(t) for t, needed in zip(inputs, ctx.needs_input_grad) if needed}
        nodes = segment.check_recomputation(outputs, {node for node, _ in ends})
        pairs = _with_gradients(outputs, grad_outputs)
        cut = _cut(nodes, ends)
        try:
            grads = engine.grad([ends.get(_edge(out), out) for out, _ in pairs], list(ends.values()),
                                [g for _, g in pairs], create_graph=create_graph, allow_unused=True)
        finally:
            for node, edges in cut:  # (with create_graph the gradients' graph runs through these nodes)
                node.next_functions = edges
        found = dict(zip(ends, grads))
        return tuple(found.get(_edge(t)) if needed else None for t, needed in zip(inputs, ctx.needs_input_grad))


def _with_gradients(outputs: Sequence[Tensor], grad_outputs: Sequence[Tensor | None]) -> list[tuple[Tensor, Tensor]]:
    """(recomputed output, its gradient) for the outputs that require grad and received one."""
    pairs = [(out, g) for out, g in zip(outputs, grad_outputs) if out.requires_grad and g is not None]
    if not pairs:
        raise RuntimeError("checkpoint: none of the outputs of the recomputed function requires grad, so "
                           "this checkpoint is not needed")
    return pairs


class _Segment:
    """What a Checkpoint node knows about its function: how to run it again, the random state
    it started from, and (use_reentrant=False) the tensors outside its arguments it sends
    gradients to (``boundary``) and the ops it ran (``signature``, for the determinism check)."""

    def __init__(self, run: Callable[[Sequence[Tensor]], Any], num_args: int, preserve_rng_state: bool,
                 reentrant: bool, determinism_check: str) -> None:
        self.run, self.num_args, self.reentrant = run, num_args, reentrant
        self.check_determinism = determinism_check == "default"
        self.rng_state = random.get_rng_state() if preserve_rng_state else None
        self.layout: Any = _A_TENSOR  # (call()) what the function returned, each output Tensor _A_TENSOR
        self.boundary: list[Tensor] = []  # (record()) the tensors outside the arguments it sends gradients to
        self.signature: Signature = []  # (record()) the ops it ran, for the determinism check

    def call(self, tensors: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Run the function on ``tensors`` (in place of the tensor arguments); its outputs, the
        Tensors it returned, as a tuple (the rest of the returned value goes to ``layout``).

        Which Tensors are outputs is PyTorch's rule. Without reentrance, every Tensor of the
        returned value, in tuples, lists and dicts at any depth. With it, the Tensor returned or
        the Tensors of a returned tuple (an autograd Function's outputs): a list, a dict or a
        nested tuple comes back as it is, its Tensors computed without grad.
        """
        returned = self.run(tensors)
        outputs: list[Tensor] = []
        if not self.reentrant or isinstance(returned, Tensor):
            self.layout = _template(returned, outputs)
        elif isinstance(returned, tuple):  # (a namedtuple comes back a tuple, as from PyTorch's Function)
            self.layout = tuple(_template(item, outputs) if isinstance(item, Tensor) else item for item in returned)
        else:
            self.layout = returned
        return tuple(outputs)

    def assemble(self, outputs: Any, returned: Sequence[Tensor | None] | None) -> Any:
        """The function's return value: the Checkpoint node's outputs put back in the place of the
        Tensors in what it returned, except where ``returned`` (from ``record``) gives the tensor
        itself."""
        tensors = [outputs] if self.layout is _A_TENSOR else list(outputs)
        if returned is not None:
            tensors = [out if same is None else same for out, same in zip(tensors, returned)]
        return _fill(self.layout, iter(tensors))

    def record(self, args: Sequence[Tensor]) -> tuple[list[np.ndarray], list[Tensor | None]]:
        """Run the segment once, recorded on stand-ins of ``args``; keep the tensors its graph
        leaves the segment to (``boundary``) and its ops (``signature``); drop the graph (and
        with it every activation).

        Returns the outputs' arrays and, per output, the tensor to return as it is (else None).
        PyTorch's variant returns what the function returned, the graph its forward recorded
        being kept; here the recording goes, so an output computed by the segment becomes an
        output of the Checkpoint node. An output that holds no part of the recording is returned
        as it is: a leaf (requiring grad or not: a parameter, a constant, a detached value; an
        argument's stand-in gives back that argument), or a tensor from before the call (its
        node outside the segment, the tensor alive once the outputs are dropped).
        """
        stand_ins = _detached(args)
        with enable_grad():
            outputs = self.call(stand_ins)
        recording = _Recording(outputs)
        arrays = [out.data for out in outputs]
        argument = {id(stand_in): arg for stand_in, arg in zip(stand_ins, args)}
        returned = [argument.get(id(out), out) if out.grad_fn is None else None for out in outputs]
        non_leaves = [weakref.ref(out) if out.grad_fn is not None else None for out in outputs]
        del outputs  # the last reference to the segment's graph: its nodes die here, earlier tensors' do not
        own = {t._grad_accumulator() for t in stand_ins if t.requires_grad}
        self.boundary, self.signature = recording.settle(own)
        outside = {_edge(t) for t in self.boundary if t.grad_fn is not None}
        for i, ref in enumerate(non_leaves):
            out = ref() if ref is not None else None
            if out is not None and _edge(out) in outside:
                returned[i] = out
        return arrays, returned

    def recompute(self, args: Sequence[Tensor], alias: bool) -> tuple[list[Tensor], tuple[Tensor, ...]]:
        """Run the segment again, recorded, with the random state forward started from.

        It runs on stand-ins for the arguments, at which the gradient computation stops:
        detached copies (new leaves: neither the reentrant inner backward nor ``grad`` can run
        on into the outer graph and free or double-count it), or, with ``alias`` (for
        ``create_graph=True``), aliases (``view_as``: a node with an edge to the argument), so
        that the gradients stay connected to the arguments and can be differentiated again.
        Returns (the stand-ins, the outputs as a tuple).
        """
        state = random.get_rng_state()
        if self.rng_state is not None:
            random.set_rng_state(self.rng_state)
        try:
            with enable_grad():
                if alias:
                    stand_ins = [t.view_as(t) if t.requires_grad else t.detach() for t in args]
                else:
                    stand_ins = _detached(args)
                outputs = self.call(stand_ins)
        finally:
            if self.rng_state is not None:
                random.set_rng_state(state)  # the surrounding code draws on as if nothing was replayed
        return stand_ins, outputs

    def check_recomputation(self, outputs: Sequence[Tensor], stops: set[Node]) -> list[Node]:
        """(use_reentrant=False) The recomputed graph may leave the segment only to the nodes
        ``stops`` of the stand-ins and the tensors forward found (else a gradient would be lost:
        an error), and (determinism_check) must be made of the same ops. Returns the segment's nodes."""
        nodes = _depth_first([out.grad_fn for out in outputs if out.grad_fn is not None], _children,
                             lambda node: _is_leaf(node) or node in stops)
        for stray in (child for node in nodes for child in _children(node) if _is_leaf(child) and child not in stops):
            raise RuntimeError(
                f"checkpoint: the recomputed function used a tensor that requires grad (shape {stray.variable.shape}) "
                "that its forward pass did not use, so it would get no gradient; pass it as an argument (or "
                "make the function use the same tensors every time). (Or the forward pass left a reference to a "
                "tensor it computed from that one without any argument requiring grad, e.g. in a forward hook's "
                "list: then it cannot be told apart from a tensor computed before the call)")
        if self.check_determinism:
            self._check_same_ops(_signature(nodes))
        return nodes

    def _check_same_ops(self, recomputed: Signature) -> None:
        """determinism_check="default": the recomputation must run the ops forward ran, with the
        same output shapes and dtypes (PyTorch compares the shapes and dtypes of the saved tensors)."""
        if recomputed == self.signature:
            return
        k = next((i for i, (a, b) in enumerate(zip(self.signature, recomputed)) if a != b),
                 min(len(self.signature), len(recomputed)))
        first = self.signature[k] if k < len(self.signature) else "nothing"
        second = recomputed[k] if k < len(recomputed) else "nothing"
        raise RuntimeError(
            f"checkpoint: the recomputed function differs from its forward pass (forward ran {len(self.signature)} "
            f"ops, the recomputation {len(recomputed)}; op {k}: {first} in forward, {second} recomputed), so its "
            "gradients would be those of another computation. Make the function deterministic (randomness is "
            "replayed with preserve_rng_state=True), or pass determinism_check='none' to skip this check")


class _Recording:
    """The graph of a recorded segment, kept without keeping it alive: the nodes as weak
    references, their names and output shapes, and the edges between them as indices.

    ``settle`` runs once the outputs are dropped. A node made by the segment is dead then (or
    leads to one that is, or to a stand-in); a node that is still alive otherwise was made
    before the call (its tensor holds it). An edge from a segment's node to such a node (or to
    a leaf's AccumulateGrad other than a stand-in's, which the recording's edges hold) leaves
    the segment: its target is a tensor the function used without receiving it as an argument.
    So does an output that is such a tensor itself (the function returned it unchanged).
    """

    def __init__(self, outputs: Sequence[Tensor]) -> None:
        nodes = _depth_first([out.grad_fn for out in outputs if out.grad_fn is not None], _children, _is_leaf)
        index = {node: i for i, node in enumerate(nodes)}  # (a local: the strong references go with it)
        self.roots = [index[out.grad_fn] for out in outputs if out.grad_fn is not None]  # (where the op list starts)
        # where each output requiring grad enters the graph: (its node's index, output_nr), or the AccumulateGrad
        # of an output that is a leaf (a stand-in or a parameter, returned as it is)
        self.output_edges = [(index[out.grad_fn], out._output_nr) if out.grad_fn is not None
                             else (out._grad_accumulator(), 0) for out in outputs if out.requires_grad]
        self.refs = [weakref.ref(node) for node in nodes]
        self.ops: Signature = _signature(nodes)
        # each node's edges: (child, output_nr); child an index, or the AccumulateGrad of a leaf
        self.edges = [[(index.get(edge[0], edge[0]), edge[1]) for edge in node.next_functions if edge is not None]
                      for node in nodes]

    def settle(self, own: set[Node]) -> tuple[list[Tensor], Signature]:
        """Returns (boundary, signature): the tensors the segment's graph leaves it to, except the
        stand-ins (whose AccumulateGrad nodes are ``own``), and the segment's ops in the order the
        recomputation lists them."""
        if any(ref() is not None for ref in self.refs):  # earlier tensors, or a reference cycle of the segment's
            gc.collect(1)  # (the young generations, cheap: the segment's nodes are new)
        outside = [ref() is not None for ref in self.refs]
        # A live node that leads to a dead one or to a stand-in is the segment's all the same, kept alive
        # by a reference the function left behind (a forward hook's list, a module's cache): a node made
        # before the call cannot lead to one made during it.
        changed = True
        while changed:
            changed = False
            for i, edges in enumerate(self.edges):
                if outside[i] and any(not outside[c] if type(c) is int else c in own for c, _ in edges):
                    outside[i], changed = False, True
        boundary: dict[tuple[Node, int], None] = {}
        for edges in [self.output_edges, *(edges for edges, out in zip(self.edges, outside) if not out)]:
            for child, nr in edges:
                if type(child) is int and outside[child]:
                    boundary[(self.refs[child](), nr)] = None
                elif type(child) is not int and child not in own:
                    boundary[(child, nr)] = None
        tensors = [node.variable if type(node) is engine.AccumulateGrad else _stand_in_for(node, nr)
                   for node, nr in boundary]
        # the ops in the order the recomputation lists them, which does not enter the boundary
        order = _depth_first(self.roots, lambda i: [c for c, _ in self.edges[i]],
                             lambda i: type(i) is not int or outside[i])
        return tensors, [self.ops[i] for i in order]


def _rebuild(value: Any, is_slot: Callable[[Any], bool], replace: Callable[[Any], Any]) -> Any:
    """``value`` with ``replace(item)`` in the place of each item where ``is_slot`` holds, in
    tuples (namedtuples too), lists and dicts at any depth, in order; other values as they are."""
    if is_slot(value):
        return replace(value)
    if isinstance(value, (tuple, list)):
        items = [_rebuild(item, is_slot, replace) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)  # (a namedtuple)
    if isinstance(value, dict):
        return type(value)((key, _rebuild(item, is_slot, replace)) for key, item in value.items())
    return value


def _template(value: Any, tensors: list[Tensor]) -> Any:
    """``value`` with each Tensor in it replaced by ``_A_TENSOR`` and appended to ``tensors``."""
    return _rebuild(value, lambda item: isinstance(item, Tensor), lambda t: tensors.append(t) or _A_TENSOR)


def _fill(template: Any, tensors: Iterator[Tensor]) -> Any:
    """``template`` (made by ``_template``) with the next of ``tensors`` in each ``_A_TENSOR``."""
    return _rebuild(template, lambda item: item is _A_TENSOR, lambda _: next(tensors))


def _detached(args: Sequence[Tensor]) -> list[Tensor]:
    """Stand-ins for ``args`` at which the graph stops: new leaves sharing their values,
    requiring grad where the argument does."""
    return [t.detach().requires_grad_(t.requires_grad) for t in args]


def _stand_in_for(node: Node, output_nr: int) -> Tensor:
    """A tensor that is output ``output_nr`` of ``node`` as far as the graph is concerned (an
    edge to it delivers gradient to the node), without its values: an outside tensor is only
    ever an edge target of the Checkpoint node."""
    shape, dtype = node._output_meta[output_nr]
    return _valueless(shape, dtype, node, output_nr)


def _valueless(shape: tuple[int, ...], dtype: np.dtype, node: Node = None, output_nr: int = 0) -> Tensor:
    """A tensor of ``shape`` and ``dtype`` whose values are never read (a broadcast zero: no
    memory), for a place in the graph that only gradients reach."""
    return Tensor._make(np.broadcast_to(np.zeros((), dtype), shape), node, output_nr)


def _children(node: Node) -> list[Node]:
    return [edge[0] for edge in node.next_functions if edge is not None]


def _is_leaf(node: Node) -> bool:
    return type(node) is engine.AccumulateGrad


def _depth_first(roots: Sequence[Any], children: Callable[[Any], list[Any]], stop: Callable[[Any], bool]) -> list[Any]:
    """The nodes reachable from ``roots``, depth first, neither listing nor entering a node where
    ``stop`` holds. The recording and the recomputation are listed by this one walk, so their op
    lists line up; nodes of an outside graph entered on the way do not change the others' order."""
    stack = list(reversed(roots))
    seen, order = set(stack), []
    while stack:
        node = stack.pop()
        if stop(node):
            continue
        order.append(node)
        for child in reversed(children(node)):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return order


def _signature(nodes: Sequence[Node]) -> Signature:
    return [(node.name(), tuple(node._output_meta)) for node in nodes]


def _edge(t: Tensor) -> tuple[Node, int]:
    """The edge along which a gradient for ``t`` is delivered: (its node, which output of it)."""
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0)


def _end(t: Tensor) -> Tensor:
    """Where the segment's gradient for ``t`` is collected: ``t`` itself if it is a leaf without
    hooks, else a new leaf of its shape and dtype (no values: only gradients ever reach it)."""
    if t.grad_fn is None and not t._hooks:
        return t
    return _valueless(t.shape, t.dtype).requires_grad_()


def _cut(nodes: Sequence[Node], ends: dict[tuple[Node, int], Tensor]) -> list[tuple[Node, tuple[Any, ...]]]:
    """Point each edge of ``nodes`` that is a key of ``ends`` to that end's leaf instead, where
    they differ; return (node, its edges before) for the nodes changed, to put back."""
    moved = {edge: (end._grad_accumulator(), 0) for edge, end in ends.items() if _edge(end) != edge}
    cut = []
    for node in nodes if moved else ():
        edges = node.next_functions
        if any(edge in moved for edge in edges):
            cut.append((node, edges))
            node.next_functions = tuple(moved.get(edge, edge) for edge in edges)
    return cut


# ---- the public functions --------------------------------------------------------------------


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, context_fn: Callable[[], Any] | None = None,
               determinism_check: str = "default", debug: bool = False, **kwargs: Any) -> Any:
    """Return ``function(*args, **kwargs)`` without keeping its activations; recompute them in backward.

    ``function`` may return anything: Tensors in tuples, lists and dicts come back as outputs
    (with ``use_reentrant=True`` only a returned Tensor or a returned tuple's Tensors, as in
    PyTorch), everything else as it is. With ``use_reentrant=False`` a Tensor the function
    returns without computing it (an argument, a parameter) comes back as that very tensor.
    ``preserve_rng_state=True`` replays the random draws (dropout) of the forward in the
    recomputation, so the gradients equal those of the plain call. See the module docstring for
    ``use_reentrant`` and for ``determinism_check`` ("default": the recomputation must run the
    same ops with the same output shapes and dtypes, else backward raises; "none": no check).
    PyTorch's ``context_fn`` and ``debug`` are not supported (an error if set).
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

    def run(tensors: Sequence[Tensor]) -> Any:  # the function, with ``tensors`` for its tensor arguments
        filled = list(values)
        for i, t in zip(slots, tensors):
            filled[i] = t
        return function(*filled[:len(args)], **dict(zip(names, filled[len(args):])))

    arg_tensors = [values[i] for i in slots]
    if use_reentrant and not any(t.requires_grad for t in arg_tensors) and is_grad_enabled():
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
    if not use_reentrant and not is_grad_enabled():  # nothing to record, nothing to keep: the plain call (as PyTorch)
        return function(*args, **kwargs)
    segment = _Segment(run, len(arg_tensors), preserve_rng_state, use_reentrant, determinism_check)
    recorded, returned = (None, None) if use_reentrant else segment.record(arg_tensors)
    outputs = Checkpoint.apply(*arg_tensors, *segment.boundary, segment=segment, recorded=recorded)
    return segment.assemble(outputs, returned)


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
