"""``tg.train``: the training loop with batteries (``fit``), evaluation and prediction helpers.

The implementation lives in ``training.py``; this module is the public name from the API
(``tg.train.fit(...)``, ``from tinygrad_edu.train import fit``).
"""

from .training import History, evaluate, fit, predict, predicted_labels

__all__ = ["History", "evaluate", "fit", "predict", "predicted_labels"]
