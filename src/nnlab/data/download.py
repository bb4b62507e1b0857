"""Downloading MNIST: four files from a list of mirrors, each checked against its SHA-256 before it is kept."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from nnlab.errors import DataError, one_line
from nnlab.files import atomic_path

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# SHA-256 of the canonical gzipped files (docs/data.md#mnist; the same sums appear in TensorFlow,
# Keras and several independent download scripts, with sizes 9912422/28881/1648877/4542 bytes).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def download_mnist(
    dest_dir: str | os.PathLike,
    *,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    sha256: Mapping[str, str] = MNIST_SHA256,
    opener: Callable | None = None,
    timeout_s: float = 30.0,
    progress: bool = False,
) -> Path:
    """Download the four MNIST files into `dest_dir`, checking each SHA-256, and return the folder.

    Each file goes to a temporary name and is renamed only once its hash matches, so an
    interrupted download never leaves a half file; files already present with the right
    hash are kept. A failing mirror passes to the next. `opener` defaults to
    `urllib.request.urlopen` (tests pass a fake); `sha256` maps file name -> hex digest.
    """
    dest_dir = Path(dest_dir)
    if opener is None:
        import urllib.request

        opener = urllib.request.urlopen
    for file_name, digest in sha256.items():
        target = dest_dir / file_name
        if target.is_file() and _sha256_of(target) == digest:
            continue
        _fetch(
            file_name, digest, target, mirrors=mirrors, opener=opener, timeout_s=timeout_s, progress=progress
        )
    return dest_dir


class _HashMismatch(Exception):
    """A mirror served bytes whose SHA-256 is not the expected one."""


def _fetch(
    file_name: str,
    digest: str,
    target: Path,
    *,
    mirrors: Sequence[str],
    opener: Callable,
    timeout_s: float,
    progress: bool,
) -> None:
    """Try each mirror in turn; raise one DataError line when none served the right bytes."""
    import http.client

    failures: list[str] = []
    mismatch = None
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + file_name
        try:
            _fetch_url(url, digest, target, opener=opener, timeout_s=timeout_s, progress=progress)
            return
        except _HashMismatch as err:
            mismatch = str(err)
        except (OSError, ValueError, http.client.HTTPException) as err:
            failures.append(f"{url}: {one_line(err)}")
    if mismatch:
        raise DataError(f"{file_name}: {mismatch}; nothing was saved")
    expected = ", ".join(MNIST_SHA256)
    raise DataError(
        f"cannot download {file_name} (offline? {failures[-1] if failures else 'no mirrors given'}); "
        f"copy {expected} into {target.parent}, or point NNLAB_DATA or --data-dir at a folder with them"
    )


def _fetch_url(
    url: str, digest: str, target: Path, *, opener: Callable, timeout_s: float, progress: bool
) -> None:
    """Stream `url` into a temporary file beside `target`, hashing as it goes; rename on a match."""
    with opener(url, timeout=timeout_s) as response, atomic_path(target) as tmp:
        sha = hashlib.sha256()
        bar = _progress_bar(response, target.name) if progress else None
        with open(tmp, "wb") as out:
            while chunk := response.read(1 << 16):
                sha.update(chunk)
                out.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        if bar is not None:
            bar.close()
        if sha.hexdigest() != digest:
            raise _HashMismatch(f"SHA-256 mismatch from {url}: got {sha.hexdigest()}, expected {digest}")


def _progress_bar(response: object, desc: str):
    from tqdm.auto import tqdm

    length = getattr(response, "headers", {}).get("Content-Length")
    return tqdm(total=int(length) if length else None, desc=desc, unit="B", unit_scale=True, disable=None)


def _sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()
