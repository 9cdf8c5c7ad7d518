"""Linear algebra: MatMul, Linear (a dense layer's y = act(x Wᵀ + b) as one op), and Einsum.

Notation as in ``ops/elementwise.py``. The product follows ``np.matmul``: the last two
dims multiply as matrices, the leading (batch) dims broadcast, and a 1-D operand is a
vector (promoted to a matrix for the product, and its dim removed from the result).
"""

from __future__ import annotations

import functools
import operator
import string

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from .activation import relu_grad


class MatMul(Function):
    r"""Matrix product, batched and broadcast like ``np.matmul``.

    Forward:   y[..., i, j] = Σ_k x[..., i, k] · w[..., k, j]
    Backward:  ∂L/∂x = g wᵀ      (summed over the batch dims x was broadcast along)
               ∂L/∂w = xᵀ g      (summed over the batch dims w was broadcast along)
    A 1-D x is the row vector (1, k) and a 1-D w the column vector (k, 1) for these
    formulas; the added dims are removed again from the gradients.
    """

    formula = ("g @ w.T", "x.T @ g")
    torch_name = "MmBackward0"  # 2-D @ 2-D; other ranks name the node in forward (_MATMUL_NAMES)

    @staticmethod
    def forward(ctx, x, w):
        ctx.shapes = x_shape, w_shape = x.data.shape, w.data.shape  # backward may keep only one of x and w
        _check_shapes(x_shape, w_shape)
        if x.data.dtype is not w.data.dtype:  # identity first: ~20 ns on the hot path
            check_same_dtype("matmul", x.data, w.data, names=("left operand", "right operand"))
        if len(x_shape) != 2 or len(w_shape) != 2:
            ctx.torch_name = _MATMUL_NAMES.get((min(x.ndim, 3), min(w.ndim, 3)), "UnsafeViewBackward0")
        need_x, need_w = ctx.needs_input_grad
        ctx.save_for_backward(x if need_w else None, w if need_x else None)  # ∂L/∂x reads w, ∂L/∂w reads x
        return backend.matmul(x.data, w.data)

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        x_shape, w_shape = ctx.shapes
        need_x, need_w = ctx.needs_input_grad
        if len(x_shape) == 2 and len(w_shape) == 2 and not grad_mode.is_grad_enabled():
            # The plain backward (no create_graph) of a 2-D product: the two GEMMs on arrays, the
            # transposes as strides, as in Linear. The Tensor ops below (reshape, mT, @, sum_to, reshape)
            # cost ~28 µs more per backward (4x8 @ 8x3 float32: forward + backward 60 -> 32 µs).
            g = grad_output.data
            return (backend.matmul(g, w.data.T) if need_x else None), (backend.matmul(x.data.T, g) if need_w else None)
        x2_shape = (1, *x_shape) if len(x_shape) == 1 else x_shape  # (1, k)
        w2_shape = (*w_shape, 1) if len(w_shape) == 1 else w_shape  # (k, 1)
        batch = grad_output.shape[: grad_output.ndim - (len(x_shape) > 1) - (len(w_shape) > 1)]
        g = grad_output.reshape(*batch, x2_shape[-2], w2_shape[-1])  # the promoted dims put back
        grad_x = grad_w = None
        if need_x:
            w2 = w.unsqueeze(-1) if w.ndim == 1 else w
            grad_x = (g @ w2.mT).sum_to(x2_shape).reshape(x_shape)
        if need_w:
            x2 = x.unsqueeze(0) if x.ndim == 1 else x
            grad_w = (x2.mT @ g).sum_to(w2_shape).reshape(w_shape)
        return grad_x, grad_w


