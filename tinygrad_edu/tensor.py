"""``Tensor``: a NumPy array that remembers how it was computed.

A Tensor holds

* ``.data``          the values, an ``np.ndarray``;
* ``.requires_grad`` whether gradients should flow to it;
* ``.grad_fn``       the op (graph node) that produced it, None for a leaf;
* ``.grad``          after ``backward()``, ∂L/∂tensor for a leaf that requires grad.

No math lives in this file: every method is a line or two that checks its arguments and
calls an op's ``Function.apply`` (the math, with its formulas, is in ``tinygrad_edu/ops``).
Binary operators broadcast like NumPy, by inserting the ``Expand`` op (whose backward
is a sum) so that every op's formula stays the textbook one.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

import numpy as np

from . import composites, dtypes, linalg, ops, printing, random, return_types, special
from .autograd import engine, function, grad_mode
from .autograd.function import Function
from .ops.fpstate import quietly

Scalar = Union[int, float, bool]
TensorLike = Union["Tensor", np.ndarray, Scalar, Sequence[Any]]

# The result types' earlier names (each op's own type is in return_types, named as PyTorch's)
MaxResult, SortResult, TopKResult = return_types.max, return_types.sort, return_types.topk
AminmaxResult, MedianResult, ModeResult = return_types.aminmax, return_types.median, return_types.mode

# The version counter of every tensor that was never written in place nor viewed (see Tensor._version).
_UNSHARED_COUNTER = (0,)


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit an op. Catchable as ValueError, or as RuntimeError as in PyTorch."""


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: ``data`` is a scalar, a (nested)
    list, an ``np.ndarray`` or a Tensor. Python floats become float32 and ints int64; an
    ndarray keeps its dtype unless ``dtype`` says otherwise. The data is copied.
    """

    __slots__ = (
        "__weakref__",
        "_accumulator",
        "_hooks",
        "_output_nr",
        "_requires_grad",
        "_retain_grad_hook",  # set by retain_grad() only; unset reads as None (retains_grad)
        "_version_counter",
        "data",
        "grad",
        "grad_fn",
    )  # fmt: skip
    __hash__ = object.__hash__  # == is elementwise, so hash by identity (tensors are dict keys)
    __array_ufunc__ = None  # `ndarray + Tensor` defers to Tensor.__radd__ instead of building an object array

    def __init__(self, data: TensorLike, requires_grad: bool = False, dtype: Any = None) -> None:
        self._init(_to_array(data, dtype), None, 0)
        self.requires_grad = requires_grad

    def _init(self, data: np.ndarray, grad_fn: Function | None, output_nr: int) -> None:
        self.data = data
        self.grad: Tensor | None = None
        self.grad_fn = grad_fn
        self._output_nr = output_nr
        self._requires_grad = grad_fn is not None
        self._hooks: list[engine.Hook] = []
        self._accumulator: Any = None
        self._version_counter: Sequence[int] = _UNSHARED_COUNTER  # see _version

    @classmethod
    def _make(cls, data: np.ndarray, grad_fn: Function | None = None, output_nr: int = 0) -> Tensor:
        """Wrap an array without copying or converting it (used by ops and the engine)."""
        t = cls.__new__(cls)
        t._init(data, grad_fn, output_nr)
        return t

    # ---- attributes ----------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor (always True for an op's differentiable output)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "requires_grad: cannot switch off requires_grad of a non-leaf tensor; use .detach()"
            )
        if value and not dtypes.is_floating(self.dtype):
            raise RuntimeError(f"requires_grad: only floating point tensors can require gradients, not {self.dtype}")
        self._requires_grad = bool(value)

    @property
    def _version(self) -> int:
        """In-place writes so far to this tensor's memory, through it or any view of it (PyTorch's
        ``_version``). An op records the version of each tensor it saves for backward, and
        backward raises if it changed since: the saved values would no longer be the inputs.

        A view (reshape, permute, basic indexing, expand, detach) and the tensor it looks into share
        one counter, a one-element list, so a write through either counts for both. Most tensors
        are never written nor viewed: until then they all read 0 from one immutable
        ``_UNSHARED_COUNTER`` = (0,), and get a list of their own only when first needed.
        """
        return self._version_counter[0]

    def _shared_version_counter(self) -> list[int]:
        """The counter this tensor shares with its views, made now if it has none yet."""
        counter = self._version_counter
        if counter is _UNSHARED_COUNTER:
            counter = self._version_counter = [0]
        return counter

    @property
    def is_leaf(self) -> bool:
        """True unless the tensor is the output of a recorded op."""
        return self.grad_fn is None

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of every dim, as a tuple."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of dims."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The element type, a NumPy dtype such as ``tg.float32``."""
        return self.data.dtype

    @property
    def device(self) -> str:
        """Always ``"cpu"``: tinygrad_edu computes with NumPy and C on the CPU."""
        return "cpu"

    @property
    def is_cpu(self) -> bool:
        """Always True: tinygrad_edu computes on the CPU."""
        return True

    @property
    def is_cuda(self) -> bool:
        """Always False (no GPU), so ``if x.is_cuda:`` branches of PyTorch scripts are skipped."""
        return False

    def get_device(self) -> int:
        """−1, PyTorch's answer for a CPU tensor."""
        return -1

    @property
    def T(self) -> Tensor:
        """All dims reversed (the matrix transpose for 2-D tensors)."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of transposed matrices)."""
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the size of one dim."""
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        """The number of dims (PyTorch's name for ``ndim``)."""
        return self.ndim

    def numel(self) -> int:
        """The number of elements."""
        return int(self.data.size)

    nelement = numel

    def is_floating_point(self) -> bool:
        """True for float16, float32 and float64 tensors."""
        return dtypes.is_floating(self.dtype)

    def is_complex(self) -> bool:
        """False: tinygrad_edu has no complex dtypes."""
        return False

    def is_contiguous(self) -> bool:
        """True if the elements lie in memory in row-major order with no gaps (not a
        transposed, sliced-with-step or expanded view)."""
        return self.data.flags.c_contiguous

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The step in memory, counted in elements (not bytes, unlike NumPy), from one index
        to the next along each dim (or along ``dim``); 0 along an expanded dim."""
        strides = tuple(s // self.data.itemsize for s in self.data.strides)
        return strides if dim is None else strides[_dim(dim, self.ndim, "stride")]

    def element_size(self) -> int:
        """The size of one element in bytes (4 for float32)."""
        return self.data.itemsize

    @property
    def itemsize(self) -> int:
        """The size of one element in bytes (``element_size()``)."""
        return self.data.itemsize

    @property
    def nbytes(self) -> int:
        """The bytes the elements take: numel · itemsize (0 bytes more for an expanded view, as PyTorch)."""
        return self.numel() * self.data.itemsize

    def ndimension(self) -> int:
        """The number of dims (an old PyTorch name for ``dim()``)."""
        return self.ndim

    def is_signed(self) -> bool:
        """True unless the dtype is unsigned or bool."""
        return self.dtype.kind not in "ub"

    def is_same_size(self, other: Tensor) -> bool:
        """True if ``other`` has this shape."""
        return self.shape == other.shape

    def data_ptr(self) -> int:
        """The memory address of the first element (the ndarray's). For identity checks only,
        e.g. whether two tensors share memory (``a.data_ptr() == b.data_ptr()``): NumPy may
        move or free the memory once the tensor is gone, and Python cannot dereference it."""
        return self.data.ctypes.data

    def storage_offset(self) -> int:
        """How many elements after the start of the memory block it looks into this tensor's
        first element lies: 0 for a tensor with memory of its own, ``x[1:].storage_offset()`` =
        x.stride(0) for a row-major x (PyTorch's meaning). A view here is an ndarray view: the
        block is that of the array at the end of its ``.base`` chain, the array owning the memory."""
        owner = self.data
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        return (self.data.ctypes.data - owner.ctypes.data) // self.data.itemsize

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return printing.tensor_repr(self)  # as PyTorch prints it: the rules are in printing.py

    def __format__(self, spec: str) -> str:
        """As PyTorch: a 0-d tensor formats as its number (``f"{loss:.4f}"``, and ``f"{loss}"``
        gives the bare value); any other tensor only with an empty spec, as its repr."""
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    # ---- conversion ------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The values as an ndarray (shared memory). Raises if the tensor requires grad."""
        if self.requires_grad:
            raise RuntimeError("numpy: the tensor requires grad; call tensor.detach().numpy() instead")
        return self.data

    def __array__(self, dtype: Any = None, copy: builtins.bool | None = None) -> np.ndarray:
        """``np.asarray(tensor)`` (and plotting libraries) see the values, as with PyTorch."""
        values = self.numpy()  # raises for a tensor that requires grad, as PyTorch does
        values = values if dtype is None else values.astype(dtype, copy=False)
        return values.copy() if copy else values

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:  # (a ShapeError: PyTorch raises RuntimeError here, ValueError in float())
            raise ShapeError(f"item: only one-element tensors can be converted, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists."""
        return self.data.tolist()

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ShapeError(f"Boolean value of Tensor with more than one value is ambiguous (shape {self.shape})")
        return builtins.bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if dtypes.is_floating(self.dtype):
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def detach(self) -> Tensor:
        """A tensor with the same data (shared memory, and so the same version counter) cut off from the graph."""
        detached = Tensor._make(self.data)
        detached._version_counter = self._shared_version_counter()
        return detached

    def detach_(self) -> Tensor:
        """Cut this tensor off from the graph in place: it becomes a leaf that does not require grad."""
        self.grad_fn = None
        self._output_nr = 0
        self._requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    def to(self, dtype: Any = None, *, device: Any = None) -> Tensor:
        """This tensor in ``dtype`` (itself if already so; differentiable between float dtypes).

        As in PyTorch, ``dtype`` may also be a tensor (take its dtype) or a device:
        ``x.to("cpu")`` / ``x.to(device)`` return x itself, any other device is an error
        (tinygrad_edu computes on the CPU only), so PyTorch training scripts run unchanged.
        """
        dtype = target_dtype("to", dtype.dtype if isinstance(dtype, Tensor) else dtype, device)
        if dtype is None or dtype == self.dtype:  # a device-only call, or the dtype it has
            return self
        if self.requires_grad and dtypes.is_floating(dtype):
            return ops.Cast.apply(self, dtype=dtype)
        return Tensor._make(quietly(self.data.astype, dtype))  # nan/inf to int: no warning, as PyTorch

    def cpu(self) -> Tensor:
        """Itself: the tensor is on the CPU already."""
        return self

    def contiguous(self) -> Tensor:
        """Itself if its memory is row-major (C-contiguous), else a row-major copy (differentiable),
        as PyTorch. (``view`` here works on any layout, so it is not needed before ``view``.)"""
        if self.data.flags.c_contiguous:
            return self
        return ops.Clone.apply(self, order="C")

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in ``other``'s dtype."""
        return self.to(other.dtype)

    def astype(self, dtype: Any) -> Tensor:
        """NumPy's name for ``to(dtype)``."""
        return self.to(dtype)

    def float(self) -> Tensor:
        """This tensor as float32."""
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        """This tensor as float64."""
        return self.to(dtypes.float64)

    def long(self) -> Tensor:
        """This tensor as int64 (not differentiable)."""
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        """This tensor as int32 (not differentiable; floats are truncated toward 0)."""
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        """This tensor as bool (nonzero → True; not differentiable)."""
        return self.to(dtypes.bool)

    def half(self) -> Tensor:
        """This tensor as float16 (differentiable from a float tensor)."""
        return self.to(dtypes.float16)

    def byte(self) -> Tensor:
        """This tensor as uint8 (not differentiable; floats are truncated, then wrap modulo 256)."""
        return self.to(dtypes.uint8)

    def char(self) -> Tensor:
        """This tensor as int8 (not differentiable; floats are truncated, then wrap)."""
        return self.to(dtypes.int8)

    def short(self) -> Tensor:
        """This tensor as int16 (not differentiable; floats are truncated, then wrap)."""
        return self.to(np.dtype(np.int16))

    def new_full(self, size: Sequence[int], fill_value: Scalar, *, dtype: Any = None,
                 requires_grad: bool = False) -> Tensor:
        """A new tensor of ``size`` filled with ``fill_value``, of this tensor's dtype unless ``dtype`` is given."""
        array = np.full(_shape_arg((size,)), fill_value, dtype=self.dtype if dtype is None else dtypes.as_dtype(dtype))
        return Tensor(array, requires_grad=requires_grad)

    def new_tensor(self, data: TensorLike, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A new tensor (a copy) of ``data``, of this tensor's dtype unless ``dtype`` is given."""
        return Tensor(_to_array(data, self.dtype if dtype is None else dtype), requires_grad=requires_grad)

    def new_zeros(self, *size: int | Sequence[int], dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """``new_full(size, 0)``: zeros of this tensor's dtype (or ``dtype``)."""
        return self.new_full(_shape_arg(size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_ones(self, *size: int | Sequence[int], dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """``new_full(size, 1)``: ones of this tensor's dtype (or ``dtype``)."""
        return self.new_full(_shape_arg(size), 1, dtype=dtype, requires_grad=requires_grad)

    def new_empty(self, *size: int | Sequence[int], dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A new tensor of ``size`` whose values are not to be relied on (zeros here)."""
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)

    def clone(self) -> Tensor:
        """A copy with its own memory and the same layout, as PyTorch's; differentiable (the
        gradient passes through)."""
        return ops.Clone.apply(self)

    # ---- autograd ------------------------------------------------------------------

    def backward(self, gradient: TensorLike | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate ∂self/∂leaf into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` is ∂L/∂self; it may be omitted only for a one-element tensor (then 1).
        The graph's saved values are freed afterwards unless ``retain_graph=True``; with
        ``create_graph=True`` the gradients are themselves recorded (for grad-of-grad).
        """
        if gradient is not None and not isinstance(gradient, Tensor):
            gradient = Tensor(gradient, dtype=self.dtype)
        engine.backward([self], [gradient], retain_graph=retain_graph, create_graph=create_graph)

    def __getstate__(self) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """For pickle and copy: the slots (and a subclass's ``__dict__``), but not the weak
        reference to the AccumulateGrad node, which cannot be pickled: a copy makes its own."""
        slots = {name: getattr(self, name) for name in Tensor.__slots__
                 if name != "__weakref__" and hasattr(self, name)}
        slots["_accumulator"] = None
        return getattr(self, "__dict__", None), slots

    def _grad_accumulator(self) -> engine.AccumulateGrad:
        """The leaf's AccumulateGrad node, shared by every use while a graph holds it.

        The node refers to the leaf (the graph keeps the leaves it accumulates into alive), the
        leaf to the node only weakly, as PyTorch's (its AutogradMeta keeps a weak_ptr): the two
        would otherwise form a reference cycle, and a leaf made during a step (a checkpointed
        segment's stand-in, which shares an activation's array) would outlive its graph until
        the cyclic garbage collector ran. Once no graph holds the node, the next use makes a
        new one; ``leaf.grad`` and the hooks live on the leaf, so nothing is lost with it.
        """
        ref = self._accumulator
        node = ref() if ref is not None else None
        if node is None:
            node = engine.AccumulateGrad(self)
            self._accumulator = weakref.ref(node)
        return node

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> engine.HookHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a
        replacement gradient. Returns a handle: ``handle.remove()`` unregisters the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        return engine.add_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor too (leaves always keep it)."""
        if self.grad_fn is not None and not self.retains_grad:  # a second call changes nothing, as PyTorch
            hook = engine.retain_grad_hook(self)
            engine.add_hook(self, hook)
            self._retain_grad_hook = hook  # kept last among the hooks, so .grad is what they made

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor on which ``retain_grad()`` was called (leaves keep .grad anyway)."""
        # (the slot is set only by retain_grad, so making a tensor stays one attribute write shorter)
        return self.grad_fn is not None and getattr(self, "_retain_grad_hook", None) is not None

    # ---- in-place writes (only outside the graph) ----------------------------------

    def _check_inplace(self, op: str, *operands: Any) -> None:
        """Refuse, before any work (as PyTorch), an in-place write that cannot be done: while
        recording, one into a tensor that requires grad or from an operand that does (in-place
        ops are not recorded, so the operand's gradient would be lost); and any write into
        read-only memory (a view made by expand, whose elements share memory locations)."""
        if grad_mode.is_grad_enabled():
            if self.requires_grad:
                raise RuntimeError(
                    f"{op}: a tensor that requires grad cannot be modified in place while grad is enabled; "
                    "use tg.no_grad() (as optimisers do) or work on .data"
                )
            if any(isinstance(operand, Tensor) and operand.requires_grad for operand in operands):
                raise RuntimeError(
                    f"{op}: writing a tensor that requires grad in place into one that does not would lose its "
                    "gradient (in-place ops are not recorded); write x = x + y (out of place) instead"
                )
        if not self.data.flags.writeable:
            raise RuntimeError(
                f"{op}: this tensor's memory is read-only (e.g. a view made by expand, where several "
                f"elements are one memory location, shape {self.shape}); clone() it first"
            )

    def _count_write(self) -> None:
        """Count one in-place write (see ``_version``)."""
        self._shared_version_counter()[0] += 1

    def _overwrite(self, op: str, values: Callable[[], Any], *operands: Any) -> Tensor:
        """A write of new values into this tensor (copy_, uniform_, normal_, bernoulli_, apply_):
        checked first, so a refused write computes nothing and draws no random number; then
        ``values()``, broadcast to this shape, is stored and the write counted."""
        self._check_inplace(op, *operands)
        self.data[...] = values()
        self._count_write()
        return self

    def zero_(self) -> Tensor:
        """Fill with zeros in place."""
        return self.fill_(0)

    def fill_(self, value: Scalar) -> Tensor:
        """Fill with ``value`` in place."""
        self._check_inplace("fill_", value)
        self.data[...] = value
        self._count_write()
        return self

    def copy_(self, src: TensorLike) -> Tensor:
        """Copy ``src`` (broadcast to this shape) into this tensor in place."""
        return self._overwrite("copy_", lambda: _to_array(src, self.dtype), src)

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        self._check_inplace("__setitem__", value)
        self.data[_index_to_numpy(index)] = _to_array(value, self.dtype)
        self._count_write()

    def _write(self, op: str, out_of_place: Callable[..., Tensor], *operands: Any) -> Tensor:
        """Every in-place arithmetic op: check the write is allowed, compute
        ``out_of_place(self, *operands)``, store the result into this tensor's array."""
        self._check_inplace(op, *operands)
        result = out_of_place(self, *operands)
        if result.shape != self.shape:
            raise ShapeError(f"{op}: the result of shape {result.shape} does not fit in place into shape {self.shape}")
        if dtypes.category(result.dtype) > dtypes.category(self.dtype):
            raise TypeError(f"{op}: a {result.dtype} result cannot be stored in place into a {self.dtype} tensor")
        self.data[...] = result.data
        self._count_write()
        return self

    def add_(self, other: TensorLike, *, alpha: Scalar = 1) -> Tensor:
        """self ← self + alpha·other, in place (outside the graph: e.g. ``p.add_(p.grad, alpha=-lr)``)."""
        return self._write("add_", lambda x, w: x.add(w, alpha=alpha), other)

    def sub_(self, other: TensorLike, *, alpha: Scalar = 1) -> Tensor:
        """self ← self − alpha·other, in place."""
        return self._write("sub_", lambda x, w: x.sub(w, alpha=alpha), other)

    def mul_(self, other: TensorLike) -> Tensor:
        """self ← self ⊙ other, in place."""
        return self._write("mul_", Tensor.mul, other)

    def div_(self, other: TensorLike) -> Tensor:
        """self ← self / other, in place."""
        return self._write("div_", Tensor.div, other)

    def addcmul_(self, tensor1: TensorLike, tensor2: TensorLike, *, value: Scalar = 1) -> Tensor:
        """self ← self + value·tensor1 ⊙ tensor2, in place (optimisers' update step)."""
        return self._write("addcmul_", lambda x, a, b: x.addcmul(a, b, value=value), tensor1, tensor2)

    def addcdiv_(self, tensor1: TensorLike, tensor2: TensorLike, *, value: Scalar = 1) -> Tensor:
        """self ← self + value·tensor1 / tensor2, in place (Adam's update step)."""
        return self._write("addcdiv_", lambda x, a, b: x.addcdiv(a, b, value=value), tensor1, tensor2)

    def clamp_min_(self, min: Scalar | Tensor) -> Tensor:
        """Clamp from below in place."""
        return self._write("clamp_min_", Tensor.clamp, min, None)

    def clamp_max_(self, max: Scalar | Tensor) -> Tensor:
        """Clamp from above in place."""
        return self._write("clamp_max_", Tensor.clamp, None, max)

    def lerp_(self, end: TensorLike, weight: TensorLike) -> Tensor:
        """self ← self + weight·(end − self), in place (exponential moving averages)."""
        return self._write("lerp_", Tensor.lerp, end, weight)

    def index_add_(self, dim: int, index: TensorLike, source: Tensor, *, alpha: Scalar = 1) -> Tensor:
        """``index_add`` in place."""
        return self._write("index_add_", lambda x, s: x.index_add(dim, index, s, alpha=alpha), source)

    def scatter_(self, dim: int, index: TensorLike, src: TensorLike | None = None, *,
                 value: Scalar | None = None) -> Tensor:
        """``scatter`` in place."""
        return self._write("scatter_", lambda x, s: x.scatter(dim, index, s, value=value), src)

    def scatter_add_(self, dim: int, index: TensorLike, src: TensorLike) -> Tensor:
        """``scatter_add`` in place."""
        return self._write("scatter_add_", lambda x, s: x.scatter_add(dim, index, s), src)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        """Fill in place with draws from U(a, b) (the generator ``tg.manual_seed`` seeds)."""
        return self._overwrite("uniform_", lambda: random.generator().uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Fill in place with draws from N(mean, std²) (the generator ``tg.manual_seed`` seeds)."""
        return self._overwrite("normal_", lambda: random.generator().normal(mean, std, self.shape))

    def apply_(self, callable: Callable[[Scalar], Scalar]) -> Tensor:
        """Replace every element x by ``callable(x)`` (a Python function, called once per element:
        slow, for small tensors), in place; the result is cast to this dtype, as PyTorch."""
        if self.requires_grad:
            raise RuntimeError("apply_: cannot be used on a tensor that requires grad; use x.detach().apply_()")
        return self._fill_elementwise("apply_", lambda a: callable(a.item()), self.data)

    def map_(self, tensor: TensorLike, callable: Callable[[Scalar, Scalar], Scalar]) -> Tensor:
        """Replace every element x by ``callable(x, t)`` with t the matching element of ``tensor``
        (broadcast to this shape), in place."""
        if self.requires_grad:
            raise RuntimeError("map_: cannot be used on a tensor that requires grad; use x.detach().map_()")
        other = np.broadcast_to(_to_array(tensor), self.shape)
        return self._fill_elementwise("map_", lambda a, b: callable(a.item(), b.item()), self.data, other)

    def _fill_elementwise(self, op: str, function: Callable[..., Scalar], *arrays: np.ndarray) -> Tensor:
        """Write ``function`` of the elements of ``arrays`` (one call per element) into this tensor."""
        def values() -> np.ndarray:
            results = [function(*items) for items in zip(*(a.ravel() for a in arrays))]  # row-major order
            return np.asarray(results).astype(self.dtype).reshape(self.shape)

        return self._overwrite(op, values)

    def pow_(self, exponent: TensorLike) -> Tensor:
        """self ← self ** exponent, in place."""
        return self._write("pow_", Tensor.pow, exponent)

    def fill_diagonal_(self, fill_value: Scalar, wrap: bool = False) -> Tensor:
        """Write ``fill_value`` on the main diagonal x[i, i, …, i], in place. A matrix may be
        rectangular; more dims must all have one size. ``wrap=True``: in a tall matrix the
        diagonal starts again N + 1 rows further down, as PyTorch and ``np.fill_diagonal``."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) > 1):
            raise ShapeError(f"fill_diagonal_: needs 2 dims, or more dims all of one size; got shape {self.shape}")
        self._check_inplace("fill_diagonal_", fill_value)
        np.fill_diagonal(self.data, fill_value, wrap=wrap)
        self._count_write()
        return self

    def clamp_(self, min: Scalar | Tensor | None = None, max: Scalar | Tensor | None = None) -> Tensor:
        """Clamp into [min, max] in place."""
        return self._write("clamp_", Tensor.clamp, min, max)

    def masked_fill_(self, mask: TensorLike, value: Scalar) -> Tensor:
        """``value`` where ``mask`` is True, in place."""
        return self._write("masked_fill_", Tensor.masked_fill, mask, value)

    def exp_(self) -> Tensor:
        """self ← e^self, in place."""
        return self._write("exp_", Tensor.exp)

    def log_(self) -> Tensor:
        """self ← log self, in place."""
        return self._write("log_", Tensor.log)

    def sqrt_(self) -> Tensor:
        """self ← √self, in place."""
        return self._write("sqrt_", Tensor.sqrt)

    def abs_(self) -> Tensor:
        """self ← |self|, in place."""
        return self._write("abs_", Tensor.abs)

    def neg_(self) -> Tensor:
        """self ← −self, in place."""
        return self._write("neg_", Tensor.__neg__)

    def sigmoid_(self) -> Tensor:
        """self ← σ(self), in place."""
        return self._write("sigmoid_", Tensor.sigmoid)

    def tanh_(self) -> Tensor:
        """self ← tanh self, in place."""
        return self._write("tanh_", Tensor.tanh)

    def sin_(self) -> Tensor:
        """self ← sin self, in place."""
        return self._write("sin_", Tensor.sin)

    def cos_(self) -> Tensor:
        """self ← cos self, in place."""
        return self._write("cos_", Tensor.cos)

    def relu_(self) -> Tensor:
        """self ← max(self, 0), in place."""
        return self._write("relu_", Tensor.relu)

    def log1p_(self) -> Tensor:
        """self ← ln(1 + self), in place."""
        return self._write("log1p_", Tensor.log1p)

    def expm1_(self) -> Tensor:
        """self ← e^self − 1, in place."""
        return self._write("expm1_", Tensor.expm1)

    def rsqrt_(self) -> Tensor:
        """self ← 1/√self, in place."""
        return self._write("rsqrt_", Tensor.rsqrt)

    def reciprocal_(self) -> Tensor:
        """self ← 1/self, in place."""
        return self._write("reciprocal_", Tensor.reciprocal)

    def square_(self) -> Tensor:
        """self ← self², in place."""
        return self._write("square_", Tensor.square)

    def sign_(self) -> Tensor:
        """self ← sign(self), in place."""
        return self._write("sign_", Tensor.sign)

    def floor_(self) -> Tensor:
        """self ← ⌊self⌋, in place."""
        return self._write("floor_", Tensor.floor)

    def ceil_(self) -> Tensor:
        """self ← ⌈self⌉, in place."""
        return self._write("ceil_", Tensor.ceil)

    def trunc_(self) -> Tensor:
        """self ← trunc(self), in place."""
        return self._write("trunc_", Tensor.trunc)

    def frac_(self) -> Tensor:
        """self ← self − trunc(self), in place."""
        return self._write("frac_", Tensor.frac)

    def round_(self, *, decimals: int = 0) -> Tensor:
        """self ← round(self, decimals), in place."""
        return self._write("round_", lambda x: x.round(decimals=decimals))

    def _augmented(self, op: str, other: TensorLike, out_of_place: Callable[[Tensor, TensorLike], Tensor]) -> Tensor:
        """``x += y`` and friends: in place, as in PyTorch, when no graph is being recorded
        (``with tg.no_grad(): p -= lr * p.grad`` must change the parameter itself). While
        recording, a new node (``x = x + y``): the graph keeps no history of in-place changes,
        and ``total_loss += loss`` must stay differentiable."""
        recording = grad_mode.is_grad_enabled() and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        if recording and not (self.is_leaf and self.requires_grad):
            return out_of_place(self, other)
        return self._write(op, out_of_place, other)

    def __iadd__(self, other: TensorLike) -> Tensor:
        return self._augmented("+=", other, Tensor.add)

    def __isub__(self, other: TensorLike) -> Tensor:
        return self._augmented("-=", other, Tensor.sub)

    def __imul__(self, other: TensorLike) -> Tensor:
        return self._augmented("*=", other, Tensor.mul)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return self._augmented("/=", other, Tensor.div)

    # ---- arithmetic ------------------------------------------------------------------

    def add(self, other: TensorLike, *, alpha: Scalar = 1) -> Tensor:
        """self + alpha·other, broadcast (an integral result refuses a float alpha, as PyTorch)."""
        return _binary(ops.Add, self, _times_alpha("add", self, other, alpha))

    def sub(self, other: TensorLike, *, alpha: Scalar = 1) -> Tensor:
        """self − alpha·other, broadcast (an integral result refuses a float alpha, as PyTorch)."""
        return _binary(ops.Sub, self, _times_alpha("sub", self, other, alpha))

    def mul(self, other: TensorLike) -> Tensor:
        """self ⊙ other, broadcast."""
        return _binary(ops.Mul, self, other)

    def div(self, other: TensorLike) -> Tensor:
        """self / other, broadcast (true division: integers give float32)."""
        return _binary(ops.Div, self, other, true_division=True)

    def pow(self, exponent: TensorLike) -> Tensor:
        """self ** exponent, broadcast."""
        return _binary(ops.Pow, self, exponent)

    def matmul(self, other: TensorLike) -> Tensor:
        """Matrix product with ``np.matmul`` semantics (batched, broadcast, 1-D cases).

        Two tensors must share a dtype (PyTorch raises for float32 @ float64; no promotion); an
        array or list operand is converted and promoted as before."""
        return ops.MatMul.apply(*((self, other) if isinstance(other, Tensor) else _promote(self, other)))

    def mm(self, mat2: Tensor) -> Tensor:
        """Product of two matrices: (n, k) @ (k, m) → (n, m) (2-D only; no broadcasting)."""
        return _checked_product("mm", self, mat2, 2, 2)

    def bmm(self, mat2: Tensor) -> Tensor:
        """Batch of matrix products: (b, n, k) @ (b, k, m) → (b, n, m) (3-D, equal b)."""
        return _checked_product("bmm", self, mat2, 3, 3, torch_name="BmmBackward0")

    def mv(self, vec: Tensor) -> Tensor:
        """Matrix times vector: (n, k) @ (k,) → (n,)."""
        return _checked_product("mv", self, vec, 2, 1)

    def dot(self, other: Tensor) -> Tensor:
        """Inner product of two 1-D tensors of equal length: Σᵢ xᵢ wᵢ (0-d)."""
        return _checked_product("dot", self, other, 1, 1)

    inner = dot

    def outer(self, vec2: Tensor) -> Tensor:
        """Outer product of two 1-D tensors: y[i, j] = x[i]·w[j] (a broadcast product)."""
        if self.ndim != 1 or not isinstance(vec2, Tensor) or vec2.ndim != 1:
            raise ShapeError(f"outer: expects two 1-D tensors, got shapes {self.shape} and "
                             f"{getattr(vec2, 'shape', type(vec2).__name__)}")
        return self.unsqueeze(1) * vec2

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Scalar = 1, alpha: Scalar = 1) -> Tensor:
        """β·self + α·(mat1 @ mat2) for matrices (n, k) @ (k, m); self broadcasts to (n, m).
        With β = 0 self is ignored, nan and inf included (as PyTorch)."""
        return _add_scaled(self, _checked_product("addmm", mat1, mat2, 2, 2), beta, alpha, "addmm")

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Scalar = 1, alpha: Scalar = 1) -> Tensor:
        """β·self + α·bmm(batch1, batch2) for (b, n, k) @ (b, k, m); self broadcasts to (b, n, m).
        With β = 0 self is ignored, nan and inf included (as PyTorch)."""
        return _add_scaled(self, _checked_product("baddbmm", batch1, batch2, 3, 3), beta, alpha, "baddbmm")

    # + and − are their own methods, not add/sub: a function with keyword-only defaults (alpha=)
    # takes CPython's slower call path, ~20-40 ns on every operator call
    def __add__(self, other: TensorLike) -> Tensor:
        return _binary(ops.Add, self, other)

    def __sub__(self, other: TensorLike) -> Tensor:
        return _binary(ops.Sub, self, other)

    subtract, multiply, divide, true_divide = sub, mul, div, div  # PyTorch's aliases
    __mul__ = mul
    __truediv__ = div
    __pow__ = pow
    __matmul__ = matmul

    def __radd__(self, other: TensorLike) -> Tensor:
        return _binary(ops.Add, other, self)

    def __rsub__(self, other: TensorLike) -> Tensor:
        return _binary(ops.Sub, other, self)

    def __rmul__(self, other: TensorLike) -> Tensor:
        return _binary(ops.Mul, other, self)

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return _binary(ops.Div, other, self, true_division=True)

    def __rpow__(self, other: TensorLike) -> Tensor:
        return _binary(ops.Pow, other, self)

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        return _as_tensor(other, self.dtype).matmul(self)

    def __floordiv__(self, other: TensorLike) -> Tensor:
        return _floor_divide(self, other)

    def __rfloordiv__(self, other: TensorLike) -> Tensor:
        return _floor_divide(other, self)

    def __mod__(self, other: TensorLike) -> Tensor:
        return _remainder(self, other)

    def __rmod__(self, other: TensorLike) -> Tensor:
        return _remainder(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def positive(self) -> Tensor:
        """The tensor itself (+x)."""
        return self

    def remainder(self, other: TensorLike) -> Tensor:
        """``self % other``: x − ⌊x / w⌋·w, with the sign of w."""
        return _remainder(self, other)

    def fmod(self, other: TensorLike) -> Tensor:
        """x − trunc(x / w)·w, with the sign of x (C's fmod); as for remainder, ∂/∂x = 1 and
        ∂/∂w = −trunc(x / w)."""
        return _modulo("fmod", self, other, _truncated_quotient, np.fmod)

    def neg(self) -> Tensor:
        """−self."""
        return ops.Neg.apply(self)

    negative = neg

    def addcmul(self, tensor1: TensorLike, tensor2: TensorLike, *, value: Scalar = 1) -> Tensor:
        """self + value·tensor1 ⊙ tensor2, broadcast."""
        product = _as_tensor(tensor1, self.dtype) * tensor2
        return self + (product if value == 1 else value * product)

    def addcdiv(self, tensor1: TensorLike, tensor2: TensorLike, *, value: Scalar = 1) -> Tensor:
        """self + value·tensor1 / tensor2, broadcast."""
        quotient = _as_tensor(tensor1, self.dtype) / tensor2
        return self + (quotient if value == 1 else value * quotient)

    def __pos__(self) -> Tensor:
        return self

    # ---- comparisons and logic (not differentiable: they return bool tensors) --------

    def __lt__(self, other: TensorLike) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: TensorLike) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: TensorLike) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: TensorLike) -> Tensor:
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__  # PyTorch's method names
    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge  # and their aliases

    def isclose(self, other: TensorLike, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """True where |self − other| ≤ atol + rtol·|other| (elementwise ``allclose``; inf equals inf)."""
        x, w = _promote(self, other)
        _broadcast_shape(x, w, "isclose")
        return Tensor._make(np.isclose(x.data, w.data, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def signbit(self) -> Tensor:
        """True where the sign bit is set: negative numbers, −0.0 and −nan."""
        return Tensor._make(np.signbit(self.data))

    def isposinf(self) -> Tensor:
        """True where the value is +inf."""
        return Tensor._make(np.isposinf(self.data))

    def isneginf(self) -> Tensor:
        """True where the value is −inf."""
        return Tensor._make(np.isneginf(self.data))

    def isnan(self) -> Tensor:
        """True where the value is NaN."""
        return Tensor._make(np.isnan(self.data))

    def isinf(self) -> Tensor:
        """True where the value is +inf or −inf."""
        return Tensor._make(np.isinf(self.data))

    def isfinite(self) -> Tensor:
        """True where the value is neither inf nor NaN."""
        return Tensor._make(np.isfinite(self.data))

    def allclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """True if |self − other| ≤ atol + rtol·|other| everywhere (shapes broadcast, one dtype)."""
        _same_dtype("allclose", self, other)
        _broadcast_shape(self, other, "allclose")
        return builtins.bool(np.allclose(self.data, other.data, rtol=rtol, atol=atol, equal_nan=equal_nan))

    def equal(self, other: Tensor) -> bool:
        """True if both have the same shape and the same values (NaN is never equal)."""
        return self.shape == other.shape and builtins.bool(np.array_equal(self.data, other.data))

    def all(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """True where every element (along ``dim``) is nonzero."""
        return _truth_reduction(np.all, self, dim, keepdim)

    def any(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """True where some element (along ``dim``) is nonzero."""
        return _truth_reduction(np.any, self, dim, keepdim)

    def __invert__(self) -> Tensor:
        return Tensor._make(np.logical_not(self.data) if self.dtype == dtypes.bool else ~self.data)

    def __and__(self, other: TensorLike) -> Tensor:
        return _logic(np.bitwise_and, np.logical_and, self, other)

    def __or__(self, other: TensorLike) -> Tensor:
        return _logic(np.bitwise_or, np.logical_or, self, other)

    def __xor__(self, other: TensorLike) -> Tensor:
        return _logic(np.bitwise_xor, np.logical_xor, self, other)

    def logical_not(self) -> Tensor:
        """True where the value is zero (bool tensor)."""
        return Tensor._make(np.logical_not(self.data))

    def logical_and(self, other: TensorLike) -> Tensor:
        """True where both are nonzero (bool tensor, shapes broadcast)."""
        return _compare(np.logical_and, self, other)

    def logical_or(self, other: TensorLike) -> Tensor:
        """True where either is nonzero (bool tensor, shapes broadcast)."""
        return _compare(np.logical_or, self, other)

    def logical_xor(self, other: TensorLike) -> Tensor:
        """True where exactly one is nonzero (bool tensor, shapes broadcast)."""
        return _compare(np.logical_xor, self, other)

    # ---- elementwise functions -----------------------------------------------------

    def exp(self) -> Tensor:
        """eˣ elementwise."""
        return ops.Exp.apply(_floating(self))

    def log(self) -> Tensor:
        """Natural logarithm elementwise."""
        return ops.Log.apply(_floating(self))

    def sqrt(self) -> Tensor:
        """Square root elementwise."""
        return ops.Sqrt.apply(_floating(self))

    def abs(self) -> Tensor:
        """|x| elementwise."""
        return ops.Abs.apply(self)

    absolute = abs

    def sin(self) -> Tensor:
        """Sine elementwise."""
        return ops.Sin.apply(_floating(self))

    def cos(self) -> Tensor:
        """Cosine elementwise."""
        return ops.Cos.apply(_floating(self))

    def tan(self) -> Tensor:
        """tan x elementwise (integers become float32)."""
        return ops.Tan.apply(_floating(self))

    def atan(self) -> Tensor:
        """The inverse tangent, in (−π/2, π/2)."""
        return ops.Atan.apply(_floating(self))

    def asin(self) -> Tensor:
        """The inverse sine (nan outside [−1, 1])."""
        return ops.Asin.apply(_floating(self))

    def acos(self) -> Tensor:
        """The inverse cosine (nan outside [−1, 1])."""
        return ops.Acos.apply(_floating(self))

    def sinh(self) -> Tensor:
        """The hyperbolic sine."""
        return ops.Sinh.apply(_floating(self))

    def cosh(self) -> Tensor:
        """The hyperbolic cosine."""
        return ops.Cosh.apply(_floating(self))

    def asinh(self) -> Tensor:
        """The inverse hyperbolic sine."""
        return ops.Asinh.apply(_floating(self))

    def acosh(self) -> Tensor:
        """The inverse hyperbolic cosine (nan below 1)."""
        return ops.Acosh.apply(_floating(self))

    def atanh(self) -> Tensor:
        """The inverse hyperbolic tangent (±inf at ±1, nan outside)."""
        return ops.Atanh.apply(_floating(self))

    arctan, arcsin, arccos, arcsinh, arccosh, arctanh = atan, asin, acos, asinh, acosh, atanh  # NumPy's names

    def erf(self) -> Tensor:
        """Gauss error function elementwise."""
        return ops.Erf.apply(_floating(self))

    def log1p(self) -> Tensor:
        """ln(1 + x) elementwise, exact for tiny x."""
        return ops.Log1p.apply(_floating(self))

    def expm1(self) -> Tensor:
        """eˣ − 1 elementwise, exact for tiny x."""
        return ops.Expm1.apply(_floating(self))

    def rsqrt(self) -> Tensor:
        """1 / √x elementwise."""
        return ops.Rsqrt.apply(_floating(self))

    def reciprocal(self) -> Tensor:
        """1 / x elementwise (integers give float32, as in PyTorch)."""
        return ops.Reciprocal.apply(_floating(self))

    def square(self) -> Tensor:
        """x² elementwise, as x·x (gradient 2x·g, PyTorch's; integers stay integers)."""
        return self * self

    def sign(self) -> Tensor:
        """−1, 0 or 1 elementwise (sign(nan) = 0, as in PyTorch); gradient 0."""
        return ops.Sign.apply(self)

    sgn = sign

    def floor(self) -> Tensor:
        """The largest integer ≤ x, elementwise; gradient 0."""
        return _whole(self, ops.Floor)

    def ceil(self) -> Tensor:
        """The smallest integer ≥ x, elementwise; gradient 0."""
        return _whole(self, ops.Ceil)

    def round(self, *, decimals: int = 0) -> Tensor:
        """x rounded to ``decimals`` places, halves to even (2.5 → 2), elementwise; gradient 0."""
        return _whole(self, ops.Round, decimals=decimals)

    def trunc(self) -> Tensor:
        """x rounded toward 0, elementwise; gradient 0."""
        return _whole(self, ops.Trunc)

    fix = trunc

    def tanh(self) -> Tensor:
        """Hyperbolic tangent elementwise."""
        return ops.Tanh.apply(_floating(self))

    def sigmoid(self) -> Tensor:
        """Logistic sigmoid 1 / (1 + e^(−x)) elementwise, stable for any x."""
        return ops.Sigmoid.apply(_floating(self))

    def relu(self) -> Tensor:
        """max(0, x) elementwise."""
        return ops.ReLU.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """x if x > 0 else negative_slope·x, elementwise."""
        return ops.LeakyReLU.apply(_require_floating(self, "leaky_relu"), negative_slope=negative_slope)

    def gelu(self, approximate: str = "none") -> Tensor:
        """x·Φ(x) (exact) or its tanh approximation, elementwise."""
        return ops.GELU.apply(_require_floating(self, "gelu"), approximate=approximate)

    def clamp(self, min: Scalar | Tensor | None = None, max: Scalar | Tensor | None = None) -> Tensor:
        """Clamp into [min, max]; either bound may be None, a number or a tensor (broadcast;
        then the gradient also flows to the bound wherever it is the result)."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return _clamp_by_tensors(self, min, max)
        x = _floating(self) if isinstance(min, float) or isinstance(max, float) else self  # as PyTorch
        return ops.Clamp.apply(x, lo=min, hi=max)

    clip = clamp

    def maximum(self, other: TensorLike) -> Tensor:
        """Elementwise maximum (ties share the gradient)."""
        return _binary(ops.Maximum, self, other)

    def minimum(self, other: TensorLike) -> Tensor:
        """Elementwise minimum (ties share the gradient)."""
        return _binary(ops.Minimum, self, other)

    def logaddexp(self, other: TensorLike) -> Tensor:
        """log(eˣ + eʷ) elementwise, without overflow. As PyTorch: an integer tensor with a float
        one is promoted; two integer (or bool) operands are a TypeError."""
        return _binary(ops.LogAddExp, *_floating_pair("logaddexp", self, other))

    def hypot(self, other: TensorLike) -> Tensor:
        """√(x² + w²) elementwise, without overflow. As PyTorch: an integer tensor with a float
        one is promoted; two integer (or bool) operands are a TypeError."""
        return _binary(ops.Hypot, *_floating_pair("hypot", self, other))

    def atan2(self, other: TensorLike) -> Tensor:
        """The angle of the point (other, self) in (−π, π], elementwise (integers become float32)."""
        return _binary(ops.Atan2, self, other, true_division=True)

    arctan2 = atan2

    def clamp_min(self, min: Scalar | Tensor) -> Tensor:
        """``clamp(min=min)``."""
        return self.clamp(min=min)

    def clamp_max(self, max: Scalar | Tensor) -> Tensor:
        """``clamp(max=max)``."""
        return self.clamp(max=max)

    def log2(self) -> Tensor:
        """log₂ x = ln x / ln 2, elementwise (integers become float32)."""
        return _floating(self).log() / math.log(2)

    def log10(self) -> Tensor:
        """log₁₀ x = ln x / ln 10, elementwise (integers become float32)."""
        return _floating(self).log() / math.log(10)

    def exp2(self) -> Tensor:
        """2ˣ = e^(x·ln 2), elementwise (integers become float32)."""
        return (_floating(self) * math.log(2)).exp()

    def logit(self, eps: float | None = None) -> Tensor:
        """log(p / (1 − p)), the inverse of sigmoid; ``eps``: clamp p into [eps, 1 − eps] first."""
        p = _require_floating(self, "logit") if eps is None else _require_floating(self, "logit").clamp(eps, 1 - eps)
        return (p / (1 - p)).log()

    def frac(self) -> Tensor:
        """The fractional part x − trunc(x), with the sign of x (floating tensors only, as PyTorch)."""
        return ops.Frac.apply(_require_floating(self, "frac"))

    def lerp(self, end: TensorLike, weight: TensorLike) -> Tensor:
        """Linear interpolation x + w·(end − x): ``weight`` 0 gives self, 1 gives end."""
        return self + weight * (end - self)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """nan → ``nan``, +inf → ``posinf``, −inf → ``neginf`` (default: the dtype's largest and
        smallest finite values). The replaced elements get gradient 0, the others pass it."""
        if not dtypes.is_floating(self.dtype):
            return self.clone()
        finite = np.isfinite(self.data)
        replaced = np.nan_to_num(self.data, nan=nan, posinf=posinf, neginf=neginf)
        return where(finite, self, Tensor._make(replaced))

    def where(self, condition: TensorLike, other: TensorLike) -> Tensor:
        """``self`` where ``condition`` holds, ``other`` elsewhere (PyTorch's ``x.where(c, y)``)."""
        return where(condition, self, other)

    def masked_fill(self, mask: TensorLike, value: Scalar) -> Tensor:
        """``value`` (cast to self's dtype, as PyTorch) where ``mask`` is True, self elsewhere."""
        fill = value if isinstance(value, Tensor) else Tensor._make(np.asarray(value, dtype=self.dtype))
        return where(mask, fill, self)

    # ---- reductions ------------------------------------------------------------------

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Σ over ``dim`` (all dims if None); ``dtype``: cast to it first (PyTorch's accumulation type)."""
        x = self if dtype is None else self.to(dtype)
        return ops.Sum.apply(x, dim=dim, keepdim=keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Mean over ``dim`` (all dims if None); ``dtype``: cast to it first (a floating dtype)."""
        x = self if dtype is None else self.to(dtype)
        return ops.Mean.apply(_require_floating(x, "mean"), dim=dim, keepdim=keepdim)

    def var(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
            keepdim: bool = False, *, correction: int | None = None) -> Tensor:
        """Variance over ``dim``; ``correction=1`` (default) divides by N − 1."""
        x = _require_floating(self, "var")
        return ops.Var.apply(x, dim=dim, correction=_correction(unbiased, correction), keepdim=keepdim)

    def std(self, dim: int | Sequence[int] | None = None, unbiased: bool | None = None,
            keepdim: bool = False, *, correction: int | None = None) -> Tensor:
        """Standard deviation over ``dim``: √var (slope 0 on a constant slice, as PyTorch)."""
        x = _require_floating(self, "std")
        return ops.Std.apply(x, dim=dim, correction=_correction(unbiased, correction), keepdim=keepdim)

    def norm(self, p: float | str = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Vector p-norm over ``dim`` (all dims if None): (Σ |x|^p)^(1/p) for p ≥ 1 ('fro' is p = 2),
        max |x| for p = inf (ties share the gradient), min |x| for −inf."""
        x = _require_floating(self, "norm")
        p = 2.0 if p == "fro" else p
        if isinstance(p, str) or not (p >= 1 or p == -math.inf):
            raise NotImplementedError(f"norm: p={p!r} is not supported (p >= 1, 'fro', inf or -inf)")
        if p == math.inf:
            return x.abs().amax(dim, keepdim)
        if p == -math.inf:
            return x.abs().amin(dim, keepdim)
        return ops.Norm.apply(x, p=p, dim=dim, keepdim=keepdim)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        """log Σ exp over ``dim``, computed stably."""
        return ops.LogSumExp.apply(_floating(self), dim=dim, keepdim=keepdim)

    def nansum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Σ over ``dim`` counting NaN as 0 (NaN elements get gradient g·0: 0, or NaN where g is not finite)."""
        if not dtypes.is_floating(self.dtype):
            return self.sum(dim, keepdim)
        return ops.Nansum.apply(self, dim=dim, keepdim=keepdim)

    def nanmean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Mean over ``dim`` of the elements that are not NaN: nansum / count. NaN elements get
        gradient 0, but a slice of NaN only gives NaN, 0/0, and NaN gradients (g/0 · 0), as PyTorch."""
        x = _require_floating(self, "nanmean")
        counted = Tensor._make((~np.isnan(x.data)).astype(x.dtype))
        return x.nansum(dim, keepdim) / counted.sum(dim, keepdim)

    def count_nonzero(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """The number of nonzero elements over ``dim`` (all dims if None); int64, no gradient."""
        axis = None if dim is None else tuple(_dim(d, self.ndim, "count_nonzero")
                                              for d in (dim if isinstance(dim, Sequence) else (dim,)))
        return Tensor._make(np.asarray(np.count_nonzero(self.data, axis=axis), dtype=np.int64))

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> return_types.aminmax:
        """``(min, max)`` over ``dim`` (everything if None), each as ``amin``/``amax``."""
        if self.numel() == 0:
            raise RuntimeError(f"aminmax: cannot reduce an empty tensor of shape {self.shape}")
        return return_types.aminmax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Maximum over ``dim``; ties share the gradient evenly."""
        return ops.Amax.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """Minimum over ``dim``; ties share the gradient evenly."""
        return ops.Amin.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | return_types.max:
        """``max()``: the largest element (ties share the gradient; a nan result gives it to the
        nan elements). ``max(dim)``: ``(values, indices)`` along dim (the gradient goes to the
        returned index). ``max(other_tensor)``: the elementwise maximum."""
        return self._extreme(dim, keepdim, self.maximum, ops.Max, self.argmax, return_types.max)

    def min(self, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | return_types.min:
        """The minimum counterpart of ``max`` (same three forms)."""
        return self._extreme(dim, keepdim, self.minimum, ops.Min, self.argmin, return_types.min)

    def _extreme(self, dim: Any, keepdim: bool, elementwise: Callable, whole: type[Function],
                 arg: Callable, result: type) -> Tensor | tuple[Tensor, Tensor]:
        if isinstance(dim, Tensor):
            return elementwise(dim)
        if dim is None:
            return whole.apply(self)
        d = _dim(dim, self.ndim, whole.__name__.lower())
        return result(*_take_along(self, d, arg(d, keepdim=True), keepdim, f"{whole.__name__}Backward0"))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the maximum (over the flattened tensor if ``dim`` is None); int64, no gradient."""
        return _arg_extreme(np.argmax, self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the minimum (over the flattened tensor if ``dim`` is None); int64, no gradient."""
        return _arg_extreme(np.argmin, self, dim, keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """Π over ``dim`` (all elements if None); bool/int give int64; the gradient is the product of the others."""
        x = self if dtype is None else self.to(dtype)
        return ops.Prod.apply(x, dim=None if dim is None else _dim(dim, x.ndim, "prod"), keepdim=keepdim)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Running sum along ``dim``; bool/int give int64 (``dtype``: cast to it first)."""
        x = self if dtype is None else self.to(dtype)
        return ops.Cumsum.apply(x, dim=_dim(dim, x.ndim, "cumsum"))

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Running product along ``dim``; bool/int give int64 (``dtype``: cast to it first); the
        gradient is exact at zeros."""
        x = self if dtype is None else self.to(dtype)
        return ops.Cumprod.apply(x, dim=_dim(dim, x.ndim, "cumprod"))

    def cumprod_(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Running product along ``dim``, in place."""
        return self._write("cumprod_", lambda x: x.cumprod(dim, dtype=dtype))

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> return_types.sort:
        """``(values, indices)`` sorted along ``dim``; ties keep their order (always stable, as
        ``stable=True``); NaN counts as the largest value. The gradient goes to the indices."""
        d = _dim(dim, self.ndim, "sort")
        indices = Tensor._make(_sorting_indices(self.data, d, descending))
        return return_types.sort(*_take_along(self, d, indices, True, "SortBackward0"))

    def median(self, dim: int | None = None, keepdim: bool = False) -> Tensor | return_types.median:
        """The lower median: the element at position ⌊(n − 1)/2⌋ of the sorted values; NaN if
        there is a NaN. ``median()``: that value, its gradient shared evenly by the elements equal
        to it (as ``max()``). ``median(dim)``: ``(values, indices)`` along dim, the gradient going
        to the returned index."""
        if dim is None:
            return ops.Median.apply(self) if self.numel() else Tensor._make(np.asarray(np.nan, _floating(self).dtype))
        d = _dim(dim, self.ndim, "median")
        size = self.shape[d] if self.ndim else 1
        if size == 0:
            raise IndexError(f"median: cannot take the median of an empty dim {d} of shape {self.shape}")
        order = _sorting_indices(self.data, d, descending=False)  # NaN sorts last
        middle = np.take(order, [(size - 1) // 2], axis=d) if self.ndim else order
        nans = np.isnan(self.data) if dtypes.is_floating(self.dtype) else np.zeros(self.shape, dtype=bool)
        first_nan = np.argmax(nans, axis=d, keepdims=True) if self.ndim else np.zeros((), dtypes.int64)
        indices = np.where(nans.any(axis=d, keepdims=True) if self.ndim else nans, first_nan, middle)
        return return_types.median(*_take_along(self, d, Tensor._make(indices), keepdim, "MedianBackward1"))

    def mode(self, dim: int = -1, keepdim: bool = False) -> return_types.mode:
        """The most frequent value along ``dim`` and the index of its last occurrence, as PyTorch:
        ``(values, indices)``; the gradient goes to the returned index. Of equally frequent values
        the smallest wins. NaN counts as unequal to everything (PyTorch's answer for slices with
        NaN depends on its unstable sort; so does its index where a slice has more than 16 elements)."""
        d = _dim(dim, self.ndim, "mode")
        if self.ndim and self.shape[d] == 0:
            raise IndexError(f"mode: cannot take the mode of an empty dim {d} of shape {self.shape}")
        return return_types.mode(*_take_along(self, d, Tensor._make(_mode_indices(self.data, d)), keepdim,
                                              "ModeBackward0"))

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> return_types.kthvalue:
        """The k-th smallest element (k from 1) along ``dim`` and its index, ``(values, indices)``;
        NaN counts as the largest value; the gradient goes to the returned index."""
        d = _dim(dim, self.ndim, "kthvalue")
        size = self.shape[d] if self.ndim else 1
        if not 1 <= k <= size:
            raise IndexError(f"kthvalue: k = {k} is out of range for dim {d} of shape {self.shape}")
        order = _sorting_indices(self.data, d, descending=False)
        indices = np.take(order, [k - 1], axis=d) if self.ndim else order
        return return_types.kthvalue(*_take_along(self, d, Tensor._make(indices), keepdim, "KthvalueBackward0"))

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
        """The indices that sort along ``dim`` (``sort(...).indices``; stable, NaN largest); int64."""
        return Tensor._make(_sorting_indices(self.data, _dim(dim, self.ndim, "argsort"), descending))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> return_types.topk:
        """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their
        indices, always in sorted order; the gradient goes to the chosen indices. With
        ``sorted=False`` PyTorch's order is unspecified (on the CPU its partial sort's order):
        the same elements, here still sorted."""
        d = _dim(dim, self.ndim, "topk")
        size = self.shape[d] if self.ndim else 1
        if not 0 <= k <= size:
            raise IndexError(f"topk: k = {k} is out of range for dim {d} of shape {self.shape}")
        order = _sorting_indices(self.data, d, descending=largest)
        first_k = order[(slice(None),) * d + (slice(0, k),)] if self.ndim else order  # 0-d: k is 1 (or 0)
        indices = Tensor._make(first_k.copy())  # C-ordered, and 0-d stays 0-d
        return return_types.topk(*_take_along(self, d, indices, True, "TopkBackward0"))

    def softmax(self, dim: int) -> Tensor:
        """e^(x_i) / Σ_j e^(x_j) along ``dim``, computed stably."""
        return ops.Softmax.apply(_require_floating(self, "softmax"), dim=dim)

    def log_softmax(self, dim: int) -> Tensor:
        """x_i − logsumexp(x) along ``dim``, computed stably."""
        return ops.LogSoftmax.apply(_require_floating(self, "log_softmax"), dim=dim)

    # ---- shape -----------------------------------------------------------------------

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same elements in a new shape (one entry may be −1: inferred).

        The shape it already has gives the tensor itself, unless it requires grad: then, as in
        PyTorch, a view with a node of its own (not a leaf; a hook on it is not a hook on self).
        """
        if len(shape) == 1 and shape[0] == self.data.shape and not self._requires_grad:  # e.g. in MatMul's backward
            return self
        new_shape = _infer_shape(_shape_arg(shape), self.numel(), self.shape)
        if new_shape == self.shape and not self._requires_grad:
            return self
        return _view_of(self, ops.Reshape.apply(self, shape=new_shape))

    view = reshape

    def ravel(self) -> Tensor:
        """All elements in one dim (``reshape(-1)``)."""
        return self.reshape(-1)

    def view_as(self, other: Tensor) -> Tensor:
        """Reshaped to ``other``'s shape."""
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims ``start_dim`` … ``end_dim`` into one."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})")
        if start == end:  # nothing to merge: the tensor itself, as PyTorch (a leaf stays a leaf)
            return self
        merged = math.prod(self.shape[start:end + 1])  # not -1: that cannot be inferred for an empty tensor
        return self.reshape(*self.shape[:start], merged, *self.shape[end + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Split dim ``dim`` into ``sizes``."""
        d = _dim(dim, self.ndim, "unflatten")
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1:])

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """Reorder the dims: result dim i is input dim ``dims[i]``."""
        ndim = self.data.ndim
        order = tuple([_dim(d, ndim, "permute") for d in _shape_arg(dims)])
        if sorted(order) != list(range(ndim)):
            raise ShapeError(f"permute: {_shape_arg(dims)} is not a permutation of the dims of shape {self.shape}")
        return _view_of(self, ops.Permute.apply(self, dims=order))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dims."""
        order = list(range(self.ndim))
        d0, d1 = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        order[d0], order[d1] = order[d1], order[d0]
        return _named(_view_of(self, ops.Permute.apply(self, dims=tuple(order))), "TransposeBackward0")

    swapaxes = swapdims = transpose

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """Move dim(s) ``source`` to position(s) ``destination``; the others keep their order."""
        sources = [source] if isinstance(source, int) else list(source)
        targets = [destination] if isinstance(destination, int) else list(destination)
        if len(sources) != len(targets):
            raise ValueError(f"movedim: source {source} and destination {destination} name different numbers of dims")
        sources = [_dim(d, self.ndim, "movedim") for d in sources]
        targets = [_dim(d, self.ndim, "movedim") for d in targets]
        if len(set(sources)) < len(sources) or len(set(targets)) < len(targets):
            raise ValueError(f"movedim: repeated dim in source {source} or destination {destination}")
        order = [d for d in range(self.ndim) if d not in sources]
        for target, moved in sorted(zip(targets, sources)):
            order.insert(target, moved)
        return self.permute(*order)

    moveaxis = movedim

    def t(self) -> Tensor:
        """Transpose of a tensor with at most 2 dims."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor with at most 2 dims, got shape {self.shape}")
        return _named(_view_of(self, ops.Permute.apply(self, dims=tuple(reversed(range(self.ndim))))), "TBackward0")

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a dim of size 1 at ``dim``."""
        d = _dim(dim, self.ndim + 1, "unsqueeze")
        return self._reshape_as_op((*self.shape[:d], 1, *self.shape[d:]), "UnsqueezeBackward0")

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """Remove dims of size 1 (all of them, or those in ``dim`` that have size 1)."""
        if dim is None:
            drop = {i for i, n in enumerate(self.shape) if n == 1}
        else:
            dims = (dim,) if isinstance(dim, int) else dim
            drop = {i for i in (_dim(d, self.ndim, "squeeze") for d in dims) if self.shape[i:i + 1] == (1,)}
        overload = 0 if dim is None else 1 if isinstance(dim, int) else 2  # PyTorch's three squeeze overloads
        return self._reshape_as_op(tuple(n for i, n in enumerate(self.shape) if i not in drop),
                                   f"SqueezeBackward{overload}")

    def _reshape_as_op(self, shape: tuple[int, ...], torch_name: str) -> Tensor:
        """A reshape to ``shape`` (known exactly) made by the PyTorch op ``torch_name`` names
        (squeeze, unsqueeze): the Reshape op, its node named as PyTorch's."""
        if shape == self.data.shape and not self._requires_grad:
            return self
        return _named(_view_of(self, ops.Reshape.apply(self, shape=shape)), torch_name)

    def expand(self, *sizes: int | Sequence[int]) -> Tensor:
        """Broadcast to ``sizes`` without copying (−1 keeps a dim's size)."""
        target = _shape_arg(sizes)
        lead = len(target) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: cannot expand shape {self.shape} to fewer dims {tuple(target)}")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(target))
        for i, n in enumerate(self.shape):
            if n != 1 and n != shape[lead + i]:
                raise ShapeError(f"expand: shape {self.shape} cannot be expanded to {tuple(target)}")
        if shape == self.shape and not self._requires_grad:  # (as reshape: a view if it requires grad)
            return self
        return _view_of(self, ops.Expand.apply(self, shape=shape))

    def broadcast_to(self, size: Sequence[int]) -> Tensor:
        """``expand(size)``: NumPy's name."""
        return self.expand(size)

    def expand_as(self, other: Tensor) -> Tensor:
        """Broadcast to ``other``'s shape."""
        return self.expand(other.shape)

    def sum_to(self, shape: Sequence[int]) -> Tensor:
        """Sum down to ``shape`` (the inverse of broadcasting from ``shape``)."""
        shape = tuple(shape)
        return self if shape == self.shape else ops.SumTo.apply(self, shape=shape)

    def sum_to_size(self, *size: int | Sequence[int]) -> Tensor:
        """PyTorch's name for ``sum_to``: sum down to ``size``, to which this shape must broadcast."""
        shape = _shape_arg(size)
        if len(shape) > self.ndim or any(n not in (1, m) for n, m in zip(shape[::-1], self.shape[::-1])):
            raise ShapeError(f"sum_to_size: shape {self.shape} is not expandable from size {shape}")
        return self.sum_to(shape)

    def __getitem__(self, index: Any) -> Tensor:
        return _view_of(self, ops.GetItem.apply(self, index=_index_to_numpy(index)))  # a bad index raises in forward

    def gather(self, dim: int, index: TensorLike) -> Tensor:
        """``out[i][j] = self[i][index[i][j]]`` along ``dim`` (torch.gather)."""
        idx = _to_array(index, dtypes.int64)
        d = _dim(dim, self.ndim, "gather")
        size = self.shape[d] if self.ndim else 1  # a 0-d tensor has one element along its dim 0
        if idx.ndim != self.ndim or _any_outside(idx, -size, size):
            raise IndexError(f"gather: index of shape {idx.shape} does not fit dim {d} of shape {self.shape}")
        return ops.Gather.apply(self, dim=d, index=idx)

    def index_select(self, dim: int, index: TensorLike) -> Tensor:
        """The slices at ``index`` (1-D, repeats allowed) along ``dim``: ``x[..., index, ...]``
        (GetItem; the gradient of a repeated slice adds up)."""
        idx = _to_array(index, dtypes.int64)
        d = _dim(dim, self.ndim, "index_select")
        size = self.shape[d] if self.ndim else 1
        if idx.ndim > 1 or _any_outside(idx, -size, size):
            raise IndexError(f"index_select: index of shape {idx.shape} and values {idx.tolist()} "
                             f"does not fit dim {d} of shape {self.shape}")
        if self.ndim == 0:
            return self.reshape(1)[idx.reshape(-1)].reshape(idx.shape)
        return self[(slice(None),) * d + (idx.reshape(-1),)]

    def take_along_dim(self, indices: TensorLike, dim: int | None = None) -> Tensor:
        """``gather`` with ``indices`` and self broadcast against each other outside ``dim``
        (``dim=None``: along the flattened tensor), as ``np.take_along_axis``."""
        idx = _to_array(indices, dtypes.int64)
        if dim is None:
            return self.reshape(-1).gather(0, idx.reshape(-1))
        d = _dim(dim, self.ndim, "take_along_dim")
        if idx.ndim != self.ndim:
            raise IndexError(f"take_along_dim: indices of shape {idx.shape} need {self.ndim} dims (shape {self.shape})")
        try:
            outside = np.broadcast_shapes(*(tuple(1 if k == d else n for k, n in enumerate(a.shape))
                                            for a in (self.data, idx)))
        except ValueError:
            raise ShapeError(f"take_along_dim: shapes {self.shape} and {idx.shape} do not broadcast outside "
                             f"dim {d}") from None
        x = self.expand(tuple(self.shape[d] if k == d else n for k, n in enumerate(outside)))
        return x.gather(d, np.broadcast_to(idx, tuple(idx.shape[d] if k == d else n for k, n in enumerate(outside))))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal x[..., i, i + offset] of the matrices in dims ``dim1``, ``dim2``, as a new last
        dim (values copied; PyTorch returns a view; the gradient flows back to the diagonal)."""
        d1, d2 = _dim(dim1, self.ndim, "diagonal"), _dim(dim2, self.ndim, "diagonal")
        if d1 == d2:
            raise ValueError(f"diagonal: dim1 and dim2 are both dim {d1}")
        return _diagonal_of_matrices(self.movedim((d1, d2), (-2, -1)), offset)

    def repeat_interleave(self, repeats: int | TensorLike, dim: int | None = None) -> Tensor:
        """Each element (``dim=None``: of the flattened tensor) or slice along ``dim`` repeated
        ``repeats`` times (an int, or one count per slice), the copies side by side:
        [a, b] → [a, a, b, b]. (``repeat`` tiles whole copies instead.)"""
        x, d = (self.reshape(-1), 0) if dim is None else (self, _dim(dim, self.ndim, "repeat_interleave"))
        counts = _to_array(repeats, dtypes.int64)
        n = x.shape[d] if x.ndim else 1
        if counts.ndim > 1 or counts.size not in (1, n) or (counts.size and counts.min() < 0):
            raise ValueError(f"repeat_interleave: repeats {counts.tolist()} must be one count or {n} "
                             f"non-negative counts (dim {d} of shape {self.shape})")
        return x.index_select(d, np.repeat(np.arange(n), counts.reshape(-1) if counts.size == n else counts.item()))

    def diff(self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None) -> Tensor:
        """The n-th forward difference along ``dim``: y[i] = x[i + 1] − x[i], applied n times;
        ``prepend``/``append`` are joined to x along ``dim`` first. bool gives x[i + 1] ≠ x[i]."""
        d = _dim(dim, self.ndim, "diff")
        if self.ndim == 0:
            raise ShapeError("diff: expects a tensor with at least 1 dim, got a 0-d tensor")
        parts = [t for t in (prepend, self, append) if t is not None]
        x = cat(parts, d) if len(parts) > 1 else self
        for _ in range(n):
            if x.shape[d] == 0:  # differences of nothing: still nothing
                break
            later, earlier = x.narrow(d, 1, x.shape[d] - 1), x.narrow(d, 0, x.shape[d] - 1)
            x = later != earlier if x.dtype == np.bool_ else later - earlier
        return x

    def fliplr(self) -> Tensor:
        """Reverse the columns (dim 1) of a tensor with at least 2 dims."""
        return _matrices(self, "fliplr").flip(1)

    def flipud(self) -> Tensor:
        """Reverse the rows (dim 0) of a tensor with at least 1 dim."""
        if self.ndim < 1:
            raise ShapeError("flipud: expects a tensor with at least 1 dim, got a 0-d tensor")
        return self.flip(0)

    def flip(self, *dims: int | Sequence[int]) -> Tensor:
        """Reverse the order of the elements along each of ``dims``."""
        axes = [_dim(d, self.ndim, "flip") for d in _shape_arg(dims)]
        if len(set(axes)) != len(axes):
            raise ValueError(f"flip: dims {list(_shape_arg(dims))} name the same dim twice (shape {self.shape})")
        return ops.Flip.apply(self, dims=tuple(d for d in axes if d < self.ndim))  # a 0-d tensor has no dim to flip

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Shift cyclically by ``shifts[k]`` along ``dims[k]``; without dims, the flattened tensor."""
        shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
        if dims is None or self.ndim == 0:
            if len(shifts) != 1:
                raise ValueError(f"roll: {len(shifts)} shifts need as many dims (tensor of shape {self.shape})")
            return ops.Roll.apply(self, shifts=shifts, dims=None)
        dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
        if len(shifts) != len(dims):
            raise ValueError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        return ops.Roll.apply(self, shifts=shifts, dims=tuple(_dim(d, self.ndim, "roll") for d in dims))

    def repeat(self, *repeats: int | Sequence[int]) -> Tensor:
        """Tile ``repeats[d]`` copies along every dim (torch's repeat = NumPy's tile); extra
        leading repeats add new dims."""
        repeats = _shape_arg(repeats)
        if len(repeats) < self.ndim or any(r < 0 for r in repeats):
            raise ValueError(f"repeat: repeats {repeats} need at least {self.ndim} non-negative sizes "
                             f"(tensor of shape {self.shape})")
        return ops.Repeat.apply(self, repeats=repeats)

    def tile(self, *dims: int | Sequence[int]) -> Tensor:
        """``repeat`` with missing leading repeats taken as 1 (torch.tile)."""
        repeats = _shape_arg(dims)
        return self.repeat((1,) * (self.ndim - len(repeats)) + repeats)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (j − i ≤ diagonal); zeros elsewhere."""
        return ops.Tril.apply(_matrices(self, "tril"), diagonal=diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims (j − i ≥ diagonal); zeros elsewhere."""
        return ops.Triu.apply(_matrices(self, "triu"), diagonal=diagonal)

    def scatter(self, dim: int, index: TensorLike, src: TensorLike | None = None, *,
                value: Scalar | None = None) -> Tensor:
        """A copy with ``src[i][j]`` (or the scalar ``value``) written at ``[i][index[i][j]]``
        along ``dim`` (torch.scatter; a repeated index: the last write wins)."""
        d, idx, part = _scatter_args(self, dim, index, value if src is None else src, "scatter")
        return ops.Scatter.apply(self, part, dim=d, index=idx)

    def scatter_add(self, dim: int, index: TensorLike, src: TensorLike) -> Tensor:
        """A copy with ``src[i][j]`` added at ``[i][index[i][j]]`` along ``dim`` (repeats add up)."""
        d, idx, part = _scatter_args(self, dim, index, src, "scatter_add")
        return self + ops.ScatterAdd.apply(part, dim=d, index=idx, shape=self.shape)

    def index_add(self, dim: int, index: TensorLike, source: Tensor, *, alpha: Scalar = 1) -> Tensor:
        """A copy with ``alpha·source[..., j, ...]`` added to the slice ``index[j]`` along ``dim``
        (repeated indices add up): scatter_add with ``index`` broadcast across ``source``."""
        d = _dim(dim, self.ndim, "index_add")
        idx = _to_array(index, dtypes.int64).reshape(-1) if np.ndim(index) <= 1 else None
        src = source if isinstance(source, Tensor) else Tensor(_to_array(source, self.dtype))
        expected = tuple(len(idx) if k == d else n for k, n in enumerate(self.shape)) if idx is not None else None
        if self.ndim == 0 or src.shape != expected or _any_outside(idx, 0, self.shape[d]):
            raise IndexError(f"index_add: index {np.asarray(index).tolist()} and source of shape {src.shape} "
                             f"do not fit dim {d} of shape {self.shape} (need a 1-D index into the dim and "
                             f"a source of shape {expected})")
        if src.dtype != self.dtype:
            raise TypeError(f"index_add: source is {src.dtype} but the tensor is {self.dtype}; "
                            "they must have one dtype")
        full = np.broadcast_to(idx.reshape([-1 if k == d else 1 for k in range(self.ndim)]), src.shape)
        # checked above, so scatter_add's own checks (_scatter_args) are skipped: straight to the op
        return self + ops.ScatterAdd.apply(src if alpha == 1 else src * alpha, dim=d, index=full, shape=self.shape)

    # ---- scans, order statistics, index writes, products (composites.py: checks, compositions) ----

    def cummax(self, dim: int) -> return_types.cummax:
        """``(values, indices)``: the running maximum along ``dim`` (ties: the last index)."""
        return composites.cummax(self, dim)

    def cummin(self, dim: int) -> return_types.cummin:
        """``(values, indices)``: the running minimum along ``dim`` (ties: the last index)."""
        return composites.cummin(self, dim)

    def logcumsumexp(self, dim: int) -> Tensor:
        """Running log Σ exp along ``dim``, computed stably."""
        return composites.logcumsumexp(self, dim)

    def quantile(self, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        """The q-quantiles along ``dim`` (all elements if None); q a number or a 1-D tensor."""
        return composites.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q: float | Tensor, dim: int | None = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Tensor:
        """``quantile`` ignoring NaN."""
        return composites.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Tensor | return_types.nanmedian:
        """The lower median ignoring NaN; with ``dim``: ``(values, indices)``."""
        return composites.nanmedian(self, dim, keepdim)

    def index_fill(self, dim: int, index: TensorLike, value: Scalar | Tensor) -> Tensor:
        """A copy with the slices at ``index`` along ``dim`` set to ``value``."""
        return composites.index_fill(self, dim, index, value)

    def index_fill_(self, dim: int, index: TensorLike, value: Scalar | Tensor) -> Tensor:
        """``index_fill``, in place."""
        return self._write("index_fill_", lambda x, v: x.index_fill(dim, index, v), value)

    def index_copy(self, dim: int, index: TensorLike, source: TensorLike) -> Tensor:
        """A copy with slice j of ``source`` at slice ``index[j]`` along ``dim``."""
        return composites.index_copy(self, dim, index, source)

    def index_copy_(self, dim: int, index: TensorLike, source: TensorLike) -> Tensor:
        """``index_copy``, in place."""
        return self._write("index_copy_", lambda x, s: x.index_copy(dim, index, s), source)

    def index_put(self, indices: Sequence[TensorLike], values: TensorLike, accumulate: bool = False) -> Tensor:
        """A copy with ``values`` written (``accumulate``: added) at ``self[indices]``."""
        return composites.index_put(self, indices, values, accumulate)

    def index_put_(self, indices: Sequence[TensorLike], values: TensorLike, accumulate: bool = False) -> Tensor:
        """``index_put``, in place."""
        return self._write("index_put_", lambda x, v: x.index_put(indices, v, accumulate), values)

    def scatter_reduce(self, dim: int, index: TensorLike, src: TensorLike, reduce: str, *,
                       include_self: bool = True) -> Tensor:
        """A copy with src folded in at ``index`` along ``dim`` by sum, prod, mean, amax or amin."""
        return composites.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim: int, index: TensorLike, src: TensorLike, reduce: str, *,
                        include_self: bool = True) -> Tensor:
        """``scatter_reduce``, in place."""
        return self._write("scatter_reduce_", lambda x, s: x.scatter_reduce(dim, index, s, reduce,
                                                                             include_self=include_self), src)

    def kron(self, other: Tensor) -> Tensor:
        """The Kronecker product."""
        return composites.kron(self, other)

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along ``dim`` (None: the first dim of size 3)."""
        return composites.cross(self, other, dim)

    def histc(self, bins: int = 100, min: Scalar = 0, max: Scalar = 0) -> Tensor:
        """Counts in ``bins`` equal bins over [min, max] (both 0: the data's range); no gradient."""
        return composites.histc(self, bins, min, max)

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        """Slices along ``dim`` with p-norm above ``maxnorm`` scaled down to it."""
        return composites.renorm(self, p, dim, maxnorm)

    def renorm_(self, p: float, dim: int, maxnorm: float) -> Tensor:
        """``renorm``, in place."""
        return self._write("renorm_", lambda x: x.renorm(p, dim, maxnorm))

    def logaddexp2(self, other: TensorLike) -> Tensor:
        """log₂(2ˣ + 2ʷ) elementwise, without overflow."""
        return composites.logaddexp2(self, other)

    def diag(self, diagonal: int = 0) -> Tensor:
        """1-D v → the square matrix with v on diagonal ``diagonal`` (j − i = diagonal), 0 elsewhere;
        2-D → the 1-D tensor of that diagonal."""
        if self.ndim == 2:
            return _diagonal_of_matrices(self, diagonal)
        if self.ndim != 1:
            raise ShapeError(f"diag: expects a 1-D or 2-D tensor, got shape {self.shape}")
        n = self.shape[0] + abs(diagonal)
        padded = cat([self, Tensor._make(np.zeros(abs(diagonal), dtype=self.dtype))]) if diagonal else self
        # row i holds v[i] at column i + k (k ≥ 0); column j holds v[j] at row j − k (k < 0)
        along = padded.reshape(n, 1) if diagonal >= 0 else padded.reshape(1, n)
        on_diagonal = np.subtract.outer(np.arange(n), np.arange(n)) == -diagonal
        return where(on_diagonal, along, Tensor._make(np.zeros((), dtype=self.dtype)))

    def masked_select(self, mask: TensorLike) -> Tensor:
        """The 1-D tensor of the elements where the boolean ``mask`` (broadcast with self) is True."""
        m = _to_array(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"masked_select: mask must be a bool tensor, got {m.dtype}")
        try:
            shape = np.broadcast_shapes(self.shape, m.shape)
        except ValueError:
            raise ShapeError(f"masked_select: mask of shape {m.shape} does not broadcast with shape "
                             f"{self.shape}") from None
        return self.expand(shape)[np.broadcast_to(m, shape)]

    def argwhere(self) -> Tensor:
        """The (count, ndim) int64 indices of the nonzero elements (``nonzero()``)."""
        return self.nonzero()

    def take(self, index: TensorLike) -> Tensor:
        """The elements of the flattened tensor at ``index`` (any shape; the result has its shape)."""
        idx = _to_array(index, dtypes.int64)
        if _any_outside(idx, -self.numel(), self.numel()):
            raise IndexError(f"take: index {idx.tolist()} is out of range for {self.numel()} elements")
        return self.reshape(-1)[idx]

    # ---- linear algebra and special functions (linalg.py, special.py; the math in ops/matrix.py, ops/special.py) ----

    def det(self) -> Tensor:
        """The determinant of square matrices (…, n, n) → (…)."""
        return linalg.det(self)

    def logdet(self) -> Tensor:
        """ln det of square matrices (nan where det < 0, −inf where it is 0)."""
        return linalg.logdet(self)

    def slogdet(self) -> return_types.slogdet:
        """``(sign, logabsdet)`` of the determinant of square matrices (torch.slogdet's named tuple)."""
        return return_types.slogdet(*linalg.slogdet(self))

    def inverse(self) -> Tensor:
        """The inverse of square matrices (tg.linalg.LinAlgError if singular)."""
        return linalg.inv(self)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        """The Moore–Penrose pseudoinverse; singular values ≤ rcond·σ_max count as 0."""
        return linalg.pinv(self, rtol=rcond)

    def matrix_power(self, n: int) -> Tensor:
        """Aⁿ of square matrices for an integer n (A⁻¹ powers for n < 0)."""
        return linalg.matrix_power(self, n)

    def matrix_exp(self) -> Tensor:
        """e^A of square matrices."""
        return linalg.matrix_exp(self)

    def cholesky_solve(self, L: Tensor, upper: bool = False) -> Tensor:
        """X with (L Lᵀ) X = self, from the Cholesky factor L."""
        return linalg.cholesky_solve(self, L, upper)

    def cholesky_inverse(self, upper: bool = False) -> Tensor:
        """(L Lᵀ)⁻¹ with self the Cholesky factor L."""
        return linalg.cholesky_inverse(self, upper)

    def lgamma(self) -> Tensor:
        """ln|Γ(x)| elementwise."""
        return special.lgamma(self)

    def digamma(self) -> Tensor:
        """ψ(x) = Γ'(x)/Γ(x) elementwise."""
        return special.digamma(self)

    def polygamma(self, n: int) -> Tensor:
        """ψ⁽ⁿ⁾(x), the n-th derivative of digamma, elementwise."""
        return special.polygamma(n, self)

    def mvlgamma(self, p: int) -> Tensor:
        """ln Γ_p(x), the log of the multivariate gamma function."""
        return special.multigammaln(self, p)

    def erfinv(self) -> Tensor:
        """The inverse error function elementwise."""
        return special.erfinv(self)

    def erfc(self) -> Tensor:
        """1 − erf(x) elementwise, exact in the right tail."""
        return special.erfc(self)

    def igamma(self, other: TensorLike) -> Tensor:
        """P(self, other), the regularized lower incomplete gamma function."""
        return special.gammainc(self, other)

    def igammac(self, other: TensorLike) -> Tensor:
        """Q(self, other) = 1 − P(self, other), the regularized upper incomplete gamma function."""
        return special.gammaincc(self, other)

    def i0(self) -> Tensor:
        """I₀(x), the modified Bessel function of order 0, elementwise."""
        return special.i0(self)

    def sinc(self) -> Tensor:
        """sin(πx)/(πx) elementwise (1 at 0)."""
        return special.sinc(self)

    def xlogy(self, other: TensorLike) -> Tensor:
        """x · ln(other), 0 where x = 0."""
        return special.xlogy(self, other)

    def lgamma_(self) -> Tensor:
        """self ← ln|Γ(self)|, in place."""
        return self._write("lgamma_", Tensor.lgamma)

    def digamma_(self) -> Tensor:
        """self ← ψ(self), in place."""
        return self._write("digamma_", Tensor.digamma)

    def polygamma_(self, n: int) -> Tensor:
        """self ← ψ⁽ⁿ⁾(self), in place."""
        return self._write("polygamma_", lambda x: x.polygamma(n))

    def mvlgamma_(self, p: int) -> Tensor:
        """self ← ln Γ_p(self), in place."""
        return self._write("mvlgamma_", lambda x: x.mvlgamma(p))

    def erfinv_(self) -> Tensor:
        """self ← erf⁻¹(self), in place."""
        return self._write("erfinv_", Tensor.erfinv)

    def erfc_(self) -> Tensor:
        """self ← 1 − erf(self), in place."""
        return self._write("erfc_", Tensor.erfc)

    def i0_(self) -> Tensor:
        """self ← I₀(self), in place."""
        return self._write("i0_", Tensor.i0)

    def sinc_(self) -> Tensor:
        """self ← sinc(self), in place."""
        return self._write("sinc_", Tensor.sinc)

    def xlogy_(self, other: TensorLike) -> Tensor:
        """self ← self · ln(other), in place."""
        return self._write("xlogy_", Tensor.xlogy, other)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a matrix."""
        if self.ndim != 2:
            raise ShapeError(f"trace: expects a 2-D tensor, got shape {self.shape}")
        return self.diagonal().sum()

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """Rotate by k·90° in the plane of ``dims``, from the first towards the second (np.rot90)."""
        if len(dims) != 2 or self.ndim < 2:
            raise ShapeError(f"rot90: needs two dims of a tensor with at least 2 dims, got dims {dims} and "
                             f"shape {self.shape}")
        d0, d1 = (_dim(d, self.ndim, "rot90") for d in dims)
        if d0 == d1:
            raise ValueError(f"rot90: dims {dims} name the same dim twice")
        k %= 4
        if k == 0:
            return self.clone()
        if k == 2:
            return self.flip(d0, d1)
        return self.flip(d1).transpose(d0, d1) if k == 1 else self.transpose(d0, d1).flip(d1)

    def tensor_split(self, indices_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Split along ``dim`` into n nearly equal parts (the first n mod size ones one longer), or
        at the given indices (np.array_split); views of this tensor."""
        d = _dim(dim, self.ndim, "tensor_split")
        n = self.shape[d]
        if isinstance(indices_or_sections, int):
            if indices_or_sections < 1:
                raise ValueError(f"tensor_split: the number of sections must be at least 1, got {indices_or_sections}")
            size, extra = divmod(n, indices_or_sections)
            bounds = np.cumsum([0] + [size + 1] * extra + [size] * (indices_or_sections - extra)).tolist()
        else:
            bounds = [0, *(min(max(int(i), 0), n) for i in indices_or_sections), n]
        lead = (slice(None),) * d
        return tuple(self[(*lead, slice(a, max(a, b)))] for a, b in zip(bounds, bounds[1:]))

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None) -> Tensor | tuple[Tensor, ...]:
        """The distinct values (rows along ``dim``), sorted; with the index of each element's value
        (``return_inverse``) and how often each occurs (``return_counts``). Not differentiable."""
        axis = None if dim is None else _dim(dim, self.ndim, "unique")
        values, inverse, counts = np.unique(self.data, return_inverse=True, return_counts=True, axis=axis)
        extra = [Tensor._make(inverse.reshape(self.shape if axis is None else -1).astype(dtypes.int64))] \
            if return_inverse else []
        extra += [Tensor._make(counts.astype(dtypes.int64))] if return_counts else []
        return (Tensor._make(values), *extra) if extra else Tensor._make(values)

    def bincount(self, weights: TensorLike | None = None, minlength: int = 0) -> Tensor:
        """How often each value 0, 1, … occurs in this 1-D non-negative integer tensor (or the sum of
        ``weights`` at its positions); at least ``minlength`` bins. Not differentiable."""
        if self.ndim != 1 or self.dtype.kind not in "iub" or (self.numel() and self.data.min() < 0):
            raise ValueError(f"bincount: expects a 1-D tensor of non-negative integers, got {self.dtype} of "
                             f"shape {self.shape}")
        w = None if weights is None else _to_array(weights)
        if w is not None and w.shape != self.shape:
            raise ValueError(f"bincount: weights of shape {w.shape} must have the input's shape {self.shape}")
        counts = np.bincount(self.data, w, minlength)
        return Tensor._make(counts.astype(dtypes.int64 if w is None else w.dtype if w.dtype.kind == "f"
                                          else np.float64))

    def bernoulli(self, p: float | None = None) -> Tensor:
        """0/1 draws, 1 with probability ``p`` (default: this tensor's values), in this dtype
        (the generator ``tg.manual_seed`` seeds). Not differentiable."""
        prob = self.data if p is None else p
        draws = random.generator().random(self.shape) < prob
        return Tensor._make(draws.astype(self.dtype))

    def bernoulli_(self, p: float = 0.5) -> Tensor:
        """Fill with 0/1 draws, 1 with probability ``p``, in place."""
        return self._overwrite("bernoulli_", lambda: random.generator().random(self.shape) < p)

    def multinomial(self, num_samples: int, replacement: bool = False) -> Tensor:
        """Indices drawn from the categorical distribution with weights ∝ this 1-D or 2-D tensor's
        rows (each row its own draws); without ``replacement``, no index twice. int64."""
        rows = self.data.reshape(1, -1) if self.ndim == 1 else self.data
        if self.ndim not in (1, 2) or np.any(rows < 0) or np.any(rows.sum(-1) <= 0):
            raise ValueError(f"multinomial: expects 1-D or 2-D non-negative weights with a positive sum per row, "
                             f"got shape {self.shape}")
        fewest = np.count_nonzero(rows, axis=-1).min()  # categories with nonzero weight, in the poorest row
        if not replacement and num_samples > fewest:
            raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from "
                             f"{fewest} categories with nonzero weight")
        draws = np.stack([random.generator().choice(rows.shape[1], num_samples, replace=replacement,
                                                    p=row / row.sum()) for row in rows.astype(np.float64)])
        return Tensor._make(draws.reshape(num_samples) if self.ndim == 1 else draws)

    def nonzero(self, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        """The indices of the nonzero elements: an int64 (count, ndim) tensor, or with
        ``as_tuple`` one 1-D index tensor per dim (not differentiable)."""
        if as_tuple:
            return tuple(Tensor._make(i) for i in np.nonzero(np.atleast_1d(self.data)))
        return Tensor._make(np.argwhere(self.data))

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """All windows of ``size`` elements along ``dimension``, one every ``step``: the dim
        becomes the window count ⌊(n − size)/step⌋ + 1 and a new last dim of length ``size`` holds
        each window, y[..., i, ..., j] = x[..., i·step + j, ...]. The values are copied (PyTorch
        returns a view); the gradient adds up over the windows an element belongs to."""
        x = self.reshape(1) if self.ndim == 0 else self
        d = _dim(dimension, x.ndim, "unfold")
        if step <= 0:
            raise ValueError(f"unfold: step is {step} but must be > 0")
        if not 0 <= size <= x.shape[d]:
            raise ShapeError(f"unfold: size {size} does not fit dim {d} of shape {self.shape} "
                             f"(at most {x.shape[d]})")
        starts = np.arange(0, x.shape[d] - size + 1, step)
        windows = starts[:, None] + np.arange(size)  # (count, size) positions along d
        y = x[(slice(None),) * d + (windows,)].movedim(d + 1, -1)
        return y.reshape(size) if self.ndim == 0 else y

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """Split into ``chunks`` nearly equal pieces along ``dim``."""
        if chunks < 1:
            raise ValueError(f"chunk: chunks must be at least 1, got {chunks}")
        size = -(-self.shape[_dim(dim, self.ndim, "chunk")] // chunks)
        return self.split(max(size, 1), dim)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The view ``self[..., start:start + length]`` along ``dim`` (``start`` may be negative)."""
        d = _dim(dim, self.ndim, "narrow")
        n = self.shape[d]
        begin = start + n if -n <= start < 0 else start
        if not 0 <= begin <= n or length < 0 or begin + length > n:
            raise IndexError(f"narrow: start {start} and length {length} do not fit dim {d} of shape {self.shape}")
        return self[(slice(None),) * d + (slice(begin, begin + length),)]

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, each a view without that dim (the Unbind op: the inverse of ``tg.stack``)."""
        if self.ndim == 0:
            raise IndexError("unbind: a 0-d tensor has no dim to unbind")
        slices = ops.Unbind.apply(self, dim=_dim(dim, self.ndim, "unbind"))
        return tuple([_view_of(self, piece) for piece in slices])

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of ``split_size`` along ``dim`` (or of the listed sizes)."""
        d = _dim(dim, self.ndim, "split")
        n = self.shape[d]
        sizes = [split_size] * (-(-n // split_size)) if isinstance(split_size, int) else list(split_size)
        if isinstance(split_size, int):
            sizes[-1] = n - split_size * (len(sizes) - 1)
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} do not add up to {n} (dim {d} of shape {self.shape})")
        bounds = np.cumsum([0, *sizes]).tolist()
        lead = (slice(None),) * d
        return tuple(self[(*lead, slice(a, b))] for a, b in zip(bounds, bounds[1:]))


# The autograd modules cannot import this file (it imports them), so they get the class here.
engine.Tensor = function.Tensor = Tensor


# ---- helpers for the methods above ------------------------------------------------------


def _view_of(base: Tensor, result: Tensor) -> Tensor:
    """``result``, made to share ``base``'s version counter when its array looks into base's
    memory (NumPy made a view, not a copy: reshape of a contiguous array, permute, basic
    indexing, expand), as a PyTorch view shares its base's counter.

    NumPy points a view's ``.base`` at the array that owns the memory, so a view of ``base``
    has as its ``.base`` either base's array or the array that one is a view of.
    """
    owner, memory = result.data.base, base.data
    if owner is not None and (owner is memory or owner is memory.base):
        counter = base._version_counter
        if counter is _UNSHARED_COUNTER:  # (base._shared_version_counter() inlined: views are made often)
            counter = base._version_counter = [0]
        result._version_counter = counter
    return result


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert constructor input to a fresh ndarray with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtypes.as_dtype(dtype))
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    try:
        if isinstance(_first_item(data), Tensor):  # e.g. a list of 0-d tensors (losses), some requiring grad
            array = np.array(_tensors_to_arrays(data))
            if array.dtype.kind in "biuf":
                return array  # the tensors' own dtypes are kept, as in PyTorch
        array = np.array(data)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"tensor: cannot make a tensor from this data: {err}") from None
    if array.dtype == np.float64:
        return quietly(array.astype, dtypes.default_float)  # 1e300 becomes float32 inf, as in PyTorch
    if array.dtype.kind in "iu":
        return array.astype(dtypes.int64)
    if array.dtype.kind not in "fb":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data of dtype {array.dtype}")
    return array


def _first_item(data: Any) -> Any:
    """The first scalar of a nested list (what decides how the list is converted)."""
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return data


def _tensors_to_arrays(data: Any) -> Any:
    """Nested lists with the Tensors in them replaced by their arrays (and Python floats
    by float32 beside them, the default dtype)."""
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (list, tuple)):
        return [_tensors_to_arrays(item) for item in data]
    return dtypes.default_float.type(data) if isinstance(data, float) else data


def _as_tensor(value: TensorLike, like_dtype: np.dtype) -> Tensor:
    """A Tensor for an operand: Tensors pass through; a Python scalar takes ``like_dtype``
    unless it is of a higher kind (bool < int < float), as in PyTorch: a float with an
    integer tensor gives float32, an int with a bool tensor int64."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.generic):
        value = value.item()  # NumPy scalars behave like Python scalars
    if isinstance(value, (builtins.bool, int, float)):
        if isinstance(value, float):
            if not dtypes.is_floating(like_dtype):
                like_dtype = dtypes.default_float
        elif like_dtype.kind == "b" and not isinstance(value, builtins.bool):  # an int with a bool tensor
            like_dtype = dtypes.int64
        return Tensor._make(np.asarray(value, dtype=like_dtype))
    return Tensor._make(_to_array(value))


def _promote(x: TensorLike, w: TensorLike) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of one dtype (PyTorch's promotion rules).

    As in PyTorch, a 0-d tensor of the same kind (float or integer) does not widen a
    tensor with dims: float32 matrix + float64 scalar stays float32.
    """
    if isinstance(x, Tensor):
        w = _as_tensor(w, x.dtype)
    elif isinstance(w, Tensor):
        x = _as_tensor(x, w.dtype)
    else:  # two Python numbers (tg.where(c, 1.0, 0)): the first sets the default dtype
        x = Tensor._make(_to_array(x))
        w = _as_tensor(w, x.dtype)
    if x.dtype == w.dtype:
        return x, w
    if (x.ndim == 0) != (w.ndim == 0) and dtypes.category(x.dtype) == dtypes.category(w.dtype):
        dtype = w.dtype if x.ndim == 0 else x.dtype
    else:
        dtype = dtypes.promote(x.dtype, w.dtype)
    return x.to(dtype), w.to(dtype)


def _broadcast_shape(x: Tensor, w: Tensor, op: str) -> tuple[int, ...]:
    """NumPy's broadcasting rule for two shapes (np.broadcast_shapes, without its ~3 µs of overhead):
    align the shapes at the right; each pair of sizes must match or one of them be 1."""
    xs, ws = x.data.shape, w.data.shape
    lead = len(xs) - len(ws)
    xs, ws = ((1,) * -lead + xs, ws) if lead < 0 else (xs, (1,) * lead + ws)
    shape = []
    for a, b in zip(xs, ws):
        if a != b and a != 1 and b != 1:
            raise ShapeError(f"{op}: shapes {x.shape} and {w.shape} cannot be broadcast together")
        shape.append(b if a == 1 else a)
    return tuple(shape)


def _expand_if_needed(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Insert Expand for an operand that needs a gradient; NumPy broadcasts the others."""
    if t.shape != shape and t.requires_grad and grad_mode.is_grad_enabled():
        return _view_of(t, ops.Expand.apply(t, shape=shape))  # shares t's version: an op saving it sees writes to t
    return t


_PYTHON_NUMBERS = (int, float)  # exact types: bool (an int subclass) and NumPy scalars take the general path


def _binary(op: type[Function], x: TensorLike, w: TensorLike, true_division: bool = False) -> Tensor:
    """Promote dtypes, broadcast by ``Expand``, then apply a binary op."""
    # A floating tensor with a Python number (x * 2, 1 - x): the number takes the tensor's dtype and
    # broadcasts as a 0-d array that needs no gradient, so there is nothing to promote, check or expand;
    # the general path below gives the same result, ~1 µs later.
    if type(w) in _PYTHON_NUMBERS and isinstance(x, Tensor) and x.data.dtype.kind == "f":
        return op.apply(x, Tensor._make(np.asarray(w, x.data.dtype)))
    if type(x) in _PYTHON_NUMBERS and isinstance(w, Tensor) and w.data.dtype.kind == "f":
        return op.apply(Tensor._make(np.asarray(x, w.data.dtype)), w)
    if not (isinstance(x, Tensor) and isinstance(w, Tensor) and x.data.dtype == w.data.dtype):
        x, w = _promote(x, w)  # skipped in the common case of two tensors of one dtype
    if true_division and x.data.dtype.kind != "f":
        x, w = x.to(dtypes.default_float), w.to(dtypes.default_float)
    if x.data.shape != w.data.shape:
        shape = _broadcast_shape(x, w, op.__name__.lower())
        x, w = _expand_if_needed(x, shape), _expand_if_needed(w, shape)
    return op.apply(x, w)


def _compare(fn: Callable[..., np.ndarray], x: Tensor, other: Any) -> Tensor:
    x, w = _promote(x, other)
    _broadcast_shape(x, w, fn.__name__)
    return Tensor._make(fn(x.data, w.data))


def _floor_divide(x: TensorLike, w: TensorLike) -> Tensor:
    """``x // w`` = ⌊x / w⌋ elementwise. It has no gradient (PyTorch's backward raises), so a
    tensor that requires grad is an error here, while recording, rather than a silent zero."""
    x, w = _promote(x, w)
    if grad_mode.is_grad_enabled() and (x.requires_grad or w.requires_grad):
        raise RuntimeError("floor_divide (//): not differentiable; use .detach() on the operands")
    _broadcast_shape(x, w, "floor_divide")
    return Tensor._make(quietly(np.floor_divide, x.data, w.data))


def _modulo(op: str, x: TensorLike, w: TensorLike, quotient: Callable[[np.ndarray, np.ndarray], np.ndarray],
            modulo: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Tensor:
    """x − q·w with the rounded quotient q = ``quotient``(x, w): ⌊x / w⌋ for ``x % w`` (remainder,
    the sign of w: Python's and PyTorch's ``%``), trunc(x / w) for fmod (the sign of x, C's fmod).

    q is piecewise constant, so ∂/∂x = 1 and ∂/∂w = −q: built as x − q·w with q a constant when
    a gradient is needed, as PyTorch's remainder/fmod backward; else NumPy's ``modulo`` gives the value.
    """
    x, w = _promote(x, w)
    _broadcast_shape(x, w, op)
    if grad_mode.is_grad_enabled() and (x.requires_grad or w.requires_grad):  # (floats only)
        return x - Tensor._make(quietly(quotient, x.data, w.data)) * w
    return Tensor._make(quietly(modulo, x.data, w.data))


def _remainder(x: TensorLike, w: TensorLike) -> Tensor:
    """``x % w`` = x − ⌊x / w⌋·w, with the sign of w."""
    return _modulo("remainder", x, w, np.floor_divide, np.remainder)


def _truncated_quotient(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """trunc(x / w), fmod's quotient."""
    return np.trunc(np.divide(x, w))


def _logic(bitwise: Callable[..., np.ndarray], logical: Callable[..., np.ndarray], x: Tensor, other: Any) -> Tensor:
    """``&``, ``|``, ``^``: bitwise on integer tensors (as PyTorch), logical on bool masks and floats."""
    x, w = _promote(x, other)  # first: the promoted dtype picks bitwise or logical
    return _compare(bitwise if x.dtype.kind in "iu" else logical, x, w)


def _truth_reduction(fn: Callable[..., np.ndarray], x: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    """``all``/``any``: a bool tensor, over everything or along one dim."""
    axis = None if dim is None else _dim(dim, x.ndim, fn.__name__)
    return Tensor._make(np.asarray(fn(x.data, axis=axis, keepdims=keepdim)))


def _same_dtype(op: str, x: Tensor, w: Any) -> None:
    """A TypeError naming ``op`` unless ``w`` is a Tensor of x's dtype (PyTorch does not promote there)."""
    if not isinstance(w, Tensor) or w.dtype != x.dtype:
        raise TypeError(f"{op}: expects two tensors of one dtype, got {x.dtype} and "
                        f"{getattr(w, 'dtype', type(w).__name__)}")


def _named(output: Tensor, torch_name: str) -> Tensor:
    """``output`` with its node named ``torch_name``: the PyTorch op a method stands for where it is
    one of our general ops (t and transpose a Permute, squeeze a Reshape, bmm a MatMul, max(dim) and
    sort a Gather). The caller names it; the op cannot know which method called it."""
    if output.grad_fn is not None:
        output.grad_fn.torch_name = torch_name
    return output


def _take_along(x: Tensor, dim: int, indices: Tensor, keepdim: bool, torch_name: str) -> tuple[Tensor, Tensor]:
    """``(values, indices)``: x's elements at ``indices`` (of x's rank) along ``dim``, the dim
    dropped from both unless ``keepdim`` (max(dim), median(dim), mode, sort, topk). One Gather
    op, its node named as PyTorch's (``MaxBackward0``); the gradient goes to those elements."""
    keep = keepdim or x.ndim == 0
    values = _named(ops.Gather.apply(x, dim=dim, index=indices.data, keepdim=keep), torch_name)
    return values, indices if keep else Tensor._make(np.squeeze(indices.data, axis=dim))


def _mode_indices(a: np.ndarray, dim: int) -> np.ndarray:
    """The index (keepdim-shaped, int64) of the mode along ``dim``, by PyTorch's rule: sort the
    slice (stably; NaN last, each NaN a value of its own), cut it into runs of equal values, take
    the first longest run (so the smallest of equally frequent values) and its last element."""
    if a.ndim == 0:
        return np.zeros((), dtypes.int64)
    rows = np.moveaxis(a, dim, -1).reshape(-1, a.shape[dim])
    order = np.argsort(rows, axis=-1, kind="stable")
    ordered = np.take_along_axis(rows, order, axis=-1)
    n = rows.shape[1]
    position = np.broadcast_to(np.arange(n), rows.shape)
    starts_run = np.concatenate([np.ones((len(rows), 1), bool), ordered[:, 1:] != ordered[:, :-1]], axis=1)
    ends_run = np.concatenate([starts_run[:, 1:], np.ones((len(rows), 1), bool)], axis=1)
    run_start = np.maximum.accumulate(np.where(starts_run, position, 0), axis=1)
    length = np.where(ends_run, position - run_start + 1, 0)  # each run's length, at its last element
    last_of_mode = np.argmax(length, axis=1)  # the first longest run
    index = order[np.arange(len(rows)), last_of_mode]
    others = [size for k, size in enumerate(a.shape) if k != dim]
    return np.moveaxis(index.reshape(*others, 1), -1, dim).astype(dtypes.int64)


def _times_alpha(op: str, x: Tensor, other: TensorLike, alpha: Scalar) -> TensorLike:
    """alpha·other for ``add``/``sub(other, alpha=)``; ``other`` itself for the default alpha 1.
    As PyTorch: where the result (x and other promoted) is integral or bool, a float alpha is
    refused, even 1.0; a bool alpha only scales a bool result."""
    if type(alpha) is int and alpha == 1:
        return other
    x, other = _promote(x, other)
    if isinstance(alpha, float) and x.dtype.kind in "biu":
        raise TypeError(f"{op}: for integral input tensors, argument alpha must not be a floating point number, "
                        f"got alpha={alpha} with {x.dtype} operands")
    if isinstance(alpha, builtins.bool) and x.dtype.kind != "b":
        raise TypeError(f"{op}: boolean alpha only supported for boolean results, got {x.dtype} operands")
    return other * (builtins.bool(alpha) if x.dtype.kind == "b" else alpha)  # bool: any nonzero alpha is True


def _add_scaled(x: Tensor, product: Tensor, beta: Scalar, alpha: Scalar, op: str) -> Tensor:
    """β·x + α·product for addmm/baddbmm: x broadcasts to the product's shape (never beyond it);
    with β = 0, x is ignored, nan and inf included (as PyTorch)."""
    if _broadcast_shape(x, product, op) != product.shape:
        raise ShapeError(f"{op}: self of shape {x.shape} cannot be broadcast to {product.shape}")
    scaled = product if alpha == 1 else alpha * product
    if beta == 0:
        return scaled
    return (x if beta == 1 else beta * x) + scaled


def _clamp_by_tensors(x: Tensor, low: TensorLike | None, high: TensorLike | None) -> Tensor:
    """``clamp`` with a tensor bound: the ClampTensor op on the three promoted to one dtype and,
    where one needs a gradient, expanded to the broadcast shape."""
    for bound in (low, high):  # first x takes the dtype of all three, then each bound x's
        x = x if bound is None else _promote(x, bound)[0]
    low, high = (None if b is None else _promote(x, b)[1] for b in (low, high))
    shape = _broadcast_shapes("clamp", [t.shape for t in (x, low, high) if t is not None])
    x, low, high = (None if t is None else _expand_if_needed(t, shape) for t in (x, low, high))
    return ops.ClampTensor.apply(x, low, high)


def _floating_pair(op: str, x: TensorLike, w: TensorLike) -> tuple[Tensor, Tensor]:
    """x and w promoted to one dtype, which must be floating: logaddexp and hypot have no integer
    version in PyTorch (two integer tensors raise there; an integer with a float tensor promotes)."""
    x, w = _promote(x, w)
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"{op}: needs a floating point operand, got {x.dtype} and {w.dtype}; call .float() first")
    return x, w


def _floating(x: Tensor) -> Tensor:
    """x itself if floating, else x as float32: PyTorch's functions such as exp and sin turn
    integer input into the default float dtype."""
    return x if dtypes.is_floating(x.dtype) else x.to(dtypes.default_float)


def _require_floating(x: Tensor, op: str) -> Tensor:
    """x itself; a TypeError naming ``op`` for integer input, which PyTorch rejects there too."""
    if not dtypes.is_floating(x.dtype):
        raise TypeError(f"{op}: needs a floating point tensor, got {x.dtype}; call .float() first")
    return x


def _matrices(x: Tensor, op: str) -> Tensor:
    """x itself; a ShapeError naming ``op`` unless x has at least two dims (a stack of matrices)."""
    if x.ndim < 2:
        raise ShapeError(f"{op}: needs a tensor with at least 2 dims, got shape {x.shape}")
    return x


def _diagonal_of_matrices(x: Tensor, offset: int) -> Tensor:
    """x[..., i, i + offset] for every i that fits: diagonal ``offset`` (j − i) of the matrices in
    x's last two dims, as a new last dim (diag of a matrix, diagonal)."""
    rows, cols = x.shape[-2:]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    i = np.arange(length)
    return x[..., i + max(-offset, 0), i + max(offset, 0)]


def _whole(x: Tensor, step: type[Function], **options: int) -> Tensor:
    """floor/ceil/round/trunc: the ``step`` op; integers are whole numbers already (a copy, as PyTorch)."""
    if not dtypes.is_floating(x.dtype):
        return x.clone()
    return step.apply(x, **options)


def _checked_product(op: str, x: Tensor, w: Tensor, x_ndim: int, w_ndim: int, torch_name: str | None = None) -> Tensor:
    """``x @ w`` after PyTorch's checks for mm/bmm/mv/dot: exact dims (no broadcasting),
    matching inner sizes (and batch for bmm), one dtype."""
    if not isinstance(w, Tensor):
        raise TypeError(f"{op}: the second operand must be a Tensor, got {type(w).__name__}")
    if ((x.ndim, w.ndim) != (x_ndim, w_ndim) or x.shape[-1] != w.shape[-2 if w_ndim >= 2 else 0]
            or x.shape[:-2] != w.shape[:-2]):
        raise ShapeError(f"{op}: expects a {x_ndim}-D and a {w_ndim}-D tensor with matching inner sizes"
                         f"{' and batch' if x_ndim == 3 else ''}, got shapes {x.shape} and {w.shape}")
    if x.dtype != w.dtype:
        raise TypeError(f"{op}: expects both operands of one dtype, got {x.dtype} and {w.dtype}")
    product = ops.MatMul.apply(x, w)
    return product if torch_name is None else _named(product, torch_name)


def _scatter_args(x: Tensor, dim: int, index: TensorLike, src: TensorLike | None,
                  op: str) -> tuple[int, np.ndarray, Tensor]:
    """Check a scatter's arguments as PyTorch does; returns (dim, index array, the part of src
    that index covers). A scalar src becomes a constant tensor of x's dtype."""
    if src is None:
        raise TypeError(f"{op}: needs src (a tensor) or value (a number)")
    idx = _to_array(index, dtypes.int64)
    d = _dim(dim, x.ndim, op)
    src = src if isinstance(src, Tensor) else Tensor._make(np.full(idx.shape, src, dtype=x.dtype))
    if src.dtype != x.dtype:
        raise TypeError(f"{op}: src is {src.dtype} but the tensor is {x.dtype}; they must have one dtype")
    fits = idx.ndim == x.ndim == src.ndim and all(
        i <= s and (k == d or i <= n) for k, (i, s, n) in enumerate(zip(idx.shape, src.shape, x.shape)))
    size = x.shape[d] if x.ndim else 1
    if not fits or _any_outside(idx, 0, size):
        raise IndexError(f"{op}: index of shape {idx.shape} (values in [0, {size})) does not fit "
                         f"src of shape {src.shape} and dim {d} of shape {x.shape}")
    covered = tuple(slice(0, n) for n in idx.shape)
    return d, idx, src if src.shape == idx.shape else src[covered]


def _any_outside(idx: np.ndarray, low: int, high: int) -> bool:
    """True if some index in ``idx`` lies outside [low, high) (an empty index never does)."""
    return bool(idx.size) and (idx.min() < low or idx.max() >= high)


def _sorting_indices(a: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """int64 indices that sort ``a`` along ``dim`` stably (equal values keep their order).

    Descending: a stable ascending sort of the reversed array, reversed back, lists equal
    values from the first to the last (negating would fail for bool and unsigned, and move NaN).
    """
    if a.ndim == 0:
        return np.zeros((), dtypes.int64)
    if not descending:
        return np.argsort(a, axis=dim, kind="stable")
    reversed_order = np.argsort(np.flip(a, dim), axis=dim, kind="stable")
    return a.shape[dim] - 1 - np.flip(reversed_order, dim)


def _arg_extreme(fn: Callable[..., np.ndarray], x: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    if dim is None:
        out = fn(x.data.reshape(-1))
        return Tensor._make(np.asarray(out, dtype=dtypes.int64).reshape((1,) * x.ndim if keepdim else ()))
    d = _dim(dim, x.ndim, fn.__name__)
    return Tensor._make(fn(x.data, axis=d, keepdims=keepdim).astype(dtypes.int64, copy=False))


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


def target_dtype(op: str, dtype_or_device: Any, device: Any = None) -> np.dtype | None:
    """The dtype a ``to(...)`` call asks for (None: keep it), as PyTorch reads the arguments:
    ``to(dtype)``, ``to(device)``, ``to(device=...)``. The CPU is the only device; asking for
    another one ("cuda", a torch.device) is a RuntimeError naming ``op``."""
    named_device = isinstance(dtype_or_device, str) and dtype_or_device.split(":")[0] in _DEVICE_TYPES
    if named_device or type(dtype_or_device).__name__ == "device":  # a str or a torch.device
        dtype_or_device, device = None, dtype_or_device
    if device is not None and not str(device).startswith("cpu"):
        raise RuntimeError(f"{op}: device {str(device)!r} is not available; tinygrad_edu runs on the CPU only")
    return None if dtype_or_device is None else dtypes.as_dtype(dtype_or_device)


def _correction(unbiased: builtins.bool | None, correction: int | None) -> int:
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _dim(dim: int, ndim: int, op: str) -> int:
    """A dim index in [0, ndim), accepting negative dims; IndexError naming ``op`` otherwise."""
    rank = builtins.max(ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims")
    return dim % rank


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(n) for n in shape)


def _infer_shape(shape: tuple[int, ...], numel: int, old: tuple[int, ...]) -> tuple[int, ...]:
    """Resolve one −1 in ``shape`` and check that the element count matches."""
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape: only one dim can be -1, got {shape}")
    known = math.prod([n for n in shape if n != -1])
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {old} ({numel} elements) into {shape}")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    elif known != numel:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {old} ({numel} elements) into {shape}")
    return shape


def _index_to_numpy(index: Any) -> Any:
    """Tensors and lists inside an index become ndarrays, so NumPy indexing applies."""
    if isinstance(index, tuple):
        return tuple(_index_to_numpy(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


# ---- torch-style functions of one tensor -----------------------------------------------


def tensor_function(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """``tg.<name>(input, ...)``, i.e. ``input.<name>(...)``, as a function that refuses an ``input``
    that is not a Tensor with PyTorch's TypeError, naming the function and the type given (the bare
    method would fail somewhere inside it, or even compute on an ndarray's buffer).

    Each call pays one more Python call and an ``isinstance``. A method of ``input`` alone (exp,
    sin, ...) gets a wrapper without ``*args, **kwargs``: forwarding those costs several times more.
    """

    def refuse(input: Any) -> Any:
        kind = type(input)
        kind_name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {kind_name}")

    if len(inspect.signature(method).parameters) == 1:

        def function(input: Tensor) -> Any:
            return method(input) if isinstance(input, Tensor) else refuse(input)
    else:

        def function(input: Tensor, *args: Any, **kwargs: Any) -> Any:
            return method(input, *args, **kwargs) if isinstance(input, Tensor) else refuse(input)

    functools.update_wrapper(function, method)
    function.__name__ = function.__qualname__ = name
    return function


# ---- functions on several tensors ----------------------------------------------------


def where(condition: TensorLike, x: TensorLike, y: TensorLike) -> Tensor:
    """``x`` where ``condition`` is True, ``y`` elsewhere (all three broadcast)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    x, y = _promote(x, y)
    try:
        shape = np.broadcast_shapes(cond.shape, x.shape, y.shape)
    except ValueError:
        raise ShapeError(f"where: shapes {cond.shape}, {x.shape} and {y.shape} cannot be broadcast together") from None
    return ops.Where.apply(_expand_if_needed(x, shape), _expand_if_needed(y, shape), condition=cond)


def maximum(x: Tensor, y: TensorLike) -> Tensor:
    """Elementwise maximum (ties share the gradient)."""
    return _binary(ops.Maximum, x, y)


def minimum(x: Tensor, y: TensorLike) -> Tensor:
    """Elementwise minimum (ties share the gradient)."""
    return _binary(ops.Minimum, x, y)


def _joinable(tensors: Sequence[Tensor], op: str) -> list[Tensor]:
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dtypes.promote(dtype, t.dtype)
    return [t.to(dtype) for t in tensors]


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum("ij,jk->ik", a, b)`` is ``a @ b``.

    Subscripts are letters; "..." stands for leading dims (broadcast); without "->" the output
    is the letters used once, sorted. The operands may also come as one list. All share a dtype.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TypeError(f"einsum: operands must be Tensors, got {[type(t).__name__ for t in operands]}")
    if any(t.dtype != operands[0].dtype for t in operands):
        raise TypeError(f"einsum: expected operands of one dtype, as PyTorch, got {[str(t.dtype) for t in operands]}")
    eq = ops.linalg.einsum_equation(equation, [t.shape for t in operands])
    return ops.Einsum.apply(*operands, equation=eq)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim; all other dims must match."""
    tensors = _joinable(tensors, "cat")
    first = tensors[0]
    d = _dim(dim, first.ndim, "cat")
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != d):
            raise ShapeError(f"cat: shapes {first.shape} and {t.shape} differ outside dim {d}")
    return ops.Cat.apply(*tensors, dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack equally shaped tensors along a new dim."""
    tensors = _joinable(tensors, "stack")
    first = tensors[0]
    for t in tensors[1:]:
        if t.shape != first.shape:
            raise ShapeError(f"stack: all tensors must have one shape, got {first.shape} and {t.shape}")
    return ops.Stack.apply(*tensors, dim=_dim(dim, first.ndim + 1, "stack"))


def broadcast_shapes(*shapes: int | Sequence[int]) -> tuple[int, ...]:
    """The shape all of ``shapes`` broadcast to (NumPy's rule), a ShapeError if there is none."""
    return _broadcast_shapes("broadcast_shapes", list(shapes))


def _broadcast_shapes(op: str, shapes: list[int | Sequence[int]]) -> tuple[int, ...]:
    """``broadcast_shapes`` for any number of shapes, its ShapeError naming ``op``."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"{op}: shapes {shapes} cannot be broadcast together") from None


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Every tensor expanded to their common broadcast shape (views; gradients sum back)."""
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors: with ``indexing="ij"`` output k varies along dim k
    (``"xy"``: the first two dims swapped, as NumPy's default); each is an expanded view."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ShapeError(f"meshgrid: expects 0-D or 1-D tensors, got shapes {[t.shape for t in tensors]}")
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        order[0], order[1] = 1, 0
    sizes = [tensors[k].numel() for k in order]
    return tuple(t.reshape([-1 if order[d] == k else 1 for d in range(len(tensors))]).expand(sizes)
                 for k, t in enumerate(tensors))


def std_mean(input: Tensor, dim: int | Sequence[int] | None = None, *, correction: int = 1,
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim`` in one call (torch.std_mean)."""
    return input.std(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim)


def var_mean(input: Tensor, dim: int | Sequence[int] | None = None, *, correction: int = 1,
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim`` in one call (torch.var_mean)."""
    return input.var(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim)
