"""The rest of torch.optim against PyTorch: Adadelta, Adamax, NAdam, RAdam, Rprop, ASGD, LBFGS,
the schedulers ConstantLR ... ChainedScheduler, and swa_utils.

Optimisers: the same 2-layer MLP as tests/test_optim.py, ŷ = tanh(x W₁ + b₁) W₂ + b₂ with the mean
squared error, trained from the same weights in both libraries for STEPS steps, for every option
that changes the update formula; float64 must agree to rtol 1e-10 (the same roundings, step for
step), float32 to float32 tolerances. State dicts move both ways. LBFGS minimises the Rosenbrock
function in both libraries and must visit the same iterates. Schedules must give exactly the
same learning rates (==) as PyTorch's over ~50 steps, also after a resume.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.backend import numpy_ref

torch = pytest.importorskip("torch")

STEPS = 20
SHAPES = [(4, 8), (8,), (8, 3), (3,)]
RNG = np.random.default_rng(18)
X = RNG.standard_normal((16, 4))
Y = RNG.standard_normal((16, 3))
INITIAL = [RNG.standard_normal(shape) * 0.5 for shape in SHAPES]

CONFIGS = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True}),
    ("Adamax", {"lr": 0.01}),
    ("Adamax", {"lr": 0.02, "betas": (0.5, 0.8), "eps": 1e-3, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "maximize": True}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "momentum_decay": 0.0}),
    ("NAdam", {"lr": 0.01, "betas": (0.7, 0.9), "eps": 1e-4, "momentum_decay": 0.1, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "maximize": True}),
    ("RAdam", {"lr": 0.01}),                              # rectified from t = 6 on (ρ_t > 5)
    ("RAdam", {"lr": 0.01, "betas": (0.9, 0.6)}),         # ρ_∞ = 4: never rectified
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.8), "eps": 1e-4, "weight_decay": 0.1}),  # ρ_∞ = 9: from t = 3
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "maximize": True}),
    ("Rprop", {"lr": 0.01}),
    ("Rprop", {"lr": 0.02, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.05)}),
    ("Rprop", {"lr": 0.01, "maximize": True}),
    ("ASGD", {"lr": 0.05}),                               # t₀ = 10⁶: μ = 1, ax copies θ
    ("ASGD", {"lr": 0.05, "lambd": 1e-2, "alpha": 0.5, "t0": 5, "weight_decay": 0.1}),  # averaging from t = 7
    ("ASGD", {"lr": 0.05, "t0": 3, "maximize": True}),
]


def config_id(config: tuple[str, dict]) -> str:
    name, options = config
    return name + "-" + "-".join(f"{k}={v}" for k, v in options.items())


# ---- the same model in both libraries ----------------------------------------------------

def tg_loss(params, negate=False):
    w1, b1, w2, b2 = params
    x, y = tg.Tensor(X.astype(w1.dtype)), tg.Tensor(Y.astype(w1.dtype))
    loss = (((x @ w1 + b1).tanh() @ w2 + b2 - y) ** 2).mean()
    return -loss if negate else loss


def torch_loss(params, negate=False):
    w1, b1, w2, b2 = params
    x, y = torch.tensor(X, dtype=w1.dtype), torch.tensor(Y, dtype=w1.dtype)
    loss = ((torch.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2).mean()
    return -loss if negate else loss


def train(opt, params, loss_fn, steps, negate=False):
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(params, negate).backward()
        opt.step()


def make_pair(name, options, dtype):
    ours = [tg.Tensor(w.astype(dtype), requires_grad=True) for w in INITIAL]
    theirs = [torch.tensor(w.astype(dtype), requires_grad=True) for w in INITIAL]
    return ours, theirs, getattr(optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)


def tolerances(dtype):
    return (1e-10, 1e-13) if dtype == np.float64 else (2e-4, 2e-5)


def assert_params_match(ours, theirs, dtype):
    rtol, atol = tolerances(dtype)
    for i, (p, q) in enumerate(zip(ours, theirs)):
        assert p.dtype == dtype
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"parameter {i}")


def assert_states_match(ours, theirs, dtype):
    """Same keys as PyTorch's state; arrays (and 0-d scalars, in their dtype) with the same values."""
    rtol, atol = tolerances(dtype)
    assert ours.keys() == theirs.keys()
    for i, state in ours.items():
        assert state.keys() == theirs[i].keys()
        for key, value in state.items():
            expected = theirs[i][key].numpy()
            if key == "step":
                assert isinstance(value, float) and value == expected
                continue
            assert value.dtype == expected.dtype and value.shape == expected.shape, key
            if expected.ndim == 0:  # mu_product, eta, mu: the same float32 roundings
                assert value == expected, key
            else:
                scale = max(np.abs(expected).max(), 1e-30)
                np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol * scale, err_msg=key)


