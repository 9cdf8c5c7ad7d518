"""The C convolution and pooling kernels (csrc/conv.c, csrc/pool.c) against the NumPy reference.

``backend.numpy_ref`` is the definition of correct; every C kernel in ``backend.c`` must give
the same result on shapes drawn by hypothesis (batch 1, primes, kernels 1×1 to 7×7, stride,
padding and dilation combinations, odd sizes, non-contiguous inputs), in float32 and float64,
at every instruction-set level this CPU has (AVX-512, AVX2, portable), with 1 and 2 threads
(conv; pooling is single-threaded), and must raise a ValueError naming the op on bad input
before C runs. Convolutions are tested with channel groups too: groups 1-3, depthwise (groups = C)
with channel multipliers 1-5, which covers both the direct depthwise kernels and the im2col route.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from helpers import temporarily
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.backend import numpy_ref as ref

pytestmark = pytest.mark.skipif("c" not in tg.backend.available(),
                                reason="the C extension is not built (python csrc/_build.py)")

if "c" in tg.backend.available():
    from tinygrad_edu.backend import c
    _BEST_ISA = c.lib.tg_isa_level()
else:  # pragma: no cover - the module is skipped
    _BEST_ISA = 0

ISA_NAMES = {0: "portable", 1: "avx2", 2: "avx512"}
# Tolerances relative to the size of the result: float32 sums of up to a few hundred products.
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


ISA_LEVELS = pytest.mark.parametrize("isa", [level for level in ISA_NAMES if level <= _BEST_ISA],
                                     ids=lambda level: ISA_NAMES[level])


@contextlib.contextmanager
def forced_isa(level: int) -> Iterator[None]:
    """Run the block with the conv kernels capped at instruction-set `level`."""
    c.lib.tg_set_isa_level(level)
    try:
        yield
    finally:
        c.lib.tg_set_isa_level(_BEST_ISA)


def thread_count(threads: int) -> contextlib.AbstractContextManager[None]:
    """Run the block with `threads` kernel threads."""
    return temporarily(c.set_num_threads, c.get_num_threads, threads)


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same shape and dtype, and equal up to the dtype's tolerance relative to the largest |value|."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[expected.dtype.type] * scale)


def noncontiguous(a: np.ndarray) -> np.ndarray:
    """The same values in a view whose last two axes are swapped in memory (not C-contiguous)."""
    view = np.ascontiguousarray(a.swapaxes(-1, -2)).swapaxes(-1, -2)
    assert not view.flags.c_contiguous or a.shape[-1] == 1 or a.shape[-2] == 1
    return view


@st.composite
def window_configs(draw, max_kernel: int = 7, with_dilation: bool = True):
    """(input_hw, kernel, stride, padding, dilation) whose padded input fits the dilated kernel."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if with_dilation else (1, 1)
    span = [d * (k - 1) + 1 - 2 * p for k, p, d in zip(kernel, padding, dilation)]
    input_hw = tuple(draw(st.integers(max(1, s), max(1, s) + 12)) for s in span)
    return input_hw, kernel, stride, padding, dilation


def random(rng: np.random.Generator, shape: tuple[int, ...], dtype) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


# ---- convolution ----------------------------------------------------------------------------


@ISA_LEVELS
@settings(max_examples=25)
@given(config=window_configs(), n=st.sampled_from([1, 2, 3]), channels=st.sampled_from([1, 2, 3, 5]),
       out_channels=st.sampled_from([1, 2, 7]), dtype=st.sampled_from([np.float32, np.float64]),
       contiguous=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_c_matches_numpy(isa, config, n, channels, out_channels, dtype, contiguous, seed):
    (H, W), kernel, stride, padding, dilation = config
    rng = np.random.default_rng(seed)
    x = random(rng, (n, channels, H, W), dtype)
    w = random(rng, (out_channels, channels, *kernel), dtype)
    y = ref.conv2d(x, w, stride, padding, dilation)
    gy = random(rng, y.shape, dtype)
    if not contiguous:
        x, w, gy = noncontiguous(x), noncontiguous(w), noncontiguous(gy)
    with forced_isa(isa):
        assert_close(c.conv2d(x, w, stride, padding, dilation), y)
        assert_close(c.conv2d_grad_input(gy, w, (H, W), stride, padding, dilation),
                     ref.conv2d_grad_input(gy, w, (H, W), stride, padding, dilation))
        assert_close(c.conv2d_grad_weight(x, gy, kernel, stride, padding, dilation),
                     ref.conv2d_grad_weight(x, gy, kernel, stride, padding, dilation))


@ISA_LEVELS
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 1, 28, 28, 6, 2), (64, 6, 14, 14, 16, 0), (7, 3, 31, 29, 11, 1)],
                         ids=["lenet-conv1", "lenet-conv2", "one-sample-blocks"])
def test_conv2d_lenet_shapes_c_matches_numpy(isa, threads, shape, dtype, rng):
    """Full batches: several sample blocks, the padded block tail, every ISA path, 1 and 2 threads
    (these batches are above the size where the kernels split the blocks over threads)."""
    N, C, H, W, O, p = shape
    x, w = random(rng, (N, C, H, W), dtype), random(rng, (O, C, 5, 5), dtype)
    one, pad = (1, 1), (p, p)
    y = ref.conv2d(x, w, one, pad, one)
    gy = random(rng, y.shape, dtype)
    with forced_isa(isa), thread_count(threads):
        assert_close(c.conv2d(x, w, one, pad, one), y)
        assert_close(c.conv2d_grad_input(gy, w, (H, W), one, pad, one),
                     ref.conv2d_grad_input(gy, w, (H, W), one, pad, one))
        assert_close(c.conv2d_grad_weight(x, gy, (5, 5), one, pad, one),
                     ref.conv2d_grad_weight(x, gy, (5, 5), one, pad, one))


