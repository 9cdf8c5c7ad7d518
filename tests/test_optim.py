"""tg.optim against torch.optim: every optimiser and option, step for step on the same model.

The model is a 2-layer MLP written with plain tensors, ŷ = tanh(x W₁ + b₁) W₂ + b₂, trained
with the mean squared error from the same initial weights on the same data in both libraries.
"""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import optim

torch = pytest.importorskip("torch")

STEPS = 50
SHAPES = [(4, 8), (8,), (8, 3), (3,)]
RNG = np.random.default_rng(1234)
X = RNG.standard_normal((16, 4))
Y = RNG.standard_normal((16, 3))
INITIAL = [RNG.standard_normal(shape) * 0.5 for shape in SHAPES]

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "betas": (0.3, 0.8), "eps": 1e-6, "amsgrad": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.2, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.4, "eps": 1e-3, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "eps": 1e-4, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.1, "maximize": True}),
]


def config_id(config: tuple[str, dict]) -> str:
    name, options = config
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items())


# ---- the same model in both libraries ----------------------------------------------------

def tg_loss(params: list[tg.Tensor], negate: bool = False) -> tg.Tensor:
    w1, b1, w2, b2 = params
    x, y = tg.Tensor(X.astype(w1.dtype)), tg.Tensor(Y.astype(w1.dtype))
    loss = (((x @ w1 + b1).tanh() @ w2 + b2 - y) ** 2).mean()
    return -loss if negate else loss


