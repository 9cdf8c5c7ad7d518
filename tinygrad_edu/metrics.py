"""Classification metrics: accuracy, precision, recall, F1 and the confusion matrix.

Arguments follow scikit-learn's order, ``metric(y_true, y_pred)``. Each accepts Tensors,
arrays or lists of class labels; ``y_pred`` may also be scores of shape ``(n, C)``
(logits or probabilities), whose argmax is the predicted class.

For a class c, counting over the samples:
    TP_c = #(pred = c and true = c)   FP_c = #(pred = c and true ≠ c)   FN_c = #(pred ≠ c and true = c)
    precision_c = TP_c / (TP_c + FP_c)      recall_c = TP_c / (TP_c + FN_c)
    F1_c = 2 · precision_c · recall_c / (precision_c + recall_c) = 2 TP_c / (2 TP_c + FP_c + FN_c)
Averages:
    'binary'  the value for the class ``pos_label`` only (two classes at most)
    'macro'   the unweighted mean of the per-class values (every class counts the same)
    'micro'   the value of the summed counts Σ_c TP_c, Σ_c FP_c, Σ_c FN_c (for single-label
              classification micro precision = micro recall = micro F1 = accuracy)
    None      the per-class values as an array
A ratio whose denominator is 0 (a class never predicted, or never present) counts as 0,
as scikit-learn's default ``zero_division`` does (without its warning).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor

AVERAGES = ("binary", "macro", "micro", None)


def _labels(values: Any, name: str) -> np.ndarray:
    """Class labels as a 1-D int64 array; 2-D scores (n, C) become their argmax."""
    array = values.data if isinstance(values, Tensor) else np.asarray(values)
    if array.ndim == 2 and array.shape[1] > 1:
        array = array.argmax(axis=1)
    elif array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name}: expected labels of shape (n,) or scores (n, C), got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(array == np.round(array)):
        raise ValueError(f"{name}: labels must be integers, got non-integer values")
    return array.astype(np.int64)


def _pair(y_true: Any, y_pred: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    true, pred = _labels(y_true, f"{metric} y_true"), _labels(y_pred, f"{metric} y_pred")
    if true.shape != pred.shape:
        raise ValueError(f"{metric}: y_true has {true.shape[0]} samples but y_pred has {pred.shape[0]}")
    if true.size == 0:
        raise ValueError(f"{metric}: no samples")
    return true, pred


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted class equals the true class: (1/n) Σ_i [ŷ_i = y_i]."""
    true, pred = _pair(y_true, y_pred, "accuracy")
    return float(np.mean(true == pred))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class i predicted as class j (int64, rows = truth).

    ``num_classes`` defaults to 1 + the largest label seen.
    """
    true, pred = _pair(y_true, y_pred, "confusion_matrix")
    if min(true.min(), pred.min()) < 0:
        raise ValueError("confusion_matrix: labels must be >= 0")
    largest = int(max(true.max(), pred.max()))
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ValueError(f"confusion_matrix: label {largest} out of range for num_classes={num_classes}")
    counts = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0 where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def _scores(y_true: Any, y_pred: Any, average: str | None, pos_label: int, num_classes: int | None,
            metric: str) -> float | np.ndarray:
    """Compute ``metric`` ('precision', 'recall' or 'f1_score') under the requested averaging."""
    if average not in AVERAGES:
        raise ValueError(f"{metric}: average must be one of {AVERAGES}, got {average!r}")
    true, pred = _pair(y_true, y_pred, metric)
    present = np.union1d(true, pred)
    if average == "binary":
        if present.size > 2:
            raise ValueError(f"{metric}: average='binary' needs two classes, got labels {present.tolist()}; "
                             f"use average='macro' or 'micro'")
        classes = np.array([pos_label])
    else:
        classes = np.arange(num_classes) if num_classes is not None else present
    tp = np.array([np.sum((pred == c) & (true == c)) for c in classes])
    fp = np.array([np.sum((pred == c) & (true != c)) for c in classes])
    fn = np.array([np.sum((pred != c) & (true == c)) for c in classes])
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    if metric == "precision":
        values = _ratio(tp, tp + fp)
    elif metric == "recall":
        values = _ratio(tp, tp + fn)
    else:
        values = _ratio(2 * tp, 2 * tp + fp + fn)
    if average is None:
        return values
    return float(np.mean(values))


def precision(y_true: Any, y_pred: Any, average: str | None = "binary", pos_label: int = 1,
              num_classes: int | None = None) -> float | np.ndarray:
    """Precision TP / (TP + FP): of the samples predicted as a class, the fraction that truly are.

    ``average``: 'binary' (class ``pos_label``), 'macro', 'micro' or None (per class). The
    classes are ``range(num_classes)`` when given, else the labels seen in y_true or y_pred.
    """
    return _scores(y_true, y_pred, average, pos_label, num_classes, "precision")


def recall(y_true: Any, y_pred: Any, average: str | None = "binary", pos_label: int = 1,
           num_classes: int | None = None) -> float | np.ndarray:
    """Recall TP / (TP + FN): of the samples truly in a class, the fraction predicted as it.

    Arguments as for ``precision``.
    """
    return _scores(y_true, y_pred, average, pos_label, num_classes, "recall")


def f1_score(y_true: Any, y_pred: Any, average: str | None = "binary", pos_label: int = 1,
             num_classes: int | None = None) -> float | np.ndarray:
    """F1 = 2 · precision · recall / (precision + recall) = 2 TP / (2 TP + FP + FN), the harmonic mean.

    Arguments as for ``precision``; 'macro' averages the per-class F1 values.
    """
    return _scores(y_true, y_pred, average, pos_label, num_classes, "f1_score")
