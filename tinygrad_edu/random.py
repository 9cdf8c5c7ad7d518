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
