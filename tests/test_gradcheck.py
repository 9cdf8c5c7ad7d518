"""gradcheck and gradgradcheck as user tools: they pass on correct ops and explain failures."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import Function, GradcheckError, gradcheck, gradgradcheck


def _leaf(*shape: int, seed: int = 0) -> tg.Tensor:
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


class CubeDetachedBackward(Function):
    """y = x³ with a first derivative that is right but not differentiable (uses raw arrays)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * tg.Tensor(3 * x.data**2)  # a constant: grad-of-grad loses the 6x term


def test_gradcheck_passes_on_correct_functions_with_several_inputs_and_outputs():
    a, b = _leaf(2, 3), _leaf(3, seed=1)
    assert gradcheck(lambda a, b: (a * b.exp(), (a @ b).sin()), (a, b))


def test_gradcheck_failure_message_shows_worst_element_per_input():
    a = _leaf(2, 2)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: CubeDetachedBackward.apply(a) * 0.0 + a.data.sum() * a, (a,))
    message = str(info.value)
    assert "input 0 (shape (2, 2))" in message
    for word in ("analytic", "numeric", "difference"):
        assert word in message


def test_gradcheck_reports_numbers_that_are_the_real_discrepancy():
    x = _leaf(3)

    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * 3.0  # wrong: should be 2

    with pytest.raises(GradcheckError, match=r"analytic 3, numeric 2(\.0+\d*)?, difference 1"):
        gradcheck(Twice.apply, (x,))
    assert gradcheck(Twice.apply, (x,), raise_exception=False) is False


def test_gradcheck_insists_on_float64():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda a: a * 2.0, (tg.ones(3, requires_grad=True),))


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda a: a * 2.0, (tg.ones(3, dtype=tg.float64),))


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = _leaf(4)
    assert gradcheck(CubeDetachedBackward.apply, (x,))  # first derivatives are right
    with pytest.raises(GradcheckError):
        gradgradcheck(CubeDetachedBackward.apply, (x,))
    assert gradgradcheck(lambda t: t**3, (x,))
