"""Plain-text summaries for the terminal: a run at a glance (`nnlab report`), the machine (`nnlab env`)."""

from __future__ import annotations

import os
import platform

from nnlab.training.rundir import RunDir


def summarize_run(run_path: str | os.PathLike) -> list[str]:
    """Task, key settings, epochs trained, best epoch and the test metrics of a run directory."""
    run = RunDir.open(run_path)
    config = run.read_config()
    history = run.read_metrics()
    train = config.get("train", {})
    lines = [f"run: {run.path}", f"task: {config.get('task')}",
             "train: " + ", ".join(f"{k}={train[k]}" for k in ("epochs", "batch_size", "lr", "optimizer",
                                                                 "scheduler", "seed", "precision") if k in train)]
    if history:
        last = history[-1]
        lines.append(f"trained: {int(last['epoch'])} epochs, {int(last['step'])} steps")
        lines.append("last epoch: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()
                                                 if k.startswith(("train_", "val_"))))
    if run.report_path.is_file():
        report = run.read_json(run.report_path)
        test = report.get("test", {})
        if "accuracy" in test:
            lines.append(f"test accuracy: {test['accuracy']:.4f} on {test.get('n', '?')} samples")
        # named relative to the run (older reports: as written, relative to where evaluate ran)
        lines += [f"file: {run.path / f if (run.path / f).exists() else f}" for f in report.get("files", [])]
    return lines


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
