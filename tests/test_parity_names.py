"""grad_fn names as PyTorch prints them (``MulBackward0``): the ops whose class bears PyTorch's
name, and those that say PyTorch's name in ``torch_name`` (``ReluBackward0``), per call where
it depends on the arguments (``MeanBackward1`` with a dim, ``SelectBackward0`` for ``x[0]``)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

X = np.array([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]])
OPS = {
    "add": lambda lib, x: x + x,
    "sub": lambda lib, x: x - 1.0,
    "mul": lambda lib, x: x * x,
    "div": lambda lib, x: x / 2.0,
    "neg": lambda lib, x: -x,
    "pow": lambda lib, x: x**2,
    "exp": lambda lib, x: x.exp(),
    "log": lambda lib, x: x.log(),
    "sqrt": lambda lib, x: x.sqrt(),
    "abs": lambda lib, x: x.abs(),
    "sin": lambda lib, x: x.sin(),
    "floor": lambda lib, x: x.floor(),
    "ceil": lambda lib, x: x.ceil(),
    "round": lambda lib, x: x.round(),
    "trunc": lambda lib, x: x.trunc(),
    "sign": lambda lib, x: x.sign(),
    "tanh": lambda lib, x: x.tanh(),
    "sigmoid": lambda lib, x: x.sigmoid(),
    "sum": lambda lib, x: x.sum(),
    "mean": lambda lib, x: x.mean(),
    "var": lambda lib, x: x.var(1),
    "std": lambda lib, x: x.std(1),
    "amax": lambda lib, x: x.amax(1),
    "softmax": lambda lib, x: x.softmax(1),
    "log_softmax": lambda lib, x: x.log_softmax(1),
    "permute": lambda lib, x: x.permute(1, 0),
    "expand": lambda lib, x: x[:1].expand(4, 3),
    "where": lambda lib, x: lib.where(x > 1.0, x, x * 2.0),
    "maximum": lambda lib, x: lib.maximum(x, x * 2.0),
    "cat": lambda lib, x: lib.cat([x, x]),
    "stack": lambda lib, x: lib.stack([x, x]),
    "gather": lambda lib, x: x.gather(1, lib.tensor([[0], [2]])),
    # ops whose class is named differently from PyTorch's node (torch_name)
    "relu": lambda lib, x: x.relu(),
    "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x),
    "gelu": lambda lib, x: lib.nn.functional.gelu(x),
    "gelu_tanh": lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh"),
    "logsumexp": lambda lib, x: x.logsumexp(1),
    "norm": lambda lib, x: x.norm(),
    "norm_p1_dim": lambda lib, x: x.norm(p=1, dim=1),
    "pad": lambda lib, x: lib.nn.functional.pad(x, (1, 1)),
    "cross_entropy": lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 2])),
    "bce_with_logits": lambda lib, x: lib.nn.functional.binary_cross_entropy_with_logits(
        x, x.detach() / 4, reduction="none"),
    "clamp": lambda lib, x: x.clamp(0.5, 2.0),
    "clamp_min": lambda lib, x: x.clamp(min=1.0),
    # overloads: the name depends on the arguments
    "sum_dim": lambda lib, x: x.sum(1),
    "mean_dim": lambda lib, x: x.mean(1),
    "prod": lambda lib, x: x.prod(),
    "prod_dim": lambda lib, x: x.prod(1),
    "round_decimals": lambda lib, x: x.round(decimals=1),
    "mm": lambda lib, x: x @ x.T,
    "mv": lambda lib, x: x @ x[0],
    "dot": lambda lib, x: x[0] @ x[1],
    "vec_mat": lambda lib, x: x[0] @ x.T,
    "bmm": lambda lib, x: x.reshape(1, 2, 3) @ x.T.reshape(1, 3, 2),
    "batched_mat": lambda lib, x: x.reshape(1, 2, 3) @ x.T,
    "mat_batched": lambda lib, x: x @ x.T.reshape(1, 3, 2),
    "linear": lambda lib, x: lib.nn.functional.linear(x, x * 2.0, x[:, 0] * 2.0),
    "linear_no_bias": lambda lib, x: lib.nn.functional.linear(x, x * 2.0),
    "linear_3d": lambda lib, x: lib.nn.functional.linear(x.reshape(1, 2, 3), x * 2.0, x[:, 0] * 2.0),
    "linear_3d_no_bias": lambda lib, x: lib.nn.functional.linear(x.reshape(1, 2, 3), x * 2.0),
    "linear_1d": lambda lib, x: lib.nn.functional.linear(x[0], x * 2.0, x[:, 0] * 2.0),
    "linear_1d_no_bias": lambda lib, x: lib.nn.functional.linear(x[0], x * 2.0),
    "reshape": lambda lib, x: x.reshape(3, 2),
    "view": lambda lib, x: x.view(6),
    "flatten": lambda lib, x: x.flatten(),
    "reshape_copy": lambda lib, x: x.T.reshape(6),
    "select": lambda lib, x: x[0],
    "select_2": lambda lib, x: x[:, 1],
    "select_all": lambda lib, x: x[0, 1],
    "select_ellipsis": lambda lib, x: x[..., 1],
    "select_tensor": lambda lib, x: x[lib.tensor(1)],
    "slice": lambda lib, x: x[:1],
    "slice_all": lambda lib, x: x[:],
    "slice_step": lambda lib, x: x[::2],
    "slice_2": lambda lib, x: x[:, :2],
    "select_slice": lambda lib, x: x[0, :2],
    "alias": lambda lib, x: x[:, :],
    "alias_ellipsis": lambda lib, x: x[...],
    "unsqueeze_index": lambda lib, x: x[0, None],
    "index_list": lambda lib, x: x[[0, 1]],
    "index_2": lambda lib, x: x[:, [0, 2]],
    "index_mask": lambda lib, x: x[x > 1.0],
    # ops that are one op here under PyTorch's several names (the caller names the node)
    "clamp_tensors": lambda lib, x: x.clamp(x[0] * 0 + 1.0, x[1] * 0 + 2.0),
    "clamp_tensor_min": lambda lib, x: x.clamp(min=x[0] * 0 + 1.0),
    "clamp_tensor_max": lambda lib, x: x.clamp(max=x[0] * 0 + 1.0),
    "t": lambda lib, x: x.t(),
    "t_1d": lambda lib, x: x[0].t(),
    "T": lambda lib, x: x.T,
    "transpose": lambda lib, x: x.transpose(0, 1),
    "mT": lambda lib, x: x.mT,
    "squeeze": lambda lib, x: x.reshape(2, 1, 3).squeeze(),
    "squeeze_dim": lambda lib, x: x.reshape(2, 1, 3).squeeze(1),
    "squeeze_dims": lambda lib, x: x.reshape(2, 1, 3).squeeze((1,)),
    "squeeze_size_2": lambda lib, x: x.squeeze(0),
    "unsqueeze": lambda lib, x: x.unsqueeze(0),
    "unsqueeze_last": lambda lib, x: x.unsqueeze(-1),
    "bmm_method": lambda lib, x: x.reshape(1, 2, 3).bmm(x.T.reshape(1, 3, 2)),
    "float": lambda lib, x: x.float(),
    "to_float32": lambda lib, x: x.to(lib.float32),
    "half": lambda lib, x: x.half(),
    "max_all": lambda lib, x: x.max(),
    "min_all": lambda lib, x: x.min(),
    "max_dim": lambda lib, x: x.max(1).values,
    "min_dim_keepdim": lambda lib, x: x.min(0, keepdim=True).values,
    "median": lambda lib, x: x.median(),
    "median_dim": lambda lib, x: x.median(1).values,
    "median_dim_keepdim": lambda lib, x: x.median(0, keepdim=True).values,
    "mode": lambda lib, x: x.mode(1).values,
    "sort": lambda lib, x: x.sort(1).values,
    "topk": lambda lib, x: x.topk(2).values,
    "frac": lambda lib, x: x.frac(),
    "kthvalue": lambda lib, x: x.kthvalue(2, 1).values,
    "cumprod": lambda lib, x: x.cumprod(1),
    **{name: (lambda lib, x, name=name: getattr(x / 4, name)())
       for name in ("tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "atanh")},
    "acosh": lambda lib, x: (x + 1).acosh(),
}


@pytest.mark.parametrize("op", OPS)
def test_grad_fn_name_as_torch(op):
    ours = OPS[op](tg, tg.tensor(X, requires_grad=True))
    theirs = OPS[op](torch, torch.tensor(X, requires_grad=True))
    assert ours.grad_fn.name() == theirs.grad_fn.name() == type(theirs.grad_fn).__name__
    assert f"grad_fn=<{theirs.grad_fn.name()}>" in repr(ours)


@pytest.mark.parametrize("make", [lambda lib: lib.ones(3, requires_grad=True),
                                  lambda lib: lib.ones(2, 3, requires_grad=True)])
@pytest.mark.parametrize("dims", [(0, -1), (0, 0), (-1, -1)])
def test_flatten_that_merges_nothing_is_the_tensor_itself_as_torch(make, dims):
    ours, theirs = make(tg), make(torch)
    assert (ours.flatten(*dims) is ours) == (theirs.flatten(*dims) is theirs)
    assert ours.flatten(*dims).is_leaf == theirs.flatten(*dims).is_leaf


def test_linear_with_fused_relu_is_named_as_torch_relu_of_linear():
    """Linear's fused ReLU (activation="relu") gives the node PyTorch's relu(linear(x)) ends in."""
    ours = tg.ops.Linear.apply(tg.tensor(X, requires_grad=True), tg.tensor(X * 2.0), None, activation="relu")
    theirs = torch.nn.functional.linear(torch.tensor(X, requires_grad=True), torch.tensor(X * 2.0)).relu()
    assert ours.grad_fn.name() == theirs.grad_fn.name()
