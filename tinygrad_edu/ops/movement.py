"""Movement ops: broadcasting, reshaping, indexing, joining and padding.

Notation as in ``ops/elementwise.py``. None of these ops does arithmetic on values; each
backward moves the gradient back to where the value came from. Two pairs are each other's
adjoints, and their backwards call one another:

* ``Expand`` (broadcast) and ``SumTo``: the adjoint of broadcasting is summation.
* ``GetItem`` / ``Gather`` (read at indices) and ``IndexAccumulate`` / ``ScatterAdd``
  (add at indices): an element read twice receives both gradients.

``Clone``'s backward passes the gradient on. ``Flip``, ``Roll`` and ``Tril`` / ``Triu`` are
their own adjoints (with the shift negated for Roll); ``Repeat``'s adjoint sums the copies.
``index_select``, ``sort`` and ``topk`` need no op of their own: they are ``GetItem`` /
``Gather`` at computed indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.function import Function

# ---- broadcasting: Expand SumTo ------------------------------------------------------


class Expand(Function):
    """Broadcast x to a larger shape (a read-only view, no copy).

    Forward:   y = broadcast(x, shape)
    Backward:  ∂L/∂x = sum_to(g, x.shape)       (the adjoint of broadcasting is summation)
    """

    formula = ("sum_to(g, x.shape)",)

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.input_shape = x.shape
        return broadcast_view(x.data, tuple(shape))

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.sum_to(ctx.input_shape)


def broadcast_view(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(a, shape)``: a read-only view of the same memory that steps with
    stride 0 along every dim broadcasting adds or stretches, so no element is copied.

    Built with the ndarray constructor for contiguous ``a`` (the common case), because
    np.broadcast_to spends ~4 µs per call in Python-level checks, more than an Add of
    small arrays; ``shape`` has already been checked by the caller (Tensor.expand, _binary).
    """
    if not a.flags.c_contiguous:
        return np.broadcast_to(a, shape)
    lead = len(shape) - a.ndim
    strides = (0,) * lead + tuple(0 if n != m else step for n, m, step in zip(a.shape, shape[lead:], a.strides))
    view = np.ndarray(shape, a.dtype, a, 0, strides)
    view.flags.writeable = False  # as np.broadcast_to: writing would hit one element many times
    return view


class SumTo(Function):
    """Sum x down to ``shape`` (the dims that broadcasting would have added or stretched).

    Forward:   y = Σ over the leading dims and the dims where shape has 1
    Backward:  ∂L/∂x = broadcast(g, x.shape)
    """

    formula = ("expand(g, x.shape)",)

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.input_shape = x.shape
        return sum_to_array(x.data, tuple(shape))

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.expand(ctx.input_shape)


