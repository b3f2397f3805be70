"""Reads the domain properties of a template (roles, budgets, escalation) from its BPMN XML.

Our own `motcua:` namespace comes first (docs/bpmn-extensions.md); Camunda/Flowable attributes
and SpiffWorkflow properties are read where a file has them, and the lane is the last resort.
Durations stay text here: the calendar layer turns them into working minutes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field

from lxml import etree

from engine.bpmn.xml import parse_xml

MOTCUA_NS = "https://motcua.vn/schema/bpmn/1.0"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
FLOWABLE_NS = "http://flowable.org/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
VENDOR_NAMESPACES = (CAMUNDA_NS, FLOWABLE_NS, ACTIVITI_NS)

HUMAN_TASK_TAGS = ("userTask", "manualTask")


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


@dataclass(frozen=True)
class EscalationLevel:
    after: str  # working time after the due time, e.g. "0h", "4h", "1d"
    action: str  # notify | reassign | priority
    target: str | None = None
    priority: int | None = None


@dataclass(frozen=True)
class StepPolicy:
    """What the engine needs to know about one human step, beyond SpiffWorkflow's spec."""

    element_id: str
    name: str
    role: str | None = None
    assignee: str | None = None
    budget: str | None = None
    budget_group: str | None = None
    warn_at: str | None = None
    clock_start: str = "created"
    priority: int = 50
    form: str | None = None
    status: int | None = None
    escalations: tuple[EscalationLevel, ...] = ()
    #: The dossier's legal clock stops while this step is open (a public posting, an expert
    #: appraisal a procedure excludes from its time limit); the appointment moves when it ends.
    pauses_clock: bool = False
    #: A commune may skip this step (its local differences); the template's author vouches that
    #: nothing after it depends on its data.
    optional: bool = False


@dataclass(frozen=True)
class BudgetGroup:
    group_id: str
    budget: str
    name: str | None = None


@dataclass(frozen=True)
class ProcessPolicy:
    process_id: str
    procedure_code: str | None = None
    #: `motcua:procedure legalLimit`: a working duration ("3d"), or a same-day limit ("same day",
    #: "trong ngày" or "0d"); engine.domain.deadlines.parse_legal_limit reads both.
    legal_limit: str | None = None
    warn_at: str = "75%"
    escalations: tuple[EscalationLevel, ...] = ()
    budget_groups: dict[str, BudgetGroup] = field(default_factory=dict)
    steps: dict[str, StepPolicy] = field(default_factory=dict)
    node_statuses: dict[str, int] = field(default_factory=dict)


