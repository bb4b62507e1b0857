"""Universal approximation: sums of N sigmoids fit sin and a bump better as N grows."""

import numpy as np
import pytest

from nnlab.errors import NnlabError
from nnlab.foundations import approximation as approx
from nnlab.foundations.activations import sigmoid


@pytest.mark.parametrize("f, interval", [(np.sin, (-np.pi, np.pi)), (approx.bump, (-3.0, 3.0))])
def test_error_falls_as_the_number_of_sigmoids_grows(f, interval):
    errors = approx.approximation_errors(f, [2, 4, 8, 16], interval=interval)
    assert np.all(np.diff(errors) < 0)
    assert errors[-1] < 0.05 and errors[-1] < 0.1 * errors[0]


def test_fit_is_a_one_hidden_layer_sigmoid_network():
    x = np.linspace(-np.pi, np.pi, 200)
    fit = approx.fit_sigmoid_sum(x, np.sin(x), 6)
    a, c = fit.weights[:-1], fit.weights[-1]
    by_hand = c + sum(a_j * sigmoid(fit.slope * (x - t_j)) for a_j, t_j in zip(a, fit.centers))
    np.testing.assert_allclose(fit(x), by_hand, rtol=1e-12, atol=1e-12)
    assert len(fit.centers) == 6 and fit.centers.min() > -np.pi and fit.centers.max() < np.pi


def test_output_layer_is_the_least_squares_optimum():
    # Perturbing the least-squares weights in any direction cannot lower the squared error.
    x = np.linspace(-np.pi, np.pi, 200)
    fit = approx.fit_sigmoid_sum(x, np.sin(x), 5)
    features = approx.sigmoid_features(x, fit.centers, fit.slope)
    best = np.sum((features @ fit.weights - np.sin(x)) ** 2)
    for delta in np.random.default_rng(0).normal(0, 1e-3, (20, len(fit.weights))):
        assert np.sum((features @ (fit.weights + delta) - np.sin(x)) ** 2) >= best


def test_zero_units_is_a_user_error():
    with pytest.raises(NnlabError):
        approx.fit_sigmoid_sum(np.linspace(0, 1, 5), np.zeros(5), 0)


def test_in_2d_the_error_falls_with_n_for_sigmoid_and_relu_but_not_for_a_polynomial():
    n_units = [4, 16, 64, 256]
    sigmoid_errors = approx.ridge_errors(approx.waves, n_units, activation="sigmoid")
    relu_errors = approx.ridge_errors(approx.waves, n_units, activation="relu")
    square_errors = approx.ridge_errors(approx.waves, n_units, activation="square")
    assert np.all(np.diff(sigmoid_errors) < 0) and sigmoid_errors[-1] < 1e-3
    assert np.all(np.diff(relu_errors) < 0) and relu_errors[-1] < 0.1 * relu_errors[0]
    # (w.x + b)^2 sums are quadratics: 256 units do no better than 4 (Leshno et al. 1993: not a polynomial)
    assert square_errors[-1] > 0.99 * square_errors[0] > 1.0


def test_a_ridge_sum_is_a_one_hidden_layer_network_with_nested_units():
    points = approx.square_grid(12)
    small = approx.fit_ridge_sum(points, approx.waves(points), 5, seed=3)
    large = approx.fit_ridge_sum(points, approx.waves(points), 9, seed=3)
    np.testing.assert_array_equal(large.directions[:5], small.directions)  # more units keep those of fewer
    np.testing.assert_array_equal(large.offsets[:5], small.offsets)
    by_hand = small.weights[-1] + sum(v * sigmoid(points @ w + b)
                                      for v, w, b in zip(small.weights[:-1], small.directions, small.offsets))
    np.testing.assert_allclose(small(points), by_hand, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(small.directions, axis=1), 4.0)


@pytest.mark.parametrize("n_units, activation", [(0, "sigmoid"), (3, "cubic")])
def test_a_bad_ridge_fit_is_a_user_error(n_units, activation):
    with pytest.raises(NnlabError):
        approx.fit_ridge_sum(approx.square_grid(3), np.zeros(9), n_units, activation=activation)
