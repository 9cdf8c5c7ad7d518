"""tg.viz: the DOT text of a graph, and rendering when Graphviz is installed."""

from __future__ import annotations

import re
import shutil

import pytest

import tinygrad_edu as tg


def _graph():
    w = tg.randn(3, 2, requires_grad=True)
    b = tg.zeros(2, requires_grad=True)
    x = tg.randn(4, 3)
    return (x @ w + b).relu().sum(), w, b


def test_to_dot_has_one_box_per_op_and_named_leaves():
    loss, w, b = _graph()
    dot = tg.viz.to_dot(loss, params={"weight": w, "bias": b})
    assert dot.startswith("digraph {") and dot.rstrip().endswith("}")
    boxes = re.findall(r'label="(\w+Backward0)\\n', dot)
    ops = ["SumBackward0", "ReluBackward0", "AddBackward0", "ExpandBackward0", "MmBackward0"]
    assert sorted(boxes) == sorted(ops)
    assert 'label="weight\\n(3, 2)"' in dot and 'label="bias\\n(2,)"' in dot
    edges = re.findall(r"(n\d+) -> (n\d+|out);", dot)
    assert len(edges) == 7  # w→matmul, b→expand, matmul→add, expand→add, add→relu, relu→sum, sum→out


def test_a_node_whose_name_hides_its_op_shows_the_op_class():
    """Sequential's fused Linear+ReLU is one ReluBackward0 node computed by ops.Linear; the
    unfused last Linear is PyTorch's AddmmBackward0; Sum's name already says Sum."""
    model = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.ReLU(), tg.nn.Linear(4, 2))
    dot = tg.viz.to_dot(model(tg.randn(5, 3)).sum())
    labels = re.findall(r'shape=box, label="([^"]*)"', dot)
    assert labels == ["ReluBackward0\\nop: Linear\\n(5, 4)", "AddmmBackward0\\nop: Linear\\n(5, 2)",
                      "SumBackward0\\n()"]


def test_render_without_graphviz_raises_a_clear_error(tmp_path, monkeypatch):
    loss, _, _ = _graph()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz"):
        tg.viz.render(loss, tmp_path / "g.svg")
    with pytest.raises(ValueError, match="unsupported"):
        tg.viz.render(loss, tmp_path / "g.txt")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_render_writes_svg(tmp_path):
    loss, _, _ = _graph()
    out = tg.viz.render(loss, tmp_path / "g.svg")
    assert out.read_text().lstrip().startswith("<?xml")