def sum_to_array(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``a`` to ``shape``, undoing a broadcast from ``shape`` to ``a.shape``."""
    lead = a.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and a.shape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    if len(axes) > 1 and axes[0] == 0:
        # Summing the outermost axis alone adds whole rows (vectorised); NumPy's single call over
        # scattered axes, e.g. a conv bias gradient's (0, 2, 3), is 2-2.5x slower. Same sum.
        a = np.sum(a, axis=0, keepdims=True)
    return np.sum(a, axis=axes, keepdims=True).reshape(shape)


# ---- reshaping: Reshape Permute ------------------------------------------------------


class Reshape(Function):
    """Give x a new shape with the same elements in the same (row-major) order.

    Forward:   y = reshape(x, shape)
    Backward:  ∂L/∂x = reshape(g, x.shape)
    """

    formula = ("reshape(g, x.shape)",)
    torch_name = "ViewBackward0"  # PyTorch's reshape is a view when it can be, else a copy:

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.input_shape = x.shape
        y = x.data.reshape(shape)
        if not x.data.flags.c_contiguous and not np.may_share_memory(y, x.data):
            ctx.torch_name = "UnsafeViewBackward0"  # the copy's node
        return y

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.reshape(ctx.input_shape)


class Permute(Function):
    """Reorder the dims of x (transpose is the two-dim case).

    Forward:   y = permute(x, dims)           y[i_dims[0], …] = x[i_0, …]
    Backward:  ∂L/∂x = permute(g, argsort(dims))
    """

    formula = ("permute(g, inverse(dims))",)

    @staticmethod
    def forward(ctx, x, *, dims):
        ctx.dims = dims
        return np.transpose(x.data, dims)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.permute(*np.argsort(ctx.dims).tolist())


# ---- indexing: GetItem IndexAccumulate Gather ScatterAdd ------------------------------


class GetItem(Function):
    """Indexing ``x[index]`` with ints, slices, None, ..., integer arrays and boolean masks.

    Forward:   y = x[index]
    Backward:  ∂L/∂x = zeros(x.shape) with g added at [index]   (repeated indices add up)
    """

    formula = ("index_accumulate(zeros(x.shape), index, g)",)

    @staticmethod
    def forward(ctx, x, *, index):
        ctx.index = index
        ctx.input_shape = x.shape
        try:  # (forward runs before anything is recorded, so a bad index leaves no graph behind)
            y = x.data[index]
        except IndexError as err:
            raise IndexError(f"index: {err} (tensor of shape {x.shape})") from None
        if type(y) is not np.ndarray:  # an int for every dim: NumPy returns a scalar, a copy;
            y = x.data[(*index, ...) if type(index) is tuple else (index, ...)]  # this is a 0-d view, as torch's x[i]
        ctx.torch_name = _indexing_node_name(index)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        return IndexAccumulate.apply(grad_output, index=ctx.index, shape=ctx.input_shape)


_ALL = slice(None)  # ``:``


def _indexing_node_name(index: Any) -> str:
    """PyTorch's node for ``x[index]``: IndexBackward0 with integer arrays or masks, else the
    node of the last basic step it applies (an int: Select, a slice: Slice, None: Unsqueeze;
    in a tuple it skips ``:`` and ``...``, AliasBackward0 if nothing is left)."""
    if type(index) is int:  # the common cases first: this runs on every x[...] that records
        return "SelectBackward0"
    if type(index) is slice:
        return "SliceBackward0"
    if type(index) is not tuple:
        if index is Ellipsis:
            return "AliasBackward0"
        index = (index,)
    elif index:  # (x[:] alone is a Slice in PyTorch, x[:, :] an Alias)
        index = tuple([i for i in index if i is not Ellipsis and not (type(i) is slice and i == _ALL)]) or (Ellipsis,)
    name = "AliasBackward0"
    for entry in index:
        if isinstance(entry, np.ndarray) and (entry.ndim or entry.dtype == np.bool_):
            return "IndexBackward0"
        if isinstance(entry, slice):
            name = "SliceBackward0"
        elif entry is None:
            name = "UnsqueezeBackward0"
        elif entry is not Ellipsis:  # an int (or a 0-d integer array)
            name = "SelectBackward0"
    return name


class IndexAccumulate(Function):
    """The adjoint of ``GetItem``: a zero tensor of ``shape`` with g added at ``index``.

    Forward:   y = zeros(shape);  y[index] += g    (np.add.at: repeated indices accumulate)
    Backward:  ∂L/∂g = (∂L/∂y)[index]
    """

    formula = ("g[index]",)

    @staticmethod
    def forward(ctx, g, *, index, shape):
        ctx.index = index
        y = np.zeros(shape, dtype=g.dtype)
        if _is_basic_index(index):
            y[index] = g.data  # ints, slices, None, ...: no element is named twice, so assign (fast)
        else:
            np.add.at(y, index, g.data)  # integer arrays and masks may repeat an element: accumulate
        return y

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output[ctx.index]


def _is_basic_index(index: object) -> bool:
    """True for NumPy "basic" indexing (ints, slices, None, Ellipsis), which selects each element once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, slice)
        or (isinstance(p, (int, np.integer)) and not isinstance(p, bool))
        for p in parts
    )


def _along_dim(index: np.ndarray, dim: int) -> tuple[np.ndarray, ...]:
    """The full advanced index that reads ``t[i_0, …, index[i_0, …], …]`` along ``dim``."""
    grids = np.indices(index.shape, sparse=True)
    return tuple(index if d == dim else grids[d] for d in range(index.ndim))


def _mask_at(shape: tuple[int, ...], positions: Any) -> np.ndarray:
    """A bool array of ``shape``, True at ``positions`` (any index ``array[positions]`` takes): where
    a write overwrote x, so where the writing ops' backward zeroes ∂L/∂x."""
    mask = np.zeros(shape, dtype=bool)
    mask[positions] = True
    return mask


