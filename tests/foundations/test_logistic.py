"""Logistic regression losses and gradients against torch float64; the lecture's gates learned by our GD."""

import numpy as np
import pytest
import torch

from nnlab.errors import NnlabError
from nnlab.foundations import logistic
from nnlab.foundations.gates import GATE_INPUTS


def _torch_loss_and_grad(loss: str, w, b, x, y):
    tw = torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = torch.tensor(x) @ tw + tb
    ty = torch.tensor(y)
    if loss == "mse":
        value = torch.mean((torch.sigmoid(z) - ty) ** 2)
    else:
        value = torch.nn.functional.binary_cross_entropy_with_logits(z, ty)
    value.backward()
    return value.item(), tw.grad.numpy(), tb.grad.item()


@pytest.mark.parametrize("loss", logistic.LOSSES)
@pytest.mark.parametrize("seed", range(4))
def test_loss_and_gradient_match_torch(loss, seed):
    rng = np.random.default_rng(seed)
    n, d = rng.integers(3, 40), rng.integers(1, 6)
    x, w, b = rng.normal(0, 2, (n, d)), rng.normal(0, 1.5, d), float(rng.normal())
    y = rng.integers(0, 2, n).astype(float) if seed % 2 else rng.uniform(0, 1, n)  # hard and soft targets
    value, gw, gb = logistic.loss_and_gradient(w, b, x, y, loss=loss)
    t_value, t_gw, t_gb = _torch_loss_and_grad(loss, w, b, x, y)
    assert value == pytest.approx(t_value, rel=1e-12)
    np.testing.assert_allclose(gw, t_gw, rtol=1e-10, atol=1e-14)
    assert gb == pytest.approx(t_gb, rel=1e-10, abs=1e-14)


def test_cross_entropy_is_finite_for_saturated_units():
    x = np.array([[1000.0], [-1000.0]])
    value, gw, gb = logistic.cross_entropy_loss_and_gradient(np.array([1.0]), 0.0, x, np.array([0.0, 1.0]))
    assert value == pytest.approx(1000.0) and np.isfinite(gw).all() and np.isfinite(gb)


@pytest.mark.parametrize("loss", logistic.LOSSES)
@pytest.mark.parametrize("name, target", [("OR", [0, 1, 1, 1]), ("AND", [0, 0, 0, 1])])
def test_gradient_descent_learns_or_and_and(loss, name, target):
    model = logistic.fit_logistic_regression(GATE_INPUTS, np.array(target), loss=loss)
    np.testing.assert_array_equal(model.predict(GATE_INPUTS), target)
    assert model.descent.values[-1] < 0.05 * model.descent.values[0]


def test_unknown_loss_is_a_user_error():
    with pytest.raises(NnlabError, match="mse, cross_entropy"):
        logistic.loss_and_gradient(np.zeros(2), 0.0, GATE_INPUTS, np.zeros(4), loss="hinge")
