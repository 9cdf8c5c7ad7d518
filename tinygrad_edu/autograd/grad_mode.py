"""Grad mode: whether new operations are recorded in the graph.

``no_grad`` turns recording off (inference, optimiser updates); ``enable_grad`` turns it
back on inside a ``no_grad`` block. Both work as context managers and as decorators.
The engine also uses ``set_grad_enabled(create_graph)`` while it runs backward, which is
all it takes for gradients-of-gradients to work.

As in PyTorch the mode belongs to the thread: a ``no_grad`` block in one thread (say, a
validation loop) does not stop another thread from recording, and a new thread starts
with recording on.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


class _GradMode:
    """A thread's grad mode: one flag, in a plain object so that reading and flipping it is
    as cheap as for a global (attributes of a ``threading.local`` cost ~4x more)."""

    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


class _PerThread(threading.local):
    """Gives every thread its own ``_GradMode``: ``__init__`` runs once in each thread that
    uses it, so a new thread starts with recording on."""

    def __init__(self) -> None:
        self.mode = _GradMode()


# Function.apply reads and flips ``_per_thread.mode.enabled`` directly: it runs for every op.
_per_thread = _PerThread()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded (in this thread)."""
    return _per_thread.mode.enabled


class _GradModeContext:
    """Set grad mode to ``mode`` for the duration of a ``with`` block (or a decorated call)."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_per_thread.mode.enabled)
        _per_thread.mode.enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        _per_thread.mode.enabled = self._previous.pop()

    def __call__(self, fn: _F) -> _F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradModeContext(mode):  # a fresh manager per call: safe under recursion and threads
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Disable graph recording: ``with tg.no_grad(): ...`` or ``@tg.no_grad()``."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradModeContext):
    """Re-enable graph recording inside a ``no_grad`` block."""

    def __init__(self) -> None:
        super().__init__(True)


class set_grad_enabled(_GradModeContext):
    """Grad mode ``mode``: at once when called (``tg.set_grad_enabled(False)``, as in
    PyTorch), restored at the end of a ``with`` block; or for a decorated function's calls."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._previous.append(_per_thread.mode.enabled)  # what __exit__ restores
        _per_thread.mode.enabled = self.mode

    def __enter__(self) -> None:
        if not self._previous:  # entered again after a first block: remember the mode of now
            self._previous.append(_per_thread.mode.enabled)
        _per_thread.mode.enabled = self.mode  # (the first time, __init__ has set it and kept the previous mode)

    def __call__(self, fn: _F) -> _F:
        # used as a decorator: the switch made in __init__ was not meant to last; forget what it saved
        _per_thread.mode.enabled = self._previous.pop()
        return super().__call__(fn)
