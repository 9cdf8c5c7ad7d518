"""Lazy modules (nn.LazyLinear, LazyConv1d/2d, LazyConvTranspose1d/2d, LazyBatchNorm1d/2d) and
nn.parameter.UninitializedParameter/UninitializedBuffer against PyTorch: what they hold before the
first call, the shapes and class after it, equal outputs once torch's weights are copied in, the
initialisation bounds, state dicts in both directions, optimisers built before the dry run, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.nn.parameter import UninitializedBuffer, UninitializedParameter

torch = pytest.importorskip("torch")
tnn = torch.nn


@pytest.fixture(autouse=True)
def seeded():
    """torch's layers draw their initial weights: seed both sides so that every run checks the same cases."""
    torch.manual_seed(0)
    tg.manual_seed(0)


def numpy_of(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().copy()


def load_from(tm: torch.nn.Module, m: nn.Module) -> None:
    m.load_state_dict({k: numpy_of(v) for k, v in tm.state_dict().items()})


def same_output(tm, m, x: np.ndarray, tol: float = 1e-5):
    ty = tm(torch.from_numpy(x))
    y = m(tg.Tensor(x))
    np.testing.assert_allclose(y.data, numpy_of(ty), rtol=tol, atol=tol)
    return y, ty


def test_lazy_linear_before_and_after_the_first_call_as_torch():
    tm, m = tnn.LazyLinear(3), nn.LazyLinear(3)
    assert repr(m) == repr(tm) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert isinstance(m.weight, UninitializedParameter) and isinstance(m.weight, nn.Parameter)
    assert m.has_uninitialized_params()
    assert [repr(v) for v in m.state_dict().values()] == [repr(v) for v in tm.state_dict().values()]
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        _ = m.weight.shape
    weight_object = m.weight
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    y = m(tg.Tensor(x))
    tm(torch.from_numpy(x))
    assert type(m) is nn.Linear and type(tm) is tnn.Linear and repr(m) == repr(tm)
    assert m.weight is weight_object and type(m.weight) is nn.Parameter  # the same object, now a Parameter
    assert m.weight.shape == tuple(tm.weight.shape) == (3, 5) and m.bias.shape == (3,)
    assert m.weight.dtype == np.float32 and y.shape == (2, 3)
    assert not m._forward_pre_hooks and not m._load_state_dict_pre_hooks
    bound = 1 / math.sqrt(5)  # Linear's init: U(-1/sqrt(in), 1/sqrt(in)) for both
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert np.abs(m.weight.data).max() > bound / 2  # really drawn, not left at zero
    load_from(tm, m)
    same_output(tm, m, x)


def test_module_to_converts_the_placeholders_before_the_dry_run():
    m, tm = nn.LazyLinear(2).double(), tnn.LazyLinear(2).double()
    x = np.random.default_rng(8).standard_normal((3, 4))
    m(tg.Tensor(x))
    tm(torch.from_numpy(x))
    assert m.weight.dtype == m.bias.dtype == np.float64 and tm.weight.dtype == torch.float64


def test_lazy_linear_without_bias_and_float64():
    m = nn.LazyLinear(4, bias=False, dtype=tg.float64)
    tm = tnn.LazyLinear(4, bias=False, dtype=torch.float64)
    x = np.random.default_rng(1).standard_normal((3, 2, 6))
    m(tg.Tensor(x))
    tm(torch.from_numpy(x))
    assert m.bias is None and m.weight.dtype == np.float64 and list(m.state_dict()) == list(tm.state_dict())
    load_from(tm, m)
    same_output(tm, m, x, 1e-12)


CONVS = [
    ("LazyConv1d", (4, 3), {"stride": 2, "padding": 1}, (2, 6, 9)),
    ("LazyConv1d", (4, 3), {"groups": 2}, (6, 7)),  # unbatched: channels in dim 0
    ("LazyConv2d", (6, 3), {"padding": 1, "groups": 3}, (2, 3, 5, 5)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2}, (2, 6, 5)),
    ("LazyConvTranspose2d", (4, 2), {"stride": 2, "groups": 2}, (2, 6, 3, 3)),
    ("LazyConv3d", (3, 2), {"padding": 1}, (1, 2, 3, 3, 3)),
    ("LazyConvTranspose3d", (2, 2), {"stride": 2}, (1, 3, 2, 2, 2)),
]


