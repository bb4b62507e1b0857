"""The image data sets nnlab knows by name: what each is, where it is found, how it loads and downloads.

Adding a data set is one `DataSet` in `DATASETS`: `load_images`, `nnlab data list`, the `--data`
help of the tasks and the scoring classifier's cache read it. Where each comes from: docs/data.md.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from nnlab.data.download import download_mnist
from nnlab.data.images import (FASHION_MNIST_SYSTEM_DIR, FASHION_SPEC, MNIST_SPEC, IdxSpec, ImageData, candidates,
                               load_folder, load_mnist_5k, load_spec, load_synthetic, locate, mnist_5k_path)
from nnlab.errors import DataError


@dataclasses.dataclass(frozen=True)
class Where:
    """Where a load looks: the folder the user named (`explicit`) or the search folders, and the system's."""

    dirs: list[Path]
    explicit: bool = False
    system_dirs: Sequence[Path] = (FASHION_MNIST_SYSTEM_DIR,)  # installed by a package manager
    seed: int = 0  # generated data sets only
    synthetic_sizes: tuple[int, int] = (2000, 500)


@dataclasses.dataclass(frozen=True)
class DataSet:
    """One data set nnlab knows by name."""

    name: str
    summary: str  # what it is, in a few words
    load: Callable[[Where], ImageData]
    find: Callable[[Where], tuple[str, str]]  # (ready | missing | incomplete, where it is or how to get it)
    download: Callable[[Path], Path] | None = None  # into a folder; None: nothing to download


def _found_in_folders(spec: IdxSpec, *, system: bool) -> Callable[[Where], tuple[str, str]]:
    def find(where: Where) -> tuple[str, str]:
        folders = candidates(spec, where.dirs, explicit=False) + (list(where.system_dirs) if system else [])
        try:
            found = locate(spec, folders)
        except DataError as err:
            return "incomplete", str(err)
        return ("ready", str(found[1])) if found else ("missing", spec.how_to_get)
    return find


def _found_mnist_5k(where: Where) -> tuple[str, str]:
    try:
        return "ready", str(mnist_5k_path())
    except DataError as err:
        return "missing", str(err)


def _load_fashion(where: Where) -> ImageData:
    system = [] if where.explicit else list(where.system_dirs)
    return load_spec(FASHION_SPEC, where.dirs, explicit=where.explicit, extra=system)


DATASETS: dict[str, DataSet] = {entry.name: entry for entry in (
    DataSet("mnist-5k", "5,000 real MNIST digits that come with the install (4,000 train, 1,000 test)",
            load=lambda where: load_mnist_5k(), find=_found_mnist_5k),
    DataSet("mnist", "MNIST: 60,000 + 10,000 handwritten digits (LeCun et al.)",
            load=lambda where: load_spec(MNIST_SPEC, where.dirs, explicit=where.explicit),
            find=_found_in_folders(MNIST_SPEC, system=False),
            download=lambda folder: download_mnist(folder, progress=True)),
    DataSet("fashion-mnist", "Fashion-MNIST: 60,000 + 10,000 pictures of clothes in 10 classes (Zalando)",
            load=_load_fashion, find=_found_in_folders(FASHION_SPEC, system=True)),
    DataSet("synthetic", "seeded synthetic shapes, generated on demand (for tests and quick runs)",
            load=lambda where: load_synthetic(*where.synthetic_sizes, seed=where.seed),
            find=lambda where: ("ready", "generated on demand")),
)}


def dataset_names() -> tuple[str, ...]:
    return tuple(DATASETS)


def describe_sources(default: str = "mnist-5k") -> str:
    """The `--data` choices for a help text: every named data set, then a folder."""
    return ", ".join(f"{name} (default)" if name == default else name for name in DATASETS) + " or a folder"


def load_images(
    source: str,
    *,
    data_dir: str | os.PathLike | None = None,
    search_dirs: Iterable[str | os.PathLike | None] = (),
    seed: int = 0,
    synthetic_sizes: tuple[int, int] = (2000, 500),
) -> ImageData:
    """Load an image data set by name (`DATASETS`) or from a folder of IDX files or a Keras .npz.

    `data_dir` is a folder the user named; otherwise the data set is looked for in `search_dirs`
    in order (the CLI passes --data-dir, $NNLAB_DATA and the user cache). `seed` draws generated
    data sets only: the mnist-5k split is fixed.
    """
    if source in DATASETS:
        dirs = [Path(d) for d in ([data_dir] if data_dir else search_dirs) if d]
        return DATASETS[source].load(Where(dirs, explicit=data_dir is not None, seed=seed,
                                           synthetic_sizes=synthetic_sizes))
    path = Path(source)
    if path.is_dir() or (path.suffix == ".npz" and path.is_file()):
        return load_folder(path)
    raise DataError(f"unknown data set {source!r}: choose one of {', '.join(DATASETS)}, "
                    "or give a folder with the four IDX files")


def list_datasets(search_dirs: Iterable[str | os.PathLike | None] = (), *,
                  system_dirs: Sequence[str | os.PathLike] = (FASHION_MNIST_SYSTEM_DIR,)) -> list[tuple[str, str, str]]:
    """For `nnlab data list`: (name, status, location or how to get it) of each named data set.

    Looks for files only; `nnlab.data.images.check_folder` reads and validates them.
    """
    where = Where([Path(d) for d in search_dirs if d], system_dirs=[Path(d) for d in system_dirs])
    return [(entry.name, *entry.find(where)) for entry in DATASETS.values()]


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """The user cache for downloads, `$XDG_CACHE_HOME/nnlab` or `~/.cache/nnlab`.

    The environment is passed in (the CLI passes `os.environ`) so the library never reads
    it; a relative XDG_CACHE_HOME is ignored, as the XDG spec says.
    """
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "nnlab"
    home = env.get("HOME") or env.get("USERPROFILE")
    return (Path(home) if home else Path.home()) / ".cache" / "nnlab"