class Linear(Function):
    r"""A dense layer in one op (PyTorch's addmm): one GEMM, then bias and activation in one pass.

    Forward:   y = act(x Wᵀ + b)       x (…, in), W (out, in), b (out,) or None; act = identity or ReLU
    Backward:  with gz = g ⊙ act'(y)  (identity: gz = g; ReLU: g ⊙ [y > 0]) and rows = all leading dims:
               ∂L/∂x = gz W
               ∂L/∂W = gzᵀ x           (summed over the rows)
               ∂L/∂b = Σ_rows gz

    Composite twin (tests): ``act(x @ W.T + b)``, four ops (Permute, MatMul, Expand + Add) whose
    backward adds a SumTo and two more Permutes; Wᵀ here is strides handed to the GEMM, not a copy.
    """

    formula = ("gz @ W", "gz.T @ x", "sum(gz, rows)")
    torch_name = "AddmmBackward0"  # 2-D input with bias; forward names the other cases (_LINEAR_NAMES)

    @staticmethod
    def forward(ctx, x, w, b, *, activation="none"):
        _check_linear_shapes(x.shape, w.shape, None if b is None else b.shape)
        if x.data.dtype is not w.data.dtype or (b is not None and b.data.dtype is not w.data.dtype):
            check_same_dtype("linear", x.data, w.data, None if b is None else b.data)
        ctx.activation = activation
        if activation == "relu":  # PyTorch's output comes from relu(linear(x)): its node is ReLU's
            ctx.torch_name = "ReluBackward0"
        elif x.ndim != 2 or b is None:
            ctx.torch_name = _LINEAR_NAMES[min(x.ndim, 3), b is not None]
        y = backend.linear(x.data, w.data, None if b is None else b.data, activation)
        need_x, need_w = ctx.needs_input_grad[:2]  # ∂L/∂x reads W, ∂L/∂W reads x, ∂L/∂b neither
        ctx.save_for_backward(x if need_w else None, w if need_x else None, None if activation == "none" else y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, w, y = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        n_out = grad_output.shape[-1]
        if grad_mode.is_grad_enabled():  # create_graph=True: Tensor ops, so the gradients are differentiable
            gz = grad_output if y is None else relu_grad(grad_output, y)
            gz_rows = gz.reshape(-1, n_out)
            grad_b = gz_rows.sum(0) if need_b else None
            matmul = operator.matmul
        else:  # plain backward: the same formulas on arrays, a fused pass for act' and Σ gz
            g = grad_output.data
            if y is None:  # (np.add.reduce: the sum .sum(0) computes, without its Python wrapper)
                gz, grad_b = g, (np.add.reduce(g.reshape(-1, n_out), axis=0) if need_b else None)
            else:
                gz, grad_b = backend.act_grad(g, y.data, ctx.activation, need_b)
            gz_rows = gz.reshape(-1, n_out)
            matmul = backend.matmul
            x, w = (x.data if need_w else None), (w.data if need_x else None)
        # x: (…, in) has g's leading dims; gzᵀ below is strides, not a copy
        grad_x = matmul(gz_rows, w).reshape((*grad_output.shape[:-1], w.shape[1])) if need_x else None
        grad_w = matmul(gz_rows.T, x.reshape(-1, x.shape[-1])) if need_w else None
        return grad_x, grad_w, grad_b


class Einsum(Function):
    r"""Einstein summation: the product of the operands, summed over every index not in the output.

    Forward:   y[out] = Σ_{indices not in out} Π_k x_k[in_k]       (``np.einsum``; equation "in_1,...,in_n->out")
    Backward:  ∂L/∂x_k = einsum("out,in_1,..(without in_k)..,in_n -> in_k", g, x_1, .., x_n without x_k)

    Why: y is linear in each operand; x_k[in_k] enters y[out] once for every assignment of the
    indices that agrees with in_k, times Π_{j≠k} x_j[in_j]. The chain rule sums over y's elements:
        ∂L/∂x_k[in_k] = Σ_out g[out] ∂y[out]/∂x_k[in_k] = Σ_{indices not in in_k} g[out] Π_{j≠k} x_j[in_j],
    an einsum itself (so twice differentiable): the forward sum with g in x_k's place. Two index
    kinds need more than that einsum: an index only x_k has (summed away before anything else saw
    it) gets g copied along it (broadcast), and an index x_k repeats ("ii": its diagonal) gets the
    gradient on the diagonal and 0 elsewhere. ``equation`` is explicit and without "..." here
    (``tg.einsum`` makes it so).
    """

    formula = ("einsum(g, other operands -> in_k)",)

    @staticmethod
    def forward(ctx, *operands, equation):
        ctx.equation, ctx.shapes = equation, [x.shape for x in operands]
        ctx.torch_name = _torch_einsum_node(equation, len(operands))
        need = ctx.needs_input_grad  # x_k is read only by the other operands' gradients
        ctx.save_for_backward(*(x if any(need[:k] + need[k + 1:]) else None for k, x in enumerate(operands)))
        return np.einsum(equation, *(x.data for x in operands), optimize=len(operands) > 2)

    @staticmethod
    def backward(ctx, grad_output):
        operands = ctx.saved_tensors
        inputs, out = ctx.equation.split("->")
        letters = inputs.split(",")
        grads = []
        for k, shape in enumerate(ctx.shapes):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(spec, t) for j, (spec, t) in enumerate(zip(letters, operands)) if j != k]
            seen = set(out).union(*(spec for spec, _ in others))
            kept = "".join(dict.fromkeys(c for c in letters[k] if c in seen))  # x_k's indices g or others carry
            eq = ",".join([out, *(spec for spec, _ in others)]) + "->" + kept
            g = Einsum.apply(grad_output, *(t for _, t in others), equation=eq)
            grads.append(_spread(g, kept, letters[k], shape))
        return tuple(grads)


