"""The built docs site (make docs and make test build it into build/site first; deselected otherwise).

Every notebook has its page with its figures, the notebooks' links between pages resolve, and the
generated reference pages hold what they are generated from.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.notebooks.runner import ALL

pytestmark = pytest.mark.site
SITE = Path(__file__).parents[1] / "build" / "site"


def page(uri: str) -> str:
    path = SITE / uri / "index.html"
    assert path.is_file(), f"{path} was not built (make docs builds the site)"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("notebook", ALL, ids=[path.stem for path in ALL])
def test_every_notebook_page_shows_its_figures_and_its_links_resolve(notebook):
    html = page(f"notebooks/{notebook.stem}")
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', html)) >= 1
    assert "not answered yet" in html  # the outputs are there, exercises included
    for target in re.findall(r'href="(\.\./[^"#]+)"', html):
        assert (SITE / "notebooks" / notebook.stem / target).resolve().exists(), target


def test_the_course_contents_list_every_notebook():
    html = page("notebooks")
    assert all(f'href="{path.stem}/"' in html for path in ALL)


def test_the_cli_reference_holds_every_commands_help():
    html = page("reference/cli")
    for heading in ("nnlab train gan", "nnlab train calogan", "nnlab evaluate", "nnlab sample", "nnlab runs"):
        assert heading in html
    assert "--time-budget" in html  # a training task's own options, not just its name


def test_the_api_reference_is_read_from_the_docstrings():
    html = page("reference/api")
    assert "Train <code>task_name</code> into a new run directory" in html  # train's docstring, rendered
    for name in ("nnlab.api.train", "nnlab.api.evaluate", "nnlab.api.sample", "nnlab.results.Files"):
        assert f'id="{name}"' in html


def test_the_foundations_page_shows_the_demos_figures():
    html = page("foundations")
    images = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(images) >= 5
    assert all((SITE / "foundations" / src).resolve().is_file() for src in images)
