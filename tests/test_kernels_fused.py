"""The fused C kernels (csrc/fused.c) against the NumPy reference and PyTorch.

``backend.numpy_ref`` is the definition of correct: softmax-cross-entropy forward and backward,
bias + activation and its backward, and the Linear forward must agree with it on shapes drawn
by hypothesis (one row, one class, large logits ±1e4, −inf logits and all −inf rows, ignored
rows, class weights, label smoothing, non-contiguous inputs), in float32 and float64; the
reference itself is checked against PyTorch. Bad dtypes or shapes raise a ValueError naming
the op before C runs; a target out of range raises IndexError from both backends.

fused.c is plain C compiled with -O3 (auto-vectorised at the baseline instruction set): it
has no per-ISA code path and no threads, so there is no ISA or thread parametrisation here.
Its e^x (csrc/vexp.inc, exposed as tg_exp) is checked against np.exp to 1 ulp over the whole
range; the LSTM cell compiles the same file at every ISA level (tests/test_kernels_lstm.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c

DTYPES = st.sampled_from([np.float32, np.float64])
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
IGNORE = -100


def assert_close(actual: np.ndarray, expected: np.ndarray, scale: float = 1.0) -> None:
    """Same shape and dtype; equal up to the dtype's rtol (NaN where NaN), relative to max(|expected|, scale)."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    rtol = RTOL[expected.dtype.type]
    finite = np.abs(expected[np.isfinite(expected)])
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * max(scale, float(np.max(finite, initial=0.0))),
                               equal_nan=True)


