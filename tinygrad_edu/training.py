"""``fit``: the Keras-like convenience over the plain training loop (source document 001).

The loop it runs is the one every tutorial writes by hand::

    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        validate; step the scheduler; save a checkpoint

``fit`` adds a progress bar (loss and samples/s), validation metrics each epoch, a
``History`` of per-epoch values, a checkpoint every epoch and resuming from it. A resumed
run ends with the same weights as an uninterrupted one, because the checkpoint holds
everything the next epoch depends on: weights, optimiser and scheduler state, the
history, and the state of the global random generator (shuffling, dropout).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as metrics_module
from . import random
from .autograd import no_grad
from .serialization import load, save
from .tensor import Tensor

CHECKPOINT_NAME = "checkpoint.safetensors"
CURVES_NAME = "history.png"
EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class History:
    """Per-epoch values, as Keras returns them: ``history.history["loss"]``, ``["val_loss"]``, ``["val_accuracy"]``."""

    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """How many epochs have been recorded."""
        return len(self.history.get("loss", []))

    def record(self, values: dict[str, float]) -> None:
        """Append one epoch's values."""
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def plot(self, path: str | Path) -> Path:
        """Draw the loss curves (and each metric's, in a second panel) to an image file; needs matplotlib."""
        if importlib.util.find_spec("matplotlib") is None:
            raise ModuleNotFoundError("History.plot needs matplotlib: pip install 'tinygrad_edu[plot]'")
        import matplotlib

        matplotlib.use("Agg")  # files only, no window
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        losses = [k for k in self.history if k.endswith("loss")]
        others = [k for k in self.history if k not in losses]
        figure, axes = plt.subplots(1, 2 if others else 1, figsize=(10 if others else 5, 4), squeeze=False)
        for ax, keys in zip(axes[0], (losses, others)):
            for key in keys:
                values = self.history[key]
                ax.plot(range(1, len(values) + 1), values, marker="o", label=key)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend()
            ax.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        return Path(path)