# ---- every optimiser and option ------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_optimizer_matches_torch(config, dtype, backend):  # backend: the NumPy reference and the C kernels
    name, options = config
    negate = options.get("maximize", False)  # maximising −loss minimises the loss: the run stays bounded
    ours, theirs, opt_tg, opt_torch = make_pair(name, options, dtype)
    train(opt_tg, ours, tg_loss, STEPS, negate)
    train(opt_torch, theirs, torch_loss, STEPS, negate)
    assert_params_match(ours, theirs, dtype)
    assert_states_match(opt_tg.state_dict()["state"], opt_torch.state_dict()["state"], dtype)
    moved = max(np.abs(p.data - w).max() for p, w in zip(ours, INITIAL))
    assert moved > 1e-3  # the optimiser really trained (a no-op would also "match" a no-op)


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"])
def test_param_groups_match_torch_including_the_torch_only_flags(name):
    ours, theirs, opt_tg, opt_torch = make_pair(name, {}, np.float64)
    for opt, params in ((opt_tg, ours), (opt_torch, theirs)):
        opt.param_groups.clear()
        opt.add_param_group({"params": params[:2]})
        opt.add_param_group({"params": params[2:], "lr": 0.003})
    train(opt_tg, ours, tg_loss, 5)
    train(opt_torch, theirs, torch_loss, 5)
    assert_params_match(ours, theirs, np.float64)
    for g_tg, g_torch in zip(opt_tg.state_dict()["param_groups"], opt_torch.state_dict()["param_groups"]):
        assert g_tg == g_torch  # every option, foreach/capturable/differentiable included


def torch_state_as_numpy(state_dict):
    return {"param_groups": state_dict["param_groups"],
            "state": {i: {k: v.numpy() for k, v in s.items()} for i, s in state_dict["state"].items()}}


def numpy_state_as_torch(state_dict):
    def as_tensor(key, value):
        return torch.tensor(value, dtype=torch.float32) if key == "step" else torch.from_numpy(np.array(value))
    return {"param_groups": state_dict["param_groups"],
            "state": {i: {k: as_tensor(k, v) for k, v in s.items()} for i, s in state_dict["state"].items()}}


@pytest.mark.parametrize("config", [c for c in CONFIGS if c[1]], ids=config_id)
def test_state_dict_moves_both_ways(config):
    """Each library's state dict loaded into a fresh optimiser of either library continues identically.

    Loading casts the 0-d scalar states (NAdam's mu_product, ASGD's eta and mu) from float32 to the
    parameter's dtype in both libraries, so a reloaded run is compared with a reloaded run.
    """
    name, options = config
    negate = options.get("maximize", False)
    ours, theirs, opt_tg, opt_torch = make_pair(name, options, np.float64)
    train(opt_tg, ours, tg_loss, 10, negate)
    train(opt_torch, theirs, torch_loss, 10, negate)
    np.testing.assert_allclose(ours[0].data, theirs[0].detach().numpy(), rtol=1e-10)
    state_tg, state_torch = opt_tg.state_dict(), opt_torch.state_dict()
    runs = []
    for source in (state_tg, torch_state_as_numpy(state_torch)):  # ours and PyTorch's, into ours
        params = [tg.Tensor(p.data.copy(), requires_grad=True) for p in ours]
        opt = getattr(optim, name)(params, lr=123.0)  # the loaded groups replace these options
        opt.load_state_dict(source)
        train(opt, params, tg_loss, 10, negate)
        runs.append((params, opt.state_dict()["state"]))
    for source in (numpy_state_as_torch(state_tg), state_torch):  # ours and PyTorch's, into PyTorch's
        params = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
        opt = getattr(torch.optim, name)(params, lr=123.0)
        opt.load_state_dict(source)
        train(opt, params, torch_loss, 10, negate)
        runs.append((params, opt.state_dict()["state"]))
    for (params_tg, states_tg), (params_torch, states_torch) in zip(runs[:2], runs[2:]):
        assert_params_match(params_tg, params_torch, np.float64)
        assert_states_match(states_tg, states_torch, np.float64)
    assert runs[0][1][0].keys() == state_torch["state"][0].keys()


