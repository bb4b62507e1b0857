"""Atomic file writes: a reader never sees half a file, and a crash never destroys the old one."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from nnlab.errors import ConfigError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, else delete it.

    Writers (torch.save, h5py, matplotlib, plain text) write to the yielded path; the
    rename is atomic on POSIX and Windows, so `path` is either the old file or the new one.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder (give a file name)")
    if path.exists() and not path.is_file():  # the rename would replace a device or pipe (as root: /dev/null)
        raise ConfigError(f"cannot write {path}: it is a device, pipe or socket, not a file (give a file name)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _cannot_write(path, error) from None
    # a fresh name the writer creates itself, so the file gets the usual permissions (umask), not 0600
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        raise _cannot_write(path, error) from None
    finally:
        tmp.unlink(missing_ok=True)


def _cannot_write(path: Path, error: OSError) -> ConfigError:
    """No permission, no space left, a read-only disk: the user's to mend, said in one line."""
    return ConfigError(f"cannot write {path}: {error.strerror or str(error).splitlines()[0]}")


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
