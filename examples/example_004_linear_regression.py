"""Source document 004: a linear model learns y = 2x with the mean squared error and SGD.

The model is Linear(1, 1), ŷ = w x + b, written here with two tensors so every piece is in
view. The data are the document's four points x = 1, 2, 3, 4 with y = 2x. Each of the 1000
epochs is one full-batch step on

    MSE(w, b) = (1/n) Σ_i (w x_i + b − y_i)²
    θ ← θ − α ∇MSE(θ)                          α = 0.01   (θ = (w, b))

first with plain SGD, then with momentum μ = 0.9 (b_t ← μ b_{t−1} + g_t, θ ← θ − α b_t).
Both runs end at w ≈ 2, b ≈ 0: the line through the data.
"""

from __future__ import annotations

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import optim

X = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
Y = 2.0 * X
INITIAL_W, INITIAL_B = 0.5, -0.3  # any start works; fixed so that runs can be compared (the tests do, with torch)


def train(momentum: float = 0.0, epochs: int = 1000, lr: float = 0.01,
          report_every: int = 0) -> tuple[float, float, list[float]]:
    """Fit ŷ = w x + b by SGD; return the final w, b and the loss of every epoch."""
    w = tg.tensor([[INITIAL_W]], requires_grad=True)  # Linear(1, 1).weight, shape (out, in)
    b = tg.tensor([INITIAL_B], requires_grad=True)    # Linear(1, 1).bias
    optimizer = optim.SGD([w, b], lr=lr, momentum=momentum)
    x, y = tg.tensor(X), tg.tensor(Y)
    losses = []
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        loss = ((x @ w.T + b - y) ** 2).mean()        # MSE = (1/n) Σ (ŷ_i − y_i)²
        loss.backward()
        optimizer.step()                              # θ ← θ − α ∇MSE (through the momentum buffer if μ > 0)
        losses.append(loss.item())
        if report_every and epoch % report_every == 0:
            print(f"  epoch {epoch:4d}  loss {loss.item():.6f}  w = {w.item():.4f}  b = {b.item():.4f}")
    return w.item(), b.item(), losses


def main() -> None:
    for name, momentum in (("plain SGD", 0.0), ("SGD with momentum 0.9", 0.9)):
        print(f"{name}, lr 0.01, 1000 epochs on x = 1, 2, 3, 4, y = 2x:")
        w, b, losses = train(momentum, report_every=250)
        print(f"  learned w = {w:.4f}, b = {b:.4f} (target w = 2, b = 0); final MSE {losses[-1]:.2e}")
        print(f"  prediction for x = 5: {w * 5 + b:.4f} (target 10)")


if __name__ == "__main__":
    main()
