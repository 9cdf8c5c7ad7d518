"""Post-training int8 quantisation (tinygrad_edu/compress/quantize.py).

Checked against the formulas written out in NumPy in this file:
    s_w[o] = max|W[o]| / 127,  q[o] = clip(rint(W[o] / s_w[o]), −127, 127)      (per output channel)
    s_x = max|x| / 127,        x_q = clip(rint(x · 127 / max|x|), −127, 127)     (per call)
    y = float32(x_q · qᵀ) · (s_x s_w) + b
plus the error bound of the quantised layer against the float one, accuracy on the shipped
digits (within 1 point of float32), a quarter of the weight bytes, save/load, and errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import cli, data, nn, optim
from tinygrad_edu.compress import (
    QuantizedConv2d,
    QuantizedLinear,
    dequantize_weights,
    model_size_bytes,
    quantize_int8,
    quantize_per_channel,
)

BACKENDS = tg.backend.available()


def test_per_channel_scales_match_the_formula():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 3, 2, 2)).astype(np.float32)
    w[2] = 0  # an all-zero filter
    q, s = quantize_per_channel(w)
    rows = w.reshape(5, -1)
    expected_s = np.abs(rows).max(axis=1) / np.float32(127)
    expected_s[2] = 1
    np.testing.assert_array_equal(s, expected_s.astype(np.float32))
    np.testing.assert_array_equal(q.reshape(5, -1), np.clip(np.rint(rows / expected_s[:, None]), -127, 127))
    assert q.dtype == np.int8 and s.dtype == np.float32 and q.shape == w.shape
    assert np.all(np.abs(q.reshape(5, -1)).max(axis=1)[[0, 1, 3, 4]] == 127)  # each row's largest hits ±127
    assert np.all(q[2] == 0)
    # W ≈ s·q within half a step, and dequantize_weights is s·q
    np.testing.assert_array_equal(dequantize_weights(q, s), q * s[:, None, None, None])
    assert np.all(np.abs(w - dequantize_weights(q, s)) <= s[:, None, None, None] / 2 * (1 + 1e-6))


def reference_qlinear(x: np.ndarray, layer: QuantizedLinear) -> np.ndarray:
    """The exact int8 math written out: quantise x, integer product, rescale."""
    largest = np.float32(np.abs(x).max())
    s_x, inv = largest / np.float32(127), np.float32(127) / largest
    x_q = np.clip(np.rint(x * inv), -127, 127).astype(np.int64)
    acc = x_q @ layer.weight_int8.numpy().astype(np.int64).T
    return acc.astype(np.float32) * (s_x * layer.weight_scale.numpy()) + layer.bias.numpy()


@pytest.mark.parametrize("kernels", BACKENDS)
def test_quantized_linear_is_the_int8_formula_and_close_to_float(kernels):
    tg.manual_seed(1)
    layer = nn.Linear(40, 7)
    x = np.random.default_rng(1).standard_normal((9, 40)).astype(np.float32)
    qlayer = QuantizedLinear.from_float(layer)
    with tg.backend.using(kernels), tg.no_grad():
        y_q = qlayer(tg.tensor(x)).numpy()
        y = layer(tg.tensor(x)).numpy()
    assert y_q.dtype == np.float32 and y_q.shape == (9, 7)
    np.testing.assert_array_equal(y_q, reference_qlinear(x, qlayer))
    # |y_q − y| ≤ Σ_k (|x_k| s_w/2 + |W_k| s_x/2 + s_x s_w/4)  (x and W each within half a step) + float rounding
    s_x = np.abs(x).max() / 127
    s_w = qlayer.weight_scale.numpy()
    w = layer.weight.detach().numpy()
    bound = (np.abs(x) @ np.ones((40, 7)) * s_w / 2 + s_x / 2 * np.abs(w).sum(axis=1) + 40 * s_x * s_w / 4)
    assert np.all(np.abs(y_q - y) <= bound + 1e-5)


def test_c_and_numpy_backends_give_identical_models():
    if "c" not in BACKENDS:
        pytest.skip("the C extension is not built")
    tg.manual_seed(2)
    model = quantize_int8(cli.build_model("cnn", (1, 8, 8)))
    x = tg.tensor(np.random.default_rng(2).random((20, 1, 8, 8)).astype(np.float32))
    with tg.no_grad():
        with tg.backend.using("numpy"):
            y_numpy = model(x).numpy()
        with tg.backend.using("c"):
            y_c = model(x).numpy()
    np.testing.assert_array_equal(y_c, y_numpy)


@pytest.fixture(scope="module")
def trained_cnn():
    """The command line's digits CNN, trained briefly (about a second), and the digits splits."""
    tg.manual_seed(0)
    splits = cli.load_splits("digits")
    model = cli.build_model("cnn", (1, 8, 8))
    loader = data.DataLoader(data.TensorDataset(*splits["train"]), batch_size=64, shuffle=True)
    tg.train.fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), 3,
                 progress=False)
    return model, splits


