"""The version counter against PyTorch: views share their base's counter, saved outputs are checked.

Each scenario runs the same code on ``tinygrad_edu`` and on ``torch`` (passed in as ``lib``)
and must end the same way: both raise "modified by an in-place operation" at backward, or
both succeed with the same gradients (float64, tight).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

X = np.arange(1.0, 7.0).reshape(2, 3)
W = np.linspace(-1.0, 2.0, 6).reshape(2, 3)


def _outcome(lib, scenario):
    """'modified' if backward refused a saved tensor changed in place, else the input gradients."""
    x = lib.tensor(X.copy(), requires_grad=True)
    w = lib.tensor(W.copy())
    try:
        loss = scenario(lib, x, w)
        loss.backward()
    except RuntimeError as err:
        text = str(err)
        assert "modified" in text and ("in place" in text or "inplace" in text), text
        return "modified"
    return x.grad.detach().numpy().copy()


def _assert_same_outcome(scenario):
    ours, theirs = _outcome(tg, scenario), _outcome(torch, scenario)
    if isinstance(theirs, str) or isinstance(ours, str):
        assert (ours if isinstance(ours, str) else "gradients") == theirs
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    return ours


# A view of w (which x * w saves for backward) and the same elements written through it.
VIEWS = {
    "view": lambda w: w.view(6),
    "reshape": lambda w: w.reshape(3, 2),
    "flatten": lambda w: w.flatten(),
    "int index": lambda w: w[0],
    "slice": lambda w: w[:, 1:],
    "scalar index": lambda w: w[1, 2],
    "T": lambda w: w.T,
    "transpose": lambda w: w.transpose(0, 1),
    "permute": lambda w: w.permute(1, 0),
    "unsqueeze": lambda w: w.unsqueeze(0),
    "squeeze": lambda w: w.unsqueeze(1).squeeze(1),
    "split": lambda w: w.split(1)[1],
    "detach": lambda w: w.detach(),
    "view of a view": lambda w: w[1].view(3)[1:],
}
WRITES = {
    "mul_": lambda v: v.mul_(2.0),
    "+=": lambda v: v.__iadd__(1.0),
    "fill_": lambda v: v.fill_(0.5),
    "setitem": lambda v: v.__setitem__(..., 3.0),
}


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("write", WRITES)
def test_write_through_a_view_of_a_saved_tensor_raises_as_torch(view, write):
    def scenario(lib, x, w):
        loss = (x * w).sum()
        WRITES[write](VIEWS[view](w))
        return loss

    assert _assert_same_outcome(scenario) == "modified"


@pytest.mark.parametrize("view", ["int index", "slice", "scalar index", "T", "view", "detach"])
def test_write_to_the_base_of_a_saved_view_raises_as_torch(view):
    def scenario(lib, x, w):
        loss = (x[0, 0] * VIEWS[view](w)).sum()  # Mul saves the view
        w.mul_(2.0)
        return loss

    assert _assert_same_outcome(scenario) == "modified"


COPIES = {
    "advanced index": lambda w: w[[0, 1]],
    "bool mask": lambda w: w[w > 0],
    "clone": lambda w: w.clone(),
    "reshape of a transpose": lambda w: w.T.reshape(-1),
}


@pytest.mark.parametrize("copy", COPIES)
def test_write_to_a_copy_leaves_the_saved_tensor_valid_as_torch(copy):
    def scenario(lib, x, w):
        loss = (x * w).sum()
        COPIES[copy](w).mul_(2.0)
        return loss

    np.testing.assert_allclose(_assert_same_outcome(scenario), W)


# Ops that save their own output for backward (y = e^x: ∂L/∂x = g·y), and writes to that output.
SAVING_OUTPUT = {
    "exp": lambda x: x.exp(),
    "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(),
    "sqrt": lambda x: x.sqrt(),
    "softmax": lambda x: x.softmax(1),
}
OUTPUT_WRITES = {
    "mul_": lambda y: y.mul_(2.0),
    "+=": lambda y: y.__iadd__(1.0),
    "setitem": lambda y: y.__setitem__(0, 1.0),
    "through a view": lambda y: y.view(-1).mul_(2.0),
    "through detach": lambda y: y.detach().mul_(2.0),
}


@pytest.mark.parametrize("op", SAVING_OUTPUT)
@pytest.mark.parametrize("write", OUTPUT_WRITES)
def test_op_output_modified_in_place_under_no_grad_raises_as_torch(op, write):
    def scenario(lib, x, w):
        y = SAVING_OUTPUT[op](x)
        with lib.no_grad():
            OUTPUT_WRITES[write](y)
        return (y * w).sum()

    assert _assert_same_outcome(scenario) == "modified"


def test_output_not_saved_by_its_op_may_be_modified_as_torch():
    def scenario(lib, x, w):
        y = x * 2.0  # Mul saves its inputs, not its output y
        with lib.no_grad():
            y.mul_(3.0)  # so backward still holds: ∂(Σ y·w)/∂x = 2w (the write is not differentiated)
        return (y * w).sum()

    np.testing.assert_allclose(_assert_same_outcome(scenario), 2.0 * W)


def test_views_share_one_version_count_as_torch():
    counts = []
    for lib in (tg, torch):
        w = lib.tensor(W.copy())
        row, flat, detached = w[0], w.view(6), w.detach()
        row.add_(1.0)
        flat[0] = 2.0
        detached.mul_(2.0).mul_(0.5)
        w += 1.0
        copy = w.clone()
        copy.fill_(0.0)
        counts.append([t._version for t in (w, row, flat, detached, copy)])
    assert counts[0] == counts[1] == [5, 5, 5, 5, 1]


def test_int_index_of_a_vector_is_a_view_as_torch():
    # NumPy returns a scalar copy for v[i]; torch returns a 0-d view that writes into v
    results = []
    for lib in (tg, torch):
        v = lib.tensor([1.0, 2.0, 3.0])
        element = v[1]
        element.fill_(5.0)
        element += 1.0
        results.append((v.tolist(), element.item()))
    assert results[0] == results[1] == ([1.0, 6.0, 3.0], 6.0)


@pytest.mark.parametrize("write", ["__iadd__", "__imul__", "__isub__", "add_", "mul_", "clamp_"])
def test_inplace_on_a_leaf_that_requires_grad_is_refused_before_computing_as_torch(write):
    # the operand does not even broadcast: torch names the leaf first, not the shapes
    for lib in (tg, torch):
        x = lib.ones(2, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match=r"(leaf Variable|requires grad).*in.?place"):
            getattr(x, write)(lib.ones(5))
        assert x._version == 0


def test_inplace_from_an_operand_that_requires_grad_is_refused_while_recording():
    # torch records such a write as a graph node; tinygrad_edu does not record in-place ops,
    # so it refuses instead of silently dropping the operand's gradient
    y = tg.ones(3, requires_grad=True)
    for write in (lambda x: x.add_(y), lambda x: x.copy_(y), lambda x: x.__setitem__(0, y[0]),
                  lambda x: x.clamp_(y, None)):
        x = tg.zeros(3)
        with pytest.raises(RuntimeError, match="would lose its gradient"):
            write(x)
        assert x.tolist() == [0.0, 0.0, 0.0] and x._version == 0
    with tg.no_grad():
        tg.zeros(3).add_(y)  # nothing is recorded there: allowed, as in torch
