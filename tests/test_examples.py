"""Every examples/*.py script runs to completion (< 20 s) and prints what its source document promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))
TIME_LIMIT_S = 20


def number_after(label: str, text: str) -> float:
    """The first number printed after ``label`` (e.g. 'test accuracy: 0.9650' -> 0.965)."""
    match = re.search(re.escape(label) + r"[^-\d]*(-?\d+(?:\.\d+)?(?:e-?\d+)?)", text)
    assert match, f"expected {label!r} in the output:\n{text}"
    return float(match.group(1))


def check_000(out: str) -> None:
    assert "reloaded model predicts the same as the trained one: True" in out
    val = [float(v) for v in re.findall(r"validation MSE (\d+\.\d+)", out)]
    assert len(val) == 60 and val[-1] < val[0] / 5  # the validation loss falls epoch by epoch
    assert number_after("test MSE of the reloaded model:", out) < 0.05


def check_001(out: str) -> None:
    assert number_after("test accuracy:", out) > 0.85


def check_003(out: str) -> None:
    assert number_after("test accuracy:", out) > 0.8


def check_004(out: str) -> None:
    learned = re.findall(r"learned w = (-?\d+\.\d+), b = (-?\d+\.\d+)", out)
    assert len(learned) == 2, f"example 004 should print the learned w, b of both runs:\n{out}"
    for w, b in learned:  # plain SGD and momentum both reach the line y = 2x
        assert abs(float(w) - 2.0) < 0.01 and abs(float(b)) < 0.02


CHECKS = {"example_000": check_000, "example_001": check_001, "example_003": check_003, "example_004": check_004}


def test_the_documents_examples_are_all_present():
    names = {p.name[:11] for p in EXAMPLES}
    assert {"example_000", "example_001", "example_003"} <= names


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                            cwd=script.parent, env=env)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert seconds < TIME_LIMIT_S, f"{script.name} took {seconds:.1f} s"
    check = CHECKS.get(script.name[:11])
    if check is not None:
        check(result.stdout)
