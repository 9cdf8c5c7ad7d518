"""``Function``: the base class of every differentiable op, built-in or user-written.

An op is one class with two static methods, as in PyTorch::

    class Mul(Function):
        @staticmethod
        def forward(ctx, x, w):              # values: NumPy on x.data, w.data
            need_x, need_w = ctx.needs_input_grad
            ctx.save_for_backward(x if need_w else None, w if need_x else None)  # what the gradients read
            return x.data * w.data
        @staticmethod
        def backward(ctx, grad_output):      # gradients: Tensor ops, so they are differentiable
            x, w = ctx.saved_tensors          # None where forward kept nothing
            grad_x = grad_output * w if ctx.needs_input_grad[0] else None
            grad_w = grad_output * x if ctx.needs_input_grad[1] else None
            return grad_x, grad_w

``Mul.apply(a, b)`` runs ``forward`` and, when a gradient will be needed, records the call
in the graph. The object that ``forward`` and ``backward`` receive as ``ctx`` is an instance
of the op's class, and it *is* the graph node: the output's ``grad_fn``. It keeps

* ``next_functions``: for every positional argument, the edge ``(node, output_nr)`` the
  gradient of that argument flows to (the argument's ``grad_fn``, or the leaf's
  ``AccumulateGrad``), or ``None`` for arguments that need no gradient;
* the tensors saved for backward, released after backward unless ``retain_graph=True``.

Saving an *output* (``y = np.exp(x.data); ctx.save_for_backward(y); return y``) is allowed:
``saved_tensors`` then hands back a Tensor whose ``grad_fn`` is this node, so a backward
written with ``y`` still differentiates correctly a second time (PyTorch does the same).

What is saved, and why only that
--------------------------------
Every saved tensor is checked at backward: if it was written in place since (``+=``,
``add_``, ``optimizer.step()``, directly or through a view), ``saved_tensors`` raises instead
of computing a wrong gradient. A saved tensor is also kept alive by the graph until backward.
So a built-in op saves only what the gradients that will be computed read, as PyTorch's
built-in ops do (derivatives.yaml: ``mul`` keeps ``other`` only if ``self`` requires grad,
``mm`` keeps ``mat2`` only if ``mat1`` does). ``ctx.needs_input_grad`` is set before forward
runs, so forward passes ``None`` for what no needed gradient reads, as ``Mul`` above:
∂L/∂x = g ⊙ w reads w, ∂L/∂w = g ⊙ x reads x. After ``y = (w * x).sum()`` with only w
requiring grad, w may be updated in place before ``y.backward()``: Mul kept x, not w.
Backward reads a saved item only under the ``ctx.needs_input_grad`` test of a gradient that
reads it, so it never meets one of those ``None``. An op keeps more where PyTorch's op does
(``Conv2d`` keeps x and w for either gradient, as ``convolution_backward`` reads both), or where
its backward with ``create_graph=True`` recomputes its forward from the inputs (the fused
``CrossEntropy``, ``LSTMCell``, ...). A user-written Function keeps whatever it passes to
``save_for_backward``, and every item is checked: PyTorch's rule for custom Functions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from . import grad_mode

# Markers for what save_for_backward received, resolved once forward has returned. Each saved
# entry is (marker, value, n): for _TENSOR the tensor and its version (its count of in-place
# writes) at the time; for _OUTPUT the output's array with the version counter the output shares
# with its views, and the output number. Backward can so tell that either was changed since.
_TENSOR, _OUTPUT, _CONSTANT = 0, 1, 2

# The saved entry of a None given to save_for_backward: handed back as None, nothing to check.
_NOTHING = (_TENSOR, None, 0)

# The (shape, dtype) recorded for an input that needs no gradient (no edge, nothing to check).
_NO_META = (None, None)

# The Tensor class. tensor.py imports this module, so the import cannot run here at load
# time; tensor.py fills the name in right after defining the class. (A function-level
# ``from ..tensor import Tensor`` would do too, but costs a module lookup on every op.)
Tensor: Any = None


class Function:
    """Base class of ops: subclass it, write ``forward`` and ``backward``, call ``apply``.

    Class attributes a subclass may set:
        formula: one short ASCII formula per differentiable input, shown by the teaching
            trace and the graph drawing (the docstring's ``Backward:`` lines say it in full).
        once_differentiable: True when ``backward`` computes on raw arrays instead of Tensor
            ops, so its result cannot be differentiated again; backward with
            ``create_graph=True`` then raises NotImplementedError naming the op, instead of
            silently returning a gradient with no graph behind it.
        materialize_grads: True (PyTorch's default): ``backward`` of an op with several outputs
            gets zeros for an output that received no gradient; False: None (PyTorch's
            ``ctx.set_materialize_grads(False)``; forward may set it on one node).
        torch_name: the node's name as PyTorch prints it, for an op whose class name is not
            PyTorch's (``ReLU`` sets ``"ReluBackward0"``); None means ``<ClassName>Backward0``.
            Where PyTorch's name depends on the arguments (``x.mean()`` is ``MeanBackward0``,
            ``x.mean(1)`` ``MeanBackward1``), forward sets it on the node (``ctx.torch_name``).
    """

    formula: ClassVar[tuple[str, ...]] = ()
    once_differentiable: ClassVar[bool] = False
    materialize_grads = True  # a class attribute; forward may override it on one node
    torch_name: str | None = None  # a class attribute; forward may override it on one node

    # Set on every node by apply(); listed here so readers see the whole node at once.
    needs_input_grad: tuple[bool, ...]
    next_functions: tuple[tuple[Any, int] | None, ...]
    # Defaults every new node starts from, read from the class until a node sets its own
    # (apply runs for every op: three fewer attribute writes per call than setting them there).
    _to_save: tuple[Any, ...] = ()  # what save_for_backward received
    _freed = False  # True once backward has released the saved values
    _output_hooks: dict[int, list[Any]] = {}  # noqa: RUF012 - never mutated: engine.add_hook gives a node its own

    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> Any:
        """Compute the output(s) from the inputs; return ndarray(s) (or Tensors)."""
        raise NotImplementedError("Function subclasses must implement forward")

    @staticmethod
    def backward(ctx: Function, *grad_outputs: Any) -> Any:
        """Return ∂L/∂input for every positional input of forward (None where not needed)."""
        raise NotImplementedError("Function subclasses must implement backward")

    # ---- what forward and backward use -----------------------------------------------

    def save_for_backward(self, *items: Any) -> None:
        """Keep tensors (or arrays, or this op's own outputs) for backward."""
        self._to_save = items

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The items given to ``save_for_backward``, as Tensors."""
        if self._freed:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to "
                "read saved tensors after they were freed). Saved values are released by "
                "backward; pass retain_graph=True to the first backward to keep them."
            )
        tensors = []
        for kind, value, n in self._saved:  # (one loop, no call per item: every backward node reads these)
            if kind == _TENSOR:
                if value is not None and value._version_counter[0] != n:  # its _version, read fast
                    raise self._modified_in_place(f"a tensor of shape {value.shape} that this op saved for backward")
                tensors.append(value)
            elif kind == _OUTPUT:  # the output, reconnected to this node so it stays differentiable
                array, version_counter = value
                if version_counter[0]:  # 0 when saved (the output was new): written since
                    raise self._modified_in_place(f"its output {n} of shape {array.shape}, saved for backward,")
                tensors.append(Tensor._make(array, self, n))
            else:
                tensors.append(Tensor._make(value))
        return tuple(tensors)

    def name(self) -> str:
        """The node's name as PyTorch prints it, e.g. ``MulBackward0``: ``torch_name`` if the
        op or this node sets it, else the class name + ``Backward0`` (PyTorch numbers the
        backwards of an op's overloads from 0: ``MeanBackward1`` is ``mean`` with a dim)."""
        return self.torch_name or f"{type(self).__name__}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    # ---- running an op ------------------------------------------------------------------

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on ``args`` and record the call in the graph if a gradient is needed.

        Positional Tensor arguments are the differentiable inputs; keyword arguments are
        configuration (``dim=``, ``keepdim=``) and receive no gradient.

        Every op of a training step passes through here (~1,500 times per step for an
        LSTM unrolled into Tensor ops), so it is written for speed: no context-manager object for
        grad mode, one-output ops handled without building tuples, and a call that will
        not be recorded (under ``no_grad``, or in a backward pass without
        ``create_graph``) skips all graph bookkeeping.
        """
        ctx = cls()
        ctx.needs_input_grad = needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        mode = grad_mode._per_thread.mode  # this thread's grad mode
        if mode.enabled:
            mode.enabled = False  # forward computes values only: nothing inside it is recorded
            try:
                raw = cls.forward(ctx, *args, **kwargs)
            finally:
                mode.enabled = True
            record = True in needs
        else:
            raw = cls.forward(ctx, *args, **kwargs)
            record = False
        if type(raw) is not tuple:  # the common case: one output
            array = raw if type(raw) is np.ndarray else _as_array(raw)
            if not record:
                return Tensor._make(array)
            output = Tensor._make(array, ctx if array.dtype.kind == "f" else None, 0)
            ctx._connect(args, (raw,), (output,), ((array.shape, array.dtype),))
            return output
        arrays = tuple([_as_array(r) for r in raw])
        outputs = tuple([
            Tensor._make(a, ctx if record and a.dtype.kind == "f" else None, nr) for nr, a in enumerate(arrays)
        ])
        if record:
            ctx._connect(args, raw, outputs, tuple([(a.shape, a.dtype) for a in arrays]))
        return outputs

    def _connect(self, args: tuple[Any, ...], returned: tuple[Any, ...], outputs: tuple[Any, ...],
                 output_meta: tuple[tuple[tuple[int, ...], np.dtype], ...]) -> None:
        """Turn this ctx into a graph node: edges to the inputs, metadata (``output_meta``: the
        outputs' (shape, dtype), made by the caller, which has them at hand), saved values."""
        edges: list[tuple[Any, int] | None] = []
        input_meta: list[tuple[tuple[int, ...] | None, np.dtype | None]] = []
        for a, needs in zip(args, self.needs_input_grad):
            if needs:
                node = a.grad_fn
                if node is not None:
                    edges.append((node, a._output_nr))
                else:  # a leaf: its AccumulateGrad node, the one a graph holds already (a weak
                    # reference: read here without the method call), or a new one
                    ref = a._accumulator
                    edges.append(((ref and ref()) or a._grad_accumulator(), 0))
                data = a.data
                input_meta.append((data.shape, data.dtype))
            else:
                edges.append(None)
                input_meta.append(_NO_META)
        self.next_functions = tuple(edges)
        self._input_meta = input_meta
        self._output_meta = output_meta
        saved = []
        for item in self._to_save:
            if item is None:  # nothing kept: no gradient that will be computed reads it
                saved.append(_NOTHING)
                continue
            out_nr = 0  # (counted by hand: enumerate costs ~80 ns more per saved item, on every op)
            for r in returned:
                if r is item:  # one of this op's outputs: its array, reconnected to this node when unpacked
                    output = outputs[out_nr]
                    saved.append((_OUTPUT, (output.data, output._shared_version_counter()), out_nr))
                    break
                out_nr += 1
            else:
                if isinstance(item, Tensor):
                    saved.append((_TENSOR, item, item._version_counter[0]))  # its _version, read fast
                else:
                    saved.append((_CONSTANT, np.asarray(item), 0))
        self._saved = tuple(saved)
        self._to_save = ()  # _saved holds them now; _release must leave nothing behind

    def _modified_in_place(self, what: str) -> RuntimeError:
        """The error for a saved value written in place (directly or through a view) after the op ran."""
        return RuntimeError(
            f"{self.name()}: {what} was modified in place (by +=, add_, fill_, [...] = ..., directly or "
            "through a view) after it was used, so the gradient would be wrong; modify a copy (x = x + 1) "
            "or clone() it before the op")

    def _release(self) -> None:
        """Drop the saved values once backward has used them (unless retain_graph)."""
        self._saved = ()
        self._freed = True


def _as_array(value: Any) -> np.ndarray:
    """forward may return an ndarray, a NumPy scalar or a Tensor; the graph stores arrays."""
    if isinstance(value, Tensor):
        return value.data
    return value if isinstance(value, np.ndarray) else np.asarray(value)