def torch_loss(params: list, negate: bool = False):
    w1, b1, w2, b2 = params
    x, y = torch.tensor(X, dtype=w1.dtype), torch.tensor(Y, dtype=w1.dtype)
    loss = ((torch.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()
    return -loss if negate else loss


def tg_params(dtype) -> list[tg.Tensor]:
    return [tg.Tensor(w.astype(dtype), requires_grad=True) for w in INITIAL]


def torch_params(dtype) -> list:
    return [torch.tensor(w.astype(dtype), requires_grad=True) for w in INITIAL]


def train_tg(opt: optim.Optimizer, params: list[tg.Tensor], steps: int, negate: bool = False,
             set_to_none: bool = True) -> None:
    for _ in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        tg_loss(params, negate).backward()
        opt.step()


def train_torch(opt, params: list, steps: int, negate: bool = False, set_to_none: bool = True) -> None:
    for _ in range(steps):
        opt.zero_grad(set_to_none=set_to_none)
        torch_loss(params, negate).backward()
        opt.step()


def torch_optimizer(name: str, params, **options):
    return getattr(torch.optim, name)(params, **options, foreach=False)


def assert_params_match(ours: list[tg.Tensor], theirs: list, dtype) -> None:
    rtol, atol = (1e-8, 1e-10) if dtype == np.float64 else (2e-4, 2e-5)
    for i, (p, q) in enumerate(zip(ours, theirs)):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"parameter {i}")


def assert_states_match(ours: dict, theirs: dict, dtype, theirs_float64: dict | None = None) -> None:
    """The same state entries as PyTorch's (momentum buffers, moments, step counts), in the parameters' dtype.

    In float32 a state entry can be far more sensitive than the parameters: after 50 steps RMSprop's
    centred ``square_avg`` (a small difference of squares) in PyTorch's own float32 run is 1 % off its
    float64 run. So each float32 entry may differ from PyTorch's by a relative 1e-3 plus twice PyTorch's
    own float32 error there (``theirs_float64``: the same run in float64), never by more."""
    assert ours.keys() == theirs.keys()
    for i, state in ours.items():
        assert state.keys() == theirs[i].keys()
        for key, value in state.items():
            if key == "step":
                assert value == theirs[i][key].item()
                continue
            expected = theirs[i][key].numpy()
            assert value.dtype == dtype
            if dtype == np.float64:
                np.testing.assert_allclose(value, expected, rtol=1e-7, atol=1e-10 * np.abs(expected).max(),
                                           err_msg=key)
                continue
            oracle_error = np.abs(expected - theirs_float64[i][key].numpy())
            bound = 1e-3 * np.abs(expected) + 2e-3 * np.abs(expected).max() + 2 * oracle_error
            excess = np.abs(value - expected) - bound
            assert excess.max() <= 0, f"{key}: off PyTorch's float32 state by more than its own float32 error"


# ---- every optimiser and option ------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_optimizer_matches_torch(config, dtype, backend):  # backend: the NumPy reference and the C kernels
    name, options = config
    negate = options.get("maximize", False)  # maximising −loss minimises the loss: the run stays bounded
    ours, theirs = tg_params(dtype), torch_params(dtype)
    opt_tg, opt_torch = getattr(optim, name)(ours, **options), torch_optimizer(name, theirs, **options)
    train_tg(opt_tg, ours, STEPS, negate)
    train_torch(opt_torch, theirs, STEPS, negate)
    assert_params_match(ours, theirs, dtype)
    theirs_float64 = None
    if dtype == np.float32:  # the oracle's own float32 error, for the state comparison
        theirs64 = torch_params(np.float64)
        opt_torch64 = torch_optimizer(name, theirs64, **options)
        train_torch(opt_torch64, theirs64, STEPS, negate)
        theirs_float64 = opt_torch64.state_dict()["state"]
    assert_states_match(opt_tg.state_dict()["state"], opt_torch.state_dict()["state"], dtype, theirs_float64)
    moved = max(np.abs(p.data - w).max() for p, w in zip(ours, INITIAL))
    assert moved > 1e-2  # the optimiser really trained (a no-op would also "match" a no-op)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_param_groups_with_different_options_match_torch(name):
    def groups(params):
        return [{"params": params[:2], "lr": 0.02, "weight_decay": 0.1},
                {"params": params[2:], "weight_decay": 0.0}]
    extra = {"SGD": {"momentum": 0.9}, "RMSprop": {"momentum": 0.5}}.get(name, {})
    ours, theirs = tg_params(np.float64), torch_params(np.float64)
    opt = getattr(optim, name)(groups(ours), lr=0.01, **extra)
    train_tg(opt, ours, STEPS)
    train_torch(torch_optimizer(name, groups(theirs), lr=0.01, **extra), theirs, STEPS)
    assert_params_match(ours, theirs, np.float64)
    assert [g["lr"] for g in opt.param_groups] == [0.02, 0.01]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert repr(opt).startswith(f"{name} (\n  group 0: 2 tensors, lr=0.02")


def test_add_param_group_matches_torch():
    ours, theirs = tg_params(np.float64), torch_params(np.float64)
    opt_tg, opt_torch = optim.Adam(ours[:2], lr=0.01), torch_optimizer("Adam", theirs[:2], lr=0.01)
    train_tg(opt_tg, ours, 10)
    train_torch(opt_torch, theirs, 10)
    opt_tg.add_param_group({"params": ours[2:], "lr": 0.05, "amsgrad": True})
    opt_torch.add_param_group({"params": theirs[2:], "lr": 0.05, "amsgrad": True})
    train_tg(opt_tg, ours, 40)
    train_torch(opt_torch, theirs, 40)
    assert_params_match(ours, theirs, np.float64)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_zero_grad_without_set_to_none_matches_torch(name):
    ours, theirs = tg_params(np.float64), torch_params(np.float64)
    opt = getattr(optim, name)(ours, lr=0.01)
    train_tg(opt, ours, STEPS, set_to_none=False)
    train_torch(torch_optimizer(name, theirs, lr=0.01), theirs, STEPS, set_to_none=False)
    assert_params_match(ours, theirs, np.float64)
    grad_buffers = [p.grad.data for p in ours]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in ours)
    assert all(p.grad.data is buffer for p, buffer in zip(ours, grad_buffers))  # zeroed in place
    opt.zero_grad()
    assert all(p.grad is None for p in ours)


def test_zero_grad_detaches_a_recorded_gradient():
    w = tg.Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    assert w.grad.requires_grad
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert not w.grad.requires_grad and w.grad.data.tolist() == [0.0, 0.0]


