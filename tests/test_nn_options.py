"""PyTorch options added to existing layers, and the layers that came with them, against PyTorch:
grouped/depthwise convolution and padding_mode, ceil_mode / count_include_pad / divisor_override
pooling, F.pad modes and cropping (and the padding layers), F.normalize, channel dropout
(Dropout1d/2d), sum/mean(dtype=). Values and gradients in float64 (tight) and float32; hypothesis
draws the shapes and options; each error case is checked to be an error in both libraries.
(The table-driven value/gradcheck/gradgrad rows for the same ops are in op_table.py.)"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_nn_layers import compare_with_torch

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F  # noqa: N812 - PyTorch's conventional name
from tinygrad_edu import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.torch

TOL = {np.float64: (1e-7, 1e-10), np.float32: (1e-4, 1e-5)}
DTYPES = (np.float64, np.float32)


def _compare(tg_fn: Any, torch_fn: Any, x: np.ndarray, dtype: Any = np.float64, seed: int = 0) -> None:
    """Forward values, shape, dtype and the input gradient of a random weighting of the output."""
    rtol, atol = TOL[dtype]
    x = x.astype(dtype)
    ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, t = tg_fn(ours), torch_fn(theirs)
    assert y.shape == tuple(t.shape) and y.dtype == dtype
    np.testing.assert_allclose(y.data, t.detach().numpy(), rtol=rtol, atol=atol)
    if t.numel():
        w = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
        (t * torch.from_numpy(w)).sum().backward()
        (y * w).sum().backward()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=rtol, atol=atol)


def _both_raise(tg_fn: Any, torch_fn: Any, x: np.ndarray) -> bool:
    """True if torch raises on x; then ours must raise too (a ValueError/RuntimeError/NotImplementedError)."""
    try:
        torch_fn(torch.tensor(x))
    except (RuntimeError, ValueError, NotImplementedError):
        with pytest.raises((RuntimeError, ValueError, NotImplementedError)):
            tg_fn(tg.tensor(x))
        return True
    return False


# ---- grouped and depthwise convolution ------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(groups=st.integers(1, 4), c=st.integers(1, 2), o=st.integers(1, 2), n=st.integers(1, 2),
       hw=st.tuples(st.integers(3, 7), st.integers(3, 7)), k=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.integers(0, 1), dilation=st.integers(1, 2), dtype=st.sampled_from(DTYPES))
def test_grouped_conv2d_layer_matches_torch(groups, c, o, n, hw, k, stride, padding, dilation, dtype):
    if min(hw) + 2 * padding < dilation * (k - 1) + 1:
        return
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    theirs = torch.nn.Conv2d(groups * c, groups * o, k, **options)
    ours = nn.Conv2d(groups * c, groups * o, k, **options)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(groups * 100 + k).standard_normal((n, groups * c, *hw)).astype(dtype)
    compare_with_torch(ours, theirs, [x], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_depthwise_conv1d_and_unbatched_input_match_torch(dtype):
    # depthwise (groups = in_channels) with a channel multiplier of 2, Conv1d, and an unbatched input
    x = np.random.default_rng(0).standard_normal((4, 9)).astype(dtype)
    compare_with_torch(nn.Conv1d(4, 8, 3, padding=1, groups=4), torch.nn.Conv1d(4, 8, 3, padding=1, groups=4),
                       [x], dtype)
    x2 = np.random.default_rng(1).standard_normal((2, 6, 5, 5)).astype(dtype)
    compare_with_torch(nn.Conv2d(6, 6, 3, groups=6, bias=False), torch.nn.Conv2d(6, 6, 3, groups=6, bias=False),
                       [x2], dtype)


def test_grouped_conv_init_uses_fan_in_per_group():
    tg.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, groups=4)
    assert conv.weight.shape == (16, 2, 3, 3) and conv.bias.shape == (16,)
    bound = 1 / math.sqrt(2 * 3 * 3)  # kaiming_uniform(a=√5) and the bias: U(−1/√fan_in, 1/√fan_in)
    for p in (conv.weight, conv.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(conv.weight.data).max() > 0.9 * bound  # 288 draws fill the range
    assert conv.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)


@pytest.mark.parametrize(("args", "message"), [
    ((3, 4, 3, 2), "in_channels must be divisible by groups"),
    ((4, 3, 3, 2), "out_channels must be divisible by groups"),
    ((4, 4, 3, 0), "groups must be a positive integer"),
    ((4, 4, 3, 1, "mirror"), "padding_mode must be one of"),
])
def test_conv_layer_errors_as_torch(args, message):
    *sizes, groups = args[:4]
    mode = args[4] if len(args) > 4 else "zeros"
    with pytest.raises(ValueError):
        torch.nn.Conv2d(*sizes, groups=groups, padding_mode=mode)
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(*sizes, groups=groups, padding_mode=mode)


@pytest.mark.parametrize(("x_shape", "w_shape", "groups", "message"), [
    ((1, 5, 5, 5), (4, 2, 3, 3), 2, "expects an input with 4 channels"),
    ((1, 4, 5, 5), (3, 2, 3, 3), 2, "must be divisible by 2"),
    ((1, 4, 5, 5), (4, 2, 3, 3), 0, "non-positive groups"),
])
def test_functional_conv_group_errors_as_torch(x_shape, w_shape, groups, message):
    x, w = np.ones(x_shape), np.ones(w_shape)
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.tensor(x), torch.tensor(w), groups=groups)
    with pytest.raises(RuntimeError, match=message):  # ShapeError: a RuntimeError as in torch (and a ValueError)
        F.conv2d(tg.tensor(x), tg.tensor(w), groups=groups)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"], ids=str)
def test_conv_padding_mode_matches_torch(mode, padding):
    dtype = np.float64
    ours, theirs = nn.Conv2d(4, 6, (3, 2), padding=padding, padding_mode=mode, groups=2), \
        torch.nn.Conv2d(4, 6, (3, 2), padding=padding, padding_mode=mode, groups=2)
    assert repr(ours) == repr(theirs)
    compare_with_torch(ours, theirs, [np.random.default_rng(0).standard_normal((2, 4, 5, 6))], dtype)
    p1 = padding if padding == "same" else 2
    compare_with_torch(nn.Conv1d(2, 3, 5, padding=p1, padding_mode=mode),
                       torch.nn.Conv1d(2, 3, 5, padding=p1, padding_mode=mode),
                       [np.random.default_rng(1).standard_normal((2, 7))], dtype)


# ---- pooling: ceil_mode, count_include_pad, divisor_override ---------------------------------


@settings(max_examples=60, deadline=None)
@given(hw=st.tuples(st.integers(1, 9), st.integers(1, 9)), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 4), st.integers(1, 4)), pad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       dilation=st.integers(1, 2), ceil_mode=st.booleans(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99))
def test_max_pool2d_ceil_mode_matches_torch(hw, k, stride, pad, dilation, ceil_mode, dtype, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, *hw))
    args = (k, stride, pad, dilation, ceil_mode)
    if _both_raise(lambda t: F.max_pool2d(t, *args), lambda t: TF.max_pool2d(t, *args), x):
        return
    theirs = TF.max_pool2d(torch.tensor(x), *args, True)
    if torch.isinf(theirs[0]).any():  # a dilated window with every tap in the padding: see the next test
        _compare(lambda t: F.max_pool2d(t, *args), _max_pool_padding_explicitly(theirs[0].shape, *args), x, dtype)
        return
    _compare(lambda t: F.max_pool2d(t, *args), lambda t: TF.max_pool2d(t, *args), x, dtype, seed)
    np.testing.assert_array_equal(F.max_pool2d(tg.tensor(x), *args, True)[1].data, theirs[1].numpy())  # in x


def _max_pool_padding_explicitly(out_shape: Any, k: tuple, stride: tuple, pad: tuple, dilation: int,
                                 ceil_mode: bool) -> Any:
    """torch's max_pool2d as a pool without padding over x padded with −∞ (to torch's output size).
    The same values; the backward is safe where a window has no input pixel (torch's own writes out of
    bounds there and crashes the process), giving such windows no gradient."""
    def pool(t: Any) -> Any:
        extra = [(o - 1) * s + dilation * (kk - 1) + 1 - (n + 2 * p)
                 for o, n, kk, s, p in zip(out_shape[2:], t.shape[2:], k, stride, pad)]
        padded = TF.pad(t, (pad[1], pad[1] + max(extra[1], 0), pad[0], pad[0] + max(extra[0], 0)), value=-math.inf)
        return TF.max_pool2d(padded, k, stride, 0, dilation)
    return pool


def test_max_pool2d_window_in_padding_only_gives_minus_inf_and_no_gradient(backend):
    x = np.random.default_rng(0).standard_normal((1, 2, 1, 5))
    args = ((2, 3), (1, 1), (1, 1), 2, True)  # rows −1 and 1 of a one-row input: both taps in the padding
    theirs = TF.max_pool2d(torch.tensor(x), *args)
    assert torch.isinf(theirs).all()
    _compare(lambda t: F.max_pool2d(t, *args), _max_pool_padding_explicitly(theirs.shape, *args), x)
    xt = tg.tensor(x, requires_grad=True)
    F.max_pool2d(xt, *args).sum().backward()
    assert not xt.grad.data.any()


@settings(max_examples=60, deadline=None)
@given(hw=st.tuples(st.integers(1, 9), st.integers(1, 9)), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 4), st.integers(1, 4)), pad=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       ceil_mode=st.booleans(), count_include_pad=st.booleans(), divisor=st.sampled_from([None, 1, 3, -2]),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99))
def test_avg_pool2d_ceil_mode_and_divisors_match_torch(hw, k, stride, pad, ceil_mode, count_include_pad, divisor,
                                                       dtype, seed):
    x = np.random.default_rng(seed).standard_normal((2, 2, *hw))
    args = (k, stride, pad, ceil_mode, count_include_pad, divisor)
    if _both_raise(lambda t: F.avg_pool2d(t, *args), lambda t: TF.avg_pool2d(t, *args), x):
        return
    _compare(lambda t: F.avg_pool2d(t, *args), lambda t: TF.avg_pool2d(t, *args), x, dtype, seed)


def test_pooling_layers_1d_and_2d_with_ceil_mode_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    for ours, theirs in ((nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
                         (nn.AvgPool2d(2, 3, ceil_mode=True, count_include_pad=False, divisor_override=None),
                          torch.nn.AvgPool2d(2, 3, ceil_mode=True, count_include_pad=False)),
                         (nn.AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=5),
                          torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, divisor_override=5))):
        assert repr(ours) == repr(theirs)
        _compare(ours, theirs, x)
        _compare(ours, theirs, x[0])  # unbatched (C, H, W)
    x1 = np.random.default_rng(1).standard_normal((2, 3, 8))
    for ours, theirs in ((nn.MaxPool1d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool1d(3, 2, 1, ceil_mode=True)),
                         (nn.AvgPool1d(2, 3, ceil_mode=True, count_include_pad=False),
                          torch.nn.AvgPool1d(2, 3, ceil_mode=True, count_include_pad=False))):
        assert repr(ours) == repr(theirs)
        _compare(ours, theirs, x1)
        _compare(ours, theirs, x1[0])  # unbatched (C, L)
    with pytest.raises(RuntimeError):
        TF.avg_pool2d(torch.ones(1, 1, 4, 4), 2, divisor_override=0)
    with pytest.raises(ValueError, match="divisor must be not zero"):
        F.avg_pool2d(tg.ones(1, 1, 4, 4), 2, divisor_override=0)


# ---- F.pad modes, cropping, padding layers ------------------------------------------------------


@st.composite
def _pad_case(draw: st.DrawFn) -> tuple[tuple[int, ...], str, tuple[int, ...]]:
    """A mode, an input shape of a rank the mode takes, and widths inside the mode's limits."""
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    n_pairs = draw(st.integers(1, 3))
    ndim = draw(st.integers(n_pairs, n_pairs + 2)) if mode == "constant" else n_pairs + draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    widths = []
    for k in range(n_pairs):
        size = shape[-1 - k]
        if mode == "reflect":
            pair = [draw(st.integers(-size + 1, size - 1)) for _ in range(2)]
        elif mode == "circular":  # wrapping at most once; cutting (negative widths) is in op_table.py
            pair = [draw(st.integers(0, size)), draw(st.integers(0, size))]
        else:
            pair = [draw(st.integers(-size, 3)), draw(st.integers(-size, 3))]
            if sum(pair) + size < 0 or (mode == "replicate" and sum(pair) + size < 1):
                pair = [abs(p) for p in pair]
        widths += pair
    return shape, mode, tuple(widths)


