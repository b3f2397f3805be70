"""State names are the enums of engine/domain/model.py: a dossier's run state, a step's state and
its delegation state are never written as bare strings in code or templates (a typo there is a
query that silently matches nothing)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from engine.domain.model import DelegationState
from engine.domain.model import RunState
from engine.domain.model import WorkItemState

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "configurator", "web")
#: Where the names are defined, and the migrations, which keep the values they wrote then.
EXEMPT = {Path("engine/domain/model.py")}
STATE_FIELDS = {"state", "run_state", "delegation_state"}
STATE_VALUES = {s.value for enum in (RunState, WorkItemState, DelegationState) for s in enum}


def _field(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value  # a dict key or a subscript: {"state": ...}, row["state"]
    if isinstance(node, ast.Subscript):
        return _field(node.slice)
    return None


def _strings(node: ast.AST | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [text for element in node.elts for text in _strings(element)]
    return []


def _compared(node: ast.Compare) -> list[str]:
    sides = [node.left, *node.comparators]
    return [text for side in sides for text in _strings(side)] if any(_field(s) in STATE_FIELDS for s in sides) else []


def _assigned(node: ast.Assign) -> list[str]:
    targets = [t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
    values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
    if len(targets) != len(values):
        return []
    return [text for t, v in zip(targets, values) if _field(t) in STATE_FIELDS for text in _strings(v)]


def _called(node: ast.Call) -> list[str]:
    found = [text for k in node.keywords if k.arg in STATE_FIELDS for text in _strings(k.value)]
    if (
        isinstance(node.func, ast.Attribute)
        and node.func.attr in ("in_", "not_in")
        and _field(node.func.value) in STATE_FIELDS
    ):
        found += [text for argument in node.args for text in _strings(argument)]
    return found


def _bare_states(node: ast.AST) -> list[str]:
    """The state values `node` writes as bare strings where a state is compared, set or listed."""
    if isinstance(node, ast.Compare):
        found = _compared(node)
    elif isinstance(node, ast.Assign):
        found = _assigned(node)
    elif isinstance(node, ast.Call):
        found = _called(node)
    elif isinstance(node, ast.Dict):
        found = [
            text
            for k, v in zip(node.keys, node.values)
            if k is not None and _field(k) in STATE_FIELDS
            for text in _strings(v)
        ]
    elif isinstance(node, ast.Tuple) and len(node.elts) > 1:
        strings = _strings(node)  # a hand-written list of states, such as ("running", "suspended")
        found = strings if len(strings) == len(node.elts) and set(strings) <= STATE_VALUES else []
    else:
        found = []
    return [text for text in found if text in STATE_VALUES]


def bare_states_in(source: str, name: str) -> list[str]:
    by_line: dict[int, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        by_line.setdefault(getattr(node, "lineno", 0), set()).update(_bare_states(node))
    return [f"{name}:{line}: {sorted(found)}" for line, found in sorted(by_line.items()) if found]


TEMPLATE_STATE = re.compile(r"\b(?:state|run_state|delegation_state)\s*(?:==|!=|in|not in)\s*\(?\s*['\"]([a-z_]+)['\"]")


def python_files():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative not in EXEMPT and "migrations" not in relative.parts:
                yield relative


def test_no_state_name_is_written_as_a_bare_string():
    found = [hit for path in python_files() for hit in bare_states_in((ROOT / path).read_text(), str(path))]
    assert found == [], "use the enums of engine/domain/model.py (RunState, WorkItemState, DelegationState)"


def test_no_template_compares_a_state_with_a_bare_string():
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sorted((ROOT / "web").rglob("*.html"))
        for match in TEMPLATE_STATE.finditer(path.read_text())
        if match.group(1) in STATE_VALUES
    ]
    assert found == [], "templates have RunState, WorkItemState, DelegationState and OPEN_STATES (web/display.py)"


def test_the_check_finds_what_it_is_for():
    source = """
item.state = "claimed"
if dossier.run_state == "running": pass
query.where(WorkItemRecord.state.in_(("open", "claimed")))
changes = {"state": "open"}
MOVABLE = ("running", "suspended")
step_at(s, 1, "x", state="completed")
outbox.status == "pending"  # another vocabulary: not a state
"""
    assert [hit.split(": ")[1] for hit in bare_states_in(source, "x")] == [
        "['claimed']",
        "['running']",
        "['claimed', 'open']",
        "['open']",
        "['running', 'suspended']",
        "['completed']",
    ]