def test_options_are_checked_naming_the_optimizer():
    p = [tg.Tensor(np.zeros(2), requires_grad=True)]
    with pytest.raises(ValueError, match="Rprop: invalid etas"):
        optim.Rprop(p, etas=(1.5, 1.2))
    with pytest.raises(ValueError, match=r"NAdam: invalid betas\[1\]"):
        optim.NAdam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Adadelta: invalid rho"):
        optim.Adadelta(p, rho=1.5)
    with pytest.raises(ValueError, match="RAdam: capturable=True is not supported"):
        optim.RAdam(p, capturable=True)
    with pytest.raises(ValueError, match="ASGD: differentiable=True"):
        optim.ASGD(p, differentiable=True)
    with pytest.raises(ValueError, match="LBFGS: line_search_fn"):
        optim.LBFGS(p, line_search_fn="backtracking")
    with pytest.raises(ValueError, match="LBFGS: parameter groups"):
        optim.LBFGS([{"params": p}, {"params": [tg.Tensor(np.zeros(1), requires_grad=True)]}])


# ---- the update functions against the algorithm boxes, written out literally -----------------

def test_radam_switches_to_the_rectified_step_when_rho_exceeds_5():
    """θ moves by γ m̂_t until ρ_t > 5 (t = 6 for β₂ = 0.999), then by γ m̂_t r_t l_t."""
    beta1, beta2, lr, eps = 0.9, 0.999, 0.1, 1e-8
    g = np.array([0.5, -2.0, 3.0])
    param = np.zeros(3)
    opt = optim.RAdam([tg.Tensor(param, requires_grad=True)], lr=lr)
    p = opt.param_groups[0]["params"][0]
    m = v = np.zeros(3)
    rho_inf = 2 / (1 - beta2) - 1
    rectified = []
    for t in range(1, 9):
        before = p.data.copy()
        p.grad = tg.Tensor(g)
        opt.step()
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:
            l_t = math.sqrt(1 - beta2**t) / (np.sqrt(v) + eps)
            r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            expected = before - lr * m_hat * r_t * l_t
        else:
            expected = before - lr * m_hat
        rectified.append(rho_t > 5)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12)
    assert rectified == [False] * 5 + [True] * 3


def test_nadam_matches_its_algorithm_box():
    beta1, beta2, lr, eps, psi = 0.9, 0.999, 0.01, 1e-8, 4e-3
    g = np.array([0.3, -1.0])
    opt = optim.NAdam([tg.Tensor(np.ones(2), requires_grad=True)], lr=lr)
    p = opt.param_groups[0]["params"][0]
    m = v = np.zeros(2)
    mu_product = 1.0
    for t in range(1, 6):
        before = p.data.copy()
        p.grad = tg.Tensor(g)
        opt.step()
        mu_t, mu_next = beta1 * (1 - 0.5 * 0.96 ** (t * psi)), beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product *= mu_t
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
        m_hat = mu_next * m / (1 - mu_product * mu_next) + (1 - mu_t) * g / (1 - mu_product)
        v_hat = v / (1 - beta2**t)
        np.testing.assert_allclose(p.data, before - lr * m_hat / (np.sqrt(v_hat) + eps), rtol=1e-7)  # Π in float32


def test_rprop_grows_shrinks_and_skips_as_its_algorithm_box():
    grads = [np.array([1.0, 1.0, 1.0]), np.array([2.0, -1.0, 0.0]), np.array([1.0, 1.0, 3.0])]
    opt = optim.Rprop([tg.Tensor(np.zeros(3), requires_grad=True)], lr=0.1, etas=(0.5, 2.0), step_sizes=(0.01, 0.3))
    p = opt.param_groups[0]["params"][0]
    expected_steps = [[0.1, 0.1, 0.1], [0.2, 0.05, 0.1], [0.3, 0.05, 0.1]]  # growth clipped at Γ_max = 0.3
    expected_moves = [[-0.1, -0.1, -0.1], [-0.2, 0.0, 0.0], [-0.3, -0.05, -0.1]]  # no move after a flip or a 0
    for g, step_size, move in zip(grads, expected_steps, expected_moves):
        before = p.data.copy()
        p.grad = tg.Tensor(g)
        opt.step()
        np.testing.assert_allclose(opt.state[p]["step_size"], step_size, rtol=1e-15)
        np.testing.assert_allclose(p.data - before, move, rtol=1e-15, atol=1e-15)


