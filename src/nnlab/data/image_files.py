"""Read user images for `nnlab predict`: PNG/JPEG files, folders of them, or .npy arrays, made
MNIST-like: float (N, 28, 28) in 0..1, light digit on a dark background, centred as in MNIST.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlab.errors import DataError, one_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
# MNIST fitted each digit into a 20x20 box and centred it by its centre of mass in 28x28
# (LeCun et al., the MNIST page); Fashion-MNIST items fill the frame, so pass box=28 there.
MNIST_BOX = 20
# Refusal limits for hostile files (docs/refusals.md); raise them here for larger honest inputs.
# 4096x4096 (16.8 Mpx) takes a full 12 Mpx phone photo (4032x3024) or a 4K screenshot of a digit
# that needs only 28x28, keeps the grey float32 copy at 64 MiB, and sits well under Pillow's
# 89 Mpx DecompressionBombWarning: it is checked on the header, before any pixel is decoded.
MAX_PIXELS = 4096 * 4096
# 256 MiB of array data: all 70,000 MNIST images as float32 (220 MiB) or the 10,000 test images
# as float64 (63 MiB); the float32 working copy stays under 1 GiB even for uint8 input.
MAX_NPY_BYTES = 256 * 2**20
# What Pillow may decode: the formats of IMAGE_SUFFIXES, so no other plugin (EPS runs Ghostscript)
# ever sees a user's file, whatever its name.
PICTURE_FORMATS = ("PNG", "JPEG", "BMP", "DIB", "GIF", "TIFF", "WEBP")


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
    image, steps = like_mnist(grey, size=size, box=box, refit=grey.shape != (size, size))
    return image, f"{path.name}: " + ", ".join([described, *steps])


def like_mnist(grey: np.ndarray, *, size: int = 28, box: int = MNIST_BOX, refit: bool = True
               ) -> tuple[np.ndarray, list[str]]:
    """A grey picture (H, W) in 0..1 made MNIST-like (light ink on black, contrast stretched and, with
    `refit`, cropped to the ink and fitted into a box x box square centred by mass in size x size), and
    the steps taken, in words. A drawing is refitted even at 28x28: MNIST's digits fill 20x20 of it."""
    steps = []
    if _is_dark_on_light(grey):
        grey = 1.0 - grey
        steps.append("inverted (dark digit on light background)")
    grey, stretched = _stretch(grey)
    if stretched:
        steps.append("contrast stretched")
    if refit:
        grey = _fit_like_mnist(grey, size=size, box=box)
        steps.append(f"cropped to the ink and resized to {box}x{box} in a {size}x{size} frame")
    return grey.astype(np.float32), steps


