"""``Module``, ``Parameter``, ``Sequential``, ``ModuleList``: how models hold their weights.

A Module keeps three plain dicts, filled by ``__setattr__`` in the order attributes are
assigned (so parameter order is deterministic, as in PyTorch):

    _parameters   name -> Parameter        (``self.weight = Parameter(...)``)
    _buffers      name -> Tensor or None   (``self.register_buffer("running_mean", ...)``)
    _modules      name -> Module           (``self.fc1 = Linear(...)``)

``named_parameters()`` and ``state_dict()`` walk the tree of modules and join the names
with dots (``"fc1.weight"``), which are exactly PyTorch's keys, so a PyTorch state dict
(converted to NumPy arrays) loads unchanged.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd import grad_mode
from ..tensor import Tensor, _to_array, target_dtype

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight: ``requires_grad=True`` by default, and
    assigning one to a Module attribute registers it in ``module.parameters()``.

    ``Parameter(tensor)`` shares the tensor's memory, as in PyTorch.
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty(0, dtype=dtypes.default_float)
        elif isinstance(data, Tensor):
            array = data.data
        else:
            array = _to_array(data)
        self._init(array, None, 0)
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: dict[int, Callable], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self._key, None)


_next_hook_id = iter(range(1 << 62))


def _add_indent(text: str, spaces: int) -> str:
    """Indent every line but the first (how PyTorch nests the repr of child modules)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


