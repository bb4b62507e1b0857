"""Projecting two 2-D Gaussian classes onto a line: the mean-difference direction versus Fisher's.

Source: lecture "Introduction to Deep Learning with PyTorch", the 1-D projection picture of
linear classification; Fisher's linear discriminant, w ~ S_W^{-1} (m1 - m2) (Bishop, PRML 4.1.4).
"""

from __future__ import annotations

import numpy as np

# Default classes: means (0, 0) and (2, 1), one covariance stretched along the diagonal.
MEAN1 = np.array([0.0, 0.0])
MEAN2 = np.array([2.0, 1.0])
COV = np.array([[2.0, 1.8], [1.8, 2.0]])


def sample_two_classes(
    rng: np.random.Generator,
    *,
    n_per_class: int = 500,
    mean1: np.ndarray = MEAN1,
    mean2: np.ndarray = MEAN2,
    cov: np.ndarray = COV,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (n, 2) samples of two Gaussian classes sharing a strongly correlated covariance.

    The default covariance stretches both classes along the diagonal, so that projecting on
    the line between the means mixes them while Fisher's direction keeps them apart.
    """
    x1 = rng.multivariate_normal(mean1, cov, size=n_per_class)
    x2 = rng.multivariate_normal(mean2, cov, size=n_per_class)
    return x1, x2


def mean_difference_direction(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Unit vector along m1 - m2, the line through the two class means."""
    d = x1.mean(axis=0) - x2.mean(axis=0)
    return d / np.linalg.norm(d)


def within_class_scatter(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """S_W = C1 + C2, the sum of the class covariances (ddof 0, as np.var uses in `fisher_criterion`)."""
    return np.cov(x1, rowvar=False, ddof=0) + np.cov(x2, rowvar=False, ddof=0)


def fisher_direction(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Unit vector w ~ S_W^{-1} (m1 - m2): the exact maximiser of `fisher_criterion` on these samples."""
    w = np.linalg.solve(within_class_scatter(x1, x2), x1.mean(axis=0) - x2.mean(axis=0))
    return w / np.linalg.norm(w)


def fisher_criterion(p1: np.ndarray, p2: np.ndarray) -> float:
    """J = (mu1 - mu2)^2 / (s1^2 + s2^2) of two 1-D projected samples: squared mean gap over spread."""
    return float((p1.mean() - p2.mean()) ** 2 / (p1.var() + p2.var()))


def analytic_fisher_criterion(w: np.ndarray, mean_gap: np.ndarray, scatter: np.ndarray) -> float:
    """J(w) = (w . dm)^2 / (w^T S_W w) from the mean difference dm and within-class scatter S_W."""
    return float((w @ mean_gap) ** 2 / (w @ scatter @ w))


def optimal_fisher_criterion(mean_gap: np.ndarray, scatter: np.ndarray) -> float:
    """max_w J(w) = dm^T S_W^{-1} dm (Cauchy-Schwarz in the S_W inner product), attained by w ~ S_W^{-1} dm."""
    return float(mean_gap @ np.linalg.solve(scatter, mean_gap))


def best_threshold_error(p1: np.ndarray, p2: np.ndarray) -> float:
    """Lowest misclassification rate of any threshold on the projections, either orientation.

    Sorting all points once and counting with cumulative sums tries every threshold
    between neighbours in O(n log n).
    """
    labels = np.concatenate([np.zeros(len(p1)), np.ones(len(p2))])[np.argsort(np.concatenate([p1, p2]))]
    ones_below = np.concatenate([[0], np.cumsum(labels)])  # class-2 points at or below each cut
    zeros_below = np.arange(len(labels) + 1) - ones_below
    errors = ones_below + (len(p1) - zeros_below)  # class 1 below, class 2 above
    return float(min(errors.min(), (len(labels) - errors).min()) / len(labels))
