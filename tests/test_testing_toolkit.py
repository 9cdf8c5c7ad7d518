"""tg.testing: assert_matches_torch catches wrong ops, the strategies keep their promises,
and the gradient at every documented kink is PyTorch's."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given

import tinygrad_edu as tg
from tinygrad_edu import testing
from tinygrad_edu.autograd import Function
from tinygrad_edu.testing import strategies as tst

torch = pytest.importorskip("torch")


# ---- assert_matches_torch ----------------------------------------------------------------


class SinWrongBackward(Function):
    """y = sin x, with a backward that differentiates to sin instead of cos (a typical slip)."""

    formula = ("g * sin(x)",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x.data)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.saved_tensors[0].sin()


def test_matching_ops_pass_in_float64_and_float32():
    for dtype in (np.float64, np.float32):
        testing.assert_matches_torch(lambda x, w, b: (x @ w + b).tanh().sum(1),
                                     lambda x, w, b: (x @ w + b).tanh().sum(1), (5, 3), (3, 4), (4,), dtype=dtype)


def test_zero_dimensional_inputs_broadcast_like_torch():
    for dtype in (np.float64, np.float32):
        testing.assert_matches_torch(lambda s, v: (s * v).sum(), lambda s, v: (s * v).sum(), (), (3,), dtype=dtype)


def test_wrong_forward_is_caught_with_its_worst_element():
    x = np.array([[0.0, 1.0], [2.0, -3.0]])
    with pytest.raises(testing.MismatchError, match=r"output 0 differs.*worst at \(1, 1\)"):
        testing.assert_matches_torch(lambda t: t * 1.0 + (t < -2.5) * 0.5, lambda t: t * 1.0, x)


def test_matching_infinities_pass_quietly_and_opposite_ones_fail():
    x = np.array([[1.0, 0.0], [-1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inf − inf inside the comparison must not warn
        testing.assert_matches_torch(lambda t: t / 0.0, lambda t: t / 0.0, x)
    with pytest.raises(testing.MismatchError, match=r"worst at \(0, 0\): tinygrad_edu -inf, torch inf"):
        testing.assert_matches_torch(lambda t: -t / 0.0, lambda t: t / 0.0, x)


def test_wrong_backward_is_caught_even_though_the_forward_agrees():
    with pytest.raises(testing.MismatchError, match="gradient of input 0"):
        testing.assert_matches_torch(SinWrongBackward.apply, torch.sin, (4, 3))


class ReverseWrongBackward(Function):
    """y = x reversed, with a backward that forgets to reverse g back."""

    formula = ("g",)

    @staticmethod
    def forward(ctx, x):
        return x.data[::-1].copy()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


def test_a_backward_that_permutes_elements_is_caught():
    """Seeded with out.sum() (g = 1 everywhere) this bug is invisible; a random g exposes it."""
    x = tg.tensor(np.arange(4.0), requires_grad=True)
    ReverseWrongBackward.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(4))  # looks right
    with pytest.raises(testing.MismatchError, match="gradient of input 0"):
        testing.assert_matches_torch(ReverseWrongBackward.apply, lambda t: t.flip(0), (4,))


def test_dtype_and_shape_mismatches_are_reported():
    with pytest.raises(testing.MismatchError, match="is float64, torch gives float32"):
        testing.assert_matches_torch(lambda t: t.double(), lambda t: t * 1, (3,), dtype=np.float32)
    with pytest.raises(testing.MismatchError, match=r"shape \(3, 1\), torch gives \(3,\)"):
        testing.assert_matches_torch(lambda t: t.unsqueeze(1), lambda t: t * 1, (3,))


def test_integer_inputs_pass_through_without_gradients():
    index = np.array([2, 0, 1])
    testing.assert_matches_torch(lambda x, i: x[i] * 2, lambda x, i: x[i] * 2, (3, 2), index)


def test_tolerances_depend_on_dtype():
    """A relative error of 1e-5 passes in float32 and fails in float64."""
    x = np.linspace(1.0, 2.0, 6)
    nudge = lambda t: t * (1 + 1e-5)  # noqa: E731
    testing.assert_matches_torch(nudge, lambda t: t * 1, x.astype(np.float32), check_grad=False)
    with pytest.raises(testing.MismatchError, match="rtol=1e-07"):
        testing.assert_matches_torch(nudge, lambda t: t * 1, x, check_grad=False)
    testing.assert_matches_torch(nudge, lambda t: t * 1, x, rtol=1e-4, check_grad=False)


def test_missing_torch_raises_an_import_error(monkeypatch):
    def no_torch(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(testing.importlib, "import_module", no_torch)
    with pytest.raises(testing.TorchUnavailableError, match="needs PyTorch"):
        testing.assert_matches_torch(lambda t: t, lambda t: t, (2,))
    assert issubclass(testing.TorchUnavailableError, ImportError)


def test_importing_the_library_imports_neither_torch_nor_hypothesis():
    """torch is only an oracle and hypothesis a test extra: tg.testing loads them on demand."""
    code = ("import sys, tinygrad_edu as tg; tg.testing.assert_matches_torch; "
            "print(sorted(m for m in ('torch', 'hypothesis') if m in sys.modules)); "
            "tg.testing.strategies.broadcastable_shapes; print('hypothesis' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "True"]  # strategies load hypothesis on first use


def test_gradcheck_reexports_are_the_autograd_ones():
    assert testing.gradcheck is tg.autograd.gradcheck and testing.gradgradcheck is tg.autograd.gradgradcheck
    x = tg.tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    with pytest.raises(testing.GradcheckError, match="analytic"):
        testing.gradcheck(SinWrongBackward.apply, [x])


# ---- gradients at kinks: the documented conventions, against PyTorch ----------------------

KINKS = {
    "relu'(0) = 0": (lambda t: t.relu(), np.array([-1.0, 0.0, 0.0, 2.0])),
    "abs'(0) = 0": (lambda t: t.abs(), np.array([-1.0, 0.0, 3.0])),
    "max() ties share evenly": (lambda t: t.max(), np.array([1.0, 3.0, 3.0, 3.0])),
    "min() ties share evenly": (lambda t: t.min(), np.array([-2.0, 1.0, -2.0])),
    "amax ties share evenly": (lambda t: t.amax(1), np.array([[1.0, 1.0], [0.0, 2.0]])),
    "max(dim) to the returned index": (lambda t: t.max(1), np.array([[5.0, 5.0, 1.0], [2.0, 7.0, 7.0]])),
    "maximum(x, w) tie halves": (lambda t: tg.maximum(t, t * 0 + 1.0), np.array([1.0, 0.0, 2.0])),
    "clamp boundary passes": (lambda t: t.clamp(-1.0, 1.0), np.array([-2.0, -1.0, 0.0, 1.0, 2.0])),
}


def _torch_twin(name: str):
    return {
        "relu'(0) = 0": torch.relu,
        "abs'(0) = 0": torch.abs,
        "max() ties share evenly": lambda t: t.max(),
        "min() ties share evenly": lambda t: t.min(),
        "amax ties share evenly": lambda t: t.amax(1),
        "max(dim) to the returned index": lambda t: t.max(1),
        "maximum(x, w) tie halves": lambda t: torch.maximum(t, t * 0 + 1.0),
        "clamp boundary passes": lambda t: t.clamp(-1.0, 1.0),
    }[name]


@pytest.mark.parametrize("name", list(KINKS))
def test_gradient_at_kink_matches_torch(name):
    tg_fn, x = KINKS[name]
    testing.assert_matches_torch(tg_fn, _torch_twin(name), x)


def test_kink_values_literally():
    """The numbers the docstring promises, written out."""
    x = tg.tensor(np.array([1.0, 3.0, 3.0]), requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.5, 0.5])
    x = tg.tensor(np.array([[5.0, 5.0]]), requires_grad=True)
    x.max(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 0.0]])
    x = tg.tensor(np.array([-1.0, 1.0, 0.0]), requires_grad=True)
    x.clamp(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 1.0])


# ---- strategies --------------------------------------------------------------------------


@given(tst.broadcastable_shapes())
def test_broadcastable_shapes_broadcast(shapes):
    a, b = shapes
    np.broadcast_shapes(a, b)  # raises ValueError if the pair were incompatible
    assert len(a) <= 4 and len(b) <= 4


def test_broadcastable_shapes_cover_size_one_and_0d():
    seen = []

    @given(tst.broadcastable_shapes())
    def collect(shapes):
        seen.append(shapes)

    collect()
    flat = [s for pair in seen for s in pair]
    assert any(s == () for s in flat)
    assert any(1 in s and np.broadcast_shapes(*pair) != s for pair in seen for s in pair)


@given(tst.well_conditioned_arrays(tst.shapes(max_dims=3), avoid=(0.0, 1.0), margin=0.25))
def test_well_conditioned_arrays_stay_away_from_kinks(x):
    assert x.dtype == np.float64
    assert np.all(np.abs(x) >= 0.25) and np.all(np.abs(x - 1.0) >= 0.25) and np.all(np.abs(x) <= 3.0)


@given(tst.well_conditioned_arrays((4, 3), np.float32, unique=True, noncontiguous=True))
def test_noncontiguous_unique_float32(x):
    assert x.dtype == np.float32 and x.shape == (4, 3)
    assert not x.flags["C_CONTIGUOUS"]
    assert len(np.unique(x)) == x.size


@given(tst.broadcastable_arrays(avoid=(0.0,)))
def test_strategies_drive_a_torch_comparison(arrays):
    """The intended use: random broadcast pairs, kink-free, checked against PyTorch."""
    a, b = arrays
    testing.assert_matches_torch(lambda x, y: (x * y).relu() / y, lambda x, y: (x * y).relu() / y, a, b)
