"""Shared fixtures, hypothesis settings, and the CI guard against skipped PyTorch tests.

PyTorch is the reference oracle. Locally a test module may skip when torch is missing, but
in CI (environment variable ``CI`` set, as ``.ci/run`` does) a skipped reference test would
turn the suite green without checking anything, so the session fails instead.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygrad_edu as tg

settings.register_profile(
    "default", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_IN_CI = bool(os.environ.get("CI"))
_torch_skips: list[str] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, refuse to run at all when the reference oracle is not installed."""
    if _IN_CI and importlib.util.find_spec("torch") is None:
        pytest.exit("CI: PyTorch (the reference oracle) is not installed; run pip install -e '.[test]'", 1)


def _is_torch_skip(report: pytest.TestReport | pytest.CollectReport) -> bool:
    if not report.skipped:
        return False
    text = str(report.longrepr).lower()
    marked = "torch" in getattr(report, "keywords", {})
    return marked or "torch" in text


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every skipped test that compares against PyTorch."""
    if _is_torch_skip(report):
        _torch_skips.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A whole module skipped by ``importorskip("torch")`` counts as well."""
    if _is_torch_skip(report):
        _torch_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, any skipped PyTorch reference test fails the run."""
    if _IN_CI and _torch_skips:
        print(f"\nCI: {len(_torch_skips)} PyTorch reference test(s) were skipped, e.g. {_torch_skips[:3]}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(params=tg.backend.available())
def backend(request: pytest.FixtureRequest):
    """Run the test once per available backend ("numpy", and "c" when built)."""
    with tg.backend.using(request.param):
        yield request.param


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator, so every test sees the same numbers on every run."""
    return np.random.default_rng(0)
