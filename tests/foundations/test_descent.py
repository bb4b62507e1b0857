"""Gradient descent with per-step step-size choice: convergence, stop criteria, plain-GD limit."""

import numpy as np
import pytest
import torch

from nnlab.foundations import descent as gd


@pytest.mark.parametrize(
    "f, torch_f",
    [
        (gd.quadratic, lambda t: t[0] ** 2 + 10 * t[1] ** 2),
        (gd.rosenbrock, lambda t: (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2),
        (gd.tilted_wells, lambda t: (t[0] ** 2 - 1) ** 2 + (t[1] ** 2 - 1) ** 2 + 0.3 * t[0]),
    ],
)
def test_test_function_gradients_match_autograd(f, torch_f):
    grad = {gd.quadratic: gd.quadratic_gradient, gd.rosenbrock: gd.rosenbrock_gradient,
            gd.tilted_wells: gd.tilted_wells_gradient}[f]
    for x in np.random.default_rng(0).normal(0, 2, (5, 2)):
        t = torch.tensor(x, requires_grad=True)
        value = torch_f(t)
        value.backward()
        assert f(x) == pytest.approx(value.item(), rel=1e-14)
        np.testing.assert_allclose(grad(x), t.grad.numpy(), rtol=1e-13)


def test_converges_to_the_minimum_of_an_elongated_quadratic():
    run = gd.gradient_descent(gd.quadratic, gd.quadratic_gradient, np.array([-2.0, 1.5]))
    assert run.reason == "value_change"
    np.testing.assert_allclose(run.x, [0.0, 0.0], atol=1e-5)


def test_converges_to_the_rosenbrock_minimum():
    # Analytic minimum of (1 - x)^2 + 100 (y - x^2)^2: f = 0 at (1, 1).
    run = gd.gradient_descent(gd.rosenbrock, gd.rosenbrock_gradient, np.array([-1.2, 1.0]), tolerance=1e-14)
    assert run.reason == "value_change"
    np.testing.assert_allclose(run.x, [1.0, 1.0], atol=1e-5)
    assert run.values[-1] < 1e-10


def test_value_change_stop_is_honoured_exactly():
    tol = 1e-6
    run = gd.gradient_descent(gd.rosenbrock, gd.rosenbrock_gradient, np.array([-1.2, 1.0]), tolerance=tol)
    changes = np.abs(np.diff(run.values))
    assert run.reason == "value_change" and changes[-1] < tol and np.all(changes[:-1] >= tol)
    assert run.n_steps == len(run.step_sizes) == len(run.path) - 1 == len(run.values) - 1


def test_gradient_stop_is_honoured_exactly():
    run = gd.gradient_descent(
        gd.quadratic, gd.quadratic_gradient, np.array([3.0, -1.0]), tolerance=0.0, grad_tolerance=1e-3
    )
    norms = np.linalg.norm(gd.quadratic_gradient(run.path), axis=1)
    assert run.reason == "gradient" and norms[-1] < 1e-3 and np.all(norms[:-1] >= 1e-3)


def test_max_steps_stop():
    run = gd.gradient_descent(gd.rosenbrock, gd.rosenbrock_gradient, np.array([-1.2, 1.0]), max_steps=7)
    assert run.reason == "max_steps" and run.n_steps == 7 and run.path.shape == (8, 2)


def test_each_step_is_the_best_candidate_and_values_never_rise():
    steps = gd.geometric_step_sizes(1e-6, 1.0, 25)
    run = gd.gradient_descent(gd.rosenbrock, gd.rosenbrock_gradient, np.array([-1.2, 1.0]), max_steps=50)
    for x, x_next, used in zip(run.path[:-1], run.path[1:], run.step_sizes):
        candidates = gd.rosenbrock(x[None, :] - steps[:, None] * gd.rosenbrock_gradient(x)[None, :])
        assert gd.rosenbrock(x_next) == pytest.approx(candidates.min(), rel=1e-14)
        np.testing.assert_allclose(x_next, x - used * gd.rosenbrock_gradient(x), rtol=1e-15)
    assert np.all(np.diff(run.values) <= 0)


def test_a_single_fixed_step_is_plain_gradient_descent():
    x, eta = np.array([2.0, -1.0]), 0.04
    run = gd.gradient_descent(gd.quadratic, gd.quadratic_gradient, x, step_sizes=eta, tolerance=0.0, max_steps=30)
    expected = [x]
    for _ in range(30):
        expected.append(expected[-1] - eta * gd.quadratic_gradient(expected[-1]))
    np.testing.assert_array_equal(run.path, np.array(expected))
    # Plain GD on a x^2 + b y^2 contracts each axis by |1 - 2 eta a| per step (analytic).
    np.testing.assert_allclose(run.x, [2.0 * (1 - 2 * eta) ** 30, -1.0 * (1 - 20 * eta) ** 30], rtol=1e-12)


def test_a_zero_gradient_is_a_minimum_a_saddle_or_a_maximum():
    critical = gd.tilted_wells_critical_points()
    assert sorted(kind for _, kind in critical) == ["maximum"] + ["minimum"] * 4 + ["saddle"] * 4
    for point, kind in critical:
        np.testing.assert_allclose(gd.tilted_wells_gradient(point), 0.0, atol=1e-12)
        hessian = torch.autograd.functional.hessian(
            lambda t: (t[0] ** 2 - 1) ** 2 + (t[1] ** 2 - 1) ** 2 + 0.3 * t[0], torch.tensor(point))
        signs = set(np.sign(np.linalg.eigvalsh(hessian.numpy())))
        assert signs == {"minimum": {1.0}, "maximum": {-1.0}, "saddle": {-1.0, 1.0}}[kind]
    # descent cannot leave a saddle: its gradient is zero, so it stops where it started
    saddle = next(point for point, kind in critical if kind == "saddle")
    stuck = gd.gradient_descent(gd.tilted_wells, gd.tilted_wells_gradient, saddle, step_sizes=0.05, grad_tolerance=1e-9)
    assert stuck.n_steps == 0 and stuck.reason == "gradient"


def test_descent_ends_in_the_minimum_of_its_starting_basin():
    # the tilt lowers the wells at x < 0: from the right, descent settles in a higher minimum
    minima = {tuple(np.round(p, 6)): gd.tilted_wells(p) for p, kind in gd.tilted_wells_critical_points()
              if kind == "minimum"}
    for start, side in (((-1.5, 1.5), -1), ((1.5, 1.5), 1), ((0.5, -1.5), 1), ((-0.2, -0.3), -1)):
        run = gd.gradient_descent(gd.tilted_wells, gd.tilted_wells_gradient, np.array(start), step_sizes=0.05)
        reached = min(minima, key=lambda m: np.linalg.norm(np.array(m) - run.x))
        assert np.linalg.norm(np.array(reached) - run.x) < 1e-3 and np.sign(reached[0]) == side
    assert min(minima.values()) < -0.3 and max(minima.values()) > 0.29
