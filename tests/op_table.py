"""OP_TABLE: one row per tested op variant, the single source of the table-driven op tests.

(An OpInfo-lite, after PyTorch's ``op_db``.) Each row drives, in ``test_ops_table.py``:
forward + input gradients vs PyTorch in float64 and float32 on the row's ``samples`` (in
every layout) and on shapes drawn by hypothesis from ``shapes``, ``gradcheck`` in float64,
and double backward vs PyTorch; every test runs once per available backend.
``test_op_registry.py`` checks that every class in ``tinygrad_edu.ops.ALL_OPS`` is named in
the ``ops`` of some row, and that each row's graph really contains the ops it names.

HOW TO ADD A ROW (append to OP_TABLE, or ``OP_TABLE += (...)`` at the end of this file)::

    OpCase("exp", lambda x: x.exp(), ops=("Exp",), samples=UNARY, shapes=unary()),

Fields (only ``name`` and ``fn`` are required):
    name        unique id, shown in test ids (``family/name``)
    fn          the op on tinygrad_edu tensors, one positional tensor per input; returns a
                tensor or a tuple of tensors
    torch_fn    the same on torch tensors; leave None when ``fn`` works on both (the
                method names agree: ``lambda x: x.exp()``)
    ops         names of the ``ALL_OPS`` classes the row exercises (forward or backward)
    family      which ops/*.py file the op lives in (grouping in test ids)
    samples     fixed input shapes: a tuple of samples, each a tuple with one shape per input
    shapes      None, or a function returning a hypothesis strategy of such shape tuples
    domain      input domain name from ``helpers.DOMAINS`` ("real", "positive", "unit", "probability",
                "kink_free", "ties", "int"), one for all inputs or a tuple with one per input
    forward_only   True for ops with no gradient (comparisons, argmax, .long())
    gradcheck      False where finite differences are meaningless (inputs with ties)
    gradgrad       False to skip the double-backward comparison
    layouts        layouts tried on the samples (``helpers.LAYOUTS``; view needs contiguous)
    tol32          (rtol, atol) for float32 when the default (1e-4, 1e-5) is too tight
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from helpers import LAYOUTS, torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
from tinygrad_edu import ops
from tinygrad_edu.testing import strategies as tst

Shape = tuple[int, ...]
Sample = tuple[Shape, ...]


@dataclass(frozen=True)
class OpCase:
    """One row of the op table (see the module docstring for the fields)."""

    name: str
    fn: Callable[..., Any]
    torch_fn: Callable[..., Any] | None = None
    ops: tuple[str, ...] = ()
    family: str = "elementwise"
    samples: tuple[Sample, ...] = ()
    shapes: Callable[[], st.SearchStrategy[Sample]] | None = None
    domain: str | tuple[str, ...] = "real"
    forward_only: bool = False
    gradcheck: bool = True
    gradgrad: bool = True
    layouts: tuple[str, ...] = LAYOUTS
    tol32: tuple[float, float] | None = None

    @property
    def id(self) -> str:
        """The test id: ``family/name``."""
        return f"{self.family}/{self.name}"


# ---- sample shapes and hypothesis shape strategies ------------------------------------

UNARY: tuple[Sample, ...] = (((),), ((1,),), ((5,),), ((3, 4),), ((2, 1, 3),))
BINARY: tuple[Sample, ...] = (
    ((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3), ()), ((4,), (2, 3, 4)), ((2, 1, 4), (3, 1)), ((1,), ()),
)
TERNARY: tuple[Sample, ...] = (((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), ()), ((4,), (2, 1), (2, 4)))
REDUCE_ALL: tuple[Sample, ...] = (((),), ((5,),), ((3, 4),), ((2, 1, 3),))
REDUCE_DIM: tuple[Sample, ...] = (((5,),), ((3, 4),), ((2, 3, 4),), ((1, 3),))
REDUCE_DIMS: tuple[Sample, ...] = (((3, 4),), ((2, 3, 4),), ((1, 1, 3),))
MATMUL: tuple[Sample, ...] = (
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((1, 1), (1, 1)),
    ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((3,), (2, 3, 4)), ((2, 3, 4), (4,)), ((2, 3, 4), (4, 1)),
)  # fmt: skip


def unary(min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy[Sample]:
    """One shape with ``min_dims``..``max_dims`` dims of sizes 1..4."""
    return tst.shapes(min_dims, max_dims, 1, 4).map(lambda s: (s,))


def binary() -> st.SearchStrategy[Sample]:
    """Two shapes that broadcast together (either may be the smaller, or 0-d)."""
    return tst.broadcastable_shapes(max_dims=3, max_side=4)


def ternary() -> st.SearchStrategy[Sample]:
    """Three mutually broadcastable shapes."""
    return hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4).map(lambda b: b.input_shapes)


@st.composite
def matmul_shapes(draw: st.DrawFn) -> Sample:
    """Operand shapes for ``np.matmul``: 1-D vectors, matrices, and stacks whose batch dims broadcast."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_x, batch_w = draw(tst.broadcastable_shapes(max_dims=2, max_side=3))
    x = (k,) if draw(st.booleans()) and not batch_x else (*batch_x, n, k)
    w = (k,) if draw(st.booleans()) and not batch_w else (*batch_w, k, m)
    return x, w


# ---- building blocks for rows that need fixed index data --------------------------------

GATHER_INDEX = np.array([[0, 2], [1, 1], [3, 0]])  # for input (3, 4) along dim 1; repeats included
INDEX_2D = np.array([[1, 0], [1, 1]])  # integer-array index with a repeated row


def _torch_f() -> Any:
    return torch.nn.functional


def _pad_arg(x_ndim: int) -> tuple[int, ...]:
    """F.pad's argument (last dim first): the last dim by (1, 2), the one before by (0, 1) if it exists."""
    return (1, 2, 0, 1) if x_ndim > 1 else (1, 2)


# ---- the table -----------------------------------------------------------------------

E, A, R, M, L, S = "elementwise", "activation", "reduce", "movement", "linalg", "loss"
POS, KF, TIES = "positive", "kink_free", "ties"

