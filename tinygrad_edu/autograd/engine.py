"""The engine: walk the graph backwards and apply the chain rule, one node at a time.

The graph is made of nodes (each op's ``ctx``, the output's ``grad_fn``) joined by
``next_functions`` edges towards the inputs; a leaf that requires grad ends in an
``AccumulateGrad`` node that adds the gradient into ``leaf.grad``.

Backward is two steps, the same two micrograd writes as comments, done without recursion
so that a 100,000-op chain (a long RNN unroll) cannot hit Python's recursion limit:

1. topological order all of the nodes in the graph (an explicit stack, post-order);
2. go one node at a time, outputs before inputs, and apply the chain rule: sum the
   gradients that reached the node, call its ``backward``, and pass each result along
   the edge to the node that produced that input.

Gradients are computed with grad mode set to ``create_graph``: when it is True, the
backward computations are themselves recorded, which is all grad-of-grad needs.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import grad_mode

if TYPE_CHECKING:
    from ..tensor import Tensor
else:  # tensor.py imports this module, so it fills the name in once its class exists
    Tensor = None

Node = Any  # a Function instance or an AccumulateGrad
Hook = Callable[["Tensor"], "Tensor | None"]

# Called as observe(node, grads_in, flowing) after each node: grads_in are the gradients
# that reached the node's outputs, flowing the (edge, gradient) pairs it sent to its inputs.
observers: list[Callable[[Node, list, list], None]] = []


class AccumulateGrad:
    """The node at a leaf tensor: adds each incoming gradient into ``leaf.grad``.

    It refers to its leaf; the leaf refers to it weakly (see ``Tensor._grad_accumulator``).
    """

    next_functions: tuple[()] = ()
    formula: tuple[str, ...] = ("leaf.grad += g",)
    _output_meta = ((None, None),)  # one "output": the gradient slot of the leaf

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    @staticmethod
    def name() -> str:
        """The node's name, as PyTorch prints it."""
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"

    def accumulate(self, grad: Tensor, create_graph: bool, unshared: bool = False) -> None:
        """leaf.grad ← leaf.grad + grad.

        The first time, ``leaf.grad`` gets its own buffer, so that no other tensor shares
        its memory: a copy of ``grad``'s array, or ``grad`` itself when the engine found
        that nothing else refers to it or to its array (``unshared``; PyTorch's AccumulateGrad
        likewise steals a gradient whose use count is 1). A training step's weight gradients
        are all fresh arrays, and copying them would cost a pass over every gradient per step.
        """
        leaf = self.variable
        if create_graph:  # keep the graph of the gradient, for grad-of-grad
            leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        elif leaf.grad is None:
            leaf.grad = grad if unshared else Tensor._make(np.array(grad.data, copy=True))
        else:
            leaf.grad.data = leaf.grad.data + grad.data


# ---- the two entry points: Tensor.backward and autograd.grad ---------------------------


