"""Plain-text summaries for the terminal: a run at a glance (`nnlab report`), the machine (`nnlab env`)."""

from __future__ import annotations

import math
import os
import platform
import shlex
from pathlib import Path
from typing import Any

from nnlab.errors import CheckpointError
from nnlab.training.rundir import RunDir

TRAIN_SHOWN = ("epochs", "batch_size", "lr", "optimizer", "scheduler", "seed", "precision")


def summarize_run(run_path: str | os.PathLike) -> tuple[dict[str, Any], list[str]]:
    """Task, key settings, epochs trained, the last epoch and the test metrics of a run directory: as values,
    and as lines for a terminal."""
    run = RunDir.open(run_path)
    config = run.read_config()
    history = run.read_metrics()
    train = config.get("train", {})
    lines = [f"run: {run.path}", f"task: {_shown(config.get('task'))}",
             "train: " + ", ".join(f"{k}={_shown(train[k])}" for k in TRAIN_SHOWN if k in train)]
    values: dict[str, Any] = {"run": str(run.path), "task": config.get("task"),
                              "train": {k: train[k] for k in TRAIN_SHOWN if k in train},
                              "last_epoch": history[-1] if history else None}
    if status := run.read_status():
        values["status"] = status
        lines.append(f"status: {_status_line(status, run.path, config.get('task'))}")
    if history:
        last = history[-1]
        lines.append(f"trained: {int(last['epoch'])} epochs, {int(last['step'])} steps")
        lines.append("last epoch: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()
                                                 if k.startswith(("train_", "val_"))))
        best = (status or {}).get("best")
        if (isinstance(best, dict) and isinstance(best.get("epoch"), (int, float)) and math.isfinite(best["epoch"])
                and isinstance(best.get("value"), (int, float))):
            lines.append(f"best epoch: {int(best['epoch'])} by {_shown(best.get('metric', '?'))} {best['value']:.4g} "
                         f"(its weights are model.safetensors, what evaluate, predict and sample use)")
    if run.report_path.is_file():
        report = run.read_json(run.report_path)
        test, files = report.get("test", {}), report.get("files", [])
        accuracy, n = (test.get("accuracy"), test.get("n", "?")) if isinstance(test, dict) else (None, None)
        if not (isinstance(test, dict) and isinstance(accuracy, (int, float, type(None)))
                and isinstance(n, (int, str)) and isinstance(files, list)
                and all(isinstance(f, str) and f.isprintable() for f in files)):
            raise CheckpointError(f"{run.report_path}: 'test' or 'files' is not what nnlab evaluate writes")
        if accuracy is not None:
            lines.append(f"test accuracy: {accuracy:.4f} on {str(n)[:20]} samples")
        # named relative to the run (older reports: as written, relative to where evaluate ran)
        lines += [f"file: {run.path / f if (run.path / f).exists() else f}" for f in files]
        values.update(test=test, files=files)
    return values, lines


def describe_environment() -> list[str]:
    """Versions of nnlab and its libraries, the devices torch sees, the CPU class (what benchmarks are timed on),
    what `--precision auto` resolves to, the thread count and the allocator setting."""
    import numpy
    import torch

    from nnlab import __version__
    from nnlab.memory import freed_memory_retained
    from nnlab.training.runtime import cpu_class, describe_precision, resolve_device

    cuda = (f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
            if torch.cuda.is_available() else "not available")
    return [
        f"nnlab {__version__}", f"python {platform.python_version()} ({platform.platform()})",
        f"torch {torch.__version__}, numpy {numpy.__version__}",
        f"cpu: {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, class {cpu_class()} "
        f"(ATen capability {torch.backends.cpu.get_cpu_capability()})",
        f"cuda: {cuda}", f"mps: {'available' if torch.backends.mps.is_available() else 'not available'}",
        describe_precision("auto", resolve_device("auto")),
        f"freed memory: {'retained for reuse' if freed_memory_retained() else 'returned to the OS (glibc defaults)'}",
    ]


def _status_line(status: dict[str, str], path: Path, task: object) -> str:
    """'interrupted: continue with ...': the state and its detail; a run still marked as training may have been
    killed without a word, so how to go on is said too."""
    detail = _shown(status.get("detail", ""), limit=400)
    if status["state"] == "training":
        detail = (f"since {_shown(status.get('at', '?'))} (if no nnlab process is training it, it was killed: "
                  f"continue with: nnlab train {_shown(task)} --resume {shlex.quote(str(path))})")
    return f"{status['state']} {detail}".strip()


def _shown(value: object, limit: int = 40) -> str:
    """A value from a file, as one short line (a newline in it must not forge a line of the summary)."""
    return " ".join(str(value).split())[:limit]
