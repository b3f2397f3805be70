"""Decision tables (DMN) in a template: recognising them and finding the expressions in their cells.

SpiffWorkflow evaluates a DMN cell as Python through the workflow's script engine, so a cell runs
under the same restricted environment and bounds as any condition or script. This module gives
publishing the same view of a cell that SpiffWorkflow's DMNEngine builds at run time (an input
entry "< 5" is checked as "(input) < 5", a plain value as "(input) == (value)"), so that an unsafe
cell is refused naming its own id before a dossier reaches it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from lxml import etree

DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/", "http://www.omg.org/spec/DMN/")
DMN_SUFFIXES = (".dmn",)
# SpiffWorkflow's DMNEngine replaces a '?' outside quotes by the input's value.
_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


@dataclass(frozen=True)
class DmnCell:
    """One expression of a decision table, as SpiffWorkflow will evaluate it."""

    element_id: str  # the cell's id (inputEntry / outputEntry / inputExpression), else its rule's
    decision_id: str
    line: int | None
    kind: str  # decision input | decision rule | decision output
    source: str


def is_dmn(tree: etree._ElementTree) -> bool:
    namespace = etree.QName(tree.getroot()).namespace or ""
    return namespace.startswith(DMN_NAMESPACES)


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _children(node: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in node if _local(child) == name]


def _text(node: etree._Element) -> str | None:
    found = _children(node, "text")
    return found[0].text if found else None


def decision_ids(tree: etree._ElementTree) -> list[str]:
    return [d.get("id") for d in tree.getroot() if _local(d) == "decision" and d.get("id")]


def called_decisions(tree: etree._ElementTree) -> dict[str, str]:
    """business rule task id -> the decision it calls (spiffworkflow:calledDecisionId)."""
    called = {}
    for task in tree.getroot().iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}businessRuleTask"):
        for node in task.iter():
            if _local(node) == "calledDecisionId" and (node.text or "").strip():
                called[task.get("id")] = node.text.strip()
    return called


def _input_entry_source(input_expression: str, entry: str) -> str:
    """The expression DMNEngine.evaluate runs for an input entry (see its needs_eq)."""
    if _QUESTION_MARK.search(entry):
        return _QUESTION_MARK.sub(f"({input_expression})", entry)
    try:
        ast.parse(entry)
        return f"({input_expression}) == ({entry})"
    except SyntaxError:
        return f"({input_expression}) {entry}"


def dmn_cells(tree: etree._ElementTree) -> list[DmnCell]:
    """Every input expression, input entry and output entry of every decision table."""
    cells = []
    for decision in tree.getroot():
        if _local(decision) != "decision":
            continue
        decision_id = decision.get("id") or ""
        for table in _children(decision, "decisionTable"):
            inputs = []
            for column in _children(table, "input"):
                expression = next(iter(_children(column, "inputExpression")), None)
                source = (_text(expression) if expression is not None else None) or column.get("label") or ""
                inputs.append(source.strip())
                if expression is not None and source.strip():
                    cells.append(
                        DmnCell(
                            expression.get("id") or column.get("id") or decision_id,
                            decision_id,
                            expression.sourceline,
                            "decision input",
                            source.strip(),
                        )
                    )
            for rule in _children(table, "rule"):
                cells.extend(_rule_cells(rule, inputs, decision_id))
    return cells


def _rule_cells(rule: etree._Element, inputs: list[str], decision_id: str) -> list[DmnCell]:
    cells = []
    for index, entry in enumerate(_children(rule, "inputEntry")):
        text = (_text(entry) or "").strip()
        if not text or text == "-" or index >= len(inputs):
            continue
        cells.append(
            DmnCell(
                entry.get("id") or rule.get("id"),
                decision_id,
                entry.sourceline,
                "decision rule",
                _input_entry_source(inputs[index], text),
            )
        )
    for entry in _children(rule, "outputEntry"):
        text = (_text(entry) or "").strip()
        if text:
            cells.append(
                DmnCell(entry.get("id") or rule.get("id"), decision_id, entry.sourceline, "decision output", text)
            )
    return cells


def _rows(tree: etree._ElementTree) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """id -> (kind, name, cell texts) for every decision, its table and each rule."""
    rows = {}
    for decision in tree.getroot():
        if _local(decision) != "decision":
            continue
        for table in _children(decision, "decisionTable"):
            columns = tuple(
                f"{_local(c)} {c.get('label') or c.get('name') or ''}: "
                f"{(_text(next(iter(_children(c, 'inputExpression')), c)) or c.get('name') or '').strip()}"
                for c in table
                if _local(c) in ("input", "output")
            )
            rows[decision.get("id")] = (
                "decision",
                decision.get("name") or "",
                (f"hitPolicy {table.get('hitPolicy', 'UNIQUE')}", *columns),
            )
            for rule in _children(table, "rule"):
                cells = tuple(
                    (_text(entry) or "").strip() for entry in rule if _local(entry) in ("inputEntry", "outputEntry")
                )
                rows[rule.get("id")] = ("rule", decision.get("id"), cells)
    return rows


def diff_decisions(old: list[etree._ElementTree], new: list[etree._ElementTree]) -> list[tuple[str, str, str, str]]:
    """(id, kind, what, detail) for decisions and rules added, removed or changed between two
    versions' DMN files; a rule is named by its id and its decision."""
    before = {k: v for tree in old for k, v in _rows(tree).items()}
    after = {k: v for tree in new for k, v in _rows(tree).items()}
    found = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        kind, name = (now or was)[0], (now or was)[1]
        if was is None:
            found.append((key, kind, "added", f"{name}: {' | '.join(now[2])}"))
        elif now is None:
            found.append((key, kind, "removed", f"{name}: {' | '.join(was[2])}"))
        else:
            found.append((key, kind, "changed", f"{name}: {' | '.join(was[2])} -> {' | '.join(now[2])}"))
    return found