@functools.cache  # an equation recurs (a model's einsum runs every step): set operations once per equation
def _torch_einsum_node(equation: str, count: int) -> str:
    """The node PyTorch's einsum, a composite, ends in: it sums one operand over its summed indices
    (else only permutes it), and multiplies several, through bmm and a final view when an index is
    summed."""
    inputs, out = equation.split("->")
    summed = bool(set(inputs.replace(",", "")) - set(out))
    if count == 1:
        return "SumBackward1" if summed else "PermuteBackward0"
    return "ViewBackward0" if summed else "MulBackward0"


def _spread(g, kept: str, spec: str, shape: tuple[int, ...]):
    """The gradient over indices ``kept`` (in the order they first appear in ``spec``) laid out as
    the operand with indices ``spec`` and ``shape``: copied along the indices not kept and along
    those g has at size 1 (another operand broadcast there), put on the diagonal of a repeated
    index (0 off it), summed over the dims the operand broadcast."""
    first = {c: spec.index(c) for c in spec}
    size = {c: g.shape[a] for a, c in enumerate(kept)}
    g = g.reshape(*[size[c] if c in size and first[c] == d else 1 for d, c in enumerate(spec)])
    full = tuple(size.get(c, 1) if n == 1 else n for c, n in zip(spec, shape))  # broadcast of g and x_k
    g = g.expand(*full)
    if len(set(spec)) < len(spec):  # a repeated index: only its diagonal x[.., i, .., i, ..] was used
        grid = np.indices(full, sparse=True)
        on_diagonal = np.ones(full, dtype=bool)
        for d, c in enumerate(spec):
            on_diagonal = on_diagonal & (grid[d] == grid[first[c]])
        g = g * on_diagonal.astype(g.dtype)
    return g if full == tuple(shape) else g.sum_to(shape)


def einsum_equation(equation: str, shapes: list[tuple[int, ...]]) -> str:
    """``equation`` made explicit ("...->out") and without "...": each operand's ellipsis becomes
    letters the equation does not use, right-aligned as in broadcasting; an implicit output is
    the letters used once, sorted (after the ellipsis dims), as in NumPy and PyTorch."""
    equation = equation.replace(" ", "")
    inputs, arrow, out = equation.partition("->")
    specs = inputs.split(",")
    if len(specs) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} names {len(specs)} operands, got {len(shapes)}")
    used = [c for c in equation if c.isalpha()]
    bad = set(equation) - set(string.ascii_letters) - set(",.->")
    if bad or any(s.replace("...", "").count(".") for s in [*specs, out]):
        raise ValueError(f"einsum: invalid equation {equation!r} (letters, ',', '...' and '->' only)")
    free = [c for c in string.ascii_letters if c not in used]
    n_ell = max((len(shape) - len(s.replace("...", "")) for s, shape in zip(specs, shapes) if "..." in s), default=0)
    ell = "".join(free[:n_ell])
    for k, (s, shape) in enumerate(zip(specs, shapes)):
        n = len(shape) - len(s.replace("...", ""))
        if (n != 0 and "..." not in s) or n < 0:
            raise ValueError(f"einsum: operand {k} has {len(shape)} dims (shape {shape}), "
                             f"its subscripts {s!r} name {len(s.replace('...', ''))}")
        specs[k] = s.replace("...", ell[n_ell - n:])
    if not arrow:
        once = sorted(c for c in set(used) if used.count(c) == 1)
        out = ell + "".join(once)
    else:
        out = out.replace("...", ell)
        missing = set(out) - set("".join(specs))
        if missing or len(set(out)) < len(out):
            raise ValueError(f"einsum: output subscripts {out!r} must be distinct and appear in an operand")
    sizes: dict[str, int] = {}  # each index's size: a size 1 broadcasts against any other
    for k, (s, shape) in enumerate(zip(specs, shapes)):
        own: dict[str, int] = {}  # within one operand a repeated index ("ii") is a diagonal: no broadcasting
        for c, n in zip(s, shape):
            other = own.get(c, sizes.get(c, n))
            if other != n and (c in own or 1 not in (other, n)):
                raise ValueError(f"einsum: index {c!r} has size {other} and size {n} (operand {k}, shape "
                                 f"{shape}) in {equation!r}")
            own[c] = n
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    return ",".join(specs) + "->" + out


