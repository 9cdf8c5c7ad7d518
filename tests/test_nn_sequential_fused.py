"""Sequential runs a Linear followed by a ReLU as one op (nn.module.FUSED_PAIRS).

What must hold: the fused model gives PyTorch's outputs and gradients, and the same as running
its layers one at a time; the fusion happens (one graph node for the pair) only where nothing
could tell the difference: no hooks on either layer, exactly the classes Linear and ReLU, a bias
of the layer's own shape.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.autograd.engine import AccumulateGrad

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def mlp(dtype) -> nn.Sequential:
    return nn.Sequential(nn.Linear(6, 8, dtype=dtype), nn.ReLU(), nn.Linear(8, 5, dtype=dtype), nn.ReLU(),
                         nn.Linear(5, 3, dtype=dtype))


def torch_twin(model: nn.Sequential) -> torch.nn.Sequential:
    layers = [torch.nn.Linear(m.in_features, m.out_features) if isinstance(m, nn.Linear) else torch.nn.ReLU()
              for m in model]
    twin = torch.nn.Sequential(*layers).to(torch.float64 if model[0].weight.dtype == np.float64 else torch.float32)
    twin.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in model.state_dict().items()})
    return twin


def inputs(rng, dtype) -> np.ndarray:
    x = rng.standard_normal((7, 6)).astype(dtype)
    x[0] = 0  # a row whose pre-activations are the bias alone
    return x


def one_layer_at_a_time(model: nn.Sequential, x: tg.Tensor) -> tg.Tensor:
    for m in model:
        x = m(x)
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_mlp_matches_torch_and_the_unfused_layers(backend, rng, dtype):
    model = mlp(dtype)
    model[0].bias.data[:3] = 0  # with x[0] = 0: pre-activations exactly 0, where ReLU' is 0
    x_np = inputs(rng, dtype)
    twin = torch_twin(model)
    x = tg.tensor(x_np, requires_grad=True)
    y = model(x)
    y.sum().backward()
    ours = {"x": x.grad.numpy(), **{name: p.grad.numpy() for name, p in model.named_parameters()}}

    xt = torch.tensor(x_np, requires_grad=True)
    yt = twin(xt)
    yt.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(ours["x"], xt.grad.numpy(), **TOL[dtype])
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(ours[name], p.grad.numpy(), **TOL[dtype], err_msg=name)

    model.zero_grad()
    x_again = tg.tensor(x_np, requires_grad=True)
    y_layers = one_layer_at_a_time(model, x_again)
    y_layers.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), y_layers.detach().numpy())  # the same kernels: equal to the bit
    np.testing.assert_allclose(ours["x"], x_again.grad.numpy(), **TOL[dtype])
    for name, p in model.named_parameters():
        np.testing.assert_allclose(ours[name], p.grad.numpy(), **TOL[dtype], err_msg=name)


def nodes_between(y: tg.Tensor) -> list[str]:
    """Names of the nodes from y's grad_fn down the first edge that leads to a node, to the leaves."""
    names, node = [], y.grad_fn
    while node is not None and not isinstance(node, AccumulateGrad):
        names.append(node.name())
        node = next((edge[0] for edge in node.next_functions if edge is not None), None)
    return names


def test_a_linear_relu_pair_is_one_node_with_torchs_name(rng):
    x = tg.tensor(inputs(rng, np.float32), requires_grad=True)
    assert nodes_between(nn.Sequential(nn.Linear(6, 4), nn.ReLU())(x)) == ["ReluBackward0"]
    assert nodes_between(nn.Sequential(nn.ReLU(), nn.Linear(6, 4))(x)) == ["AddmmBackward0", "ReluBackward0"]


class QuietReLU(nn.ReLU):
    """A subclass: it may compute something else, so it is not fused."""


@pytest.mark.parametrize("where", ["linear forward hook", "relu forward pre-hook", "relu backward hook",
                                   "relu subclass"])
def test_no_fusion_where_it_could_be_seen(rng, where):
    seen = []
    linear, relu = nn.Linear(6, 4), nn.ReLU()
    if where == "linear forward hook":
        linear.register_forward_hook(lambda module, args, output: seen.append(output.detach().numpy().copy()))
    elif where == "relu forward pre-hook":
        relu.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().numpy().copy()))
    elif where == "relu backward hook":
        relu.register_full_backward_hook(lambda module, grad_input, grad_output: seen.append(grad_input[0]))
    else:
        relu = QuietReLU()
    x = tg.tensor(inputs(rng, np.float32), requires_grad=True)
    y = nn.Sequential(linear, relu)(x)
    y.sum().backward()
    assert len(nodes_between(y)) >= 2  # the Linear's own node is there
    pre = x.detach().numpy() @ linear.weight.detach().numpy().T + linear.bias.detach().numpy()
    if where.endswith("forward hook") or where.endswith("pre-hook"):
        np.testing.assert_allclose(seen[0], pre, rtol=2e-5, atol=2e-6)  # the Linear's output, before ReLU
    elif where == "relu backward hook":
        np.testing.assert_array_equal(np.asarray(getattr(seen[0], "data", seen[0])), (pre > 0).astype(np.float32))
    np.testing.assert_allclose(y.detach().numpy(), np.maximum(pre, 0), rtol=2e-5, atol=2e-6)


def test_a_bias_that_broadcasts_is_added_before_relu(rng):
    linear = nn.Linear(6, 4)
    linear.bias = nn.Parameter(tg.tensor(np.full((1, 4), -0.25, np.float32)))  # (1, out): broadcast, as torch
    x_np = inputs(rng, np.float32)
    y = nn.Sequential(linear, nn.ReLU())(tg.tensor(x_np))
    expected = np.maximum(x_np @ linear.weight.detach().numpy().T - 0.25, 0)
    np.testing.assert_allclose(y.detach().numpy(), expected, rtol=2e-5, atol=2e-6)


def test_a_wrong_input_still_names_the_linear_layer(rng):
    with pytest.raises(ValueError, match="Linear: expected input with last dim 6"):
        nn.Sequential(nn.Linear(6, 4), nn.ReLU())(tg.zeros(2, 5))
