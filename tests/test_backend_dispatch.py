"""The dispatcher's one rule (backend/__init__.py) and the C adapter's fast paths (backend/c.py).

Rule: a C adapter raises ``NoKernelError`` (a ValueError naming the op) for arguments it has no
kernel for (float16, integers, mixed or non-native dtypes, an optimiser state that is not
C-contiguous), before doing any work; the dispatcher then runs the NumPy reference. Float32
and float64 arguments run in C. Both halves are checked for every kernel that has the rule.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in backend.available(),
                                reason="the C extension is not built (pip install -e .)")

if "c" in backend.available():
    from tinygrad_edu.backend import c


def _arrays(dtype) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    r = lambda *shape: rng.standard_normal(shape).astype(dtype)  # noqa: E731
    return dict(a=r(3, 4), b=r(4, 2), x=r(2, 3, 6, 6), w=r(4, 3, 3, 3), gy=r(2, 4, 4, 4), g=r(2, 3, 3, 3),
                logits=r(3, 5), cw=np.ones(5, dtype), scale=np.ones(3, dtype), bias=r(4), h=r(2, 3), gates=r(2, 12),
                gates3=r(2, 9), m=r(3, 4), v=np.abs(r(3, 4)))


def _calls(dtype) -> dict[str, tuple]:
    """Arguments for every kernel with the rule, all arrays of `dtype` (fresh per call: some update in place)."""
    a = _arrays(dtype)
    target, one, zero = np.array([0, 4, 2]), (1, 1), (0, 0)
    indices = np.zeros((2, 3, 3, 3), np.int64)
    return {
        "matmul": (a["a"], a["b"]),
        "conv2d": (a["x"], a["w"], one, zero, one),
        "conv2d_grad_input": (a["gy"], a["w"], (6, 6), one, zero, one),
        "conv2d_grad_weight": (a["x"], a["gy"], (3, 3), one, zero, one),
        "max_pool2d": (a["x"], (2, 2), (2, 2), zero),
        "max_pool2d_grad": (a["g"], indices, a["x"].shape),
        "avg_pool2d": (a["x"], (2, 2), (2, 2), zero),
        "avg_pool2d_grad": (a["g"], a["x"].shape, (2, 2), (2, 2), zero),
        "cross_entropy": (a["logits"], target, a["cw"], -100, 0.1),
        "cross_entropy_grad": (a["logits"], target, a["cw"], a["scale"], -100, 0.1),
        "bias_act": (a["a"], a["bias"], "relu"),
        "act_grad": (a["a"], a["m"], "relu", True),
        "linear": (a["a"], a["m"], a["bias"][:3], "relu"),
        "lstm_cell": (a["gates"], a["h"]),
        "lstm_cell_backward": (a["h"], a["h"], np.abs(a["gates"]) % 1, a["h"], np.tanh(a["h"])),
        "gru_cell": (a["gates3"], a["gates3"], a["h"]),
        "gru_cell_backward": (a["h"], np.abs(a["gates3"]) % 1, a["gates3"], a["h"]),
        "sgd_update": (a["m"], a["v"], a["m"].copy(), 0.1, 0.9, 0.0, 0.01, False, False, False),
        "adam_update": (a["m"], a["v"], np.zeros_like(a["m"]), np.zeros_like(a["m"]), None, 0.1, 0.9, 0.99, 1e-8,
                        0.0, False, False, 0.1, 0.1),
        "rmsprop_update": (a["m"], a["v"], np.zeros_like(a["m"]), None, None, 0.1, 0.99, 1e-8, 0.0, 0.0, False),
        "adagrad_update": (a["m"], a["v"], np.zeros_like(a["m"]), 0.1, 1e-10, 0.0, False),
        "erf": (a["a"],),
    }


KERNELS = list(_calls(np.float32))
IN_PLACE = {"sgd_update": 0, "adam_update": 0, "rmsprop_update": 0, "adagrad_update": 0}  # updated argument


def _result(name: str, module, args: tuple):
    out = getattr(module, name)(*args)
    return args[IN_PLACE[name]] if name in IN_PLACE else out


def _assert_same(actual, expected) -> None:
    """Equal dtype, shape and values (up to float16-sized rounding), item by item for tuples."""
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for got, want in zip(actual, expected):
            _assert_same(got, want)
    elif expected is None:
        assert actual is None
    else:
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("name", KERNELS)
def test_no_c_kernel_for_float16_runs_the_reference(name, monkeypatch):
    """float16: the C adapter refuses (NoKernelError naming the op, a ValueError) and the dispatcher
    gives exactly the reference's result."""
    with pytest.raises(backend.NoKernelError, match=name.split("_grad")[0].split("_backward")[0]) as info:
        getattr(c, name)(*_calls(np.float16)[name])
    assert isinstance(info.value, ValueError)
    with backend.using("c"):
        got = _result(name, backend, _calls(np.float16)[name])
    _assert_same(got, _result(name, ref, _calls(np.float16)[name]))


