"""The documentation a user reads: every relative link resolves, and nothing cites a file the
repository does not hold.

(a) Every relative link (and picture) in README.md and docs/*.md points to a file that exists, and a
`#anchor` to a heading of the target, slugged as GitHub does; a picture that the docs site draws while
it builds (docs/figures/foundations/) names a plot that a foundations demo draws.
(b) No text file in SCOPES mentions a developer note kept outside the repository.
(c) Every `docs/<page>.md#<heading>` that code or a test cites names a page and a heading that exist.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Parts (b) and (c) cover these paths.
SCOPES = ("README.md", "docs", "notebooks", "tests", "benchmarks", "src", "docsite", "mkdocs.yml")

# Built from parts, so that this file does not match itself.
_NOTES = ("PHYSICS", "DATA", "DESIGN", "STYLE", "LECTURE", "DEPENDENCIES")
_OUTSIDE = re.compile(r"\b(?:" + "|".join(_NOTES) + r")\.md\b|\.\./" + "shared")

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")  # pictures' links too: ![alt](path)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose_lines(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks, inline code blanked out."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", lambda m: " " * len(m.group()), line))
    return lines


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, spaces to '-', and every
    character that is not a letter, digit, '-' or '_' removed."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    return "".join(c for c in text.replace(" ", "-") if c.isalnum() or c in "-_")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub makes for the headings of a Markdown file (repeats get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    text, fenced = path.read_text(encoding="utf-8"), False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            slug = github_slug(match.group(2))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    links = []
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        for target in _LINK.findall(line):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                links.append(target)
    return links


def test_the_slug_rules_match_github():
    assert github_slug("Precision and the CPU (`nnlab 6`)") == "precision-and-the-cpu-nnlab-6"
    assert github_slug("Showers drawn under bf16 autocast (2026-12-01, 17:53-18:35 UTC)") == (
        "showers-drawn-under-bf16-autocast-2026-12-01-1753-1835-utc"
    )
    assert github_slug("What the critic's `linear_view` reads") == "what-the-critics-linear_view-reads"


def test_the_docs_exist():
    names = {p.name for p in DOCS}
    assert {"README.md", "index.md", "benchmarks.md", "physics.md", "data.md"} <= names


# pictures the docs site draws while it builds (docsite/hooks.py): the foundations demos' plots
DRAWN_IN_THE_SITE = ROOT / "docs" / "figures" / "foundations"


@pytest.fixture(scope="module")
def demo_plots(tmp_path_factory) -> set[str]:
    """The file names of every plot the foundations demos draw."""
    from nnlab.api import foundations
    from nnlab.demos import DEMOS

    folder = tmp_path_factory.mktemp("demos")
    return {plot.name for name in DEMOS for plot in foundations(name, folder / name).plots}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path, request):
    broken = []
    for target in relative_links(doc):
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if dest.parent == DRAWN_IN_THE_SITE:
            if dest.name not in request.getfixturevalue("demo_plots"):
                broken.append(f"{target}: no foundations demo draws {dest.name}")
        elif not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}:\n" + "\n".join(broken)


def _files_in_scope() -> list[Path]:
    """Tracked files and untracked ones git does not ignore, under SCOPES (read-only git)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *SCOPES],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.splitlines()  # fmt: skip
        paths = [ROOT / p for p in listed]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        paths = [p for s in SCOPES for p in ((ROOT / s).rglob("*") if (ROOT / s).is_dir() else [ROOT / s])]
    return sorted(p for p in set(paths) if p.is_file())


def test_nothing_cites_notes_outside_the_repository():
    found = []
    for path in _files_in_scope():
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if _OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "cite the docs/ heading that states the fact instead:\n" + "\n".join(found)


_CITED = re.compile(r"docs/([\w.-]+\.md)(?:#([\w-]+))?")


def test_every_docs_heading_the_code_cites_exists():
    broken = []
    for path in _files_in_scope():
        if path.suffix != ".py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for page, anchor in _CITED.findall(line):
                target = ROOT / "docs" / page
                if not target.is_file() or (anchor and anchor not in anchors(target)):
                    broken.append(f"{path.relative_to(ROOT)}:{n}: docs/{page}" + (f"#{anchor}" if anchor else ""))
    assert not broken, "\n".join(broken)
