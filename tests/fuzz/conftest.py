"""The hostile-input harness: an attack must end in one line and exit 2, leave no file behind,
and stay within a memory bound while it is refused."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from tests.conftest import assert_one_line_error

# Python and NumPy allocations while refusing one hostile input; the attacks ask for gigabytes.
PEAK_BYTES = 64 * 2**20


def files_under(folder: Path) -> set[Path]:
    """Every file and folder under `folder` (a refused command must add none)."""
    return {Path(root) / name for root, dirs, files in os.walk(folder) for name in dirs + files}


@pytest.fixture
def refused(cli):
    """`refused(folder, *argv, fragments=...)`: run nnlab, assert it refuses in one line, with
    exit 2, no new file under `folder` and a traced peak under PEAK_BYTES; return the line."""
    def check(folder: Path, *argv: str, fragments: tuple[str, ...] = (), peak_bytes: int = PEAK_BYTES) -> str:
        before = files_under(folder)
        tracemalloc.start()
        try:
            result = cli(*argv)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert_one_line_error(result, *fragments)
        assert "Traceback" not in result.err
        assert files_under(folder) == before, sorted(map(str, files_under(folder) - before))
        assert peak < peak_bytes, f"{peak / 2**20:.0f} MiB traced while refusing {argv}"
        return result.err.strip()
    return check
