"""Shared fixtures: run the CLI in-process (importing torch once costs ~1 s per process)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from nnlab.cli import main


@dataclasses.dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Call `nnlab ARGS...` in-process and return its exit code, stdout and stderr."""
    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exit_:  # argparse's own exits (--help, usage errors)
            code = exit_.code
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run


def assert_one_line_error(result: CliResult, *fragments: str) -> None:
    """A user error: exit 2, exactly one line on stderr, naming the problem."""
    assert result.code == 2, (result.code, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def edit_weights(run: Path, edit) -> None:
    """Rewrite a run's model.safetensors through `edit(tensors)` in place, keeping the metadata that names its task."""
    from safetensors.torch import save_file

    from nnlab.training.checkpoint import read_weights

    tensors, metadata = read_weights(Path(run) / "model.safetensors")
    edit(tensors)
    save_file(tensors, str(Path(run) / "model.safetensors"), metadata=metadata)


def untimed_metrics(run: Path) -> list[list[str]]:
    """A run's metrics.csv without its wall-time column, the one value a seed does not fix."""
    rows = [line.split(",") for line in (Path(run) / "metrics.csv").read_text().splitlines()]
    keep = [i for i, name in enumerate(rows[0]) if name != "seconds"]
    return [[row[i] for i in keep] for row in rows]


@pytest.fixture
def one_thread():
    """Many small steps on tiny tensors: thread hand-offs cost more than they save (50-100x on 2 busy cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def full_disk(tmp_path):
    """A real 1 MiB file system (tmpfs) to fill up: a full disk gives ENOSPC, as a user's would.

    Mounting needs root (CI runs as root); elsewhere the test is skipped, saying why.
    """
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.decode().strip() or made.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill_disk(folder: Path, *, leave: int) -> None:
    """Fill the file system of `folder` up to `leave` free bytes."""
    import os

    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    (folder / "filler").write_bytes(bytes(max(0, free - leave)))
