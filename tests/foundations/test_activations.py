"""Activations, softmax and cross-entropy against torch float64 and first principles."""

import numpy as np
import pytest
import torch

from nnlab.errors import NnlabError
from nnlab.foundations import activations as act


def _autograd(fn, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and elementwise derivative of a torch function at z (float64)."""
    t = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    y = fn(t)
    y.sum().backward()
    return y.detach().numpy(), t.grad.numpy()


def test_sigmoid_matches_torch_over_a_wide_range():
    z = np.random.default_rng(0).normal(0, 30, 500)
    value, derivative = _autograd(torch.sigmoid, z)
    np.testing.assert_allclose(act.sigmoid(z), value, rtol=1e-14, atol=1e-300)
    # torch's backward uses s (1 - s), which cancels for large z; hence an absolute tolerance.
    np.testing.assert_allclose(act.sigmoid_derivative(z), derivative, rtol=1e-12, atol=1e-15)


def test_sigmoid_derivative_keeps_full_relative_precision_in_the_tails():
    # Analytic form: sigma'(z) = e^{-|z|} / (1 + e^{-|z|})^2, exact in floating point for large |z|.
    z = np.array([-700.0, -40.0, -5.0, 5.0, 40.0, 700.0])
    e = np.exp(-np.abs(z))
    np.testing.assert_allclose(act.sigmoid_derivative(z), e / (1 + e) ** 2, rtol=1e-14)


def test_sigmoid_is_stable_at_plus_minus_1000():
    # pyproject turns RuntimeWarning (e.g. overflow in exp) into an error, so this also checks "no warning".
    z = np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0])
    s = act.sigmoid(z)
    assert np.all(np.isfinite(s)) and s[0] == 0.0 and s[2] == 0.5 and s[-1] == 1.0
    assert np.all(np.isfinite(act.sigmoid_derivative(z))) and act.sigmoid_derivative(0.0) == 0.25


def test_sigmoid_symmetry_and_derivative_identity():
    z = np.linspace(-20, 20, 101)
    np.testing.assert_allclose(act.sigmoid(z) + act.sigmoid(-z), 1.0, rtol=1e-15)
    s = act.sigmoid(z)
    np.testing.assert_allclose(act.sigmoid_derivative(z), s * (1 - s), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("name, torch_fn", [("tanh", torch.tanh), ("relu", torch.relu), ("sigmoid", torch.sigmoid)])
def test_hidden_activation_derivatives_match_autograd(name, torch_fn):
    z = np.random.default_rng(1).normal(0, 3, 200)
    f, df = act.get_activation(name)
    value, derivative = _autograd(torch_fn, z)
    np.testing.assert_allclose(f(z), value, rtol=1e-14)
    np.testing.assert_allclose(df(z), derivative, rtol=1e-12, atol=1e-15)  # 1 - tanh^2 cancels in the tails


def test_unknown_activation_is_a_user_error():
    with pytest.raises(NnlabError, match="sigmoid, tanh, relu"):
        act.get_activation("swish")


def test_softmax_and_log_softmax_match_torch_for_large_logits():
    rng = np.random.default_rng(2)
    y = rng.normal(0, 5, (6, 4)) + np.array([[0.0], [1000.0], [-1000.0], [500.0], [0.0], [0.0]])
    t = torch.tensor(y, dtype=torch.float64)
    np.testing.assert_allclose(act.softmax(y), torch.softmax(t, dim=-1).numpy(), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(act.log_softmax(y), torch.log_softmax(t, dim=-1).numpy(), rtol=1e-13)
    np.testing.assert_allclose(act.softmax(y).sum(axis=-1), 1.0, rtol=1e-15)


def test_softmax_usual_sign_keeps_the_argmax():
    # The lecture slide prints exp(-y_k): that is softmax(-y), which ranks the largest logit last.
    y = np.array([1000.0, 3.0, -2.0, 999.0])
    p = act.softmax(y)
    assert np.argmax(p) == np.argmax(y) and np.all(np.isfinite(p))
    slide = np.exp(-(y - y.min())) / np.exp(-(y - y.min())).sum()
    np.testing.assert_allclose(slide, act.softmax(-y), rtol=1e-12, atol=1e-300)
    assert np.argmin(slide) == np.argmax(y)


def test_softmax_is_shift_invariant_and_matches_the_definition():
    y = np.random.default_rng(3).normal(0, 2, (3, 5))
    np.testing.assert_allclose(act.softmax(y + 17.0), act.softmax(y), rtol=1e-13)
    np.testing.assert_allclose(act.softmax(y), np.exp(y) / np.exp(y).sum(axis=1, keepdims=True), rtol=1e-13)


def test_cross_entropy_matches_torch():
    rng = np.random.default_rng(4)
    logits, labels = rng.normal(0, 3, (9, 4)), rng.integers(0, 4, 9)
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels)).item()
    assert act.cross_entropy(logits, labels) == pytest.approx(expected, rel=1e-13)
