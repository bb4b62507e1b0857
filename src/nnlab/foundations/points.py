"""2-D point sets with two classes, for the playground (`nnlab serve`): the gates, XOR, circles, moons, a spiral.

Each set lies in [-1, 1]^2 before its noise, so that one picture frame fits them all. The gates
and XOR put their points around the four corners of the unit square (the lecture's inputs 0 and
1 drawn as -0.5 and 0.5) with the truth table's label; the others are the usual toy problems
that a single logistic unit cannot separate.
"""

from __future__ import annotations

import numpy as np

from nnlab.errors import NnlabError

GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0)}  # labels of (0,0), (0,1), (1,0), (1,1)
POINT_SETS = (*GATES, "circles", "moons", "spiral")
MAX_POINTS = 2000


def make_points(name: str, n: int = 200, *, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` points (n, 2) and their labels (n,) in {0, 1}; Gaussian noise of standard deviation `noise`."""
    if name not in POINT_SETS:
        raise NnlabError(f"unknown point set {name!r}; choose one of {', '.join(POINT_SETS)}")
    if not 4 <= n <= MAX_POINTS or not 0.0 <= noise <= 1.0:
        raise NnlabError(f"points: n must be 4 to {MAX_POINTS} and noise 0 to 1, got n={n}, noise={noise}")
    rng = np.random.default_rng(seed)
    half = n // 2
    if name in GATES:
        corner = rng.integers(0, 4, n)
        xy = np.stack([corner // 2, corner % 2], axis=1) - 0.5
        labels = np.asarray(GATES[name])[corner]
    elif name == "circles":
        radius = np.r_[rng.uniform(0.0, 0.4, half), rng.uniform(0.65, 0.95, n - half)]
        angle = rng.uniform(0.0, 2 * np.pi, n)
        xy = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        labels = np.r_[np.zeros(half), np.ones(n - half)]
    elif name == "moons":
        t = rng.uniform(0.0, np.pi, n)
        upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1) * 0.6 + [-0.3, -0.15]
        lower = np.stack([np.cos(t[half:]), -np.sin(t[half:])], axis=1) * 0.6 + [0.3, 0.15]
        xy, labels = np.r_[upper, lower], np.r_[np.zeros(half), np.ones(n - half)]
    else:  # two interleaved arms, each turning 1.5 times
        arm = np.r_[np.zeros(half), np.ones(n - half)]
        t = rng.uniform(0.05, 1.0, n)
        angle = 3 * np.pi * t + np.pi * arm
        xy, labels = 0.95 * t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), arm
    xy = xy + rng.normal(0.0, noise, xy.shape)
    return xy.astype(float), labels.astype(int)
