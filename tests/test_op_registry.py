"""The op registry stays honest: every op documents its math and is covered by the op table.

* every class in ``ops.ALL_OPS`` has a docstring with ``Forward:`` and ``Backward:`` lines
  and a ``formula`` with one entry per differentiable (positional) input of ``forward``;
* every class in ``ops.ALL_OPS`` is named by at least one row of ``op_table.OP_TABLE``;
* every row names only real ops, and each op it names really occurs in the graph the row
  builds (forward, or the recorded backward: ``SumTo`` and ``ScatterAdd`` live there).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
from helpers import make_inputs
from op_table import OP_TABLE, OpCase

import tinygrad_edu as tg
from tinygrad_edu import ops
from tinygrad_edu.autograd import Function, engine

OP_NAMES = {op.__name__ for op in ops.ALL_OPS}


def _differentiable_inputs(op: type[Function]) -> int:
    """Positional inputs of forward without a default (``*xs`` counts as one: one formula for all)."""
    params = list(inspect.signature(op.forward).parameters.values())[1:]  # drop ctx
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    fixed = [p for p in params if p.kind in kinds and p.default is inspect.Parameter.empty]
    return len(fixed) + any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


@pytest.mark.parametrize("op", ops.ALL_OPS, ids=lambda op: op.__name__)
def test_op_documents_forward_backward_and_formula(op: type[Function]):
    doc = inspect.getdoc(op) or ""
    assert "Forward:" in doc and "Backward:" in doc, f"{op.__name__}: docstring needs Forward: and Backward: lines"
    assert isinstance(op.formula, tuple) and all(isinstance(f, str) and f for f in op.formula), (
        f"{op.__name__}.formula must be a tuple of non-empty strings")
    assert len(op.formula) == _differentiable_inputs(op), (
        f"{op.__name__}.formula has {len(op.formula)} entries for {_differentiable_inputs(op)} differentiable inputs")


def test_every_registered_op_has_a_row_in_the_op_table():
    covered = {name for case in OP_TABLE for name in case.ops}
    missing = sorted(OP_NAMES - covered)
    assert not missing, f"ops in ALL_OPS with no row in tests/op_table.py: {', '.join(missing)}"


def test_op_table_rows_have_unique_names_and_name_real_ops():
    ids = [case.id for case in OP_TABLE]
    assert len(ids) == len(set(ids)), f"duplicate rows: {sorted({i for i in ids if ids.count(i) > 1})}"
    unknown = sorted({name for case in OP_TABLE for name in case.ops} - OP_NAMES)
    assert not unknown, f"op_table rows name ops that are not in ALL_OPS: {', '.join(unknown)}"
    assert all(case.samples for case in OP_TABLE), "every row needs at least one sample"


def _ops_in_graph(roots: list[Any]) -> set[str]:
    """The names of all Function nodes reachable from ``roots`` (tensors) through grad_fn edges."""
    seen, stack, names = set(), [t.grad_fn for t in roots if t is not None and t.grad_fn is not None], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Function):
            names.add(type(node).__name__)
        stack.extend(edge[0] for edge in getattr(node, "next_functions", ()) if edge is not None)
    return names


def _ops_used_by(case: OpCase) -> set[str]:
    """Run the row on each sample in float64 and collect the ops of its forward graph and of
    its gradient graph (recorded with create_graph, so backward-only ops show up too)."""
    names: set[str] = set()
    for sample in case.samples:
        arrays = make_inputs(sample, case.domain, np.float64)
        inputs = [tg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        out = case.fn(*inputs)
        outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if o.requires_grad]
        if not outs:
            continue
        seeds = [tg.tensor(np.ones(o.shape), requires_grad=True) for o in outs]  # so backward is recorded
        wanted = [t for t in inputs if t.requires_grad]
        # (not for a once-differentiable op's row, gradgrad=False: create_graph would raise there)
        grads = engine.grad(outs, wanted, seeds, create_graph=case.gradgrad, allow_unused=True)
        names |= _ops_in_graph(outs) | _ops_in_graph(list(grads))
    return names


@pytest.mark.parametrize("case", [c for c in OP_TABLE if c.ops], ids=lambda c: c.id)
def test_op_table_row_really_uses_the_ops_it_names(case: OpCase):
    absent = sorted(set(case.ops) - _ops_used_by(case))
    assert not absent, f"row {case.id} names {absent}, which never occur in its graph"