def _tensors_in(value: Any) -> list[Tensor]:
    """The Tensors in a (nested) tuple/list, in order (a module's inputs or outputs)."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors_in(v)]
    return []


class Module:
    """Base class of every layer and model.

    Subclasses assign their Parameters, sub-Modules and buffers as attributes in
    ``__init__`` (after ``super().__init__()``) and write ``forward``; calling the module
    runs the forward pre-hooks, ``forward`` and the forward hooks.
    """

    training: bool

    def __init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "training", True)
        set_(self, "_parameters", {})
        set_(self, "_buffers", {})
        set_(self, "_non_persistent_buffers", set())
        set_(self, "_modules", {})
        set_(self, "_forward_pre_hooks", {})
        set_(self, "_forward_hooks", {})
        set_(self, "_backward_hooks", {})
        set_(self, "_load_state_dict_pre_hooks", {})  # see register_load_state_dict_pre_hook

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__}: forward is not implemented")

    # ---- attribute routing: Parameter / Module / buffer into their dicts ----------------

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
        elif name in modules and value is None:
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Remove ``name`` from every registry and the instance dict before re-registering it."""
        for registry in (self.__dict__, self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look into the three registries. Every forward
        # reads its parameters this way (self.weight), so the registries are looked up directly.
        d = self.__dict__
        if "_modules" in d:  # (the registries are all made by __init__)
            for registry in (d["_parameters"], d["_buffers"], d["_modules"]):
                if name in registry:
                    return registry[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, e.g. ``bias=False``) under ``name``."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not learned (e.g. BatchNorm's running mean).

        Persistent buffers appear in ``state_dict``; non-persistent ones do not.
        """
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: '{name}' must be a Tensor or None, got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        self._forget(name)
        self._modules[name] = module

    # ---- walking the tree ------------------------------------------------------------

    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted_name, module)`` for this module and every descendant (self first)."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant."""
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names."""
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        return (m for _, m in self.named_children())

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        walk = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in walk:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted_name, parameter)`` in registration order (each parameter once)."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (what an optimiser is given)."""
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted_name, buffer)``."""
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer."""
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ---- state dict ---------------------------------------------------------------------

    def state_dict(self, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, in PyTorch's order: a module's
        own parameters, then its buffers, then each child's entries."""
        out = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or NumPy arrays) into the parameters and buffers, in place.

        Values are cast to each tensor's dtype. A shape mismatch raises naming the key and
        both shapes; with ``strict=True`` missing or unexpected keys raise as well. Returns
        ``(missing_keys, unexpected_keys)``.
        """
        # Pre-hooks may rewrite the entries (old key names, lazy modules sizing their parameters
        # from the saved shapes), on a copy: the caller's dict stays as given.
        state_dict = dict(state_dict)
        hook_missing: list[str] = []
        hook_unexpected: list[str] = []
        errors: list[str] = []
        for module_prefix, module in self.named_modules():
            for hook in list(module._load_state_dict_pre_hooks.values()):
                # PyTorch's arguments: no metadata, and strict=True always (strictness is applied below)
                hook(module, state_dict, module_prefix + "." if module_prefix else "", {}, True,
                     hook_missing, hook_unexpected, errors)
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict] + hook_missing
        unexpected = [k for k in state_dict if k not in own] + hook_unexpected
        arrays = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {array.shape} from "
                              f"checkpoint, the shape in current model is {target.shape}.")
            arrays[key] = array
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for key, array in arrays.items():
            own[key].data[...] = array.astype(own[key].dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    # ---- modes, gradients, conversion ------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) here and below."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking of every parameter on or off (freezing for fine-tuning)."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad`` (to None, or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._make(np.zeros_like(p.grad.data))

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every descendant, then on self (e.g. custom initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype: Any = None, *, device: Any = None) -> Module:
        """Convert floating parameters and buffers to ``dtype`` in place (the objects stay).

        ``to("cpu")``, ``to(device)`` return the module unchanged (every tensor lives on the
        CPU; another device is an error), so ``model.to(device)`` in PyTorch scripts works.
        """
        dtype = target_dtype("Module.to", dtype, device)
        if dtype is None:
            return self
        for t in [*self.parameters(), *self.buffers()]:
            if dtypes.is_floating(t.dtype):
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor._make(t.grad.data.astype(dtype))
        return self

    def cpu(self) -> Module:
        """Itself: every tensor lives on the CPU."""
        return self

    def double(self) -> Module:
        """Parameters and floating buffers to float64."""
        return self.to(dtypes.float64)

    def float(self) -> Module:
        """Parameters and floating buffers to float32."""
        return self.to(dtypes.float32)

    # ---- calling, with hooks ----------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks):
            return self.forward(*args, **kwargs)  # no hooks (the usual case): skip the hook machinery
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        if self._backward_hooks and grad_mode.is_grad_enabled():
            return self._call_with_backward_hooks(args, kwargs)
        return self._forward_with_hooks(args, kwargs)

    def _forward_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def _call_with_backward_hooks(self, args: tuple, kwargs: dict) -> Any:
        """Run forward with full backward hooks attached through Tensor hooks.

        Each tensor input that requires grad is passed through an identity (``clone``),
        whose gradient is ∂L/∂input; a Tensor hook on every output records ∂L/∂output.
        When all input gradients have arrived, each module hook is called with
        ``(module, grad_input, grad_output)`` and may return replacement input gradients.
        """
        inputs = [a.clone() if isinstance(a, Tensor) and a.requires_grad else a for a in args]
        tracked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        output = self._forward_with_hooks(tuple(inputs), kwargs)
        outputs = [t for t in _tensors_in(output) if t.requires_grad]
        grad_output: list[Tensor | None] = [None] * len(outputs)
        grad_input: dict[int, Tensor] = {}

        def run_module_hooks(grads: tuple) -> tuple:
            for hook in list(self._backward_hooks.values()):
                result = hook(self, grads, tuple(grad_output))
                if result is not None:
                    grads = tuple(result)
            return grads

        def on_output(k: int) -> Callable:
            def record(g: Tensor) -> None:
                grad_output[k] = g
                if not tracked and k == len(outputs) - 1:
                    run_module_hooks((None,) * max(len(args), 1))
            return record

        def on_input(i: int) -> Callable:
            def record(g: Tensor) -> Tensor | None:
                grad_input[i] = g
                if len(grad_input) < len(tracked):
                    return None
                grads = run_module_hooks(tuple(grad_input.get(j) for j in range(len(args))))
                return grads[i]
            return record

        for k, t in enumerate(outputs):
            t.register_hook(on_output(k))
        for i in tracked:
            inputs[i].register_hook(on_input(i))
        return output

    def _add_hook(self, registry: dict[int, Callable], hook: Callable) -> RemovableHandle:
        key = next(_next_hook_id)
        registry[key] = hook
        return RemovableHandle(registry, key)

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args)`` runs before forward; it may return replacement args."""
        return self._add_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, args, output)`` runs after forward; it may return a replacement output."""
        return self._add_hook(self._forward_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` runs at the start of ``load_state_dict`` (of this module or of any model
        containing it), before keys and shapes are checked. It may edit the entries under ``prefix``
        (the module's dotted name and a dot); keys it appends to the lists are reported, messages it
        appends to ``error_msgs`` raise. ``local_metadata`` is an empty dict (no versions are saved) and
        ``strict`` is True, as PyTorch passes it whatever ``load_state_dict`` was given."""
        return self._add_hook(self._load_state_dict_pre_hooks, hook)

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's inputs are computed; it may return replacement ``grad_input``."""
        return self._add_hook(self._backward_hooks, hook)

    # ---- printing ------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (its configuration)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _add_indent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"


