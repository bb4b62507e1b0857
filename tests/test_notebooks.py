"""Every notebook runs top to bottom in its quick setting, as a student runs it, and is stored without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_the_course_has_its_notebooks_in_order():
    assert [path.name[:3] for path in NOTEBOOKS] == [f"{i:02d}_" for i in range(1, len(NOTEBOOKS) + 1)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_a_notebook_is_stored_without_outputs_and_runs_top_to_bottom(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "clear the outputs before saving"
    assert "QUICK = True" in code[0].source  # the switch a student flips for the full-size run
    # run in a fresh folder, as a student would; an error in any cell raises CellExecutionError
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    client.execute()
    answered = [output for cell in code for output in cell.outputs if "not answered yet" in output.get("text", "")]
    assert len(answered) >= 2  # the exercises' checks ran and said so, without failing
