"""Step tables as BPMN: `build_bpmn` writes an executable BPMN 2.0 document with lanes, `motcua:`
extensions and a diagram; `step_table_from_bpmn` reads such a document (also after it was
edited, while it stays a chain of tasks with exclusive gateways) back into a table."""

from __future__ import annotations

from collections import defaultdict

from lxml import etree

from configurator.step_tables.layout import Edge
from configurator.step_tables.layout import Layout
from configurator.step_tables.layout import Node
from configurator.step_tables.layout import layout_graph
from configurator.step_tables.table import STEP_ATTRS
from configurator.step_tables.table import StepTableError
from configurator.step_tables.table import clean_cell
from configurator.step_tables.table import normalise_edge
from configurator.step_tables.table import normalise_escalation
from configurator.step_tables.table import normalise_table
from configurator.step_tables.table import validate_step_table
from engine.bpmn.xml import parse_xml
from engine.domain.errors import Reason

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MOTCUA = "https://motcua.vn/schema/bpmn/1.0"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "motcua": MOTCUA}


# --- BPMN writer -------------------------------------------------------------------------------


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _sub(parent, ns: str, tag: str, attrib: dict | None = None, text: str | None = None):
    element = etree.SubElement(
        parent, _q(ns, tag), {k: str(v) for k, v in (attrib or {}).items() if v not in (None, "")}
    )
    if text is not None:
        element.text = text
    return element


def _escalation_elements(parent, escalations: list[dict]) -> None:
    for esc in escalations:
        _sub(
            parent,
            MOTCUA,
            "escalation",
            {
                "after": esc.get("after"),
                "action": esc.get("action"),
                "target": esc.get("target"),
                "priority": esc.get("priority"),
            },
        )


def _process_extensions(process, table: dict) -> None:
    ext = _sub(process, BPMN, "extensionElements")
    if table.get("procedure_code") or table.get("legal_limit"):
        _sub(ext, MOTCUA, "procedure", {"code": table.get("procedure_code"), "legalLimit": table.get("legal_limit")})
    if table.get("defaults"):
        defaults = _sub(ext, MOTCUA, "defaults", {"warnAt": table["defaults"].get("warn_at")})
        _escalation_elements(defaults, table["defaults"].get("escalations", []))
    for group in table["budget_groups"]:
        _sub(
            ext,
            MOTCUA,
            "budgetGroup",
            {"id": group.get("id"), "budget": group.get("budget"), "name": group.get("name")},
        )


def _lane_set(process, table: dict, nodes: dict[str, Node], lanes: list[str]) -> None:
    lane_set = _sub(process, BPMN, "laneSet", {"id": f"LaneSet_{table['process_id']}"})
    for lane in lanes:
        element = _sub(lane_set, BPMN, "lane", {"id": f"Lane_{lane}", "name": table["roles"].get(lane, lane)})
        for node in nodes.values():
            if node.lane == lane:
                _sub(element, BPMN, "flowNodeRef", text=node.id)


def _node_element(process, node: Node, edges: list[Edge]):
    tag = {"start": "startEvent", "task": "userTask", "gateway": "exclusiveGateway", "end": "endEvent"}[node.type]
    default = next((e.id for e in edges if e.source == node.id and e.default), None)
    element = _sub(process, BPMN, tag, {"id": node.id, "name": node.step.get("name"), "default": default})
    step = node.step
    if node.type == "task":
        ext = _sub(element, BPMN, "extensionElements")
        _sub(ext, MOTCUA, "step", {attr: step.get(key) for key, attr in STEP_ATTRS})
        _escalation_elements(ext, step.get("escalations", []))
    elif node.type == "end" and step.get("status") is not None:
        ext = _sub(element, BPMN, "extensionElements")
        _sub(ext, MOTCUA, "status", {"code": step["status"]})
    for edge in edges:
        if edge.target == node.id:
            _sub(element, BPMN, "incoming", text=edge.id)
    for edge in edges:
        if edge.source == node.id:
            _sub(element, BPMN, "outgoing", text=edge.id)


def _flow_element(process, edge: Edge) -> None:
    flow = _sub(
        process,
        BPMN,
        "sequenceFlow",
        {"id": edge.id, "name": edge.label, "sourceRef": edge.source, "targetRef": edge.target},
    )
    if edge.when:
        condition = _sub(flow, BPMN, "conditionExpression", text=edge.when)
        condition.set(_q(XSI, "type"), "bpmn:tFormalExpression")