def read_policies(tree: etree._ElementTree | etree._Element) -> dict[str, ProcessPolicy]:
    """Policies for every process in a BPMN document, keyed by process id."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    return {p.get("id"): _read_process(p) for p in root.iter(_q(BPMN_NS, "process"))}


def _read_process(process: etree._Element) -> ProcessPolicy:
    ext = _extension_elements(process)
    procedure = _first(ext, "procedure")
    defaults = _first(ext, "defaults")
    groups = {
        g.get("id"): BudgetGroup(g.get("id"), g.get("budget", "0h"), g.get("name"))
        for g in _children(ext, "budgetGroup")
    }
    lanes = _lane_names(process)
    steps: dict[str, StepPolicy] = {}
    statuses: dict[str, int] = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        status = _status_of(node)
        if status is not None:
            statuses[node.get("id")] = status
        if etree.QName(node).localname in HUMAN_TASK_TAGS and etree.QName(node).namespace == BPMN_NS:
            steps[node.get("id")] = _read_step(node, lanes.get(node.get("id")))
    return ProcessPolicy(
        process_id=process.get("id"),
        procedure_code=procedure.get("code") if procedure is not None else None,
        legal_limit=procedure.get("legalLimit") if procedure is not None else None,
        warn_at=(defaults.get("warnAt") if defaults is not None else None) or "75%",
        escalations=_escalations(defaults),
        budget_groups=groups,
        steps=steps,
        node_statuses=statuses,
    )


def _read_step(node: etree._Element, lane_name: str | None) -> StepPolicy:
    ext = _extension_elements(node)
    step = _first(ext, "step")
    props = _spiff_properties(ext)
    own = dict(step.attrib) if step is not None else {}
    return StepPolicy(
        element_id=node.get("id"),
        name=node.get("name") or node.get("id"),
        role=own.get("role")
        or _vendor_attr(node, "candidateGroups")
        or props.get("candidate_groups")
        or props.get("role")
        or lane_name,
        assignee=own.get("assignee") or _vendor_attr(node, "assignee"),
        budget=own.get("budget")
        or _vendor_attr(node, "dueDate")
        or props.get("budget")
        or _days(props.get("sla_working_days")),
        budget_group=own.get("budgetGroup"),
        warn_at=own.get("warnAt"),
        clock_start=own.get("clockStart", "created"),
        priority=_int(own.get("priority") or _vendor_attr(node, "priority"), 50),
        form=own.get("form") or _vendor_attr(node, "formKey"),
        status=_int(own.get("status"), None),
        escalations=_escalations(ext),
        pauses_clock=own.get("pause") == "clock",
        optional=own.get("optional") == "true",
    )


def _extension_elements(node: etree._Element) -> etree._Element | None:
    return node.find(_q(BPMN_NS, "extensionElements"))


def _first(ext: etree._Element | None, tag: str) -> etree._Element | None:
    return ext.find(_q(MOTCUA_NS, tag)) if ext is not None else None


def _children(ext: etree._Element | None, tag: str) -> list[etree._Element]:
    return ext.findall(_q(MOTCUA_NS, tag)) if ext is not None else []


def _escalations(ext: etree._Element | None) -> tuple[EscalationLevel, ...]:
    return tuple(
        EscalationLevel(
            after=e.get("after", "0h"),
            action=e.get("action", "notify"),
            target=e.get("target"),
            priority=_int(e.get("priority"), None),
        )
        for e in _children(ext, "escalation")
    )


def _status_of(node: etree._Element) -> int | None:
    status = _first(_extension_elements(node), "status")
    return _int(status.get("code"), None) if status is not None else None


def _spiff_properties(ext: etree._Element | None) -> dict[str, str]:
    if ext is None:
        return {}
    return {
        p.get("name"): p.get("value")
        for p in ext.iter(_q(SPIFF_NS, "property"), _q(CAMUNDA_NS, "property"))
        if p.get("name")
    }


def _vendor_attr(node: etree._Element, name: str) -> str | None:
    for ns in VENDOR_NAMESPACES:
        value = node.get(_q(ns, name))
        if value:
            return value
    return None


def _lane_names(process: etree._Element) -> dict[str, str]:
    names: dict[str, str] = {}
    for lane in process.iter(_q(BPMN_NS, "lane")):
        for ref in lane.findall(_q(BPMN_NS, "flowNodeRef")):
            if ref.text:
                names[ref.text.strip()] = lane.get("name") or lane.get("id")
    return names


def _days(value: str | None) -> str | None:
    return f"{value}d" if value else None


def _int(value: str | None, default: int | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def process_flow(files: dict[str, str], key: str) -> tuple[list[str], dict[str, list[str]]]:
    """The flow of process `key` among a template's files: its start events and, per element, the
    elements it leads to (sequence flows, and a task to each boundary event attached to it).
    Empty when no file holds the process."""
    process = None
    for name, text in files.items():
        if name.endswith((".bpmn", ".bpmn2", ".xml")):
            tree = parse_xml(text, file_name=name)
            process = next((p for p in tree.getroot().iter(f"{{{BPMN_NS}}}process") if p.get("id") == key), None)
            if process is not None:
                break
    edges: dict[str, list[str]] = defaultdict(list)
    starts: list[str] = []
    for node in process if process is not None else ():
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        kind = etree.QName(node).localname
        if kind == "sequenceFlow":
            edges[node.get("sourceRef")].append(node.get("targetRef"))
        elif kind == "boundaryEvent":
            edges[node.get("attachedToRef")].append(node.get("id"))
        elif kind == "startEvent":
            starts.append(node.get("id"))
    return starts, edges
