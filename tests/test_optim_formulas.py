"""The optimisation formulas of FORMULAS.md, each written out in NumPy and checked literally,
and the worked examples of documents 004 and 002 (the example scripts' own functions).

Model throughout: h_θ(x) = θ₀ + θ₁ x = X θ with the design matrix X = [1, x], and the cost
J(θ) = (1/2m) Σ_i (h_θ(x_i) − y_i)², whose gradient is ∇J(θ) = (1/m) Xᵀ(Xθ − y).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.data import DataLoader, TensorDataset
from tinygrad_edu.optim import lr_scheduler

torch = pytest.importorskip("torch")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(stem: str):
    """Import examples/<stem>.py as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(stem, EXAMPLES / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    x = rng.uniform(-1.0, 2.0, 12)
    X = np.stack([np.ones_like(x), x], axis=1)
    y = 4.0 * x + 2.0 + 0.3 * rng.standard_normal(12)
    return X, y


def cost(theta: tg.Tensor, X: np.ndarray | tg.Tensor, y: np.ndarray | tg.Tensor) -> tg.Tensor:
    """J(θ) = (1/2m) Σ (Xθ − y)², built from tensor ops so autograd gives ∇J."""
    return ((tg.tensor(X) @ theta - tg.tensor(y)) ** 2).mean() / 2


def grad_J(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∇J(θ) = (1/m) Xᵀ(Xθ − y), by hand."""
    return X.T @ (X @ theta - y) / len(y)


def sgd_step(theta0: np.ndarray, X: np.ndarray, y: np.ndarray, lr: float) -> np.ndarray:
    """One optim.SGD step on J over the samples (X, y), from θ₀."""
    theta = tg.tensor(theta0, requires_grad=True)
    cost(theta, X, y).backward()
    optim.SGD([theta], lr=lr).step()
    return theta.data


# ---- gradient descent: full batch, mini-batch, stochastic ------------------------------------

def test_full_batch_step_is_theta_minus_alpha_grad_J(data):
    X, y = data
    theta0, alpha = np.array([0.5, -1.0]), 0.1
    np.testing.assert_allclose(sgd_step(theta0, X, y, alpha), theta0 - alpha * grad_J(theta0, X, y), rtol=1e-14)


def test_mini_batch_step_is_the_mean_of_per_sample_gradients(data):
    X, y = data
    theta0, alpha, batch = np.array([0.5, -1.0]), 0.1, [3, 7, 8, 10]
    per_sample = []
    for i in batch:  # ∇J(θ; x_i, y_i) = (h_θ(x_i) − y_i) x_i, each from autograd on a one-sample cost
        theta = tg.tensor(theta0, requires_grad=True)
        cost(theta, X[i:i + 1], y[i:i + 1]).backward()
        per_sample.append(theta.grad.data)
        np.testing.assert_allclose(theta.grad.data, (X[i] @ theta0 - y[i]) * X[i], rtol=1e-14)
    expected = theta0 - alpha * np.mean(per_sample, axis=0)  # θ − α (1/m) Σ ∇J(θ; x_i, y_i)
    np.testing.assert_allclose(sgd_step(theta0, X[batch], y[batch], alpha), expected, rtol=1e-14)


def test_stochastic_gd_one_sample_at_a_time_reshuffled_each_epoch(data):
    X, y = data
    alpha, epochs = 0.05, 4
    tg.manual_seed(3)
    theta = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([theta], lr=alpha)
    reference, orders = np.zeros(2), []
    for _ in range(epochs):
        order = []
        for X_i, y_i in DataLoader(TensorDataset(tg.tensor(X), tg.tensor(y)), batch_size=1, shuffle=True):
            opt.zero_grad()
            cost(theta, X_i, y_i).backward()
            opt.step()
            i = int(np.flatnonzero(X[:, 1] == X_i.data[0, 1])[0])
            order.append(i)
            reference = reference - alpha * (X[i] @ reference - y[i]) * X[i]  # θ − α ∇J(θ; x_i, y_i)
        orders.append(order)
    assert all(sorted(order) == list(range(len(y))) for order in orders)  # every sample once per epoch
    assert len({tuple(order) for order in orders}) == epochs  # a new order every epoch
    np.testing.assert_allclose(theta.data, reference, rtol=1e-12)


# ---- learning-rate schedules ------------------------------------------------------------------

def rates(scheduler: lr_scheduler.LRScheduler, epochs: int) -> np.ndarray:
    values = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
    return np.array(values)


def one_param_sgd(lr: float) -> optim.SGD:
    return optim.SGD([tg.tensor([0.0], requires_grad=True)], lr=lr)


def test_fixed_rate_eta_t_is_eta():
    eta = 0.1
    np.testing.assert_array_equal(rates(lr_scheduler.LambdaLR(one_param_sgd(eta), lambda t: 1.0), 30),
                                  np.full(31, eta))


def test_exponential_decay_eta_gamma_to_the_t():
    eta, gamma, t = 0.1, 0.9, np.arange(31)
    np.testing.assert_allclose(rates(lr_scheduler.ExponentialLR(one_param_sgd(eta), gamma), 30),
                               eta * gamma**t, rtol=1e-13)


def test_time_based_decay_eta_one_minus_alpha_t():
    eta, alpha, t = 0.1, 0.02, np.arange(31)
    decayed = rates(lr_scheduler.LambdaLR(one_param_sgd(eta), lr_scheduler.time_based_decay(alpha)), 30)
    np.testing.assert_array_equal(decayed, eta * (1 - alpha * t))  # the formula itself: equal, not close
    linear = rates(lr_scheduler.LinearLR(one_param_sgd(eta), 1.0, 1 - alpha * 30, total_iters=30), 30)
    np.testing.assert_allclose(linear, eta * (1 - alpha * t), rtol=1e-12)  # LinearLR reaches it recursively


def test_gradient_descent_with_a_decaying_rate_uses_eta_t_at_step_t(data):
    X, y = data
    eta, alpha, epochs = 0.3, 0.05, 12
    theta = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([theta], lr=eta)
    scheduler = lr_scheduler.LambdaLR(opt, lr_scheduler.time_based_decay(alpha))
    reference = np.zeros(2)
    for t in range(epochs):
        opt.zero_grad()
        cost(theta, X, y).backward()
        opt.step()
        scheduler.step()
        reference = reference - eta * (1 - alpha * t) * grad_J(reference, X, y)  # θ_{t+1} = θ_t − η_t ∇J(θ_t)
    np.testing.assert_allclose(theta.data, reference, rtol=1e-12)


# ---- regularisation -------------------------------------------------------------------------

def test_gradient_of_the_l2_regularised_cost_is_its_closed_form(data):
    X, y = data
    lam, m, theta0 = 0.7, len(y), np.array([1.5, -0.5])
    theta = tg.tensor(theta0, requires_grad=True)
    J = cost(theta, X, y) + lam / (2 * m) * (theta**2).sum()  # (1/2m) Σ (h − y)² + (λ/2m) Σ θ_j²
    J.backward()
    closed_form = X.T @ (X @ theta0 - y) / m + lam / m * theta0  # (1/m) Xᵀ(Xθ − y) + (λ/m) θ
    np.testing.assert_allclose(theta.grad.data, closed_form, rtol=1e-14)


def test_weight_decay_lambda_over_m_is_the_l2_penalty_step(data):
    X, y = data
    lam, m, alpha, theta0 = 0.7, len(y), 0.1, np.array([1.5, -0.5])
    theta = tg.tensor(theta0, requires_grad=True)
    cost(theta, X, y).backward()
    optim.SGD([theta], lr=alpha, weight_decay=lam / m).step()
    expected = theta0 - alpha * (grad_J(theta0, X, y) + lam / m * theta0)
    np.testing.assert_allclose(theta.data, expected, rtol=1e-14)


def test_gradient_of_the_l1_term_is_lambda_sign_theta():
    lam, theta0 = 0.3, np.array([1.5, -0.5, 2.0, -3.0])
    theta = tg.tensor(theta0, requires_grad=True)
    (lam * theta.abs().sum()).backward()  # λ Σ_j |θ_j|
    np.testing.assert_array_equal(theta.grad.data, lam * np.sign(theta0))


# ---- worked example 004: Linear(1, 1) learns y = 2x ------------------------------------------------

@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_example_004_learns_y_equals_2x_like_torch(momentum):
    example = load_example("example_004_linear_regression")
    w, b, losses = example.train(momentum)
    assert abs(w - 2.0) < 0.01 and abs(b) < 0.03 and losses[-1] < 1e-4 < losses[0]

    model = torch.nn.Linear(1, 1)  # the document's model, started where the example starts
    with torch.no_grad():
        model.weight.fill_(example.INITIAL_W)
        model.bias.fill_(example.INITIAL_B)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=momentum)
    x, y = torch.tensor(example.X), torch.tensor(example.Y)
    torch_losses = []
    for _ in range(1000):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        torch_losses.append(loss.item())
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-7)  # the float32 trajectories
    np.testing.assert_allclose([w, b], [model.weight.item(), model.bias.item()], rtol=1e-4, atol=1e-4)


# ---- worked example 002: θ fit to y = 4x + 2 by each variant --------------------------------------

def test_example_002_every_variant_reaches_the_right_parameters():
    example = load_example("example_002_gradient_descent")
    tg.manual_seed(0)
    X, y = example.make_data()
    least_squares = np.linalg.lstsq(X, y, rcond=None)[0]
    ridge = np.linalg.solve(X.T @ X + example.LAMBDA * np.eye(2), X.T @ y)  # minimises J + (λ/2m) Σ θ_j²
    assert np.abs(least_squares - [2.0, 4.0]).max() < 0.05  # the data are the line y = 4x + 2
    tolerances = {"full-batch": 1e-6, "mini-batch": 0.01, "stochastic": 0.01, "time-based": 1e-6}
    for name, theta in example.run_all(X, y).items():
        if name.startswith("L2"):
            np.testing.assert_allclose(theta, ridge, atol=1e-6)
            assert np.linalg.norm(theta) < np.linalg.norm(least_squares) - 0.1  # shrunk toward zero
        else:
            tolerance = next(v for k, v in tolerances.items() if name.startswith(k))
            np.testing.assert_allclose(theta, least_squares, atol=tolerance, err_msg=name)
