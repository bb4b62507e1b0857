"""Image grids: titled matplotlib panels and the NumPy tiler, read back as PNG."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from nnlab.plots.images import image_grid, tile_images, write_image_grid_png


def test_image_grid_writes_a_png_with_titles(tmp_path):
    images = np.random.default_rng(0).random((5, 28, 28))
    titles = [f"true {i} / pred {i + 1} (0.9{i})" for i in range(5)]
    path = image_grid(images, tmp_path / "grid.png", n_cols=3, titles=titles, suptitle="wrong")
    assert path == tmp_path / "grid.png"
    assert imread(path).ndim == 3
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_image_grid_normalises_each_panel_and_takes_constant_images(tmp_path):
    images = np.stack([np.zeros((7, 5)), np.full((7, 5), 3.0), np.arange(35.0).reshape(7, 5)])
    path = image_grid(images, tmp_path / "maps.png", normalise_each=True, cmap="viridis")
    assert imread(path).shape[0] > 0


def test_image_grid_rejects_mismatched_titles(tmp_path):
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        image_grid(np.zeros((3, 4, 4)), tmp_path / "x.png", titles=["a", "b"])


def test_numpy_grid_has_the_expected_size_and_pixels(tmp_path):
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    images[0] = 255
    path = write_image_grid_png(images, tmp_path / "samples.png", n_cols=4, padding=2)
    grid = imread(path)  # (H, W, 4) RGBA in 0..1
    scale = 5  # 4 * 30 + 2 = 122 cells wide: 5 pixels a cell make the long side 610 >= 600
    assert grid.shape[:2] == (scale * (3 * 30 + 2), scale * (4 * 30 + 2))
    assert grid[scale * 2, scale * 2, 0] == 1.0 and grid[scale * 2, scale * (2 + 30), 0] == 0.0  # white, then black
    assert grid[scale * 2 - 1, scale * 2 - 1, 0] == pytest.approx(0.5, abs=0.01)  # grey padding up to the image
    assert (grid[:scale, :scale] == grid[0, 0]).all()  # each cell one square of whole pixels


def test_numpy_grid_maps_a_float_range(tmp_path):
    images = np.array([[[-1.0, 0.0, 1.0, 3.0]]])  # tanh output, one value out of range
    path = write_image_grid_png(images, tmp_path / "g.png", n_cols=1, padding=0, value_range=(-1.0, 1.0))
    np.testing.assert_allclose(imread(path)[0, ::150, 0], [0.0, 0.5, 1.0, 1.0], atol=0.01)  # 150 px a value


def test_tile_images_fills_a_partial_last_row_with_padding():
    grid = tile_images(np.ones((3, 2, 2)), n_cols=2, padding=1, pad_value=0.0)
    assert grid.shape == (2 * 3 + 1, 2 * 3 + 1)
    assert grid.sum() == 3 * 4


def test_labelled_rows_draw_every_row_under_one_title(tmp_path):
    from PIL import Image

    from nnlab.plots.images import labelled_rows

    rows = [np.zeros((8, 28, 28)), np.ones((8, 28, 28)), np.full((3, 28, 28), 0.5)]  # a short last row is fine
    path = labelled_rows(rows, ["clean", "10x10\nhole", "restored"], tmp_path / "rows.png", title="in-painting")
    with Image.open(path) as image:
        assert max(image.size) >= 600 and image.size[0] > image.size[1]  # rows of 8: wider than tall
    with pytest.raises(ValueError, match="2 rows of images for 3 labels"):
        labelled_rows(rows[:2], ["a", "b", "c"], tmp_path / "x.png", title="x")
