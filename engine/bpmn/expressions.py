"""Finds every expression in a template and checks it with the restricted environment's rules,
so that an unsafe or broken expression is refused when the template is validated, not when a
dossier reaches it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from engine.bpmn import dmn
from engine.bpmn.extensions import BPMN_NS
from engine.bpmn.extensions import SPIFF_NS
from engine.bpmn.helper_names import HELPER_NAMES
from engine.bpmn.script_env import check_expression
from engine.bpmn.xml import parse_xml
from engine.domain.errors import TemplateError


@dataclass(frozen=True)
class ExpressionFinding:
    element_id: str
    line: int | None
    kind: str  # condition | script | timer | decision input | decision rule | decision output
    message: str


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _owner(node: etree._Element) -> etree._Element:
    """The nearest ancestor (or self) that carries an id: the element the editor can select."""
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node


def find_expressions(tree: etree._ElementTree) -> list[tuple[etree._Element, str, str, str]]:
    """(element, kind, mode, source) for every condition, script and timer expression."""
    root = tree.getroot()
    found = []
    for node in root.iter(_q(BPMN_NS, "conditionExpression")):
        found.append((_owner(node), "condition", "eval", node.text or ""))
    for node in root.iter(_q(BPMN_NS, "script"), _q(SPIFF_NS, "preScript"), _q(SPIFF_NS, "postScript")):
        found.append((_owner(node), "script", "exec", node.text or ""))
    for tag in ("timeDate", "timeDuration", "timeCycle"):
        for node in root.iter(_q(BPMN_NS, tag)):
            found.append((_owner(node), "timer", "eval", node.text or ""))
    for node in root.iter(_q(SPIFF_NS, "parameter")):  # a service task's connector parameters
        task = next(node.iterancestors(_q(BPMN_NS, "serviceTask")), None)  # the parameter's own id is its name
        found.append(
            (task if task is not None else _owner(node), "connector parameter", "eval", node.get("value") or "")
        )
    return [f for f in found if f[3].strip()]


def check_template_expressions(tree: etree._ElementTree) -> list[ExpressionFinding]:
    """Findings for a BPMN document's expressions, or a DMN document's cells (named by cell id)."""
    if dmn.is_dmn(tree):
        return [
            ExpressionFinding(cell.element_id, cell.line, cell.kind, problem)
            for cell in dmn.dmn_cells(tree)
            for problem in check_expression(cell.source, helper_names=HELPER_NAMES)
        ]
    findings = []
    for element, kind, mode, source in find_expressions(tree):
        for problem in check_expression(source.strip(), mode=mode, helper_names=HELPER_NAMES):
            findings.append(ExpressionFinding(element.get("id"), element.sourceline, kind, problem))
    return findings


def refuse_unsafe_expressions(files: Mapping[str, bytes]) -> None:
    """Raise TemplateError for the first unsafe or unparsable expression, naming its element."""
    for name, content in files.items():
        for finding in check_template_expressions(parse_xml(content, file_name=name)):
            raise TemplateError(
                f"{finding.kind} expression refused: {finding.message}",
                element_id=finding.element_id,
                line=finding.line,
                file_name=name,
            )
