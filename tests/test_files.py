"""Atomic writes: the old file or the new one, never half of one; one-line errors for paths that cannot be written."""

from __future__ import annotations

import os
import stat

import pytest

from nnlab.errors import ConfigError, WriteError
from nnlab.files import atomic_path, atomic_stream, write_bytes_atomic, write_text_atomic
from tests.conftest import assert_one_line_error


def test_a_write_replaces_the_file_and_leaves_no_temporary_behind(tmp_path):
    path = write_text_atomic(tmp_path / "deep" / "er" / "a.txt", "old")  # folders made on the way
    write_text_atomic(path, "new")
    assert path.read_text() == "new" and sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_a_writer_that_fails_keeps_the_old_file(tmp_path):
    path = write_text_atomic(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the writer broke off")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_folder_or_a_path_through_a_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot write .*: it is a folder"):
        write_text_atomic(tmp_path, "x")
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(WriteError, match=r"cannot write .*plain/x.txt: .*plain is a file, not a folder$"):
        write_text_atomic(tmp_path / "plain" / "x.txt", "x")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
def test_a_pipe_or_device_is_refused_not_replaced(tmp_path, cli):
    fifo = tmp_path / "myfifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="device, pipe or socket"):
        write_text_atomic(fifo, "text")
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # the rename would have swapped in a regular file
    assert_one_line_error(cli("simulate", "--particle", "eplus", "-n", "10", "-o", fifo), "not a file")
    assert stat.S_ISFIFO(fifo.stat().st_mode) and sorted(tmp_path.iterdir()) == [fifo]


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(full_disk):
    path = write_text_atomic(full_disk / "a.txt", "old")
    with pytest.raises(WriteError, match=r"a.txt: No space left on device; the previous file, if any, is unchanged"):
        write_bytes_atomic(path, bytes(2 * 2**20))  # the disk holds 1 MiB
    assert path.read_text() == "old" and sorted(p.name for p in full_disk.iterdir()) == ["a.txt"]


def test_hdf5_streamed_onto_a_full_disk_fails_in_one_error_not_a_crash(full_disk):
    """HDF5 cannot recover from a failed write (it crashed the process at close): it never sees one."""
    import h5py
    import numpy as np

    noise = np.random.default_rng(0).random((256, 1024))  # 2 MiB that gzip cannot shrink
    with pytest.raises(WriteError, match="x.h5: No space left on device"):
        with atomic_stream(full_disk / "x.h5") as stream, h5py.File(stream, "w") as handle:
            handle.create_dataset("noise", data=noise, chunks=(16, 1024), compression="gzip")
    assert list(full_disk.iterdir()) == []
    with atomic_stream(full_disk / "y.h5") as stream, h5py.File(stream, "w") as handle:  # room for a small one
        handle.create_dataset("noise", data=noise[:16])
    with h5py.File(full_disk / "y.h5") as handle:
        np.testing.assert_array_equal(handle["noise"][:], noise[:16])