def test_asgd_averages_the_iterates_after_t0():
    """ax is θ_t until t₀ + 1, then the running mean of θ over the steps after t₀."""
    t0, lr = 2, 0.1
    opt = optim.ASGD([tg.Tensor(np.array([1.0, -2.0]), requires_grad=True)], lr=lr, lambd=0.0, t0=t0)
    p = opt.param_groups[0]["params"][0]
    thetas = []
    for _ in range(8):
        p.grad = tg.Tensor(p.data.copy())  # f = θ²/2: θ shrinks by (1 − η) each step
        opt.step()
        thetas.append(p.data.copy())
    # μ_t = 1 / max(1, t − t₀): copies up to t = t₀ + 2, then the mean of θ_{t₀+2} … θ_t
    np.testing.assert_allclose(opt.state[p]["ax"], np.mean(thetas[t0 + 1:], axis=0), rtol=1e-6)


def test_adadelta_and_adamax_update_functions_follow_their_boxes():
    rng = np.random.default_rng(0)
    param, grad = rng.standard_normal(5), rng.standard_normal(5)
    square_avg, acc_delta = rng.random(5), rng.random(5)
    expected_v = 0.9 * square_avg + 0.1 * grad**2
    delta = np.sqrt(acc_delta + 1e-6) / np.sqrt(expected_v + 1e-6) * grad
    expected = param - 0.5 * delta
    expected_u = 0.9 * acc_delta + 0.1 * delta**2
    p = param.copy()
    numpy_ref.adadelta_update(p, grad, square_avg, acc_delta, 0.5, 0.9, 1e-6, 0.0, False)
    np.testing.assert_allclose([p, square_avg, acc_delta], [expected, expected_v, expected_u], rtol=1e-13)

    exp_avg, exp_inf = rng.standard_normal(5), rng.random(5)
    expected_m = 0.9 * exp_avg + 0.1 * grad
    expected_u = np.maximum(0.99 * exp_inf, np.abs(grad) + 1e-8)
    expected = param - 0.01 * expected_m / ((1 - 0.9**3) * expected_u)
    p = param.copy()
    numpy_ref.adamax_update(p, grad, exp_avg, exp_inf, 0.01, 0.9, 0.99, 1e-8, 0.0, False, 1 - 0.9**3)
    np.testing.assert_allclose([p, exp_avg, exp_inf], [expected, expected_m, expected_u], rtol=1e-13)


# ---- LBFGS on the Rosenbrock function ------------------------------------------------------

ROSENBROCK_START = np.array([-1.2, 1.0, -0.5, 0.8, 1.5, -0.3])


