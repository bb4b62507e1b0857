"""Atomic writes: the old file or the new one, never half of one; one-line errors for paths that cannot be written."""

from __future__ import annotations

import os
import stat

import pytest

from nnlab.errors import ConfigError
from nnlab.files import atomic_path, write_text_atomic
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
    with pytest.raises(ConfigError, match=r"cannot write .*plain/x.txt: "):
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
