"""Fisher's direction versus the mean-difference direction on seeded correlated Gaussian classes."""

import numpy as np
import pytest

from nnlab.foundations import projection as proj

COV = proj.COV  # [[2, 1.8], [1.8, 2]], the default class covariance of sample_two_classes
MEAN_GAP = proj.MEAN1 - proj.MEAN2  # (0, 0) - (2, 1)


def _criterion(x1, x2, w):
    return proj.fisher_criterion(x1 @ w, x2 @ w)


@pytest.mark.parametrize("seed", range(5))
def test_fisher_beats_mean_difference_and_equals_the_sample_optimum(seed):
    x1, x2 = proj.sample_two_classes(np.random.default_rng(seed), n_per_class=300)
    j_fisher = _criterion(x1, x2, proj.fisher_direction(x1, x2))
    assert j_fisher >= _criterion(x1, x2, proj.mean_difference_direction(x1, x2))
    gap = x1.mean(axis=0) - x2.mean(axis=0)
    assert j_fisher == pytest.approx(proj.optimal_fisher_criterion(gap, proj.within_class_scatter(x1, x2)), rel=1e-10)
    angles = np.linspace(0, np.pi, 721)
    assert j_fisher >= max(_criterion(x1, x2, np.array([np.cos(a), np.sin(a)])) for a in angles) - 1e-12


def test_sample_criteria_approach_the_population_values():
    # Population: J(w) = (w . dm)^2 / (w^T 2 Sigma w). By hand, with 2 Sigma = [[4, 3.6], [3.6, 4]]
    # (det 3.04) and dm = (-2, -1): dm^T (2 Sigma)^{-1} dm = (16 + 4 - 14.4) / 3.04 = 35/19.
    x1, x2 = proj.sample_two_classes(np.random.default_rng(0), n_per_class=40_000)
    optimum = proj.optimal_fisher_criterion(MEAN_GAP, 2 * COV)
    assert optimum == pytest.approx(35 / 19, rel=1e-12)
    assert _criterion(x1, x2, proj.fisher_direction(x1, x2)) == pytest.approx(optimum, rel=0.03)
    w_mean = MEAN_GAP / np.linalg.norm(MEAN_GAP)
    expected_mean = proj.analytic_fisher_criterion(w_mean, MEAN_GAP, 2 * COV)
    assert _criterion(x1, x2, proj.mean_difference_direction(x1, x2)) == pytest.approx(expected_mean, rel=0.03)


def test_fisher_direction_has_lower_threshold_error():
    x1, x2 = proj.sample_two_classes(np.random.default_rng(0))
    directions = (proj.mean_difference_direction(x1, x2), proj.fisher_direction(x1, x2))
    errors = [proj.best_threshold_error(x1 @ w, x2 @ w) for w in directions]
    assert errors[1] < errors[0] - 0.05


def test_best_threshold_error_matches_brute_force():
    rng = np.random.default_rng(3)
    p1, p2 = rng.normal(0, 1, 37), rng.normal(1, 1.5, 23)
    cuts = np.concatenate([[-np.inf], np.sort(np.concatenate([p1, p2]))])
    brute = min(
        min(np.sum(p1 > c) + np.sum(p2 <= c), np.sum(p1 <= c) + np.sum(p2 > c)) for c in cuts
    ) / 60
    assert proj.best_threshold_error(p1, p2) == pytest.approx(brute)
    assert proj.best_threshold_error(np.array([0.0, 1.0]), np.array([5.0, 6.0])) == 0.0
    assert proj.best_threshold_error(np.array([5.0, 6.0]), np.array([0.0, 1.0])) == 0.0
