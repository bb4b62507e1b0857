"""The run directory: one folder per training run that every later command reads.

runs/<task>/<YYYYmmdd-HHMMSS>[-name]/ holds config.yaml, env.json, status.json, metrics.csv,
checkpoints/{last,best}.pt, model.safetensors, plots/, samples/ and report.json.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import logging
import math
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from nnlab.config import dump_yaml, load_yaml
from nnlab.errors import CheckpointError, ConfigError
from nnlab.files import write_text_atomic

log = logging.getLogger(__name__)


class RunDir:
    """Paths and small files of one run; it creates nothing until asked to."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    env_path = property(lambda self: self.path / "env.json")
    metrics_path = property(lambda self: self.path / "metrics.csv")
    report_path = property(lambda self: self.path / "report.json")
    status_path = property(lambda self: self.path / "status.json")
    weights_path = property(lambda self: self.path / "model.safetensors")
    last_path = property(lambda self: self.path / "checkpoints" / "last.pt")
    best_path = property(lambda self: self.path / "checkpoints" / "best.pt")
    plots_dir = property(lambda self: self.path / "plots")
    samples_dir = property(lambda self: self.path / "samples")
    lock_path = property(lambda self: self.path / "nnlab.lock")

    @classmethod
    def new(cls, root: str | os.PathLike, task: str, *, name: str = "", now: dt.datetime | None = None) -> RunDir:
        """Create runs/<task>/<timestamp>[-name]/, adding -2, -3... if that folder already exists."""
        if name and (os.sep in name or name.startswith(".")):
            raise ConfigError(f"--name '{name}' must be a plain folder name")
        stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
        base = Path(root) / task / (f"{stamp}-{name}" if name else stamp)
        path, suffix = base, 2
        while True:
            try:
                path.mkdir(parents=True)
                return cls(path)
            except FileExistsError:
                path, suffix = base.with_name(f"{base.name}-{suffix}"), suffix + 1

    @classmethod
    def open(cls, path: str | os.PathLike) -> RunDir:
        """An existing run; a folder without config.yaml is not one, and says so.

        `runs/<task>/latest` names the newest run of that task (unless a folder of that name exists).
        Nothing inside a run may be a link, a device or a pipe: every later read and write of the
        run stays inside the folder the user named (a `plots` link once led evaluate's writes out).
        """
        run = cls(_latest(Path(path)))
        if not run.path.is_dir():
            raise CheckpointError(f"no run directory at {run.path}")
        if not run.config_path.is_file():
            raise CheckpointError(f"{run.path} is not an nnlab run directory (no config.yaml)")
        for root, folders, files in os.walk(run.path):  # links to folders are listed, not entered
            for name in folders + files:
                entry = Path(root) / name
                if entry.is_symlink():
                    raise CheckpointError(f"{entry} is a symbolic link: nnlab does not follow links inside a run "
                                          "folder (replace it with the file or folder itself)")
                if not (entry.is_dir() or entry.is_file()):
                    raise CheckpointError(f"{entry} is a device, pipe or socket: a run folder holds files only")
        return run

    @classmethod
    def open_for_resume(cls, path: str | os.PathLike, task_name: str) -> RunDir:
        """An existing run of `task_name` with a checkpoint to continue from."""
        run = cls.open(path)
        made_by = run.read_config().get("task")
        if made_by != task_name:
            raise CheckpointError(f"{run.path} is a run of task '{made_by}', not '{task_name}'")
        if not run.last_path.is_file():
            raise CheckpointError(f"{run.path} has no checkpoint to resume from (checkpoints/last.pt)")
        return run

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run for this process: a second `--resume` or `evaluate` of it is refused while it runs.

        The lock is the kernel's (`flock`), so a killed process never leaves the run locked;
        the file records the owner's pid and host for the message, and a stale one is reported.
        The file stays (emptied): removing it would let a waiting process lock a file no longer there.
        """
        try:
            handle = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise CheckpointError(f"cannot lock {self.path}: {error.strerror}") from None
        try:
            if not _try_lock(handle):
                raise CheckpointError(f"{self.path} is in use by {_owner(handle)}: wait for it to finish or stop it "
                                      "(two processes writing one run would interleave its checkpoints)")
            if owner := _owner(handle, default=""):  # killed (kill -9, power cut): its run resumes as usual
                log.warning(f"note: {self.path} was last held by {owner}, which stopped without releasing it")
            os.ftruncate(handle, 0)
            os.write(handle, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
            try:
                yield
            finally:
                os.ftruncate(handle, 0)
        finally:
            os.close(handle)

    def read_config(self) -> dict[str, Any]:
        """config.yaml: a mapping that names its task, with mappings as sections."""
        values = load_yaml(self.config_path)
        if "task" in values and not isinstance(values["task"], str):
            raise CheckpointError(f"{self.config_path}: 'task' is {type(values['task']).__name__}, not a task name")
        for section, value in values.items():
            if section != "task" and not isinstance(value, dict):
                raise CheckpointError(f"{self.config_path}: section '{str(section)[:40]}' is "
                                      f"{type(value).__name__}, not a mapping of settings")
        return values

    def write_config(self, values: Mapping[str, Any]) -> None:
        write_text_atomic(self.config_path, dump_yaml(values))

    def read_json(self, path: Path) -> dict[str, Any]:
        """env.json or report.json; a damaged or oversized one is a one-line error naming it."""
        try:
            values = json.loads(_read_capped(path, MAX_JSON_BYTES))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise CheckpointError(f"{path} is not valid JSON") from None
        if not isinstance(values, dict):
            raise CheckpointError(f"{path} holds {type(values).__name__}, not a JSON object")
        return values

    def write_json(self, path: Path, values: Mapping[str, Any]) -> None:
        write_text_atomic(path, json.dumps(values, indent=2, sort_keys=False) + "\n")

    def write_status(self, state: str, detail: str = "", *, best: Mapping[str, Any] | None = None) -> None:
        """status.json: where the training stands (one of STATES), once it stopped why and how to go on, and the
        best epoch (whose weights model.safetensors holds)."""
        if state not in STATES:
            raise ValueError(f"unknown run state {state!r}")
        self.write_json(self.status_path, {"state": state, "detail": detail, "best": dict(best or {}),
                                           "at": dt.datetime.now().isoformat(timespec="seconds")})

    def read_status(self) -> dict[str, str] | None:
        """status.json, or None for a run from before nnlab wrote one."""
        if not self.status_path.is_file():
            return None
        values = self.read_json(self.status_path)
        if values.get("state") not in STATES or not isinstance(values.get("detail", ""), str):
            raise CheckpointError(f"{self.status_path} is not what nnlab train writes")
        return values

    def write_metrics(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite metrics.csv from the full history (kept in the checkpoint, so resume stays consistent)."""
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(self.metrics_path, buffer.getvalue())

    def read_metrics(self) -> list[dict[str, float]]:
        """metrics.csv as rows of numbers; each has a whole, positive `epoch` and `step`."""
        if not self.metrics_path.is_file():
            return []
        text = _read_capped(self.metrics_path, MAX_METRICS_BYTES).decode("utf-8", "replace")
        rows = csv.DictReader(io.StringIO(text, newline=""))
        history = []
        try:
            missing = [key for key in ("epoch", "step") if key not in (rows.fieldnames or ())]
            if missing and text.strip():
                raise ValueError(f"no '{missing[0]}' column")
            for row in rows:
                values = {k: float(v) for k, v in row.items() if v not in ("", None)}
                for key in ("epoch", "step"):
                    if not float(values.get(key, math.nan)).is_integer() or values[key] < 0:
                        raise ValueError(f"'{key}' is {str(row.get(key))[:20]!r}, not a whole number")
                history.append(values)
        except (ValueError, TypeError, csv.Error) as error:  # a cell that is not a number, a row longer than
            # the header, a cell over csv's 128 KiB limit
            raise CheckpointError(f"{self.metrics_path} line {rows.line_num}: {str(error)[:120]}") from None
        return history


