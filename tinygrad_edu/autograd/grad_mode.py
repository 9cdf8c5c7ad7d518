"""Grad mode: whether new operations are recorded in the graph.

``no_grad`` turns recording off (inference, optimiser updates); ``enable_grad`` turns it
back on inside a ``no_grad`` block. Both work as context managers and as decorators.
The engine also uses ``set_grad_enabled(create_graph)`` while it runs backward, which is
all it takes for gradients-of-gradients to work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _grad_enabled


class set_grad_enabled:
    """Set grad mode to ``mode`` for the duration of a ``with`` block (or a decorated call)."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous.pop()

    def __call__(self, fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(self.mode):  # a fresh manager per call: safe under recursion
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(set_grad_enabled):
    """Disable graph recording: ``with tg.no_grad(): ...`` or ``@tg.no_grad()``."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)