def test_parameters_without_a_gradient_are_left_alone():
    used, unused = tg.Tensor([1.0, -2.0], requires_grad=True), tg.Tensor([3.0], requires_grad=True)
    opt = optim.Adam([used, unused], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (used * used).sum().backward()
        opt.step()
    assert unused.data.tolist() == [3.0] and unused not in opt.state
    assert opt.state[used]["step"] == 3.0


def test_step_updates_in_place_and_records_no_graph():
    w = tg.Tensor(np.ones(3), requires_grad=True)
    storage = w.data
    opt = optim.SGD([w], lr=0.5, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    assert w.data is storage and w.is_leaf and w.grad_fn is None
    np.testing.assert_array_equal(w.data, np.zeros(3))  # θ − γ·2θ with γ = 1/2


@pytest.mark.parametrize(("name", "options"), [("SGD", {"momentum": 0.9}), ("Adam", {"amsgrad": True}),
                                             ("RMSprop", {"centered": True, "momentum": 0.5}), ("Adagrad", {})])
def test_state_buffers_are_allocated_once_and_updated_in_place(name, options, backend):
    w = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    opt = getattr(optim, name)([w], lr=0.1, **options)
    storage, buffers = w.data, None
    for step in range(3):
        w.grad = tg.Tensor(np.full((2, 3), step + 1.0))
        opt.step()
        arrays = {k: v for k, v in opt.state[w].items() if isinstance(v, np.ndarray)}
        assert arrays and all(a.shape == (2, 3) for a in arrays.values())
        buffers = buffers or {k: a for k, a in arrays.items()}  # the arrays of the first step
        assert all(arrays[k] is buffers[k] for k in buffers) and w.data is storage


def test_a_gradient_of_another_float_dtype_is_cast_to_the_parameters(backend):
    given = [tg.Tensor(np.ones(3, np.float32), requires_grad=True) for _ in range(2)]
    opt = optim.Adam(given, lr=0.1)
    given[0].grad = tg.Tensor(np.array([1.0, -2.0, 3.0]))                     # float64, set by hand
    given[1].grad = tg.Tensor(np.array([1.0, -2.0, 3.0], np.float32))
    opt.step()
    assert given[0].dtype == np.float32
    np.testing.assert_array_equal(given[0].data, given[1].data)


def test_closure_is_evaluated_and_returned():
    w = tg.Tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():  # the closure still records: step turns grad mode on for it
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.data.tolist() == [1.0]


class RecordingSGD(optim.SGD):
    """SGD that records the grad mode its updates run in, and can fail in one."""

    def __init__(self, params, fail: bool = False) -> None:
        super().__init__(params, lr=0.5)
        self.modes: list[bool] = []
        self.fail = fail

    def _update(self, param, grad, state, group) -> None:
        self.modes.append(tg.is_grad_enabled())
        if self.fail:
            raise RuntimeError("update failed")
        super()._update(param, grad, state, group)


@pytest.mark.parametrize("outer", [True, False])
def test_updates_run_without_grad_mode_which_step_restores(outer):
    w, b = tg.Tensor([2.0], requires_grad=True), tg.Tensor([1.0], requires_grad=True)
    w.grad, b.grad = tg.Tensor([1.0]), tg.Tensor([2.0])
    opt, failing = RecordingSGD([w, b]), RecordingSGD([w], fail=True)
    with tg.set_grad_enabled(outer):
        opt.step()
        assert tg.is_grad_enabled() is outer
        with pytest.raises(RuntimeError, match="update failed"):
            failing.step()
        assert tg.is_grad_enabled() is outer  # restored after an exception too
    assert opt.modes == [False, False] and failing.modes == [False]
    assert w.data.tolist() == [1.5] and b.data.tolist() == [0.0]


# ---- state dicts ---------------------------------------------------------------------------

RESUMABLE = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
]


@pytest.mark.parametrize("config", RESUMABLE, ids=config_id)
def test_state_dict_saved_mid_training_resumes_identically(config, tmp_path):
    name, options = config
    uninterrupted = tg_params(np.float64)
    opt = getattr(optim, name)(uninterrupted, **options)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)
    resumed = tg_params(np.float64)
    for step in range(50):
        if step == 20:  # checkpoint through a safetensors file, as tg.train.fit does
            tg.save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict(),
                     "params": [p.data for p in uninterrupted]}, tmp_path / "ckpt.safetensors")
        opt.zero_grad()
        tg_loss(uninterrupted).backward()
        opt.step()
        scheduler.step()

    checkpoint = tg.load(tmp_path / "ckpt.safetensors")
    for p, saved in zip(resumed, checkpoint["params"]):
        p.data[...] = saved
    fresh = getattr(optim, name)(resumed, lr=123.0)  # the loaded groups replace these options
    fresh_scheduler = optim.lr_scheduler.StepLR(fresh, step_size=7, gamma=0.5)
    fresh.load_state_dict(checkpoint["optimizer"])
    fresh_scheduler.load_state_dict(checkpoint["scheduler"])
    for _ in range(30):
        fresh.zero_grad()
        tg_loss(resumed).backward()
        fresh.step()
        fresh_scheduler.step()
    for p, q in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(p.data, q.data)
    assert fresh_scheduler.get_last_lr() == scheduler.get_last_lr()


