"""The tour `make demo` runs: each part of nnlab once, on bundled data, printing where the results went."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nnlab import api


def run_tour(out_dir: Path, *, echo: Callable[[str], None]) -> None:
    """Foundations demos, then Iris trained, evaluated and used for a prediction."""
    from nnlab.foundations.demos import DEMOS, run_demo

    echo("== Foundations, from scratch in NumPy (nnlab foundations NAME)")
    for name in DEMOS:
        echo(f"-- {name}")
        echo(run_demo(name, out_dir / "foundations"))
    echo("\n== Iris with an MLP (nnlab train iris)")
    result = api.train("iris", out_dir=out_dir)
    for line in result.report.lines:
        echo(line)
    echo(f"run: {result.run.path}")
    for path in result.report.files:
        echo(f"plot: {path}")
    echo("\n== Using the trained run (nnlab predict RUN --input 5.1,3.5,1.4,0.2)")
    for line in api.predict(result.run.path, "5.1,3.5,1.4,0.2"):
        echo(line)
