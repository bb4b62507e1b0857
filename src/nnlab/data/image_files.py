"""Read user images for `nnlab predict`: PNG/JPEG files, folders of them, or .npy arrays, made
MNIST-like: float (N, 28, 28) in 0..1, light digit on a dark background, centred as in MNIST.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlab.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# MNIST fitted each digit into a 20x20 box and centred it by its centre of mass in 28x28
# (LeCun et al., the MNIST page); Fashion-MNIST items fill the frame, so pass box=28 there.
MNIST_BOX = 20


@dataclass(frozen=True)
class UserImages:
    """Images ready for a classifier, with one name per image and one note per input file."""

    images: np.ndarray  # (N, size, size) float32 in 0..1, 0 = background
    names: tuple[str, ...]  # "digit.png", "images.npy[3]"
    notes: tuple[str, ...]  # what was done to each file, one line each


def read_user_images(path: str | os.PathLike, *, size: int = 28, box: int = MNIST_BOX) -> UserImages:
    """Read an image file, a .npy array or a folder of them into MNIST-like float images.

    Picture files are turned grey, inverted when dark-on-light, cropped to the ink and fitted
    into a `box` x `box` square inside `size` x `size`, as MNIST was made; arrays are only
    checked and scaled to 0..1. Anything unreadable raises a one-line `DataError`.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, size=size, box=box)
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return read_npy(path, size=size)
    if suffix in IMAGE_SUFFIXES:
        image, note = read_image_file(path, size=size, box=box)
        return UserImages(image[None], (path.name,), (note,))
    raise DataError(
        f"{path}: unsupported file type {suffix!r}: give .npy or one of {', '.join(IMAGE_SUFFIXES)}"
    )


def _read_folder(folder: Path, *, size: int, box: int) -> UserImages:
    files = sorted(
        f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in (*IMAGE_SUFFIXES, ".npy")
    )
    if not files:
        raise DataError(f"{folder}: no images in this folder (expected .npy or {', '.join(IMAGE_SUFFIXES)})")
    parts = [read_user_images(f, size=size, box=box) for f in files]
    return UserImages(
        np.concatenate([p.images for p in parts]),
        tuple(n for p in parts for n in p.names),
        tuple(n for p in parts for n in p.notes),
    )


def read_image_file(
    path: str | os.PathLike, *, size: int = 28, box: int = MNIST_BOX
) -> tuple[np.ndarray, str]:
    """Read one picture as an MNIST-like (size, size) float32 image, and a note on what was done."""
    path = Path(path)
    grey, described = _load_grey(path)
    steps = [described]
    if _is_dark_on_light(grey):
        grey = 1.0 - grey
        steps.append("inverted (dark digit on light background)")
    grey, stretched = _stretch(grey)
    if stretched:
        steps.append("contrast stretched")
    if grey.shape != (size, size):
        grey = _fit_like_mnist(grey, size=size, box=box)
        steps.append(f"cropped to the ink and resized to {box}x{box} in a {size}x{size} frame")
    return grey.astype(np.float32), f"{path.name}: " + ", ".join(steps)


def _load_grey(path: Path) -> tuple[np.ndarray, str]:
    """Decode with Pillow into grey floats 0..1 (luma; transparency over a contrasting background)."""
    try:
        from PIL import Image
    except ImportError:
        raise DataError(f"{path}: reading pictures needs Pillow: pip install pillow") from None
    try:
        with Image.open(path) as im:
            mode, (w, h) = im.mode, im.size
            if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                values = np.asarray(im, dtype=np.float64)
                grey, alpha = values / max(values.max(), 1.0 if mode == "F" else 255.0), None
            else:
                rgba = np.asarray(im.convert("RGBA"), dtype=np.float64) / 255.0
                grey, alpha = rgba[..., :3] @ np.array([0.299, 0.587, 0.114]), rgba[..., 3]  # ITU-R 601 luma
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: cannot read as an image: {' '.join(str(err).split())}") from None
    described = f"{w}x{h} {mode}" + (" -> grey" if mode not in ("L", "1") else "")
    if alpha is not None and alpha.min() < 1.0:
        grey = _flatten_alpha(grey, alpha)
        described += " (transparency flattened)"
    return grey, described