def _diagram(root, table: dict, nodes, edges, layout: Layout) -> None:
    pid = table["process_id"]
    diagram = _sub(root, BPMNDI, "BPMNDiagram", {"id": f"Diagram_{pid}"})
    plane = _sub(diagram, BPMNDI, "BPMNPlane", {"id": f"Plane_{pid}", "bpmnElement": f"Collaboration_{pid}"})
    _shape(plane, f"Participant_{pid}", layout.pool, horizontal=True)
    for lane in layout.lanes:
        _shape(plane, f"Lane_{lane}", layout.lane_bounds[lane], horizontal=True)
    for node in nodes.values():
        _shape(plane, node.id, node.bounds, marker=node.type == "gateway")
    for edge in edges:
        element = _sub(plane, BPMNDI, "BPMNEdge", {"id": f"{edge.id}_di", "bpmnElement": edge.id})
        for x, y in edge.waypoints:
            _sub(element, DI, "waypoint", {"x": _num(x), "y": _num(y)})


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(round(value, 1))


def _shape(plane, element_id: str, bounds: tuple, horizontal=False, marker=False) -> None:
    attrib = {"id": f"{element_id}_di", "bpmnElement": element_id}
    if horizontal:
        attrib["isHorizontal"] = "true"
    if marker:
        attrib["isMarkerVisible"] = "true"
    shape = _sub(plane, BPMNDI, "BPMNShape", attrib)
    x, y, w, h = bounds
    _sub(shape, DC, "Bounds", {"x": _num(x), "y": _num(y), "width": _num(w), "height": _num(h)})


def build_bpmn(table: dict) -> bytes:
    """Build an executable BPMN 2.0 document, with lanes and a diagram, from a step table.

    Args:
        table: a step table as a dict (normalised here; see `step_table_from_json`).

    Returns:
        The BPMN document as UTF-8 bytes with an XML declaration.

    Raises:
        StepTableError: every problem of the table, each naming its step.
    """
    table = normalise_table(table)
    problems = validate_step_table(table)
    if problems:
        raise StepTableError(problems)
    nodes, edges, layout = layout_graph(table)
    pid = table["process_id"]
    root = etree.Element(
        _q(BPMN, "definitions"),
        nsmap=NSMAP,
        attrib={
            "id": f"Definitions_{pid}",
            "targetNamespace": MOTCUA,
            "exporter": "motcua step table",
            "exporterVersion": "1",
        },
    )
    collaboration = _sub(root, BPMN, "collaboration", {"id": f"Collaboration_{pid}"})
    _sub(collaboration, BPMN, "participant", {"id": f"Participant_{pid}", "name": table.get("name"), "processRef": pid})
    process = _sub(root, BPMN, "process", {"id": pid, "name": table.get("name"), "isExecutable": "true"})
    _process_extensions(process, table)
    _lane_set(process, table, nodes, layout.lanes)
    for node in nodes.values():
        _node_element(process, node, edges)
    for edge in edges:
        _flow_element(process, edge)
    _diagram(root, table, nodes, edges, layout)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- BPMN reader -------------------------------------------------------------------------------

_TASK_TAGS = {_q(BPMN, t) for t in ("userTask", "manualTask", "task")}


def _motcua(element, tag: str):
    return element.find(f"{{{BPMN}}}extensionElements/{{{MOTCUA}}}{tag}")


def _read_escalations(parent) -> list[dict]:
    if parent is None:
        return []
    return [normalise_escalation(dict(e.attrib)) for e in parent.iterfind(_q(MOTCUA, "escalation"))]


def _read_process_settings(process, table: dict) -> None:
    procedure = _motcua(process, "procedure")
    if procedure is not None:
        table.update(clean_cell({"procedure_code": procedure.get("code"), "legal_limit": procedure.get("legalLimit")}))
    defaults = _motcua(process, "defaults")
    if defaults is not None:
        table["defaults"] = {"warn_at": defaults.get("warnAt"), "escalations": _read_escalations(defaults)}
    ext = process.find(_q(BPMN, "extensionElements"))
    groups = ext.iterfind(_q(MOTCUA, "budgetGroup")) if ext is not None else []
    table["budget_groups"] = [dict(g.attrib) for g in groups]


def _lane_roles(process) -> tuple[dict[str, str], dict[str, str]]:
    """(node id -> role, role -> display name) from the lanes."""
    node_roles, names = {}, {}
    for lane in process.iter(_q(BPMN, "lane")):
        lane_id = lane.get("id", "")
        role = lane_id[5:] if lane_id.startswith("Lane_") else lane_id
        names[role] = lane.get("name") or role
        for ref in lane.iterfind(_q(BPMN, "flowNodeRef")):
            node_roles[(ref.text or "").strip()] = role
    return node_roles, names