@pytest.mark.parametrize("name", KERNELS)
def test_float32_and_float64_run_in_c_not_the_reference(name, monkeypatch):
    """The other half of the rule: with the reference made to fail, float32/float64 still work (so
    they ran in C), and agree with the reference."""
    expected = {dtype: _result(name, ref, _calls(dtype)[name]) for dtype in (np.float32, np.float64)}
    monkeypatch.setattr(ref, name, lambda *args: pytest.fail(f"{name} ran the reference"))
    with backend.using("c"):
        for dtype in (np.float32, np.float64):
            _assert_same(_result(name, backend, _calls(dtype)[name]), expected[dtype])


@pytest.mark.parametrize("dtype", [">f4", ">f8", np.int32, np.bool_])
def test_other_dtypes_never_reach_c(dtype):
    """Non-native byte order and non-float dtypes have no kernel: C never reads them as native floats
    (matmul converts a byte-swapped float to the native type first, as NumPy's promotion does)."""
    a, b = np.arange(12).reshape(3, 4).astype(dtype), np.arange(8).reshape(4, 2).astype(dtype)
    if np.dtype(dtype).kind == "f":
        np.testing.assert_array_equal(c.matmul(a, b), np.matmul(a, b))
    else:
        with pytest.raises(backend.NoKernelError, match="matmul"):
            c.matmul(a, b)
    with backend.using("c"):
        np.testing.assert_array_equal(backend.matmul(a, b), np.matmul(a, b))
    x = np.ones((1, 1, 4, 4), dtype)
    with pytest.raises(backend.NoKernelError, match="conv2d"):
        c.conv2d(x, x[:, :, :2, :2], (1, 1), (0, 0), (1, 1))
    with pytest.raises(backend.NoKernelError, match="max_pool2d"):
        c.max_pool2d(x, (2, 2), (2, 2), (0, 0))


def test_float16_tensors_train_on_the_c_backend():
    """End to end through the ops: a float16 conv + pool + linear graph runs forward and backward."""
    with backend.using("c"):
        x = tg.Tensor(np.ones((2, 1, 6, 6), np.float16), requires_grad=True)
        w = tg.Tensor(np.ones((2, 1, 3, 3), np.float16), requires_grad=True)
        y = tg.nn.functional.max_pool2d(tg.nn.functional.conv2d(x, w), 2).sum()
        y.backward()
    assert x.grad.dtype == w.grad.dtype == np.float16 and float(y.item()) == 2 * 2 * 2 * 2 * 9


# ---- matmul's fast path (c.matmul) ----------------------------------------------------------------


def test_matmul_first_call_in_a_new_thread_and_later_calls():
    """The fast path needs this thread's workspace; the first call makes it (general path)."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 7)).astype(np.float32), rng.standard_normal((7, 3)).astype(np.float32)
    results = []
    worker = threading.Thread(target=lambda: results.extend(c.matmul(a, b) for _ in range(3)))
    worker.start()
    worker.join()
    for y in results:
        np.testing.assert_allclose(y, a @ b, rtol=1e-5)


@pytest.mark.parametrize("layout", ["c", "transposed", "strided", "1-d", "batched", "mixed-dtype"])
def test_matmul_fast_path_layouts(layout):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    if layout == "transposed":
        a, b = np.asfortranarray(a), np.ascontiguousarray(b.T).T
    elif layout == "strided":
        a, b = np.repeat(a, 2, axis=1)[:, ::2], np.repeat(b, 2, axis=0)[::2]
    elif layout == "1-d":
        a = a[0]
    elif layout == "batched":
        a = np.stack([a, 2 * a])
    elif layout == "mixed-dtype":
        a = a.astype(np.float32)
    c.matmul(np.ones((1, 1)), np.ones((1, 1)))  # this thread's workspace exists: the fast path is taken
    y = c.matmul(a, b)
    expected = np.matmul(a, b)
    assert y.dtype == expected.dtype and y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-6 if y.dtype == np.float64 else 1e-5)


def test_matmul_inner_dimension_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: shapes \(2, 3\) and \(4, 2\)"):
        c.matmul(np.ones((2, 3)), np.ones((4, 2)))
