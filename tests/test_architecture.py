"""The layering rules of DESIGN.md, read from the imports of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def offenders(package: str, forbidden: tuple[str, ...], allow: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in modules(package):
        rel = path.relative_to(ROOT).as_posix()
        if any(rel.startswith(a) for a in allow):
            continue
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{rel} imports {name}")
    return found


@pytest.mark.parametrize("package, forbidden, allow", [
    ("engine", ("flask", "flask_sqlalchemy", "marshmallow", "web", "configurator", "werkzeug"), ()),
    ("engine/domain", ("sqlalchemy", "SpiffWorkflow", "lxml", "holidays", "engine.store", "engine.bpmn",
                       "engine.services"), ()),
    ("engine", ("SpiffWorkflow",), ("engine/bpmn/",)),
    ("engine", ("sqlalchemy",), ("engine/store/",)),
    ("configurator", ("web", "flask"), ()),
    # The configurator asks the engine about specs; only the validator reads SpiffWorkflow's own checks.
    ("configurator", ("SpiffWorkflow",), ("configurator/validation.py",)),
    ("web", ("SpiffWorkflow",), ()),
])
def test_dependencies_point_one_way(package, forbidden, allow):
    assert offenders(package, forbidden, allow) == []