@pytest.mark.parametrize("name,args,kwargs,in_shape", CONVS)
def test_lazy_convolutions_match_torch(name, args, kwargs, in_shape):
    tm, m = getattr(tnn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    assert repr(m) == repr(tm)
    x = np.random.default_rng(2).standard_normal(in_shape).astype(np.float32)
    m(tg.Tensor(x))
    tm(torch.from_numpy(x))
    assert type(m).__name__ == type(tm).__name__ == name.replace("Lazy", "")
    assert repr(m) == repr(tm) and m.in_channels == tm.in_channels
    shapes = [(k, v.shape) for k, v in m.state_dict().items()]
    assert shapes == [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    fan_in = m.weight.shape[1] * math.prod(m.kernel_size)  # PyTorch's fan_in for both layouts
    assert np.abs(m.weight.data).max() <= 1 / math.sqrt(fan_in)
    load_from(tm, m)
    same_output(tm, m, x)


def test_lazy_conv_errors_name_the_problem():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"):
        nn.LazyConv2d(4, 3)(tg.zeros(3, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(tg.zeros(1, 3, 5, 5))


@pytest.mark.parametrize("name,kwargs,in_shape", [
    ("LazyBatchNorm1d", {}, (8, 3)),
    ("LazyBatchNorm1d", {"momentum": None}, (4, 3, 5)),
    ("LazyBatchNorm2d", {"affine": False}, (4, 2, 3, 3)),
    ("LazyBatchNorm2d", {"track_running_stats": False}, (4, 2, 3, 3)),
    ("LazyInstanceNorm1d", {}, (2, 3, 6)),
    ("LazyInstanceNorm2d", {"affine": False}, (2, 3, 4, 4)),
    ("LazyBatchNorm3d", {}, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm3d", {}, (2, 3, 2, 2, 2)),
])
def test_lazy_batch_norm_matches_torch(name, kwargs, in_shape):
    tm, m = getattr(tnn, name)(**kwargs), getattr(nn, name)(**kwargs)
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    if m.track_running_stats:
        assert isinstance(m.running_mean, UninitializedBuffer) and not isinstance(m.running_mean, nn.Parameter)
    x = np.random.default_rng(3).standard_normal(in_shape).astype(np.float32)
    same_output(tm, m, x)  # γ = 1, β = 0 on both sides: no copying needed
    assert type(m).__name__ == type(tm).__name__ == name.replace("Lazy", "") and repr(m) == repr(tm)
    for key, value in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[key].data, numpy_of(value), rtol=1e-5, atol=1e-6)
    if m.track_running_stats:
        assert type(m.running_mean) is tg.Tensor and type(m.num_batches_tracked) is tg.Tensor
    tm.eval()
    m.eval()
    same_output(tm, m, x)


def test_lazy_batch_norm_rejects_a_vector():
    with pytest.raises(ValueError, match="LazyBatchNorm1d: expected input with shape"):
        nn.LazyBatchNorm1d()(tg.zeros(3))


def test_state_dict_of_an_initialised_model_loads_into_a_lazy_one():
    tm = tnn.Linear(5, 3)
    lazy_t, lazy = tnn.LazyLinear(3), nn.LazyLinear(3)
    lazy_t.load_state_dict(tm.state_dict())
    load_from(tm, lazy)
    assert type(lazy) is nn.LazyLinear and not lazy.has_uninitialized_params() and lazy.weight.shape == (3, 5)
    x = np.random.default_rng(4).standard_normal((2, 5)).astype(np.float32)
    same_output(lazy_t, lazy, x)
    assert type(lazy) is nn.Linear and lazy.in_features == 5
    wrong = nn.LazyLinear(3)
    load_from(tm, wrong)
    with pytest.raises(AssertionError, match="The in_features inferred from input: 4 is not equal to in_features"):
        wrong(tg.zeros(2, 4))


def test_nested_lazy_modules_load_a_torch_state_dict_under_their_prefix():
    tm = tnn.Sequential(tnn.Linear(3, 4), tnn.ReLU(), tnn.Sequential(tnn.Conv1d(4, 2, 3)))
    m = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.Sequential(nn.LazyConv1d(2, 3)))
    load_from(tm, m)  # the pre-hooks see the prefixes "0." and "2.0."
    assert m[2][0].weight.shape == (2, 4, 3) and type(m[0]) is nn.LazyLinear
    x = np.random.default_rng(9).standard_normal((2, 3)).astype(np.float32)
    y = m[0](tg.Tensor(x))
    np.testing.assert_allclose(y.data, numpy_of(tm[0](torch.from_numpy(x))), rtol=1e-6, atol=1e-6)
    assert type(m[0]) is nn.Linear and m[0].in_features == 3


def test_load_state_dict_pre_hook_takes_torchs_arguments():
    """A hook written for torch's register_load_state_dict_pre_hook works unchanged."""
    def run(module_cls, hook_owner, state):
        calls = []

        def hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
            calls.append((prefix, sorted(state_dict), strict))
            state_dict[prefix + "bias"] = state_dict.pop(prefix + "b")  # an old name
            if "bad" in state_dict:
                error_msgs.append("bad entry")
        root = module_cls()
        hook_owner(root).register_load_state_dict_pre_hook(hook)
        return root.load_state_dict(state, strict=False), calls

    t_state = {"1.weight": torch.zeros(2, 3), "1.b": torch.ones(2)}
    t_result, t_calls = run(lambda: tnn.Sequential(tnn.ReLU(), tnn.Linear(3, 2)), lambda r: r[1], t_state)
    result, calls = run(lambda: nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), lambda r: r[1],
                        {k: numpy_of(v) for k, v in t_state.items()})
    assert calls == t_calls == [("1.", ["1.b", "1.weight"], True)]  # torch passes strict=True regardless
    assert tuple(result) == tuple(t_result) == ([], [])
    with pytest.raises(RuntimeError, match="bad entry"):
        run(lambda: nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), lambda r: r[1],
            {"1.weight": np.zeros((2, 3)), "1.b": np.ones(2), "bad": np.zeros(1)})


def test_optimiser_built_before_the_dry_run_trains_the_materialized_parameters():
    """Torch accepts the placeholders in an optimiser; they are the parameters afterwards."""
    tm, m = tnn.Sequential(tnn.LazyLinear(4), tnn.ReLU(), tnn.LazyLinear(2)), \
        nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    t_opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x = np.random.default_rng(5).standard_normal((6, 3)).astype(np.float32)
    m(tg.Tensor(x))
    tm(torch.from_numpy(x))
    assert repr(m) == repr(tm)
    load_from(tm, m)
    for _ in range(3):
        y, ty = same_output(tm, m, x)
        (y * y).mean().backward()
        (ty * ty).mean().backward()
        opt.step()
        t_opt.step()
        opt.zero_grad()
        t_opt.zero_grad()
    for key, value in tm.state_dict().items():
        np.testing.assert_allclose(m.state_dict()[key].data, numpy_of(value), rtol=1e-5, atol=1e-6)


def test_placeholders_and_hook_based_norms_on_lazy_modules():
    assert repr(UninitializedParameter()) == "<UninitializedParameter>"
    assert repr(UninitializedBuffer()) == "<UninitializedBuffer>"
    p = UninitializedParameter(dtype=tg.float64)
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == np.float64 and p.requires_grad
    with pytest.raises(ValueError, match="can't have uninitialized parameters"), pytest.warns(FutureWarning):
        nn.utils.weight_norm(nn.LazyLinear(3))
    with pytest.raises(ValueError, match="can't have uninitialized parameters"):
        nn.utils.spectral_norm(nn.LazyLinear(3))