def backward(
    tensors: Sequence[Tensor],
    grad_tensors: Sequence[Tensor | None],
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate ∂(Σ tensors·grad_tensors)/∂leaf into ``.grad`` of every leaf in the graph."""
    roots = _roots("backward", tensors, grad_tensors)
    _execute(roots, retain_graph=create_graph if retain_graph is None else retain_graph,
             create_graph=create_graph, capture=None)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return ∂(Σ outputs·grad_outputs)/∂input for each input, without touching ``.grad``.

    With ``create_graph=True`` the returned gradients are themselves differentiable.
    An input the outputs do not depend on raises, unless ``allow_unused=True`` (then None).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    roots = _roots("grad", outputs, list(grad_outputs))
    targets = []
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
        targets.append((t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0))
    capture: dict[tuple[Node, int], Tensor | None] = dict.fromkeys(targets)
    _execute(roots, retain_graph=create_graph if retain_graph is None else retain_graph,
             create_graph=create_graph, capture=capture)
    results = tuple(capture[target] for target in targets)
    for i, (t, g) in enumerate(zip(inputs, results)):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return results


def _roots(
    caller: str, tensors: Sequence[Tensor], grad_tensors: Sequence[Tensor | None]
) -> list[tuple[Node, int, Tensor]]:
    """Check the starting tensors and pair each with its initial gradient (1 for scalars)."""
    if len(tensors) != len(grad_tensors):
        raise ValueError(f"{caller}: got {len(tensors)} tensors but {len(grad_tensors)} gradients")
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t.requires_grad:
            raise RuntimeError(
                f"{caller}: tensor {i} (shape {t.shape}) does not require grad and has no grad_fn. "
                "It was computed from tensors without requires_grad=True, or under no_grad()."
            )
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"{caller}: a gradient can be created implicitly only for a scalar output, but "
                    f"tensor {i} has shape {t.shape}. Pass gradient= (e.g. tg.ones_like(out)) or "
                    "reduce the output to a scalar first (out.sum())."
                )
            ones = np.empty(t.data.shape, t.data.dtype)  # (np.ones without its Python wrapper)
            ones.fill(1)
            g = Tensor._make(ones)
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=t.dtype)
        if g.shape != t.shape:
            raise RuntimeError(f"{caller}: gradient of shape {g.shape} given for tensor {i} of shape {t.shape}")
        if g.dtype != t.dtype:  # as PyTorch: e.g. a float32 gradient for a float64 leaf gives a float64 .grad
            g = g.to(t.dtype)
        node = t.grad_fn if t.grad_fn is not None else t._grad_accumulator()
        roots.append((node, t._output_nr, g))
    return roots


# ---- the walk -----------------------------------------------------------------------


def _children(node: Node) -> Iterable[Node]:
    return (edge[0] for edge in node.next_functions if edge is not None)


def topological_order(roots: Iterable[Node]) -> list[Node]:
    """All nodes reachable from ``roots``, each after every node it leads to (post-order).

    Iterative depth-first search: the stack holds (node, iterator over its edges).
    Reversed, the list puts every node before the nodes it sends gradients to.
    (Nodes hash by identity, so the set of visited nodes needs no ``id()`` calls.)
    """
    order: list[Node] = []
    visited: set[Node] = set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.next_functions))]
        while stack:
            node, edges = stack[-1]
            for edge in edges:
                if edge is not None and edge[0] not in visited:
                    child = edge[0]
                    visited.add(child)
                    if child.next_functions:  # visit its children first
                        stack.append((child, iter(child.next_functions)))
                        break
                    order.append(child)  # a leaf's AccumulateGrad: done at once (same order, no stack entry)
            else:  # every child is done: the node itself is done
                stack.pop()
                order.append(node)
    return order


def _execute(
    roots: list[tuple[Node, int, Tensor]],
    retain_graph: bool,
    create_graph: bool,
    capture: dict[tuple[Node, int], Tensor | None] | None,
) -> None:
    """Run the chain rule from ``roots``.

    ``capture=None``: accumulate into the ``.grad`` of every leaf reached (``backward``).
    Otherwise fill ``capture[(node, output_nr)]`` with the total gradient of those
    outputs and leave ``.grad`` alone (``autograd.grad``); only nodes that lead to a
    captured output are run.
    """
    order = topological_order(node for node, _, _ in roots)
    needed = None if capture is None else _nodes_leading_to(order, {node for node, _ in capture})
    pending: dict[Node, list[Tensor | None]] = {}
    _send(pending, [((node, output_nr), g) for node, output_nr, g in roots], create_graph)

    # Grad mode = create_graph while backward runs: the backward computations are recorded only
    # then (the flag is set directly, as Function.apply does: no context-manager object per call).
    mode = grad_mode._per_thread.mode
    previous, mode.enabled = mode.enabled, bool(create_graph)
    try:
        for node in reversed(order):
            grads = pending.pop(node, None)
            if grads is None or (needed is not None and node not in needed):
                continue
            leaf = type(node) is AccumulateGrad
            # tensor hooks waiting for this node's gradients? (inline: asked once per node, hooks are rare)
            if node.variable._hooks if leaf else node._output_hooks:
                grads = _run_hooks(node, grads)
            if capture is not None:
                for output_nr, g in enumerate(grads):
                    if (node, output_nr) in capture:
                        capture[(node, output_nr)] = g
                if not any(child in needed for child in _children(node)):
                    continue  # a captured input: nothing below it is wanted
            if leaf:
                flowing = []  # (drops the previous node's list, which may hold this gradient)
                unshared = not observers and _only_in(grads)  # before grads[0] is on the call's stack
                node.accumulate(grads[0], create_graph, unshared)
            else:
                flowing = _call_backward(node, grads)
                _send(pending, flowing, create_graph)
                if not retain_graph:
                    node._release()
            for observe in observers:  # e.g. the teaching trace (autograd/trace.py)
                observe(node, grads, flowing)
    finally:
        mode.enabled = previous


def _nodes_leading_to(order: list[Node], targets: set[Node]) -> set[Node]:
    """The nodes from which some target can be reached (``order`` lists children first)."""
    leading: set[Node] = set()
    for node in order:
        if node in targets or any(child in leading for child in _children(node)):
            leading.add(node)
    return leading


def _send(pending: dict[Node, list[Tensor | None]], flowing: list[tuple[tuple[Node, int], Tensor]],
          create_graph: bool) -> None:
    """Hand each gradient to the node of its input, summing the gradients that arrive at the same
    output of a node (a tensor used several times).

    Without ``create_graph`` the sum is not recorded, so it is done on the arrays directly
    (the engine has checked that both have the input's shape and dtype): the same value
    as ``a + g`` without the op's dispatch.
    """
    for (node, output_nr), g in flowing:
        slots = pending.get(node)
        if slots is None:  # the first gradient to reach this node: one slot per output
            slots = pending[node] = [None] * len(node._output_meta)
        previous = slots[output_nr]
        if previous is None:
            slots[output_nr] = g
        elif create_graph:
            slots[output_nr] = previous + g
        else:
            slots[output_nr] = Tensor._make(previous.data + g.data)


def _reference_counts(grads: list[Any]) -> tuple[int, int]:
    """sys.getrefcount of ``grads[0]`` and of its ``.data``, as seen from inside this function."""
    g = grads[0]
    return sys.getrefcount(g), sys.getrefcount(g.data)


class _Probe:
    """A stand-in gradient held only by a list, to calibrate ``_reference_counts`` once."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = np.empty(1)


# The counts of a gradient that nothing but its list refers to. Measured rather than written
# down, because how many references the interpreter's own stack holds differs between versions.
_SOLE_REFERENCE_COUNTS = _reference_counts([_Probe()])


def _only_in(grads: list[Tensor | None]) -> bool:
    """True when ``grads[0]`` can be reached only through the list ``grads``: no other
    variable, list or saved value refers to the Tensor, and no other Tensor or view refers
    to its array (``base is None``: the array is not a view of memory owned elsewhere)."""
    return _reference_counts(grads) == _SOLE_REFERENCE_COUNTS and grads[0].data.base is None


def _run_hooks(node: Node, grads: list[Tensor | None]) -> list[Tensor | None]:
    """Apply the tensor hooks (``register_hook``, ``retain_grad``) of the node's outputs."""
    if isinstance(node, AccumulateGrad):
        hooks = {0: node.variable._hooks} if node.variable._hooks else {}
    else:
        hooks = node._output_hooks
    for output_nr, output_hooks in hooks.items():
        for hook in output_hooks:
            if grads[output_nr] is not None:
                replaced = hook(grads[output_nr])
                if replaced is not None:
                    grads[output_nr] = replaced
    return grads


def _call_backward(node: Node, grads: list[Tensor | None]) -> list[tuple[tuple[Node, int], Tensor]]:
    """Call ``node.backward`` and check what it returns: one gradient per input, right shapes."""
    if node._freed:
        node.saved_tensors  # noqa: B018 - raises the "backward through the graph a second time" error
    if node.once_differentiable and grad_mode.is_grad_enabled():  # i.e. create_graph=True
        raise NotImplementedError(
            f"{type(node).__name__}: its backward is not differentiable (once_differentiable), so "
            "create_graph=True (grad-of-grad) is not supported through this op"
        )
    if len(grads) > 1 and node.materialize_grads:  # an output that received no gradient gets zeros
        grads = [
            g if g is not None else Tensor._make(np.zeros(shape, dtype=dtype))
            for g, (shape, dtype) in zip(grads, node._output_meta)
        ]
    result = type(node).backward(node, *grads)
    result = result if type(result) is tuple else (result,)
    edges = node.next_functions
    if len(result) != len(edges) and (len(result) < len(edges) or any(g is not None for g in result[len(edges):])):
        raise RuntimeError(f"{node.name()}: backward returned {len(result)} gradients, expected {len(edges)}")
    flowing = []
    for edge, (shape, dtype), g in zip(edges, node._input_meta, result):  # (meta is None only where edge is)
        if edge is None or g is None:
            continue
        if type(g) is np.ndarray:  # backward computed on arrays (the plain backward of the fused ops)
            data, g = g, Tensor._make(g)
        elif isinstance(g, Tensor):
            data = g.data
        else:  # a NumPy scalar, a list, ...
            data = np.asarray(g)
            g = Tensor._make(data)
        if data.shape != shape:
            _raise_wrong_shape(node, result)
        if data.dtype != dtype:
            g = g.to(dtype)
        flowing.append((edge, g))
    return flowing


def _raise_wrong_shape(node: Node, result: tuple[Any, ...]) -> None:
    """The error for the first gradient in ``result`` whose shape is not its input's."""
    for i, (edge, meta, g) in enumerate(zip(node.next_functions, node._input_meta, result)):
        if edge is not None and g is not None and np.shape(g) != meta[0]:
            raise RuntimeError(
                f"{node.name()}: backward returned a gradient of shape {tuple(np.shape(g))} for input {i}, "
                f"which has shape {meta[0]}"
            )


class HookHandle:
    """What ``Tensor.register_hook`` returns: ``handle.remove()`` unregisters the hook, as
    with PyTorch's RemovableHandle (calling the handle does the same; a second time, nothing)."""

    __slots__ = ("_hook", "_hooks")

    def __init__(self, hooks: list[Hook], hook: Hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        """Unregister the hook."""
        for i, registered in enumerate(self._hooks):
            if registered is self._hook:
                del self._hooks[i]
                return

    __call__ = remove


def add_hook(tensor: Tensor, hook: Hook) -> HookHandle:
    """Register ``hook(grad) -> grad | None`` on ``tensor``; return the handle that removes it."""
    node = tensor.grad_fn
    if node is None:
        hooks = tensor._hooks
    else:
        if "_output_hooks" not in vars(node):  # still the class's shared empty default: give the node its own
            node._output_hooks = {}
        hooks = node._output_hooks.setdefault(tensor._output_nr, [])
    # as PyTorch, retain_grad's hook stays last, so .grad stores what every other hook made of the gradient
    if hooks and hooks[-1] is getattr(tensor, "_retain_grad_hook", None):
        hooks.insert(len(hooks) - 1, hook)
    else:
        hooks.append(hook)
    return HookHandle(hooks, hook)


def retain_grad_hook(tensor: Tensor) -> Hook:
    """A hook that stores the gradient of a non-leaf tensor in its ``.grad``."""
    ref = weakref.ref(tensor)  # weak: the node must not keep its own output alive

    def store(g: Tensor) -> None:
        t = ref()
        if t is not None:
            t.grad = g if t.grad is None else t.grad + g

    return store