def _read_task(element, node_roles: dict) -> dict:
    spec = _motcua(element, "step")
    attrs = dict(spec.attrib) if spec is not None else {}
    step = {"id": element.get("id"), "name": element.get("name")}
    step.update({key: attrs.get(attr) for key, attr in STEP_ATTRS})
    step["role"] = step["role"] or node_roles.get(element.get("id"))
    step["escalations"] = _read_escalations(element.find(_q(BPMN, "extensionElements")))
    return step


def _read_edges(step_id: str, flows: dict, elements: dict, problems: list[Reason]) -> list[dict]:
    out = flows.get(step_id, [])
    if len(out) != 1:
        problems.append(
            Reason.of(
                "step '%(step)s': has %(count)s outgoing flows; use one, then a gateway", step=step_id, count=len(out)
            )
        )
        return []
    target = elements.get(out[0].get("targetRef"))
    if target is None or target.tag != _q(BPMN, "exclusiveGateway"):
        return [_edge_of(out[0], None)]
    edges = [_edge_of(f, target.get("default")) for f in flows.get(target.get("id"), [])]
    if any(elements.get(e["to"]) is not None and elements[e["to"]].tag == _q(BPMN, "exclusiveGateway") for e in edges):
        problems.append(Reason.of("step '%(step)s': gateways in a row are not a step chain", step=step_id))
    return edges


def _edge_of(flow, default_id: str | None) -> dict:
    condition = flow.find(_q(BPMN, "conditionExpression"))
    return normalise_edge(
        {
            "to": flow.get("targetRef"),
            "label": flow.get("name"),
            "when": (condition.text or "").strip() if condition is not None else None,
            "default": default_id is not None and flow.get("id") == default_id,
        }
    )


def _find_process(root):
    processes = root.findall(_q(BPMN, "process"))
    executable = [p for p in processes if p.get("isExecutable") == "true"] or processes
    if len(executable) != 1:
        raise StepTableError([Reason.of("expected one executable process, found %(count)s", count=len(executable))])
    return executable[0]


def _read_steps(process, problems: list[Reason]) -> list[dict]:
    elements = {e.get("id"): e for e in process.iter() if isinstance(e.tag, str) and e.get("id")}
    flows = defaultdict(list)
    for flow in process.iterfind(_q(BPMN, "sequenceFlow")):
        flows[flow.get("sourceRef")].append(flow)
    node_roles, _ = _lane_roles(process)
    steps = []
    for element in process:
        if element.tag in _TASK_TAGS:
            step = _read_task(element, node_roles)
            step["next"] = _read_edges(element.get("id"), flows, elements, problems)
            steps.append(step)
        elif element.tag == _q(BPMN, "endEvent"):
            status = _motcua(element, "status")
            steps.append(
                {
                    "id": element.get("id"),
                    "name": element.get("name"),
                    "kind": "end",
                    "status": status.get("code") if status is not None else None,
                }
            )
        elif element.tag not in (
            _q(BPMN, t)
            for t in ("startEvent", "exclusiveGateway", "sequenceFlow", "laneSet", "extensionElements", "documentation")
        ):
            problems.append(
                Reason.of(
                    "element '%(element)s': %(kind)s is not part of a step chain",
                    element=element.get("id"),
                    kind=etree.QName(element).localname,
                )
            )
    return _first_step_first(process, steps, flows, problems)


def _first_step_first(process, steps: list[dict], flows: dict, problems: list[Reason]) -> list[dict]:
    starts = process.findall(_q(BPMN, "startEvent"))
    if len(starts) != 1 or len(flows.get(starts[0].get("id"), [])) != 1:
        problems.append(Reason.of("the process needs exactly one start event with one outgoing flow"))
        return steps
    first = flows[starts[0].get("id")][0].get("targetRef")
    return sorted(steps, key=lambda s: s["id"] != first)


def step_table_from_bpmn(xml: bytes | str) -> dict:
    """Read a BPMN built by `build_bpmn` (or edited since, while it stays a chain of tasks with
    exclusive gateways) back into a normalised step table.

    Raises:
        TemplateError: the XML is unsafe or not well-formed.
        StepTableError: the diagram is not a step chain (every problem listed).
    """
    root = parse_xml(xml).getroot()
    problems: list[Reason] = []
    process = _find_process(root)
    participant = root.find(f"{{{BPMN}}}collaboration/{{{BPMN}}}participant")
    table = {
        "process_id": process.get("id"),
        "name": process.get("name") or (participant.get("name") if participant is not None else None),
    }
    _read_process_settings(process, table)
    steps = _read_steps(process, problems)
    if problems:
        raise StepTableError(problems)
    _, names = _lane_roles(process)
    used = list(dict.fromkeys(s.get("role") for s in steps if s.get("role")))
    table["roles"] = {role: names.get(role, role) for role in used}
    table["steps"] = steps
    return normalise_table(table)