# The node PyTorch's result ends in, by operand ranks (3 = 3 or more): torch.matmul and
# F.linear are decompositions into mm / addmm / mv / dot and views, whose last step names the node.
_MATMUL_NAMES = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4", (2, 3): "CloneBackward0"}
_LINEAR_NAMES = {  # (input rank, has bias); (2, True) is the class's AddmmBackward0
    (1, True): "ViewBackward0", (1, False): "SqueezeBackward4", (2, False): "MmBackward0",
    (3, True): "ViewBackward0", (3, False): "UnsafeViewBackward0",
}


def _check_linear_shapes(x_shape: tuple[int, ...], w_shape: tuple[int, ...], b_shape: tuple[int, ...] | None) -> None:
    """Raise ShapeError naming the shapes unless x (…, in), W (out, in) and b (out,) fit."""
    if len(w_shape) != 2 or not x_shape or x_shape[-1] != w_shape[1] or b_shape not in (None, w_shape[:1]):
        from ..tensor import ShapeError  # imported here: tensor.py imports the ops

        raise ShapeError(f"linear: input of shape {x_shape} does not fit weight of shape {w_shape}"
                         + ("" if b_shape is None else f" and bias of shape {b_shape}"))


def check_same_dtype(op: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                     names: tuple[str, str] = ("input", "weight")) -> None:
    """Raise TypeError unless x and w (input and weight, or the two operands named by ``names``)
    and the bias b share one dtype.

    PyTorch's matmul/mm/bmm, linear and convolutions refuse mixed dtypes ("expected m1 and m2
    to have the same dtype") instead of promoting as elementwise ops do: a float64 input into a
    float32 layer is almost always a mistake, and promoting would silently double the cost.
    """
    if x.dtype != w.dtype or (b is not None and b.dtype != w.dtype):
        bias = "" if b is None else f", bias {b.dtype}"
        raise TypeError(f"{op}: expected {names[0]} and {names[1]}{' (and bias)' if b is not None else ''} of one "
                        f"dtype, as PyTorch, got {names[0]} {x.dtype}, {names[1]} {w.dtype}{bias}; convert one "
                        "with .to(dtype)")


def _check_shapes(x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> None:
    """Raise ShapeError naming both shapes unless ``np.matmul`` accepts them.

    Every MatMul forward runs it, so an accepted product only compares: the batch dims go to
    np.broadcast_shapes (1.7 µs) when both operands have some, and ShapeError is imported (~1 µs, a
    function-level import) to be raised, as in _check_linear_shapes (was 4.0 µs per product, 2-D)."""
    if not x_shape or not w_shape:
        reason = "both operands need at least 1 dim"
    elif x_shape[-1] != (k_w := w_shape[0] if len(w_shape) == 1 else w_shape[-2]):
        reason = f"inner dims {x_shape[-1]} and {k_w} differ"
    elif len(x_shape) > 2 and len(w_shape) > 2 and not _broadcastable(x_shape[:-2], w_shape[:-2]):
        reason = f"batch dims {x_shape[:-2]} and {w_shape[:-2]} do not broadcast"
    else:
        return
    from ..tensor import ShapeError  # imported here: tensor.py imports the ops

    raise ShapeError(f"matmul: shapes {x_shape} and {w_shape} cannot be multiplied ({reason})")


def _broadcastable(*shapes: tuple[int, ...]) -> bool:
    """Whether NumPy broadcasts the shapes together."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True
