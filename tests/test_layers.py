"""The house: imports run one way (a module imports only from its own layer or the layers below it),
and no module outgrows one job (400 lines).

foundations, data, physics, models  <  training, evaluation, plots  <  tasks  <  api, classifiers, runs,
reporting, demos, live  <  cli, tour, serve; errors, files, memory, config, results and progress below them
all. Imports inside functions count too: a lazy import up the house is still a dependency up the house.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nnlab

LAYERS = [
    {"errors", "files", "memory", "config", "results", "progress", "__init__"},
    {"foundations", "data", "physics", "models"},
    {"training", "evaluation", "plots"},
    {"tasks"},
    {"api", "classifiers", "runs", "reporting", "demos", "live"},
    {"cli", "__main__", "tour", "serve"},
]
SRC = Path(nnlab.__file__).parent


def layer_of(module: str) -> int:
    """The layer of `nnlab.x.y` (by its first component under nnlab)."""
    top = module.split(".")[1] if module.count(".") else "__init__"
    if not ((SRC / top).is_dir() or (SRC / f"{top}.py").is_file()):
        top = "__init__"  # a name defined in nnlab/__init__.py (__version__)
    (level,) = [i for i, names in enumerate(LAYERS) if top in names]
    return level


def imports(path: Path) -> list[tuple[int, str]]:
    """Every nnlab module `path` imports, anywhere in it, with its line number (nnlab imports are absolute)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("nnlab")]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: a relative import (nnlab imports by full name)"
            if (node.module or "").startswith("nnlab"):  # `from nnlab import api` imports nnlab.api
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_import_runs_down_the_layers():
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        for line, imported in imports(path):
            if layer_of(imported) > layer_of(module):
                upward.append(f"{path.relative_to(SRC.parent)}:{line} imports {imported}")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from nnlab.api import train\n\n\ndef g():\n    from nnlab import api\n")
    assert imports(source) == [(2, "nnlab.api.train"), (6, "nnlab.api")]
    assert layer_of("nnlab.api") > layer_of("nnlab.models.probe")


def test_no_module_is_longer_than_400_lines():
    """One job a file: past 400 lines a module has become two."""
    long = {str(path.relative_to(SRC.parent)): n for path in SRC.rglob("*.py")
            if (n := len(path.read_text().splitlines())) > 400}
    assert not long, long
