"""python -m tinygrad_edu: train / evaluate / bench, help texts and one-line errors.

Most tests call ``cli.main`` in-process with one epoch (fast); a few run the real
``python -m tinygrad_edu`` in a subprocess to check what a user sees (help, errors).
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

from tinygrad_edu import cli


def run_module(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "tinygrad_edu", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_help_explains_every_option():
    top = run_module("--help")
    assert top.returncode == 0
    for command in ("train", "evaluate", "bench"):
        assert command in top.stdout
    train_help = run_module("train", "--help").stdout
    for option in ("--model", "--dataset", "--epochs", "--batch-size", "--optimizer", "--lr", "--seed", "--out",
                   "--resume", "--no-progress"):
        assert option in train_help
    assert "mlp" in train_help and "lstm" in train_help and "default: cnn" in train_help
    assert "CHECKPOINT" in run_module("evaluate", "--help").stdout


@pytest.mark.parametrize("args", [
    ("train", "--model", "resnet"),
    ("train", "--epochs", "many"),
    ("train", "--optimiser", "adam"),
    ("frobnicate",),
    (),
])
def test_bad_options_give_one_line_errors(args):
    result = run_module(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "error" in result.stderr


def test_runtime_errors_are_one_line_too(tmp_path, capsys):
    assert cli.main(["train", "--epochs", "0", "--out", str(tmp_path)]) == 1
    assert cli.main(["train", "--dataset", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 1
    assert cli.main(["evaluate", str(tmp_path / "missing.safetensors")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("python -m tinygrad_edu") for line in err)


def test_train_writes_model_and_metrics_then_evaluate_agrees(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--model", "mlp", "--epochs", "2", "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1.0
    assert metrics["config"]["model"] == "mlp" and len(metrics["history"]["loss"]) == 2
    weights = load_file(str(out / "model.safetensors"))  # readable by the reference safetensors loader
    assert weights["1.weight"].shape == (128, 64)
    capsys.readouterr()
    assert cli.main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"accuracy {metrics['test_accuracy']:.4f}" in printed
    assert "confusion matrix" in printed and "precision" in printed and "f1-score" in printed
    matrix_rows = printed.split("confusion matrix")[1].strip().splitlines()[2:]
    assert len(matrix_rows) == 10 and sum(int(v) for row in matrix_rows for v in row.split()[1:]) == 270


def test_train_resume_continues_from_checkpoint(tmp_path):
    out = str(tmp_path / "run")
    assert cli.main(["train", "--model", "mlp", "--epochs", "1", "--out", out, "--no-progress"]) == 0
    assert cli.main(["train", "--model", "mlp", "--epochs", "2", "--out", out, "--no-progress", "--resume"]) == 0
    history = json.loads((tmp_path / "run" / "metrics.json").read_text())["history"]
    assert len(history["loss"]) == 2


@pytest.mark.parametrize("model", ["cnn", "lstm"])
def test_other_models_train_one_epoch(tmp_path, model):
    out = tmp_path / model
    assert cli.main(["train", "--model", model, "--epochs", "1", "--optimizer", "sgd", "--lr", "0.05",
                     "--out", str(out), "--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] > 0.1


def write_fake_mnist(folder, n_train=60, n_test=20) -> None:
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = np.zeros((n, 28, 28), np.uint8)
        for i, label in enumerate(labels):  # class = which horizontal band is bright
            images[i, 2 * label:2 * label + 3] = 255
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", n, 28, 28) + images.tobytes()))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + struct.pack(">I", n) + labels.tobytes())


def test_train_on_an_mnist_folder(tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    write_fake_mnist(data)
    out = tmp_path / "run"
    assert cli.main(["train", "--model", "mlp", "--dataset", str(data), "--epochs", "3", "--out", str(out),
                     "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["input_shape"] == [1, 28, 28] and metrics["test_accuracy"] > 0.3


def test_bench_runs_scripts_and_reports_missing(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "benchmarks"
    monkeypatch.setattr(cli, "benchmarks_folder", lambda: folder)
    assert cli.main(["bench"]) == 1
    assert "no benchmarks to run" in capsys.readouterr().out
    folder.mkdir()
    (folder / "bench_ok.py").write_text("print('ok ran')\n")
    (folder / "bench_bad.py").write_text("raise SystemExit(3)\n")
    assert cli.main(["bench", "ok"]) == 0
    assert cli.main(["bench"]) == 1
    assert "failed: bench_bad.py" in capsys.readouterr().out
    assert cli.main(["bench", "nonexistent"]) == 1


def test_default_train_command_reaches_97_percent_within_a_minute(tmp_path):
    """The README's main job, exactly as written there (plus --out and --no-progress)."""
    started = time.perf_counter()
    result = run_module("train", "--out", str(tmp_path), "--no-progress", timeout=180)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.97
    assert seconds < 60
