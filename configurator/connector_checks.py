"""Publish-time checks of service tasks: each names a known connector (engine/domain/connectors.py)
with its required parameters, every parameter is written in full (id, type, value) and a literal
value is acceptable; a compute_fee decision is one of the template's decision tables. Findings
name the service task's element id."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from engine.bpmn.extensions import BPMN_NS
from engine.bpmn.extensions import SPIFF_NS
from engine.domain import connectors
from engine.domain.errors import english


@dataclass(frozen=True)
class ConnectorFinding:
    element_id: str
    line: int | None
    message: str  # English template with %(name)s placeholders
    params: dict


def _literal(source: str):
    """The value of a literal expression, or raise ValueError when it depends on the data."""
    return ast.literal_eval(source.strip())


def _operator(task: etree._Element) -> etree._Element | None:
    return next(task.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"), None)


def service_task_findings(
    trees: Mapping[str, etree._ElementTree], decision_ids: Iterable[str]
) -> list[tuple[str, ConnectorFinding]]:
    """(file name, finding) for every problem of every service task."""
    decisions = set(decision_ids)
    found = []
    for name, tree in trees.items():
        for task in tree.getroot().iter(f"{{{BPMN_NS}}}serviceTask"):
            found.extend((name, f) for f in _task_findings(task, decisions))
    return found


def _task_findings(task: etree._Element, decisions: set[str]) -> list[ConnectorFinding]:
    element_id, line = task.get("id"), task.sourceline
    operator = _operator(task)
    if operator is None or not (operator.get("id") or "").strip():
        return [
            ConnectorFinding(
                element_id,
                line,
                english("service task names no connector (choose one of %(known)s)"),
                {"known": ", ".join(sorted(connectors.CONNECTORS))},
            )
        ]
    spec = connectors.CONNECTORS.get(operator.get("id"))
    if spec is None:
        return [
            ConnectorFinding(
                element_id,
                line,
                english("unknown connector '%(connector)s' (known: %(known)s)"),
                {"connector": operator.get("id"), "known": ", ".join(sorted(connectors.CONNECTORS))},
            )
        ]
    findings, given = [], {}
    for node in operator.iter(f"{{{SPIFF_NS}}}parameter"):
        finding = _parameter_finding(spec, node, element_id, decisions)
        if finding is not None:
            findings.append(finding)
        given[node.get("id")] = node
    for parameter in spec.parameters:
        if parameter.required and parameter.name not in given:
            findings.append(
                ConnectorFinding(
                    element_id,
                    line,
                    english("connector %(connector)s needs the parameter '%(parameter)s'"),
                    {"connector": spec.name, "parameter": parameter.name},
                )
            )
    return findings


def _parameter_finding(spec, node, element_id: str, decisions: set[str]) -> ConnectorFinding | None:
    name, line = node.get("id"), node.sourceline
    parameter = spec.parameter(name or "")
    if parameter is None:
        return ConnectorFinding(
            element_id,
            line,
            english("connector %(connector)s has no parameter '%(parameter)s'"),
            {"connector": spec.name, "parameter": name or ""},
        )
    if node.get("value") is None or not node.get("type"):
        return ConnectorFinding(
            element_id,
            line,
            english("parameter '%(parameter)s' needs both a type and a value (a Python expression)"),
            {"parameter": name},
        )
    try:
        value = _literal(node.get("value"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None  # computed from the dossier's data: checked when the worker runs it (and linted as an expression)
    problem = connectors.value_problem(parameter, value)
    if problem is None and spec.name == "compute_fee" and name == "decision" and value not in decisions:
        problem = "is not a decision table of this template"
    if problem is None:
        return None
    return ConnectorFinding(
        element_id, line, english("parameter '%(parameter)s' %(problem)s"), {"parameter": name, "problem": problem}
    )
