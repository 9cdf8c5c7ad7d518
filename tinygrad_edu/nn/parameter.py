"""``nn.parameter``: ``Parameter`` and the placeholders of lazy modules, ``UninitializedParameter``
and ``UninitializedBuffer`` (as ``torch.nn.parameter``).

A placeholder has a dtype but no shape yet: reading ``.shape`` raises. ``materialize(shape)``
gives it storage of that shape and turns it, in place, into what it stands for (a Parameter,
or a plain Tensor for a buffer), so every reference to it (an optimiser's, say) stays valid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from .module import Parameter

__all__ = ["Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]

_SHAPE_ERROR = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens in "
                "`load_state_dict` when trying to load an uninitialized parameter into an initialized one. Call "
                "`forward` to initialize the parameters before accessing their attributes.")


class UninitializedTensorMixin:
    """What both placeholders share: no shape until ``materialize``, then the class to become."""

    __slots__ = ()  # (so that an UninitializedBuffer can become a plain, slotted Tensor)
    cls_to_become: type = Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        """Unknown until materialized: raises."""
        raise RuntimeError(_SHAPE_ERROR)

    def materialize(self, shape: tuple[int, ...], dtype: Any = None) -> None:
        """Give the placeholder zero-filled storage of ``shape`` (its own dtype unless ``dtype`` says
        otherwise) and make it a ``cls_to_become``; the layer's initialisation fills it next."""
        dtype = self.data.dtype if dtype is None else dtypes.as_dtype(dtype)
        self.data = np.zeros(tuple(shape), dtype=dtype)
        self.__class__ = self.cls_to_become

    def detach(self) -> Tensor:
        """Itself: a state dict shows the placeholder, as PyTorch's does."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter of a lazy module before its first forward (becomes a ``Parameter``)."""

    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, dtype: Any = None) -> None:
        dtype = dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)
        super().__init__(np.empty(0, dtype=dtype), requires_grad)


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a lazy module before its first forward (becomes a plain ``Tensor``)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad: bool = False, dtype: Any = None) -> None:
        dtype = dtypes.default_float if dtype is None else dtypes.as_dtype(dtype)
        super().__init__(np.empty(0, dtype=dtype), requires_grad)


def is_lazy(value: Any) -> bool:
    """True for an UninitializedParameter or UninitializedBuffer."""
    return isinstance(value, UninitializedTensorMixin)