def rosenbrock(x):
    """f(x) = Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)²: a curved valley with its minimum at x = 1."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def lbfgs_pair(dtype, **options):
    # two parameters, so the flat vector is a concatenation: the first 4 coordinates and the last 2
    ours = [tg.Tensor(ROSENBROCK_START[:4].astype(dtype), requires_grad=True),
            tg.Tensor(ROSENBROCK_START[4:].astype(dtype), requires_grad=True)]
    theirs = [torch.tensor(ROSENBROCK_START[:4].astype(dtype), requires_grad=True),
              torch.tensor(ROSENBROCK_START[4:].astype(dtype), requires_grad=True)]
    opt_tg, opt_torch = optim.LBFGS(ours, **options), torch.optim.LBFGS(theirs, **options)

    def closure_tg():
        opt_tg.zero_grad()
        loss = rosenbrock(tg.cat(ours))
        loss.backward()
        return loss

    def closure_torch():
        opt_torch.zero_grad()
        loss = rosenbrock(torch.cat(theirs))
        loss.backward()
        return loss

    return ours, theirs, opt_tg, opt_torch, closure_tg, closure_torch


LBFGS_CONFIGS = [
    {"lr": 1},
    {"line_search_fn": "strong_wolfe"},
    {"lr": 0.5, "max_iter": 7, "history_size": 3},
    {"max_iter": 10, "history_size": 2, "line_search_fn": "strong_wolfe"},
    {"max_iter": 50, "max_eval": 30, "tolerance_change": 1e-5, "line_search_fn": "strong_wolfe"},
    # torch's line search keeps its own tolerance_change (1e-9), whatever the optimiser's: a large one
    # must not shorten the zoom
    {"lr": 3, "max_iter": 5, "tolerance_change": 0.1, "line_search_fn": "strong_wolfe"},
]


@pytest.mark.parametrize("options", LBFGS_CONFIGS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_lbfgs_visits_the_same_iterates_as_torch_on_rosenbrock(options):
    """The same iterations and evaluations, the same points: to 1e-10 after the first step (up to 25
    evaluations); later the valley's ill-conditioning amplifies last-bit differences (of dot products'
    summation order), to ~1e-8 after 60 iterations, so those steps are compared to 1e-7."""
    ours, theirs, opt_tg, opt_torch, closure_tg, closure_torch = lbfgs_pair(np.float64, **options)
    for step in range(3):
        loss_tg, loss_torch = opt_tg.step(closure_tg), opt_torch.step(closure_torch)
        rtol, atol = (1e-10, 1e-12) if step == 0 else (1e-7, 1e-9)
        np.testing.assert_allclose(float(loss_tg), float(loss_torch), rtol=rtol, atol=atol)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=atol)
        state_tg, state_torch = opt_tg.state[ours[0]], opt_torch.state[theirs[0]]
        assert (state_tg["func_evals"], state_tg["n_iter"]) == (state_torch["func_evals"], state_torch["n_iter"])
        assert len(state_tg["old_dirs"]) == len(state_torch["old_dirs"])
    assert float(opt_tg.step(closure_tg)) < 0.5 * rosenbrock(ROSENBROCK_START)  # it really descends


def test_lbfgs_line_search_needs_an_evaluation_to_spend():
    """The line search may spend max_eval − 1 evaluations: with max_eval < 1 torch's step fails inside it
    (UnboundLocalError); here the constructor names the option. Without a line search max_eval = 0 works."""
    with pytest.raises(ValueError, match="LBFGS: max_eval must be at least 1"):
        optim.LBFGS([tg.Tensor(np.zeros(2), requires_grad=True)], max_eval=0, line_search_fn="strong_wolfe")
    ours, theirs, opt_tg, opt_torch, closure_tg, closure_torch = lbfgs_pair(np.float64, max_eval=0)
    opt_tg.step(closure_tg)
    opt_torch.step(closure_torch)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-14)


def test_lbfgs_float32_and_converged_start():
    ours, theirs, opt_tg, opt_torch, closure_tg, closure_torch = lbfgs_pair(np.float32, max_iter=4)
    opt_tg.step(closure_tg)
    opt_torch.step(closure_torch)
    for p, q in zip(ours, theirs):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-4, atol=1e-5)
    at_minimum = [tg.Tensor(np.ones(3), requires_grad=True)]
    opt = optim.LBFGS(at_minimum)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(at_minimum[0])
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0 and at_minimum[0].data.tolist() == [1.0, 1.0, 1.0]
    assert opt.state[at_minimum[0]]["n_iter"] == 0  # max|g| ≤ tolerance_grad: no iteration


def test_lbfgs_state_dict_from_torch_continues_like_torch():
    ours, theirs, opt_tg, opt_torch, closure_tg, closure_torch = lbfgs_pair(np.float64, history_size=4,
                                                                           line_search_fn="strong_wolfe", max_iter=5)
    opt_torch.step(closure_torch)
    state = opt_torch.state_dict()
    as_numpy = {"param_groups": state["param_groups"], "state": {
        i: {k: [x.numpy() if torch.is_tensor(x) else x for x in v] if isinstance(v, list)
            else v.numpy() if torch.is_tensor(v) else v for k, v in s.items()}
        for i, s in state["state"].items()}}
    for p, q in zip(ours, theirs):
        p.data[...] = q.detach().numpy()
    opt_tg.load_state_dict(as_numpy)
    saved = opt_tg.state_dict()
    for _ in range(3):
        opt_tg.step(closure_tg)
        opt_torch.step(closure_torch)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert len(saved["state"][0]["old_dirs"]) <= 4 and saved["state"][0]["n_iter"] == 5  # a snapshot, not live


# ---- learning-rate schedules -----------------------------------------------------------------

def sgd_pair(lrs=(0.1,), optimizer="SGD", **options):
    ours = [tg.Tensor(np.zeros(2), requires_grad=True) for _ in lrs]
    theirs = [torch.zeros(2, requires_grad=True) for _ in lrs]
    opt_tg = getattr(optim, optimizer)([{"params": [p], "lr": lr} for p, lr in zip(ours, lrs)], **options)
    opt_torch = getattr(torch.optim, optimizer)([{"params": [p], "lr": lr} for p, lr in zip(theirs, lrs)], **options)
    return opt_tg, opt_torch


SCHEDULES = {
    "ConstantLR": lambda o, opt: o.lr_scheduler.ConstantLR(opt, factor=0.3, total_iters=4),
    "MultiplicativeLR": lambda o, opt: o.lr_scheduler.MultiplicativeLR(opt, lambda t: 0.95 if t % 3 else 0.8),
    "PolynomialLR": lambda o, opt: o.lr_scheduler.PolynomialLR(opt, total_iters=30, power=2.0),
    "PolynomialLR-linear": lambda o, opt: o.lr_scheduler.PolynomialLR(opt, total_iters=7),
    "CosineAnnealingWarmRestarts": lambda o, opt: o.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=7),
    "CosineAnnealingWarmRestarts-Tmult": lambda o, opt: o.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=3, T_mult=2, eta_min=0.001),
    "CyclicLR": lambda o, opt: o.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=5),
    "CyclicLR-triangular2": lambda o, opt: o.lr_scheduler.CyclicLR(opt, 0.01, [0.1, 0.3], step_size_up=4,
                                                                   step_size_down=3, mode="triangular2"),
    "CyclicLR-exp_range": lambda o, opt: o.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=6, mode="exp_range",
                                                                 gamma=0.97, base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda o, opt: o.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3, cycle_momentum=False,
                                                                scale_fn=lambda x: 0.9**x, scale_mode="iterations"),
    "OneCycleLR": lambda o, opt: o.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=50),
    "OneCycleLR-linear": lambda o, opt: o.lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], epochs=5,
                                                                  steps_per_epoch=10, anneal_strategy="linear",
                                                                  pct_start=0.25),
    "OneCycleLR-three_phase": lambda o, opt: o.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=50,
                                                                       three_phase=True, div_factor=10.0),
    "SequentialLR": lambda o, opt: o.lr_scheduler.SequentialLR(opt, [
        o.lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=2), o.lr_scheduler.ExponentialLR(opt, gamma=0.9)],
        milestones=[5]),
    "SequentialLR-three": lambda o, opt: o.lr_scheduler.SequentialLR(opt, [
        o.lr_scheduler.LinearLR(opt, start_factor=0.2, total_iters=5),
        o.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01),
        o.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)], milestones=[5, 20]),
    "SequentialLR-multistep-poly": lambda o, opt: o.lr_scheduler.SequentialLR(opt, [
        o.lr_scheduler.MultiStepLR(opt, milestones=[2, 2, 6], gamma=0.5),
        o.lr_scheduler.PolynomialLR(opt, total_iters=10)], milestones=[8]),
    "SequentialLR-lambda": lambda o, opt: o.lr_scheduler.SequentialLR(opt, [
        o.lr_scheduler.LambdaLR(opt, lambda t: 1 / (t + 1)),
        o.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=3)], milestones=[10]),
    "ChainedScheduler": lambda o, opt: o.lr_scheduler.ChainedScheduler([
        o.lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=2), o.lr_scheduler.ExponentialLR(opt, gamma=0.9)]),
    "ChainedScheduler-cosine": lambda o, opt: o.lr_scheduler.ChainedScheduler([
        o.lr_scheduler.CosineAnnealingLR(opt, T_max=8), o.lr_scheduler.MultiplicativeLR(opt, lambda t: 0.99)],
        optimizer=opt),
    "SWALR": lambda o, opt: o.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=5),
    "SWALR-linear": lambda o, opt: o.swa_utils.SWALR(opt, swa_lr=[0.05, 0.02], anneal_epochs=3,
                                                     anneal_strategy="linear"),
    "SWALR-jump": lambda o, opt: o.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=0),
}


def optimizer_for(name):
    """Two groups for the schedules whose options take lists; Adam for one CyclicLR (β₁ is cycled)."""
    two_groups = name in ("CyclicLR-triangular2", "OneCycleLR-linear", "SWALR-linear")
    if name == "CyclicLR-exp_range":
        return sgd_pair((0.1,), "Adam")
    return sgd_pair((0.1, 0.05) if two_groups else (0.1,), momentum=0.9)


def lr_sequence(scheduler, optimizer, steps):
    """get_last_lr after the constructor and after each step, with each group's momentum / β₁."""
    def momenta():
        return [g["betas"][0] if "betas" in g else g.get("momentum") for g in optimizer.param_groups]
    sequence = [(scheduler.get_last_lr(), momenta())]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        sequence.append((scheduler.get_last_lr(), momenta()))
    return sequence


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_torch_exactly(name):
    (opt_tg, opt_torch), build = optimizer_for(name), SCHEDULES[name]
    ours, theirs = build(optim, opt_tg), build(torch.optim, opt_torch)
    steps = 49 if name.startswith("OneCycleLR") else 50
    assert lr_sequence(ours, opt_tg, steps) == lr_sequence(theirs, opt_torch, steps)  # exactly, not to rounding


