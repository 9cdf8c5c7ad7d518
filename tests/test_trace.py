"""The teaching trace of a backward pass and the formula cheat sheet."""

from __future__ import annotations

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import ops
from tinygrad_edu.autograd.trace import backward_formula


def _traced_sigmoid_regression():
    x = tg.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    w = tg.tensor(np.array([[0.5], [0.1], [-0.3]]), requires_grad=True)
    with tg.autograd.trace() as t:
        loss = ((x @ w).sigmoid() - 1.0).pow(2).mean()
        loss.backward()
    return x, w, t


def test_trace_lists_nodes_root_first_with_formulas_and_shapes():
    _, _, t = _traced_sigmoid_regression()
    ops_seen = [s.op for s in t.steps]
    assert ops_seen[:4] == ["MeanBackward0", "PowBackward0", "SubBackward0", "SigmoidBackward0"]
    assert ops_seen.count("AccumulateGrad") == 2 and "SqueezeBackward4" in ops_seen
    sigmoid = t.steps[3]
    assert sigmoid.formula == ["∂L/∂x = g ⊙ y ⊙ (1 − y)"]
    assert sigmoid.output_shapes == [(1,)] and sigmoid.input_shapes == [(1,)]


def test_trace_gradient_values_are_the_real_ones():
    x, w, t = _traced_sigmoid_regression()
    accumulated = [s for s in t.steps if s.op == "AccumulateGrad"]
    received = sorted((s.grad_outputs[0] for s in accumulated), key=np.ndim)
    np.testing.assert_allclose(received[0], x.grad.data)
    np.testing.assert_allclose(received[1], w.grad.data)
    sig = t.steps[3]  # ∂L/∂x of sigmoid = g·y·(1−y)
    y = 1 / (1 + np.exp(-(x.data @ w.data)))
    np.testing.assert_allclose(sig.grad_inputs[0], sig.grad_outputs[0] * y * (1 - y))


def test_trace_table_is_readable_and_hides_large_values():
    _, _, t = _traced_sigmoid_regression()
    table = str(t)
    for name in ("MeanBackward0", "SigmoidBackward0", "SqueezeBackward4", "AccumulateGrad", "g ⊙ y ⊙ (1 − y)"):
        assert name in table
    big = tg.randn(10, 10, requires_grad=True)
    with tg.autograd.trace() as t2:
        big.exp().sum().backward()
    assert t2.steps[1].grad_outputs == [None] and "…" in str(t2)


def test_trace_stops_recording_after_the_block():
    x = tg.ones(2, requires_grad=True)
    with tg.autograd.trace() as t:
        pass
    (x * 2.0).sum().backward()
    assert t.steps == []


def test_formula_cheat_sheet_covers_every_op():
    sheet = tg.autograd.formulas()
    assert set(sheet) == {op.__name__ for op in ops.ALL_OPS}
    lines, where = sheet["Mul"]
    assert lines == ["∂L/∂x = g ⊙ w", "∂L/∂w = g ⊙ x"] and where.startswith("ops/elementwise.py:")
    assert backward_formula(ops.Mul) == lines
