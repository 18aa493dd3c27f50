"""Imports point down only: each sub-package of lstm_ar imports only from the layers below it."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "lstm_ar"
# bottom to top; a module may import from its own layer and any layer before it
LAYERS = [
    {"config", "activations", "checks", "kernels"},
    {"data", "model", "linear"},
    {"training", "dynamics", "runtime"},
    {"study"},
    {"report"},
    {"scenarios"},
    {"user"},  # the user's commands apply what the catalogues measured (the panel's recipes), as DESIGN.md draws it
    {"cli", "__main__", "__init__"},
]


def _layer(part: str) -> int:
    for i, names in enumerate(LAYERS):
        if part in names:
            return i
    raise AssertionError(f"lstm_ar.{part} is in no layer of tests/test_layers.py: add it")


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "lstm_ar" and node.level == 0:
            found.update(a.name for a in node.names)  # from lstm_ar import study
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lstm_ar.") and node.level == 0:
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("lstm_ar."))
    return found


def test_every_import_points_down():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0].removesuffix(".py")
        if own == "scenarios" and rel.name == "__init__.py":
            continue  # the registry imports catalogues lazily, by name
        for target in _imports(path):
            if _layer(target) > _layer(own):
                wrong.append(f"{rel} imports lstm_ar.{target}")
    assert not wrong, wrong


def test_the_checker_sees_an_upward_import(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("from lstm_ar.study.stats import rate\nimport lstm_ar.cli\nfrom lstm_ar import scenarios\n")
    assert _imports(bad) == {"study", "cli", "scenarios"}
    assert _layer("study") > _layer("linear")