RESUMABLE = ["ConstantLR", "MultiplicativeLR", "PolynomialLR", "CosineAnnealingWarmRestarts-Tmult", "CyclicLR",
             "CyclicLR-exp_range", "OneCycleLR-three_phase", "SequentialLR-three", "ChainedScheduler", "SWALR"]


@pytest.mark.parametrize("name", RESUMABLE)
def test_schedule_state_dict_resumes_as_torch(name):
    """Stop after 20 steps; fresh optimiser and schedule, load both state dicts (ours, and PyTorch's into
    ours), continue 25 steps: the same rates as PyTorch's resumed run."""
    build = SCHEDULES[name]
    opt_tg, opt_torch = optimizer_for(name)
    sched_tg, sched_torch = build(optim, opt_tg), build(torch.optim, opt_torch)
    lr_sequence(sched_tg, opt_tg, 20)
    lr_sequence(sched_torch, opt_torch, 20)
    runs = []
    for source in ("ours", "torch"):
        fresh_tg, fresh_torch = optimizer_for(name)
        fresh_tg.load_state_dict(opt_tg.state_dict() if source == "ours" else opt_torch.state_dict())
        resumed_tg = build(optim, fresh_tg)
        resumed_tg.load_state_dict(sched_tg.state_dict() if source == "ours" else sched_torch.state_dict())
        runs.append(lr_sequence(resumed_tg, fresh_tg, 25)[1:])
    fresh_torch.load_state_dict(opt_torch.state_dict())
    resumed_torch = build(torch.optim, fresh_torch)
    resumed_torch.load_state_dict(sched_torch.state_dict())
    expected = lr_sequence(resumed_torch, fresh_torch, 25)[1:]
    assert runs[0] == expected and runs[1] == expected