def check_all_three(x: np.ndarray, w: np.ndarray, gy: np.ndarray, stride, padding, dilation, groups: int) -> None:
    """C forward, ∂x and ∂w equal the NumPy reference (gy: the output gradient, any layout)."""
    kernel, input_hw = w.shape[2:], x.shape[2:]
    assert_close(c.conv2d(x, w, stride, padding, dilation, groups), ref.conv2d(x, w, stride, padding, dilation, groups))
    assert_close(c.conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups),
                 ref.conv2d_grad_input(gy, w, input_hw, stride, padding, dilation, groups))
    assert_close(c.conv2d_grad_weight(x, gy, kernel, stride, padding, dilation, groups),
                 ref.conv2d_grad_weight(x, gy, kernel, stride, padding, dilation, groups))


@ISA_LEVELS
@settings(max_examples=30)
@given(kernel=st.tuples(st.integers(1, 4), st.sampled_from([1, 2, 3, 4, 5, 7])), row_stride=st.integers(1, 3),
       padding=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), extra=st.tuples(st.integers(0, 6), st.integers(0, 40)),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_conv2d_vector_rows_c_matches_numpy(isa, kernel, row_stride, padding, dilation, extra, dtype, seed):
    """Column stride 1, where im2col and col2im copy whole vectors (conv_rows.inc): output rows of 1 to 48
    elements (up to 6 float32 / 12 float64 vectors: 1-4 have their own unrolled copy loops), the kernel widths
    3 and 5 (unrolled in col2im) and others, rows of the output in the padding above and below (padding,
    dilation, row stride)."""
    span = [d * (k - 1) + 1 - 2 * p for k, p, d in zip(kernel, padding, dilation)]
    H, W = (max(1, s) + e for s, e in zip(span, extra))
    rng = np.random.default_rng(seed)
    x, w = random(rng, (2, 3, H, W), dtype), random(rng, (4, 3, *kernel), dtype)
    stride = (row_stride, 1)
    gy = random(rng, ref.conv2d(x, w, stride, padding, dilation).shape, dtype)
    with forced_isa(isa):
        check_all_three(x, w, gy, stride, padding, dilation, 1)


@ISA_LEVELS
@settings(max_examples=30)
@given(config=window_configs(), n=st.sampled_from([1, 2, 3]), groups=st.sampled_from([1, 2, 3]),
       group_channels=st.sampled_from([1, 2, 3]), group_outputs=st.sampled_from([1, 2, 5]),
       dtype=st.sampled_from([np.float32, np.float64]), contiguous=st.booleans(), seed=st.integers(0, 2**16))
def test_grouped_conv2d_c_matches_numpy(isa, config, n, groups, group_channels, group_outputs, dtype, contiguous,
                                        seed):
    """groups 1, 2, 3 with 1-3 input and 1, 2, 5 output channels per group (1 input channel and at
    most 2 outputs: the depthwise kernels), every window combination."""
    (H, W), kernel, stride, padding, dilation = config
    rng = np.random.default_rng(seed)
    x = random(rng, (n, groups * group_channels, H, W), dtype)
    w = random(rng, (groups * group_outputs, group_channels, *kernel), dtype)
    gy = random(rng, ref.conv2d(x, w, stride, padding, dilation, groups).shape, dtype)
    if not contiguous:
        x, w, gy = noncontiguous(x), noncontiguous(w), noncontiguous(gy)
    with forced_isa(isa):
        check_all_three(x, w, gy, stride, padding, dilation, groups)


@ISA_LEVELS
@settings(max_examples=30)
@given(config=window_configs(), n=st.sampled_from([1, 2]), channels=st.sampled_from([1, 2, 5, 8]),
       multiplier=st.sampled_from([1, 2, 3, 5]), column_stride_1=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_depthwise_conv2d_c_matches_numpy(isa, config, n, channels, multiplier, column_stride_1, dtype, seed):
    """groups = C: the direct depthwise kernels for multipliers O/C ≤ 2 (column stride 1: one pass
    per row; column stride > 1: phase planes, and ∂x per output phase) and the im2col route for
    multipliers 3 and 5; any row stride, padding and dilation."""
    (H, W), kernel, stride, padding, dilation = config
    if column_stride_1:
        stride = (stride[0], 1)
    rng = np.random.default_rng(seed)
    x = random(rng, (n, channels, H, W), dtype)
    w = random(rng, (channels * multiplier, 1, *kernel), dtype)
    gy = random(rng, ref.conv2d(x, w, stride, padding, dilation, channels).shape, dtype)
    with forced_isa(isa):
        check_all_three(x, w, gy, stride, padding, dilation, channels)


@ISA_LEVELS
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 32, 56, 56, 32, 32, 3, (1, 1), (1, 1)),
                                   (3, 6, 19, 131, 12, 6, 3, (2, 1), (2, 1)),
                                   (2, 4, 33, 70, 8, 4, 5, (2, 2), (1, 2)),
                                   (4, 32, 28, 28, 64, 2, 3, (1, 1), (1, 1)),
                                   (5, 9, 17, 23, 6, 3, 4, (1, 2), (1, 1))],
                         ids=["mobilenet-depthwise", "depthwise-x2-wide-stride2", "depthwise-dilated-tiles",
                              "groups2-32to64", "groups3-odd"])
