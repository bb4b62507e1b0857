"""The run directory: one folder per training run that every later command reads.

runs/<task>/<YYYYmmdd-HHMMSS>[-name]/ holds config.yaml, env.json, metrics.csv,
checkpoints/{last,best}.pt, model.safetensors, plots/, samples/ and report.json.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nnlab.config import dump_yaml, load_yaml
from nnlab.errors import CheckpointError, ConfigError
from nnlab.files import write_text_atomic


class RunDir:
    """Paths and small files of one run; it creates nothing until asked to."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    env_path = property(lambda self: self.path / "env.json")
    metrics_path = property(lambda self: self.path / "metrics.csv")
    report_path = property(lambda self: self.path / "report.json")
    weights_path = property(lambda self: self.path / "model.safetensors")
    last_path = property(lambda self: self.path / "checkpoints" / "last.pt")
    best_path = property(lambda self: self.path / "checkpoints" / "best.pt")
    plots_dir = property(lambda self: self.path / "plots")
    samples_dir = property(lambda self: self.path / "samples")

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
        """An existing run; a folder without config.yaml is not one, and says so."""
        run = cls(path)
        if not run.path.is_dir():
            raise CheckpointError(f"no run directory at {run.path}")
        if not run.config_path.is_file():
            raise CheckpointError(f"{run.path} is not an nnlab run directory (no config.yaml)")
        return run

    def read_config(self) -> dict[str, Any]:
        return load_yaml(self.config_path)

    def write_config(self, values: Mapping[str, Any]) -> None:
        write_text_atomic(self.config_path, dump_yaml(values))

    def read_json(self, path: Path) -> dict[str, Any]:
        """env.json or report.json; a damaged one is a one-line error naming it."""
        try:
            values = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CheckpointError(f"{path} is not valid JSON") from None
        if not isinstance(values, dict):
            raise CheckpointError(f"{path} holds {type(values).__name__}, not a JSON object")
        return values

    def write_json(self, path: Path, values: Mapping[str, Any]) -> None:
        write_text_atomic(path, json.dumps(values, indent=2, sort_keys=False) + "\n")

    def write_metrics(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite metrics.csv from the full history (kept in the checkpoint, so resume stays consistent)."""
        columns = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(self.metrics_path, buffer.getvalue())

    def read_metrics(self) -> list[dict[str, float]]:
        if not self.metrics_path.is_file():
            return []
        with self.metrics_path.open(newline="") as handle:
            rows = csv.DictReader(handle)
            try:
                return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in rows]
            except (ValueError, TypeError) as error:  # a cell that is not a number, or a row longer than the header
                raise CheckpointError(f"{self.metrics_path} line {rows.line_num}: {error}") from None


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