@settings(max_examples=80, deadline=None)
@given(case=_pad_case(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99))
def test_pad_modes_match_torch(case, dtype, seed):
    shape, mode, widths = case
    x = np.random.default_rng(seed).standard_normal(shape)
    if _both_raise(lambda t: F.pad(t, widths, mode), lambda t: TF.pad(t, widths, mode), x):
        return
    _compare(lambda t: F.pad(t, widths, mode), lambda t: TF.pad(t, widths, mode), x, dtype, seed)


def test_pad_source_positions_are_the_written_out_rule():
    x = tg.tensor([[1.0, 2.0, 3.0]])
    assert F.pad(x, (2, 2), "reflect").tolist() == [[3, 2, 1, 2, 3, 2, 1]]
    assert F.pad(x, (2, 2), "replicate").tolist() == [[1, 1, 1, 2, 3, 3, 3]]
    assert F.pad(x, (2, 2), "circular").tolist() == [[2, 3, 1, 2, 3, 1, 2]]
    assert F.pad(x, (-1, 2), value=9.0).tolist() == [[2, 3, 9, 9]]
    x.requires_grad_()
    F.pad(x, (2, 2), "replicate").sum().backward()  # each edge pixel collects its copies
    assert x.grad.tolist() == [[3, 1, 3]]