def _flatten_alpha(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Put transparent pixels on white behind dark ink, on black behind light ink."""
    ink = float((grey * alpha).sum() / max(alpha.sum(), 1e-12))
    background = 1.0 if ink < 0.5 else 0.0
    return alpha * grey + (1.0 - alpha) * background


def _border(x: np.ndarray) -> np.ndarray:
    """The pixels of a frame about 1/14 of the image wide (2 px on 28x28)."""
    k = max(1, min(x.shape) // 14)
    return np.concatenate([x[:k].ravel(), x[-k:].ravel(), x[:, :k].ravel(), x[:, -k:].ravel()])


def _is_dark_on_light(x: np.ndarray) -> bool:
    """MNIST is light ink on a black background; a bright border means the opposite polarity."""
    return float(np.median(_border(x))) > 0.5


def _stretch(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Map the background (border median) to 0 and the brightest ink to 1, as in MNIST, if needed."""
    background, top = float(np.median(_border(x))), float(x.max())
    if (background <= 0.05 and top >= 0.9) or top - background < 0.05:
        return x, False  # already MNIST-like, or blank: leave it
    return np.clip((x - background) / (top - background), 0.0, 1.0), True


def _fit_like_mnist(x: np.ndarray, *, size: int, box: int) -> np.ndarray:
    """Crop to the ink, pad to a square (keeping the aspect), resize to box x box, centre by mass."""
    from PIL import Image

    rows, cols = np.nonzero(x > 0.25 * x.max()) if x.max() > 0 else ([], [])
    if len(rows):
        x = x[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.zeros((side, side))
    square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = x
    small = np.asarray(
        Image.fromarray(square.astype(np.float32)).resize((box, box), Image.Resampling.LANCZOS)
    )
    small = np.clip(small, 0.0, 1.0)
    canvas = np.zeros((size, size), dtype=np.float32)
    mass = small.sum()
    centre = (
        (np.indices(small.shape) * small).sum(axis=(1, 2)) / mass if mass > 0 else np.full(2, box / 2 - 0.5)
    )
    top, left = np.clip(np.round(size / 2 - 0.5 - centre).astype(int), 0, size - box)
    canvas[top : top + box, left : left + box] = small
    return canvas


def read_npy(path: str | os.PathLike, *, size: int = 28) -> UserImages:
    """Read a .npy of shape (N, 28, 28), (28, 28), (N, 784) or (N, 1, 28, 28) into 0..1 floats.

    Values in 0..255 are scaled to 0..1; NaN, infinities, negative values and other shapes
    raise a one-line `DataError`. Polarity is reported, not changed: arrays usually come
    from the same pipeline as the training data.
    """
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{path}: cannot read as .npy: {' '.join(str(err).split())}") from None
    images = _as_images(array, path, size=size)
    notes = [f"{path.name}: {len(images)} image(s) of shape {array.shape} {array.dtype}"]
    top = float(images.max())
    if top > 1.0:
        images = images / 255.0
        notes.append(f"{path.name}: values 0..{top:g} scaled to 0..1")
    n_dark = sum(_is_dark_on_light(x) for x in images)
    if n_dark:
        notes.append(
            f"{path.name}: {n_dark} image(s) look dark-on-light (MNIST is light on dark); not inverted"
        )
    names = (path.name,) if len(images) == 1 else tuple(f"{path.name}[{i}]" for i in range(len(images)))
    return UserImages(images.astype(np.float32), names, tuple(notes))


def _as_images(array: np.ndarray, path: Path, *, size: int) -> np.ndarray:
    """Reshape to (N, size, size) float64 and check the values, or raise one DataError line."""
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: dtype {array.dtype} is not numeric")
    shapes = {(size, size): (1, size, size), (size * size,): (1, size, size)}
    shape = shapes.get(array.shape)
    if (
        shape is None
        and array.ndim in (2, 3, 4)
        and array.shape[1:] in ((size * size,), (size, size), (1, size, size))
    ):
        shape = (array.shape[0], size, size)
    if shape is None:
        allowed = f"(N, {size}, {size}), ({size}, {size}), (N, {size * size}) or (N, 1, {size}, {size})"
        raise DataError(f"{path}: shape {array.shape} is not {allowed}")
    images = array.reshape(shape).astype(np.float64)
    if len(images) == 0:
        raise DataError(f"{path}: holds no images")
    bad = ~np.isfinite(images)
    if bad.any():
        first = int(np.argmax(bad.reshape(len(images), -1).any(axis=1)))
        raise DataError(f"{path}: {int(bad.sum())} NaN or infinite value(s), the first in image {first}")
    if images.min() < 0 or images.max() > 255:
        raise DataError(f"{path}: values {images.min():g}..{images.max():g} are outside 0..1 and 0..255")
    return images