@st.composite
def cross_entropy_problems(draw):
    """(x, target, weight, label_smoothing): logits with optional huge values and −inf entries."""
    rows, classes = draw(st.integers(1, 9)), draw(st.integers(1, 12))
    dtype = draw(DTYPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((rows, classes)) * draw(st.sampled_from([1.0, 30.0, 1e4]))
    target = rng.integers(0, classes, rows)
    target[rng.random(rows) < draw(st.sampled_from([0.0, 0.3]))] = IGNORE
    if draw(st.booleans()):  # −inf logits away from the targets (a masked class)
        masked = rng.random((rows, classes)) < 0.3
        masked[np.arange(rows), np.maximum(target, 0)] = False
        x[masked] = -np.inf
    weight = rng.uniform(0.2, 2.0, classes) if draw(st.booleans()) else np.ones(classes)
    if not draw(st.booleans()):
        x = np.asfortranarray(x)  # non-contiguous rows: the adapter copies
    return x.astype(dtype), target, weight.astype(dtype), draw(st.sampled_from([0.0, 0.1, 0.5]))


@settings(max_examples=60, deadline=None)
@given(problem=cross_entropy_problems(), seed=st.integers(0, 2**16))
def test_cross_entropy_c_matches_numpy(problem, seed):
    x, target, weight, smoothing = problem
    loss, probs, row_weight, totals = ref.cross_entropy(x, target, weight, IGNORE, smoothing)
    c_loss, c_probs, c_row_weight, c_totals = c.cross_entropy(x, target, weight, IGNORE, smoothing)
    for actual, expected in zip((c_loss, c_probs, c_row_weight), (loss, probs, row_weight)):
        assert_close(actual, expected)
    # the totals, float64 sums of the unrounded per-row values: the two backends round (1 − ε)·w differently
    rtol = RTOL[x.dtype.type]
    atol = rtol * x.shape[0] * max(1.0, float(np.max(np.abs(loss[np.isfinite(loss)]), initial=0.0)))
    np.testing.assert_allclose(c_totals, totals, rtol=rtol, atol=atol)
    np.testing.assert_allclose(totals, [loss.astype(np.float64).sum(), row_weight.astype(np.float64).sum()],
                               rtol=rtol, atol=atol)
    assert totals.dtype == c_totals.dtype == np.float64 and totals.shape == c_totals.shape == (2,)
    scale = np.random.default_rng(seed).standard_normal(x.shape[0]).astype(x.dtype)
    assert_close(c.cross_entropy_grad(probs, target, weight, scale, IGNORE, smoothing),
                 ref.cross_entropy_grad(probs, target, weight, scale, IGNORE, smoothing))


def _torch_cross_entropy(x, target, weight, smoothing, scale):
    """PyTorch's per-row loss and ∂(Σ scale·loss)/∂x."""
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    loss = torch.nn.functional.cross_entropy(xt, torch.from_numpy(target), weight=torch.from_numpy(weight),
                                             ignore_index=IGNORE, reduction="none", label_smoothing=smoothing)
    (loss * torch.from_numpy(scale)).sum().backward()
    return loss.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("backend_module", ["numpy", "c"])
@settings(max_examples=25, deadline=None)
@given(problem=cross_entropy_problems())
def test_cross_entropy_matches_torch(backend_module, problem):
    x, target, weight, smoothing = problem
    x, weight = x.astype(np.float64), weight.astype(np.float64)
    if smoothing and np.isinf(x).any():  # PyTorch's smoothing term is 0·(−inf) = nan there; ours too, by design
        smoothing = 0.0
    kernels = ref if backend_module == "numpy" else c
    scale = np.linspace(-1.0, 2.0, x.shape[0])
    loss, probs, _, totals = kernels.cross_entropy(x, target, weight, IGNORE, smoothing)
    grad = kernels.cross_entropy_grad(probs, target, weight, scale, IGNORE, smoothing)
    torch_loss, torch_grad = _torch_cross_entropy(x, target, weight, smoothing, scale)
    np.testing.assert_allclose(loss, torch_loss, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(x[np.isfinite(x)]).max()))
    np.testing.assert_allclose(grad, torch_grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(totals[0], torch_loss.sum(), rtol=1e-10, atol=1e-10 * max(1.0, np.abs(torch_loss).sum()))
    np.testing.assert_allclose(totals[1], weight[target[target != IGNORE]].sum(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_edge_rows_match_torch(dtype):
    """Huge logits stay finite; an all −inf row is nan (as PyTorch); one class gives loss 0 and grad 0."""
    x = np.array([[1e4, -1e4, 0.0], [-np.inf, -np.inf, -np.inf], [-1e4, 1e4, 1e4]], dtype=dtype)
    target, weight = np.array([1, 0, 2]), np.ones(3, dtype)
    scale = np.ones(3, dtype)
    torch_loss, torch_grad = _torch_cross_entropy(x.astype(np.float64), target, weight.astype(np.float64), 0.0,
                                                  scale.astype(np.float64))
    for kernels in (ref, c):
        loss, probs, _, totals = kernels.cross_entropy(x, target, weight, IGNORE, 0.0)
        np.testing.assert_allclose(loss, torch_loss.astype(dtype), rtol=1e-6, equal_nan=True)
        assert np.isnan(totals[0]) and totals[1] == 3  # the all −inf row's nan reaches the sum
        grad = kernels.cross_entropy_grad(probs, target, weight, scale, IGNORE, 0.0)
        np.testing.assert_allclose(grad, torch_grad.astype(dtype), rtol=1e-6, atol=1e-7, equal_nan=True)
        assert np.isfinite(loss[[0, 2]]).all() and np.isnan(loss[1])
        one_class = kernels.cross_entropy(x[:, :1], np.zeros(3, np.int64), weight[:1], IGNORE, 0.1)
        assert np.array_equal(one_class[0][[0, 2]], np.zeros(2, dtype))
        assert np.array_equal(one_class[1][[0, 2]], np.ones((2, 1), dtype))  # softmax of one class
        assert not kernels.cross_entropy_grad(one_class[1][[0, 2]], np.zeros(2, np.int64), weight[:1], scale[:2],
                                              IGNORE, 0.1).any()


# ---- the vectorised e^x of the softmax (csrc/vexp.inc, through tg_exp) -------------------------


def _vexp(x: np.ndarray, y: np.ndarray | None = None, n: int | None = None) -> np.ndarray:
    """tg_exp_f32 / _f64 of a contiguous x into y (new if None) for n = x.size elements unless given."""
    kernel, ctype = (c.lib.tg_exp_f32, "float[]") if x.dtype == np.float32 else (c.lib.tg_exp_f64, "double[]")
    y = np.empty_like(x) if y is None else y
    status = kernel(c.ffi.from_buffer(ctype, x), c.ffi.from_buffer(ctype, y, require_writable=True),
                    x.size if n is None else n)
    assert status == (0 if n is None or n >= 0 else 1)  # 1: TG_FUSED_BAD_SHAPE
    return y


def _ulps(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """How many representable values lie between actual and expected (≥ 0 results, inf included; NaN → 0
    where both are NaN, a huge count where only one is)."""
    ints = np.int32 if actual.dtype == np.float32 else np.int64
    both_nan = np.isnan(actual) & np.isnan(expected)
    distance = np.abs(actual.view(ints).astype(np.int64) - expected.view(ints).astype(np.int64))
    return np.where(both_nan, 0, np.where(np.isnan(actual) | np.isnan(expected), 2**62, distance))


@pytest.mark.parametrize("dtype, lo, hi", [(np.float32, -110.0, 95.0), (np.float64, -760.0, 720.0)])
def test_vexp_within_one_ulp_over_the_whole_range(dtype, lo, hi):
    """A dense sweep from below the last subnormal to above the overflow threshold: every result is within
    1 ulp of e^x correctly rounded (float32: float64's exp rounded once; float64: np.exp, itself < 1 ulp)."""
    x = np.linspace(lo, hi, 1_000_003).astype(dtype)
    with np.errstate(over="ignore", under="ignore"):
        expected = np.exp(x.astype(np.float64)).astype(dtype) if dtype == np.float32 else np.exp(x)
    ulps = _ulps(_vexp(x), expected)
    assert ulps.max() <= 1, (x[ulps.argmax()], _vexp(x)[ulps.argmax()], expected[ulps.argmax()])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vexp_edge_values(dtype):
    """±0 → 1, +inf and everything above ln(max) → inf, −inf and below ln(min subnormal / 2) → 0,
    subnormal results, NaN → NaN, the largest finite result; in place (y = x) and n = 0 too."""
    info = np.finfo(dtype)
    log_max = dtype(np.log(np.float64(info.max)))
    while np.exp(np.float64(log_max)) > info.max:  # the largest x of T with a finite e^x
        log_max = np.nextafter(log_max, dtype(-1))
    log_tiny, log_smallest = np.log(np.float64(info.tiny)), np.log(np.float64(info.smallest_subnormal))
    x = np.array([0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30, np.inf, -np.inf, np.nan, -np.nan,
                  np.nextafter(log_max, dtype(-1)), log_max, np.nextafter(log_max, dtype(1e9)), log_max + 1, 1e4,
                  info.max, log_tiny, log_tiny - 1, log_smallest, log_smallest - 0.7, log_smallest - 1, -1e4,
                  -info.max, info.tiny, info.smallest_subnormal], dtype=dtype)
    with np.errstate(over="ignore", under="ignore"):
        expected = np.exp(x.astype(np.float64)).astype(dtype)
    y = _vexp(x)
    assert _ulps(y, expected).max() <= 1, np.stack([x, y, expected])
    assert np.isnan(y[8:10]).all() and (y[:2] == 1).all() and y[15] == np.inf and y[22] == 0 and y[7] == 0
    assert info.max / 2 < y[11] < np.inf and y[12] == np.inf  # the largest finite result, then overflow
    assert 0 < y[-7] < info.tiny  # a subnormal result
    in_place = x.copy()
    assert np.array_equal(_vexp(in_place, in_place), y, equal_nan=True)
    assert _vexp(x[:0]).size == 0
    untouched = np.ones(4, dtype)
    assert np.array_equal(_vexp(x[:4], untouched, n=-1), np.ones(4, dtype))  # a negative count: status 1


# ---- bias + activation, Linear ----------------------------------------------------------------


@st.composite
def activation_problems(draw):
    """(x, bias or None, activation): 0-d to 3-D, rows may be 0, NaN and exact zeros included."""
    shape = draw(st.sampled_from([(), (1,), (7,), (0, 5), (3, 1), (4, 33), (2, 3, 17), (64, 256)]))
    dtype = draw(DTYPES)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal(shape).astype(dtype)
    if x.size:
        x.flat[rng.integers(0, x.size, 3)] = draw(st.sampled_from([0.0, np.nan]))
    bias = rng.standard_normal(shape[-1:]).astype(dtype) if shape and draw(st.booleans()) else None
    return x, bias, draw(st.sampled_from(ref.ACTIVATIONS))


@settings(max_examples=60, deadline=None)
@given(problem=activation_problems(), bias_grad=st.booleans())
def test_bias_act_and_grad_c_match_numpy(problem, bias_grad):
    x, bias, activation = problem
    y = ref.bias_act(x, bias, activation)
    np.testing.assert_array_equal(c.bias_act(x, bias, activation), y)  # one add and one max: exact
    g = np.linspace(-1, 1, x.size).reshape(x.shape).astype(x.dtype)
    bias_grad = bias_grad and x.ndim > 0
    gx, gbias = c.act_grad(g, y, activation, bias_grad)
    ref_gx, ref_gbias = ref.act_grad(g, y, activation, bias_grad)
    np.testing.assert_array_equal(gx, ref_gx)
    assert gx.dtype == x.dtype and gx.shape == x.shape
    if bias_grad:
        assert_close(gbias, ref_gbias)
    else:
        assert gbias is None and ref_gbias is None


def test_relu_kernels_match_torch():
    """NaN stays NaN forward; the slope is 0 at 0 and where y is NaN (PyTorch's threshold_backward)."""
    x = np.array([-2.0, -0.0, 0.0, 0.5, np.nan, 3.0])
    xt = torch.from_numpy(x).requires_grad_()
    yt = torch.relu(xt)
    yt.backward(torch.arange(1.0, 7.0, dtype=torch.float64))
    for kernels in (ref, c):
        y = kernels.bias_act(x, None, "relu")
        np.testing.assert_array_equal(y, yt.detach().numpy())
        np.testing.assert_array_equal(kernels.act_grad(np.arange(1.0, 7.0), y, "relu", False)[0], xt.grad.numpy())


@settings(max_examples=30, deadline=None)
@given(batch=st.sampled_from([(), (1,), (5,), (2, 3)]), n_in=st.integers(1, 40), n_out=st.integers(1, 20),
       dtype=DTYPES, with_bias=st.booleans(), activation=st.sampled_from(ref.ACTIVATIONS), seed=st.integers(0, 99))
def test_linear_c_matches_numpy_and_torch(batch, n_in, n_out, dtype, with_bias, activation, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*batch, n_in)).astype(dtype)
    w = np.asfortranarray(rng.standard_normal((n_out, n_in))).astype(dtype)  # a transposed layout too
    b = rng.standard_normal(n_out).astype(dtype) if with_bias else None
    y = ref.linear(x, w, b, activation)
    assert_close(c.linear(x, w, b, activation), y, scale=float(np.sqrt(n_in)))
    yt = torch.nn.functional.linear(torch.from_numpy(x), torch.from_numpy(np.ascontiguousarray(w)),
                                    None if b is None else torch.from_numpy(b))
    expected = (yt.relu() if activation == "relu" else yt).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


def test_linear_mixed_dtypes_fall_back_to_the_reference():
    x, w = np.ones((2, 3), np.float32), np.ones((4, 3), np.float64)
    with tg.backend.using("c"):  # c.linear raises NoKernelError, the dispatcher runs the reference
        y = tg.backend.linear(x, w, None, "relu")
    assert y.dtype == np.float64 and np.array_equal(y, ref.linear(x, w, None, "relu"))


# ---- bad input ------------------------------------------------------------------------------


X32, T3, W4 = np.zeros((3, 4), np.float32), np.array([0, 1, 2]), np.ones(4, np.float32)


@pytest.mark.parametrize("args, pattern", [
    ((X32.astype(np.int32), T3, W4), "cross_entropy: expected float32/float64"),
    ((X32, T3, W4.astype(np.float64)), "cross_entropy: expected float32/float64"),
    ((X32, T3.astype(np.float32), W4), "cross_entropy: expected float32/float64"),
    ((X32[0], T3, W4), r"cross_entropy: expected logits \(N, C\)"),
    ((X32, T3[:2], W4), r"cross_entropy: expected logits \(N, C\)"),
    ((X32, T3, W4[:3]), r"cross_entropy: expected logits \(N, C\)"),
], ids=["int-logits", "weight-dtype", "float-target", "1-d", "short-target", "short-weight"])
@pytest.mark.parametrize("kernels", ["numpy", "c"])
def test_cross_entropy_bad_input_raises_value_error(kernels, args, pattern):
    module = ref if kernels == "numpy" else c
    with pytest.raises(ValueError, match=pattern):
        module.cross_entropy(*args, IGNORE, 0.0)
    with pytest.raises(ValueError, match=pattern + "|cross_entropy_grad"):
        module.cross_entropy_grad(*args, np.ones(3, np.float32), IGNORE, 0.0)


@pytest.mark.parametrize("kernels", ["numpy", "c"])
@pytest.mark.parametrize("bad", [4, -1, 100])
def test_target_out_of_range_raises_index_error(kernels, bad):
    module = ref if kernels == "numpy" else c
    target = np.array([0, bad, IGNORE])
    with pytest.raises(IndexError, match=r"cross_entropy: target class out of range \[0, 4\)"):
        module.cross_entropy(X32, target, W4, IGNORE, 0.0)
    with pytest.raises(IndexError, match=r"cross_entropy_grad: target class out of range"):
        module.cross_entropy_grad(X32, target, W4, np.ones(3, np.float32), IGNORE, 0.0)


def test_c_adapter_rejects_bad_activation_inputs():
    with pytest.raises(ValueError, match="bias_act: activation must be one of"):
        c.bias_act(X32, None, "tanh")
    with pytest.raises(ValueError, match=r"bias_act: bias of shape \(3,\) does not fit an input of shape \(3, 4\)"):
        c.bias_act(X32, W4[:3], "relu")
    with pytest.raises(ValueError, match="act_grad: gradient of shape"):
        c.act_grad(X32, X32[:2], "relu", True)
    with pytest.raises(ValueError, match="act_grad: expected float32 or float64"):
        c.act_grad(X32, X32.astype(np.float64), "relu", False)
    with pytest.raises(ValueError, match="linear: activation must be one of"):
        c.linear(X32, X32, None, "gelu")
    with pytest.raises(ValueError, match=r"cross_entropy_grad: scale must have shape \(3,\)"):
        c.cross_entropy_grad(X32, T3, W4, np.ones(2, np.float32), IGNORE, 0.0)
