"""A step-by-step trace of a backward pass, for teaching.

    with tg.autograd.trace() as t:
        loss.backward()
    print(t)            # one row per node, in the order the engine visited them
    t.steps[0].formula  # the Backward: lines of that op's docstring

Each step shows the op, the formula it applied (from its docstring, the same text a
student reads in ``tinygrad_edu/ops``), the shapes going in and out, and the gradient
values themselves when they are small enough to read.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import engine

SMALL = 8  # gradients with at most this many elements are shown in full


@dataclass
class TraceStep:
    """One node of a backward pass, as the engine visited it."""

    index: int
    op: str
    formula: list[str]
    output_shapes: list[tuple[int, ...]]
    input_shapes: list[tuple[int, ...] | None]
    grad_outputs: list[np.ndarray | None]  # ∂L/∂(each output); None when too large to show or absent
    grad_inputs: list[np.ndarray | None]  # what was sent to each input that needs a gradient


def backward_formula(op: type) -> list[str]:
    """The ``Backward:`` lines of an op's docstring (or its ``formula`` tuple if it has none)."""
    lines = inspect.getdoc(op) or ""
    block: list[str] = []
    for line in lines.splitlines():
        if line.strip().startswith("Backward:"):
            block.append(line.strip()[len("Backward:"):].strip())
        elif block and line.strip():
            block.append(line.strip())
        elif block:
            break
    return block or [f"∂L/∂input = {f}" for f in getattr(op, "formula", ())] or ["(no formula documented)"]


def _small(t: Any) -> np.ndarray | None:
    return None if t is None or t.data.size > SMALL else np.array(t.data, copy=True)


class trace:
    """Context manager that records every node the engine runs (see module docstring)."""

    def __init__(self) -> None:
        self.steps: list[TraceStep] = []

    def __enter__(self) -> trace:
        engine.observers.append(self._observe)
        return self

    def __exit__(self, *exc_info: object) -> None:
        engine.observers.remove(self._observe)

    def _observe(self, node: Any, grads: list, flowing: list) -> None:
        if isinstance(node, engine.AccumulateGrad):
            shape = node.variable.shape
            step = TraceStep(len(self.steps), "AccumulateGrad", ["leaf.grad += g"], [shape], [shape],
                             [_small(grads[0])], [_small(node.variable.grad)])
        else:
            sent = {id(edge): g for edge, g in flowing}
            step = TraceStep(
                index=len(self.steps),
                op=node.name(),
                formula=backward_formula(type(node)),
                output_shapes=[shape for shape, _ in node._output_meta],
                input_shapes=[meta[0] if meta else None for meta in node._input_meta],
                grad_outputs=[_small(g) for g in grads],
                grad_inputs=[_small(sent.get(id(edge))) if edge else None for edge in node.next_functions],
            )
        self.steps.append(step)

    def __str__(self) -> str:
        rows = [("step", "node", "formula", "shapes (out ← in)", "∂L/∂out", "∂L/∂in")]
        for s in self.steps:
            shapes = f"{_fmt_shapes(s.output_shapes)} ← {_fmt_shapes(s.input_shapes)}"
            rows.append((str(s.index), s.op, s.formula[0], shapes, _fmt_values(s.grad_outputs),
                         _fmt_values(s.grad_inputs)))
            rows.extend(("", "", more, "", "", "") for more in s.formula[1:])
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _fmt_shapes(shapes: list) -> str:
    return ", ".join("-" if s is None else str(tuple(s)) for s in shapes)


def _fmt_values(values: list[np.ndarray | None]) -> str:
    parts = ["…" if v is None else np.array2string(v, precision=4, separator=",") for v in values]
    return "; ".join(p.replace("\n", "") for p in parts)


def formulas() -> dict[str, tuple[list[str], str]]:
    """``{op name: (Backward: lines, "file:line")}`` for every built-in op: a cheat sheet."""
    from .. import ops

    sheet = {}
    for op in ops.ALL_OPS:
        path = inspect.getsourcefile(op) or "?"
        _, line = inspect.getsourcelines(op)
        sheet[op.__name__] = (backward_formula(op), f"{path.split('tinygrad_edu')[-1].lstrip('/')}:{line}")
    return sheet
