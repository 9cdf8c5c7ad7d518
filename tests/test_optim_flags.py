"""PyTorch's implementation flags on every optimiser: foreach/fused accepted (no-ops: one fused pass
per parameter either way, so the steps are bit-identical whatever they say, and equal torch's run
with the same flags), capturable/differentiable refused with a reason, groups keyed as torch's."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim

torch = pytest.importorskip("torch")

NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta", "ASGD", "Rprop"]
FLAGS = ("foreach", "fused", "capturable", "differentiable")
OPTIONS = {"SGD": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}, "Adam": {"lr": 0.05, "amsgrad": True},
           "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True}, "Adagrad": {"lr": 0.1, "lr_decay": 0.01}}


def torch_flags_of(name: str) -> list[str]:
    return [f for f in FLAGS if f in inspect.signature(getattr(torch.optim, name).__init__).parameters]


def run(lib, name: str, data: list[np.ndarray], steps: int = 5, **flags) -> list[np.ndarray]:
    params = [lib.tensor(a.copy(), requires_grad=True) for a in data]
    opt = getattr(lib.optim, name)(params, **OPTIONS.get(name, {"lr": 0.05}), **flags)
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(((p - 0.5) ** 4).sum() + (p[:1] * p[-1:]).sum() for p in params)
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params]


DATA = [np.random.default_rng(0).standard_normal(s) for s in [(4, 3), (5,)]]


@pytest.mark.parametrize("name", NAMES)
def test_every_flag_torch_takes_is_taken_and_kept_in_the_groups_as_torch(name):
    flags = torch_flags_of(name)
    assert set(flags) <= set(inspect.signature(getattr(optim, name).__init__).parameters)
    ours = getattr(optim, name)([tg.zeros(2, requires_grad=True)], lr=0.1)
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], lr=0.1)
    assert ours.param_groups[0].keys() == theirs.param_groups[0].keys()
    assert {f: ours.param_groups[0][f] for f in flags} == {f: theirs.param_groups[0][f] for f in flags}


@pytest.mark.parametrize("name", NAMES)
def test_foreach_and_fused_change_nothing_and_match_torch(name):
    flags = torch_flags_of(name)
    settings = [{"foreach": v} for v in (None, False, True)] + [{"fused": v} for v in (False, True) if "fused" in flags]
    default = run(tg, name, DATA)
    for setting in settings:
        ours = run(tg, name, DATA, **setting)
        for a, b in zip(default, ours):
            np.testing.assert_array_equal(a, b)  # the same kernel whatever the flag
        # torch's foreach ASGD rounds its float32 η/μ scalars at other points than its single-tensor
        # ASGD (1.6e-7 relative apart after 5 steps): ours is the single-tensor arithmetic
        loose = name == "ASGD" and setting.get("foreach")
        for a, b in zip(ours, run(torch, name, DATA, **setting)):
            np.testing.assert_allclose(a, b, rtol=1e-6 if loose else 1e-10, atol=1e-12, err_msg=str(setting))


@pytest.mark.parametrize("name", NAMES)
def test_capturable_and_differentiable_are_refused_with_the_reason(name):
    flags = torch_flags_of(name)
    p = [tg.zeros(2, requires_grad=True)]
    if "capturable" in flags:
        with pytest.raises(ValueError, match=f"{name}: capturable=True is not supported .it is for CUDA graphs"):
            getattr(optim, name)(p, lr=0.1, capturable=True)
    with pytest.raises(ValueError, match=f"{name}: differentiable=True is not supported .*Tensor ops"):
        getattr(optim, name)(p, lr=0.1, differentiable=True)
    opt = getattr(optim, name)(p, lr=0.1)
    with pytest.raises(ValueError, match="differentiable=True is not supported"):  # a later group is checked too
        opt.add_param_group({"params": [tg.zeros(1, requires_grad=True)], "differentiable": True})
    with pytest.raises(ValueError, match="foreach must be None, False or True"):
        getattr(optim, name)(p, lr=0.1, foreach="yes")


@pytest.mark.parametrize("name", [n for n in NAMES if "fused" in torch_flags_of(n)])
def test_fused_and_foreach_together_raise_as_torch(name):
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together"):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], lr=0.1, foreach=True, fused=True)
    with pytest.raises(RuntimeError, match=f"{name}: `fused` and `foreach` cannot be `True` together"):
        getattr(optim, name)([tg.zeros(2, requires_grad=True)], lr=0.1, foreach=True, fused=True)


def step(params, opt) -> None:
    opt.zero_grad()
    sum(((p - 0.5) ** 4).sum() for p in params).backward()
    opt.step()


def state_for(lib, state_dict: dict) -> dict:
    """A state dict with its arrays as ``lib`` keeps them (torch: tensors; ours: NumPy arrays)."""
    as_lib = (lambda v: torch.tensor(np.asarray(v))) if lib is torch else (
        lambda v: v.numpy() if isinstance(v, torch.Tensor) else v)
    return {"param_groups": state_dict["param_groups"],
            "state": {k: {n: as_lib(v) for n, v in s.items()} for k, s in state_dict["state"].items()}}


@pytest.mark.parametrize("name", NAMES)
def test_state_dicts_carry_the_flags_both_ways(name):
    """A state dict of an optimiser made with foreach=True (fused=True where torch has it), after two
    steps, loads into the other library's optimiser made without: its groups, flags included, become
    the source's, and its next step equals the source's."""
    flag = {"fused": True} if "fused" in torch_flags_of(name) else {"foreach": True}
    for source, target in [(tg, torch), (torch, tg)]:
        params = [source.tensor(a.copy(), requires_grad=True) for a in DATA]
        opt = getattr(source.optim, name)(params, **OPTIONS.get(name, {"lr": 0.05}), **flag)
        for _ in range(2):
            step(params, opt)
        loaded_params = [target.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
        loaded = getattr(target.optim, name)(loaded_params, lr=0.5)
        loaded.load_state_dict(state_for(target, opt.state_dict()))
        group = {k: v for k, v in loaded.param_groups[0].items() if k != "params"}
        assert group == {k: v for k, v in opt.param_groups[0].items() if k != "params"}
        assert all(group[f] == v for f, v in flag.items())
        step(params, opt)
        step(loaded_params, loaded)
        # torch keeps NAdam's mu_product and ASGD's eta and mu as float32 0-d tensors, which loading casts
        # to the parameters' float64 (in both libraries): ~1e-8 from the source's own next step
        loose = name in ("NAdam", "ASGD")
        for a, b in zip(loaded_params, params):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6 if loose else 1e-10,
                                       atol=1e-12)


def torch_fills(name: str) -> set[str]:
    """The options torch's __setstate__ fills in when a loaded group lacks them."""
    opt = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)])
    opt.__setstate__({"state": {}, "param_groups": [{"params": []}]})
    return set(opt.param_groups[0]) - {"params"}