@pytest.mark.parametrize("name, make", [
    ("ConstantLR", lambda o, opt, e: o.lr_scheduler.ConstantLR(opt, factor=0.3, total_iters=30, last_epoch=e)),
    ("PolynomialLR", lambda o, opt, e: o.lr_scheduler.PolynomialLR(opt, total_iters=30, power=2.0, last_epoch=e)),
    ("CosineAnnealingWarmRestarts", lambda o, opt, e: o.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=3, T_mult=2, last_epoch=e)),
    ("CyclicLR", lambda o, opt, e: o.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=5, last_epoch=e)),
    ("OneCycleLR", lambda o, opt, e: o.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=60, last_epoch=e)),
    ("CosineAnnealingLR", lambda o, opt, e: o.lr_scheduler.CosineAnnealingLR(opt, T_max=9, last_epoch=e)),
])
def test_last_epoch_resume_matches_torch(name, make):
    """Construct with last_epoch = 12 on an optimiser that carries initial_lr (and max_lr/momenta)."""
    sequences = []
    for lib, opt in zip((optim, torch.optim), sgd_pair((0.1,), momentum=0.9)):
        make(lib, opt, -1)
        for _ in range(3):
            opt.param_groups[0]["lr"] *= 0.5  # a rate the resumed schedule must not start from blindly
        sequences.append(lr_sequence(make(lib, opt, 12), opt, 30))
    assert sequences[0] == sequences[1]


def test_cosine_warm_restarts_fractional_epochs_match_torch():
    sequences = []
    for lib, opt in zip((optim, torch.optim), sgd_pair()):
        scheduler = lib.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=0.01)
        lrs = []
        for epoch in [*np.arange(0, 30, 0.35).tolist(), 3.0, 100.0, 0.5]:
            scheduler.step(epoch)
            lrs.append((scheduler.get_last_lr(), scheduler.T_i, scheduler.T_cur, scheduler.last_epoch))
        sequences.append(lrs)
    assert sequences[0] == sequences[1]


