r"""The older, hook-based ``nn.utils.weight_norm`` / ``spectral_norm`` (and their ``remove_*``), as
PyTorch still ships them: the weight is recomputed by a forward pre-hook before every call and
stored as a plain attribute, from parameters with other names.

    weight_norm:    weight = weight_g · weight_v / ‖weight_v‖      parameters weight_g, weight_v
    spectral_norm:  weight = weight_orig / σ,  σ = uᵀ W v           parameter weight_orig,
                    buffers weight_u, weight_v (power iteration in training mode: v first, then u)

The formulas are shared with ``nn.utils.parametrizations``, the newer form of both (prefer it).
"""

from __future__ import annotations

import warnings
from typing import Any

from ...autograd import grad_mode
from ...tensor import Tensor
from ..module import Module, Parameter
from ..parameter import is_lazy
from .parametrizations import (
    default_spectral_dim,
    norm_except_dim,
    power_iteration,
    random_unit_vector,
    spectral_normalized,
    weight_norm_value,
    weight_to_matrix,
)

__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]


def _check_initialized(weight: Any, hook: str, normalization: str) -> None:
    """A lazy module's weight has no shape yet: say to run the dry forward first."""
    if is_lazy(weight):
        raise ValueError(f"The module passed to `{hook}` can't have uninitialized parameters. Make sure to run "
                         f"the dummy forward before applying {normalization}")


def _find_hook(module: Module, kind: type, name: str) -> int | None:
    """The key of ``module``'s pre-hook of class ``kind`` for ``name``, or None."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, kind) and hook.name == name:
            return key
    return None


class WeightNorm:
    """The pre-hook of ``weight_norm``: sets ``module.<name>`` = g · v / ‖v‖ before each forward."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        """g · v / ‖v‖ from the module's ``<name>_g`` and ``<name>_v``."""
        return weight_norm_value(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    def final_weight(self, module: Module) -> Tensor:
        """The weight ``remove_weight_norm`` keeps."""
        return self.compute_weight(module)

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Replace the parameter ``name`` by ``<name>_g`` (norms) and ``<name>_v`` (direction), the weight
    recomputed before each forward. Returns ``module``. Deprecated, as in PyTorch (a FutureWarning)."""
    warnings.warn("`tg.nn.utils.weight_norm` is deprecated in favor of `tg.nn.utils.parametrizations.weight_norm`.",
                  FutureWarning, stacklevel=2)
    if _find_hook(module, WeightNorm, name) is not None:
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    fn = WeightNorm(name, dim)
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"`WeightNorm` cannot be applied as parameter `{name}` is None")
    _check_initialized(weight, "WeightNorm", "weight normalization")
    del module._parameters[name]
    with grad_mode.no_grad():
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, fn.dim).data.copy()))
    module.register_parameter(name + "_v", Parameter(weight.data))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Fold g · v / ‖v‖ back into one parameter ``name``; removes the hook."""
    return _fold(module, WeightNorm, name, "weight_norm", ("_g", "_v"))


class SpectralNorm:
    """The pre-hook of ``spectral_norm``: sets ``module.<name>`` = W / σ(W) before each forward."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        """W / σ with σ = uᵀ W v, after ``n_power_iterations`` updates of u, v if asked."""
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = weight_to_matrix(weight, self.dim)
        if do_power_iteration:
            power_iteration(weight_mat.data, u, v, self.n_power_iterations, self.eps, u_first=False)
        return spectral_normalized(weight, weight_mat, u, v)

    def final_weight(self, module: Module) -> Tensor:
        """The weight ``remove_spectral_norm`` keeps: σ from the current u, v (no iteration)."""
        return self.compute_weight(module, do_power_iteration=False)

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Replace the parameter ``name`` by ``<name>_orig`` and the buffers ``<name>_u``, ``<name>_v``;
    ``module.<name>`` = W / σ(W) is recomputed before each forward. Returns ``module``."""
    if _find_hook(module, SpectralNorm, name) is not None:
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    dim = default_spectral_dim(module) if dim is None else dim
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
    _check_initialized(weight, "SpectralNorm", "spectral normalization")
    h, w = weight_to_matrix(weight, dim).shape
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, Tensor._make(weight.data))  # the plain attribute the hook overwrites
    module.register_buffer(name + "_u", random_unit_vector(h, weight.dtype, eps))
    module.register_buffer(name + "_v", random_unit_vector(w, weight.dtype, eps))
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Fold W / σ (with the current u, v; no power iteration) into one parameter ``name``."""
    return _fold(module, SpectralNorm, name, "spectral_norm", ("_u", "_v", "_orig"))


def _fold(module: Module, kind: type, name: str, label: str, suffixes: tuple[str, ...]) -> Module:
    """Remove the ``kind`` hook of ``name``: the weight it computes now becomes the parameter
    ``name``, and the attribute and the tensors ``name + suffix`` it was computed from go."""
    key = _find_hook(module, kind, name)
    if key is None:
        raise ValueError(f"{label} of '{name}' not found in {module}")
    fn = module._forward_pre_hooks.pop(key)
    with grad_mode.no_grad():
        weight = fn.final_weight(module)
    for suffix in ("", *suffixes):
        delattr(module, name + suffix)
    module.register_parameter(name, Parameter(weight.data))
    return module
