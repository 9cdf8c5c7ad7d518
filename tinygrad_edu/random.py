"""The one random number generator behind every random draw in tinygrad_edu.

Weight initialisation, dropout masks and data shuffling all draw from ``generator()``,
so ``tg.manual_seed(s)`` makes a whole training run reproducible.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; every later draw is determined by ``seed``."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The global generator (reseeded by ``manual_seed``)."""
    return _generator


def get_rng_state() -> dict:
    """A copy of the global generator's state (NumPy's ``bit_generator.state`` dict).

    ``set_rng_state(get_rng_state())`` around some code makes it draw again exactly what it
    drew the first time: ``tg.utils.checkpoint`` does this to replay a dropout mask. (PyTorch
    returns a byte tensor; here the state stays NumPy's dict, which ``set_rng_state`` takes.)
    """
    return _generator.bit_generator.state  # (NumPy builds a new dict on every read)


def set_rng_state(state: dict) -> None:
    """Restore a state returned by ``get_rng_state`` into the global generator."""
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise TypeError(f"set_rng_state: expected a state returned by get_rng_state(), got {type(state).__name__}")
    _generator.bit_generator.state = state