class Gather(Function):
    """``torch.gather``: pick one element along ``dim`` for every entry of ``index``.

    Forward:   y[i, j, …] = x[i, …, index[i, j, …], …]      (index replaces the dim-th subscript)
    Backward:  ∂L/∂x = zeros(x.shape) with g added at those positions
    ``keepdim=False`` drops ``dim`` from y (an index of size 1 there: max(dim), median(dim), mode).
    """

    formula = ("scatter_add(zeros(x.shape), dim, index, g)",)

    @staticmethod
    def forward(ctx, x, *, dim, index, keepdim=True):
        ctx.dim, ctx.index, ctx.input_shape, ctx.keepdim = dim, index, x.shape, keepdim
        y = x.data[_along_dim(index, dim)]
        return y if keepdim else np.squeeze(y, axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        g = grad_output if ctx.keepdim else grad_output.unsqueeze(ctx.dim)
        return ScatterAdd.apply(g, dim=ctx.dim, index=ctx.index, shape=ctx.input_shape)


class ScatterAdd(Function):
    """The adjoint of ``Gather``: zeros of ``shape`` with g added along ``dim`` at ``index``.

    Forward:   y = zeros(shape);  y[i, …, index[i, j, …], …] += g[i, j, …]
    Backward:  ∂L/∂g = gather(∂L/∂y, dim, index)
    """

    formula = ("gather(g, dim, index)",)

    @staticmethod
    def forward(ctx, g, *, dim, index, shape):
        ctx.dim, ctx.index = dim, index
        y = np.zeros(shape, dtype=g.dtype)
        np.add.at(y, _along_dim(index, dim), g.data)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        return Gather.apply(grad_output, dim=ctx.dim, index=ctx.index)


class Scatter(Function):
    """``torch.scatter``: x with the elements of src written along ``dim`` at ``index``.

    Forward:   y = x;  y[i, …, index[i, j, …], …] = src[i, j, …]   (a repeated index: the last write wins)
    Backward:  ∂L/∂x = g with 0 where something was written      (those elements of x were overwritten)
               ∂L/∂src = gather(g, dim, index)
    """

    formula = ("g * (1 - written)", "gather(g, dim, index)")

    @staticmethod
    def forward(ctx, x, src, *, dim, index):
        ctx.dim, ctx.index = dim, index
        positions = _along_dim(index, dim)
        y = x.data.copy()
        y[positions] = src.data
        ctx.written = _mask_at(x.shape, positions)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        grad_x = grad_output.masked_fill(ctx.written, 0.0) if ctx.needs_input_grad[0] else None
        grad_src = Gather.apply(grad_output, dim=ctx.dim, index=ctx.index) if ctx.needs_input_grad[1] else None
        return grad_x, grad_src


# ---- joining: Cat Stack --------------------------------------------------------------


class Cat(Function):
    """Concatenate tensors along an existing dim.

    Forward:   y = [x_1 | x_2 | … ]  along dim
    Backward:  ∂L/∂x_k = the slice of g that x_k filled
    """

    formula = ("g[slice_k]",)

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [x.shape[dim] for x in xs]).tolist()
        return np.concatenate([x.data for x in xs], axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        lead = (slice(None),) * ctx.dim
        return tuple(
            grad_output[(*lead, slice(start, stop))] if needed else None
            for start, stop, needed in zip(ctx.bounds, ctx.bounds[1:], ctx.needs_input_grad)
        )


class Stack(Function):
    """Stack equally shaped tensors along a new dim.

    Forward:   y[…, k, …] = x_k              (k at position dim)
    Backward:  ∂L/∂x_k = g[…, k, …]
    """

    formula = ("g[..., k, ...]",)

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        return np.stack([x.data for x in xs], axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        lead = (slice(None),) * ctx.dim
        return tuple(
            grad_output[(*lead, k)] if needed else None for k, needed in enumerate(ctx.needs_input_grad)
        )


class Unbind(Function):
    """Split x into its slices along ``dim`` (the inverse of Stack; RNNs use it on time steps).

    Forward:   y_k = x[…, k, …]                 (k at position dim; one output per slice)
    Backward:  ∂L/∂x = stack(g_1, …, g_n, dim)  (zeros for slices that got no gradient)
    """

    formula = ("stack(g_k, dim)",)

    @staticmethod
    def forward(ctx, x, *, dim):
        ctx.dim = dim
        return tuple(np.moveaxis(x.data, dim, 0))

    @staticmethod
    def backward(ctx, *grad_outputs):
        return Stack.apply(*grad_outputs, dim=ctx.dim)


# ---- padding: Pad --------------------------------------------------------------------


class Pad(Function):
    """Constant padding; ``widths`` holds one (before, after) pair per dim of x.

    Forward:   y = x surrounded by ``value``
    Backward:  ∂L/∂x = g with the padding cut away
    """

    formula = ("g[inner]",)
    torch_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, *, widths, value=0.0):
        ctx.inner = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x.data, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output[ctx.inner]


# ---- reordering and copying: Clone Flip Roll Repeat ------------------------------------


class Clone(Function):
    """A copy in its own memory (``clone()``; ``contiguous()`` of a tensor whose layout is not
    row-major). ``order`` is NumPy's: "K" keeps x's layout (a transposed x stays transposed,
    as torch's clone; an expanded x is copied row-major), "C" lays the copy out row by row
    (torch's contiguous()).

    Forward:   y = x                              (copied)
    Backward:  ∂L/∂x = g
    """

    formula = ("g",)

    @staticmethod
    def forward(ctx, x, *, order="K"):
        if 0 in x.data.strides:  # a broadcast (expanded) x: torch lays its copy out row-major
            order = "C"
        return x.data.copy(order=order)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class Flip(Function):
    """Reverse the order of the elements along each dim in ``dims`` (torch.flip).

    Forward:   y[…, i, …] = x[…, n−1−i, …]      (along every flipped dim of size n)
    Backward:  ∂L/∂x = flip(g, dims)             (reversing twice is the identity)
    """

    formula = ("flip(g, dims)",)

    @staticmethod
    def forward(ctx, x, *, dims):
        ctx.dims = dims
        return np.flip(x.data, dims).copy()  # torch.flip copies too (ndarray.copy is C-ordered)

    @staticmethod
    def backward(ctx, grad_output):
        return Flip.apply(grad_output, dims=ctx.dims)


class Roll(Function):
    """Shift the elements cyclically by ``shifts[k]`` along ``dims[k]`` (torch.roll);
    ``dims=None`` rolls the flattened tensor and restores its shape.

    Forward:   y[…, (i + s) mod n, …] = x[…, i, …]
    Backward:  ∂L/∂x = roll(g, −shifts, dims)
    """

    formula = ("roll(g, -shifts, dims)",)

    @staticmethod
    def forward(ctx, x, *, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x.data, shifts, dims)

    @staticmethod
    def backward(ctx, grad_output):
        return Roll.apply(grad_output, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


class Repeat(Function):
    """Tile x ``repeats[d]`` times along every dim (torch's ``repeat``, NumPy's ``tile``;
    not NumPy's ``repeat``). x is first viewed with leading 1s up to ``len(repeats)`` dims.

    Forward:   y[…, r·n + i, …] = x[…, i, …]      (r = 0 … repeats[d] − 1 along a dim of size n)
    Backward:  ∂L/∂x = Σ_r g[…, r·n + i, …]       (every copy sends its gradient back)
    """

    formula = ("sum over copies of g",)

    @staticmethod
    def forward(ctx, x, *, repeats):
        ctx.input_shape = x.shape
        return np.tile(x.data, repeats)

    @staticmethod
    def backward(ctx, grad_output):
        shape = (1,) * (grad_output.ndim - len(ctx.input_shape)) + ctx.input_shape
        # (r0·n0, r1·n1, …) → (r0, n0, r1, n1, …): the copies get dims of their own, then sum them
        split = tuple(size for r_n, n in zip(grad_output.shape, shape) for size in (r_n // n if n else 0, n))
        copies = tuple(range(0, len(split), 2))
        return grad_output.reshape(split).sum(copies).reshape(ctx.input_shape)


# ---- triangles: Tril Triu ------------------------------------------------------------


class Tril(Function):
    """Keep the lower triangle of the last two dims: elements with j − i ≤ ``diagonal``.

    Forward:   y[…, i, j] = x[…, i, j] if j − i ≤ k else 0
    Backward:  ∂L/∂x = tril(g, k)               (a mask is its own adjoint)
    """

    formula = ("tril(g, k)",)
    keep = staticmethod(np.tril)

    @staticmethod
    def forward(ctx, x, *, diagonal=0):
        ctx.diagonal = diagonal
        return ctx.keep(x.data, diagonal)

    @staticmethod
    def backward(ctx, grad_output):
        return type(ctx).apply(grad_output, diagonal=ctx.diagonal)  # Tril or Triu, whichever ran


class Triu(Tril):
    """Keep the upper triangle of the last two dims: elements with j − i ≥ ``diagonal``.

    Forward:   y[…, i, j] = x[…, i, j] if j − i ≥ k else 0
    Backward:  ∂L/∂x = triu(g, k)
    """

    formula = ("triu(g, k)",)
    keep = staticmethod(np.triu)
