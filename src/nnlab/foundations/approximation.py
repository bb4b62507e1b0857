"""Universal approximation: one hidden layer of N units fits a smooth function ever better as N grows.

Source: lecture "Introduction to Deep Learning with PyTorch", universal approximation theorem
(one hidden layer; Cybenko 1989 for sigmoids, Hornik 1991 for any bounded nonconstant activation,
Leshno, Lin, Pinkus and Schocken 1993: any continuous activation that is not a polynomial). In 1-D the
sigmoids sit on a grid; in 2-D and beyond each unit is a ridge phi(w . x + b) with a random direction.
Either way the hidden layer is fixed and the output layer is solved exactly by least squares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnlab.errors import NnlabError
from nnlab.foundations.activations import relu, sigmoid


@dataclass(frozen=True)
class SigmoidSum:
    """f(x) ~ c + sum_j a_j sigma(s (x - t_j)): a one-hidden-layer network with N sigmoid units."""

    centers: np.ndarray  # t_j (N,)
    slope: float  # s, shared by all units
    weights: np.ndarray  # (a_1 .. a_N, c)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the network at the points x (M,)."""
        return sigmoid_features(x, self.centers, self.slope) @ self.weights


def sigmoid_features(x: np.ndarray, centers: np.ndarray, slope: float) -> np.ndarray:
    """Hidden-layer outputs sigma(s (x - t_j)) for every point and unit, plus a constant column: (M, N + 1)."""
    x = np.asarray(x, dtype=float)
    return np.column_stack([sigmoid(slope * (x[:, None] - centers[None, :])), np.ones(len(x))])


def fit_sigmoid_sum(x: np.ndarray, y: np.ndarray, n_units: int, *, sharpness: float = 2.0) -> SigmoidSum:
    """Least-squares output weights for N sigmoids with steps at the midpoints of N equal cells of [min x, max x].

    The slope grows with N (s = sharpness / cell width), so each unit is a step about one
    cell wide: as N grows the sum of steps follows the function more closely.
    """
    if n_units < 1:
        raise NnlabError(f"n_units must be >= 1, got {n_units}")
    lo, hi = float(np.min(x)), float(np.max(x))
    width = (hi - lo) / n_units
    centers = lo + width * (np.arange(n_units) + 0.5)
    slope = sharpness / width
    weights, *_ = np.linalg.lstsq(sigmoid_features(x, centers, slope), y, rcond=None)
    return SigmoidSum(centers, slope, weights)


def approximation_errors(
    f: Callable[[np.ndarray], np.ndarray],
    n_units: list[int],
    *,
    interval: tuple[float, float] = (-np.pi, np.pi),
    n_points: int = 400,
    sharpness: float = 2.0,
) -> np.ndarray:
    """Largest absolute error max |f - fit| on the fitting grid, for each number of sigmoids in n_units."""
    x = np.linspace(*interval, n_points)
    y = f(x)
    return np.array([np.max(np.abs(fit_sigmoid_sum(x, y, n, sharpness=sharpness)(x) - y)) for n in n_units])


def bump(x: np.ndarray) -> np.ndarray:
    """Smooth bump exp(-x^2), a second target besides sin."""
    return np.exp(-np.asarray(x, dtype=float) ** 2)


# Activations for the ridge sums. "square" is a polynomial: a sum of (w . x + b)^2 is itself a polynomial
# of degree 2, whatever N, so it cannot approximate anything else (Leshno et al. 1993).
RIDGE_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sigmoid": sigmoid, "relu": relu,
                                                                    "square": np.square}


@dataclass(frozen=True)
class RidgeSum:
    """F(x) = c + sum_i v_i phi(w_i . x + b_i) on points x (M, d): a one-hidden-layer network with N units."""

    directions: np.ndarray  # w_i (N, d)
    offsets: np.ndarray  # b_i (N,)
    weights: np.ndarray  # (v_1 .. v_N, c)
    activation: str

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Evaluate the network at the points (M, d)."""
        return ridge_features(points, self.directions, self.offsets, self.activation) @ self.weights


def ridge_features(points: np.ndarray, directions: np.ndarray, offsets: np.ndarray, activation: str) -> np.ndarray:
    """Hidden-layer outputs phi(w_i . x + b_i) for every point and unit, plus a constant column: (M, N + 1)."""
    hidden = RIDGE_ACTIVATIONS[activation](np.asarray(points, dtype=float) @ directions.T + offsets)
    return np.column_stack([hidden, np.ones(len(hidden))])


def fit_ridge_sum(points: np.ndarray, values: np.ndarray, n_units: int, *, activation: str = "sigmoid",
                  slope: float = 4.0, seed: int = 0) -> RidgeSum:
    """Least-squares output weights for N ridges with random directions through random points of the data's box.

    Unit i has a direction drawn uniformly on the unit sphere times `slope` and its step (phi's
    turning point) through a point drawn uniformly in the bounding box of `points`. The units come
    from one seeded stream, so a fit with more units keeps those of a fit with fewer."""
    points = np.asarray(points, dtype=float)
    if n_units < 1 or activation not in RIDGE_ACTIVATIONS:
        raise NnlabError(f"need n_units >= 1 and an activation of {', '.join(RIDGE_ACTIVATIONS)}; "
                         f"got {n_units}, {activation!r}")
    dim = points.shape[1]
    directions = np.random.default_rng([seed, 0]).normal(size=(n_units, dim))
    directions *= slope / np.linalg.norm(directions, axis=1, keepdims=True)
    lo, hi = points.min(axis=0), points.max(axis=0)
    through = lo + (hi - lo) * np.random.default_rng([seed, 1]).random((n_units, dim))
    offsets = -np.sum(directions * through, axis=1)
    weights, *_ = np.linalg.lstsq(ridge_features(points, directions, offsets, activation), values, rcond=None)
    return RidgeSum(directions, offsets, weights, activation)


def square_grid(n: int, box: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """The n x n grid of points (n^2, 2) on box^2, row by row."""
    axis = np.linspace(*box, n)
    xx, yy = np.meshgrid(axis, axis)
    return np.column_stack([xx.ravel(), yy.ravel()])


def waves(points: np.ndarray) -> np.ndarray:
    """sin(pi x) cos(pi y): a 2-D target with two hills and two valleys on [-1, 1]^2."""
    points = np.asarray(points, dtype=float)
    return np.sin(np.pi * points[:, 0]) * np.cos(np.pi * points[:, 1])


def ridge_errors(f: Callable[[np.ndarray], np.ndarray], n_units: list[int], *, activation: str = "sigmoid",
                 seed: int = 0) -> np.ndarray:
    """Largest |f - fit| on [-1, 1]^2 for each N in n_units: fitted on a 40 x 40 grid, measured on a 57 x 57 grid
    whose inner points are not the fitting points."""
    fit_on, measure_on = square_grid(40), square_grid(57)
    return np.array([np.max(np.abs(fit_ridge_sum(fit_on, f(fit_on), n, activation=activation, seed=seed)(measure_on)
                                   - f(measure_on))) for n in n_units])