OP_TABLE: tuple[OpCase, ...] = (
    # arithmetic, broadcast both ways (Expand forward, SumTo in its backward)
    OpCase("add", lambda x, y: x + y, ops=("Add", "Expand", "SumTo"), samples=BINARY, shapes=binary),
    OpCase("sub", lambda x, y: x - y, ops=("Sub",), samples=BINARY, shapes=binary),
    OpCase("mul", lambda x, y: x * y, ops=("Mul",), samples=BINARY, shapes=binary),
    OpCase("div", lambda x, y: x / y, ops=("Div",), samples=BINARY, shapes=binary, domain=("real", POS)),
    OpCase("pow", lambda x, y: x**y, ops=("Pow",), samples=BINARY, shapes=binary, domain=(POS, "real")),
    OpCase("pow_2", lambda x: x**2, ops=("Pow",), samples=UNARY, shapes=unary),
    OpCase("pow_3", lambda x: x.pow(3), ops=("Pow",), samples=UNARY, shapes=unary),
    OpCase("pow_0", lambda x: x**0, ops=("Pow",), samples=UNARY),
    OpCase("pow_half", lambda x: x**0.5, ops=("Pow",), samples=UNARY, domain=POS),
    OpCase("pow_neg", lambda x: x**-1.5, ops=("Pow",), samples=UNARY, domain=POS),
    OpCase("neg", lambda x: -x, ops=("Neg",), samples=UNARY, shapes=unary),
    OpCase("radd", lambda x: 2.0 + x, ops=("Add",), samples=UNARY),
    OpCase("rsub", lambda x: 2.0 - x, ops=("Sub",), samples=UNARY),
    OpCase("rmul", lambda x: 3 * x, ops=("Mul",), samples=UNARY),
    OpCase("rdiv", lambda x: 2.0 / x, ops=("Div",), samples=UNARY, domain=POS),
    OpCase("rpow", lambda x: 2.0**x, ops=("Pow",), samples=UNARY),
    OpCase("int_plus_float", lambda i, x: i + x, ops=("Add",), samples=BINARY, domain=("int", "real")),
    OpCase("float_times_int", lambda x, i: x * i, ops=("Mul",), samples=BINARY, domain=("real", "int")),
    # comparisons: bool results, no gradient
    *(OpCase(f"compare_{name}", fn, forward_only=True, samples=BINARY, shapes=binary, domain=TIES)
      for name, fn in (("lt", lambda x, y: x < y), ("le", lambda x, y: x <= y), ("gt", lambda x, y: x > y),
                       ("ge", lambda x, y: x >= y), ("eq", lambda x, y: x == y), ("ne", lambda x, y: x != y))),
    OpCase("compare_scalar", lambda x: x > 0.5, forward_only=True, samples=UNARY, domain=TIES),
    # elementary functions
    OpCase("exp", lambda x: x.exp(), ops=("Exp",), samples=UNARY, shapes=unary),
    OpCase("log", lambda x: x.log(), ops=("Log",), samples=UNARY, shapes=unary, domain=POS),
    OpCase("sqrt", lambda x: x.sqrt(), ops=("Sqrt",), samples=UNARY, shapes=unary, domain=POS),
    OpCase("abs", lambda x: x.abs(), ops=("Abs",), samples=UNARY, shapes=unary, domain=KF),
    OpCase("abs_at_zero", lambda x: x.abs(), ops=("Abs",), samples=UNARY, domain=TIES, gradcheck=False),
    OpCase("sin", lambda x: x.sin(), ops=("Sin",), samples=UNARY, shapes=unary),
    OpCase("cos", lambda x: x.cos(), ops=("Cos",), samples=UNARY, shapes=unary),
    OpCase("erf", lambda x: x.erf(), ops=("Erf",), samples=UNARY, shapes=unary),
    # comparisons that route gradients
    OpCase("maximum", lambda x, y: x.maximum(y), ops=("Maximum",), samples=BINARY, shapes=binary),
    OpCase("minimum", lambda x, y: x.minimum(y), ops=("Minimum",), samples=BINARY, shapes=binary),
    OpCase("tg_maximum_ties", lambda x, y: tg.maximum(x, y), lambda x, y: torch.maximum(x, y),
           ops=("Maximum",), samples=BINARY, shapes=binary, domain=TIES, gradcheck=False),
    OpCase("tg_minimum_ties", lambda x, y: tg.minimum(x, y), lambda x, y: torch.minimum(x, y),
           ops=("Minimum",), samples=BINARY, shapes=binary, domain=TIES, gradcheck=False),
    OpCase("max_elementwise", lambda x, y: x.max(y), ops=("Maximum",), samples=BINARY, domain=TIES, gradcheck=False),
    OpCase("min_elementwise", lambda x, y: x.min(y), ops=("Minimum",), samples=BINARY, domain=TIES, gradcheck=False),
    OpCase("clamp", lambda x: x.clamp(-0.5, 1.0), ops=("Clamp",), samples=UNARY, shapes=unary, domain=KF),
    OpCase("clamp_min", lambda x: x.clamp(min=-1.0), ops=("Clamp",), samples=UNARY, domain=KF),
    OpCase("clamp_max", lambda x: x.clamp(max=0.5), ops=("Clamp",), samples=UNARY, domain=KF),
    OpCase("clamp_at_bounds", lambda x: x.clamp(-1, 1), ops=("Clamp",), samples=UNARY, domain=TIES, gradcheck=False),
    OpCase("where", lambda c, x, y: tg.where(c > 0, x, y), lambda c, x, y: torch.where(c > 0, x, y),
           ops=("Where",), samples=TERNARY, shapes=ternary),
    OpCase("where_method", lambda x, c, y: x.where(c > 0, y), ops=("Where",), samples=TERNARY),
    OpCase("masked_fill", lambda x, m: x.masked_fill(m > 0, 2.5), ops=("Where",), samples=BINARY[:3]),
    # dtype conversions (Cast is differentiable between float dtypes)
    OpCase("float", lambda x: x.float() * 2, ops=("Cast",), samples=UNARY, gradcheck=False),  # float32 inside
    OpCase("double", lambda x: x.double() * 2, samples=UNARY),  # Cast only in the float32 run
    OpCase("clone", lambda x: x.clone(), ops=("Clone",), samples=UNARY),
    OpCase("contiguous_of_transpose", lambda x: x.transpose(0, 1).contiguous() * 2, ops=("Clone",),
           samples=(((3, 4),), ((2, 3, 4),))),
    OpCase("long", lambda x: (3 * x).long(), forward_only=True, samples=UNARY),
    OpCase("int_float", lambda i: i.float(), forward_only=True, samples=UNARY, domain="int"),
    # activations
    OpCase("tanh", lambda x: x.tanh(), ops=("Tanh",), family=A, samples=UNARY, shapes=unary),
    OpCase("sigmoid", lambda x: x.sigmoid(), ops=("Sigmoid",), family=A, samples=UNARY, shapes=unary),
    OpCase("relu", lambda x: x.relu(), ops=("ReLU",), family=A, samples=UNARY, shapes=unary, domain=KF),
    OpCase("relu_at_zero", lambda x: x.relu(), ops=("ReLU",), family=A, samples=UNARY, domain=TIES,
           gradcheck=False),
    OpCase("leaky_relu", lambda x: x.leaky_relu(), lambda x: _torch_f().leaky_relu(x), ops=("LeakyReLU",),
           family=A, samples=UNARY, shapes=unary, domain=KF),
    OpCase("leaky_relu_0.2", lambda x: x.leaky_relu(0.2), lambda x: _torch_f().leaky_relu(x, 0.2),
           ops=("LeakyReLU",), family=A, samples=UNARY, domain=KF),
    OpCase("gelu", lambda x: x.gelu(), lambda x: _torch_f().gelu(x), ops=("GELU",), family=A,
           samples=UNARY, shapes=unary),
    OpCase("gelu_tanh", lambda x: x.gelu(approximate="tanh"), lambda x: _torch_f().gelu(x, approximate="tanh"),
           ops=("GELU",), family=A, samples=UNARY, shapes=unary),
    # reductions
    OpCase("sum", lambda x: x.sum(), ops=("Sum",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("sum_dim", lambda x: x.sum(-1), ops=("Sum",), family=R, samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("sum_dims_keepdim", lambda x: x.sum((0, -1), keepdim=True), ops=("Sum",), family=R,
           samples=REDUCE_DIMS, shapes=lambda: unary(2)),
    OpCase("nansum", lambda x: x.nansum(), ops=("Nansum",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("nansum_dims_keepdim", lambda x: x.nansum((0, -1), keepdim=True), ops=("Nansum",), family=R,
           samples=REDUCE_DIMS),
    OpCase("mean", lambda x: x.mean(), ops=("Mean",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("mean_dim", lambda x: x.mean(0), ops=("Mean",), family=R, samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("mean_dims_keepdim", lambda x: x.mean((0, 1), keepdim=True), ops=("Mean",), family=R,
           samples=REDUCE_DIMS),
    OpCase("var", lambda x: x.var(), ops=("Var",), family=R, samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("var_dim", lambda x: x.var(-1), ops=("Var",), family=R, samples=REDUCE_DIM),
    OpCase("var_biased", lambda x: x.var(0, unbiased=False), ops=("Var",), family=R, samples=REDUCE_DIM),
    OpCase("var_correction0_keepdim", lambda x: x.var((0, -1), keepdim=True, correction=0), ops=("Var",),
           family=R, samples=REDUCE_DIMS),
    OpCase("std", lambda x: x.std(), ops=("Std",), family=R, samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("std_dim_keepdim", lambda x: x.std(-1, keepdim=True, unbiased=False), ops=("Std",),
           family=R, samples=REDUCE_DIM),
    OpCase("logsumexp", lambda x: x.logsumexp(-1), ops=("LogSumExp",), family=R, samples=REDUCE_DIM,
           shapes=lambda: unary(1)),
    OpCase("logsumexp_dims", lambda x: x.logsumexp((0, 1)), ops=("LogSumExp",), family=R, samples=REDUCE_DIMS),
    OpCase("logsumexp_keepdim", lambda x: x.logsumexp(0, keepdim=True), ops=("LogSumExp",), family=R,
           samples=REDUCE_DIM),
    OpCase("amax", lambda x: x.amax(), ops=("Amax",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("amax_dims", lambda x: x.amax((0, -1), keepdim=True), ops=("Amax",), family=R, samples=REDUCE_DIMS),
    OpCase("amax_ties", lambda x: x.amax(-1), ops=("Amax",), family=R, samples=REDUCE_DIM,
           shapes=lambda: unary(1), domain=TIES, gradcheck=False),
    OpCase("amin", lambda x: x.amin(0), ops=("Amin",), family=R, samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("amin_ties", lambda x: x.amin(), ops=("Amin",), family=R, samples=REDUCE_ALL, shapes=unary,
           domain=TIES, gradcheck=False),
    OpCase("max", lambda x: x.max(), ops=("Max",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("max_ties", lambda x: x.max(), ops=("Max",), family=R, samples=REDUCE_ALL, shapes=unary,
           domain=TIES, gradcheck=False),
    OpCase("min_ties", lambda x: x.min(), ops=("Min",), family=R, samples=REDUCE_ALL, domain=TIES,
           gradcheck=False),
    OpCase("max_dim", lambda x: tuple(x.max(dim=-1)), ops=("Gather", "ScatterAdd"), family=R,
           samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("max_dim_ties", lambda x: tuple(x.max(0, keepdim=True)), ops=("Gather",), family=R,
           samples=REDUCE_DIM, shapes=lambda: unary(1), domain=TIES, gradcheck=False),
    OpCase("min_dim_ties", lambda x: tuple(x.min(dim=1)), ops=("Gather",), family=R, samples=REDUCE_DIMS,
           domain=TIES, gradcheck=False),
    OpCase("argmax", lambda x: x.argmax(), forward_only=True, family=R, samples=REDUCE_ALL, shapes=unary,
           domain=TIES),
    OpCase("argmax_dim", lambda x: x.argmax(-1), forward_only=True, family=R, samples=REDUCE_DIM, domain=TIES),
    OpCase("argmin_dim_keepdim", lambda x: x.argmin(0, keepdim=True), forward_only=True, family=R,
           samples=REDUCE_DIM, shapes=lambda: unary(1), domain=TIES),
    OpCase("argmin", lambda x: x.argmin(), forward_only=True, family=R, samples=REDUCE_ALL, domain=TIES),
    # softmax family (ops/loss.py)
    OpCase("softmax", lambda x: x.softmax(-1), ops=("Softmax",), family=S, samples=REDUCE_ALL,
           shapes=unary),
    OpCase("softmax_dim0", lambda x: x.softmax(0), ops=("Softmax",), family=S, samples=REDUCE_DIM),
    OpCase("log_softmax", lambda x: x.log_softmax(-1), ops=("LogSoftmax",), family=S, samples=REDUCE_ALL,
           shapes=unary),
    OpCase("log_softmax_dim0", lambda x: x.log_softmax(0), ops=("LogSoftmax",), family=S, samples=REDUCE_DIM),
    # shape
    OpCase("reshape", lambda x: x.reshape(2, -1), ops=("Reshape",), family=M,
           samples=(((2, 3),), ((4, 3),), ((2, 1, 5),))),
    OpCase("reshape_flat", lambda x: x.reshape(-1), ops=("Reshape",), family=M, samples=UNARY, shapes=unary),
    OpCase("view", lambda x: x.view(-1, 2), ops=("Reshape",), family=M, samples=(((3, 4),), ((2, 2),)),
           layouts=("contiguous",)),
    OpCase("flatten", lambda x: x.flatten(), ops=("Reshape",), family=M, samples=UNARY, shapes=unary),
    OpCase("flatten_from_1", lambda x: x.flatten(1), ops=("Reshape",), family=M, samples=REDUCE_DIMS,
           shapes=lambda: unary(2)),
    OpCase("flatten_0_1", lambda x: x.flatten(0, 1), ops=("Reshape",), family=M, samples=REDUCE_DIMS),
    OpCase("transpose", lambda x: x.transpose(0, -1), ops=("Permute",), family=M, samples=REDUCE_DIM,
           shapes=lambda: unary(1)),
    OpCase("permute", lambda x: x.permute(2, 0, 1), ops=("Permute",), family=M, samples=(((2, 3, 4),), ((1, 3, 1),))),
    OpCase("T", lambda x: x.T, ops=("Permute",), family=M, samples=(((3, 4),), ((1, 5),))),
    OpCase("unsqueeze", lambda x: x.unsqueeze(0), ops=("Reshape",), family=M, samples=UNARY, shapes=unary),
    OpCase("unsqueeze_last", lambda x: x.unsqueeze(-1), ops=("Reshape",), family=M, samples=UNARY),
    OpCase("squeeze", lambda x: x.squeeze(), ops=("Reshape",), family=M,
           samples=(((1, 3, 1),), ((2, 1),), ((1,),), ((3,),))),
    OpCase("squeeze_dim", lambda x: x.squeeze(1), ops=("Reshape",), family=M, samples=(((3, 1, 2),), ((2, 3),))),
    OpCase("expand", lambda x: x.expand(2, 3, 4), ops=("Expand", "SumTo"), family=M,
           samples=(((3, 1),), ((1, 4),), ((4,),), ((),), ((3, 4),))),
    OpCase("expand_keep", lambda x: x.expand(2, -1, -1), ops=("Expand",), family=M, samples=(((3, 4),), ((1, 4),))),
    OpCase("sum_to", lambda x: x.sum_to((1, 4)), lambda x: x.sum(0, keepdim=True), ops=("SumTo", "Expand"),
           family=M, samples=(((3, 4),), ((1, 4),))),
    # indexing: ints, slices, None, ..., integer arrays/tensors, masks; repeated indices add up
    OpCase("index_int", lambda x: x[1], ops=("GetItem", "IndexAccumulate"), family=M,
           samples=(((3,),), ((3, 4),), ((2, 3, 2),))),
    OpCase("index_slice", lambda x: x[1:3], ops=("GetItem",), family=M, samples=(((4,),), ((3, 4),))),
    OpCase("index_step", lambda x: x[::2, 1:], ops=("GetItem",), family=M, samples=(((5, 3),), ((2, 2),))),
    OpCase("index_negative", lambda x: x[-1, -2:], ops=("GetItem",), family=M, samples=(((3, 4),),)),
    OpCase("index_none_ellipsis", lambda x: x[:, None, ..., 0], ops=("GetItem",), family=M,
           samples=(((3, 4),), ((2, 3, 4),))),
    OpCase("index_ellipsis_none", lambda x: x[..., None], ops=("GetItem",), family=M, samples=UNARY),
    OpCase("index_list_repeated", lambda x: x[[0, 0, 2]], ops=("GetItem", "IndexAccumulate"), family=M,
           samples=(((3,),), ((3, 4),))),
    OpCase("index_array_2d", lambda x: x[INDEX_2D], ops=("GetItem",), family=M, samples=(((2, 3),), ((3,),))),
    OpCase("index_columns_repeated", lambda x: x[:, [2, 0, 2]], ops=("GetItem",), family=M,
           samples=(((3, 4),), ((2, 3, 2),))),
    OpCase("index_pairs", lambda x: x[[0, 1, 1], [1, 1, 2]], ops=("GetItem",), family=M, samples=(((3, 4),),)),
    OpCase("index_tensor", lambda x: x[tg.tensor([2, 0, 2])], lambda x: x[torch.tensor([2, 0, 2])],
           ops=("GetItem",), family=M, samples=(((3,),), ((4, 2),))),
    OpCase("index_mask", lambda x: x[x > 0], ops=("GetItem",), family=M, samples=UNARY[1:], shapes=lambda: unary(1)),
    OpCase("index_mask_rows", lambda x, m: x[m.sum(-1) > 0], ops=("GetItem",), family=M,
           samples=(((4, 3), (4, 3)),)),
    # joining and splitting
    OpCase("cat", lambda x, y: tg.cat([x, y], 0), lambda x, y: torch.cat([x, y], 0), ops=("Cat",), family=M,
           samples=(((2, 3), (4, 3)), ((3,), (2,)), ((1, 2, 2), (2, 2, 2)))),
    OpCase("cat_dim1_three", lambda x, y, z: tg.cat([x, y, z], dim=-1), lambda x, y, z: torch.cat([x, y, z], dim=-1),
           ops=("Cat",), family=M, samples=(((2, 3), (2, 1), (2, 2)),)),
    OpCase("stack", lambda x, y: tg.stack([x, y]), lambda x, y: torch.stack([x, y]), ops=("Stack",), family=M,
           samples=(((2, 3), (2, 3)), ((), ()), ((4,), (4,)))),
    OpCase("stack_last", lambda x, y, z: tg.stack([x, y, z], dim=-1), lambda x, y, z: torch.stack([x, y, z], dim=-1),
           ops=("Stack",), family=M, samples=(((2, 3),) * 3,)),
    OpCase("chunk", lambda x: x.chunk(3, 1), ops=("GetItem",), family=M, samples=(((2, 7),), ((2, 6),), ((3, 2),))),
    OpCase("split", lambda x: x.split(2), ops=("GetItem",), family=M, samples=(((5, 2),), ((4,),))),
    OpCase("split_sizes", lambda x: x.split([1, 3], -1), ops=("GetItem",), family=M, samples=(((2, 4),), ((4,),))),
    OpCase("gather", lambda x: x.gather(1, GATHER_INDEX), lambda x: x.gather(1, torch.from_numpy(GATHER_INDEX)),
           ops=("Gather", "ScatterAdd"), family=M, samples=(((3, 4),),)),
    OpCase("pad", lambda x: tg.nn.functional.pad(x, _pad_arg(x.ndim)), lambda x: _torch_f().pad(x, _pad_arg(x.ndim)),
           ops=("Pad",), family=M, samples=(((3,),), ((2, 3),), ((2, 1, 2),))),
    OpCase("pad_value", lambda x: tg.nn.functional.pad(x, (2, 0), value=1.5),
           lambda x: _torch_f().pad(x, (2, 0), value=1.5), ops=("Pad",), family=M, samples=(((2, 3),),)),
    # edge cases: 0-d tensors with dim arguments, empty tensors, integer inputs, nan/inf results
    OpCase("zero_dim_with_dims", lambda x: (x.sum(0), x.mean(-1), x.amax(0), *x.max(0), x.logsumexp(0), x.softmax(0),
                                            x.log_softmax(-1), x.squeeze(0), x.unsqueeze(-1), x[None], x[...], x.T),
           family=R, samples=(((),),)),
    OpCase("empty", lambda x: (x.sum(0), x.sum(), x.mean(1), x.softmax(0), x.logsumexp(0), x.reshape(3, 0), x + 1),
           family=R, samples=(((0, 3),),), gradcheck=False),
    OpCase("matmul_empty", lambda x, w: x @ w, ops=("MatMul",), family=L,
           samples=(((2, 0), (0, 3)), ((0, 2, 3), (3, 4))), gradcheck=False),
    OpCase("cat_empty", lambda x, y: tg.cat([x, y]), lambda x, y: torch.cat([x, y]), ops=("Cat",), family=M,
           samples=(((0, 3), (2, 3)),), gradcheck=False),
    OpCase("int_to_float_functions", lambda i: (i.exp(), i.log(), i.sqrt(), i.sin(), i.cos(), i.erf(), i.tanh(),
                                                i.sigmoid(), i.logsumexp(0), i.clamp(0.5, 1.5), i / 2, i ** 0.5),
           forward_only=True, samples=(((3, 4),),), domain="int"),
    OpCase("int_stays_int", lambda i: (i + i, i * 2, -i, i ** 2, i.abs(), i.relu(), i.sum(), i.amax(0), i.max(),
                                       i @ i.T, i.clamp(0, 1), i[1:], i.reshape(-1)),
           forward_only=True, samples=(((3, 4),),), domain="int"),
    OpCase("nan_and_inf", lambda x: (x.log(), (x * 0).sqrt(), x / (x * 0), x.var(0)), family=E,
           samples=(((1, 4),), ((3,),)), gradcheck=False, gradgrad=False),
    # matrix product
    OpCase("matmul", lambda x, w: x @ w, ops=("MatMul",), family=L, samples=MATMUL, shapes=matmul_shapes),
    OpCase("matmul_method", lambda x, w: x.matmul(w), ops=("MatMul",), family=L, samples=MATMUL[3:4]),
    OpCase("matmul_large", lambda x, w: x @ w, ops=("MatMul",), family=L, gradcheck=False,
           samples=(((33, 65), (65, 17)), ((2, 17, 40), (40, 9)), ((70,), (70, 3)))),  # block edges of C kernels
)  # fmt: skip

# ---- convolution and pooling (ops/conv.py), fused losses (ops/loss.py), Unbind -------------
CONV = "conv"
CE_TARGET = np.array([2, 0, 3])  # class indices for logits of shape (3, 4)


def _tf() -> Any:
    return torch.nn.functional


OP_TABLE += (
    OpCase("conv2d", lambda x, w: tg.nn.functional.conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
           lambda x, w: _tf().conv2d(x, w, stride=(2, 1), padding=1, dilation=(1, 2)),
           ops=("Conv2d", "Conv2dGradInput", "Conv2dGradWeight"), family=CONV,
           samples=(((2, 3, 5, 6), (4, 3, 3, 2)), ((1, 1, 4, 4), (2, 1, 1, 1)))),
    OpCase("conv1d", lambda x, w: tg.nn.functional.conv1d(x, w, stride=2, padding=1),
           lambda x, w: _tf().conv1d(x, w, stride=2, padding=1), ops=("Conv2d",), family=CONV,
           samples=(((2, 3, 7), (4, 3, 3)),)),
    OpCase("max_pool2d", lambda x: tg.nn.functional.max_pool2d(x, 2, 1, padding=1),
           lambda x: _tf().max_pool2d(x, 2, 1, padding=1), ops=("MaxPool2d", "MaxPool2dGrad"), family=CONV,
           samples=(((2, 3, 4, 5),),)),
    OpCase("avg_pool2d", lambda x: tg.nn.functional.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False),
           lambda x: _tf().avg_pool2d(x, 3, 2, padding=1, count_include_pad=False),
           ops=("AvgPool2d", "AvgPool2dGrad"), family=CONV, samples=(((2, 3, 5, 6),),)),
    OpCase("cross_entropy_fused", lambda x: ops.CrossEntropy.apply(x, target=CE_TARGET),
           lambda x: _tf().cross_entropy(x, torch.from_numpy(CE_TARGET), reduction="none"),
           ops=("CrossEntropy",), family=S, samples=(((3, 4),),)),
    OpCase("binary_cross_entropy_fused", lambda x, y: ops.BinaryCrossEntropy.apply(x, y),
           lambda x, y: _tf().binary_cross_entropy(x, y, reduction="none"),
           ops=("BinaryCrossEntropy",), family=S, samples=(((3, 4), (3, 4)), ((), ())), domain="probability"),
    OpCase("bce_with_logits_fused", lambda x, y, p: ops.BCEWithLogits.apply(x, y, p),
           lambda x, y, p: (1 - y) * x + (1 + (p - 1) * y) * _tf().softplus(-x),  # torch: no grad for pos_weight
           ops=("BCEWithLogits",), family=S, samples=(((3, 4), (3, 4), (3, 4)),),
           domain=("real", "unit", "positive")),
    OpCase("unbind", lambda x: ops.Unbind.apply(x, dim=1), lambda x: x.unbind(1), ops=("Unbind", "Stack"),
           family=M, samples=(((2, 3, 2),), ((4, 1),))),
)  # fmt: skip

# ---- recurrent ops (ops/recurrent.py): the fused LSTM cell and the whole-sequence LSTM layer ----
from tinygrad_edu.ops.recurrent import gru_cell_composite, lstm_cell_composite  # noqa: E402 - append-only table


def _torch_lstm_layer(x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:
    """LSTMLayer written with torch ops: the cell composite (duck-typed) step by step."""
    h, c, ys = h0, c0, []
    for x_t in x.unbind(0):
        h, c = lstm_cell_composite(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh, c)
        ys.append(h)
    return torch.stack(ys), h, c


def _torch_rnn_layer(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:
    """RNNLayer (tanh) written with torch ops step by step."""
    h, ys = h0, []
    for x_t in x.unbind(0):
        h = (x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh).tanh()
        ys.append(h)
    return torch.stack(ys), h


def _torch_gru_layer(x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:
    """GRULayer written with torch ops: the cell composite (duck-typed) step by step."""
    h, ys = h0, []
    for x_t in x.unbind(0):
        h = gru_cell_composite(x_t @ w_ih.T + b_ih, h @ w_hh.T + b_hh, h)
        ys.append(h)
    return torch.stack(ys), h


OP_TABLE += (
    OpCase("lstm_cell", lambda z, c: ops.LSTMCell.apply(z, c), lstm_cell_composite, ops=("LSTMCell",),
           family="recurrent", samples=(((3, 8), (3, 2)), ((1, 4), (1, 1)), ((2, 20), (2, 5)))),
    OpCase("lstm_layer", lambda *a: ops.LSTMLayer.apply(*a), _torch_lstm_layer, ops=("LSTMLayer", "LSTMCell"),
           family="recurrent", samples=(((3, 2, 4), (2, 5), (2, 5), (20, 4), (20, 5), (20,), (20,)),),
           layouts=("contiguous", "transposed")),
    OpCase("gru_cell", lambda x, h, p: ops.GRUCell.apply(x, h, p), gru_cell_composite, ops=("GRUCell",),
           family="recurrent",
           samples=(((3, 6), (3, 6), (3, 2)), ((1, 3), (1, 3), (1, 1)), ((2, 15), (2, 15), (2, 5)))),
    OpCase("rnn_layer", lambda *a: ops.RNNLayer.apply(*a), _torch_rnn_layer, ops=("RNNLayer",), family="recurrent",
           samples=(((3, 2, 4), (2, 5), (5, 4), (5, 5), (5,), (5,)),), layouts=("contiguous", "transposed")),
    OpCase("gru_layer", lambda *a: ops.GRULayer.apply(*a), _torch_gru_layer, ops=("GRULayer", "GRUCell"),
           family="recurrent", samples=(((3, 2, 4), (2, 5), (15, 4), (15, 5), (15,), (15,)),),
           layouts=("contiguous", "transposed")),
)  # fmt: skip

# ---- fused dense layer and softmax-cross-entropy (ops/linalg.py Linear, ops/loss.py CrossEntropy) ----
CE_WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])  # class weights for logits with 4 classes
CE_IGNORED = np.array([2, -100, 3])  # the middle row is ignored (ignore_index=-100, the default)


@st.composite
def linear_shapes(draw: st.DrawFn) -> Sample:
    """x (…, in), W (out, in), b (out,): 0 to 2 leading dims, sizes 1..4."""
    batch = draw(tst.shapes(0, 2, 1, 4))
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return (*batch, n_in), (n_out, n_in), (n_out,)


def logit_shapes() -> st.SearchStrategy[Sample]:
    """Logits (rows, classes), both 1..5 (one class and one row included)."""
    return tst.shapes(2, 2, 1, 5).map(lambda s: (s,))


def _cyclic_targets(x: Any) -> np.ndarray:
    """Class indices 0, 1, … (mod classes), one per row of x (N, C): a target for any drawn shape."""
    return np.arange(x.shape[0]) % x.shape[1]


def _torch_targets(x: Any, targets: np.ndarray | None = None) -> Any:
    return torch.from_numpy(_cyclic_targets(x) if targets is None else targets)


def _torch_weight(x: Any) -> Any:
    return torch.from_numpy(CE_WEIGHT).to(x.dtype)


LINEAR_SAMPLES: tuple[Sample, ...] = (
    ((5, 4), (3, 4), (3,)), ((4,), (3, 4), (3,)), ((2, 3, 4), (2, 4), (2,)), ((1, 1), (1, 1), (1,)),
)  # fmt: skip
TF = tg.nn.functional

OP_TABLE += (
    OpCase("linear", lambda x, w, b: TF.linear(x, w, b), lambda x, w, b: _tf().linear(x, w, b), ops=("Linear",),
           family=L, samples=LINEAR_SAMPLES, shapes=linear_shapes),
    OpCase("linear_no_bias", lambda x, w: TF.linear(x, w), lambda x, w: _tf().linear(x, w), ops=("Linear",),
           family=L, samples=tuple(s[:2] for s in LINEAR_SAMPLES)),
    OpCase("linear_relu_fused", lambda x, w, b: ops.Linear.apply(x, w, b, activation="relu"),
           lambda x, w, b: _tf().linear(x, w, b).relu(), ops=("Linear",), family=L, samples=LINEAR_SAMPLES,
           shapes=linear_shapes),
    OpCase("linear_large", lambda x, w, b: TF.linear(x, w, b), lambda x, w, b: _tf().linear(x, w, b),
           ops=("Linear",), family=L, gradcheck=False, samples=(((33, 65), (17, 65), (17,)),)),
    OpCase("cross_entropy_mean", lambda x: TF.cross_entropy(x, _cyclic_targets(x)),
           lambda x: _tf().cross_entropy(x, _torch_targets(x)), ops=("CrossEntropy",), family=S,
           samples=(((3, 4),), ((1, 1),), ((5, 2),)), shapes=logit_shapes),
    OpCase("cross_entropy_sum_weighted_ignored",
           lambda x: TF.cross_entropy(x, CE_IGNORED, weight=tg.tensor(CE_WEIGHT), reduction="sum"),
           lambda x: _tf().cross_entropy(x, _torch_targets(x, CE_IGNORED), weight=_torch_weight(x), reduction="sum"),
           ops=("CrossEntropy",), family=S, samples=(((3, 4),),)),
    OpCase("cross_entropy_mean_weighted_smoothing",
           lambda x: TF.cross_entropy(x, CE_IGNORED, weight=tg.tensor(CE_WEIGHT), label_smoothing=0.2),
           lambda x: _tf().cross_entropy(x, _torch_targets(x, CE_IGNORED), weight=_torch_weight(x),
                                         label_smoothing=0.2),
           ops=("CrossEntropy",), family=S, samples=(((3, 4),),)),
    OpCase("cross_entropy_none_smoothing", lambda x: TF.cross_entropy(x, _cyclic_targets(x), reduction="none",
                                                                      label_smoothing=0.3),
           lambda x: _tf().cross_entropy(x, _torch_targets(x), reduction="none", label_smoothing=0.3),
           ops=("CrossEntropy",), family=S, samples=(((3, 4),), ((2, 1),)), shapes=logit_shapes),
)  # fmt: skip

# ---- grouped convolution and ceil_mode / divisor pooling (ops/conv.py) ----------------------


@st.composite
def grouped_conv_shapes(draw: st.DrawFn) -> Sample:
    """x (N, G·c, H, W) and w (G·o, c, k, k) for G = 1..3 groups (c = 1 and G = C: depthwise)."""
    groups, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    n, h, w, k = draw(st.integers(1, 2)), draw(st.integers(2, 6)), draw(st.integers(2, 6)), draw(st.integers(1, 3))
    return (n, groups * c, h, w), (groups * o, c, k, k)


def pool_shapes() -> st.SearchStrategy[Sample]:
    """One (N, C, H, W) input with sides 1..7 (a 3-wide window with padding 1 fits every size)."""
    return tst.shapes(4, 4, 1, 7).map(lambda s: (s,))


def _grouped_conv(lib: Any) -> Callable[..., Any]:
    """conv2d with groups = C_in / C_w (read off the shapes), padding 1, stride 2 along W."""
    return lambda x, w: lib.conv2d(x, w, stride=(1, 2), padding=1, groups=x.shape[1] // w.shape[1])


POOL_SAMPLES: tuple[Sample, ...] = (((2, 3, 6, 5),), ((1, 1, 4, 4),), ((1, 2, 1, 7),))

OP_TABLE += (
    OpCase("conv2d_groups", _grouped_conv(TF), lambda x, w: _grouped_conv(_tf())(x, w),
           ops=("Conv2d", "Conv2dGradInput", "Conv2dGradWeight"), family=CONV,
           samples=(((2, 4, 5, 6), (6, 2, 3, 2)), ((1, 3, 5, 5), (3, 1, 3, 3)), ((1, 3, 4, 4), (6, 1, 2, 2))),
           shapes=grouped_conv_shapes),
    OpCase("conv1d_depthwise", lambda x, w: TF.conv1d(x, w, padding=1, groups=4),
           lambda x, w: _tf().conv1d(x, w, padding=1, groups=4), ops=("Conv2d",), family=CONV,
           samples=(((2, 4, 7), (8, 1, 3)),)),
    OpCase("max_pool2d_ceil", lambda x: TF.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
           lambda x: _tf().max_pool2d(x, 3, 2, padding=1, ceil_mode=True), ops=("MaxPool2d", "MaxPool2dGrad", "Pad"),
           family=CONV, samples=POOL_SAMPLES, shapes=pool_shapes),
    OpCase("avg_pool2d_ceil", lambda x: TF.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True),
           lambda x: _tf().avg_pool2d(x, 3, 2, padding=1, ceil_mode=True), ops=("AvgPool2d", "AvgPool2dGrad"),
           family=CONV, samples=POOL_SAMPLES, shapes=pool_shapes),
    OpCase("avg_pool2d_ceil_exclude_pad", lambda x: TF.avg_pool2d(x, 2, 3, ceil_mode=True, count_include_pad=False),
           lambda x: _tf().avg_pool2d(x, 2, 3, ceil_mode=True, count_include_pad=False),
           ops=("AvgPool2d", "AvgPool2dGrad"), family=CONV, samples=POOL_SAMPLES[:2]),
    OpCase("avg_pool2d_divisor_override", lambda x: TF.avg_pool2d(x, 2, 1, padding=1, divisor_override=3),
           lambda x: _tf().avg_pool2d(x, 2, 1, padding=1, divisor_override=3),
           ops=("AvgPool2d", "AvgPool2dGrad"), family=CONV, samples=POOL_SAMPLES[:2]),
)  # fmt: skip

# ---- F.pad modes and cropping (GetItem gathers, Pad), the p-norm (ops/reduce.py Norm), F.normalize ----


def _pad_modes(lib: Any, mode: str, widths: tuple[int, ...]) -> Callable[..., Any]:
    return lambda x: lib.pad(x, widths, mode=mode)


PAD_WIDTHS = (2, 1, 1, 0)  # last dim by (2, 1), the one before by (1, 0)
PAD_SAMPLES: tuple[Sample, ...] = (((2, 3, 4),), ((1, 2, 3, 3),))

OP_TABLE += (
    *(OpCase(f"pad_{mode}", _pad_modes(TF, mode, PAD_WIDTHS), lambda x, m=mode: _pad_modes(_tf(), m, PAD_WIDTHS)(x),
             ops=("GetItem", "IndexAccumulate"), family=M, samples=PAD_SAMPLES)
      for mode in ("reflect", "replicate", "circular")),
    OpCase("pad_reflect_crop", _pad_modes(TF, "reflect", (-1, 2)), lambda x: _pad_modes(_tf(), "reflect", (-1, 2))(x),
           ops=("GetItem",), family=M, samples=(((2, 4),), ((1, 2, 3),))),
    OpCase("pad_circular_crop", _pad_modes(TF, "circular", (2, -1, -1, 1)),
           lambda x: _pad_modes(_tf(), "circular", (2, -1, -1, 1))(x), ops=("GetItem",), family=M,
           samples=(((2, 3, 4),),)),
    OpCase("pad_constant_crop", _pad_modes(TF, "constant", (-1, 2, 1, -2)),
           lambda x: _pad_modes(_tf(), "constant", (-1, 2, 1, -2))(x), ops=("GetItem", "Pad"), family=M,
           samples=(((3, 4),), ((2, 3, 3),))),
    OpCase("norm", lambda x: x.norm(), ops=("Norm",), family=R, samples=REDUCE_ALL[1:], shapes=lambda: unary(1)),
    OpCase("norm_p1_dim", lambda x: x.norm(1, -1), ops=("Norm",), family=R, samples=REDUCE_DIM, domain=KF),
    OpCase("norm_p3_dims_keepdim", lambda x: x.norm(3, (0, -1), keepdim=True), ops=("Norm",), family=R,
           samples=REDUCE_DIMS),
    OpCase("norm_p1.5", lambda x: x.norm(1.5, 0), ops=("Norm",), family=R, samples=REDUCE_DIM),
    OpCase("norm_inf", lambda x: x.norm(float("inf"), -1), ops=("Amax",), family=R, samples=REDUCE_DIM),
    # Along a dim of size 1, y = x/|x| = ±1 and the gradient g/|x| − x(x·g)/|x|³ is 0 by cancellation:
    # float32 leaves ε·|g|/|x| (2⁻¹⁶ at |x| ≈ 0.01). Values |x| ≥ 0.05 (kink_free) and atol 1e-4 bound it.
    OpCase("normalize", lambda x: TF.normalize(x), lambda x: _tf().normalize(x), ops=("Norm", "Clamp", "Div"),
           family=R, samples=(((3, 4),), ((2, 3, 2),), ((1, 1),)), shapes=lambda: unary(2), domain=KF,
           tol32=(1e-4, 1e-4)),
    OpCase("normalize_p1_dim0", lambda x: TF.normalize(x, 1.0, 0), lambda x: _tf().normalize(x, 1.0, 0),
           ops=("Norm",), family=R, samples=(((3, 4),), ((2, 3, 2),)), domain=KF),
)  # fmt: skip

OP_TABLE += (  # 1-d pooling: the 2-d ops with a unit height
    OpCase("max_pool1d_ceil", lambda x: TF.max_pool1d(x, 3, 2, 1, ceil_mode=True),
           lambda x: _tf().max_pool1d(x, 3, 2, 1, ceil_mode=True), ops=("MaxPool2d", "MaxPool2dGrad"), family=CONV,
           samples=(((2, 3, 6),), ((3, 4),))),
    OpCase("avg_pool1d_ceil_exclude_pad", lambda x: TF.avg_pool1d(x, 3, 2, 1, True, False),
           lambda x: _tf().avg_pool1d(x, 3, 2, 1, True, False), ops=("AvgPool2d", "AvgPool2dGrad"), family=CONV,
           samples=(((2, 3, 6),), ((3, 4),))),
)  # fmt: skip

MATRICES: tuple[Sample, ...] = (((3, 4),), ((4, 3),), ((2, 3, 3),), ((1, 1),))


def _torch_index(values: list[int]) -> Any:
    return torch.tensor(values)


OP_TABLE += (  # products, running sums, reordering, tiling, triangles, sorting
    OpCase("prod", lambda x: x.prod(), ops=("Prod",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("prod_dim", lambda x: x.prod(-1), ops=("Prod",), family=R, samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("prod_dim_keepdim", lambda x: x.prod(0, keepdim=True), ops=("Prod",), family=R, samples=REDUCE_DIM),
    # small integers: zeros in the input, one or several per slice
    OpCase("prod_with_zeros", lambda x: x.prod(-1), ops=("Prod",), family=R, samples=REDUCE_DIM, domain=TIES),
    OpCase("cumsum", lambda x: x.cumsum(-1), ops=("Cumsum", "Flip"), family=R, samples=REDUCE_DIM,
           shapes=lambda: unary(1)),
    OpCase("cumsum_dim0", lambda x: x.cumsum(0), ops=("Cumsum",), family=R, samples=UNARY),
    OpCase("flip", lambda x: x.flip(0), ops=("Flip",), family=M, samples=UNARY, shapes=unary),
    OpCase("flip_dims", lambda x: x.flip((0, -1)), ops=("Flip",), family=M, samples=REDUCE_DIMS),
    OpCase("roll_flat", lambda x: x.roll(2), ops=("Roll",), family=M, samples=UNARY),
    OpCase("roll_dims", lambda x: x.roll((1, -3), (0, -1)), ops=("Roll",), family=M, samples=REDUCE_DIMS),
    OpCase("repeat", lambda x: x.repeat(2, 1, 3), ops=("Repeat",), family=M, samples=(*UNARY[:4], ((2, 1, 3),))),
    OpCase("repeat_new_dims", lambda x: x.repeat(2, 1, 2, 1), ops=("Repeat",), family=M, samples=REDUCE_DIMS),
    OpCase("tril", lambda x: x.tril(), ops=("Tril",), family=M, samples=MATRICES),
    OpCase("tril_below", lambda x: x.tril(-1), ops=("Tril",), family=M, samples=MATRICES),
    OpCase("triu_above", lambda x: x.triu(1), ops=("Triu",), family=M, samples=MATRICES),
    OpCase("index_select", lambda x: x.index_select(-1, [2, 0, 2]),
           lambda x: x.index_select(-1, _torch_index([2, 0, 2])), ops=("GetItem", "IndexAccumulate"), family=M,
           samples=(((3,),), ((2, 3),), ((2, 1, 4),))),
    OpCase("sort", lambda x: x.sort(), ops=("Gather", "ScatterAdd"), family=M, samples=REDUCE_DIM),
    OpCase("sort_descending_stable_ties", lambda x: x.sort(0, descending=True),
           lambda x: x.sort(dim=0, descending=True, stable=True), ops=("Gather",), family=M, samples=REDUCE_DIM,
           domain=TIES, gradcheck=False),
    OpCase("topk", lambda x: x.topk(2), ops=("Gather", "ScatterAdd"), family=M, samples=REDUCE_DIM[1:]),
    OpCase("topk_smallest_dim0", lambda x: x.topk(1, 0, largest=False), ops=("Gather",), family=M,
           samples=REDUCE_DIM),
)  # fmt: skip

SCATTER_INDEX = np.array([[0, 2], [1, 3], [3, 0]])  # for (3, 4) along dim 1; no repeats: each write is kept

OP_TABLE += (  # scatter: writes (the overwritten elements of x get no gradient) and adds
    OpCase("scatter", lambda x, s: x.scatter(1, SCATTER_INDEX, s),
           lambda x, s: x.scatter(1, _torch_index(SCATTER_INDEX.tolist()), s), ops=("Scatter", "Gather"), family=M,
           samples=(((3, 4), (3, 2)),)),
    OpCase("scatter_value", lambda x: x.scatter(1, SCATTER_INDEX, value=2.0),
           lambda x: x.scatter(1, _torch_index(SCATTER_INDEX.tolist()), value=2.0), ops=("Scatter",), family=M,
           samples=(((3, 4),),)),
    OpCase("scatter_add", lambda x, s: x.scatter_add(1, GATHER_INDEX, s),
           lambda x, s: x.scatter_add(1, _torch_index(GATHER_INDEX.tolist()), s), ops=("ScatterAdd", "Gather"),
           family=M, samples=(((3, 4), (3, 2)),)),
)  # fmt: skip

OP_TABLE += (  # near 0 and 1: log1p expm1 rsqrt reciprocal; steps (gradient 0); matrix products with checks
    OpCase("log1p", lambda x: x.log1p(), ops=("Log1p",), samples=UNARY, shapes=unary, domain="unit"),
    OpCase("expm1", lambda x: x.expm1(), ops=("Expm1",), samples=UNARY, shapes=unary),
    OpCase("rsqrt", lambda x: x.rsqrt(), ops=("Rsqrt",), samples=UNARY, shapes=unary, domain=POS),
    OpCase("reciprocal", lambda x: x.reciprocal(), ops=("Reciprocal",), samples=UNARY, shapes=unary, domain=POS),
    OpCase("square", lambda x: x.square(), ops=("Mul",), samples=UNARY, shapes=unary),
    *(OpCase(kind, lambda x, kind=kind: getattr(x, kind)(), ops=(kind.capitalize(),), samples=UNARY, shapes=unary,
             domain=KF) for kind in ("floor", "ceil", "round", "trunc", "sign")),
    OpCase("mm", lambda x, w: x.mm(w), ops=("MatMul",), family=L, samples=(((2, 3), (3, 4)), ((1, 1), (1, 1)))),
    OpCase("bmm", lambda x, w: x.bmm(w), ops=("MatMul",), family=L, samples=(((2, 3, 4), (2, 4, 5)),)),
    OpCase("mv", lambda x, w: x.mv(w), ops=("MatMul",), family=L, samples=(((2, 3), (3,)),)),
    OpCase("dot", lambda x, w: x.dot(w), ops=("MatMul",), family=L, samples=(((3,), (3,)), ((1,), (1,)))),
    OpCase("outer", lambda x, w: x.outer(w), ops=("Mul", "Expand"), family=L, samples=(((3,), (4,)), ((1,), (2,)))),
    OpCase("diag_of_vector", lambda x: x.diag(), ops=("Where",), family=M, samples=(((3,),), ((1,),))),
    OpCase("diag_of_vector_offset", lambda x: x.diag(-2), ops=("Where", "Cat"), family=M, samples=(((3,),),)),
    OpCase("diag_of_matrix", lambda x: x.diag(1), ops=("GetItem", "IndexAccumulate"), family=M,
           samples=(((3, 4),), ((4, 3),))),
    OpCase("index_add", lambda x, s: x.index_add(1, [2, 0, 2], s),
           lambda x, s: x.index_add(1, _torch_index([2, 0, 2]), s), ops=("ScatterAdd", "Gather"), family=M,
           samples=(((2, 4), (2, 3)),)),
)  # fmt: skip

OP_TABLE += (  # functions of two arguments (broadcast both ways); logaddexp far apart too (its stable branch)
    OpCase("logaddexp", lambda x, y: x.logaddexp(y), ops=("LogAddExp",), samples=BINARY, shapes=binary),
    OpCase("logaddexp_far_apart", lambda x, y: x.logaddexp(y * 40), ops=("LogAddExp",), samples=BINARY),
    OpCase("hypot", lambda x, y: x.hypot(y), ops=("Hypot",), samples=BINARY, shapes=binary, domain=POS),
    OpCase("atan2", lambda x, y: x.atan2(y), ops=("Atan2",), samples=BINARY, shapes=binary),
)  # fmt: skip

# clamp with tensor bounds: x has the broadcast shape (torch's backward fails for a smaller x)
CLAMP: tuple[Sample, ...] = (((3, 4), (3, 4), (3, 4)), ((3, 4), (1, 4), ()), ((2, 4), (4,), (2, 1)), ((), (), ()))
CLAMP_ONE: tuple[Sample, ...] = (((3, 4), (3, 4)), ((3, 4), (3, 1)), ((2, 3), ()), ((), ()))
BADDBMM: tuple[Sample, ...] = (
    ((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((3, 5), (2, 3, 4), (2, 4, 5)), ((), (1, 1, 1), (1, 1, 1)),
)

OP_TABLE += (  # fractional part; clamp with tensor bounds; max()/min()/median() of all; mode; baddbmm
    OpCase("frac", lambda x: x.frac(), ops=("Frac",), samples=UNARY, shapes=unary),
    OpCase("clamp_tensor", lambda x, lo, hi: x.clamp(lo, hi), ops=("ClampTensor", "Expand"), samples=CLAMP),
    OpCase("clamp_tensor_min", lambda x, lo: x.clamp(min=lo), ops=("ClampTensor",), samples=CLAMP_ONE),
    OpCase("clamp_tensor_max", lambda x, hi: x.clamp(max=hi), ops=("ClampTensor",), samples=CLAMP_ONE),
    OpCase("clamp_tensor_ties", lambda x, lo, hi: x.clamp(lo, hi), ops=("ClampTensor",), samples=CLAMP,
           domain=TIES, gradcheck=False),
    OpCase("min", lambda x: x.min(), ops=("Min",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("median", lambda x: x.median(), ops=("Median",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("median_ties", lambda x: x.median(), ops=("Median",), family=R, samples=REDUCE_ALL, shapes=unary,
           domain=TIES, gradcheck=False),
    OpCase("median_dim", lambda x: tuple(x.median(-1)), ops=("Gather", "ScatterAdd"), family=R,
           samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("mode", lambda x: tuple(x.mode(-1)), ops=("Gather", "ScatterAdd"), family=R, samples=REDUCE_DIM,
           shapes=lambda: unary(1)),
    OpCase("mode_ties_keepdim", lambda x: tuple(x.mode(0, keepdim=True)), ops=("Gather",), family=R,
           samples=REDUCE_DIM, shapes=lambda: unary(1), domain=TIES, gradcheck=False),
    OpCase("baddbmm", lambda s, b1, b2: s.baddbmm(b1, b2, beta=0.5, alpha=2.0), ops=("MatMul",), family=L,
           samples=BADDBMM),
)  # fmt: skip

OP_TABLE += (  # more elementary functions, each on its domain (asin/acos/atanh in (−1, 1), acosh above 1)
    *(OpCase(name, lambda x, name=name: getattr(x, name)(), ops=(name.capitalize(),), samples=UNARY, shapes=unary,
             domain=domain) for name, domain in (("tan", "unit"), ("atan", "real"), ("asin", "unit"), ("acos", "unit"),
                                                 ("sinh", "real"), ("cosh", "real"), ("asinh", "real"),
                                                 ("atanh", "unit"))),
    OpCase("acosh", lambda x: (x + 1).acosh(), ops=("Acosh",), samples=UNARY, shapes=unary, domain=POS),
)  # fmt: skip

OP_TABLE += (  # running product: the O(n) backward without zeros, the exact one with zeros (ties are in −2 … 2)
    OpCase("cumprod", lambda x: x.cumprod(-1), ops=("Cumprod", "Cumsum"), family=R, samples=REDUCE_DIM,
           shapes=unary),
    OpCase("cumprod_dim0_with_zeros", lambda x: x.cumprod(0), ops=("Cumprod",), family=R, samples=REDUCE_DIM,
           domain=TIES),
)  # fmt: skip


def _einsum(equation: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(tinygrad_edu, torch) callables of one einsum equation."""
    return (lambda *xs: tg.einsum(equation, *xs)), (lambda *xs: torch.einsum(equation, *xs))


def _einsum_chain_shapes() -> st.SearchStrategy[Sample]:
    """(b, i), (i, j), (j, k): a chain whose implicit output is (b, k)."""
    return st.tuples(*[st.integers(1, 4)] * 4).map(lambda s: ((s[0], s[1]), (s[1], s[2]), (s[2], s[3])))


OP_TABLE += (  # einsum: explicit / implicit output, ellipsis (broadcast), indices shared, summed, repeated (diagonal)
    OpCase("einsum_matmul", *_einsum("ij,jk->ik"), ops=("Einsum",), family=L, samples=(((2, 3), (3, 4)),),
           shapes=lambda: _einsum_chain_shapes().map(lambda s: s[1:])),
    OpCase("einsum_implicit_chain", *_einsum("bi,ij,jk"), ops=("Einsum",), family=L,
           samples=(((2, 3), (3, 4), (4, 2)), ((1, 1), (1, 1), (1, 1))), shapes=_einsum_chain_shapes),
    OpCase("einsum_ellipsis_batched", *_einsum("...ij,...jk->...ik"), ops=("Einsum",), family=L,
           samples=(((2, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((2, 3), (3, 2)))),
    OpCase("einsum_summed_alone", *_einsum("ij,k->jk"), ops=("Einsum",), family=L, samples=(((2, 3), (4,)),)),
    OpCase("einsum_bilinear", *_einsum("bi,oij,bj->bo"), ops=("Einsum",), family=L,
           samples=(((2, 3), (4, 3, 2), (2, 2)),)),
    OpCase("einsum_diagonal", *_einsum("ii->i"), ops=("Einsum",), family=L, samples=(((3, 3),),)),
    OpCase("einsum_trace_product", *_einsum("iij,jk"), ops=("Einsum",), family=L, samples=(((3, 3, 2), (2, 4)),)),
)  # fmt: skip

OP_TABLE += (  # unfold (im2col) and fold (col2im), each the other's backward; max_unpool2d of max_pool2d's indices
    OpCase("unfold", lambda x: tg.nn.functional.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
           lambda x: _tf().unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), ops=("Unfold", "Fold"),
           family=CONV, samples=(((2, 3, 5, 6),), ((1, 1, 2, 4),))),
    OpCase("fold", lambda x: tg.nn.functional.fold(x, (4, 5), 2, padding=1, stride=2),
           lambda x: _tf().fold(x, (4, 5), 2, padding=1, stride=2), ops=("Fold", "Unfold"), family=CONV,
           samples=(((2, 12, 9),), ((12, 9),))),
    OpCase("max_unpool2d",
           lambda x: tg.nn.functional.max_unpool2d(*tg.nn.functional.max_pool2d(x, 2, return_indices=True), 2),
           lambda x: _tf().max_unpool2d(*_tf().max_pool2d(x, 2, return_indices=True), 2), ops=("MaxPool2d", "Scatter"),
           family=CONV, samples=(((2, 3, 4, 6),), ((1, 4, 6),))),
)  # fmt: skip

# index_put's index tensors: rows [0, 2, 0] (a repeat) with columns [1, 3, 1] of a (3, 4) input
PUT_ROWS, PUT_COLS = np.array([0, 2, 0]), np.array([1, 3, 1])
PUT_DISTINCT = (np.array([[0], [2]]), np.array([1, 3]))  # broadcast against each other: a (2, 2) block


def _quantile_q(lib: Any) -> Callable[..., Any]:
    """x.quantile(q, 0, keepdim=True, interpolation='midpoint') with q a 1-D tensor of x's dtype (either library)."""
    return lambda x: x.quantile(lib.tensor([0.25, 0.6, 1.0], dtype=x.dtype), 0, keepdim=True,
                                interpolation="midpoint")


def _scatter_reduce(lib: Any, reduce: str, include_self: bool) -> Callable[..., Any]:
    index = lib.tensor(GATHER_INDEX.tolist())
    return lambda x, s: x.scatter_reduce(1, index, s, reduce, include_self=include_self)


def _cdist(lib: Any, p: float) -> Callable[..., Any]:
    return lambda x, w: lib.cdist(x, w, p)


CDIST: tuple[Sample, ...] = (((3, 4), (5, 4)), ((2, 3, 2), (1, 4, 2)), ((1, 1), (1, 1)))

OP_TABLE += (  # scans, order statistics, writes at indices, vector geometry (scan.py, indexing.py, vector.py)
    OpCase("logcumsumexp", lambda x: x.logcumsumexp(-1), ops=("LogCumSumExp", "Flip"), family=R,
           samples=REDUCE_DIM, shapes=lambda: unary(1)),
    OpCase("logcumsumexp_dim0", lambda x: x.logcumsumexp(0), ops=("LogCumSumExp",), family=R, samples=UNARY),
    OpCase("cummax", lambda x: tuple(x.cummax(-1)), ops=("Gather", "ScatterAdd"), family=R, samples=REDUCE_DIM,
           shapes=lambda: unary(1)),
    OpCase("cummin_dim0", lambda x: tuple(x.cummin(0)), ops=("Gather",), family=R, samples=UNARY),
    OpCase("nanmedian", lambda x: x.nanmedian(), ops=("NanMedian",), family=R, samples=REDUCE_ALL, shapes=unary),
    OpCase("nanmedian_dim", lambda x: tuple(x.nanmedian(-1)), ops=("Gather",), family=R, samples=REDUCE_DIM),
    OpCase("quantile", lambda x: x.quantile(0.3, -1), ops=("Gather", "Where"), family=R, samples=REDUCE_DIM,
           shapes=lambda: unary(1)),
    OpCase("quantile_q_tensor_midpoint", _quantile_q(tg), lambda x: _quantile_q(torch)(x), ops=("Gather",),
           family=R, samples=REDUCE_DIM),
    OpCase("index_put", lambda x, v: x.index_put((PUT_DISTINCT[0], PUT_DISTINCT[1]), v),
           lambda x, v: x.index_put((_torch_index(PUT_DISTINCT[0].tolist()), _torch_index(PUT_DISTINCT[1].tolist())),
                                    v), ops=("IndexPut", "GetItem"), family=M,
           samples=(((3, 4), (2, 2)), ((3, 4), (2,)), ((3, 4), ()))),
    OpCase("index_put_accumulate", lambda x, v: x.index_put((PUT_ROWS, PUT_COLS), v, accumulate=True),
           lambda x, v: x.index_put((_torch_index(PUT_ROWS.tolist()), _torch_index(PUT_COLS.tolist())), v,
                                    accumulate=True), ops=("IndexPut",), family=M, samples=(((3, 4), (3,)),)),
    *(OpCase(f"scatter_reduce_{reduce}{'' if include_self else '_exclude_self'}",
             _scatter_reduce(tg, reduce, include_self), lambda x, s, r=reduce, i=include_self: _scatter_reduce(
                 torch, r, i)(x, s), ops=("ScatterReduce", "Gather"), family=M, samples=(((3, 4), (3, 2)),))
      for reduce, include_self in (("sum", False), ("prod", True), ("mean", True), ("mean", False),
                                   ("amax", True), ("amin", False))),
    OpCase("index_fill", lambda x: x.index_fill(1, [2, 0], -1.5),
           lambda x: x.index_fill(1, _torch_index([2, 0]), -1.5), ops=("Where",), family=M,
           samples=(((3, 4),), ((2, 3, 4),))),
    OpCase("index_copy", lambda x, s: x.index_copy(0, [2, 0], s), lambda x, s: x.index_copy(0, _torch_index([2, 0]), s),
           ops=("Scatter",), family=M, samples=(((3, 4), (2, 4)), ((4,), (2,)))),
    OpCase("cross", lambda x, w: x.cross(w, dim=-1), ops=("Cross", "Expand"), family=L,
           samples=(((4, 3), (4, 3)), ((2, 1, 3), (1, 4, 3)), ((3,), (3,)))),
    OpCase("cross_dim0", lambda x, w: x.cross(w, dim=0), ops=("Cross",), family=L, samples=(((3, 2), (3, 2)),)),
    # torch has no double backward of cdist: test_parity_ops4 checks it against finite differences
    *(OpCase(f"cdist_p{p}", _cdist(tg, p), _cdist(torch, p), ops=("Cdist",), family=L, samples=CDIST, gradgrad=False)
      for p in (2.0, 1.0, 0.5, 3.0, float("inf"))),
    OpCase("kron", lambda x, w: x.kron(w), ops=("Mul", "Expand"), family=L, samples=(((2, 3), (3, 2)), ((2,), (2, 3))),
           layouts=("contiguous",)),  # torch.kron's view fails on transposed input
    OpCase("renorm", lambda x: x.renorm(2, 0, 1.0), ops=("Norm", "Where"), family=R,
           samples=(((3, 4),), ((2, 3, 2),))),
    OpCase("logaddexp2", lambda x, y: x.logaddexp2(y), ops=("LogAddExp",), samples=BINARY, shapes=binary),
    OpCase("trapezoid", lambda y: tg.trapezoid(y), lambda y: torch.trapezoid(y), ops=("Sum",), family=R,
           samples=REDUCE_DIM),
    OpCase("cumulative_trapezoid_x", lambda y, x: tg.cumulative_trapezoid(y, x, dim=0),
           lambda y, x: torch.cumulative_trapezoid(y, x, dim=0), ops=("Cumsum",), family=R,
           samples=(((4, 3), (4, 3)), ((5,), (5,)))),
    # torch.vander's backward fails (its cumprod input is written in place): values only here, gradients
    # against finite differences in test_parity_ops4
    OpCase("vander", lambda x: tg.vander(x, 4), lambda x: torch.vander(x, 4), ops=("Cumprod", "Flip"), family=M,
           samples=(((3,),), ((1,),)), forward_only=True),
    OpCase("block_diag", lambda a, b, c: tg.block_diag(a, b, c), lambda a, b, c: torch.block_diag(a, b, c),
           ops=("Cat",), family=M, samples=(((2, 3), (), (4,)),)),
)  # fmt: skip


def _lib(a: Any) -> Any:
    """The library ``a`` belongs to (tinygrad_edu or torch), for rows that build constants."""
    return torch if isinstance(a, torch.Tensor) else tg


def _well_conditioned(a: Any) -> Any:
    """a + n·I: a (batch of) n×n matrices of standard-normal entries made safely invertible."""
    return a + a.shape[-1] * _lib(a).eye(a.shape[-1], dtype=a.dtype)


def _positive_definite(a: Any) -> Any:
    """a aᵀ + I: symmetric positive-definite."""
    return a @ a.mT + _lib(a).eye(a.shape[-1], dtype=a.dtype)


def _linalg(name: str, prepare: Callable[[Any], Any] = lambda a: a,
            result: Callable[[Any], Any] = lambda y: y) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(tinygrad_edu, torch) callables of ``linalg.<name>`` applied to ``prepare(a)`` (and further inputs),
    then ``result`` (a gauge-invariant function of eigen/singular vectors)."""
    return ((lambda a, *rest: result(getattr(tg.linalg, name)(prepare(a), *rest))),
            (lambda a, *rest: result(getattr(torch.linalg, name)(prepare(a), *rest))))


def _special(name: str, *args: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(tinygrad_edu, torch) callables of ``special.<name>(*args, x, ...)``."""
    return (lambda *xs: getattr(tg.special, name)(*args, *xs)), (lambda *xs: getattr(torch.special, name)(*args, *xs))


def _svd_invariants(usv: Any) -> tuple[Any, ...]:
    """S, U Vh and U ⊙ U: functions of an SVD that do not depend on the signs of the singular vectors."""
    return usv[1], usv[0] @ usv[2], usv[0] * usv[0]


SQUARE: tuple[Sample, ...] = (((3, 3),), ((2, 4, 4),), ((1, 1),))
MX, SP, PROB = "matrix", "special", "probability"

OP_TABLE += (  # linear algebra (ops/matrix.py): well-conditioned inputs; vectors only through gauge-invariant functions
    OpCase("det", *_linalg("det", _well_conditioned), ops=("Det", "Inv"), family=MX, samples=SQUARE),
    OpCase("slogdet", *_linalg("slogdet", _well_conditioned, lambda r: r[1]), ops=("Slogdet", "Inv"), family=MX,
           samples=SQUARE),
    OpCase("inv", *_linalg("inv", _well_conditioned), ops=("Inv",), family=MX, samples=SQUARE),
    OpCase("solve", *_linalg("solve", _well_conditioned), ops=("Solve",), family=MX,
           samples=(((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1)), ((3, 3), (3,)))),
    OpCase("solve_triangular", lambda a, b: tg.linalg.solve_triangular(_well_conditioned(a), b, upper=True),
           lambda a, b: torch.linalg.solve_triangular(_well_conditioned(a), b, upper=True), ops=("SolveTriangular",),
           family=MX, samples=(((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1)), ((4, 4), (2, 1, 4, 3)))),
    OpCase("cholesky", *_linalg("cholesky", _positive_definite), ops=("Cholesky", "Inv"), family=MX, samples=SQUARE),
    OpCase("qr", *_linalg("qr", result=tuple), ops=("Qr", "Solve"), family=MX,
           samples=(((4, 3),), ((3, 3),), ((2, 3, 5),))),
    OpCase("eigh", *_linalg("eigh", lambda a: a + a.mT, lambda r: (r[0], r[1] * r[1])), ops=("Eigh",), family=MX,
           samples=SQUARE),
    OpCase("eigvalsh", *_linalg("eigvalsh", lambda a: a + a.mT), ops=("Eigvalsh", "Eigh"), family=MX, samples=SQUARE),
    OpCase("svd", lambda a: _svd_invariants(tg.linalg.svd(a, full_matrices=False)),
           lambda a: _svd_invariants(torch.linalg.svd(a, full_matrices=False)), ops=("Svd",), family=MX,
           samples=(((4, 3),), ((3, 5),), ((2, 3, 3),))),
    OpCase("svdvals", *_linalg("svdvals"), ops=("SvdVals", "Svd"), family=MX, samples=(((4, 3),), ((2, 2, 3),))),
)  # fmt: skip

OP_TABLE += (  # special functions (ops/special.py), each on its domain
    *(OpCase(name, *_special(name), ops=(op,), family=SP, samples=UNARY, domain=domain)
      for name, op, domain in (("gammaln", "Lgamma", POS), ("digamma", "Digamma", POS), ("erfinv", "Erfinv", "unit"),
                               ("erfcx", "Erfcx", "real"), ("ndtr", "Ndtr", "real"), ("ndtri", "Ndtri", PROB),
                               ("log_ndtr", "LogNdtr", "real"), ("i0", "I0", "real"), ("i1", "I1", "real"),
                               ("entr", "Entr", POS), ("sinc", "Sinc", "real"))),
    *(OpCase(f"polygamma_{n}", *_special("polygamma", n), ops=("Polygamma",), family=SP, samples=UNARY, domain=POS)
      for n in (1, 2)),
    OpCase("xlogy", *_special("xlogy"), ops=("Xlogy",), family=SP, samples=BINARY, domain=("real", POS)),
    OpCase("xlog1py", *_special("xlog1py"), ops=("Xlog1py",), family=SP, samples=BINARY, domain=("real", POS)),
)  # fmt: skip

OP_TABLE += (  # matrix exponential (twice differentiable through itself); erfc and the scaled Bessel functions
    OpCase("matrix_exp", *_linalg("matrix_exp"), ops=("MatrixExp", "Cat"), family=MX, samples=SQUARE),
    OpCase("pinv", *_linalg("pinv"), ops=("Pinv",), family=MX, samples=(((4, 3),), ((2, 3, 5),), ((3, 3),))),
    *(OpCase(name, *_special(name), ops=(op,), family=SP, samples=UNARY, domain="real")
      for name, op in (("erfc", "Erfc"), ("i0e", "I0e"), ("i1e", "I1e"))),
)  # fmt: skip

OP_TABLE += (  # LU with partial pivoting (LAPACK's packing and pivots)
    OpCase("lu_factor", *_linalg("lu_factor", _well_conditioned, lambda r: r[0]), ops=("LuFactor", "Solve"),
           family=MX, samples=SQUARE),
)  # fmt: skip

OP_TABLE += (  # incomplete gamma functions: the gradient with respect to x only (a is a constant here, as in torch)
    *(OpCase(name, lambda x, name=name: getattr(_lib(x).special, name)(_lib(x).full_like(x, 1.7), x), ops=(op,),
             family=SP, samples=UNARY, domain=POS)
      for name, op in (("gammainc", "Gammainc"), ("gammaincc", "Gammaincc"))),
)  # fmt: skip

OP_TABLE += (  # the Hurwitz zeta function: the gradient with respect to q only (as in torch)
    OpCase("zeta", lambda q: _lib(q).special.zeta(_lib(q).full_like(q, 2.5), q), ops=("Zeta",), family=SP,
           samples=UNARY, domain=POS),
)  # fmt: skip

OP_TABLE += (  # modified Bessel functions of the second kind (torch has no gradient: double backward not compared)
    *(OpCase(name, *_special(name), ops=(op,), family=SP, samples=UNARY, domain=POS, gradgrad=False)
      for name, op in (("modified_bessel_k0", "ModifiedBesselK0"), ("modified_bessel_k1", "ModifiedBesselK1"),
                       ("scaled_modified_bessel_k0", "ScaledModifiedBesselK0"),
                       ("scaled_modified_bessel_k1", "ScaledModifiedBesselK1"))),
)  # fmt: skip

OP_TABLE += (  # Bessel functions J and Y of orders 0 and 1 (torch has no gradient: double backward not compared)
    *(OpCase(name, *_special(name), ops=(op,), family=SP, samples=UNARY, domain=POS, gradgrad=False)
      for name, op in (("bessel_j0", "BesselJ0"), ("bessel_j1", "BesselJ1"), ("bessel_y0", "BesselY0"),
                       ("bessel_y1", "BesselY1"))),
)  # fmt: skip


def _ctc(x: Any, reduction: str) -> Any:
    """CTC loss of log_softmax(x), x (T=5, N=3, C=4): a repeated label (needs a blank between), an
    input shorter than T, an empty target. log_softmax in front because CTC's gradient, as PyTorch's,
    assumes normalised log-probabilities (ops/ctc.py), so gradcheck sees the exact gradient."""
    lib = _lib(x)
    return lib.nn.functional.ctc_loss(x.log_softmax(2), lib.tensor([[1, 1, 2], [3, 2, 0], [2, 0, 0]]),
                                      lib.tensor([5, 4, 5]), lib.tensor([3, 2, 0]), reduction=reduction)


OP_TABLE += (  # CTC (torch's double backward raises: not compared, and ours raises NotImplementedError too)
    *(OpCase(f"ctc_loss_{reduction}", lambda x, reduction=reduction: _ctc(x, reduction), ops=("CTCLoss",), family=S,
             samples=(((5, 3, 4),),), gradgrad=False) for reduction in ("mean", "sum", "none")),
)  # fmt: skip


OP_TABLE += (  # 3-D convolution and pooling (ops/conv.py's 3-D ops: the 2-D code with one more spatial dim)
    OpCase("conv3d", lambda x, w: TF.conv3d(x, w, stride=(1, 2, 1), padding=1, dilation=(2, 1, 1), groups=2),
           lambda x, w: _tf().conv3d(x, w, stride=(1, 2, 1), padding=1, dilation=(2, 1, 1), groups=2),
           ops=("Conv3d", "Conv3dGradInput", "Conv3dGradWeight"), family=CONV,
           samples=(((1, 2, 3, 4, 3), (4, 1, 2, 2, 1)), ((2, 2, 1, 1, 1), (2, 1, 1, 1, 1)))),
    OpCase("conv_transpose3d", lambda x, w: TF.conv_transpose3d(x, w, stride=2, padding=1, output_padding=(1, 0, 1)),
           lambda x, w: _tf().conv_transpose3d(x, w, stride=2, padding=1, output_padding=(1, 0, 1)),
           ops=("Conv3dGradInput", "Conv3d", "Conv3dGradWeight"), family=CONV,
           samples=(((1, 2, 2, 3, 2), (2, 1, 2, 2, 3)),)),
    OpCase("max_pool3d_ceil", lambda x: TF.max_pool3d(x, 2, (2, 1, 2), padding=1, ceil_mode=True),
           lambda x: _tf().max_pool3d(x, 2, (2, 1, 2), padding=1, ceil_mode=True),
           ops=("MaxPool3d", "MaxPool3dGrad"), family=CONV, samples=(((1, 2, 3, 3, 4),),), domain="kink_free"),
    OpCase("avg_pool3d_ceil", lambda x: TF.avg_pool3d(x, (2, 3, 2), 2, padding=1, ceil_mode=True,
                                                      count_include_pad=False),
           lambda x: _tf().avg_pool3d(x, (2, 3, 2), 2, padding=1, ceil_mode=True, count_include_pad=False),
           ops=("AvgPool3d", "AvgPool3dGrad"), family=CONV, samples=(((1, 2, 3, 4, 3),), ((2, 1, 2, 3, 2),))),
)  # fmt: skip
