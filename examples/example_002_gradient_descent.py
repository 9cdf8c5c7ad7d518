"""Source document 002: gradient descent and its variants, fitting y = 4x + 2.

The model is h_θ(x) = θ₀ + θ₁ x (θ = (θ₀, θ₁), a bias and a slope) and the cost is

    J(θ) = (1/2m) Σ_i (h_θ(x_i) − y_i)²                         (+ (λ/2m) Σ_j θ_j² with L2)

The same data (y = 4x + 2 plus a little noise) are fitted five ways:

    full-batch GD     θ ← θ − α ∇J(θ)                              one step per epoch, all m samples
    mini-batch GD     θ ← θ − α (1/b) Σ_{i∈batch} ∇J(θ; x_i, y_i)  batches of b = 16, reshuffled each epoch
    stochastic GD     θ ← θ − α ∇J(θ; x_i, y_i)                    one sample at a time, reshuffled each epoch
    decaying rate     full batch with η_t = η (1 − α t) (time-based decay; ExponentialLR gives η γᵗ)
    L2 regularised    full batch on J + (λ/2m) Σ θ_j²  (SGD's weight_decay = λ/m adds (λ/m) θ to ∇J)

The unregularised runs reach the least-squares line θ ≈ (2, 4); the L2 run stops at the
ridge solution (XᵀX + λI)⁻¹ Xᵀy, pulled toward zero.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.data import DataLoader, TensorDataset
from tinygrad_edu.optim import lr_scheduler

M = 64           # samples
LAMBDA = 5.0     # L2 strength λ in J + (λ/2m) Σ θ_j²


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [0, 2]; y = 4x + 2 + noise (σ = 0.1). Returns the design matrix X = [1, x] and y."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 2.0, M)
    y = 4.0 * x + 2.0 + 0.1 * rng.standard_normal(M)
    return np.stack([np.ones(M), x], axis=1), y


def cost(theta: tg.Tensor, X: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
    """J(θ) = (1/2m) Σ (h_θ(x_i) − y_i)² over the samples given (a batch's mean: ∇ = mean of per-sample ∇)."""
    return ((X @ theta - y) ** 2).mean() / 2


def fit(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, batch_size: int | None = None,
        schedule: Callable[[optim.Optimizer], lr_scheduler.LRScheduler] | None = None,
        weight_decay: float = 0.0) -> np.ndarray:
    """Gradient descent on J from θ = 0; batch_size None = full batch. Returns θ."""
    theta = tg.zeros(2, dtype=tg.float64, requires_grad=True)
    optimizer = optim.SGD([theta], lr=lr, weight_decay=weight_decay)
    scheduler = schedule(optimizer) if schedule else None
    loader = DataLoader(TensorDataset(tg.tensor(X), tg.tensor(y)), batch_size=batch_size or len(y), shuffle=True)
    for _ in range(epochs):
        for X_batch, y_batch in loader:
            optimizer.zero_grad()
            cost(theta, X_batch, y_batch).backward()
            optimizer.step()                          # θ ← θ − η_t (∇J_batch(θ) + weight_decay · θ)
        if scheduler:
            scheduler.step()                          # η_{t+1}, once per epoch
    return theta.detach().numpy().copy()


def run_all(X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """θ found by each variant of gradient descent (the comparison the document makes)."""
    return {
        "full-batch GD": fit(X, y, lr=0.5, epochs=500),
        "mini-batch GD (b = 16)": fit(X, y, lr=0.1, epochs=150, batch_size=16),
        "stochastic GD (b = 1)": fit(X, y, lr=0.02, epochs=40, batch_size=1),
        "time-based decay η(1 − αt)": fit(X, y, lr=0.5, epochs=500,
                                          schedule=lambda opt: lr_scheduler.LambdaLR(
                                              opt, lr_scheduler.time_based_decay(0.001))),
        "L2 regularised (λ = 5)": fit(X, y, lr=0.5, epochs=500, weight_decay=LAMBDA / M),
    }


def main() -> None:
    tg.manual_seed(0)
    X, y = make_data()
    least_squares = np.linalg.lstsq(X, y, rcond=None)[0]
    ridge = np.linalg.solve(X.T @ X + LAMBDA * np.eye(2), X.T @ y)
    print(f"data: m = {M} points of y = 4x + 2 + noise")
    print(f"least squares   θ₀ = {least_squares[0]:.4f}  θ₁ = {least_squares[1]:.4f}")
    print(f"ridge (λ = {LAMBDA:g})  θ₀ = {ridge[0]:.4f}  θ₁ = {ridge[1]:.4f}")
    for name, theta in run_all(X, y).items():
        print(f"{name:28s}  θ₀ = {theta[0]:.4f}  θ₁ = {theta[1]:.4f}  ‖θ‖ = {np.linalg.norm(theta):.4f}")
    print(f"the L2 penalty shrinks ‖θ‖ from {np.linalg.norm(least_squares):.4f} to {np.linalg.norm(ridge):.4f}")


if __name__ == "__main__":
    main()
