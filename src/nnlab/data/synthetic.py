"""Seeded synthetic 28x28 images of ten simple shapes: a learnable stand-in for MNIST in tests.

Each class is a stroke drawn from a distance function (ring, bars, diagonals, ...) with a
random centre, size, stroke width, brightness and pixel noise, light on dark like MNIST.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SYNTHETIC_CLASSES = (
    "ring", "vertical bar", "horizontal bar", "diagonal", "anti-diagonal",
    "plus", "cross", "square", "disc", "equals",
)  # fmt: skip


def make_shapes(
    n: int, *, seed: int | np.random.Generator = 0, size: int = 28, noise: float = 12.0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `n` images (n, size, size) uint8 and balanced labels (n,) int64 from `seed`.

    Classes are balanced (n // 10 each, the remainder spread over the first classes) and
    shuffled; the centre moves by +-3 px and the size by a third, so a classifier has to
    learn the shape rather than a pixel position. `noise` is the pixel noise sigma (0..255).
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SYNTHETIC_CLASSES)).astype(np.int64)
    centre = size / 2 - 0.5
    cy, cx = rng.uniform(centre - 3, centre + 3, (2, n))[..., None, None]  # (n, 1, 1)
    r = rng.uniform(0.2, 0.3, n)[:, None, None] * size  # half size of the shape
    t = rng.uniform(0.03, 0.07, n)[:, None, None] * size  # half stroke width
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    dy, dx = y - cy, x - cx  # (n, size, size)
    ink = np.zeros((n, size, size))
    for k, distance in enumerate(_DISTANCES):
        m = labels == k
        ink[m] = np.clip(t[m] + 0.5 - distance(dx[m], dy[m], r[m]), 0.0, 1.0)  # anti-aliased edge
    brightness = rng.uniform(0.6, 1.0, n)[:, None, None]
    images = 255.0 * brightness * ink + rng.normal(0.0, noise, ink.shape)
    return np.clip(images, 0, 255).round().astype(np.uint8), labels


def _segment(u: np.ndarray, v: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Distance to the segment from (-r, 0) to (r, 0) in the (u, v) frame."""
    return np.hypot(np.maximum(np.abs(u) - r, 0.0), v)


def _diag(dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (dx + dy) / np.sqrt(2), (dx - dy) / np.sqrt(2)


_Distance = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
_DISTANCES: tuple[_Distance, ...] = (
    lambda dx, dy, r: np.abs(np.hypot(dx, dy) - r),
    lambda dx, dy, r: _segment(dy, dx, r),
    lambda dx, dy, r: _segment(dx, dy, r),
    lambda dx, dy, r: _segment(*_diag(dx, dy), r),
    lambda dx, dy, r: _segment(*_diag(dx, -dy), r),
    lambda dx, dy, r: np.minimum(_segment(dx, dy, r), _segment(dy, dx, r)),
    lambda dx, dy, r: np.minimum(_segment(*_diag(dx, dy), r), _segment(*_diag(dx, -dy), r)),
    lambda dx, dy, r: np.abs(np.maximum(np.abs(dx), np.abs(dy)) - r),
    lambda dx, dy, r: np.maximum(np.hypot(dx, dy) - r, 0.0),
    lambda dx, dy, r: np.minimum(_segment(dx, dy - r / 2, r), _segment(dx, dy + r / 2, r)),
)
