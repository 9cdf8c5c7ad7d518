"""The 3-D layers against PyTorch: conv3d, conv_transpose3d, max/avg/adaptive pooling, max_unpool3d,
interpolate on volumes, F.pad on 5-D input, BatchNorm3d and InstanceNorm3d.

Every comparison runs in float64 (rtol 1e-7) and float32, forward and the gradients of the inputs
and parameters, on both backends (the C backend has no 3-D kernels: the 3-D ops must run the
NumPy reference there too, and give the same values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import check_grad, check_gradgrad, check_op
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F  # noqa: N812 - PyTorch's conventional name
from tinygrad_edu import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional
BACKENDS = tg.backend.available()
DTYPES = (np.float64, np.float32)
TOL32 = (2e-4, 2e-5)  # float32: sums over up to a few hundred products


def check_everywhere(tg_fn: Callable[..., Any], torch_fn: Callable[..., Any], shapes: list[tuple[int, ...]], *,
                     layouts: tuple[str, ...] = ("contiguous",), domain: str = "real") -> None:
    """check_op (forward and every input gradient vs torch) on every backend, dtype and layout."""
    for name in BACKENDS:
        with tg.backend.using(name):
            for dtype in DTYPES:
                for layout in layouts:
                    check_op(tg_fn, torch_fn, shapes, dtype=dtype, layout=layout, tol32=TOL32, domain=domain)


# ---- convolution ---------------------------------------------------------------------------------


@st.composite
def conv3d_cases(draw: st.DrawFn, transposed: bool = False) -> dict[str, Any]:
    """Shapes and arguments of a (grouped) 3-D convolution, kernel sizes 1..3 per dim (odd and even)."""
    groups = draw(st.sampled_from((1, 1, 2)))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(3))
    if transposed:  # PyTorch: output_padding < max(stride, dilation); output size positive
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        sizes = tuple(draw(st.integers(1, 3)) for _ in range(3))
        out = [(m - 1) * s - 2 * p + d * (k - 1) + o + 1
               for m, s, p, d, k, o in zip(sizes, stride, padding, dilation, kernel, output_padding)]
        assume(min(out) > 0)
        weight = (c_in, c_out // groups, *kernel)
        return dict(x=(draw(st.integers(1, 2)), c_in, *sizes), w=weight, stride=stride, padding=padding,
                    output_padding=output_padding, dilation=dilation, groups=groups)
    sizes = tuple(max(1, d * (k - 1) + 1 - 2 * p + draw(st.integers(0, 2)))
                  for k, d, p in zip(kernel, dilation, padding))
    return dict(x=(draw(st.integers(1, 2)), c_in, *sizes), w=(c_out, c_in // groups, *kernel), stride=stride,
                padding=padding, dilation=dilation, groups=groups)


def _conv_args(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k not in ("x", "w")}


@settings(max_examples=12)
@given(conv3d_cases())
def test_conv3d_matches_torch(case):
    args = _conv_args(case)
    bias_shape = (case["w"][0],)
    check_everywhere(lambda x, w, b: F.conv3d(x, w, b, **args), lambda x, w, b: TF.conv3d(x, w, b, **args),
                     [case["x"], case["w"], bias_shape])


@settings(max_examples=12)
@given(conv3d_cases(transposed=True))
def test_conv_transpose3d_matches_torch(case):
    args = _conv_args(case)
    bias_shape = (case["w"][1] * case["groups"],)
    check_everywhere(lambda x, w, b: F.conv_transpose3d(x, w, b, **args),
                     lambda x, w, b: TF.conv_transpose3d(x, w, b, **args), [case["x"], case["w"], bias_shape])


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its own zero-padded copy
def test_conv3d_non_contiguous_inputs_and_padding_same():
    conv = dict(padding="same", dilation=(1, 2, 1))
    check_everywhere(lambda x, w: F.conv3d(x, w, **conv), lambda x, w: TF.conv3d(x, w, **conv),
                     [(2, 3, 4, 5, 6), (2, 3, 2, 3, 2)], layouts=("contiguous", "transposed", "strided"))


def test_conv3d_unbatched_and_size_one_kernel():
    check_everywhere(lambda x, w: F.conv3d(x, w, stride=2), lambda x, w: TF.conv3d(x, w, stride=2),
                     [(3, 1, 5, 4), (4, 3, 1, 1, 1)])


def test_conv3d_grad_and_gradgrad():
    def conv(lib: Any) -> Callable[..., Any]:
        return lambda x, w: lib.nn.functional.conv3d(x, w, stride=(1, 2, 1), padding=1, groups=2)
    check_grad(conv(tg), [(1, 2, 3, 3, 2), (2, 1, 2, 2, 1)])
    check_gradgrad(conv(tg), conv(torch), [(1, 2, 3, 3, 2), (2, 1, 2, 2, 1)])
    transposed = dict(stride=2, padding=1, output_padding=1)
    check_grad(lambda x, w: F.conv_transpose3d(x, w, **transposed), [(1, 2, 2, 2, 1), (2, 1, 2, 2, 2)])
    check_gradgrad(lambda x, w: F.conv_transpose3d(x, w, **transposed),
                   lambda x, w: TF.conv_transpose3d(x, w, **transposed), [(1, 2, 2, 2, 1), (2, 1, 2, 2, 2)])


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on its own zero-padded copy
def test_conv3d_layers_load_torch_state_dicts_and_print_alike():
    cases = [
        (nn.Conv3d(2, 4, 3), torch.nn.Conv3d(2, 4, 3)),
        (nn.Conv3d(2, 4, (1, 2, 3), stride=2, padding=1, groups=2, bias=False),
         torch.nn.Conv3d(2, 4, (1, 2, 3), stride=2, padding=1, groups=2, bias=False)),
        (nn.Conv3d(2, 2, 3, padding=1, padding_mode="replicate"),
         torch.nn.Conv3d(2, 2, 3, padding=1, padding_mode="replicate")),
        (nn.Conv3d(2, 3, (3, 2, 3), padding="same", padding_mode="reflect"),
         torch.nn.Conv3d(2, 3, (3, 2, 3), padding="same", padding_mode="reflect")),
        (nn.Conv3d(2, 3, (2, 1, 3), padding="same", dilation=(1, 1, 2), padding_mode="circular"),
         torch.nn.Conv3d(2, 3, (2, 1, 3), padding="same", dilation=(1, 1, 2), padding_mode="circular")),
        (nn.ConvTranspose3d(2, 4, 3, stride=2, output_padding=1), torch.nn.ConvTranspose3d(2, 4, 3, stride=2,
                                                                                            output_padding=1)),
    ]
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 5, 3))
    for ours, theirs in cases:
        ours, theirs = ours.double(), theirs.double()
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert ours.weight.shape == tuple(theirs.weight.shape)
        ours.load_state_dict({k: tg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
        for name in BACKENDS:
            with tg.backend.using(name):
                np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(),
                                           theirs(torch.tensor(x)).detach().numpy(),
                                           rtol=1e-7, atol=1e-12)


def test_conv3d_default_init_has_torch_bounds():
    tg.manual_seed(0)
    conv = nn.Conv3d(4, 8, (3, 2, 2))
    bound = 1 / np.sqrt(4 * 3 * 2 * 2)  # kaiming_uniform(a=√5) and the bias both give U(−1/√fan_in, 1/√fan_in)
    largest = np.abs(conv.weight.detach().numpy()).max()
    assert 0.8 * bound < largest <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound


def test_3d_ops_run_numpy_kernels_on_the_c_backend():
    """The same values, to the bit, whichever backend is selected (no C kernel takes 5-D arrays)."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 2, 5, 4, 6)).astype(np.float32), rng.standard_normal((3, 2, 2, 3, 2)).astype(
        np.float32)
    results = []
    for name in BACKENDS:
        with tg.backend.using(name):
            xt, wt = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
            y = F.conv3d(xt, wt, padding=1)
            pooled, _ = F.max_pool3d(y, 2, return_indices=True)
            loss = (pooled.sum() + F.avg_pool3d(y, 2, ceil_mode=True).sum())
            loss.backward()
            assert y.dtype == tg.float32 and xt.grad.dtype == tg.float32
            results.append((y.detach().numpy(), xt.grad.detach().numpy(), wt.grad.detach().numpy()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ---- pooling -------------------------------------------------------------------------------------


@st.composite
def pool3d_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A 3-D pooling window (kernel 1..3, stride 1..3, padding ≤ kernel/2) and an input it fits."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(3))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    sizes = tuple(max(1, k - 2 * p + draw(st.integers(0, 3))) for k, p in zip(kernel, padding))
    return dict(x=(draw(st.integers(1, 2)), 2, *sizes), kernel_size=kernel, stride=stride, padding=padding,
                ceil_mode=draw(st.booleans()))


@settings(max_examples=15)
@given(pool3d_cases(), st.sampled_from((1, 1, 2)))
def test_max_pool3d_matches_torch_with_indices(case, dilation):
    args = {k: v for k, v in case.items() if k != "x"}
    geometry = list(zip(case["x"][2:], args["kernel_size"], args["stride"], args["padding"]))
    assume(all(dilation * (k - 1) + 1 <= n + 2 * p for n, k, _, p in geometry))  # else torch refuses too
    for n, k, s, p in geometry:  # a window with every tap in the padding: torch's backward writes out of bounds
        out = TF.max_pool1d(torch.zeros(1, 1, n), k, s, p, dilation, args["ceil_mode"]).shape[-1]
        taps = np.arange(out)[:, None] * s - p + np.arange(k) * dilation
        assume(((taps >= 0) & (taps < n)).any(axis=1).all())
    check_everywhere(lambda x: F.max_pool3d(x, dilation=dilation, **args),
                     lambda x: TF.max_pool3d(x, dilation=dilation, **args), [case["x"]], domain="kink_free")
    x = np.random.default_rng(2).standard_normal(case["x"])
    _, ours = F.max_pool3d(tg.tensor(x), dilation=dilation, return_indices=True, **args)
    _, theirs = TF.max_pool3d(torch.tensor(x), dilation=dilation, return_indices=True, **args)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


@settings(max_examples=15)
@given(pool3d_cases(), st.booleans(), st.sampled_from((None, 3)))
def test_avg_pool3d_matches_torch(case, count_include_pad, divisor_override):
    args = {k: v for k, v in case.items() if k != "x"}
    assume(all(n >= k for n, k in zip(case["x"][2:], args["kernel_size"])))  # torch refuses smaller inputs
    args.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    check_everywhere(lambda x: F.avg_pool3d(x, **args), lambda x: TF.avg_pool3d(x, **args), [case["x"]])


@pytest.mark.parametrize(("shape", "kernel", "stride", "padding"), [
    ((1, 1, 5, 5, 5), 2, 2, 0),   # ceil_mode adds a last, partial window in every dim
    ((1, 1, 5, 4, 3), 3, 2, 1),   # the last window would start in the right padding: PyTorch drops it
    ((1, 2, 1, 1, 1), 1, 2, 0),   # one voxel
    ((2, 1, 4, 7, 2), (2, 3, 1), (3, 2, 2), (1, 1, 0)),
])
def test_pool3d_ceil_mode_edges(shape, kernel, stride, padding):
    for fn, torch_fn in ((F.max_pool3d, TF.max_pool3d), (F.avg_pool3d, TF.avg_pool3d)):
        check_everywhere(lambda x, fn=fn: fn(x, kernel, stride, padding, ceil_mode=True),
                         lambda x, torch_fn=torch_fn: torch_fn(x, kernel, stride, padding, ceil_mode=True), [shape],
                         domain="kink_free")


def test_max_pool3d_with_a_window_only_in_the_padding():
    """dilation 2 and ceil_mode: a window whose taps all fall in the padding gives −∞ as in torch."""
    x = np.random.default_rng(3).standard_normal((1, 1, 2, 3, 3))
    ours = F.max_pool3d(tg.tensor(x), 2, 2, 1, dilation=2, ceil_mode=True).detach().numpy()
    theirs = TF.max_pool3d(torch.tensor(x), 2, 2, 1, dilation=2, ceil_mode=True).detach().numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_max_unpool3d_round_trip_matches_torch():
    rng = np.random.default_rng(4)
    for shape, kernel, stride, padding, output_size in [
        ((2, 3, 4, 6, 6), 2, None, 0, None),
        ((1, 2, 5, 5, 5), 3, 2, 1, None),
        ((2, 1, 5, 4, 5), 2, 2, 0, (5, 4, 5)),  # output_size restores the odd sizes pooling floored away
    ]:
        x = rng.standard_normal(shape)
        pool, unpool = nn.MaxPool3d(kernel, stride, padding, return_indices=True), nn.MaxUnpool3d(kernel, stride,
                                                                                                   padding)
        pool_t = torch.nn.MaxPool3d(kernel, stride, padding, return_indices=True)
        unpool_t = torch.nn.MaxUnpool3d(kernel, stride, padding)
        assert repr(unpool) == repr(unpool_t) and repr(pool) == repr(pool_t)
        for name in BACKENDS:
            with tg.backend.using(name):
                xt, xtt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
                y, indices = pool(xt)
                y_t, indices_t = pool_t(xtt)
                np.testing.assert_array_equal(indices.detach().numpy(), indices_t.detach().numpy())
                restored = unpool(y, indices, output_size)
                restored_t = unpool_t(y_t, indices_t, output_size)
                np.testing.assert_array_equal(restored.detach().numpy(), restored_t.detach().numpy())
                (restored * tg.tensor(x)).sum().backward()
                (restored_t * torch.tensor(x)).sum().backward()
                np.testing.assert_allclose(xt.grad.detach().numpy(), xtt.grad.detach().numpy(), rtol=1e-12)
    unbatched = rng.standard_normal((2, 4, 4, 4))
    y, indices = F.max_pool3d(tg.tensor(unbatched), 2, return_indices=True)
    y_t, indices_t = TF.max_pool3d(torch.tensor(unbatched), 2, return_indices=True)
    np.testing.assert_array_equal(F.max_unpool3d(y, indices, 2).detach().numpy(),
                                  TF.max_unpool3d(y_t, indices_t, 2).detach().numpy())


@pytest.mark.parametrize("output_size", [2, (3, None, 1), (1, 4, 3), (5, 2, 2)])
def test_adaptive_pool3d_matches_torch(output_size):
    shape = (2, 2, 5, 4, 3)
    check_everywhere(lambda x: F.adaptive_avg_pool3d(x, output_size), lambda x: TF.adaptive_avg_pool3d(x, output_size),
                     [shape], layouts=("contiguous", "strided"))
    check_everywhere(lambda x: F.adaptive_max_pool3d(x, output_size), lambda x: TF.adaptive_max_pool3d(x, output_size),
                     [shape], domain="kink_free")
    x = np.random.default_rng(5).standard_normal(shape)
    values, indices = nn.AdaptiveMaxPool3d(output_size, return_indices=True)(tg.tensor(x))
    values_t, indices_t = torch.nn.AdaptiveMaxPool3d(output_size, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(indices.detach().numpy(), indices_t.detach().numpy())
    np.testing.assert_array_equal(values.detach().numpy(), values_t.detach().numpy())
    unbatched = nn.AdaptiveAvgPool3d(output_size)(tg.tensor(x[0]))
    np.testing.assert_allclose(unbatched.detach().numpy(),
                               TF.adaptive_avg_pool3d(torch.tensor(x[0]), output_size).detach().numpy(),
                               rtol=1e-12)


def test_pool3d_layers_print_as_torch():
    pairs = [(nn.MaxPool3d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool3d(3, 2, 1, ceil_mode=True)),
             (nn.AvgPool3d(2), torch.nn.AvgPool3d(2)), (nn.AdaptiveAvgPool3d((2, None, 3)),
                                                        torch.nn.AdaptiveAvgPool3d((2, None, 3))),
             (nn.AdaptiveMaxPool3d(2), torch.nn.AdaptiveMaxPool3d(2)), (nn.MaxUnpool3d(2), torch.nn.MaxUnpool3d(2))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


def test_pool3d_gradcheck_and_gradgrad():
    def pools(lib: Any) -> Callable[..., Any]:
        functional = lib.nn.functional
        return lambda x: (functional.max_pool3d(x, 2, 1, 1, ceil_mode=True).sum()
                          + functional.avg_pool3d(x, (2, 1, 2), 2, ceil_mode=True, count_include_pad=False).sum()
                          + (functional.adaptive_avg_pool3d(x, (2, 3, 1)) ** 2).sum())
    check_grad(pools(tg), [(1, 1, 3, 3, 2)], domain="kink_free")
    check_gradgrad(pools(tg), pools(torch), [(1, 1, 3, 3, 2)], domain="kink_free")


# ---- interpolate, Upsample, pad ------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "align_corners"), [("nearest", None), ("nearest-exact", None),
                                                     ("trilinear", False), ("trilinear", True)])
@pytest.mark.parametrize(("size", "scale_factor"), [((4, 3, 7), None), ((1, 5, 2), None), (None, 2),
                                                    (None, (1.5, 0.6, 2.5))])
def test_interpolate_5d_matches_torch(mode, align_corners, size, scale_factor):
    args = dict(size=size, scale_factor=scale_factor, mode=mode, align_corners=align_corners)
    check_everywhere(lambda x: F.interpolate(x, **args), lambda x: TF.interpolate(x, **args), [(2, 2, 3, 4, 5)],
                     layouts=("contiguous", "transposed"))


def test_upsample_layer_on_volumes():
    x = np.random.default_rng(6).standard_normal((1, 2, 2, 3, 2))
    for options in (dict(scale_factor=2, mode="trilinear"), dict(size=(3, 5, 4), mode="trilinear",
                                                                 align_corners=True), dict(scale_factor=3)):
        ours, theirs = nn.Upsample(**options), torch.nn.Upsample(**options)
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-12)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_5d_matches_torch(mode):
    widths = (1, 2, 0, 1, 2, 1)
    check_everywhere(lambda x: F.pad(x, widths, mode=mode), lambda x: TF.pad(x, widths, mode=mode),
                     [(2, 1, 3, 4, 3)])


# ---- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm3d_running_stats_train_and_eval(momentum):
    rng = np.random.default_rng(7)
    for dtype in DTYPES:
        ours, theirs = nn.BatchNorm3d(3, momentum=momentum, dtype=dtype), torch.nn.BatchNorm3d(3, momentum=momentum)
        theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        rtol = 1e-7 if dtype == np.float64 else 1e-4
        for _ in range(3):  # training: batch statistics out, running statistics updated
            x = (rng.standard_normal((2, 3, 2, 3, 2)) * 2 + 1).astype(dtype)
            np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                       rtol=rtol, atol=rtol)
        for key in ("running_mean", "running_var", "num_batches_tracked"):
            np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(),
                                       theirs.state_dict()[key].detach().numpy(), rtol=rtol)
        ours.eval()
        theirs.eval()
        x = rng.standard_normal((1, 3, 2, 2, 2)).astype(dtype)
        np.testing.assert_allclose(ours(tg.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=rtol, atol=rtol)


def test_batchnorm3d_gradients_match_torch():
    def batchnorm(lib: Any) -> Callable[..., Any]:
        return lambda x, w, b: lib.nn.functional.batch_norm(x, None, None, w, b, training=True)
    check_everywhere(batchnorm(tg), batchnorm(torch), [(2, 3, 2, 2, 3), (3,), (3,)])


@pytest.mark.parametrize("options", [{}, dict(affine=True), dict(affine=True, track_running_stats=True)])
def test_instancenorm3d_matches_torch(options):
    rng = np.random.default_rng(8)
    ours, theirs = nn.InstanceNorm3d(2, **options).double(), torch.nn.InstanceNorm3d(2, **options).double()
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    for shape in ((2, 2, 3, 2, 4), (2, 3, 3, 2)):  # batched and unbatched
        x = rng.standard_normal(shape)
        xt, xtt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, y_t = ours(xt), theirs(xtt)
        np.testing.assert_allclose(y.detach().numpy(), y_t.detach().numpy(), rtol=1e-7, atol=1e-10)
        (y * y).sum().backward()
        (y_t * y_t).sum().backward()
        np.testing.assert_allclose(xt.grad.detach().numpy(), xtt.grad.detach().numpy(), rtol=1e-7, atol=1e-10)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.detach().numpy(), rtol=1e-7)


