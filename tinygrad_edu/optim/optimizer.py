"""``Optimizer``: the loop every optimiser shares (PyTorch's structure).

An optimiser owns

* ``param_groups``  a list of dicts, each ``{"params": [Tensor, ...], "lr": ..., <options>}``:
                    the tensors it updates and the options for them (per-group options
                    let one model train its layers with different learning rates);
* ``state``         a dict keyed by parameter: what the algorithm remembers between steps
                    (momentum buffers, moment estimates, the step count t).

``step()`` visits every parameter that has a gradient and calls the algorithm's
``_update(param, grad, state, group)`` on the NumPy arrays: ``param`` is changed in place,
no autograd graph is built (the update is not part of the model). Each update counts as an
in-place write (the parameter's ``_version`` goes up, as in PyTorch), so ``loss.backward()``
after ``step()`` on a graph that saved the old parameter raises instead of using new values. The state buffers are
allocated once, at a parameter's first step, and updated in place after that.

Each algorithm lives in its own file (sgd.py, adam.py, rmsprop.py, adagrad.py), whose
class docstring writes the update rule as the papers and PyTorch's documentation do.
Its ``_update`` hands the arrays and options to one backend kernel (``backend.adam_update``
...): ``backend/numpy_ref.py`` follows the docstring line by line in NumPy, and the C
backend (csrc/optim.c) runs the same lines in one pass over the parameter's memory.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import enable_grad, grad_mode
from ..tensor import Tensor

ParamGroup = dict[str, Any]
Params = Iterable[Tensor] | Iterable[ParamGroup] | Tensor


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad``, ``step``, state dicts.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) each holding
    ``"params"`` and any options that override ``defaults`` for that group, e.g.
    ``SGD([{"params": body}, {"params": head, "lr": 0.1}], lr=0.01)``.
    Subclasses implement ``_init_state`` (the state of a parameter before its first step),
    ``_update`` (one step of the algorithm) and ``_validate`` (the options' ranges).
    """

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self._validate(defaults)
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[ParamGroup] = []
        param_list = _as_list(self, params)
        if not param_list:
            raise ValueError(f"{self._name}: got an empty parameter list")
        groups = param_list if isinstance(param_list[0], dict) else [{"params": param_list}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} tensors, {options}")
        return "\n".join([*lines, ")"])

    def add_param_group(self, param_group: ParamGroup) -> None:
        """Append a group of parameters with its own options (missing ones come from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self._name}: a parameter group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = _as_list(self, group.get("params", []))
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{self._name}: can only optimise Tensors, got a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{self._name}: cannot optimise a non-leaf tensor (shape {p.shape})")
            if id(p) in seen:
                raise ValueError(f"{self._name}: a parameter (shape {p.shape}) appears more than once")
            seen.add(id(p))
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._validate(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set every ``p.grad`` to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.requires_grad:  # a recorded gradient (create_graph=True): cut it off its graph
                    p.grad = Tensor._make(np.zeros_like(p.grad.data))
                else:
                    p.grad.data.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; return ``closure()`` if given.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs with
        gradients enabled, before the update.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # no_grad for the updates, with the flag set directly (as Function.apply does): a context-manager
        # object per step costs a few µs, once the step's GEMMs have pushed its code out of the caches
        mode = grad_mode._per_thread.mode
        previous, mode.enabled = mode.enabled, False
        try:
            for group in self.param_groups:
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    param, grad = p.data, grad.data
                    if grad.shape != param.shape:
                        raise ValueError(f"{self._name}: gradient of shape {grad.shape} "
                                         f"for a parameter of shape {param.shape}")
                    if grad.dtype != param.dtype:  # e.g. a float64 .grad set by hand on a float32 parameter
                        grad = grad.astype(param.dtype)
                    state = self.state.get(p)
                    if state is None:
                        state = self.state[p] = self._init_state(param, group)
                    self._update(param, grad, state, group)
                    p._count_write()  # an in-place write, as PyTorch's step: a graph that saved p now fails in backward
        finally:
            mode.enabled = previous
        return loss

    # ---- what each algorithm provides ------------------------------------------------

    def _validate(self, options: dict[str, Any]) -> None:
        """Raise ValueError if an option is out of range (``options`` = defaults or one group)."""

    def _init_state(self, param: np.ndarray, group: ParamGroup) -> dict[str, Any]:
        """The state of ``param`` before its first step (buffers start at zero)."""
        return {}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: ParamGroup) -> None:
        """One step of the algorithm on ``param``, in place."""
        raise NotImplementedError(f"{self._name} does not implement _update")

    # ---- state dicts -----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state in PyTorch's layout (copies, safe to keep while training goes on).

        ``{"state": {0: {"step": 3.0, "exp_avg": ndarray, ...}, 1: ...},
        "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}``: parameters are
        numbered in order through the groups; state values are NumPy arrays or numbers,
        so ``tg.save`` stores the whole dict in safetensors.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in s.items()}
            for p, s in self.state.items()
            if s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (ours or PyTorch's layout) into this optimiser.

        The saved groups must hold as many parameters as the current ones; arrays are copied
        and cast to their parameter's dtype; ``"step"`` stays a number. A saved group that lacks an
        option (a state dict from an older PyTorch, before ``foreach`` or ``decoupled_weight_decay``)
        takes the option's default, as PyTorch's ``__setstate__`` fills it.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self._name}.load_state_dict: the state has {len(saved_groups)} parameter groups, "
                             f"the optimiser {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{self._name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the state, {len(group['params'])} in the optimiser")
            by_index.update(zip((int(k) for k in saved["params"]), group["params"]))
        self.state = {}
        for key, saved_state in state_dict["state"].items():
            p = by_index[int(key)]
            self.state[p] = {name: self._restore_value(name, value, p) for name, value in saved_state.items()}
        option_defaults = self._option_defaults()
        for i, saved in enumerate(saved_groups):
            group = {**option_defaults, **saved, "params": self.param_groups[i]["params"]}
            self._validate(group)
            self.param_groups[i] = group

    def _option_defaults(self) -> dict[str, Any]:
        """Each option's default: the constructor's (not the value this optimiser was made with), or the
        class's fixed value for an option the constructor does not take (AdamW's decoupled weight decay)."""
        signature = inspect.signature(type(self).__init__).parameters
        return {name: value if name not in signature or signature[name].default is inspect.Parameter.empty
                else signature[name].default for name, value in self.defaults.items()}

    def _restore_value(self, name: str, value: Any, p: Tensor) -> Any:
        """A saved state value as this optimiser keeps it: a number for "step", else an array like ``p``."""
        if name == "step":
            return float(np.asarray(value))
        if isinstance(value, (np.ndarray, Tensor)) or hasattr(value, "__array__"):
            array = np.array(value.data if isinstance(value, Tensor) else value, dtype=p.dtype, copy=True)
            if array.shape != p.shape:
                raise ValueError(f"{self._name}.load_state_dict: state {name!r} has shape {array.shape}, "
                                 f"its parameter {p.shape}")
            return array
        return value


# ---- helpers shared by the algorithms ------------------------------------------------

def _as_list(optimizer: Optimizer, params: Any) -> list[Any]:
    """``params`` (a tensor, or an ordered iterable of tensors or groups) as a list."""
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{optimizer._name}: parameters must be an ordered collection (a list), not a set")
    return [params] if isinstance(params, Tensor) else list(params)


def check_non_negative(optimizer: Optimizer, options: dict[str, Any], *names: str) -> None:
    """ValueError naming the optimiser if any of ``options[name]`` is negative."""
    for name in names:
        if name in options and options[name] < 0:
            raise ValueError(f"{type(optimizer).__name__}: invalid {name} {options[name]} (must be >= 0)")

