"""Magnitude pruning: zero the smallest weights and keep them zero while training goes on.

Pruning by rate (source document 000): with a rate r and n weights, the k = round(r·n)
weights of smallest magnitude |w| are set to zero. "global" scope ranks the weights of all
chosen tensors together (a layer with many small weights loses more of them); "layer"
scope prunes the fraction r of each tensor separately.

How a pruned tensor is stored (PyTorch's ``torch.nn.utils.prune`` reparametrisation, with
the same names, so pruned state dicts move between the two libraries)::

    weight_orig   Parameter   the trained values: what the optimiser sees and updates
    weight_mask   buffer      1 = kept, 0 = pruned (same dtype as the weight)
    weight        plain attribute, recomputed by a forward pre-hook before every forward:

                  weight = weight_orig ⊙ weight_mask

Why this keeps pruned weights at exactly zero with every optimiser: the forward pass only
ever uses weight_orig ⊙ mask. The gradient ∂L/∂weight_orig = ∂L/∂weight ⊙ mask is zero
at pruned entries, but momentum, Adam's moments or weight decay may still move
weight_orig there; that does not matter, because the next forward multiplies those
entries by 0 again. (Zeroing only the gradient, or only the weight once, fails as soon
as the optimiser has momentum or weight decay.) Between an optimiser step and the next
forward, ``module.weight`` still holds the value from before the step, as in PyTorch;
``sparsity``, ``remove_pruning`` and ``sparse_size_bytes`` compute orig ⊙ mask afresh.

Pruning an already pruned tensor again combines the masks as PyTorch does: the new
fraction is taken of the weights still kept, and the new mask is the old one with more
zeros. Ties in |w| (rare with trained float weights) are broken by position: of equal
magnitudes, the one earlier in the flattened order (for "global": earlier parameter, then
earlier index) is pruned first. PyTorch's ``topk`` leaves this order unspecified.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator

import numpy as np

from ..nn import Conv1d, Conv2d, Linear, Module, RemovableHandle
from ..tensor import Tensor

PRUNABLE_LAYERS = (Linear, Conv1d, Conv2d)
SCOPES = ("global", "layer")


class ApplyMask:
    """The forward pre-hook of a pruned tensor: ``module.<name> = <name>_orig ⊙ <name>_mask``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handle: RemovableHandle | None = None  # set when the hook is registered

    def masked_value(self, module: Module) -> Tensor:
        """The pruned tensor as the forward sees it (recorded in the graph when grad mode is on)."""
        return getattr(module, self.name + "_orig") * getattr(module, self.name + "_mask")

    def __call__(self, module: Module, args: tuple) -> None:
        object.__setattr__(module, self.name, self.masked_value(module))


def _mask_hooks(module: Module) -> dict[str, ApplyMask]:
    """The pruning hooks of one module, by the name of the tensor each one masks."""
    return {h.name: h for h in module._forward_pre_hooks.values() if isinstance(h, ApplyMask)}


def _default_targets(model: Module) -> list[tuple[Module, str]]:
    """``(module, "weight")`` for every Linear, Conv1d and Conv2d layer in the model."""
    return [(m, "weight") for m in model.modules() if isinstance(m, PRUNABLE_LAYERS)]


def _current_mask(module: Module, name: str) -> np.ndarray:
    """The tensor's mask: its ``<name>_mask`` buffer once pruned, all ones before."""
    if name in _mask_hooks(module):
        return getattr(module, name + "_mask").data
    return np.ones_like(getattr(module, name).data)


def _effective_values(module: Module, name: str) -> np.ndarray:
    """The tensor the forward will use: ``orig ⊙ mask`` when pruned (fresh, even right after an
    optimiser step), else the parameter itself."""
    hook = _mask_hooks(module).get(name)
    if hook is None:
        return getattr(module, name).data
    return getattr(module, name + "_orig").data * getattr(module, name + "_mask").data