# Neighbouring layers that Sequential runs as one op: (first layer's class, second's) -> the
# first layer's method that computes both. Filled in by the file defining the first layer
# (linear.py: Linear followed by ReLU), so that this file imports no layer. Exact classes: a
# subclass may compute something else.
FUSED_PAIRS: dict[tuple[type, type], Callable[[Any, Any], Any]] = {}


def _has_hooks(m: Module) -> bool:
    """True if ``m`` has forward, forward-pre or backward hooks (the test Module.__call__ makes)."""
    return bool(m._forward_pre_hooks or m._forward_hooks or m._backward_hooks)


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``.

    Supports ``len``, iteration and indexing (a slice gives a new Sequential).
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        """Feed ``x`` through every module in order.

        Two neighbours listed in ``FUSED_PAIRS`` (a Linear followed by a ReLU) run as one op
        when neither has hooks: y = relu(x Wᵀ + b) in one pass, and its backward in one.
        Values and gradients are the two layers'; only the Linear's own output, which
        nothing but a hook could see, is never made (the graph has PyTorch's ReluBackward0
        node without the AddmmBackward0 before it).
        """
        modules = list(self._modules.values())
        i, n = 0, len(modules)
        while i < n:
            m = modules[i]
            fused = FUSED_PAIRS.get((type(m), type(modules[i + 1]))) if i + 1 < n else None
            if fused is not None and not (_has_hooks(m) or _has_hooks(modules[i + 1])):
                x, i = fused(m, x), i + 2
            else:
                x, i = m(x), i + 1
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[index][1]

    def append(self, module: Module) -> Sequential:
        """Add a module at the end."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add several modules at the end."""
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        values = list(self._modules.values())
        return ModuleList(values[index]) if isinstance(index, slice) else values[index]

    def __repr__(self) -> str:
        # PyTorch compresses runs of identical children: "(0-2): 3 x Linear(...)".
        reprs = [repr(m) for m in self]
        if not reprs:
            return f"{self._get_name()}()"
        runs: list[list[Any]] = []  # [start, end, repr]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [_add_indent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2) for a, b, r in runs]
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"


class _NamedRegistry(Module):
    """The dict behaviour ModuleDict and ParameterDict share, over one of the module's registries
    (``_registry``: "_modules" or "_parameters"); subclasses say how an item is registered."""

    _registry = "_modules"

    def _items(self) -> dict[str, Any]:
        return self.__dict__[self._registry]

    def __getitem__(self, key: str) -> Any:
        return self._items()[key]

    def __delitem__(self, key: str) -> None:
        del self._items()[key]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __contains__(self, key: object) -> bool:
        return key in self._items()

    def keys(self) -> Iterable[str]:
        """The names, in insertion order."""
        return self._items().keys()

    def values(self) -> Iterable[Any]:
        """The items, in insertion order."""
        return self._items().values()

    def items(self) -> Iterable[tuple[str, Any]]:
        """(name, item) pairs, in insertion order."""
        return self._items().items()

    def update(self, items: dict[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add (or replace) the items of a dict or of (name, item) pairs."""
        for key, value in (items.items() if isinstance(items, dict) else items):
            self[key] = value

    def pop(self, key: str) -> Any:
        """Remove the item named ``key`` and return it."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        """Remove every item."""
        self._items().clear()


class ModuleDict(_NamedRegistry):
    """A dict of modules whose parameters are registered (a plain dict would hide them); keys keep
    their insertion order, as PyTorch's."""

    _registry = "_modules"

    def __init__(self, modules: dict[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)


class ParameterList(Module):
    """A list of parameters registered as ``"0"``, ``"1"``, … (a Tensor that is not yet a
    Parameter becomes one sharing its memory, as in PyTorch)."""

    def __init__(self, values: Iterable[Tensor] | None = None) -> None:
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value: Tensor) -> ParameterList:
        """Add a parameter at the end."""
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Tensor]) -> ParameterList:
        """Add several parameters at the end."""
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index: int) -> Parameter:
        return list(self._parameters.values())[index]

    def __setitem__(self, index: int, value: Tensor) -> None:
        self.register_parameter(str(range(len(self))[index]), _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())


class ParameterDict(_NamedRegistry):
    """A dict of parameters registered under their keys (Tensors become Parameters)."""

    _registry = "_parameters"

    def __init__(self, parameters: dict[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key: str, value: Tensor) -> None:
        self.register_parameter(key, _as_parameter(value))


def _as_parameter(value: Any) -> Parameter:
    """``value`` as a Parameter: itself if it is one, else a Parameter sharing a Tensor's memory."""
    if isinstance(value, Parameter):
        return value
    if not isinstance(value, Tensor):
        raise TypeError(f"ParameterList/ParameterDict: expects Tensors, got {type(value).__name__}")
    return Parameter(value)