class Decay:
    """A callable object with state, which a schedule's state_dict keeps (a plain function's it cannot)."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, epoch):
        return self.factor


def test_function_schedules_save_the_attributes_of_callable_objects_as_torch():
    states = []
    for lib, opt in zip((optim, torch.optim), sgd_pair((0.1, 0.05))):
        scheduler = lib.lr_scheduler.MultiplicativeLR(opt, [Decay(0.9), lambda t: 0.8])
        scheduler.step()
        states.append(scheduler.state_dict()["lr_lambdas"])
        resumed = lib.lr_scheduler.MultiplicativeLR(opt, [Decay(0.5), lambda t: 0.8])
        resumed.load_state_dict(scheduler.state_dict())
        assert resumed.lr_lambdas[0].factor == 0.9
    assert states[0] == states[1] == [{"factor": 0.9}, None]
    ours, _ = sgd_pair()
    assert "lr_lambdas" not in optim.lr_scheduler.LambdaLR(ours, lambda t: 1.0).state_dict()  # saveable by tg.save


def test_scheduler_argument_errors():
    opt, _ = sgd_pair(momentum=0.9)
    with pytest.raises(ValueError, match="ConstantLR: factor"):
        optim.lr_scheduler.ConstantLR(opt, factor=1.5)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_0"):
        optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="CyclicLR: mode"):
        optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="cycle_momentum needs"):
        optim.lr_scheduler.CyclicLR(optim.Adagrad([tg.Tensor(np.zeros(1), requires_grad=True)]), 0.01, 0.1)
    with pytest.raises(ValueError, match="SequentialLR: expected 1 milestones"):
        optim.lr_scheduler.SequentialLR(opt, [optim.lr_scheduler.ConstantLR(opt), optim.lr_scheduler.StepLR(opt, 2)],
                                        milestones=[])
    other, _ = sgd_pair()
    with pytest.raises(ValueError, match="ChainedScheduler: the scheduler at index 1"):
        optim.lr_scheduler.ChainedScheduler([optim.lr_scheduler.ConstantLR(opt), optim.lr_scheduler.ConstantLR(other)])
    schedule = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2)
    schedule.step()
    schedule.step()
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 3 times"):
        schedule.step()


# ---- swa_utils ---------------------------------------------------------------------------------

def small_models(seed=0):
    """The same Linear → BatchNorm1d → Linear in both libraries."""
    rng = np.random.default_rng(seed)
    ours = tg.nn.Sequential(tg.nn.Linear(3, 4, dtype=np.float64), tg.nn.BatchNorm1d(4, dtype=np.float64),
                            tg.nn.Linear(4, 2, dtype=np.float64))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)).double()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        value = rng.standard_normal(p.shape)
        p.data[...] = value
        q.data.copy_(torch.from_numpy(value))
    return ours, theirs


def perturb(models, rng):
    """The next 'training' state: new weights and one forward pass in training mode (moves the BN statistics)."""
    ours, theirs = models
    for p, q in zip(ours.parameters(), theirs.parameters()):
        value = p.data + rng.standard_normal(p.shape) * 0.1
        p.data[...] = value
        q.data.copy_(torch.from_numpy(value))
    x = rng.standard_normal((8, 3))
    ours(tg.Tensor(x))
    theirs(torch.from_numpy(x))


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema", "swa_multi", "swa_buffers", "ema_multi_buffers"])
def test_averaged_model_matches_torch(kind):
    ours, theirs = small_models()
    use_buffers = kind.endswith("_buffers")
    averagers = []
    for lib in (optim.swa_utils, torch.optim.swa_utils):
        model = ours if lib is optim.swa_utils else theirs
        options = {"ema_multi": {"multi_avg_fn": lib.get_ema_multi_avg_fn(0.9)},
                   "ema_multi_buffers": {"multi_avg_fn": lib.get_ema_multi_avg_fn(0.8)},
                   "ema": {"avg_fn": lib.get_ema_avg_fn(0.9)},
                   "swa_multi": {"multi_avg_fn": lib.get_swa_multi_avg_fn()}}.get(kind, {})
        averagers.append(lib.AveragedModel(model, use_buffers=use_buffers, **options))
    rng = np.random.default_rng(1)
    for _ in range(5):
        perturb((ours, theirs), rng)
        averagers[0].update_parameters(ours)
        averagers[1].update_parameters(theirs)
    assert int(averagers[0].n_averaged.data) == int(averagers[1].n_averaged) == 5
    state_tg, state_torch = averagers[0].state_dict(), averagers[1].state_dict()
    assert list(state_tg) == list(state_torch)
    for key, value in state_tg.items():
        np.testing.assert_allclose(value.data, state_torch[key].numpy(), rtol=1e-12, atol=1e-14, err_msg=key)
    x = rng.standard_normal((5, 3))
    averagers[0].eval()
    averagers[1].eval()
    np.testing.assert_allclose(averagers[0](tg.Tensor(x)).data, averagers[1](torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10)
    moved = np.abs(state_tg["module.0.weight"].data - ours.state_dict()["0.weight"].data).max()
    assert moved > 1e-3  # an average, not the last model


def test_update_bn_recomputes_batchnorm_statistics_as_torch():
    ours, theirs = small_models()
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((6, 3)) for _ in range(4)]
    ours.eval()
    theirs.eval()
    optim.swa_utils.update_bn([(tg.Tensor(b), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.from_numpy(b), 0) for b in batches], theirs)
    assert not ours.training and ours[1].momentum == 0.1
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_allclose(ours.state_dict()[key].data, theirs.state_dict()[key].numpy(), rtol=1e-12,
                                   err_msg=key)
    assert int(ours.state_dict()["1.num_batches_tracked"].data) == 4
