"""ROC curve and its area for a two-class score, in NumPy (scikit-learn's import alone costs about a second)."""

from __future__ import annotations

import numpy as np


def roc_curve(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates and the thresholds (score >= t is called positive), one point per distinct
    score from the highest down, starting at (0, 0) with threshold inf and ending at (1, 1).

    As scikit-learn's `roc_curve` but keeping the points it drops in the middle of straight stretches, which
    leaves np.interp along the curve unchanged.
    """
    fps, tps, thresholds = _cumulative_counts(y_true, score)
    return fps / fps[-1], tps / tps[-1], thresholds


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random negative, ties counting
    one half (the Mann-Whitney U over the number of pairs, the trapezoidal area), summed exactly in integers."""
    fps, tps, _ = _cumulative_counts(y_true, score)
    twice_area = int(np.sum(np.diff(fps) * (tps[1:] + tps[:-1])))
    return twice_area / (2 * int(fps[-1]) * int(tps[-1]))


def _cumulative_counts(y_true: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Negatives and positives scoring >= each distinct score, highest first, after a leading (0, 0, inf)."""
    y_true, score = np.asarray(y_true, dtype=bool).ravel(), np.asarray(score).ravel()
    if len(y_true) != len(score):
        raise ValueError(f"ROC: {len(y_true)} labels for {len(score)} scores")
    if y_true.all() or not y_true.any():
        raise ValueError("ROC: needs both positives and negatives")
    order = np.argsort(score, kind="stable")[::-1]
    score, y_true = score[order], y_true[order]
    last = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # the last place of each distinct score
    tps = np.cumsum(y_true)[last]
    fps = last + 1 - tps
    return np.r_[0, fps], np.r_[0, tps], np.r_[np.inf, score[last]]
