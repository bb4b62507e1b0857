"""Universal approximation in 1-D: a sum of N sigmoids fits a smooth function ever better as N grows.

Source: lecture "Introduction to Deep Learning with PyTorch", universal approximation theorem
(one hidden layer of sigmoids); Cybenko (1989). Here the hidden layer is fixed (sigmoids placed
on a grid) and the output layer is solved exactly by least squares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnlab.errors import NnlabError
from nnlab.foundations.activations import sigmoid


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
