"""Special values without warnings: 1/0 = inf, 0·inf = nan, e^1000 = inf, as in PyTorch.

NumPy computes these the same way PyTorch does, but it also emits a ``RuntimeWarning``
(overflow, divide by zero, invalid value) unless its floating-point error state says
"ignore". ``with np.errstate(...)`` sets that state, but costs ~0.8 µs per use: as much as
a small multiply itself, on the hottest path of every training step.

Since NumPy 2.0 the error state lives in a context variable (so it is per thread and per
asyncio task), and ``np.errstate.__enter__`` does nothing more than build a state object
and ``set`` it. ``quietly`` sets a state built once at import instead, about a quarter
of the cost. The context variable is private to NumPy: where it is missing (another
NumPy version) ``quietly`` falls back to the public ``np.errstate``, same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

try:
    from numpy._core._ufunc_config import _extobj_contextvar
    from numpy._core.umath import _make_extobj

    _IGNORE_ALL = _make_extobj(all="ignore")
    _set_state, _reset_state = _extobj_contextvar.set, _extobj_contextvar.reset
except ImportError:  # pragma: no cover - another NumPy version: the same through the public errstate
    _IGNORE_ALL = None

    def _set_state(state: None) -> np.errstate:
        quiet = np.errstate(all="ignore")
        quiet.__enter__()
        return quiet

    def _reset_state(quiet: np.errstate) -> None:
        quiet.__exit__(None, None, None)


def quietly(fn: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
    """``fn(*args)`` with every NumPy floating-point warning off (inf and nan still come out)."""
    token = _set_state(_IGNORE_ALL)
    try:
        return fn(*args)
    finally:
        _reset_state(token)
