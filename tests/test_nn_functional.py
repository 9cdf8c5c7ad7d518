"""nn.functional: the functional forms against torch.nn.functional (values and gradients),
one_hot and pad, hypothesis-drawn shapes for linear and conv2d, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F  # noqa: N812 - PyTorch's conventional name

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _check(fn, torch_fn, *arrays, rtol=1e-7, atol=1e-10):
    """Same float64 inputs to both; compare the output and the gradient of every float input."""
    ours = [tg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out_g, out_t = fn(*ours), torch_fn(*theirs)
    np.testing.assert_allclose(out_g.data, out_t.detach().numpy(), rtol=rtol, atol=atol)
    w = np.random.default_rng(0).standard_normal(out_g.shape)
    (out_g * w).sum().backward()
    (out_t * torch.from_numpy(w)).sum().backward()
    for g, t in zip(ours, theirs):
        if t.requires_grad:
            np.testing.assert_allclose(g.grad.data, t.grad.numpy(), rtol=rtol, atol=atol)


RNG = np.random.default_rng(7)


@pytest.mark.parametrize("name,args", [("relu", ()), ("sigmoid", ()), ("tanh", ()), ("softmax", (1,)),
                                       ("log_softmax", (0,)), ("leaky_relu", (0.1,)), ("gelu", ())])
def test_activation_functions_match_torch(name, args):
    _check(lambda x: getattr(F, name)(x, *args), lambda x: getattr(TF, name)(x, *args), RNG.standard_normal((3, 4)))


def test_linear_batch_norm_layer_norm_embedding_functional():
    x, w, b = RNG.standard_normal((5, 4)), RNG.standard_normal((3, 4)), RNG.standard_normal(3)
    _check(F.linear, TF.linear, x, w, b)
    rm, rv = np.zeros(4), np.ones(4)
    _check(lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
           lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True), x, RNG.uniform(1, 2, 4), w[0])
    _check(lambda x: F.batch_norm(x, tg.tensor(rm + 0.5), tg.tensor(rv * 2), training=False),
           lambda x: TF.batch_norm(x, torch.tensor(rm + 0.5), torch.tensor(rv * 2), training=False), x)
    _check(lambda x, g: F.layer_norm(x, (4,), g), lambda x, g: TF.layer_norm(x, (4,), g), x, RNG.uniform(1, 2, 4))
    idx = np.array([[1, 0], [2, 2]])
    _check(lambda wt: F.embedding(tg.tensor(idx), wt, padding_idx=2),
           lambda wt: TF.embedding(torch.from_numpy(idx), wt, padding_idx=2), w)


def test_pad_and_one_hot_match_torch():
    x = RNG.standard_normal((2, 3, 4))
    for pads in [(1, 2), (0, 1, 2, 0), (1, 1, 0, 0, 2, 1)]:
        _check(lambda x, p=pads: F.pad(x, p, value=0.5), lambda x, p=pads: TF.pad(x, p, value=0.5), x)
    labels = np.array([[0, 2], [3, 1]])
    np.testing.assert_array_equal(F.one_hot(tg.tensor(labels)).data, TF.one_hot(torch.from_numpy(labels)).numpy())
    assert F.one_hot(tg.tensor([1]), 5).shape == (1, 5) and F.one_hot(tg.tensor([1])).dtype == np.int64
    with pytest.raises(ValueError, match="one_hot"):
        F.one_hot(tg.tensor([5]), 3)


def test_pooling_and_conv_functional_unbatched_and_indices(backend):
    x = RNG.standard_normal((3, 6, 5))
    _check(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), x)
    _check(lambda x: F.avg_pool2d(x, 2, 1), lambda x: TF.avg_pool2d(x, 2, 1), x)
    _check(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1), x,
           RNG.standard_normal((2, 3, 3, 3)))
    _, idx = F.max_pool2d(tg.tensor(x[None]), 2, return_indices=True)
    _, t_idx = TF.max_pool2d(torch.tensor(x[None]), 2, return_indices=True)
    np.testing.assert_array_equal(idx.data, t_idx.numpy())
    _check(lambda x: F.max_pool2d(x, 2, ceil_mode=True), lambda x: TF.max_pool2d(x, 2, ceil_mode=True), x)


@given(batch=st.integers(1, 3), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(3, 7), w=st.integers(3, 7),
       k=st.integers(1, 3), stride=st.integers(1, 3), padding=st.integers(0, 1), dilation=st.integers(1, 2))
def test_conv2d_random_shapes_match_torch(batch, c, o, h, w, k, stride, padding, dilation):
    if h + 2 * padding < dilation * (k - 1) + 1 or w + 2 * padding < dilation * (k - 1) + 1:
        return
    rng = np.random.default_rng(batch * 100 + h * 10 + w)
    _check(lambda x, wt, b: F.conv2d(x, wt, b, stride, padding, dilation),
           lambda x, wt, b: TF.conv2d(x, wt, b, stride, padding, dilation),
           rng.standard_normal((batch, c, h, w)), rng.standard_normal((o, c, k, k)), rng.standard_normal(o))


@given(lead=st.lists(st.integers(1, 3), max_size=2), n_in=st.integers(1, 5), n_out=st.integers(1, 5))
def test_linear_random_shapes_match_torch(lead, n_in, n_out):
    rng = np.random.default_rng(n_in * 10 + n_out)
    _check(F.linear, TF.linear, rng.standard_normal((*lead, n_in)), rng.standard_normal((n_out, n_in)),
           rng.standard_normal(n_out))


def test_dropout_functional_eval_and_bad_p():
    x = tg.randn(3, 3)
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, 0.0)
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, 1.5)
