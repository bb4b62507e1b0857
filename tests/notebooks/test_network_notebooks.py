"""The course's notebooks on the networks (05-07) run top to bottom in their quick setting."""

from __future__ import annotations

import pytest

from tests.notebooks.runner import ids, numbered, run_notebook

NOTEBOOKS = numbered("05", "06", "07")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_the_notebook_runs_top_to_bottom(path, tmp_path):
    run_notebook(path, tmp_path)
