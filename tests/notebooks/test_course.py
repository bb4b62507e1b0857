"""The course's notebooks: numbered in order, and each run by exactly one of the notebook test files."""

from __future__ import annotations

from tests.notebooks import (test_foundations_notebooks, test_gan_notebook, test_network_notebooks,
                             test_shower_notebooks)
from tests.notebooks.runner import ALL


def test_the_course_has_its_notebooks_in_order():
    assert [path.name[:3] for path in ALL] == [f"{i:02d}_" for i in range(1, len(ALL) + 1)]
    assert len(ALL) == 10


def test_every_notebook_is_run_by_one_test_file():
    run = [path for module in (test_foundations_notebooks, test_network_notebooks, test_gan_notebook,
                               test_shower_notebooks) for path in module.NOTEBOOKS]
    assert sorted(run) == ALL