def accuracy(model: nn.Module, split: tuple[np.ndarray, np.ndarray]) -> float:
    with tg.no_grad():
        return float(np.mean(model(tg.tensor(split[0])).numpy().argmax(axis=1) == split[1]))


def test_int8_digits_cnn_keeps_accuracy_and_is_a_quarter_of_the_weights(trained_cnn):
    model, splits = trained_cnn
    quantized = quantize_int8(model)
    float_accuracy, int8_accuracy = accuracy(model, splits["test"]), accuracy(quantized, splits["test"])
    assert float_accuracy > 0.9
    assert int8_accuracy >= float_accuracy - 0.01
    float_weights = sum(m.weight.data.nbytes for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    int8_weights = sum(m.weight_int8.data.nbytes for m in quantized.modules()
                       if isinstance(m, (QuantizedLinear, QuantizedConv2d)))
    assert 4 * int8_weights == float_weights
    assert model_size_bytes(quantized) < 0.3 * model_size_bytes(model)  # + per-channel scales and float biases
    assert model_size_bytes(model) == sum(p.data.nbytes for p in model.parameters())


def test_quantize_int8_copies_and_names(trained_cnn):
    model, _ = trained_cnn
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    quantized = quantize_int8(model)
    assert not quantized.training
    assert list(quantized.state_dict()) == ["0.weight_int8", "0.weight_scale", "0.bias", "3.weight_int8",
                                            "3.weight_scale", "3.bias", "7.weight_int8", "7.weight_scale", "7.bias"]
    assert [type(m).__name__ for m in quantized][:4] == ["QuantizedConv2d", "ReLU", "MaxPool2d", "QuantizedConv2d"]
    for key, value in model.state_dict().items():  # the float model is untouched (state_dict detaches)
        np.testing.assert_array_equal(value.numpy(), before[key])
    assert isinstance(model[0], nn.Conv2d)
    other = cli.build_model("cnn", (1, 8, 8))
    same = quantize_int8(other, inplace=True)
    assert same is other and isinstance(other[0], QuantizedConv2d)


def test_quantize_int8_nested_modules_and_a_bare_layer():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
            self.head = nn.Linear(8, 2, bias=False)

        def forward(self, x):
            return self.head(self.body(x))

    tg.manual_seed(3)
    net = Net()
    quantized = quantize_int8(net)
    assert isinstance(quantized.body[0], QuantizedLinear) and isinstance(quantized.head, QuantizedLinear)
    assert quantized.head.bias is None and "head.bias" not in quantized.state_dict()
    x = tg.tensor(np.random.default_rng(3).standard_normal((3, 5, 4)).astype(np.float32))  # extra batch axes
    with tg.no_grad():
        np.testing.assert_allclose(quantized(x).numpy(), net(x).numpy(), atol=0.05)
    assert isinstance(quantize_int8(nn.Linear(3, 2)), QuantizedLinear)


def test_quantizing_a_pruned_model_after_an_optimiser_step_uses_the_current_weights():
    """A pruned layer's ``weight`` attribute still holds the value of its last forward after a step;
    quantize_int8 must quantise orig ⊙ mask as it is now (what the next forward would use)."""
    from tinygrad_edu.compress import prune_magnitude

    tg.manual_seed(4)
    model = nn.Sequential(nn.Linear(8, 4))
    prune_magnitude(model, 0.5)
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    x = tg.tensor(np.random.default_rng(4).standard_normal((5, 8)).astype(np.float32))
    model(x).sum().backward()
    optimizer.step()
    current = model[0].weight_orig.data * model[0].weight_mask.data
    quantized = quantize_int8(model)
    q, s = quantize_per_channel(current)
    np.testing.assert_array_equal(quantized[0].weight_int8.numpy(), q)
    np.testing.assert_array_equal(quantized[0].weight_scale.numpy(), s)


def test_save_load_round_trip_is_bit_identical(trained_cnn, tmp_path):
    model, splits = trained_cnn
    quantized = quantize_int8(model)
    tg.save(quantized.state_dict(), tmp_path / "int8.safetensors")
    loaded = tg.load(tmp_path / "int8.safetensors")
    assert loaded["0.weight_int8"].dtype == np.int8
    fresh = quantize_int8(cli.build_model("cnn", (1, 8, 8)))  # the same architecture, other weights
    fresh.load_state_dict(loaded)
    x = tg.tensor(splits["test"][0][:50])
    with tg.no_grad():
        np.testing.assert_array_equal(fresh(x).numpy(), quantized(x).numpy())
    assert (tmp_path / "int8.safetensors").stat().st_size < 0.3 * model_size_bytes(model) + 2048  # + the header


def test_quantized_conv2d_single_image_and_close_to_float():
    tg.manual_seed(4)
    conv = nn.Conv2d(3, 5, 3, stride=2, padding="valid")
    qconv = QuantizedConv2d.from_float(conv)
    x = tg.tensor(np.random.default_rng(4).standard_normal((3, 9, 9)).astype(np.float32))
    with tg.no_grad():
        y, y_q = conv(x).numpy(), qconv(x).numpy()
    assert y_q.shape == y.shape == (5, 4, 4)
    np.testing.assert_allclose(y_q, y, atol=0.05)
    same = QuantizedConv2d.from_float(nn.Conv2d(2, 2, 3, padding="same", dilation=2))
    assert same.padding == (2, 2)
    with tg.no_grad():  # .double() makes scale and bias float64; the int8 path still computes in float32
        np.testing.assert_array_equal(qconv.double()(x).numpy(), y_q)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="groups=2"):
        QuantizedConv2d.from_float(nn.Conv2d(2, 4, 3, groups=2))
    with pytest.raises(ValueError, match="padding_mode='reflect'"):
        QuantizedConv2d.from_float(nn.Conv2d(2, 4, 3, padding=1, padding_mode="reflect"))
    with pytest.raises(ValueError, match="unevenly"):
        QuantizedConv2d.from_float(nn.Conv2d(2, 4, 2, padding="same"))
    layer = QuantizedLinear.from_float(nn.Linear(3, 2))
    x = tg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match="inference-only"):
        layer(x)
    with tg.no_grad():
        assert layer(x).grad_fn is None
        with pytest.raises(ValueError, match=r"QuantizedLinear.*\(4, 5\)"):
            layer(tg.tensor(np.ones((4, 5), np.float32)))
        with pytest.raises(ValueError, match="NaN"):
            layer(tg.tensor(np.full((4, 3), np.nan, np.float32)))
        with pytest.raises(ValueError, match="QuantizedConv2d"):
            QuantizedConv2d.from_float(nn.Conv2d(2, 4, 3))(tg.tensor(np.ones((1, 3, 5, 5), np.float32)))
        np.testing.assert_array_equal(layer(tg.tensor(np.zeros((2, 3), np.float32))).numpy(),
                                      np.broadcast_to(layer.bias.numpy(), (2, 2)))  # all-zero input: s_x guarded
        tiny = layer(tg.tensor(np.full((2, 3), 1e-38, np.float32))).numpy()  # 127 / 1e-38 overflows float32
        np.testing.assert_array_equal(tiny, np.broadcast_to(layer.bias.numpy(), (2, 2)))
    with pytest.raises(TypeError, match=r"nn\.Module"):
        quantize_int8(np.zeros(3))
