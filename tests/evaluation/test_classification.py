"""classification_summary in NumPy against scikit-learn's confusion matrix and precision/recall/F1."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from nnlab.evaluation.classification import classification_summary


def test_hand_case():
    summary = classification_summary(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), ("a", "b", "c"))
    assert summary["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert summary["accuracy"] == 0.5 and summary["n"] == 4
    assert summary["per_class"]["b"] == {"precision": 1 / 3, "recall": 1.0, "f1": 0.5, "support": 1}
    assert summary["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}  # never predicted


@pytest.mark.parametrize("seed", range(5))
def test_matches_scikit_learn_with_a_class_never_predicted_and_one_never_present(seed):
    rng = np.random.default_rng(seed)
    k = 5
    y_true = rng.integers(0, k - 1, 300)  # class 4 never present
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, k, 300))
    y_pred[y_pred == 2] = 3  # class 2 never predicted
    summary = classification_summary(y_true, y_pred, tuple("abcde"))
    labels = list(range(k))
    assert summary["confusion_matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    expected = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    ours = [[m[key] for m in summary["per_class"].values()] for key in ("precision", "recall", "f1", "support")]
    for mine, theirs in zip(ours, expected):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-15)
    assert summary["accuracy"] == np.mean(y_true == y_pred)
