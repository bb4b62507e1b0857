"""Shared fixtures: run the CLI in-process (importing torch once costs ~1 s per process)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tracemalloc
from pathlib import Path

import pytest

from nnlab.cli import main

# The slowest files, collected first so that parallel test processes (pytest -n, --dist loadfile) start
# them first, while the many short files fill the other processes; collected last, one of them ran
# alone for minutes at the end of `make test`.
SLOWEST_FIRST = ("tests/notebooks/test_gan_notebook.py", "tests/notebooks/test_shower_notebooks.py",
                 "tests/notebooks/test_network_notebooks.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


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
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    (folder / "filler").write_bytes(bytes(max(0, free - leave)))


# The hostile-input harness (tests/fuzz and the hostile-file tests): an attack must end in one line and
# exit 2, leave no file behind, and stay within a memory bound while it is refused. The bound is on
# Python's and NumPy's allocations (tracemalloc); the attacks asked for gigabytes.
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


@pytest.fixture(scope="session")
def cnn_run(tmp_path_factory) -> Path:
    """A tiny seeded cnn run, trained once (a few seconds): predict needs one. Its data is a folder
    of IDX files, not `synthetic`, whose generator alone traces 72 MiB each time a run is loaded."""
    import numpy as np

    from nnlab import api
    from nnlab.data.idx import write_idx
    from nnlab.data.images import IDX_FILES, load_synthetic

    folder = tmp_path_factory.mktemp("shapes")
    shapes = load_synthetic(160, 40, seed=0)
    arrays = (shapes.train_images, shapes.train_labels, shapes.test_images, shapes.test_labels)
    for stem, array in zip(IDX_FILES.values(), arrays):
        write_idx(folder / stem, array.astype(np.uint8))
    overrides = [f"data.source={folder}", "train.epochs=1", "train.batch_size=32", "train.precision=32"]
    return api.train("cnn", overrides=overrides, out_dir=tmp_path_factory.mktemp("runs")).run.path