def test_state_dict_layout_is_pytorchs():
    ours, theirs = tg_params(np.float64), torch_params(np.float64)
    opt_tg = optim.Adam([{"params": ours[:3]}, {"params": ours[3:], "lr": 0.1}], lr=0.01, amsgrad=True,
                        foreach=False)  # (as torch_optimizer passes: the groups hold it)
    opt_torch = torch_optimizer("Adam", [{"params": theirs[:3]}, {"params": theirs[3:], "lr": 0.1}], lr=0.01,
                                amsgrad=True)
    train_tg(opt_tg, ours, 5)
    train_torch(opt_torch, theirs, 5)
    sd_tg, sd_torch = opt_tg.state_dict(), opt_torch.state_dict()
    assert [g["params"] for g in sd_tg["param_groups"]] == [g["params"] for g in sd_torch["param_groups"]]
    for g_tg, g_torch in zip(sd_tg["param_groups"], sd_torch["param_groups"]):
        assert {k: v for k, v in g_torch.items() if k in g_tg} == g_tg
    assert sd_tg["state"].keys() == sd_torch["state"].keys() == {0, 1, 2, 3}
    for i, state in sd_tg["state"].items():
        assert state.keys() == sd_torch["state"][i].keys()
        assert isinstance(state["step"], float) and state["step"] == sd_torch["state"][i]["step"].item()
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert isinstance(state[key], np.ndarray)
            np.testing.assert_allclose(state[key], sd_torch["state"][i][key].numpy(), rtol=1e-9, atol=1e-15)
    state_before = sd_tg["state"][0]["exp_avg"].copy()
    train_tg(opt_tg, ours, 1)
    np.testing.assert_array_equal(sd_tg["state"][0]["exp_avg"], state_before)  # the state dict is a copy


def test_loads_a_pytorch_state_dict_and_continues_like_pytorch():
    ours, theirs = tg_params(np.float64), torch_params(np.float64)
    opt_torch = torch_optimizer("RMSprop", theirs, lr=0.01, centered=True, momentum=0.5)
    train_torch(opt_torch, theirs, 20)
    torch_state = opt_torch.state_dict()
    as_numpy = {"param_groups": torch_state["param_groups"],
                "state": {i: {k: v.numpy() for k, v in s.items()} for i, s in torch_state["state"].items()}}
    for p, q in zip(ours, theirs):
        p.data[...] = q.detach().numpy()
    opt_tg = optim.RMSprop(ours)
    opt_tg.load_state_dict(as_numpy)
    train_tg(opt_tg, ours, 30)
    train_torch(opt_torch, theirs, 30)
    assert_params_match(ours, theirs, np.float64)


def test_load_state_dict_rejects_a_mismatched_state():
    params = tg_params(np.float64)
    state = optim.SGD(params, lr=0.1).state_dict()
    with pytest.raises(ValueError, match=r"SGD.load_state_dict.*parameter groups"):
        optim.SGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match=r"SGD.load_state_dict.*group 0 has 4 parameters"):
        optim.SGD(params[:3], lr=0.1).load_state_dict(state)
    momentum = optim.SGD(params[:1], lr=0.1, momentum=0.9)
    params[0].grad = tg.Tensor(np.ones((4, 8)))
    momentum.step()
    bad = momentum.state_dict()
    bad["state"][0]["momentum_buffer"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"SGD.load_state_dict.*\(2, 2\)"):
        momentum.load_state_dict(bad)