def count_to_prune(amount: float | int, remaining: int, where: str) -> int:
    """How many of the ``remaining`` unpruned entries to prune: ``round(amount · remaining)`` for a
    fraction, the number itself for an int (PyTorch's rule, Python's round-half-to-even)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"prune_magnitude: amount must be a fraction in [0, 1] or an int count, got {amount!r}")
    if isinstance(amount, numbers.Integral):
        if not 0 <= amount <= remaining:
            raise ValueError(f"prune_magnitude: cannot prune {amount} entries of {where}: "
                             f"only {remaining} are not pruned yet")
        return int(amount)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"prune_magnitude: amount must be in [0, 1] as a fraction, got {amount}")
    return round(amount * remaining)


def smallest_magnitude_mask(values: np.ndarray, mask: np.ndarray, amount: float | int, where: str) -> np.ndarray:
    """A new mask: ``mask`` with the ``amount`` smallest |values| among its kept entries also zeroed.

    Kept entries are ranked by |value| with a stable sort, so equal magnitudes are pruned in
    flattened order (the tie rule in the module docstring).
    """
    flat_mask = mask.reshape(-1)
    kept = np.flatnonzero(flat_mask == 1)
    k = count_to_prune(amount, kept.size, where)
    order = np.argsort(np.abs(values.reshape(-1)[kept]), kind="stable")
    new_mask = flat_mask.copy()
    new_mask[kept[order[:k]]] = 0
    return new_mask.reshape(mask.shape)


def _set_mask(module: Module, name: str, mask: np.ndarray) -> None:
    """Store ``mask`` for ``module.<name>``; the first time, move the Parameter to ``<name>_orig``
    and register the buffer ``<name>_mask`` and the pre-hook that recomputes ``<name>``."""
    hook = _mask_hooks(module).get(name)
    if hook is None:
        param = module._parameters[name]
        delattr(module, name)
        module.register_parameter(name + "_orig", param)
        module.register_buffer(name + "_mask", Tensor(mask.astype(param.dtype)))
        hook = ApplyMask(name)
        hook.handle = module.register_forward_pre_hook(hook)
    else:
        setattr(module, name + "_mask", Tensor(mask.astype(getattr(module, name + "_orig").dtype)))
    hook(module, ())


def prune_magnitude(model: Module, amount: float | int, scope: str = "global",
                    parameters: Iterable[tuple[Module, str]] | None = None) -> Module:
    """Prune the smallest-magnitude weights of ``model`` (in place); return the model.

    ``amount``: fraction in [0, 1] of the still unpruned weights to prune (or an int count).
    ``scope``: "global" ranks all chosen tensors together (PyTorch's ``global_unstructured``
    with ``L1Unstructured``); "layer" prunes each tensor by itself (``l1_unstructured``).
    ``parameters``: ``(module, name)`` pairs to prune; default: the weight of every Linear,
    Conv1d and Conv2d layer (biases are left alone).

    Masks: a weight w is kept (mask 1) unless it is among the k smallest |w| of its scope,
    k = round(amount · number still kept). Calling it again prunes further on top of the
    existing masks. ``prune_magnitude(model, 0.0)`` only installs all-ones masks, which gives
    a fresh model the structure needed to load a pruned state dict.
    """
    if scope not in SCOPES:
        raise ValueError(f"prune_magnitude: scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    targets = list(_default_targets(model) if parameters is None else parameters)
    if not targets:
        raise ValueError(f"prune_magnitude: {type(model).__name__} has no Linear/Conv layers to prune "
                         "(pass parameters=[(module, name), ...])")
    for module, name in targets:
        if name not in module._parameters and name not in _mask_hooks(module):
            raise ValueError(f"prune_magnitude: {type(module).__name__} has no parameter '{name}' to prune")
    values = [_effective_values(m, n) for m, n in targets]
    masks = [_current_mask(m, n) for m, n in targets]
    if scope == "layer":
        new_masks = [smallest_magnitude_mask(v, mask, amount, f"{type(m).__name__}.{n}")
                     for v, mask, (m, n) in zip(values, masks, targets)]
    else:
        flat = smallest_magnitude_mask(np.concatenate([v.reshape(-1) for v in values]),
                                       np.concatenate([mask.reshape(-1) for mask in masks]), amount,
                                       f"{len(targets)} tensors")
        ends = np.cumsum([v.size for v in values])[:-1]
        new_masks = [piece.reshape(v.shape) for piece, v in zip(np.split(flat, ends), values)]
    for (module, name), mask in zip(targets, new_masks):
        _set_mask(module, name, mask)
    return model


def pruned_tensors(model: Module) -> Iterator[tuple[str, Module, str]]:
    """``(module_name, module, tensor_name)`` for every pruned tensor in the model."""
    for module_name, module in model.named_modules():
        for name in _mask_hooks(module):
            yield module_name, module, name


def remove_pruning(model: Module) -> Module:
    """Fold every mask into its weight, making the pruning permanent; return the model.

    ``<name>_orig`` becomes the plain Parameter ``<name>`` again, with the value
    ``orig ⊙ mask`` (the same Parameter object, so an optimiser built on the pruned model
    keeps working); the mask buffer and the pre-hook go. Later training may then move the
    zeros: remove pruning when training is over.
    """
    for _, module, name in list(pruned_tensors(model)):
        hook = _mask_hooks(module)[name]
        param = getattr(module, name + "_orig")
        param.data *= getattr(module, name + "_mask").data
        if hook.handle is not None:
            hook.handle.remove()
        object.__delattr__(module, name)
        delattr(module, name + "_orig")
        delattr(module, name + "_mask")
        module.register_parameter(name, param)
    return model


def sparsity(model: Module) -> dict[str, float]:
    """Fraction of zero entries per weight, by dotted name, plus ``"global"`` over all of them.

    Reported tensors: the weight of every Linear/Conv layer and every pruned tensor, as
    the forward uses them (orig ⊙ mask when pruned).
    """
    report, zeros, total = {}, 0, 0
    for module_name, module in model.named_modules():
        names = dict.fromkeys(["weight"] if isinstance(module, PRUNABLE_LAYERS) else [])
        names.update(dict.fromkeys(_mask_hooks(module)))
        for name in names:
            values = _effective_values(module, name)
            n_zero = int(np.count_nonzero(values == 0))
            report[f"{module_name}.{name}" if module_name else name] = n_zero / max(values.size, 1)
            zeros, total = zeros + n_zero, total + values.size
    report["global"] = zeros / max(total, 1)
    return report


def sparse_size_bytes(model: Module) -> int:
    """Bytes to store the model with each pruned tensor in a bitmask format, the rest dense.

    Pruned tensor: ⌈n/8⌉ bytes of bitmask (bit i says whether entry i is nonzero) + the
    nonzero values at their dtype's size, in order. Everything else (biases, unpruned weights,
    buffers other than the masks) is counted densely.
    """
    pruned = {(id(module), name) for _, module, name in pruned_tensors(model)}
    size = 0
    for module in model.modules():
        for name in _mask_hooks(module):
            values = _effective_values(module, name)
            size += -(-values.size // 8) + int(np.count_nonzero(values)) * values.itemsize
        for registry in (module._parameters, module._buffers):
            for name, tensor in registry.items():
                stem = name.removesuffix("_orig").removesuffix("_mask")
                if tensor is not None and (id(module), stem) not in pruned:
                    size += tensor.data.nbytes
    return size
