"""nn layers against PyTorch: load the torch layer's state_dict (as NumPy arrays) into ours,
then compare outputs and the gradients of the input and of every parameter, in float64
(tight) and float32, over the layer options. Also: state_dict keys and shapes, default
init bounds, and bad input shapes naming the layer, the expected and the given shape."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

torch = pytest.importorskip("torch")

TOL = {np.float64: (1e-7, 1e-10), np.float32: (1e-4, 1e-5)}
DTYPES = [np.float64, np.float32]


def _flat(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def compare_with_torch(ours: nn.Module, theirs: Any, inputs: list[np.ndarray], dtype: Any = np.float64,
                       tol: tuple[float, float] | None = None, grad_inputs: bool = True, **kwargs: Any) -> None:
    """Copy theirs' state into ours, run both on ``inputs`` and compare every output, the
    input gradients and every parameter gradient (after a random weighting of the outputs)."""
    rtol, atol = tol or TOL[dtype]
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    ours.to(dtype)
    result = ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape), k
    t_in = [torch.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    g_in = [tg.tensor(a, requires_grad=grad_inputs and a.dtype.kind == "f") for a in inputs]
    t_out, g_out = _flat(theirs(*t_in, **kwargs)), _flat(ours(*g_in, **kwargs))
    assert len(t_out) == len(g_out)
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in t_out]
    for t, g in zip(t_out, g_out):
        assert g.dtype == dtype
        np.testing.assert_allclose(g.data, t.detach().numpy(), rtol=rtol, atol=atol)
    sum(((t * torch.from_numpy(w)).sum() for t, w in zip(t_out, weights))).backward()
    sum(((g * w).sum() for g, w in zip(g_out, weights))).backward()
    for t, g in zip(t_in, g_in):
        if t.requires_grad:
            np.testing.assert_allclose(g.grad.data, t.grad.numpy(), rtol=rtol, atol=atol)
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, t_params[name].grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
    # buffers (BatchNorm running statistics) after the step
    for name, b in theirs.named_buffers():
        np.testing.assert_allclose(dict(ours.named_buffers())[name].data, b.numpy(), rtol=rtol, atol=atol)


def _randn(*shape: int, dtype: Any = np.float64) -> np.ndarray:
    return np.random.default_rng(sum(shape) + len(shape)).standard_normal(shape).astype(dtype)


# ---- Linear ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_linear_matches_torch(dtype, bias, shape):
    compare_with_torch(nn.Linear(4, 3, bias=bias), torch.nn.Linear(4, 3, bias=bias), [_randn(*shape, dtype=dtype)],
                       dtype)


def test_linear_wrong_input_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear: expected input with last dim 4, got shape \(2, 3\)"):
        nn.Linear(4, 2)(tg.randn(2, 3))


def test_linear_default_init_bounds_like_torch():
    tg.manual_seed(0)
    layer = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.9 * bound  # really uniform over the whole range
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad


# ---- convolution and pooling (both backends) ---------------------------------------------------


CONV2D_OPTIONS = [
    dict(stride=1, padding=0, dilation=1, bias=True),
    dict(stride=2, padding=1, dilation=1, bias=False),
    dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), bias=True),
    dict(stride=1, padding="same", dilation=1, bias=True),
    dict(stride=1, padding="same", dilation=2, bias=True),
    dict(stride=1, padding="valid", dilation=1, bias=True),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", CONV2D_OPTIONS, ids=str)
def test_conv2d_matches_torch(backend, dtype, options):
    kernel = (3, 2) if options["padding"] != "same" else (3, 4)
    compare_with_torch(nn.Conv2d(3, 4, kernel, **options), torch.nn.Conv2d(3, 4, kernel, **options),
                       [_randn(2, 3, 7, 6, dtype=dtype)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [dict(stride=1, padding=0), dict(stride=2, padding=1, dilation=2),
                                     dict(padding="same", bias=False)], ids=str)
def test_conv1d_matches_torch(backend, dtype, options):
    compare_with_torch(nn.Conv1d(2, 3, 4, **options), torch.nn.Conv1d(2, 3, 4, **options),
                       [_randn(2, 2, 9, dtype=dtype)], dtype)


def test_conv2d_unbatched_input_and_errors():
    conv = nn.Conv2d(3, 2, 3)
    assert conv(tg.randn(3, 5, 5)).shape == (2, 3, 3)
    with pytest.raises(ValueError, match=r"Conv2d: expected input with shape \(N, C, H, W\) with C = 3, "
                                         r"got shape \(1, 2, 5, 5\)"):
        conv(tg.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        conv(tg.randn(1, 3, 2, 2))


def test_conv2d_double_backward_gradgradcheck(backend):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((2, 2, 2, 2)), requires_grad=True)

    def fn(x, w):
        return nn.functional.conv2d(x, w, stride=2, padding=1)

    assert tg.autograd.gradcheck(fn, (x, w))
    assert tg.autograd.gradgradcheck(fn, (x, w))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                     dict(kernel_size=(2, 3), stride=1, dilation=(2, 1))], ids=str)
def test_max_pool2d_matches_torch(backend, dtype, options):
    compare_with_torch(nn.MaxPool2d(**options), torch.nn.MaxPool2d(**options), [_randn(2, 3, 7, 6, dtype=dtype)],
                       dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                     dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)], ids=str)
def test_avg_pool2d_matches_torch(backend, dtype, options):
    compare_with_torch(nn.AvgPool2d(**options), torch.nn.AvgPool2d(**options), [_randn(2, 3, 7, 6, dtype=dtype)],
                       dtype)


def test_pool_wrong_input_names_layer():
    with pytest.raises(ValueError, match=r"MaxPool2d: expected input with 3 or 4 dims.*got shape \(2, 3\)"):
        nn.MaxPool2d(2)(tg.randn(2, 3))


# ---- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind,shape", [("1d", (6, 3)), ("1d", (4, 3, 5)), ("2d", (4, 3, 2, 5))])
@pytest.mark.parametrize("options", [dict(), dict(momentum=0.3, affine=False), dict(momentum=None),
                                     dict(track_running_stats=False)], ids=str)
def test_batchnorm_train_steps_then_eval_match_torch(dtype, kind, shape, options):
    ours = (nn.BatchNorm1d if kind == "1d" else nn.BatchNorm2d)(3, **options)
    theirs = (torch.nn.BatchNorm1d if kind == "1d" else torch.nn.BatchNorm2d)(3, **options)
    if ours.weight is not None:  # non-trivial affine parameters
        theirs.weight.data.uniform_(0.5, 1.5)
        theirs.bias.data.uniform_(-0.5, 0.5)
    for step in range(3):  # running statistics accumulate over several training steps
        x = (np.random.default_rng(step).standard_normal(shape) * 2 + step).astype(dtype)
        compare_with_torch(ours, theirs, [x], dtype)
        for p in [*ours.parameters(), *theirs.parameters()]:
            p.grad = None
    ours.eval()
    theirs.eval()
    compare_with_torch(ours, theirs, [_randn(*shape, dtype=dtype)], dtype)
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked.item()) == 3


def test_batchnorm_wrong_channels_names_layer():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input with shape \(N, C, H, W\) with C = 3, "
                                         r"got shape \(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(tg.randn(2, 4, 5, 5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalized_shape,options", [(5, dict()), ((3, 5), dict(eps=1e-3)),
                                                      (5, dict(elementwise_affine=False)), (5, dict(bias=False))])
def test_layernorm_matches_torch(dtype, normalized_shape, options):
    theirs = torch.nn.LayerNorm(normalized_shape, **options)
    if theirs.weight is not None:
        theirs.weight.data.uniform_(0.5, 1.5)
    compare_with_torch(nn.LayerNorm(normalized_shape, **options), theirs, [_randn(2, 3, 5, dtype=dtype)], dtype)


def test_layernorm_wrong_shape_names_layer():
    with pytest.raises(ValueError, match=r"LayerNorm: expected input with trailing shape \(5,\), got shape \(2, 4\)"):
        nn.LayerNorm(5)(tg.randn(2, 4))


# ---- embedding, dropout, activations ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch(dtype, padding_idx):
    idx = np.array([[0, 2, 4], [4, 4, 1]])
    theirs = torch.nn.Embedding(5, 3, padding_idx=padding_idx)
    theirs.weight.data.normal_()  # a non-zero padding row: forward reads it, backward skips it
    compare_with_torch(nn.Embedding(5, 3, padding_idx=padding_idx), theirs, [idx], dtype)
    assert repr(nn.Embedding(5, 3, padding_idx=padding_idx)) == repr(torch.nn.Embedding(5, 3, padding_idx=padding_idx))


def test_embedding_init_padding_row_zero_and_bad_index():
    e = nn.Embedding(10, 4, padding_idx=3)
    assert np.all(e.weight.data[3] == 0) and np.abs(e.weight.data).max() > 0
    with pytest.raises(IndexError, match="embedding"):
        e(tg.tensor([10]))
    with pytest.raises(IndexError, match="embedding: index out of range"):  # as PyTorch: no wrap-around
        e(tg.tensor([2, -1]))
    with pytest.raises(IndexError):
        torch.nn.Embedding(10, 4)(torch.tensor([2, -1]))


def test_dropout_statistics_reproducibility_and_eval():
    layer = nn.Dropout(0.25)
    x = tg.ones(200, 100)
    tg.manual_seed(3)
    a = layer(x)
    tg.manual_seed(3)
    b = layer(x)
    np.testing.assert_array_equal(a.data, b.data)
    kept = a.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(a.data[kept], 1 / 0.75, rtol=1e-6)  # inverted dropout rescales
    layer.eval()
    assert layer(x) is x
    xg = tg.ones(4, 5, requires_grad=True)
    layer.train()
    y = layer(xg)
    y.sum().backward()
    np.testing.assert_allclose(xg.grad.data, y.data)  # gradient is the same mask / (1 − p)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args", [("ReLU", ()), ("Sigmoid", ()), ("Tanh", ()), ("Softmax", (1,)),
                                       ("LogSoftmax", (-1,)), ("LeakyReLU", (0.2,)), ("GELU", ()),
                                       ("GELU", ("tanh",)), ("Flatten", ()), ("Identity", ())])
def test_activation_modules_match_torch(dtype, name, args):
    compare_with_torch(getattr(nn, name)(*args), getattr(torch.nn, name)(*args), [_randn(3, 4, 2, dtype=dtype)],
                       dtype)
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


# ---- a small CNN trained in PyTorch, loaded here: same predictions --------------------------------


def _cnn(lib: Any) -> Any:
    return lib.Sequential(
        lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(4, 6, 3), lib.ReLU(), lib.AvgPool2d(2), lib.Flatten(), lib.Dropout(0.3),
        lib.Linear(6, 10), lib.LogSoftmax(dim=1),
    )


def test_torch_trained_cnn_loads_and_predicts_the_same(backend):
    torch.manual_seed(0)
    theirs = _cnn(torch.nn)
    opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    x = torch.randn(16, 1, 8, 8)
    y = torch.randint(0, 10, (16,))
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.nll_loss(theirs(x), y).backward()
        opt.step()
    theirs.eval()
    ours = _cnn(nn)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    with torch.no_grad():
        expected = theirs(x).numpy()
    np.testing.assert_allclose(ours(tg.tensor(x.numpy())).data, expected, rtol=1e-4, atol=1e-5)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_accumulate_independently_like_torch(momentum):
    """Several training steps with no state copied in between, then eval: same statistics and outputs."""
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum).double(), torch.nn.BatchNorm2d(3, momentum=momentum).double()
    rng = np.random.default_rng(5)
    for step in range(4):
        x = rng.standard_normal((4, 3, 2, 3)) * (step + 1) + step
        np.testing.assert_allclose(ours(tg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-7)
    for name, b in theirs.named_buffers():
        np.testing.assert_allclose(dict(ours.named_buffers())[name].data, b.numpy(), rtol=1e-12, err_msg=name)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 2, 3))
    np.testing.assert_allclose(ours(tg.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-7)


def test_conv_default_init_bounds_like_torch():
    tg.manual_seed(1)
    conv = nn.Conv2d(4, 8, 3)
    bound = 1 / math.sqrt(4 * 9)
    for p in (conv.weight, conv.bias):
        assert bound >= np.abs(p.data).max() > 0.8 * bound
    assert conv.weight.shape == (8, 4, 3, 3) and conv.bias.shape == (8,)
