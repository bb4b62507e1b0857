"""The docs site's hooks (mkdocs.yml): the pages made at build time, and links made to fit the site.

Nothing is written into docs/; these pages exist only in the built site:
- getting-started.md: the README (install, the tour, runs), its links made relative to docs/;
- notebooks/*.ipynb: the course as the test suite last executed it (build/notebooks/, written when
  NNLAB_EXECUTED_NOTEBOOKS is set, as make test and make docs do), so that the site shows the
  outputs without running the notebooks a second time; a notebook without a current executed copy
  stops the build;
- notebooks/index.md: the course's contents;
- reference/cli.md: every command's --help, from the parser itself;
- reference/api.md: nnlab.api and its result types, from their docstrings (mkdocstrings);
- figures/foundations/*.png: the foundations demos' plots, drawn by the demos during the build.
docs/*.md link to ../README.md and ../notebooks/ so that they also read well in a checkout; in the
site those links go to the pages above, and a notebook's links to its neighbours' .ipynb files go
to their pages.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import tempfile
from pathlib import Path

import nbformat
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "build" / "notebooks"
OUTSIDE_LINKS = (("](../README.md)", "](getting-started.md)"), ("](../notebooks/)", "](notebooks/index.md)"))
NOTEBOOK_LINK = re.compile(r'href="(\d\d_\w+)\.ipynb"')
API_PAGE = """# Python API reference

`nnlab.api` is what the command line calls: each command is one function that returns its
result as data (values, the lines the command prints, the files it wrote). Generated from the
docstrings.

::: nnlab.api

## Results

::: nnlab.results

## What the web app asks of a run

`nnlab serve`'s pages call these on runs kept loaded between calls; a script may too.

::: nnlab.live
"""


@event_priority(100)  # before mkdocs-jupyter's on_files, which must see the notebooks added here
def on_files(files: Files, config) -> Files:
    for name, text in (("getting-started.md", getting_started()), ("reference/cli.md", cli_reference()),
                       ("reference/api.md", API_PAGE)):
        files.append(File.generated(config, name, content=text))
    names = []
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        _check_executed(source)
        files.append(File(f"notebooks/{source.name}", src_dir=str(EXECUTED.parent), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
        names.append(source.name)
    files.append(File.generated(config, "notebooks/index.md", content=notebooks_index(names)))
    for name, data in foundations_figures():
        files.append(File.generated(config, f"figures/foundations/{name}", content=data))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    for outside, inside in OUTSIDE_LINKS:
        markdown = markdown.replace(outside, inside)
    return markdown


def on_page_content(html: str, page, config, files) -> str:
    if page.file.src_uri.startswith("notebooks/") and page.file.src_uri.endswith(".ipynb"):
        return NOTEBOOK_LINK.sub(lambda match: f'href="../{match.group(1)}/"', html)
    return html


def _check_executed(source: Path) -> None:
    """The executed copy of `source` exists and was executed from this very version of it."""
    executed = EXECUTED / source.name
    if not executed.is_file():
        raise PluginError(f"{source.name} has no executed copy in {EXECUTED}: make docs executes the notebooks")
    kept = nbformat.read(executed, as_version=4).metadata.get("nnlab", {}).get("source_sha256")
    if kept != hashlib.sha256(source.read_bytes()).hexdigest():
        raise PluginError(f"{executed} was executed from another version of {source.name}: run make docs again")


def getting_started() -> str:
    """The README, with its links to docs/ made relative to the docs folder."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.replace("](docs/", "](").replace("](notebooks/)", "](notebooks/index.md)")


def notebooks_index(names: list[str]) -> str:
    """The course's contents: each notebook's title (its first heading), linked to its page."""
    lines = ["# The course", "",
             "The lecture in notebooks, in its order. Each is shown as the test suite last ran it, in its quick "
             "setting, with its outputs. To run them yourself: `pip install -e '.[notebooks]'`, then "
             "`jupyter lab notebooks/`.", ""]
    for name in names:
        first = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells[0].source.splitlines()[0]
        lines.append(f"* [{first.lstrip('# ').strip()}]({name})")
    return "\n".join(lines) + "\n"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's sub-commands by name (argparse keeps them on its sub-parsers action only)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    """Every command's help as `--help` prints it; each training task with its own options."""
    from nnlab.cli import build_parser

    def block(title: str, parser: argparse.ArgumentParser) -> list[str]:
        return ["", f"## {title}", "", "```text", parser.format_help().rstrip(), "```"]

    top = build_parser()
    lines = ["# Command-line reference", "", "Generated from nnlab's parser when this site was built: each block is "
             "what `--help` prints.", "", "```text", top.format_help().rstrip(), "```"]
    for verb, parser in _subcommands(top).items():
        if verb != "train":
            lines += block(f"nnlab {verb}", _subcommands(build_parser([verb]))[verb])
            continue
        lines += block("nnlab train", parser)
        for task in _subcommands(parser):
            with_options = _subcommands(_subcommands(build_parser(["train", task]))["train"])[task]
            lines += block(f"nnlab train {task}", with_options)
    return "\n".join(lines) + "\n"


def foundations_figures() -> list[tuple[str, bytes]]:
    """Each foundations demo's plots, drawn now by the demo: (file name, PNG bytes)."""
    from nnlab.api import foundations
    from nnlab.demos import DEMOS

    with tempfile.TemporaryDirectory() as folder:
        return [(plot.name, plot.read_bytes())
                for name in DEMOS for plot in foundations(name, Path(folder) / name).plots]
