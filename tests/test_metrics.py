"""tg.metrics against values computed by hand (the counts are written out in each test)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.metrics import accuracy, confusion_matrix, f1_score, precision, recall

# Three classes, ten samples. Counting by hand:
#   class 0: TP=2 (i0,i1), FP=1 (i5 true 1),   FN=1 (i2 pred 2)
#   class 1: TP=2 (i3,i4), FP=1 (i8 true 2),   FN=1 (i5 pred 0)
#   class 2: TP=3 (i6,i7,i9), FP=1 (i2 true 0), FN=1 (i8 pred 1)
Y_TRUE = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
Y_PRED = [0, 0, 2, 1, 1, 0, 2, 2, 1, 2]


def test_accuracy_by_hand_and_from_scores():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(7 / 10)
    scores = np.eye(3)[Y_PRED] * 5.0 - 1.0  # logits whose argmax is Y_PRED
    assert accuracy(tg.tensor(Y_TRUE), tg.tensor(scores)) == pytest.approx(0.7)


def test_confusion_matrix_by_hand():
    expected = np.array([[2, 0, 1],
                         [1, 2, 0],
                         [0, 1, 3]])
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED), expected)
    padded = confusion_matrix(np.array(Y_TRUE), np.array(Y_PRED), num_classes=4)
    assert padded.shape == (4, 4) and padded[3].sum() == 0 and padded[:3, :3].tolist() == expected.tolist()
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix(Y_TRUE, Y_PRED, num_classes=2)


def test_per_class_macro_and_micro_by_hand():
    p = [2 / 3, 2 / 3, 3 / 4]  # TP / (TP + FP) per class
    r = [2 / 3, 2 / 3, 3 / 4]  # TP / (TP + FN)
    f = [2 * 2 / (2 * 2 + 1 + 1), 2 * 2 / (2 * 2 + 1 + 1), 2 * 3 / (2 * 3 + 1 + 1)]
    np.testing.assert_allclose(precision(Y_TRUE, Y_PRED, average=None), p)
    np.testing.assert_allclose(recall(Y_TRUE, Y_PRED, average=None), r)
    np.testing.assert_allclose(f1_score(Y_TRUE, Y_PRED, average=None), f)
    assert precision(Y_TRUE, Y_PRED, average="macro") == pytest.approx(np.mean(p))
    assert recall(Y_TRUE, Y_PRED, average="macro") == pytest.approx(np.mean(r))
    assert f1_score(Y_TRUE, Y_PRED, average="macro") == pytest.approx(np.mean(f))
    # micro: ΣTP=7, ΣFP=3, ΣFN=3 -> 7/10 for all three, equal to accuracy
    for metric in (precision, recall, f1_score):
        assert metric(Y_TRUE, Y_PRED, average="micro") == pytest.approx(0.7)


def test_asymmetric_precision_and_recall_differ():
    # class 1: TP=1, FP=2, FN=0 ; class 0: TP=1, FP=0, FN=2
    y_true, y_pred = [0, 0, 0, 1], [0, 1, 1, 1]
    assert precision(y_true, y_pred) == pytest.approx(1 / 3)
    assert recall(y_true, y_pred) == pytest.approx(1.0)
    assert f1_score(y_true, y_pred) == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert precision(y_true, y_pred, pos_label=0) == pytest.approx(1.0)
    assert recall(y_true, y_pred, pos_label=0) == pytest.approx(1 / 3)
    assert precision(y_true, y_pred, average="macro") == pytest.approx((1 + 1 / 3) / 2)


def test_binary_with_pm1_labels_and_zero_division():
    y_true, y_pred = [-1, 1, 1, -1], [-1, 1, -1, -1]
    assert precision(y_true, y_pred) == pytest.approx(1.0)
    assert recall(y_true, y_pred) == pytest.approx(0.5)
    assert precision([0, 0, 1], [0, 0, 0]) == 0.0  # class 1 never predicted: 0/0 counts as 0
    assert f1_score([0, 0, 0], [0, 0, 0]) == 0.0
    # a class that never occurs but is requested through num_classes counts as 0 in the macro mean
    assert recall([0, 1], [0, 1], average="macro", num_classes=3) == pytest.approx(2 / 3)


def test_metric_errors():
    with pytest.raises(ValueError, match="binary"):
        precision(Y_TRUE, Y_PRED)  # three classes
    with pytest.raises(ValueError, match="average"):
        recall(Y_TRUE, Y_PRED, average="weighted")
    with pytest.raises(ValueError, match="samples"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="integers"):
        accuracy([0.5, 1.0], [0, 1])
