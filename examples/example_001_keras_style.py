"""Source document 001: a Keras-style model trained with ``fit``.

The document's Keras model, layer for layer:
    Dense(64, activation='relu', input_shape=(100,)) → Dense(32, activation='relu') → Dense(10, activation='softmax')
    compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy']); fit(..., epochs=10)

In PyTorch style the last layer outputs logits and the softmax lives inside the loss:
CrossEntropyLoss(logits, class) = −log softmax(logits)[class], the sparse categorical
cross-entropy of the softmax output, computed stably. The softmax is applied explicitly
when probabilities are wanted (at prediction time, below).

The data is synthetic: ten classes, each a cloud of 100-dimensional points around its own centre.
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, TensorDataset, train_val_test_split


def make_data(n: int = 2000, features: int = 100, classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((classes, features)).astype(np.float32)
    labels = rng.integers(0, classes, size=n)
    points = centres[labels] + 2.5 * rng.standard_normal((n, features)).astype(np.float32)
    return points, labels.astype(np.int64)


def main() -> None:
    tg.manual_seed(0)
    x, y = make_data()
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = train_val_test_split(x, y, seed=0)

    model = nn.Sequential(
        nn.Linear(100, 64), nn.ReLU(),  # Dense(64, activation='relu', input_shape=(100,))
        nn.Linear(64, 32), nn.ReLU(),   # Dense(32, activation='relu')
        nn.Linear(32, 10),              # Dense(10, activation='softmax'): softmax inside the loss
    )
    history = tg.train.fit(
        model,
        DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True),
        nn.CrossEntropyLoss(),            # sparse categorical cross-entropy
        optim.Adam(model.parameters()),   # optimizer='adam' (lr 0.001, as Keras)
        epochs=10,
        val_loader=DataLoader(TensorDataset(x_val, y_val), batch_size=256),
        metrics=("accuracy",),
    )
    print("training loss per epoch:", [round(v, 4) for v in history.history["loss"]])
    print("validation accuracy per epoch:", [round(v, 4) for v in history.history["val_accuracy"]])

    model.eval()
    with tg.no_grad():
        probabilities = model(tg.tensor(x_test)).softmax(dim=1)  # the softmax output layer
    test_accuracy = tg.metrics.accuracy(y_test, probabilities)
    print(f"first test sample: class probabilities {np.round(probabilities.numpy()[0], 3)}, true class {y_test[0]}")
    print(f"test accuracy: {test_accuracy:.4f}")


if __name__ == "__main__":
    main()
