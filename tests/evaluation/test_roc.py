"""ROC curve and AUC in NumPy: hand-computed answers, and scikit-learn's values on random scores with ties."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sklearn_roc_curve

from nnlab.evaluation.roc import roc_auc, roc_curve


@pytest.mark.parametrize(("truth", "score", "auc"), [
    ([1, 1, 0, 0], [0.9, 0.8, 0.3, 0.1], 1.0),  # every positive above every negative
    ([0, 0, 1, 1], [0.9, 0.8, 0.3, 0.1], 0.0),
    ([1, 0, 1, 0, 0], [0.5] * 5, 0.5),  # all tied: every pair counts one half
    ([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1], 3.5 / 4),  # pairs won 1 + 1 + 1, the tie at 0.8 one half
])
def test_auc_of_hand_cases(truth, score, auc):
    assert roc_auc(np.array(truth, dtype=bool), np.array(score)) == auc


def test_curve_of_a_hand_case_runs_from_0_0_to_1_1():
    fpr, tpr, thresholds = roc_curve(np.array([1, 0, 1, 0], dtype=bool), np.array([0.9, 0.8, 0.8, 0.1]))
    np.testing.assert_array_equal(fpr, [0, 0, 0.5, 1])
    np.testing.assert_array_equal(tpr, [0, 0.5, 1, 1])
    np.testing.assert_array_equal(thresholds, [np.inf, 0.9, 0.8, 0.1])


@pytest.mark.parametrize("seed", range(6))
def test_auc_and_curve_match_scikit_learn_on_scores_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.choice([20, 200, 1000, 5000]))  # multiples of 10 positives put tpr = 0.9 on the curve
    truth = rng.random(n) < rng.uniform(0.1, 0.9)
    levels = int(rng.choice([3, 30, 10_000]))
    score = rng.integers(0, levels, n) / levels + 0.3 * truth  # ties within and across the classes
    assert roc_auc(truth, score) == pytest.approx(roc_auc_score(truth, score), abs=1e-12, rel=0)
    fpr, tpr, thresholds = roc_curve(truth, score)
    sk_fpr, sk_tpr, sk_thresholds = sklearn_roc_curve(truth, score)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    grid = np.linspace(0.0, 1.0, 201)
    for at in (0.9, grid):
        np.testing.assert_allclose(np.interp(at, tpr, fpr), np.interp(at, sk_tpr, sk_fpr), rtol=0, atol=1e-12)
    kept = np.isin(thresholds, sk_thresholds)  # scikit-learn's points are among ours
    assert kept.sum() == len(sk_thresholds)
    np.testing.assert_allclose(fpr[kept], sk_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tpr[kept], sk_tpr, rtol=0, atol=1e-12)


def test_float_labels_and_one_class_only():
    truth = np.array([0.0, 1.0, 1.0, 0.0])
    assert roc_auc(truth, np.array([0.1, 0.7, 0.4, 0.5])) == 0.75
    with pytest.raises(ValueError, match="both positives and negatives"):
        roc_auc(np.ones(3, dtype=bool), np.arange(3.0))