# ---- bad input -----------------------------------------------------------------------------

def one_param() -> list[tg.Tensor]:
    return [tg.Tensor([1.0], requires_grad=True)]


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: optim.SGD(p, lr=-0.1), "SGD: invalid lr"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "SGD: invalid momentum"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1.0), "SGD: invalid weight_decay"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "SGD: Nesterov momentum requires"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "SGD: Nesterov momentum requires"),
    (lambda p: optim.Adam(p, lr=-1e-3), "Adam: invalid lr"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"Adam: invalid betas\[0\] 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"Adam: invalid betas\[1\]"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Adam: invalid eps"),
    (lambda p: optim.Adam(p, weight_decay=-0.1), "Adam: invalid weight_decay"),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.5)), r"AdamW: invalid betas\[1\]"),
    (lambda p: optim.RMSprop(p, lr=-0.1), "RMSprop: invalid lr"),
    (lambda p: optim.RMSprop(p, alpha=-0.9), "RMSprop: invalid alpha"),
    (lambda p: optim.RMSprop(p, momentum=-0.9), "RMSprop: invalid momentum"),
    (lambda p: optim.RMSprop(p, eps=-1.0), "RMSprop: invalid eps"),
    (lambda p: optim.Adagrad(p, lr=-0.1), "Adagrad: invalid lr"),
    (lambda p: optim.Adagrad(p, lr_decay=-0.1), "Adagrad: invalid lr_decay"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1.0), "Adagrad: invalid initial_accumulator_value"),
    (lambda p: optim.SGD([{"params": p, "lr": -1.0}], lr=0.1), "SGD: invalid lr -1.0"),
    (lambda p: optim.Adam([{"params": p, "betas": (0.9, 1.0)}]), r"Adam: invalid betas\[1\] 1.0"),
])
def test_invalid_options_raise_value_error_naming_the_optimizer(make, message):
    with pytest.raises(ValueError, match=message):
        make(one_param())


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad])
def test_empty_parameter_list_raises(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__}: got an empty parameter list"):
        cls([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls(iter([]), lr=0.1)


def test_a_parameter_given_twice_raises():
    w, b = one_param()[0], one_param()[0]
    with pytest.raises(ValueError, match=r"Adam: a parameter .* appears more than once"):
        optim.Adam([w, b, w])
    with pytest.raises(ValueError, match=r"SGD: a parameter .* appears more than once"):
        optim.SGD([{"params": [w]}, {"params": [b, w]}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        opt.add_param_group({"params": [w]})


def test_other_bad_parameters_raise():
    w = one_param()[0]
    with pytest.raises(TypeError, match="SGD: can only optimise Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(ValueError, match="SGD: cannot optimise a non-leaf tensor"):
        optim.SGD([w * 2], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    w.grad = tg.Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"SGD: gradient of shape \(3,\) for a parameter of shape \(1,\)"):
        opt.step()


# ---- any shape ----------------------------------------------------------------------------

@settings(max_examples=15)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
       config=st.sampled_from([c for c in CONFIGS if not c[1].get("maximize")]), seed=st.integers(0, 2**16))
@example(shape=(), config=("Adam", {"lr": 0.01, "amsgrad": True}), seed=0)  # a 0-d parameter
@example(shape=(2, 0), config=("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}), seed=0)  # empty
def test_any_parameter_shape_matches_torch(shape, config, seed):
    for backend_name in tg.backend.available():
        with tg.backend.using(backend_name):
            check_given_gradients_match_torch(shape, config, seed)


def check_given_gradients_match_torch(shape, config, seed):
    name, options = config
    rng = np.random.default_rng(seed)
    initial, grads = rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(5)]
    ours, theirs = tg.Tensor(initial.copy(), requires_grad=True), torch.tensor(initial, requires_grad=True)
    opt_tg, opt_torch = getattr(optim, name)([ours], **options), torch_optimizer(name, [theirs], **options)
    for grad in grads:  # given gradients: only the update rule is under test
        ours.grad, theirs.grad = tg.Tensor(grad), torch.tensor(grad)
        opt_tg.step()
        opt_torch.step()
    assert ours.shape == shape
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
