r"""``nn.utils.parametrize``: a module's tensor computed from other tensors on every access.

``register_parametrization(module, "weight", P)`` replaces the parameter ``weight`` by

    module.weight  =  Pₖ(⋯ P₂(P₁(original)))        (recomputed at each read)

where ``original`` keeps the old Parameter object (same identity, so an optimiser built
earlier still holds it) and lives at ``module.parametrizations.weight.original``: the
state-dict key is ``"parametrizations.weight.original"``, as PyTorch's. A parametrization
is a Module whose ``forward`` maps the original to the value; it may define
``right_inverse(value)`` returning an original ``X`` with ``P(X) = value``, used both when
registering (the original starts as ``right_inverse(weight)``) and when assigning
``module.weight = value``. A ``right_inverse`` returning a tuple splits the original into
``original0, original1, …`` and ``forward`` receives them all (weight norm: g and v).

How it works (as PyTorch): the module's class is swapped for a generated subclass,
``Parametrized<Class>``, with a Python property per parametrized name. A property on the
class is found before ``Module.__getattr__`` looks into the registries, so ``forward`` code
reading ``self.weight`` is unchanged and gets the computed tensor. Removing the last
parametrization restores the original class.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ...autograd import grad_mode
from ...tensor import Tensor
from ..module import Module, ModuleDict, ModuleList, Parameter

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "transfer_parametrizations_and_params", "type_before_parametrizations"]

# (id(module), name) -> value, filled while at least one ``cached()`` block is open.
_cache: dict[tuple[int, str], Tensor] = {}
_cache_depth = 0


@contextmanager
def cached() -> Iterator[None]:
    """Inside ``with cached():`` each parametrized tensor is computed once, at its first read,
    and reused (e.g. a weight read at every step of an RNN); the cache empties when the
    outermost block exits."""
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache.clear()


def _register_parameter_or_buffer(module: Module, name: str, value: Tensor) -> None:
    """A Parameter stays a parameter, any other Tensor becomes a buffer (as it was before)."""
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_data(target: Tensor, value: Tensor) -> None:
    """Overwrite ``target``'s values with ``value``'s, keeping the object (PyTorch's ``set_``);
    a new shape replaces the array. The dtype cannot change (it would be a silent cast)."""
    if value.dtype != target.dtype:
        raise RuntimeError(f"Could not set a tensor of dtype {target.dtype} to values of dtype {value.dtype}: "
                           "the object is kept, and with it its dtype")
    if target.shape == value.shape:
        target.data[...] = value.data
    else:
        target.data = value.data.copy()
    target._count_write()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the original tensor(s) they start
    from: ``original`` (or ``original0``, ``original1``, … when ``right_inverse`` returns a tuple).

    ``unsafe=False`` checks, at registration, that the parametrized value keeps the original's
    shape and dtype.
    """

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        shape, dtype = original.shape, original.dtype  # (before right_inverse may reshape the original)
        with grad_mode.no_grad():
            new: Any = original
            for module in reversed(list(self)):  # the original is the inverse of the whole chain
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                                 f"original.dtype: {original.dtype}\nright_inverse(original).dtype: {new.dtype}")
            if new is not original:
                _set_data(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, value in enumerate(new):
                if not isinstance(value, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, "
                                     f"tuple...). Got element {i} of the sequence with type {type(value).__name__}.")
                # Each piece is a fresh tensor, a Parameter if the original was one.
                piece = (Parameter(value.data.copy(), original.requires_grad) if isinstance(original, Parameter)
                         else Tensor._make(value.data.copy()))
                _register_parameter_or_buffer(self, f"original{i}", piece)
        if not self.unsafe:
            _check_same_kind(self(), dtype, shape, "the parametrization")

    def right_inverse(self, value: Tensor) -> None:
        """Set the original(s) so that the chain gives ``value``: each parametrization's
        ``right_inverse``, last to first (outside the graph)."""
        with grad_mode.no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                pieces = {"original": value}
            elif isinstance(value, Sequence) and len(value) == self.ntensors:
                pieces = {f"original{i}": piece for i, piece in enumerate(value)}
            else:
                raise ValueError(f"'right_inverse' must return a sequence of {self.ntensors} tensors, "
                                 f"got {type(value).__name__}")
            for name, piece in pieces.items():
                target = getattr(self, name)
                if not isinstance(piece, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor for `{name}`. Got {type(piece).__name__}")
                if piece.dtype != target.dtype:  # (copying into the original would cast silently)
                    raise ValueError(f"The tensor returned by `right_inverse` for `{name}` has dtype {piece.dtype} "
                                     f"while `{name}` has dtype {target.dtype}")
                _set_data(target, piece)

    def forward(self) -> Tensor:
        """Pₖ(⋯ P₁(original)): the first parametrization takes all the originals."""
        modules = list(self)
        if self.is_tensor:
            x = modules[0](self.original)
        else:
            x = modules[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in modules[1:]:
            x = module(x)
        return x


def _inject_new_class(module: Module) -> None:
    """Swap ``module``'s class for ``Parametrized<Class>``, a subclass that will hold the properties
    (one per parametrized name, so other instances of the class are not affected)."""
    cls = module.__class__

    def __setattr__(self: Module, name: str, value: Any) -> None:  # noqa: N807 - the dunder of the new class
        # Module.__setattr__ would register a Parameter under the name, hidden behind the property;
        # a parametrized name goes to the property's setter (right_inverse) instead.
        if name in self.__dict__["_modules"].get("parametrizations", ()):
            object.__setattr__(self, name, value)
        else:
            Module.__setattr__(self, name, value)

    def __deepcopy__(self: Module, memo: dict[int, Any]) -> Module:  # noqa: N807 - as __setattr__
        # The properties live on the generated class, so the copy gets a class of its own: removing
        # a parametrization from one of the two then leaves the other's property in place.
        own_class = type(self)
        replica = object.__new__(type(own_class.__name__, own_class.__bases__, dict(vars(own_class))))
        memo[id(self)] = replica
        replica.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return replica

    namespace: dict[str, Any] = {"__setattr__": __setattr__}
    if not hasattr(cls, "__deepcopy__"):  # (a class's own deepcopy is kept, as torch keeps it)
        namespace["__deepcopy__"] = __deepcopy__
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    """Add the property ``tensor_name`` to the module's generated class: reading computes the
    parametrized value (once per ``cached()`` block), assigning calls ``right_inverse``."""

    def get_parametrized(self: Module) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        if not _cache_depth:
            return parametrization()
        key = (id(self), tensor_name)
        if key not in _cache:
            _cache[key] = parametrization()
        return _cache[key]

    def set_original(self: Module, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """True if ``module`` has a parametrization (on ``tensor_name``, if given)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def type_before_parametrizations(module: Module) -> type:
    """The module's class as it was before any parametrization (not ``Parametrized<Class>``)."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to the original
    tensor, which moves to ``module.parametrizations.<tensor_name>.original``.

    A second registration on the same name appends to the chain (its forward gets the first's
    output). Without ``unsafe``, the value must keep the tensor's shape and dtype, and a
    ``right_inverse`` must return a tensor of that shape and dtype. Returns ``module``.
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            value = parametrization(current)
            _check_same_kind(value, current.dtype, current.shape, f"parametrization(module.{tensor_name})")
            # A right_inverse that is absent or raises NotImplementedError is taken as the identity (as torch).
            try:
                inverse = parametrization.right_inverse(value) if hasattr(parametrization, "right_inverse") else value
            except NotImplementedError:
                inverse = value
            _check_same_kind(inverse, current.dtype, current.shape, "parametrization.right_inverse(X)")
        chain = module.parametrizations[tensor_name]
        chain.append(parametrization)
        chain.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"register_parametrization: '{tensor_name}' of {type(module).__name__} is None")
        chain = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = chain
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
                         f"with name '{tensor_name}'")
    return module


def _check_same_kind(value: Any, dtype: np.dtype, shape: tuple[int, ...], what: str) -> None:
    """A registration without ``unsafe`` keeps the tensor's dtype and shape."""
    if not isinstance(value, Tensor):
        raise ValueError(f"{what} must return a tensor. Got {type(value).__name__}.")
    if value.dtype != dtype or value.shape != shape:
        raise ValueError(f"Registering a parametrization may not change the shape or dtype of the tensor, unless "
                         f"the `unsafe` flag is enabled.\n{what}: dtype {value.dtype}, shape {value.shape}; "
                         f"the tensor: dtype {dtype}, shape {shape}")


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization`` on ``tensor_name``: it becomes a plain parameter (or buffer)
    again, holding the current parametrized value (``leave_parametrized=True``) or the original.

    The original Parameter object is kept (its values overwritten), so an optimiser holding it
    stays valid. With several originals (weight norm) only ``leave_parametrized=True`` is possible,
    and the result is a new Parameter.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    chain = module.parametrizations[tensor_name]
    if chain.is_tensor:
        original = chain.original
        if leave_parametrized:
            with grad_mode.no_grad():
                value = getattr(module, tensor_name)
            _set_data(original, value)
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized "
                             "in terms of a sequence of tensors.")
        with grad_mode.no_grad():
            value = getattr(module, tensor_name)
        requires_grad = any(getattr(chain, f"original{i}").requires_grad for i in range(chain.ntensors))
        original = (Parameter(np.array(value.data), requires_grad) if requires_grad
                    else Tensor._make(np.array(value.data)))
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Give ``to_module`` the parametrizations of ``from_module`` (all, or those of ``tensor_name``):
    the same parametrization modules and the same original tensors (shared objects, as PyTorch).
    A name ``to_module`` lacks is first created as a Parameter holding the parametrized value."""
    if not is_parametrized(from_module):
        return to_module
    for name in list(from_module.parametrizations) if tensor_name is None else [tensor_name]:
        chain = from_module.parametrizations[name]
        if not hasattr(to_module, name):
            to_module.register_parameter(name, Parameter(getattr(from_module, name).detach()))
        for parametrization in chain:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        originals = ["original"] if chain.is_tensor else [f"original{i}" for i in range(chain.ntensors)]
        for key in originals:
            _register_parameter_or_buffer(target, key, getattr(chain, key))
    return to_module
