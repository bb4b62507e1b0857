"""Atomic file writes: a reader never sees half a file, and a crash or a full disk never destroys the old one."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from nnlab.errors import ConfigError, WriteError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, else delete it.

    Writers (matplotlib, NumPy, plain text) write to the yielded path; the rename is atomic on
    POSIX and Windows, so `path` is either the old file or the new one. A failed write (no space
    left, no permission) becomes a one-line `WriteError`, the temporary file removed.
    """
    path = _checked_target(path)
    # a fresh name the writer creates itself, so the file gets the usual permissions (umask), not 0600
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        raise _cannot_write(path, error) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically and return the path.

    Libraries that write through C++ streams (torch.save, safetensors) turn a full disk into
    vague RuntimeErrors; serialising to bytes first and writing them here gives the plain OSError.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` atomically and return the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_stream(path: str | os.PathLike) -> Iterator[GuardedFile]:
    """Yield a binary file beside `path` for a streaming writer (h5py); rename it over `path` on success.

    The writer never sees a failed write (see `GuardedFile`); the first failure is raised here as
    a `WriteError` when the block ends, or earlier by `GuardedFile.check()`, and the file is deleted.
    """
    with atomic_path(path) as tmp:
        stream = GuardedFile(tmp, target=Path(path))
        try:
            yield stream
        finally:
            stream.close()
        stream.check()


class GuardedFile(io.RawIOBase):
    """A read-write binary file that remembers its first failed write and drops the writes after it.

    HDF5 cannot recover from a failed write: it reports it again on every later call and then
    crashes the process when the file is closed (a full disk gave a segmentation fault). Behind
    this file the library sees success, closes cleanly, and the caller raises the one error.
    """

    def __init__(self, path: Path, *, target: Path):
        super().__init__()
        self._file = open(path, "w+b", buffering=0)  # noqa: SIM115 - closed by close()
        self.target = target
        self.error: OSError | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._file.readinto(buffer)

    def write(self, data) -> int:
        if self.error is None:
            try:
                return self._file.write(data)
            except OSError as error:
                self.error = error
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def truncate(self, size: int | None = None) -> int:
        if self.error is None:
            try:
                return self._file.truncate(size)
            except OSError as error:
                self.error = error
        return self.tell() if size is None else size

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
        super().close()

    def check(self) -> None:
        """Raise the first failed write as a one-line `WriteError` naming the target."""
        if self.error is not None:
            raise _cannot_write(self.target, self.error)


def _checked_target(path: str | os.PathLike) -> Path:
    """The output path, refused when the rename would replace a folder, a device or a pipe."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder (give a file name)")
    if path.exists() and not path.is_file():  # the rename would replace a device or pipe (as root: /dev/null)
        raise ConfigError(f"cannot write {path}: it is a device, pipe or socket, not a file (give a file name)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WriteError(f"cannot write {path}: {path.parent} is a file, not a folder") from None
    except OSError as error:
        raise _cannot_write(path, error, kept="") from None
    return path


def _cannot_write(path: Path, error: OSError, *, kept: str = "; the previous file, if any, is unchanged") -> WriteError:
    """No permission, no space left, a read-only disk: the user's to mend, said in one line."""
    reason = error.strerror or (str(error).splitlines() or [type(error).__name__])[0]
    return WriteError(f"cannot write {path}: {reason}{kept}")


def require_space(path: str | os.PathLike, n_bytes: float, *, request: str) -> None:
    """Refuse, in one line, a request whose output would not fit in the free space where `path` goes.

    Checked before anything is computed: `sample -n 1000000000000` would otherwise generate for
    days and then fail on a full disk. `n_bytes` is the uncompressed size, an upper bound.
    """
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if n_bytes > free:
        raise ConfigError(f"{request}: about {_size(n_bytes)} to write to {path}, but its disk has "
                          f"{_size(free)} free")


def _size(n_bytes: float) -> str:
    """Bytes for a person to read: 4.03 PB."""
    units = ("bytes", "KB", "MB", "GB", "TB", "PB")
    power = 0
    while n_bytes >= 1000 and power < len(units) - 1:
        n_bytes, power = n_bytes / 1000, power + 1
    return f"{n_bytes:.3g} {units[power]}"