# ---- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "match"), [
    (lambda lib: lib.nn.functional.conv3d(lib.ones(2, 3, 4), lib.ones(2, 3, 1, 1, 1)),
     r"conv3d: expected 4-D \(unbatched\) or 5-D \(batched\) input .*\(2, 3, 4\)"),
    (lambda lib: lib.nn.functional.conv3d(lib.ones(1, 3, 4, 4, 4), lib.ones(2, 3, 1, 1, 1), stride=(1, 2)),
     r"conv3d: expected stride to be a single integer value or a list of 3 values"),
    (lambda lib: lib.nn.functional.conv3d(lib.ones(1, 2, 4, 4, 4), lib.ones(2, 3, 1, 1, 1)),
     r"conv3d: .*\(2, 3, 1, 1, 1\) expects an input with 3 channels.*\(1, 2, 4, 4, 4\)"),
    (lambda lib: lib.nn.functional.conv3d(lib.ones(1, 1, 2, 2, 2), lib.ones(1, 1, 3, 3, 3)),
     r"conv3d: input of shape \(1, 1, 2, 2, 2\) .* smaller than the dilated kernel"),
    (lambda lib: lib.nn.functional.conv_transpose3d(lib.ones(1, 2, 3, 3), lib.ones(3, 1, 2, 2, 2)),
     r"conv_transpose3d: expected input \(N, C_in, D, H, W\).*\(1, 1, 2, 3, 3\) and \(3, 1, 2, 2, 2\)"),
    (lambda lib: lib.nn.Conv3d(3, 2, 1)(lib.ones(2, 3, 4, 5)),
     r"Conv3d: expected input with shape \(N, C, D, H, W\) with C = 3, got shape \(2, 3, 4, 5\)"),
    (lambda lib: lib.nn.MaxPool3d(2)(lib.ones(3, 4, 5)), r"MaxPool3d: expected input with 4 or 5 dims.*\(3, 4, 5\)"),
    (lambda lib: lib.nn.AvgPool3d(2)(lib.ones(3, 4, 5)), r"AvgPool3d: expected input with 4 or 5 dims.*\(3, 4, 5\)"),
    (lambda lib: lib.nn.functional.avg_pool3d(lib.ones(3, 4, 5), 2), r"avg_pool3d: expected input of shape"),
    (lambda lib: lib.nn.functional.max_pool3d(lib.ones(1, 1, 4, 4, 4), 2, padding=2), r"max_pool3d: padding"),
    (lambda lib: lib.nn.functional.adaptive_avg_pool3d(lib.ones(3, 4), 2),
     r"adaptive_avg_pool3d: expects a 4-D or 5-D input, got shape \(3, 4\)"),
    (lambda lib: lib.nn.functional.adaptive_max_pool3d(lib.ones(1, 3, 4), 2), r"adaptive_max_pool3d: expects a 4-D"),
    (lambda lib: lib.nn.functional.max_unpool3d(lib.ones(1, 1, 2, 2, 2), lib.zeros(1, 1, 2, 2).long(), 2),
     r"max_unpool3d: .*indices of the same shape.*\(1, 1, 2, 2, 2\) and \(1, 1, 2, 2\)"),
    (lambda lib: lib.nn.BatchNorm3d(3)(lib.ones(2, 3, 4, 5)),
     r"BatchNorm3d: expected input with shape \(N, C, D, H, W\) with C = 3, got shape \(2, 3, 4, 5\)"),
    (lambda lib: lib.nn.InstanceNorm3d(3)(lib.ones(3, 4, 5)), r"InstanceNorm3d: .*got shape \(3, 4, 5\)"),
    (lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 2, 2), scale_factor=2, mode="trilinear"),
     r"interpolate: mode 'trilinear' with input of shape \(1, 1, 2, 2\) is not supported"),
])
def test_3d_errors_name_the_layer_and_shapes(call, match):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError)):
        call(torch)
    with pytest.raises(ValueError, match=match):  # ShapeError is a ValueError (and a RuntimeError)
        call(tg)