@pytest.mark.parametrize(("shape", "widths", "mode", "value"), [
    ((2, 3), (3, 3), "reflect", None),        # reflect: width ≥ size
    ((1, 2, 3), (4, 0), "circular", None),    # wraps around more than once
    ((3,), (1, 1), "reflect", None),          # 1-D input: non-constant modes need a batch or channel dim
    ((1, 1, 2, 3), (1, 1), "replicate", None),  # 4-D input with one pair
    ((2, 3), (1, 1, 1), "constant", None),    # odd length
    ((2, 3), (1, 1), "mirror", None),         # unknown mode
    ((2, 3), (1, 1), "reflect", 1.0),         # a value with a non-constant mode
    ((2, 3), (-4, 0), "constant", None),      # cutting more than there is
    ((2, 3), (1, 1, 1, 1, 1, 1), "constant", None),  # more pairs than dims
])
def test_pad_errors_as_torch(shape, widths, mode, value):
    x = np.ones(shape)
    kwargs = {} if value is None else {"value": value}
    assert _both_raise(lambda t: F.pad(t, widths, mode, **kwargs), lambda t: TF.pad(t, widths, mode, **kwargs), x)


@pytest.mark.parametrize(("name", "args", "shape"), [
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad2d", ((1, 0, 2, 1),), (1, 2, 4, 4)),
    ("ReplicationPad1d", ((1, 3),), (3, 4)), ("ReplicationPad2d", (2,), (2, 3, 3)),
    ("CircularPad1d", (1,), (2, 2, 3)), ("CircularPad2d", ((1, 2, 0, 1),), (1, 1, 3, 4)),
    ("ZeroPad1d", ((1, -1),), (2, 4)), ("ZeroPad2d", ((1, 1, 2, 0),), (1, 2, 3, 3)),
    ("ConstantPad1d", (2, 3.5), (2, 3)), ("ConstantPad2d", ((1, 0, -1, 2), -1.0), (2, 3, 4)),
])
def test_padding_layers_match_torch(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    _compare(ours, theirs, np.random.default_rng(0).standard_normal(shape))


# ---- F.normalize, channel dropout, sum/mean(dtype=) ---------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("p", "dim", "eps"), [(2.0, 1, 1e-12), (1.0, 0, 1e-12), (3.0, -1, 0.5), (math.inf, 1, 1e-12)])
def test_normalize_zero_rows_and_eps_as_torch(dtype, p, dim, eps):
    x = np.random.default_rng(0).standard_normal((4, 3))
    x[1] = 0.0  # a zero row: output 0, gradient 0 (not nan)
    x[2] = 1e-14  # below eps: divided by eps
    _compare(lambda t: F.normalize(t, p, dim, eps), lambda t: TF.normalize(t, p, dim, eps), x, dtype)
    rows = F.normalize(tg.tensor(np.random.default_rng(1).standard_normal((5, 3)))).data
    np.testing.assert_allclose(np.sqrt((rows**2).sum(1)), 1.0, rtol=1e-12)  # the formula: unit rows


@pytest.mark.parametrize(("layer", "shape"), [(nn.Dropout1d, (8, 50, 6)), (nn.Dropout1d, (50, 6)),
                                              (nn.Dropout2d, (8, 50, 3, 2))])
def test_channel_dropout_zeros_whole_channels(layer, shape):
    p = 0.3
    drop = layer(p)
    assert repr(drop) == repr(getattr(torch.nn, layer.__name__)(p))
    x = tg.tensor(np.random.default_rng(0).uniform(1.0, 2.0, shape), requires_grad=True)
    tg.manual_seed(7)
    y = drop(x)
    tg.manual_seed(7)
    np.testing.assert_array_equal(drop(x).data, y.data)  # seeded: the same channels
    channel_dims = 1 if len(shape) == 2 else 2  # (C, L) unbatched, else (N, C, ...)
    per_channel = (y.data / x.data).reshape(int(np.prod(shape[:channel_dims])), -1)  # one row per channel
    assert np.all(np.ptp(per_channel, axis=1) < 1e-12)  # one factor per channel
    np.testing.assert_allclose(np.unique(per_channel.round(12)), [0.0, 1 / (1 - p)])
    dropped = (per_channel[:, 0] == 0).mean()
    assert abs(dropped - p) < 0.1  # 300–400 channels: within ~4 standard deviations
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, y.data / x.data)  # ∂y/∂x = the mask / (1 − p)
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)


