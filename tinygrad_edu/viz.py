"""Draw the graph that produced a tensor: Graphviz DOT text, and SVG/PNG through ``dot``.

    dot_text = tg.viz.to_dot(loss, params=dict(model.named_parameters()))
    tg.viz.render(loss, "graph.svg")

Boxes are ops (the ``grad_fn`` nodes by PyTorch's names, with the op class below where the name
does not say it, and their output shapes); ellipses are leaf tensors
(parameters are shown by name when ``params`` is given). Arrows follow the forward
computation, from inputs to outputs; backward walks them the other way.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .autograd import engine
from .autograd.function import Function
from .tensor import Tensor


def to_dot(tensor: Tensor, params: dict[str, Tensor] | None = None) -> str:
    """The graph behind ``tensor`` as Graphviz DOT text."""
    names = {id(t): name for name, t in (params or {}).items()}
    root = tensor.grad_fn if tensor.grad_fn is not None else tensor._grad_accumulator()
    nodes = engine.topological_order([root])
    ids = {id(node): f"n{i}" for i, node in enumerate(nodes)}
    lines = ["digraph {", '  rankdir="BT";', '  node [fontname="monospace", fontsize=10];']
    for node in nodes:
        if isinstance(node, engine.AccumulateGrad):
            leaf = node.variable
            label = names.get(id(leaf), "leaf")
            lines.append(f'  {ids[id(node)]} [shape=ellipse, style=filled, fillcolor="#cfe2f3", '
                         f'label="{label}\\n{_shape(leaf.shape)}"];')
        else:
            shapes = ", ".join(_shape(shape) for shape, _ in node._output_meta)
            lines.append(f'  {ids[id(node)]} [shape=box, label="{_op_label(node)}\\n{shapes}"];')
        for edge in node.next_functions:
            if edge is not None:
                lines.append(f"  {ids[id(edge[0])]} -> {ids[id(node)]};")
    out = f'  out [shape=ellipse, style=filled, fillcolor="#d9ead3", label="output\\n{_shape(tensor.shape)}"];'
    lines += [out, f"  {ids[id(root)]} -> out;", "}"]
    return "\n".join(lines) + "\n"


def _op_label(node: Function) -> str:
    """The node's PyTorch name, and below it the class that computes it when the name does not
    say (``MmBackward0`` is ``MatMul``; Sequential's fused Linear+ReLU is a ``ReluBackward0``
    node computed by ``Linear``), so a reader can find the op's code."""
    name, op = node.name(), type(node).__name__
    return name if name.lower().startswith(op.lower()) else f"{name}\\nop: {op}"


def _shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


def render(tensor: Tensor, path: str | Path, params: dict[str, Tensor] | None = None) -> Path:
    """Write the graph as an image; the format is the suffix of ``path`` (.svg, .png, .pdf)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render: unsupported image format {path.suffix!r} for {path}; use .svg, .png or .pdf")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "render: the Graphviz program `dot` is not installed (e.g. apt-get install graphviz); "
            "tg.viz.to_dot(tensor) still returns the DOT text"
        )
    subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=to_dot(tensor, params), text=True, check=True)
    return path