def test_grouped_conv2d_large_shapes_c_matches_numpy(isa, threads, shape, dtype, rng):
    """Batches above the size where the kernels split work over threads (depthwise: by channels),
    rows of several register tiles (W = 70, 131), depthwise row stride 2 and column stride 2."""
    N, C, H, W, O, groups, k, (sh, sw), padding = shape
    x, w = random(rng, (N, C, H, W), dtype), random(rng, (O, C // groups, k, k), dtype)
    stride, one = (sh, sw), (1, 1)
    gy = random(rng, ref.conv2d(x, w, stride, padding, one, groups).shape, dtype)
    with forced_isa(isa), thread_count(threads):
        check_all_three(x, w, gy, stride, padding, one, groups)


def test_depthwise_grad_weight_ignores_pixels_outside_every_window(rng):
    """The depthwise ∂w reads whole vectors past the last output column; those lanes must not enter
    the sum (0 · inf = NaN): an inf in the last input column reaches tap j = 2 only, as in the reference."""
    x, gy = random(rng, (2, 3, 6, 21), np.float64), random(rng, (2, 3, 4, 19), np.float64)
    x[:, :, :, -1] = np.inf
    with np.errstate(invalid="ignore"):
        expected = ref.conv2d_grad_weight(x, gy, (3, 3), (1, 1), (0, 0), (1, 1), 3)
    actual = c.conv2d_grad_weight(x, gy, (3, 3), (1, 1), (0, 0), (1, 1), 3)
    assert np.isfinite(actual[..., :2]).all()
    np.testing.assert_array_equal(np.isfinite(actual), np.isfinite(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-12, atol=1e-12)


def test_conv2d_empty_batch():
    x, w = np.zeros((0, 3, 6, 6), np.float32), np.ones((4, 3, 3, 3), np.float32)
    one, zero = (1, 1), (0, 0)
    assert c.conv2d(x, w, one, zero, one).shape == (0, 4, 4, 4)
    gy = np.zeros((0, 4, 4, 4), np.float32)
    assert c.conv2d_grad_input(gy, w, (6, 6), one, zero, one).shape == (0, 3, 6, 6)
    np.testing.assert_array_equal(c.conv2d_grad_weight(x, gy, (3, 3), one, zero, one), np.zeros_like(w))


# ---- pooling --------------------------------------------------------------------------------


def pool_input(rng: np.random.Generator, shape: tuple[int, ...], dtype, with_nan: bool) -> np.ndarray:
    """Small integers, so windows have ties (the first maximum must win), and optionally NaNs."""
    x = rng.integers(-3, 4, size=shape).astype(dtype)
    if with_nan:
        x.reshape(-1)[rng.integers(0, x.size, size=max(1, x.size // 7))] = np.nan
    return x


@settings(max_examples=25)
@given(config=window_configs(max_kernel=4), n=st.sampled_from([1, 2]), channels=st.sampled_from([1, 3]),
       dtype=st.sampled_from([np.float32, np.float64]), with_nan=st.booleans(), contiguous=st.booleans(),
       seed=st.integers(0, 2**16))
def test_max_pool2d_c_matches_numpy(config, n, channels, dtype, with_nan, contiguous, seed):
    (H, W), kernel, stride, padding, dilation = config
    padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))  # PyTorch's limit: every window sees a pixel
    H, W = (max(h, d * (k - 1) + 1) for h, k, d in zip((H, W), kernel, dilation))
    rng = np.random.default_rng(seed)
    x = pool_input(rng, (n, channels, H, W), dtype, with_nan)
    y, indices = ref.max_pool2d(x, kernel, stride, padding, dilation)
    gy = random(rng, y.shape, dtype)
    if not contiguous:
        x, gy = noncontiguous(x), noncontiguous(gy)
    y_c, indices_c = c.max_pool2d(x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(y_c, y)  # NaN positions too
    np.testing.assert_array_equal(indices_c, indices)
    assert y_c.dtype == dtype and indices_c.dtype == np.int64
    assert_close(c.max_pool2d_grad(gy, indices_c, x.shape), ref.max_pool2d_grad(gy, indices, x.shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw", [(28, 28), (10, 10), (7, 9), (2, 3)])
def test_max_pool2d_2x2_fast_path_c_matches_numpy(hw, dtype, rng):
    """The unrolled 2×2 stride-2 path, odd sizes (last row/column dropped) included."""
    x = pool_input(rng, (3, 4, *hw), dtype, with_nan=True)
    y, indices = ref.max_pool2d(x, (2, 2), (2, 2), (0, 0))
    y_c, indices_c = c.max_pool2d(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(y_c, y)
    np.testing.assert_array_equal(indices_c, indices)
    gy = random(rng, y.shape, dtype)
    assert_close(c.max_pool2d_grad(gy, indices_c, x.shape), ref.max_pool2d_grad(gy, indices, x.shape))


@settings(max_examples=25)
@given(config=window_configs(max_kernel=5, with_dilation=False), n=st.sampled_from([1, 2]),
       channels=st.sampled_from([1, 3]), dtype=st.sampled_from([np.float32, np.float64]),
       count_include_pad=st.booleans(), contiguous=st.booleans(), seed=st.integers(0, 2**16))
def test_avg_pool2d_c_matches_numpy(config, n, channels, dtype, count_include_pad, contiguous, seed):
    (H, W), kernel, stride, padding, _ = config
    padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
    H, W = (max(h, k) for h, k in zip((H, W), kernel))
    rng = np.random.default_rng(seed)
    x = random(rng, (n, channels, H, W), dtype)
    y = ref.avg_pool2d(x, kernel, stride, padding, count_include_pad)
    gy = random(rng, y.shape, dtype)
    if not contiguous:
        x, gy = noncontiguous(x), noncontiguous(gy)
    assert_close(c.avg_pool2d(x, kernel, stride, padding, count_include_pad), y)
    assert_close(c.avg_pool2d_grad(gy, x.shape, kernel, stride, padding, count_include_pad),
                 ref.avg_pool2d_grad(gy, x.shape, kernel, stride, padding, count_include_pad))


def test_pooling_empty_batch():
    x = np.zeros((0, 2, 4, 4), np.float64)
    y, indices = c.max_pool2d(x, (2, 2), (2, 2), (0, 0))
    assert y.shape == indices.shape == (0, 2, 2, 2)
    assert c.max_pool2d_grad(y, indices, x.shape).shape == x.shape
    assert c.avg_pool2d(x, (2, 2), (2, 2), (0, 0)).shape == (0, 2, 2, 2)


def test_kernels_agree_with_torch():
    """One LeNet-sized case straight against PyTorch, so the oracle chain does not rest on numpy_ref alone."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w = random(rng, (4, 3, 12, 11), np.float64), random(rng, (5, 3, 3, 4), np.float64)
    stride, padding, dilation = (2, 1), (1, 2), (1, 2)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, stride, padding, dilation)
    assert_close(c.conv2d(x, w, stride, padding, dilation), expected.numpy())
    y, indices = c.max_pool2d(x, (3, 2), (2, 2), (1, 1))
    ty, tindices = torch.nn.functional.max_pool2d(torch.from_numpy(x), (3, 2), (2, 2), (1, 1), return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(indices, tindices.numpy())
    avg = torch.nn.functional.avg_pool2d(torch.from_numpy(x), (3, 3), (2, 1), (1, 1), count_include_pad=False)
    assert_close(c.avg_pool2d(x, (3, 3), (2, 1), (1, 1), False), avg.numpy())


# ---- the per-signature plan cache (backend/c.py): never the plan of another call ----------------
# A plan is looked up by (op, dtypes, shapes, window arguments). Each test below makes a plan,
# then calls with arguments that differ in one of these only, and checks against the reference:
# a lookup that ignored it would reuse the first plan (wrong output shape or values).


def test_plan_cache_tells_dtypes_apart(rng):
    x, w = random(rng, (2, 3, 7, 6), np.float64), random(rng, (4, 3, 3, 2), np.float64)
    one, pad = (1, 1), (1, 0)
    for dtype in (np.float32, np.float64, np.float32):
        assert_close(c.conv2d(x.astype(dtype), w.astype(dtype), one, pad, one),
                     ref.conv2d(x.astype(dtype), w.astype(dtype), one, pad, one))
        y, indices = c.max_pool2d(x.astype(dtype), (2, 2), (2, 2), (0, 0))
        assert y.dtype == dtype
        assert_close(c.max_pool2d_grad(y, indices, x.shape), ref.max_pool2d_grad(y, indices, x.shape))
    with pytest.raises(ValueError, match="conv2d"):  # one dtype cached, the other for w: not served
        c.conv2d(x.astype(np.float32), w, one, pad, one)


def test_plan_cache_tells_groups_apart(rng):
    """x (2, 4, ...) and gy (2, 4, ...) fit groups 1, 2 and 4: ∂w has shape (4, 4/G, 3, 3) and ∂x
    (from w (4, 2, 3, 3)) 2·G input channels, so a plan reused across groups would be wrong."""
    x, gy = random(rng, (2, 4, 7, 6), np.float64), random(rng, (2, 4, 5, 4), np.float64)
    w = random(rng, (4, 2, 3, 3), np.float64)
    for groups in (1, 2, 4, 1):
        assert_close(c.conv2d_grad_weight(x, gy, (3, 3), ONE, ZERO, ONE, groups),
                     ref.conv2d_grad_weight(x, gy, (3, 3), ONE, ZERO, ONE, groups))
    for groups in (1, 2, 1):
        assert_close(c.conv2d_grad_input(gy, w, (7, 6), ONE, ZERO, ONE, groups),
                     ref.conv2d_grad_input(gy, w, (7, 6), ONE, ZERO, ONE, groups))
        x_groups = x[:, :2 * groups]
        assert_close(c.conv2d(x_groups, w, ONE, ZERO, ONE, groups), ref.conv2d(x_groups, w, ONE, ZERO, ONE, groups))


@pytest.mark.parametrize("window", [dict(stride=(2, 1)), dict(padding=(2, 1)), dict(dilation=(2, 1))], ids=str)
def test_plan_cache_tells_window_arguments_apart(window, rng):
    x, w = random(rng, (2, 2, 9, 8), np.float64), random(rng, (3, 2, 3, 3), np.float64)
    base = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1))
    for args in (base, {**base, **window}, base):
        y = ref.conv2d(x, w, **args)
        gy = random(rng, y.shape, np.float64)
        assert_close(c.conv2d(x, w, **args), y)
        assert_close(c.conv2d_grad_input(gy, w, (9, 8), **args), ref.conv2d_grad_input(gy, w, (9, 8), **args))
        assert_close(c.conv2d_grad_weight(x, gy, (3, 3), **args), ref.conv2d_grad_weight(x, gy, (3, 3), **args))
        pool = dict(kernel_hw=(3, 3), stride=args["stride"], padding=(min(args["padding"][0], 1), 0))
        np.testing.assert_array_equal(c.max_pool2d(x, **pool, dilation=args["dilation"])[1],
                                      ref.max_pool2d(x, **pool, dilation=args["dilation"])[1])
        assert_close(c.avg_pool2d(x, **pool), ref.avg_pool2d(x, **pool))


def test_plan_cache_tells_input_and_kernel_sizes_apart(rng):
    """Same operand shapes, different input size / kernel size / pooled input: stride 2 maps H = 7
    and H = 8 (kernel 1) and kernels 1 and 2 (H = 8) to the same output size 4."""
    w, stride, zero = random(rng, (3, 2, 1, 1), np.float64), (2, 2), (0, 0)
    gy = random(rng, (2, 3, 4, 4), np.float64)
    for hw in ((7, 7), (8, 8), (7, 7)):
        assert_close(c.conv2d_grad_input(gy, w, hw, stride, zero, (1, 1)),
                     ref.conv2d_grad_input(gy, w, hw, stride, zero, (1, 1)))
    x = random(rng, (2, 2, 8, 8), np.float64)
    for kernel in ((1, 1), (2, 2), (1, 1)):
        assert_close(c.conv2d_grad_weight(x, gy, kernel, stride, zero, (1, 1)),
                     ref.conv2d_grad_weight(x, gy, kernel, stride, zero, (1, 1)))
    g, indices = random(rng, (2, 3, 2, 2), np.float64), np.zeros((2, 3, 2, 2), np.int64)
    for input_shape in ((2, 3, 4, 4), (2, 3, 5, 5)):
        assert_close(c.max_pool2d_grad(g, indices, input_shape), ref.max_pool2d_grad(g, indices, input_shape))
    g_pooled = random(rng, (2, 2, 4, 4), np.float64)
    for include in (True, False, True):  # not part of the plan: passed on every call
        assert_close(c.avg_pool2d(x, (3, 3), (2, 2), (1, 1), include),
                     ref.avg_pool2d(x, (3, 3), (2, 2), (1, 1), include))
        assert_close(c.avg_pool2d_grad(g_pooled, x.shape, (3, 3), (2, 2), (1, 1), include),
                     ref.avg_pool2d_grad(g_pooled, x.shape, (3, 3), (2, 2), (1, 1), include))


def test_cached_plan_copies_strided_inputs_and_converts_indices(rng):
    """A cached signature checks contiguity on every call (cffi refuses a strided view; it is then
    copied), and indices of another integer type are converted, never read as int64."""
    x, w = random(rng, (2, 3, 6, 5), np.float32), random(rng, (4, 3, 2, 2), np.float32)
    one, zero = (1, 1), (0, 0)
    for inputs in ((x, w), (noncontiguous(x), noncontiguous(w)), (x[:, :, :, ::-1], w[::-1])):
        assert_close(c.conv2d(*inputs, one, zero, one), ref.conv2d(*inputs, one, zero, one))
        y, indices = c.max_pool2d(inputs[0], (2, 2), (2, 2), zero)
        assert_close(y, ref.max_pool2d(inputs[0], (2, 2), (2, 2), zero)[0])
        for index_view in (indices, indices.astype(np.int32), noncontiguous(indices)):
            assert_close(c.max_pool2d_grad(noncontiguous(y), index_view, x.shape),
                         ref.max_pool2d_grad(y, indices, x.shape))


def test_unhashable_arguments_and_a_full_plan_cache(rng):
    x, w = random(rng, (1, 2, 6, 6), np.float64), random(rng, (2, 2, 3, 3), np.float64)
    assert_close(c.conv2d(x, w, [1, 1], [1, 1], [1, 1]), ref.conv2d(x, w, (1, 1), (1, 1), (1, 1)))
    assert_close(c.max_pool2d(x, [2, 2], [2, 2], [0, 0])[0], ref.max_pool2d(x, (2, 2), (2, 2), (0, 0))[0])
    for size in range(4, 4 + c._PLANS_KEPT + 5):  # more signatures than the cache keeps: it starts afresh
        xs = x[..., :size, :size] if size <= 6 else random(rng, (1, 2, size, size), np.float64)
        assert_close(c.conv2d(xs, w, (1, 1), (0, 0), (1, 1)), ref.conv2d(xs, w, (1, 1), (0, 0), (1, 1)))
    assert len(c._scratch.plans) <= c._PLANS_KEPT


def test_plans_are_per_python_thread(rng):
    """Each Python thread has its own plans and workspaces (cffi releases the GIL during C calls, so
    two threads may run a conv at once): concurrent runs on different data stay correct."""
    import threading
    inputs = [(random(rng, (64, 6, 14, 14), np.float32), random(rng, (16, 6, 5, 5), np.float32)) for _ in range(2)]
    expected = [ref.conv2d(x, w, (1, 1), (0, 0), (1, 1)) for x, w in inputs]
    errors = []

    def run(i: int) -> None:
        x, w = inputs[i]
        for _ in range(20):
            y = c.conv2d(x, w, (1, 1), (0, 0), (1, 1))
            if not np.allclose(y, expected[i], rtol=0, atol=1e-3):
                errors.append(i)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors


# ---- bad input: a ValueError naming the op, before C runs ---------------------------------------

ONE, ZERO = (1, 1), (0, 0)
X32, W32 = np.ones((2, 3, 8, 8), np.float32), np.ones((4, 3, 3, 3), np.float32)
GY32 = np.ones((2, 4, 6, 6), np.float32)
BAD_CALLS = {
    "int dtype": (lambda: c.conv2d(X32.astype(np.int32), W32.astype(np.int32), ONE, ZERO, ONE), "conv2d"),
    "float16": (lambda: c.avg_pool2d(X32.astype(np.float16), (2, 2), (2, 2), ZERO), "avg_pool2d"),
    "mixed dtypes": (lambda: c.conv2d(X32, W32.astype(np.float64), ONE, ZERO, ONE), "conv2d"),
    "channels": (lambda: c.conv2d(X32, np.ones((4, 2, 3, 3), np.float32), ONE, ZERO, ONE), "channels"),
    "kernel too big": (lambda: c.conv2d(X32, np.ones((4, 3, 9, 3), np.float32), ONE, ZERO, ONE), "bigger"),
    "dilated too big": (lambda: c.max_pool2d(X32, (3, 3), ONE, ZERO, (4, 1)), "bigger"),
    "3-D input": (lambda: c.conv2d(X32[0], W32, ONE, ZERO, ONE), "4-D"),
    "stride 0": (lambda: c.conv2d(X32, W32, (0, 1), ZERO, ONE), "stride"),
    "stride not a pair": (lambda: c.max_pool2d(X32, (2, 2), (2, 2, 2), ZERO), "pairs"),
    "negative padding": (lambda: c.avg_pool2d(X32, (2, 2), ONE, (-1, 0)), "padding"),
    "grad_input shape": (lambda: c.conv2d_grad_input(GY32, W32, (9, 8), ONE, ZERO, ONE), "conv2d_grad_input"),
    "grad_weight batch": (lambda: c.conv2d_grad_weight(X32, GY32[:1], (3, 3), ONE, ZERO, ONE), "grad_weight"),
    "pool grad shape": (lambda: c.avg_pool2d_grad(GY32, X32.shape, (2, 2), (2, 2), ZERO), "avg_pool2d_grad"),
    "indices dtype": (lambda: c.max_pool2d_grad(GY32, GY32, (2, 4, 12, 12)), "max_pool2d_grad"),
    "index outside plane": (lambda: c.max_pool2d_grad(GY32, np.full(GY32.shape, 144), (2, 4, 12, 12)),
                            "outside"),
}


@pytest.mark.parametrize("case", BAD_CALLS, ids=list(BAD_CALLS))
def test_bad_input_raises(case):
    call, message = BAD_CALLS[case]
    with pytest.raises(ValueError, match=message):
        call()


X6, ONES_3X8 = np.ones((2, 6, 8, 8), np.float32), np.ones((2, 3, 8, 8), np.float32)
BAD_GROUPS = {  # (call on a kernel module, the words the message must hold)
    "C not divisible": (lambda k: k.conv2d(ONES_3X8, np.ones((4, 1, 3, 3), np.float32), ONE, ZERO, ONE, 2),
                        r"conv2d: groups=2 .*\(3, 4\).*\(2, 3, 8, 8\)"),
    "O not divisible": (lambda k: k.conv2d(X6, np.ones((5, 2, 3, 3), np.float32), ONE, ZERO, ONE, 3),
                        r"conv2d: groups=3 .*\(5, 2, 3, 3\)"),
    "groups 0": (lambda k: k.conv2d(X6, np.ones((4, 3, 3, 3), np.float32), ONE, ZERO, ONE, 0), "conv2d: groups=0"),
    "groups float": (lambda k: k.conv2d(X6, np.ones((4, 3, 3, 3), np.float32), ONE, ZERO, ONE, 2.0),
                     "conv2d: groups=2.0"),
    "grad_input O": (lambda k: k.conv2d_grad_input(np.ones((2, 5, 6, 6), np.float32), np.ones((5, 2, 3, 3), np.float32),
                                                   (8, 8), ONE, ZERO, ONE, 2), r"conv2d_grad_input: groups=2 .*\(5,\)"),
    "grad_weight C": (lambda k: k.conv2d_grad_weight(ONES_3X8, np.ones((2, 4, 6, 6), np.float32), (3, 3), ONE, ZERO,
                                                     ONE, 2), r"conv2d_grad_weight: groups=2 .*\(3, 4\)"),
}


@pytest.mark.parametrize("kernels", ["c", "numpy_ref"])
@pytest.mark.parametrize("case", BAD_GROUPS, ids=list(BAD_GROUPS))
def test_bad_groups_raise(case, kernels):
    """Both backends name the op, the groups and the channel counts and shapes, before any work."""
    call, message = BAD_GROUPS[case]
    with pytest.raises(ValueError, match=message):
        call(c if kernels == "c" else ref)


def test_c_rejects_bad_sizes_and_small_workspace():
    """The C side re-checks what it is handed: illegal sizes, an output size that is not the window
    formula's (the caller's buffers would not fit) and a short workspace return a status."""
    ffi, lib = c.ffi, c.lib
    x, w, y = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), np.empty((1, 1, 2, 2))
    ptrs = [ffi.from_buffer(a) for a in (x, w, y)]
    geometry = ffi.new("struct tg_conv2d_geometry *", (1, 1, 4, 4, 1, 3, 3, 1, 1, 0, 0, 1, 1, 2, 2, 1))
    needed = lib.tg_conv2d_workspace_f64(1, geometry)
    work = ffi.from_buffer(np.empty(needed))
    assert lib.tg_conv2d_f64(geometry, *ptrs, work, needed - 1) == 2
    too_big = ffi.new("struct tg_conv2d_geometry *", (1, 1, 4, 4, 1, 5, 3, 1, 1, 0, 0, 1, 1, 0, 2, 1))
    assert lib.tg_conv2d_workspace_f64(1, too_big) == -1
    assert lib.tg_conv2d_f64(too_big, *ptrs, work, needed) == 1
    wrong_output = ffi.new("struct tg_conv2d_geometry *", (1, 1, 4, 4, 1, 3, 3, 1, 1, 0, 0, 1, 1, 3, 2, 1))
    assert lib.tg_conv2d_workspace_f64(1, wrong_output) == -1
    for kernel in (lib.tg_conv2d_f64, lib.tg_conv2d_grad_input_f64, lib.tg_conv2d_grad_weight_f64):
        assert kernel(wrong_output, *ptrs, work, needed) == 1
    for groups in (0, -1, 2):  # none, negative, not dividing c = o = 1 (a struct without groups has 0)
        bad_groups = ffi.new("struct tg_conv2d_geometry *", (1, 1, 4, 4, 1, 3, 3, 1, 1, 0, 0, 1, 1, 2, 2, groups))
        assert lib.tg_conv2d_workspace_f64(1, bad_groups) == -1
        for kernel in (lib.tg_conv2d_f64, lib.tg_conv2d_grad_input_f64, lib.tg_conv2d_grad_weight_f64):
            assert kernel(bad_groups, *ptrs, work, needed) == 1
    assert lib.tg_conv2d_f64(geometry, *ptrs, work, needed) == 0
    np.testing.assert_array_equal(y, np.full((1, 1, 2, 2), 9.0))
    pool = ffi.new("struct tg_pool2d_geometry *", (1, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1, 2, 2))
    indices = ffi.from_buffer(np.empty(4, np.int64))
    assert lib.tg_max_pool2d_f64(pool, ptrs[0], ptrs[2], indices) == 0
    assert lib.tg_avg_pool2d_f64(pool, ptrs[0], ptrs[2], 1) == 0
    for oh, ow, dilation in ((3, 2, 1), (2, 1, 1), (2, 2, 2)):  # wrong output sizes; avg pooling: no dilation
        bad = ffi.new("struct tg_pool2d_geometry *", (1, 4, 4, 2, 2, 2, 2, 0, 0, dilation, 1, oh, ow))
        assert lib.tg_avg_pool2d_f64(bad, ptrs[0], ptrs[2], 1) == 1
        assert lib.tg_avg_pool2d_grad_f64(bad, ptrs[2], ptrs[0], 1) == 1
        if dilation == 1:
            assert lib.tg_max_pool2d_f64(bad, ptrs[0], ptrs[2], indices) == 1


def _level_in_a_new_process(forced: str | None) -> int:
    """tg_isa_level() in a fresh interpreter with TINYGRAD_EDU_ISA set to ``forced`` (None: unset)."""
    script = "from tinygrad_edu.backend import c; print(c.lib.tg_isa_level())"
    env = {name: value for name, value in os.environ.items() if name != "TINYGRAD_EDU_ISA"}
    if forced is not None:
        env["TINYGRAD_EDU_ISA"] = forced
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return int(result.stdout)


@pytest.mark.parametrize("forced", ["portable", "avx2"])
def test_isa_environment_variable_caps_the_level(forced):
    """TINYGRAD_EDU_ISA, read once, lowers the level the conv kernels run at (never raises it). The CPU's
    best level comes from a process without the variable: this run may itself have been started with it."""
    best = _level_in_a_new_process(None)
    assert _level_in_a_new_process(forced) == {"portable": 0, "avx2": min(1, best)}[forced]


# ---- the main-GEMM route of large products (conv_uses_gemm in csrc/conv.c) -------------------

# (K, O) switch points of the three products: a group's product goes through the main GEMM
# kernel when K = (C/G)·kh·kw and O/G both reach its pair (tg_kernels.h).
GEMM_SWITCH_POINTS = {"forward": (c.lib.TG_CONV_GEMM_MIN_K_FORWARD, c.lib.TG_CONV_GEMM_MIN_O_FORWARD),
                      "grad_input": (c.lib.TG_CONV_GEMM_MIN_K_GRAD_INPUT, c.lib.TG_CONV_GEMM_MIN_O_GRAD_INPUT),
                      "grad_weight": (c.lib.TG_CONV_GEMM_MIN_K_GRAD_WEIGHT, c.lib.TG_CONV_GEMM_MIN_O_GRAD_WEIGHT)} \
    if "c" in tg.backend.available() else {}


@ISA_LEVELS
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("product", list(GEMM_SWITCH_POINTS))
@settings(max_examples=6, deadline=None)
@given(config=window_configs(max_kernel=3), n=st.sampled_from([1, 3, 8]), groups=st.sampled_from([1, 2]),
       k_side=st.sampled_from([-1, 0, 1]), o_side=st.sampled_from([-1, 0, 1]),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_conv2d_around_the_gemm_switch_points_c_matches_numpy(isa, threads, product, config, n, groups, k_side,
                                                              o_side, dtype, seed):
    """Per-group K and O just below, at and just above each product's switch point (so that
    both routes and the mixed ones, e.g. ∂w on the GEMM and forward on the tiles, are checked),
    with stride, padding and dilation, groups 1 and 2, batches of one and of several blocks."""
    (H, W), kernel, stride, padding, dilation = config
    min_k, min_o = GEMM_SWITCH_POINTS[product]
    taps = kernel[0] * kernel[1]
    group_channels = max(1, -(-min_k // taps) + k_side)  # K = group_channels·taps around min_k
    group_outputs = min_o + o_side
    rng = np.random.default_rng(seed)
    x = random(rng, (n, groups * group_channels, H, W), dtype)
    w = random(rng, (groups * group_outputs, group_channels, *kernel), dtype)
    gy = random(rng, ref.conv2d(x, w, stride, padding, dilation, groups).shape, dtype)
    with forced_isa(isa), thread_count(threads):
        check_all_three(x, w, gy, stride, padding, dilation, groups)


@st.composite
def output_row_configs(draw):
    """(input_hw, kernel, stride, padding, dilation) drawn by output size: rows of 1 to 40 columns, so that
    a strip of the GEMM's packed B (8 to 32 columns, by level and dtype) spans many short rows, parts of
    two long ones, or ends past the last column."""
    out_hw = (draw(st.integers(1, 5)), draw(st.integers(1, 40)))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # the input size that gives out_hw, (size + 2p − d(k − 1) − 1) // s + 1 = out, but at least 1 and the span
    spans = [d * (k - 1) + 1 - 2 * p for k, p, d in zip(kernel, padding, dilation)]
    input_hw = tuple(max((o - 1) * s + span + draw(st.integers(0, s - 1)), span, 1)
                     for o, s, span in zip(out_hw, stride, spans))
    return input_hw, kernel, stride, padding, dilation


@ISA_LEVELS
@pytest.mark.parametrize("threads", [1, 2])
@settings(max_examples=25, deadline=None)
@given(config=output_row_configs(), groups=st.sampled_from([1, 2]), extra_channel=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_conv2d_forward_on_the_gemm_unfolds_packed_strips_c_matches_numpy(isa, threads, config, groups,
                                                                         extra_channel, dtype, seed):
    """The forward of the GEMM route unfolds one strip of output columns at a time from the padded sample into
    the GEMM's packed layout (csrc/conv_typed.inc, im2col_strip; blended vector loads in conv_rows.inc for
    column stride 1, the portable loops otherwise): output rows shorter than a strip, longer ones and a last
    strip cut short, with strides, padding and dilation, groups 1 and 2, at every level and in both dtypes."""
    (H, W), kernel, stride, padding, dilation = config
    min_k, min_o = GEMM_SWITCH_POINTS["forward"]
    group_channels = -(-min_k // (kernel[0] * kernel[1])) + extra_channel  # K at or just above the switch point
    rng = np.random.default_rng(seed)
    x = random(rng, (3, groups * group_channels, H, W), dtype)
    w = random(rng, (groups * min_o, group_channels, *kernel), dtype)
    with forced_isa(isa), thread_count(threads):
        assert_close(c.conv2d(x, w, stride, padding, dilation, groups),
                     ref.conv2d(x, w, stride, padding, dilation, groups))


@ISA_LEVELS
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(8, 32, 28, 28, 64), (4, 64, 16, 16, 128)], ids=["32to64", "64to128"])
def test_conv2d_cifar_shapes_on_the_gemm_c_matches_numpy(isa, threads, shape, rng):
    """CIFAR-style 3×3 pad 1 layers, every product on the main GEMM, batches above the size where
    the sample blocks are split over threads (each thread's GEMM uses its own packing buffers)."""
    N, C, H, W, O = shape
    one = (1, 1)
    for dtype in (np.float32, np.float64):
        x, w = random(rng, (N, C, H, W), dtype), random(rng, (O, C, 3, 3), dtype)
        check_all_three(x, w, random(rng, (N, O, H, W), dtype), one, one, one, 1)


@ISA_LEVELS
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("shape", [(5, 4, 8, 8, 3, 1), (3, 2, 12, 12, 5, 0), (33, 4, 34, 34, 3, 0),
                                   (9, 2, 8, 14, 3, 0)], ids=["P64", "P64-k5", "P1024", "P72"])
def test_conv2d_whole_vector_samples_in_place(isa, threads, groups, shape, rng):
    """Outputs of OH·OW a multiple of 64 bytes (16 float32, 8 float64) go from the tiles straight into y, and
    the tiles of ∂w (and of ∂x, unless a row of gy is a multiple of 1 KiB: P1024) read gy in place, one sample
    at a time (several per block, several blocks, both groups); P72 (6 × 12) is a multiple for float64 only.
    Both dtypes."""
    N, C, H, W, k, p = shape
    O, pad, one = 6, (p, p), (1, 1)
    for dtype in (np.float32, np.float64):
        x, w = random(rng, (N, C, H, W), dtype), random(rng, (O, C // groups, k, k), dtype)
        gy = random(rng, ref.conv2d(x, w, one, pad, one, groups).shape, dtype)
        with forced_isa(isa), thread_count(threads):
            check_all_three(x, w, gy, one, pad, one, groups)