def _metric(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """Metric functions by name; precision/recall/f1 are macro-averaged over classes."""
    if name == "accuracy":
        return metrics_module.accuracy
    if name in ("precision", "recall", "f1_score"):
        fn = getattr(metrics_module, name)
        return lambda y_true, y_pred: fn(y_true, y_pred, average="macro")
    raise ValueError(f"fit: unknown metric {name!r}; choose from accuracy, precision, recall, f1_score")


def predicted_labels(output: Tensor) -> np.ndarray:
    """Class predictions from a model's output: argmax of (n, C) logits, or logit > 0 for one column."""
    values = output.data
    if values.ndim == 1 or values.shape[-1] == 1:
        return (values.reshape(-1) > 0).astype(np.int64)
    return values.argmax(axis=-1)


def _outputs(model: Any, loader: Iterable) -> Iterable[tuple[Tensor, Tensor]]:
    """``(model(x), y)`` for each batch, in eval mode and without recording a graph."""
    model.eval()
    with no_grad():
        for x, y in loader:
            yield model(x), y


def predict(model: Any, loader: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)``: the labels and predicted classes over every batch of ``loader``."""
    pairs = [(np.asarray(y.data).reshape(-1), predicted_labels(out)) for out, y in _outputs(model, loader)]
    if not pairs:
        raise ValueError("predict: the data loader yielded no batches")
    return np.concatenate([t for t, _ in pairs]), np.concatenate([p for _, p in pairs])


def evaluate(model: Any, loader: Iterable, loss_fn: Callable | None = None,
             metrics: Sequence[str] = ("accuracy",)) -> dict[str, float]:
    """Mean loss (weighted by batch size) and metrics of ``model`` over ``loader``, in eval mode."""
    total_loss, count = 0.0, 0
    labels, predictions = [], []
    for output, y in _outputs(model, loader):
        if loss_fn is not None:
            total_loss += loss_fn(output, y).item() * len(y)
        count += len(y)
        if metrics:
            labels.append(np.asarray(y.data).reshape(-1))
            predictions.append(predicted_labels(output))
    if count == 0:
        raise ValueError("evaluate: the data loader yielded no batches")
    results = {}
    if loss_fn is not None:
        results["loss"] = total_loss / count
    if metrics:
        y_true, y_pred = np.concatenate(labels), np.concatenate(predictions)
        results.update({name: float(_metric(name)(y_true, y_pred)) for name in metrics})
    return results


def fit(
    model: Any,
    train_loader: Iterable,
    loss_fn: Callable,
    optimizer: Any,
    epochs: int,
    val_loader: Iterable | None = None,
    scheduler: Any = None,
    metrics: Sequence[str] = ("accuracy",),
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[EpochCallback] = (),
) -> History:
    """Train ``model`` for ``epochs`` epochs; return the per-epoch ``History``.

    Each epoch records ``loss`` (the mean training loss) and, with ``val_loader``,
    ``val_loss`` and ``val_<metric>`` for each of ``metrics`` (accuracy, precision,
    recall, f1_score; the last three macro-averaged). ``scheduler.step()`` runs once per
    epoch; a ``ReduceLROnPlateau`` is given the validation loss (the training loss
    without validation data). With ``checkpoint_dir``, a checkpoint is written
    atomically after every epoch and, when matplotlib is installed, the curves are drawn
    to ``history.png`` there at the end; ``resume=True`` continues from the checkpoint,
    if one exists, at the epoch after the last one saved. Each of ``callbacks`` is
    called as ``callback(epoch, values)`` at the end of every epoch, after the checkpoint.
    """
    for name in metrics:
        _metric(name)  # fail before training, not after the first epoch
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    history = History()
    start = 0
    if resume and checkpoint is not None and checkpoint.exists():
        start = _restore(checkpoint, model, optimizer, scheduler, history)

    for epoch in range(start, epochs):
        train_loss, samples_per_s = _train_one_epoch(model, train_loader, loss_fn, optimizer,
                                                     f"epoch {epoch + 1}/{epochs}", progress)
        epoch_values = {"loss": train_loss}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, metrics)
            epoch_values.update({f"val_{name}": value for name, value in val.items()})
        history.record(epoch_values)
        if scheduler is not None:
            _step_scheduler(scheduler, epoch_values)
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: " + "  ".join(f"{k}={v:.4f}" for k, v in epoch_values.items())
                  + f"  ({samples_per_s:.0f} samples/s)", flush=True)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, history, epoch + 1)
        for callback in callbacks:
            callback(epoch, epoch_values)
    if checkpoint is not None and history.epochs and importlib.util.find_spec("matplotlib") is not None:
        history.plot(checkpoint.parent / CURVES_NAME)
    return history


def _train_one_epoch(model: Any, loader: Iterable, loss_fn: Callable, optimizer: Any, description: str,
                     progress: bool) -> tuple[float, float]:
    """One pass over ``loader`` with a gradient step per batch: (sample-weighted mean loss, samples/s)."""
    model.train()
    total_loss, seen, started = 0.0, 0, time.perf_counter()
    bar = _progress_bar(loader, description) if progress else None
    for x, y in bar if bar is not None else loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(y)
        seen += len(y)
        if bar is not None:  # redrawn at tqdm's pace (refresh=False), not once per batch
            rate = seen / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", samples_per_s=f"{rate:.0f}", refresh=False)
    if bar is not None:
        bar.close()
    if seen == 0:
        raise ValueError("fit: the training loader yielded no batches")
    return total_loss / seen, seen / max(time.perf_counter() - started, 1e-9)


def _progress_bar(loader: Iterable, description: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(loader, desc=description, unit="batch", leave=False)


def _step_scheduler(scheduler: Any, epoch_values: dict[str, float]) -> None:
    """ReduceLROnPlateau needs the monitored value (validation loss if there is one)."""
    from .optim.lr_scheduler import ReduceLROnPlateau

    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(epoch_values.get("val_loss", epoch_values["loss"]))
    else:
        scheduler.step()


def _save_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any, history: History, epoch: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": history.history,
        "rng": random.generator().bit_generator.state,
    }
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    save(state, path)


def _restore(path: Path, model: Any, optimizer: Any, scheduler: Any, history: History) -> int:
    """Load a checkpoint into the live objects; return the number of epochs it had completed."""
    state = load(path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    history.history = {k: list(v) for k, v in state["history"].items()}
    random.generator().bit_generator.state = state["rng"]
    return int(state["epoch"])
