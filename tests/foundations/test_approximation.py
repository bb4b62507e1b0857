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
