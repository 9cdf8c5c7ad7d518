"""Bad input gives a clear Python exception that names the op and the shapes involved.

(The engine's own errors, such as a non-scalar backward without a gradient or a second
backward through a freed graph, are in test_autograd_engine.py; the gaps are filled here.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, grad

A, B = (2, 3), (4, 5)


def _pair() -> tuple[tg.Tensor, tg.Tensor]:
    return tg.randn(*A, requires_grad=True), tg.randn(*B)


# (op name the message must start with, the call, the shapes the message must name)
SHAPE_ERRORS: list[tuple[str, Callable[[], object], tuple[tuple[int, ...], ...]]] = [
    ("add", lambda: _pair()[0] + _pair()[1], (A, B)),
    ("sub", lambda: _pair()[0] - _pair()[1], (A, B)),
    ("mul", lambda: _pair()[0] * _pair()[1], (A, B)),
    ("div", lambda: _pair()[0] / _pair()[1], (A, B)),
    ("pow", lambda: _pair()[0] ** _pair()[1], (A, B)),
    ("maximum", lambda: tg.maximum(*_pair()), (A, B)),
    ("minimum", lambda: _pair()[0].minimum(_pair()[1]), (A, B)),
    ("less", lambda: _pair()[0] < _pair()[1], (A, B)),
    ("where", lambda: tg.where(tg.ones(*A) > 0, tg.ones(*A), tg.ones(*B)), (A, B)),
    ("where", lambda: tg.ones(*A).masked_fill(tg.ones(*B) > 0, 0.0), (A, B)),
    ("matmul", lambda: tg.randn(2, 3) @ tg.randn(4, 5), ((2, 3), (4, 5))),
    ("matmul", lambda: tg.randn(2, 3) @ tg.randn(4), ((2, 3), (4,))),
    ("matmul", lambda: tg.randn(2, 3, 4) @ tg.randn(3, 4, 5), ((2, 3, 4), (3, 4, 5))),
    ("matmul", lambda: tg.randn(3).matmul(tg.tensor(2.0)), ((3,), ())),
    ("cat", lambda: tg.cat([tg.randn(*A), tg.randn(*B)]), (A, B)),
    ("cat", lambda: tg.cat([tg.randn(*A), tg.randn(3)]), (A, (3,))),
    ("stack", lambda: tg.stack([tg.randn(*A), tg.randn(*B)]), (A, B)),
    ("reshape", lambda: tg.randn(*A).reshape(4, 2), (A, (4, 2))),
    ("reshape", lambda: tg.randn(*A).view(5, -1), (A, (5, -1))),
    ("expand", lambda: tg.randn(*A).expand(4, 3), (A, (4, 3))),
    ("expand", lambda: tg.randn(*A).expand(3), (A, (3,))),
    ("permute", lambda: tg.randn(*A).permute(0, 0), (A,)),
    ("split", lambda: tg.randn(*A).split([1, 1], 1), (A,)),
    ("gather", lambda: tg.randn(*A).gather(1, np.array([[0, 3]])), (A, (1, 2))),
    ("index", lambda: tg.randn(*A)[5], (A,)),
]


def _shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


@pytest.mark.parametrize(("op", "call", "shapes"), SHAPE_ERRORS, ids=[f"{e[0]}{i}" for i, e in enumerate(SHAPE_ERRORS)])
def test_mismatched_shapes_raise_an_error_naming_the_op_and_the_shapes(op, call, shapes):
    with pytest.raises((ValueError, IndexError, RuntimeError)) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{op}:"), message
    for shape in shapes:
        assert _shape_text(shape) in message, f"{message!r} does not name shape {shape}"


def test_shape_errors_are_catchable_as_value_error_and_runtime_error():
    # ValueError as NumPy users expect, RuntimeError as PyTorch raises for shape mismatches
    for call in (lambda: tg.ones(2) + tg.ones(3), lambda: tg.ones(2, 3) @ tg.ones(2, 3)):
        with pytest.raises(ValueError):
            call()
        with pytest.raises(RuntimeError):
            call()


@pytest.mark.parametrize(("op", "call"), [
    ("sum", lambda: tg.randn(2, 3).sum(2)),
    ("transpose", lambda: tg.randn(2, 3).transpose(0, 2)),
    ("softmax", lambda: tg.randn(2, 3).softmax(3)),
    ("log_softmax", lambda: tg.randn(2, 3).log_softmax(-3)),
    ("logsumexp", lambda: tg.randn(2, 3).logsumexp(5)),
    ("squeeze", lambda: tg.randn(2, 3).squeeze(4)),
    ("unsqueeze", lambda: tg.randn(2, 3).unsqueeze(4)),
    ("flatten", lambda: tg.randn(2, 3).flatten(3)),
    ("argmax", lambda: tg.randn(2, 3).argmax(2)),
])
def test_dim_out_of_range_names_the_op(op, call):
    with pytest.raises(IndexError, match=rf"^{op}: dim -?\d+ is out of range"):
        call()


@pytest.mark.parametrize(("call", "error", "pattern"), [
    (lambda: tg.where(tg.ones(2), tg.ones(2), tg.ones(2)), TypeError, "where: condition must be a bool"),
    (lambda: tg.ones(2).clamp(), ValueError, "clamp: at least one"),
    (lambda: tg.ones(4).chunk(0), ValueError, "chunk: chunks must be at least 1"),
    (lambda: tg.tensor([[1.0], [1.0, 2.0]]), ValueError, "tensor: "),
    (lambda: tg.tensor(["a"]), TypeError, "tensor: "),
    (lambda: tg.ones(2, 3).item(), ValueError, r"item: .*\(2, 3\)"),
    (lambda: tg.ones(2).gelu(approximate="fast"), ValueError, "gelu: approximate"),
    (lambda: tg.arange(3).mean(), TypeError, "mean: needs a floating point tensor"),
    (lambda: tg.arange(3).var(), TypeError, "var: needs a floating point tensor"),
    (lambda: tg.arange(3).softmax(0), TypeError, "softmax: needs a floating point tensor"),
    (lambda: tg.zeros(0, 3).amax(), RuntimeError, r"amax: .*\(0, 3\)"),
])
def test_other_bad_arguments_raise_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ---- engine errors not covered by test_autograd_engine.py ---------------------------------


def test_grad_with_respect_to_a_tensor_that_needs_no_grad_raises():
    x, c = tg.randn(3, requires_grad=True), tg.randn(3)
    with pytest.raises(RuntimeError, match=r"grad: input 1 \(shape \(3,\)\) does not require grad"):
        grad((x * c).sum(), [x, c])


def test_second_grad_call_through_a_freed_graph_raises_naming_the_op():
    x = tg.randn(3, requires_grad=True)
    y = x.exp().sum()
    grad(y, x)
    with pytest.raises(RuntimeError, match=re.escape("Backward0: trying to backward through the graph a second time")):
        grad(y, x)


def test_backward_of_output_computed_under_no_grad_raises():
    x = tg.randn(3, requires_grad=True)
    with tg.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_backward_of_non_scalar_names_the_shape():
    y = tg.randn(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\)"):
        y.backward()


class _NumpyBackwardSquare(Function):
    """A custom op whose backward uses NumPy directly.

    Forward:   y = x²
    Backward:  ∂L/∂x = 2 g x      (computed on arrays: not differentiable again)
    """

    formula = ("2 * g * x",)
    once_differentiable = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data**2

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 2 * grad_output.data * x.data


def test_once_differentiable_op_works_once_and_refuses_grad_of_grad_naming_the_op():
    x = tg.tensor([1.0, -3.0], requires_grad=True)
    (g,) = grad(_NumpyBackwardSquare.apply(x).sum(), x)
    np.testing.assert_array_equal(g.data, [2.0, -6.0])
    with pytest.raises(NotImplementedError, match=r"^_NumpyBackwardSquare: .*once_differentiable"):
        grad(_NumpyBackwardSquare.apply(x).sum(), x, create_graph=True)