def _load_grey(path: Path) -> tuple[np.ndarray, str]:
    """Decode with Pillow into grey float32 0..1 (luma; transparency over a contrasting background).

    The size is checked from the header before any pixel is decoded (`Image.open` is lazy), and
    pixels stay uint8 or float32, so a small file that claims a huge picture costs no memory.
    """
    try:
        from PIL import Image
    except ImportError:
        raise DataError(f"{path}: reading pictures needs Pillow: pip install pillow") from None
    shrink = f"shrink it first (a digit needs only 28x28), or raise {__name__}.MAX_PIXELS"
    try:
        with warnings.catch_warnings():  # Pillow's own warnings would be a second line on stderr
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.init()
            with Image.open(path, formats=[f for f in PICTURE_FORMATS if f in Image.OPEN]) as im:
                mode, (w, h) = im.mode, im.size
                if w * h > MAX_PIXELS:
                    raise DataError(f"{path}: {w}x{h} is {w * h / 1e6:.1f} Mpx, over the "
                                    f"{MAX_PIXELS / 1e6:.1f} Mpx limit for a picture to classify; {shrink}")
                grey, alpha = _decode_grey(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DataError(f"{path}: too many pixels ({one_line(err)}); {shrink}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise DataError(f"{path}: cannot read as an image: {one_line(err)}") from None
    bad = np.count_nonzero(~np.isfinite(grey))
    if bad:
        raise DataError(f"{path}: {bad} NaN or infinite pixel(s); save the picture with finite values")
    described = f"{w}x{h} {mode}" + (" -> grey" if mode not in ("L", "1") else "")
    if alpha is not None and alpha.min() < 1.0:
        grey = _flatten_alpha(grey, alpha)
        described += " (transparency flattened)"
    return grey, described


def _decode_grey(im) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey float32 in 0..1 (NaN kept, for the caller to refuse) and alpha 0..1 or None."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(im, dtype=np.float32)
        finite = values[np.isfinite(values)]
        top = max(float(finite.max()) if finite.size else 0.0, 1.0 if im.mode == "F" else 255.0)
        return values / np.float32(top), None
    if im.mode in ("L", "1"):
        return np.asarray(im.convert("L"), dtype=np.float32) / np.float32(255.0), None
    rgba = np.asarray(im.convert("RGBA"))  # uint8, 4 bytes a pixel
    grey = np.zeros(rgba.shape[:2], np.float32)
    for channel, weight in enumerate((0.299, 0.587, 0.114)):  # ITU-R 601 luma
        grey += rgba[..., channel] * np.float32(weight / 255.0)
    alpha = rgba[..., 3]
    return grey, (alpha / np.float32(255.0) if alpha.min() < 255 else None)


def printable(text: str) -> str:
    """`text` with control characters escaped (a newline as \\n), so a file name shows on one line."""
    return text if text.isprintable() else "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


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
    square = np.zeros((side, side), np.float32)
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
    from the same pipeline as the training data. The header is checked (dtype, shape, size
    against the file and MAX_NPY_BYTES) before any data is read, and nothing is unpickled.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            dtype, shape, fortran = read_npy_header(f, path, stored_bytes=os.fstat(f.fileno()).st_size,
                                                    max_bytes=MAX_NPY_BYTES, limit_name=f"{__name__}.MAX_NPY_BYTES")
            _image_shape(shape, path, size=size)
            array = read_npy_data(f, path, dtype, shape, fortran)
    except OSError as err:
        raise DataError(f"{path}: cannot read as .npy: {one_line(err)}") from None
    images = _as_images(array, path, size=size)
    notes = [f"{path.name}: {len(images)} image(s) of shape {array.shape} {array.dtype}"]
    top = float(images.max())
    if top > 1.0:
        images /= np.float32(255.0)
        notes.append(f"{path.name}: values 0..{top:g} scaled to 0..1")
    n_dark = sum(_is_dark_on_light(x) for x in images)
    if n_dark:
        notes.append(
            f"{path.name}: {n_dark} image(s) look dark-on-light (MNIST is light on dark); not inverted"
        )
    names = (path.name,) if len(images) == 1 else tuple(f"{path.name}[{i}]" for i in range(len(images)))
    return UserImages(images, names, tuple(notes))


def read_npy_header(
    fp, name: str | os.PathLike, *, stored_bytes: int, max_bytes: int, limit_name: str
) -> tuple[np.dtype, tuple[int, ...], bool]:
    """Read and check a .npy header from `fp`, leaving it at the data; return (dtype, shape, fortran_order).

    Refused in one line before any data is read: a bad magic or header, a dtype that is not
    real numbers (objects would need unpickling), a negative dimension, data over `max_bytes`
    (`limit_name` says where to raise it), and a header that does not fit the `stored_bytes`
    of the file or zip member (truncated, or trailing bytes).
    """
    from numpy.lib import format as npy_format

    try:
        with warnings.catch_warnings():  # numpy warns about Python 2 headers: a second line on stderr
            warnings.simplefilter("ignore")
            version = npy_format.read_magic(fp)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"format version {version[0]}.{version[1]} is not supported (1.0 and 2.0 are)")
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, fortran, dtype = read_header(fp)
    except (ValueError, TypeError, OverflowError, EOFError, SyntaxError, RecursionError) as err:
        raise DataError(f"{name}: cannot read as .npy: {one_line(err)}") from None
    if dtype.kind not in "biuf":
        raise DataError(f"{name}: cannot read as .npy: dtype {dtype} is not numeric; save integers or real floats")
    if any(d < 0 for d in shape):
        raise DataError(f"{name}: cannot read as .npy: negative dimension in shape {shape}")
    data_bytes = dtype.itemsize * math.prod(shape)
    declared = f"header declares shape {shape} {dtype} ({data_bytes} bytes of data)"
    if data_bytes > max_bytes:
        raise DataError(f"{name}: {declared}, over the {max_bytes / 2**20:g} MiB limit; "
                        f"split it into smaller files, or raise {limit_name}")
    stored = stored_bytes - fp.tell()
    if stored != data_bytes:
        how = "truncated" if stored < data_bytes else "trailing bytes"
        raise DataError(f"{name}: {how}: {declared} but the file holds {stored} bytes of data")
    return dtype, tuple(shape), fortran


def read_npy_data(fp, name: str | os.PathLike, dtype: np.dtype, shape: tuple[int, ...], fortran: bool) -> np.ndarray:
    """Read the data a checked header declared, in chunks: memory follows the bytes really there,
    whatever a zip entry claims; a short stream raises one DataError line."""
    size = dtype.itemsize * math.prod(shape)
    data = bytearray()
    while len(data) < size and (chunk := fp.read(min(1 << 20, size - len(data)))):
        data += chunk
    if len(data) != size:
        raise DataError(f"{name}: truncated: header declares {size} bytes of data, only {len(data)} could be read")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")  # writable


def _image_shape(shape: tuple[int, ...], path: Path, *, size: int) -> tuple[int, int, int]:
    """The (N, size, size) that `shape` holds, or one DataError line saying which shapes are allowed."""
    if shape in ((size, size), (size * size,)):
        return (1, size, size)
    if len(shape) in (2, 3, 4) and shape[1:] in ((size * size,), (size, size), (1, size, size)):
        return (shape[0], size, size)
    allowed = f"(N, {size}, {size}), ({size}, {size}), (N, {size * size}) or (N, 1, {size}, {size})"
    raise DataError(f"{path}: shape {shape} is not {allowed}")


def _as_images(array: np.ndarray, path: Path, *, size: int) -> np.ndarray:
    """Reshape to (N, size, size) float32 and check the values, or raise one DataError line."""
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: dtype {array.dtype} is not numeric")
    shape = _image_shape(array.shape, path, size=size)
    images = array.reshape(shape)
    if len(images) == 0:
        raise DataError(f"{path}: holds no images")
    if images.dtype.kind == "f":
        bad = ~np.isfinite(images)
        if bad.any():
            first = int(np.argmax(bad.reshape(len(images), -1).any(axis=1)))
            raise DataError(f"{path}: {int(bad.sum())} NaN or infinite value(s), the first in image {first}")
    low, high = images.min(), images.max()
    if low < 0 or high > 255:
        raise DataError(f"{path}: values {float(low):g}..{float(high):g} are outside 0..1 and 0..255")
    return images.astype(np.float32)
