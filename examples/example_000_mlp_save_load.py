"""Source document 000: train an MLP, validate each epoch, save it, load it back, predict.

The document's network is two linear layers, Linear(10, 20) → Linear(20, 10), trained with
the mean squared error MSE = (1/n) Σ (y_i − ŷ_i)² and plain SGD (lr 0.01):
    θ_{t+1} = θ_t − α (1/m) Σ_{i=1..m} ∇J(θ_t; x_i, y_i)     (mini-batches of m = 32)
The data here is synthetic: the targets are a fixed linear map of the inputs plus noise, a
function two stacked linear layers can represent exactly.

Where the document saves the whole pickled model (torch.save(model) / torch.load), this
saves the weights only, as a safetensors state dict (no code runs when it is loaded), and
rebuilds the model from its class.
"""

import tempfile
from pathlib import Path

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, TensorDataset, train_val_test_split


class Model(nn.Module):
    """Linear(10, 20) → Linear(20, 10), as in the document (no activation between them)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Linear(10, 20)
        self.layer2 = nn.Linear(20, 10)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.layer2(self.layer1(x))


def main() -> None:
    tg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 10)).astype(np.float32)
    true_map = rng.standard_normal((10, 10)).astype(np.float32) / np.sqrt(10)
    y = x @ true_map + 0.05 * rng.standard_normal((1000, 10)).astype(np.float32)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = train_val_test_split(x, y, seed=0)
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=256)

    model = Model()
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)

    for epoch in range(60):
        model.train()
        for data, target in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(data), target)
            loss.backward()
            optimizer.step()
        # validation: the mean loss over the whole validation set, no graph recorded
        model.eval()
        with tg.no_grad():
            val_loss = sum(criterion(model(data), target).item() * len(target) for data, target in val_loader)
        print(f"epoch {epoch + 1:2d}  validation MSE {val_loss / len(y_val):.4f}")

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.safetensors"
        tg.save(model.state_dict(), path)
        restored = Model()
        restored.load_state_dict(tg.load(path))

    # inference with the reloaded model
    restored.eval()
    with tg.no_grad():
        prediction = restored(tg.tensor(x_test))
        original = model(tg.tensor(x_test))
    test_mse = float(np.mean((prediction.numpy() - y_test) ** 2))
    print(f"prediction for the first test input: {np.round(prediction.numpy()[0], 3)}")
    same = np.array_equal(prediction.numpy(), original.numpy())
    print(f"reloaded model predicts the same as the trained one: {same}")
    print(f"test MSE of the reloaded model: {test_mse:.4f}")


if __name__ == "__main__":
    main()
