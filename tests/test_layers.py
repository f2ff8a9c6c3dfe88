"""Data flows features -> models -> serving: no module of features/ imports models or serving, no
module of models/ imports serving (so training never depends on the service's code)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"features": ("models", "serving"), "models": ("serving",)}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(package: str) -> None:
    offending = {str(path.relative_to(ROOT)): sorted(_imports(path) & set(FORBIDDEN[package]))
                 for path in (ROOT / package).rglob("*.py")}
    assert {k: v for k, v in offending.items() if v} == {}
