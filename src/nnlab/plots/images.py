"""Image grids: filters, feature maps, activation maximisation, misclassified test images, GAN samples.

`image_grid` draws titled panels with matplotlib; `write_image_grid_png` tiles the images
with NumPy alone, for quick per-epoch sample sheets.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nnlab.files import atomic_path
from nnlab.plots.figures import MIN_LONG_SIDE_PX, new_figure, save_figure


def image_grid(
    images: np.ndarray,
    path: str | os.PathLike,
    *,
    n_cols: int | None = None,
    titles: Sequence[str] | None = None,
    cmap: str = "gray",
    normalise_each: bool = False,
    suptitle: str | None = None,
    value_range: tuple[float, float] | None = None,
    signed: bool = False,
) -> Path:
    """Draw images (N, H, W) as a grid of panels, each with an optional title, and save a PNG.

    By default all panels share one grey scale, so brightness compares across panels (filters
    of one layer, samples of one model); `normalise_each` stretches each panel to its own
    range instead, which feature maps with very different magnitudes need; `value_range` fixes
    the scale (images in 0..1 shown as they are, not stretched to their own extremes). `signed`
    (weights): a red-white-blue scale symmetric about 0, so the sign reads at a glance.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected images of shape (N, H, W) with N >= 1, got {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images")
    n_cols = n_cols or math.ceil(math.sqrt(len(images)))
    n_rows = math.ceil(len(images) / n_cols)
    panel = 1.3 if titles is None else 1.6  # inches; room for a title line
    fig, axes = new_figure(n_rows, n_cols, size=(panel * n_cols, panel * n_rows + (0.4 if suptitle else 0)),
                           squeeze=False)
    vmin, vmax = value_range or (float(images.min()), float(images.max()))
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= len(images):
            continue
        lo, hi = (images[i].min(), images[i].max()) if normalise_each else (vmin, vmax)
        if signed:
            lo, hi = -max(abs(lo), abs(hi)), max(abs(lo), abs(hi))
        ax.imshow(images[i], cmap="RdBu_r" if signed else cmap, vmin=lo, vmax=hi if hi > lo else lo + 1,
                  interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=7)
    if suptitle:
        fig.suptitle(suptitle)
    return save_figure(fig, path)


def write_image_grid_png(
    images: np.ndarray,
    path: str | os.PathLike,
    *,
    n_cols: int,
    padding: int = 2,
    value_range: tuple[float, float] | None = None,
    pad_value: float = 0.5,
) -> Path:
    """Tile images (N, H, W) into one grey PNG of (rows * (H + p) + p) x (n_cols * (W + p) + p) cells.

    uint8 images are read as 0..255; float images as `value_range` (default 0..1, e.g.
    (-1, 1) for a tanh generator), clipped. The padding is mid grey, so it shows on both
    black and white backgrounds. Each cell is drawn as a square of whole pixels, as many as
    make the long side at least MIN_LONG_SIDE_PX (a sheet of 28x28 images stays sharp).
    """
    grid = tile_images(_to_unit(images, value_range), n_cols=n_cols, padding=padding, pad_value=pad_value)
    scale = math.ceil(MIN_LONG_SIDE_PX / max(grid.shape))
    grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    from matplotlib.image import imsave

    path = Path(path)
    with atomic_path(path) as tmp:
        imsave(tmp, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return path


def tile_images(images: np.ndarray, *, n_cols: int, padding: int = 2, pad_value: float = 0.5) -> np.ndarray:
    """Images (N, H, W) laid out row by row on a (rows * (H + p) + p, n_cols * (W + p) + p) canvas."""
    n, h, w = images.shape
    n_cols = max(1, min(n_cols, n))
    n_rows = math.ceil(n / n_cols)
    canvas = np.full((n_rows * (h + padding) + padding, n_cols * (w + padding) + padding), pad_value,
                     dtype=np.float32)
    for i, image in enumerate(images):
        top = padding + (i // n_cols) * (h + padding)
        left = padding + (i % n_cols) * (w + padding)
        canvas[top:top + h, left:left + w] = image
    return canvas


def _to_unit(images: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """Images as float32 in 0..1: uint8 divided by 255, floats mapped from `value_range` and clipped."""
    images = np.asarray(images)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected images of shape (N, H, W) with N >= 1, got {images.shape}")
    if images.dtype == np.uint8 and value_range is None:
        return images.astype(np.float32) / 255.0
    lo, hi = value_range or (0.0, 1.0)
    return np.clip((images.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)


def labelled_rows(rows: Sequence[np.ndarray], labels: Sequence[str], path: str | os.PathLike, *, title: str) -> Path:
    """Rows of images (each (k, H, W) in 0..1, one grey scale) with a label left of each row and a title: a
    picture that says what it shows without the terminal (generated against nearest, clean against restored)."""
    if len(rows) != len(labels) or not rows:
        raise ValueError(f"got {len(rows)} rows of images for {len(labels)} labels")
    n_cols = max(len(images) for images in rows)
    fig, axes = new_figure(len(rows), n_cols, size=(0.9 * n_cols + 1.8, 0.9 * len(rows) + 0.7), squeeze=False)
    for images, label, row_axes in zip(rows, labels, axes):
        for i, ax in enumerate(row_axes):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if i < len(images):
                ax.imshow(images[i], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        row_axes[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