_WINDOW = "kernel_size, dilation and stride must be positive and padding non-negative"


def _bad_windows() -> list[tuple[str, tuple[tuple[int, ...], ...], dict[str, int], str]]:
    """(F function, argument shapes, bad keyword arguments, the message's start) on 2-D and 3-D inputs."""
    cases = []
    for n in (2, 3):
        volume, weight = (1, 2, *(5,) * n), (2, 2, *(2,) * n)
        for bad in (dict(stride=0), dict(dilation=0), dict(padding=-1)):
            cases += [(f"conv{n}d", (volume, weight), bad, _WINDOW), (f"conv_transpose{n}d", (volume, weight), bad,
                                                                       _WINDOW)]
        cases.append((f"conv_transpose{n}d", (volume, weight), dict(output_padding=-1), "output_padding"))
        for bad in (dict(kernel_size=2, stride=0), dict(kernel_size=0), dict(kernel_size=2, padding=-1)):
            cases += [(f"max_pool{n}d", (volume,), bad, _WINDOW), (f"avg_pool{n}d", (volume,), bad, _WINDOW)]
        cases.append((f"max_pool{n}d", (volume,), dict(kernel_size=2, dilation=0), _WINDOW))
    return cases


@pytest.mark.parametrize(("function", "shapes", "bad", "message"), _bad_windows(), ids=str)
def test_non_positive_window_sizes_raise_as_torch(function, shapes, bad, message):
    """A zero stride, kernel or dilation, or a negative (output) padding, is refused by name on every
    backend (the NumPy kernels divided by zero, cropped, or gave a result where PyTorch raises)."""
    with pytest.raises(RuntimeError):
        getattr(TF, function)(*(torch.ones(shape) for shape in shapes), **bad)
    for name in BACKENDS:
        with tg.backend.using(name), pytest.raises(ValueError, match=f"{function}: {message}"):
            getattr(F, function)(*(tg.ones(*shape) for shape in shapes), **bad)