def test_channel_dropout_errors_and_torch_warnings():
    for fn, shape in ((F.dropout1d, (2, 3, 4)), (F.dropout2d, (2, 3, 4, 1))):
        assert fn(tg.ones(*shape), p=0.0).tolist() == np.ones(shape).tolist()
        assert fn(tg.ones(*shape), p=1.0).tolist() == np.zeros(shape).tolist()
        with pytest.raises(ValueError, match="between 0 and 1"):
            fn(tg.ones(*shape), p=1.5)
    with pytest.raises(RuntimeError):
        TF.dropout1d(torch.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="dropout1d: expected 2D or 3D input"):
        F.dropout1d(tg.ones(2, 3, 4, 5))
    with warnings.catch_warnings(record=True) as caught:  # 3-D input to dropout2d: read as (N, C, L), as torch
        warnings.simplefilter("always")
        tg.manual_seed(0)
        y = F.dropout2d(tg.ones(4, 30, 5))
    assert "interpreted as shape (N, C, L)" in str(caught[0].message)
    assert np.all(np.ptp(y.data, axis=2) == 0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sum_and_mean_with_dtype_as_torch(dtype):
    x = np.arange(12).reshape(3, 4)
    ours, theirs = tg.tensor(x), torch.tensor(x)
    for got, want in ((ours.sum(dtype=getattr(tg, dtype)), theirs.sum(dtype=getattr(torch, dtype))),
                      (ours.mean(1, dtype=getattr(tg, dtype)), theirs.mean(1, dtype=getattr(torch, dtype))),
                      (ours.sum(0, keepdim=True, dtype=getattr(tg, dtype)),
                       theirs.sum(0, keepdim=True, dtype=getattr(torch, dtype)))):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got.data, want.numpy())
    xf = tg.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    s = xf.sum(dtype=tg.float64)  # differentiable through the cast; the gradient in the input's dtype
    s.backward()
    assert s.dtype == np.float64 and xf.grad.dtype == np.float32
    with pytest.raises(RuntimeError):
        theirs.mean(dtype=torch.int64)
    with pytest.raises(TypeError, match="mean"):
        ours.mean(dtype=tg.int64)
