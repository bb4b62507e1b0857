"""Gradient descent with a per-step choice of step size, and 2-D test functions to run it on.

Source: lecture "Introduction to Deep Learning with PyTorch", gradient descent:
x_{n+1} = x_n - g_n grad f(x_n), g_n chosen each step, stop when |f(x_{n+1}) - f(x_n)| < tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Objective = Callable[[np.ndarray], float]
Gradient = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class DescentPath:
    """The whole run: points visited (n_steps + 1, d), f there, step size used per step, why it stopped."""

    path: np.ndarray
    values: np.ndarray
    step_sizes: np.ndarray
    reason: str  # "value_change", "gradient" or "max_steps"
    n_steps: int

    @property
    def x(self) -> np.ndarray:
        """The last point visited."""
        return self.path[-1]


def geometric_step_sizes(smallest: float = 1e-6, largest: float = 1.0, n: int = 25) -> np.ndarray:
    """Candidate step sizes g on a geometric grid from `smallest` to `largest` (the lecture's "try several")."""
    return np.geomspace(smallest, largest, n)


def best_step(
    f: Objective, x: np.ndarray, direction: np.ndarray, step_sizes: np.ndarray
) -> tuple[float, np.ndarray, float]:
    """Try x - g * direction for every candidate g and keep the one with the lowest f: (g, x_new, f(x_new))."""
    candidates = [x - g * direction for g in step_sizes]
    values = np.array([f(c) for c in candidates])
    values = np.where(np.isfinite(values), values, np.inf)  # a step that overshoots to inf/nan loses
    i = int(np.argmin(values))
    return float(step_sizes[i]), candidates[i], float(values[i])


def gradient_descent(
    f: Objective,
    grad: Gradient,
    x0: np.ndarray,
    *,
    step_sizes: np.ndarray | float | None = None,
    tolerance: float = 1e-12,
    grad_tolerance: float = 0.0,
    max_steps: int = 10_000,
) -> DescentPath:
    """Minimise f by x_{n+1} = x_n - g_n grad f(x_n), choosing g_n as the best of `step_sizes` each step.

    Stops when |f(x_{n+1}) - f(x_n)| < tolerance ("value_change"), when |grad f(x_n)| <
    grad_tolerance ("gradient") or after max_steps. A single float for `step_sizes` is plain
    gradient descent with a fixed step. Default candidates: geometric_step_sizes().
    """
    steps = geometric_step_sizes() if step_sizes is None else np.atleast_1d(np.asarray(step_sizes, dtype=float))
    x = np.array(x0, dtype=float)
    path, values, used = [x], [float(f(x))], []
    reason = "max_steps"
    for _ in range(max_steps):
        g = grad(x)
        if np.linalg.norm(g) < grad_tolerance:
            reason = "gradient"
            break
        step, x, value = best_step(f, x, g, steps)
        path.append(x)
        values.append(value)
        used.append(step)
        if abs(values[-1] - values[-2]) < tolerance:
            reason = "value_change"
            break
    return DescentPath(np.array(path), np.array(values), np.array(used), reason, len(used))


def quadratic(x: np.ndarray, *, a: float = 1.0, b: float = 10.0) -> np.ndarray:
    """Elongated quadratic bowl a x^2 + b y^2 (minimum 0 at the origin); works on (..., 2) arrays."""
    x = np.asarray(x, dtype=float)
    return a * x[..., 0] ** 2 + b * x[..., 1] ** 2


def quadratic_gradient(x: np.ndarray, *, a: float = 1.0, b: float = 10.0) -> np.ndarray:
    """Gradient (2 a x, 2 b y) of `quadratic`."""
    x = np.asarray(x, dtype=float)
    return np.stack([2 * a * x[..., 0], 2 * b * x[..., 1]], axis=-1)


def rosenbrock(x: np.ndarray, *, a: float = 1.0, b: float = 100.0) -> np.ndarray:
    """Rosenbrock's banana (a - x)^2 + b (y - x^2)^2, minimum 0 at (a, a^2); works on (..., 2) arrays."""
    x = np.asarray(x, dtype=float)
    return (a - x[..., 0]) ** 2 + b * (x[..., 1] - x[..., 0] ** 2) ** 2


def rosenbrock_gradient(x: np.ndarray, *, a: float = 1.0, b: float = 100.0) -> np.ndarray:
    """Gradient of `rosenbrock`: (-2 (a - x) - 4 b x (y - x^2), 2 b (y - x^2))."""
    x = np.asarray(x, dtype=float)
    r = x[..., 1] - x[..., 0] ** 2
    return np.stack([-2 * (a - x[..., 0]) - 4 * b * x[..., 0] * r, 2 * b * r], axis=-1)


def tilted_wells(x: np.ndarray, *, tilt: float = 0.3) -> np.ndarray:
    """(x^2 - 1)^2 + (y^2 - 1)^2 + tilt x: four minima of two depths, four saddles, one maximum; (..., 2) arrays."""
    x = np.asarray(x, dtype=float)
    return (x[..., 0] ** 2 - 1) ** 2 + (x[..., 1] ** 2 - 1) ** 2 + tilt * x[..., 0]


def tilted_wells_gradient(x: np.ndarray, *, tilt: float = 0.3) -> np.ndarray:
    """Gradient (4x(x^2 - 1) + tilt, 4y(y^2 - 1)) of `tilted_wells`."""
    x = np.asarray(x, dtype=float)
    return np.stack([4 * x[..., 0] * (x[..., 0] ** 2 - 1) + tilt, 4 * x[..., 1] * (x[..., 1] ** 2 - 1)], axis=-1)


def tilted_wells_critical_points(*, tilt: float = 0.3) -> list[tuple[np.ndarray, str]]:
    """Every point where the gradient of `tilted_wells` vanishes, with its kind from the Hessian's signs.

    The function is a sum of one term in x and one in y, so the Hessian is diag(12x^2 - 4, 12y^2 - 4):
    both positive is a minimum, both negative a maximum, mixed signs a saddle. A zero gradient alone says
    none of this."""
    roots = np.roots([4.0, 0.0, -4.0, tilt])
    xs = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    points = []
    for x in xs:
        for y in (-1.0, 0.0, 1.0):
            curvatures = np.array([12 * x**2 - 4, 12 * y**2 - 4])
            kind = "minimum" if np.all(curvatures > 0) else "maximum" if np.all(curvatures < 0) else "saddle"
            points.append((np.array([x, y]), kind))
    return points
