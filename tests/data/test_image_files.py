"""User images for `predict`: pictures made MNIST-like, .npy arrays checked, one-line errors."""

import numpy as np
import pytest
from PIL import Image

from nnlab.data.image_files import read_image_file, read_npy, read_user_images
from nnlab.errors import DataError


def digit_one(size: int = 64) -> np.ndarray:
    """A dark vertical stroke on a light background, off centre: (size, size) uint8."""
    x = np.full((size, size), 230, np.uint8)
    x[size // 8 : size // 2, size // 5 : size // 5 + size // 10] = 20
    return x


def test_rgb_dark_on_light_is_inverted_cropped_and_centred(tmp_path):
    path = tmp_path / "digit.png"
    Image.fromarray(np.stack([digit_one()] * 3, axis=-1)).save(path)
    result = read_user_images(path)
    assert result.images.shape == (1, 28, 28) and result.images.dtype == np.float32
    assert result.names == ("digit.png",)
    (note,) = result.notes
    assert note.startswith("digit.png: 64x64 RGB -> grey, inverted (dark digit on light background)")
    assert "resized to 20x20 in a 28x28 frame" in note
    x = result.images[0]
    assert x.min() == 0.0 and x.max() == pytest.approx(1.0, abs=0.05)
    assert x[:2].max() < 0.05 and x[-2:].max() < 0.05  # MNIST-like: dark border around the digit
    rows, cols = np.indices(x.shape)
    assert abs((rows * x).sum() / x.sum() - 13.5) < 1.5 and abs((cols * x).sum() / x.sum() - 13.5) < 1.5
    assert np.ptp(np.nonzero(x > 0.5)[0]) >= 17  # the long side fills the 20 px box


def test_mnist_like_28x28_grey_is_kept_as_is(tmp_path):
    x = np.zeros((28, 28), np.uint8)
    x[5:20, 12:15] = 255
    Image.fromarray(x).save(tmp_path / "one.png")
    image, note = read_image_file(tmp_path / "one.png")
    np.testing.assert_allclose(image, x / 255.0, atol=1e-6)
    assert note == "one.png: 28x28 L"


def test_transparent_png_with_black_ink(tmp_path):
    rgba = np.zeros((40, 30, 4), np.uint8)  # transparent everywhere ...
    rgba[10:30, 14:17] = (0, 0, 0, 255)  # ... but a black stroke
    Image.fromarray(rgba).save(tmp_path / "drawn.png")
    image, note = read_image_file(tmp_path / "drawn.png")
    assert "transparency flattened" in note and "inverted" in note
    assert image.max() > 0.9 and image[0].max() < 0.05


def test_jpeg_and_a_folder(tmp_path):
    Image.fromarray(digit_one(50)).save(tmp_path / "b.jpg", quality=90)
    Image.fromarray(255 - digit_one(28)).save(tmp_path / "a.png")
    np.save(tmp_path / "c.npy", np.zeros((2, 28, 28), np.uint8))
    (tmp_path / "readme.txt").write_text("ignored")
    result = read_user_images(tmp_path)
    assert result.images.shape == (4, 28, 28)
    assert result.names == ("a.png", "b.jpg", "c.npy[0]", "c.npy[1]")
    assert len(result.notes) == 3 and result.notes[1].startswith("b.jpg: 50x50 L, inverted")


@pytest.mark.parametrize("shape", [(5, 28, 28), (28, 28), (5, 784), (784,), (5, 1, 28, 28)])
def test_npy_shapes(tmp_path, shape):
    array = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    np.save(tmp_path / "x.npy", array)
    result = read_npy(tmp_path / "x.npy")
    n = shape[0] if len(shape) in (3, 4) or shape == (5, 784) else 1
    assert result.images.shape == (n, 28, 28) and result.images.dtype == np.float32
    np.testing.assert_allclose(result.images.reshape(-1), array.reshape(-1) / 255.0, rtol=1e-6)
    assert any("scaled to 0..1" in note for note in result.notes)


def test_npy_in_unit_range_is_not_rescaled(tmp_path):
    array = np.random.default_rng(1).random((3, 28, 28)) * 0.3  # dark border too: light on dark
    np.save(tmp_path / "x.npy", array)
    result = read_user_images(tmp_path / "x.npy")
    np.testing.assert_allclose(result.images, array, rtol=1e-6)
    assert result.notes == ("x.npy: 3 image(s) of shape (3, 28, 28) float64",)
    np.save(tmp_path / "light.npy", 1.0 - array)
    assert "look dark-on-light" in read_npy(tmp_path / "light.npy").notes[-1]


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.full((2, 28, 28), np.nan), "1568 NaN or infinite value(s), the first in image 0"),
        (
            np.where(np.arange(2 * 784).reshape(2, 28, 28) == 800, np.inf, 0.0),
            "1 NaN or infinite value(s), the first in image 1",
        ),
        (np.zeros((2, 32, 32)), "shape (2, 32, 32) is not (N, 28, 28)"),
        (np.zeros((0, 28, 28)), "holds no images"),
        (np.full((1, 28, 28), -1.0), "outside 0..1 and 0..255"),
        (np.array(["a"]), "not numeric"),
    ],
    ids=["nan", "inf", "shape", "empty", "negative", "strings"],
)
def test_bad_npy_is_one_line(tmp_path, array, words):
    path = tmp_path / "images.npy"
    np.save(path, array)
    with pytest.raises(DataError) as err:
        read_user_images(path)
    message = str(err.value)
    assert "\n" not in message and "images.npy" in message and words in message


def test_unreadable_inputs(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "data.csv").write_text("1,2")
    for name, words in [
        ("objects.npy", "cannot read as .npy"),
        ("broken.png", "cannot read as an image"),
        ("data.csv", "unsupported file type '.csv'"),
        ("absent.png", "no such file"),
    ]:
        with pytest.raises(DataError) as err:
            read_user_images(tmp_path / name)
        assert "\n" not in str(err.value) and name in str(err.value) and words in str(err.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images in this folder"):
        read_user_images(empty)
