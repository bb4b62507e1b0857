"""Runs at a glance and side by side: `nnlab runs list` (every run under a folder) and `nnlab runs compare`.

Everything is read from the run folders' small files (config.yaml, status.json, metrics.csv,
report.json), never from checkpoints, so a folder of many runs lists in a moment.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnlab.errors import CheckpointError, ConfigError
from nnlab.training.rundir import RunDir

SKIPPED = ("epoch", "step", "lr", "seconds")  # metrics.csv columns that are no measure of the model


def find_runs(root: str | os.PathLike) -> list[RunDir]:
    """Every run under `root` (a runs folder, a task's folder in it, or one run), oldest first."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"no folder at {root}")
    found = [path.parent for depth in ("config.yaml", "*/config.yaml", "*/*/config.yaml")
             for path in root.glob(depth)]
    return [RunDir(path) for path in sorted(found, key=lambda path: (path.name, str(path)))]


def describe(run: RunDir) -> dict[str, Any]:
    """One row of `runs list`: task, when, status, epochs, the headline score, size on disk. A run whose files
    nnlab cannot read is listed as unreadable (`nnlab report RUN` says why), not dropped."""
    try:
        config, history = run.read_config(), run.read_metrics()
        status = run.read_status()
        report = run.read_json(run.report_path) if run.report_path.is_file() else {}
    except CheckpointError:
        return {"run": run.path, "task": "?", "started": _started(run.path.name), "status": "unreadable",
                "epochs": "?", "score": "-", "size_mb": _size_mb(run.path)}
    return {"run": run.path, "task": _plain(config.get("task", "?")), "started": _started(run.path.name),
            "status": status["state"] if status else ("trained" if history else "no epoch"),
            "epochs": f"{int(history[-1]['epoch'])}/{_plain(config.get('train', {}).get('epochs', '?'))}"
            if history else "0",
            "score": headline(report, history[-1] if history else {}),
            "size_mb": _size_mb(run.path)}


def headline(report: dict[str, Any], last: dict[str, float]) -> str:
    """The score a run is known by: its test accuracy, FID-CNN or classifier AUCs, else its last epoch's loss."""
    test, scores = report.get("test"), report.get("scores")
    if isinstance(test, dict) and isinstance(test.get("accuracy"), (int, float)):
        return f"test accuracy {test['accuracy']:.4f}"
    if isinstance(scores, dict) and isinstance(scores.get("fid_cnn"), (int, float)):
        floor = scores.get("fid_cnn_floor")
        ratio = f" ({scores['fid_cnn'] / floor:.1f}x floor)" if isinstance(floor, (int, float)) and floor else ""
        return f"FID-CNN {scores['fid_cnn']:.3g}{ratio}"
    aucs = [f"{particle} AUC {value['classifier_auc']['observables']:.3f}" for particle, value in report.items()
            if isinstance(value, dict) and isinstance(value.get("classifier_auc"), dict)
            and isinstance(value["classifier_auc"].get("observables"), (int, float))]
    if aucs:
        return ", ".join(aucs) + " (observables; 0.5: indistinguishable)"
    for key in ("val_loss", "train_loss", "train_d_loss"):
        if key in last:
            return f"{key} {last[key]:.4g} (not evaluated)"
    return "-"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[str]:
    """Rows as aligned text under a header."""
    cells = [[str(row[column]) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    return ["  ".join(text.ljust(width) for text, width in zip(line, widths)).rstrip()
            for line in [list(columns), *cells]]


def curves(runs: Sequence[RunDir]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """metric -> run label -> (epoch, value) points, for the metrics at least two of the runs recorded."""
    found: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for label, run in zip(labels(runs), runs):
        for row in run.read_metrics():
            for key, value in row.items():
                if key not in SKIPPED:
                    found.setdefault(key, {}).setdefault(label, []).append((row["epoch"], value))
    return {key: series for key, series in sorted(found.items()) if len(series) >= 2}


def labels(runs: Sequence[RunDir]) -> list[str]:
    """Short names for the runs: task/folder, unique."""
    names = [f"{run.path.parent.name}/{run.path.name}" for run in runs]
    if len(set(names)) < len(names):
        names = [str(run.path) for run in runs]
    return names


def open_runs(paths: Sequence[str | os.PathLike]) -> list[RunDir]:
    """The runs to compare (at least two), each checked as `RunDir.open` checks a run."""
    if len(paths) < 2:
        raise ConfigError("runs compare needs at least two runs")
    runs = [RunDir.open(path) for path in paths]
    if len({run.path.resolve() for run in runs}) < len(runs):
        raise CheckpointError("runs compare got the same run twice")
    return runs


def _size_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20, 1)


def _plain(value: object) -> str:
    """A value read from a file as one short printable word (a task name cannot forge a line of the table)."""
    return "".join(ch for ch in str(value) if ch.isprintable() and not ch.isspace())[:24] or "?"


def _started(name: str) -> str:
    """'2026-12-07 15:18' from a run folder named YYYYmmdd-HHMMSS[-name], else '?'."""
    stamp = name[:15]
    if len(stamp) == 15 and stamp[8] == "-" and (stamp[:8] + stamp[9:]).isdigit():
        return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}"
    return "?"