@pytest.mark.parametrize("name", NAMES)
def test_a_state_dict_without_the_later_options_loads_with_their_defaults_as_torch(name):
    """A group saved before an option existed (foreach, decoupled_weight_decay, ...) lacks its key:
    PyTorch's __setstate__ fills each with the option's default; ours does the same, whatever options
    the loading optimiser was made with, and the next step equals torch's."""
    params = [torch.tensor(a.copy(), requires_grad=True) for a in DATA]
    source = getattr(torch.optim, name)(params, **OPTIONS.get(name, {"lr": 0.05}))
    step(params, source)
    old = source.state_dict()
    filled = torch_fills(name)
    assert {"maximize", "foreach"} <= filled
    old["param_groups"] = [{k: v for k, v in g.items() if k not in filled} for g in old["param_groups"]]
    made_with = {"maximize": True, "foreach": False}  # options the fill must not take
    loaded = {}
    for lib in (torch, tg):
        loaded_params = [lib.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
        opt = getattr(lib.optim, name)(loaded_params, lr=0.5, **made_with)
        opt.load_state_dict(state_for(lib, old))
        step(loaded_params, opt)
        loaded[lib] = ({k: v for k, v in opt.param_groups[0].items() if k != "params"}, loaded_params)
    (theirs, their_params), (ours, our_params) = loaded[torch], loaded[tg]
    if name == "SGD":  # torch's SGD.__setstate__ fills fused with False where its constructor stores None
        assert theirs.pop("fused") is False and ours.pop("fused") is None
    assert ours == theirs
    for a, b in zip(our_params, their_params):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
