"""Run a course notebook top to bottom in its quick setting, as a student runs it, in a fresh folder.

The notebooks are split over several test files so that parallel test processes share them (each
file's tests stay in one process). With NNLAB_EXECUTED_NOTEBOOKS set (make test and make docs set it
to build/notebooks), the executed copy is kept there with its outputs for the docs site, tagged with
the hash of the notebook it came from so that the site never shows outputs of an older version.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from nnlab.files import write_text_atomic

FOLDER = Path(__file__).parents[2] / "notebooks"
ALL = sorted(FOLDER.glob("*.ipynb"))


def numbered(*numbers: str) -> list[Path]:
    """The notebooks whose names start with these two-digit numbers."""
    return [path for path in ALL if path.name[:2] in numbers]


def ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def run_notebook(path: Path, folder: Path) -> None:
    """Execute `path` in `folder`: stored without outputs, the QUICK switch first, every cell without error,
    and at least two exercise checks that say they are not answered yet (they ran, and did not fail)."""
    source = path.read_bytes()
    notebook = nbformat.reads(source.decode("utf-8"), as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "clear the outputs before saving"
    assert "QUICK = True" in code[0].source  # the switch a student flips for the full-size run
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": folder}})
    client.execute()  # an error in any cell raises CellExecutionError
    answered = [output for cell in code for output in cell.outputs if "not answered yet" in output.get("text", "")]
    assert len(answered) >= 2
    kept = os.environ.get("NNLAB_EXECUTED_NOTEBOOKS")
    if kept:
        _drop_widgets(notebook)
        notebook.metadata["nnlab"] = {"source_sha256": hashlib.sha256(source).hexdigest()}
        Path(kept).mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(kept) / path.name, nbformat.writes(notebook))


def _drop_widgets(notebook: nbformat.NotebookNode) -> None:
    """Progress bars are live widgets: a static page cannot show them, and their state is most of the file.
    The progress they showed is also in the text outputs (each epoch's line)."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs
                            if "application/vnd.jupyter.widget-view+json" not in output.get("data", {})]
