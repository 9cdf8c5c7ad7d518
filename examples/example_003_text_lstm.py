"""Source document 003: a text classifier Embedding(10000, 100) → LSTM(100, 200) → Linear(200, 2).

Trained with Adam (lr 0.001) and cross-entropy, as in the document. The document applies
the Linear layer to every time step's output and then compares a (batch, time, 2) tensor
with one label per sentence; here the sentence is classified from the LSTM's last
hidden state h_T, which has read the whole sequence:
    e_t = Embedding(token_t);  (h_t, c_t) = LSTM(e_t, h_{t−1}, c_{t−1});  logits = W h_T + b

The data is synthetic "text": token ids from a 10,000-word vocabulary where a sentence's
class decides which of two small sets of sentiment words it contains, among random filler
words. The sizes are the document's; the data set and the number of epochs are small so
the example runs in seconds.
"""

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, TensorDataset, train_val_test_split

VOCAB_SIZE, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM = 10000, 100, 200, 2
SEQUENCE_LENGTH = 12
EPOCHS = 6
NEGATIVE_WORDS, POSITIVE_WORDS = np.arange(1, 11), np.arange(11, 21)


class TextClassifier(nn.Module):
    """Embedding → LSTM (batch_first) → Linear on the last hidden state."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, output_dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, tokens: tg.Tensor) -> tg.Tensor:
        embedded = self.embedding(tokens)      # (batch, time, embedding_dim)
        _, (h_n, _) = self.lstm(embedded)      # h_n: (num_layers=1, batch, hidden_dim)
        return self.fc(h_n[-1])                # (batch, output_dim)


def make_sentences(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random filler words with three sentiment words of the sentence's class at random places."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, size=n)
    tokens = rng.integers(100, VOCAB_SIZE, size=(n, SEQUENCE_LENGTH))
    for i, label in enumerate(labels):
        places = rng.choice(SEQUENCE_LENGTH, size=3, replace=False)
        tokens[i, places] = rng.choice(POSITIVE_WORDS if label else NEGATIVE_WORDS, size=3)
    return tokens.astype(np.int64), labels.astype(np.int64)


def main() -> None:
    tg.manual_seed(0)
    x, y = make_sentences(600)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = train_val_test_split(x, y, seed=0)
    model = TextClassifier(VOCAB_SIZE, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM)
    history = tg.train.fit(
        model,
        DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True),
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.001),
        epochs=EPOCHS,
        val_loader=DataLoader(TensorDataset(x_val, y_val), batch_size=256),
        progress=False,
    )
    for epoch, (loss, accuracy) in enumerate(zip(history.history["loss"], history.history["val_accuracy"]), 1):
        print(f"epoch {epoch}  loss {loss:.4f}  validation accuracy {accuracy:.4f}")
    y_true, y_pred = tg.train.predict(model, DataLoader(TensorDataset(x_test, y_test), batch_size=256))
    print(f"test accuracy: {tg.metrics.accuracy(y_true, y_pred):.4f}")
    print(f"test F1 (positive class): {tg.metrics.f1_score(y_true, y_pred):.4f}")


if __name__ == "__main__":
    main()
