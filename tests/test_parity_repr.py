"""repr(tensor) against PyTorch's, character for character (dtype names mapped: torch.float64 is
tg.float64): number style and width, wrapping, nesting, summaries, suffixes, print options."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
INF, NAN = float("inf"), float("nan")
CASES = {
    "whole floats": np.array([1.0, 2.0, 3.0], np.float32),
    "fixed point": np.array([1.5, 2.0, 3.0], np.float32),
    "negative fixed point": np.array([-1.25, 0.5, -3.0], np.float32),
    "tiny: scientific": np.array([1e-5, 1.0], np.float32),
    "1e-4 in float32 is below 1e-4": np.array([1e-4, 1.0], np.float32),
    "huge: scientific": np.array([1e9, 1.0], np.float32),
    "ratio 1000: whole": np.array([1.0, 1000.0], np.float32),
    "ratio 1001: scientific": np.array([1.0, 1001.0], np.float32),
    "ratio 1000, not whole": np.array([1.5, 1000.0], np.float32),
    "zero nan inf": np.array([0.0, NAN, INF], np.float32),
    "infinities": np.array([INF, -INF], np.float32),
    "signed zeros": np.array([-0.0, 0.0], np.float32),
    "all small": np.array([3e-10, -1e-9, 2e-10]),
    "float64 matrix": np.array([[1.123456, -2.0], [3.0, 4.0]]),
    "normal float32": RNG.standard_normal((3, 4)).astype(np.float32),
    "normal float64": RNG.standard_normal((2, 5)),
    "wraps at 80 columns": (np.arange(30.0) / 7).astype(np.float32),
    "3-d": np.arange(24.0, dtype=np.float32).reshape(2, 3, 4),
    "4-d": RNG.standard_normal((2, 2, 2, 2)).astype(np.float32),
    "one element": np.array([7.25], np.float32),
    "0-d fixed": np.array(3.5, np.float32),
    "0-d whole": np.array(2.0, np.float32),
    "0-d nan": np.array(NAN, np.float32),
    "0-d int": np.array(-5),
    "bools": np.array([True, False, True]),
    "0-d bool": np.array(False),
    "ints": np.array([1, -10, 100]),
    "int32": np.array([1, 2], np.int32),
    "uint8": np.array([[0, 255], [7, 8]], np.uint8),
    "int8": np.array([-128, 5], np.int8),
    "float16": np.array([0.1, 0.2], np.float16),
    "long int vector": np.arange(100),
    "summary 1-d": np.arange(2000.0, dtype=np.float32),
    "summary 2-d ints": np.arange(5000).reshape(50, 100),
    "summary 3-d": RNG.standard_normal((10, 20, 30)).astype(np.float32),
    "summary, short dims kept": RNG.standard_normal((2, 600)),
    "empty": np.zeros(0, np.float32),
    "empty 2-d": np.zeros((2, 0)),
    "empty int": np.zeros(0, np.int64),
    "empty 3-d float32": np.zeros((0, 2, 3), np.float32),
}


def _torch_repr(t) -> str:
    """torch's repr with its dtype names as ours (tg.float64). ``dtype=tg.float64`` is 3 characters
    shorter than ``dtype=torch.float64``, so it may fit on a line where torch's wrapped: the
    suffixes are joined onto one line on both sides (their wrapping is tested in float32)."""
    return _suffixes_on_one_line(repr(t).replace("torch.", "tg."))


def _suffixes_on_one_line(text: str) -> str:
    return re.sub(r",\n +(dtype=|grad_fn=|requires_grad=)", r", \1", text)


@pytest.mark.parametrize("case", CASES)
def test_repr_as_torch(case):
    a = CASES[case]
    ours, theirs = tg.tensor(a), torch.tensor(a)
    assert _suffixes_on_one_line(repr(ours)) == _torch_repr(theirs)
    assert str(ours) == repr(ours)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_repr_with_requires_grad_and_grad_fn_as_torch(dtype):
    a, b = RNG.standard_normal((2, 3)).astype(dtype), RNG.standard_normal(9).astype(dtype)
    for lib in (tg, torch):
        x = lib.tensor(a, requires_grad=True)
        long = lib.tensor(b, requires_grad=True)
        shown = [x, x * 2.0, x.sum(), (x * x).exp(), long * 3.0]
        if lib is tg:
            ours = [_suffixes_on_one_line(repr(t)) for t in shown]
        else:
            theirs = [_torch_repr(t) for t in shown]
    assert ours == theirs


def test_suffix_on_its_own_line_when_it_does_not_fit_as_torch():
    a = np.linspace(-2.0, 2.0, 16).astype(np.float32)  # two full lines of 8
    reprs = [repr(lib.tensor(a, requires_grad=True) * 3.0) for lib in (tg, torch)]
    assert reprs[0] == reprs[1]
    assert reprs[0].endswith(",\n       grad_fn=<MulBackward0>)")


OPTIONS = {
    "precision 2": {"precision": 2},
    "precision 6": {"precision": 6},
    "sci_mode on": {"sci_mode": True},
    "sci_mode off": {"sci_mode": False},
    "narrow lines": {"linewidth": 40},
    "low threshold": {"threshold": 10, "edgeitems": 2},
    "profile short": {"profile": "short"},
    "profile full": {"profile": "full"},
}


@pytest.fixture
def restore_print_options():
    yield
    tg.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("option", OPTIONS)
def test_set_printoptions_as_torch(option, restore_print_options):
    tg.set_printoptions(**OPTIONS[option])
    torch.set_printoptions(**OPTIONS[option])
    for a in (np.arange(30.0) / 7, np.array([1.0, 2.0, 3000.0]), np.array([1e-6, 2.5]),
              np.arange(1500.0).reshape(30, 50), RNG.standard_normal((4, 5)).astype(np.float32)):
        assert _suffixes_on_one_line(repr(tg.tensor(a))) == _torch_repr(torch.tensor(a))


def test_set_printoptions_rejects_an_unknown_profile():
    with pytest.raises(ValueError, match="profile must be one of"):
        tg.set_printoptions(profile="long")


@pytest.mark.parametrize("spec", ["", ".3f", ">12.2e", "+.1%"])
def test_format_of_a_0d_tensor_is_its_number_as_torch(spec):
    for a in (np.array(0.123456, np.float32), np.array(-2.5), np.array(7), np.array(True)):
        assert format(tg.tensor(a), spec) == format(torch.tensor(a), spec)


def test_format_of_a_vector_as_torch():
    a = np.array([1.0, 2.5])
    assert f"{tg.tensor(a)}" == _suffixes_on_one_line(f"{torch.tensor(a)}".replace("torch.", "tg."))
    for lib in (tg, torch):
        with pytest.raises(TypeError):
            format(lib.tensor(a), ".3f")
