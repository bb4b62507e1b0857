"""Each course notebook alone, top to bottom in its quick setting, as a student runs it: its wall time.

The issue's target: <= 3 minutes each on 2 CPU cores. Each notebook runs in a fresh folder with a
fresh cache (so the runs it trains and anything nnlab caches start empty), one after another,
nothing else running; the kernel gets all the cores, as Jupyter gives it.
Run: python benchmarks/notebooks.py [NUMBER ...]   (e.g. 08 10; default: all)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from nnlab.reporting import describe_environment

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
TARGET_S = 180.0


def run(path: Path) -> float:
    """Seconds to execute `path` top to bottom in a fresh folder (an error in a cell raises)."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_CACHE_HOME"] = os.path.join(folder, "cache")  # the kernel inherits it
        started = time.perf_counter()
        client = NotebookClient(notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": folder}})
        client.execute()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="two-digit notebook numbers (default: all)")
    args = parser.parse_args()
    print("\n".join(describe_environment()), flush=True)
    chosen = [path for path in NOTEBOOKS if not args.numbers or path.name[:2] in args.numbers]
    print(f"\n{'notebook':<48} {'wall s':>7}")
    slowest = 0.0
    for path in chosen:
        seconds = run(path)
        slowest = max(slowest, seconds)
        print(f"{path.name:<48} {seconds:7.1f}  {'' if seconds <= TARGET_S else 'MISSED'}", flush=True)
    print(f"\ntarget: <= {TARGET_S:.0f} s each: {'met' if slowest <= TARGET_S else 'missed'} (slowest {slowest:.1f} s)")
    sys.exit(0 if slowest <= TARGET_S else 1)


if __name__ == "__main__":
    main()
