"""tg.train.fit: learning, history, validation metrics, schedulers, checkpoints and exact resume."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import DataLoader, TensorDataset
from tinygrad_edu.training import CHECKPOINT_NAME, CURVES_NAME


def blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three separable classes in 4-D."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    centres = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 2.0, 0]], dtype=np.float32)
    return (centres[labels] + 0.5 * rng.standard_normal((n, 4))).astype(np.float32), labels.astype(np.int64)


def loaders() -> tuple[DataLoader, DataLoader]:
    x, y = blobs()
    return (DataLoader(TensorDataset(x[:180], y[:180]), batch_size=16, shuffle=True),
            DataLoader(TensorDataset(x[180:], y[180:]), batch_size=32))


def make_run(seed: int = 0):
    """A model with dropout (so the global RNG matters), Adam and a StepLR schedule."""
    tg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def test_fit_learns_and_records_history():
    model, optimizer, scheduler = make_run()
    train_loader, val_loader = loaders()
    history = tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, epochs=5, val_loader=val_loader,
                           scheduler=scheduler, metrics=("accuracy", "f1_score"), progress=False)
    assert set(history.history) == {"loss", "val_loss", "val_accuracy", "val_f1_score"}
    assert all(len(v) == 5 for v in history.history.values()) and history.epochs == 5
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.9
    # the recorded last-epoch values are what an independent evaluation of the final model gives
    again = tg.train.evaluate(model, val_loader, nn.CrossEntropyLoss(), metrics=("accuracy",))
    assert again["accuracy"] == history.history["val_accuracy"][-1]
    assert again["loss"] == pytest.approx(history.history["val_loss"][-1], rel=1e-6)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 2)  # StepLR stepped once per epoch


def test_resume_after_a_crash_ends_with_identical_weights(tmp_path):
    """Kill the run in the middle of epoch 3, resume from the epoch-2 checkpoint: same result as never stopping."""
    loss_fn = nn.CrossEntropyLoss()
    model, optimizer, scheduler = make_run()
    train_loader, val_loader = loaders()
    reference = tg.train.fit(model, train_loader, loss_fn, optimizer, 5, val_loader=val_loader,
                             scheduler=scheduler, progress=False)
    expected = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    calls = {"n": 0}

    def crashing_loss(output, target):
        calls["n"] += tg.is_grad_enabled()  # count training batches only, not validation ones
        if calls["n"] == 2 * len(train_loader) + 3:  # third batch of the third epoch
            raise KeyboardInterrupt("simulated kill")
        return loss_fn(output, target)

    model, optimizer, scheduler = make_run()
    with pytest.raises(KeyboardInterrupt):
        tg.train.fit(model, train_loader, crashing_loss, optimizer, 5, val_loader=val_loader, scheduler=scheduler,
                     checkpoint_dir=tmp_path, progress=False)
    assert tg.load(tmp_path / CHECKPOINT_NAME)["epoch"] == 2

    # a new process: fresh objects, a different seed, then resume
    model, optimizer, scheduler = make_run(seed=123)
    resumed = tg.train.fit(model, train_loader, loss_fn, optimizer, 5, val_loader=val_loader, scheduler=scheduler,
                           checkpoint_dir=tmp_path, resume=True, progress=False)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), expected[name], err_msg=name)
    assert resumed.history == reference.history
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01 * 0.5 ** 2)


def test_resume_callback_interrupt_and_finished_run(tmp_path):
    def stop_after_first(epoch, values):
        if epoch == 0:
            raise RuntimeError("stop")

    model, optimizer, _ = make_run()
    train_loader, _ = loaders()
    with pytest.raises(RuntimeError, match="stop"):
        tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 2, metrics=(),
                     checkpoint_dir=tmp_path, progress=False, callbacks=[stop_after_first])
    history = tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 2, metrics=(),
                           checkpoint_dir=tmp_path, resume=True, progress=False)
    assert history.epochs == 2
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    done = tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 2, metrics=(),
                        checkpoint_dir=tmp_path, resume=True, progress=False)  # nothing left to do
    assert done.history == history.history
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in model.state_dict().items())


def test_reduce_lr_on_plateau_is_given_the_validation_loss():
    seen = []

    class Spy(optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics, *args, **kwargs):
            seen.append(metrics)
            return super().step(metrics, *args, **kwargs)

    model, optimizer, _ = make_run()
    train_loader, val_loader = loaders()
    history = tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 3, val_loader=val_loader,
                           scheduler=Spy(optimizer, patience=0), progress=False)
    assert seen == history.history["val_loss"]


def test_progress_shows_loss_and_throughput(capsys):
    model, optimizer, _ = make_run()
    train_loader, val_loader = loaders()
    tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 1, val_loader=val_loader, progress=True)
    out = capsys.readouterr()
    assert "epoch 1/1" in out.err and "batch" in out.err  # the tqdm bar
    summary = r"epoch 1/1: loss=\d\.\d{4}  val_loss=\d\.\d{4}  val_accuracy=\d\.\d{4}  \(\d+ samples/s\)"
    assert re.search(summary, out.out)
    tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 1, progress=False)
    assert capsys.readouterr() == ("", "")


def test_fit_rejects_unknown_metric_before_training():
    model, optimizer, _ = make_run()
    before = model.state_dict()["0.weight"].numpy().copy()
    with pytest.raises(ValueError, match="unknown metric"):
        tg.train.fit(model, loaders()[0], nn.CrossEntropyLoss(), optimizer, 1, metrics=("auc",), progress=False)
    np.testing.assert_array_equal(model.state_dict()["0.weight"].numpy(), before)


def test_predicted_labels_from_logits_and_single_column():
    assert tg.train.predicted_labels(tg.tensor([[0.1, 2.0], [3.0, -1.0]])).tolist() == [1, 0]
    assert tg.train.predicted_labels(tg.tensor([[0.3], [-0.2]])).tolist() == [1, 0]


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib (optional extra 'plot')")
def test_curves_image_written_with_checkpoints(tmp_path):
    model, optimizer, _ = make_run()
    train_loader, val_loader = loaders()
    tg.train.fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, 2, val_loader=val_loader,
                 checkpoint_dir=tmp_path, progress=False)
    assert (tmp_path / CURVES_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
