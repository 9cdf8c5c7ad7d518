"""tg.diagnostics: gradient norms (vanishing gradients in a deep tanh RNN), saliency, PNG output."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.diagnostics import GradNormRecorder, grad_norms, saliency, save_image


def _tanh_rnn(rng, hidden=8, steps=40, scale=0.5):
    """h_t = tanh(W x_t + U h_{t−1} + b) unrolled by hand, ‖U‖₂ = scale < 1."""
    U = rng.standard_normal((hidden, hidden))
    U *= scale / np.linalg.norm(U, 2)
    params = {"W": tg.tensor(rng.standard_normal((hidden, 3)) * 0.5, requires_grad=True),
              "U": tg.tensor(U, requires_grad=True),
              "b": tg.tensor(np.zeros(hidden), requires_grad=True)}
    xs = rng.standard_normal((steps, 3))
    return params, xs


def test_vanishing_gradients_through_time_in_a_tanh_rnn(rng):
    params, xs = _tanh_rnn(rng)
    W, U, b = params["W"], params["U"], params["b"]
    recorder = GradNormRecorder(params)
    h = tg.tensor(np.zeros(U.shape[0]))
    hs = []
    for t, x in enumerate(xs):
        h = recorder.watch(f"h{t}", (W @ tg.tensor(x) + U @ h + b).tanh())
        hs.append(h.data)
    h.sum().backward()
    norms = np.array([recorder.history[f"h{t}"][0] for t in range(len(xs))])

    # the same backpropagation through time by hand: δ_{t−1} = Uᵀ (δ_t ⊙ (1 − h_t²)), δ_T = 1
    delta, expected = np.ones(U.shape[0]), []
    for t in reversed(range(len(xs))):
        expected.append(np.linalg.norm(delta))
        delta = U.data.T @ (delta * (1 - hs[t] ** 2))
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-10)
    assert norms[0] < 1e-6 * norms[-1]  # orders of magnitude smaller at the first step
    assert np.all(norms[:-1] <= 0.5 * norms[1:] + 1e-300)  # each step shrinks it by ≤ ‖U‖₂ = 0.5


def test_grad_norms_report_vanishing_gradients_of_early_rnn_inputs(rng):
    """The per-parameter report: inputs fed at early time steps barely move the loss."""
    params, xs = _tanh_rnn(rng, steps=30)
    inputs = {f"x{t}": tg.tensor(x, requires_grad=True) for t, x in enumerate(xs)}
    h = tg.tensor(np.zeros(8))
    for x in inputs.values():
        h = (params["W"] @ x + params["U"] @ h + params["b"]).tanh()
    h.sum().backward()
    norms = grad_norms(inputs)
    assert list(norms) == list(inputs)  # the order given
    for name, x in inputs.items():
        assert norms[name] == pytest.approx(np.linalg.norm(x.grad.data), rel=1e-12)
    assert norms["x0"] < 1e-6 * norms["x29"]
    assert set(grad_norms(params)) == {"W", "U", "b"}


def test_recorder_keeps_one_value_per_backward_and_stops_when_detached(rng):
    w = tg.tensor(rng.standard_normal(3), requires_grad=True)
    with GradNormRecorder({"w": w}) as recorder:
        for scale in (1.0, 2.0, 3.0):
            w.grad = None
            ((w * scale) ** 2).sum().backward()
            assert recorder.last()["w"] == pytest.approx(grad_norms({"w": w})["w"])
    (w * 1.0).sum().backward()
    assert len(recorder.history["w"]) == 3
    np.testing.assert_allclose(recorder.history["w"], [2 * s * s * np.linalg.norm(w.data) for s in (1, 2, 3)])
    table = recorder.report()
    assert table.splitlines()[0].split() == ["name", "steps", "first", "last", "min", "max"]
    assert table.splitlines()[1].split()[:2] == ["w", "3"]


def test_grad_norms_rejects_other_objects():
    with pytest.raises(TypeError, match=r"named_parameters|dict"):
        grad_norms(3)


def test_saliency_of_a_linear_model_is_the_target_weight_row(rng):
    W = tg.tensor(rng.standard_normal((10, 64)))
    b = tg.tensor(rng.standard_normal(10))
    x = rng.standard_normal((5, 64))
    target = np.array([3, 0, 9, 3, 1])
    maps = saliency(lambda inputs: inputs @ W.T + b, x, target)
    np.testing.assert_allclose(maps, np.abs(W.data[target]), rtol=1e-12)
    np.testing.assert_allclose(saliency(lambda inputs: inputs @ W.T + b, x, 7), np.abs(np.tile(W.data[7], (5, 1))))


def test_saliency_of_a_nonlinear_model_matches_finite_differences(rng):
    W1, W2 = rng.standard_normal((6, 4)), rng.standard_normal((3, 6))
    model = lambda inputs: (inputs @ tg.tensor(W1).T).tanh() @ tg.tensor(W2).T  # noqa: E731
    x = rng.standard_normal((1, 4))
    eps, numeric = 1e-6, []
    for j in range(4):
        step = np.zeros_like(x)
        step[0, j] = eps
        numeric.append((np.tanh((x + step) @ W1.T) @ W2.T - np.tanh((x - step) @ W1.T) @ W2.T)[0, 2] / (2 * eps))
    np.testing.assert_allclose(saliency(model, x, 2)[0], np.abs(numeric), rtol=1e-6)


def test_saliency_needs_two_dimensional_logits():
    with pytest.raises(ValueError, match=r"saliency.*batch, classes"):
        saliency(lambda inputs: inputs.sum(), np.ones((2, 3)), 0)


def _read_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    rows = zlib.decompress(chunks[b"IDAT"])
    return np.frombuffer(rows, np.uint8).reshape(height, width + 1)[:, 1:]


def test_save_image_writes_a_valid_grayscale_png(tmp_path):
    image = np.array([[0.0, 1.0, 2.0], [4.0, 3.0, 2.0]])
    pixels = _read_png(save_image(image, tmp_path / "map.png", scale=2))
    assert pixels.shape == (4, 6)
    np.testing.assert_array_equal(pixels[::2, ::2], np.round(image / 4 * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="2-D"):
        save_image(np.ones(3), tmp_path / "bad.png")


def test_saliency_of_a_trained_digits_classifier(tmp_path):
    """Softmax regression trained on the shipped digits: pixels blank in every image get no
    gradient in training, so their weights stay 0 and no prediction can depend on them."""
    images, labels = tg.datasets.load_digits()
    x = images[:600].reshape(600, 64)
    y = labels[:600]
    W = tg.zeros(10, 64, requires_grad=True)
    b = tg.zeros(10, requires_grad=True)
    model = lambda inputs: inputs @ W.T + b  # noqa: E731
    for _ in range(60):
        loss = -model(tg.tensor(x)).log_softmax(dim=1)[np.arange(600), y].mean()
        W.grad = b.grad = None
        loss.backward()
        with tg.no_grad():
            W.data -= 2.0 * W.grad.data
            b.data -= 2.0 * b.grad.data
    accuracy = np.mean(model(tg.tensor(x)).data.argmax(1) == y)
    assert accuracy > 0.9

    maps = saliency(model, images[600:610].reshape(10, 64), labels[600:610])
    assert maps.dtype == np.float32 and maps.shape == (10, 64)
    np.testing.assert_allclose(maps, np.abs(W.data[labels[600:610]]), rtol=1e-6)
    blank = x.max(axis=0) == 0
    assert blank.any() and np.all(maps[:, blank] == 0) and np.all(maps.sum(axis=1) > 0)
    assert _read_png(save_image(maps[0].reshape(8, 8), tmp_path / "saliency.png", scale=4)).shape == (32, 32)


def test_deep_tanh_rnn_module_vanishes_through_time_and_towards_the_first_layer():
    """nn.RNN with three tanh layers at its default init: inputs of early steps barely reach
    the loss, and the first layer's parameters get smaller gradients than the last's."""
    tg.manual_seed(0)
    rnn = tg.nn.RNN(4, 16, num_layers=3)
    steps = {f"x{t}": tg.randn(1, 2, 4, requires_grad=True) for t in range(40)}
    output, _ = rnn(tg.cat(list(steps.values()), 0))
    output[-1].sum().backward()
    by_step = grad_norms(steps)
    assert by_step["x0"] < 1e-4 * by_step["x39"]
    by_layer = grad_norms(rnn)
    assert list(by_layer) == [name for name, _ in rnn.named_parameters()]
    assert by_layer["weight_hh_l0"] < by_layer["weight_hh_l1"] < by_layer["weight_hh_l2"]


def test_recorder_inside_fit_records_every_step():
    tg.manual_seed(0)
    model = tg.nn.Sequential(tg.nn.Linear(3, 8), tg.nn.Tanh(), tg.nn.Linear(8, 2))
    x, y = tg.randn(32, 3), tg.randint(0, 2, (32,))
    loader = tg.data.DataLoader(tg.data.TensorDataset(x, y), batch_size=8)
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1)
    with GradNormRecorder(model) as recorder:
        tg.train.fit(model, loader, tg.nn.CrossEntropyLoss(), optimizer, epochs=2, progress=False)
    assert {name: len(values) for name, values in recorder.history.items()} == dict.fromkeys(
        ["0.weight", "0.bias", "2.weight", "2.bias"], 8)  # 4 batches × 2 epochs
    assert recorder.last() == pytest.approx(grad_norms(model), rel=1e-6)  # the last step's .grad
