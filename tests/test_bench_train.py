"""Smoke tests of benchmarks/bench_train.py (not timed): its models are the same computation
in tinygrad_edu and PyTorch, and the script runs end to end with a tiny step count."""

from __future__ import annotations

import importlib.util
import mmap
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_train.py"


@pytest.fixture(scope="module")
def bench_train():
    spec = importlib.util.spec_from_file_location("bench_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # only defines things: the timing runs under __main__
    return module


@pytest.mark.parametrize("model", ["mlp", "lenet", "lstm"])
def test_first_step_is_the_same_computation_in_both_frameworks(bench_train, model):
    tg.manual_seed(0)
    tg_loss, torch_loss, worst = bench_train.first_step_agreement(tg, torch, model)
    assert abs(tg_loss - np.log(10)) < 0.2  # an untrained 10-class model: about log 10
    assert tg_loss == pytest.approx(torch_loss, rel=1e-5)
    # Adam's first step is lr·g/(|g| + ε): float32 rounding of tiny gradients shows as a few 1e-3
    assert worst < (1e-4 if model == "mlp" else 2e-2)


def test_models_share_weights_and_state_dict_keys(bench_train):
    net = bench_train.build(tg, "lstm")
    twin = bench_train.build(torch, "lstm")
    bench_train.copy_weights_to_torch(net, twin, torch)
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), net.state_dict()[key].data)


def test_script_runs_with_a_tiny_step_count(bench_train, capsys):
    threads = torch.get_num_threads()
    try:  # main() as the script runs it, in this process (a child would spend seconds importing torch)
        bench_train.main(bench_train.parse_args(["--quick", "--models", "mlp", "--steps", "1"]))
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "| mlp |" in out and "first-step loss" in out and "lenet" not in out


def test_page_faults_per_step_are_counted(bench_train):
    def touch_fresh_pages() -> None:  # what malloc does when it maps each large array anew
        pages = np.frombuffer(mmap.mmap(-1, 256 * mmap.PAGESIZE), np.uint8)
        pages[:: mmap.PAGESIZE] = 1  # the first write to each of the 256 pages faults it in

    fresh = bench_train._median_step_ms(touch_fresh_pages, steps=3, warmup=1)[2]
    reused = bench_train._median_step_ms(lambda: float(np.ones(1000).sum()), steps=3, warmup=1)[2]
    assert fresh >= 256 and reused < 5


def test_unknown_model_is_a_usage_error(bench_train):
    with pytest.raises(SystemExit):
        bench_train.parse_args(["--models", "mlp,resnet"])


def test_peak_rss_child_reports_megabytes(bench_train):
    assert 10 < bench_train.peak_rss_mb("tg", "mlp") < 2000
