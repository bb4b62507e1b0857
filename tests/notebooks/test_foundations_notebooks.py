"""The course's notebooks on the foundations (01-04) run top to bottom in their quick setting."""

from __future__ import annotations

import pytest

from tests.notebooks.runner import ids, numbered, run_notebook

NOTEBOOKS = numbered("01", "02", "03", "04")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_the_notebook_runs_top_to_bottom(path, tmp_path):
    run_notebook(path, tmp_path)