# training: under way, or killed without a word (kill -9, a power cut); stopped: early stopping or the time budget
STATES = ("training", "finished", "stopped", "interrupted", "failed")

# What nnlab writes is far smaller (a default Iris run: report.json 753 bytes, metrics.csv 5.6 KB for 60
# epochs); a larger file is not one of them and is not read whole.
MAX_JSON_BYTES = 4 << 20
MAX_METRICS_BYTES = 64 << 20


def _latest(path: Path) -> Path:
    """`path` itself, or for runs/<task>/latest (no such folder) that task's newest run: names start with the time."""
    if path.name != "latest" or path.exists():
        return path
    runs = sorted(child for child in path.parent.glob("*") if (child / "config.yaml").is_file()) \
        if path.parent.is_dir() else []
    if not runs:
        raise CheckpointError(f"no runs in {path.parent} for 'latest' to name")
    # YYYYmmdd-HHMMSS (a --name suffix does not count), then within one second the config written last
    return max(runs, key=lambda child: (child.name[:15], (child / "config.yaml").stat().st_mtime))


def _read_capped(path: Path, limit: int) -> bytes:
    """The bytes of a run's file, refused past `limit` (a 1 GB sparse env.json was read whole)."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size  # a regular file: RunDir.open refuses the others
            data = b"" if size > limit else handle.read()  # read(limit) would set aside `limit` bytes first
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror or error}") from None
    if max(size, len(data)) > limit:
        raise CheckpointError(f"{path} is over {limit >> 20} MiB: not a file nnlab wrote")
    return data


def _try_lock(handle: int) -> bool:
    """Take an exclusive lock on an open file without waiting; False if another process holds it.

    Where there is no flock (Windows), runs are not locked.
    """
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _owner(handle: int, *, default: str = "another process") -> str:
    """Who the lock file says holds the run ("pid 123 on host"), read as one short line of text."""
    os.lseek(handle, 0, os.SEEK_SET)
    line = " ".join(os.read(handle, 200).decode("utf-8", "replace").split())
    return line if line.startswith("pid ") else default


def environment(*, seed: int, argv: Sequence[str], world_size: int, device: str, precision: str) -> dict[str, Any]:
    """What env.json records: versions, seed, command line, world size, device, the CPU class, the precision
    computed in (`auto` resolved) and git commit."""
    import numpy
    import torch

    from nnlab import __version__
    from nnlab.memory import freed_memory_retained
    from nnlab.training.runtime import cpu_class

    return {
        "nnlab": __version__, "python": platform.python_version(), "torch": torch.__version__,
        "numpy": numpy.__version__, "platform": platform.platform(), "seed": seed,
        "argv": list(argv), "world_size": world_size, "device": device, "cpu_class": cpu_class(),
        "precision": precision,
        "torch_threads": torch.get_num_threads(), "freed_memory_retained": freed_memory_retained(),
        "git_commit": _git_commit(Path(__file__).parent),
        "started": dt.datetime.now().isoformat(timespec="seconds"), "executable": sys.executable,
    }


def _git_commit(folder: Path) -> str | None:
    """The commit of the nnlab source tree when it is a git checkout (with "+dirty" if changed)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")
