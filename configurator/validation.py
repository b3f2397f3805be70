"""Validates a BPMN template before it is published: safe XML, the BPMN schema and SpiffWorkflow's
own checks, then the rules of the one-stop product (every human step has a role and a time
budget, every path ends, decisions are decidable, expressions are safe, called processes exist,
the step budgets along the longest path fit the legal time limit, and budgets, escalations,
warnings and timers keep sane bounds: engine/bpmn/bounds.py).

Everything is reported as findings naming the element (and its line) so the editor can select
it; nothing here raises for bad input.

Size note: over 400 lines because the flow graph (reachability, back edges, the longest path
with budget groups) belongs to these rules alone; it sits below them in two small classes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import time

from lxml import etree

from configurator.connector_checks import service_task_findings
from engine.bpmn import bounds
from engine.bpmn import dmn
from engine.bpmn.expressions import check_template_expressions
from engine.bpmn.expressions import find_expressions
from engine.bpmn.extensions import BPMN_NS
from engine.bpmn.extensions import ProcessPolicy
from engine.bpmn.extensions import read_policies
from engine.bpmn.parser import parse_bundle
from engine.bpmn.xml import element_line
from engine.bpmn.xml import parse_xml
from engine.domain import deadlines
from engine.domain.deadlines import parse_working_duration
from engine.domain.errors import Reason
from engine.domain.errors import TemplateError
from engine.domain.errors import english
from engine.domain.graphs import forward_edges
from engine.domain.graphs import heaviest_path
from engine.domain.graphs import reachable

DMN_NAMESPACES = dmn.DMN_NAMESPACES
ACTIVITY_TAGS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
EVENT_TAGS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAY_TAGS = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
)
FLOW_NODE_TAGS = ACTIVITY_TAGS | EVENT_TAGS | GATEWAY_TAGS
CONTAINER_TAGS = ("process", "subProcess", "transaction")  # ad-hoc subprocesses have no flow
MAX_PATH_STATES = 256  # budget-group combinations kept per node (bounds pathological diagrams)


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    code: str
    message: str  # English; `template` and `params` let a page show it in another language
    element_id: str | None = None
    line: int | None = None
    file: str | None = None
    template: str | None = field(default=None, compare=False, repr=False)
    params: dict = field(default_factory=dict, compare=False, repr=False)
    # Every element the finding concerns (the steps of a path too long), the element_id first.
    elements: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "element_id": self.element_id,
            "line": self.line,
            "file": self.file,
            "elements": list(self.elements or ((self.element_id,) if self.element_id else ())),
        }


@dataclass
class ValidationReport:
    """The outcome of validating one template (one or several files)."""

    files: list[str]
    process_id: str | None = None
    imported: bool = False
    findings: list[Finding] = field(default_factory=list)
    longest_path: list[str] = field(default_factory=list)
    longest_path_minutes: int = 0
    legal_limit_minutes: int | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "process_id": self.process_id,
            "ok": self.ok,
            "imported": self.imported,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "longest_path": self.longest_path,
            "longest_path_minutes": self.longest_path_minutes,
            "legal_limit_minutes": self.legal_limit_minutes,
        }


def validate_template(
    files: Mapping[str, bytes],
    process_id: str | None = None,
    legal_limit_minutes: int | None = None,
    clock_cutoff: str | None = None,
) -> ValidationReport:
    """Check a template and report every problem found.

    Args:
        files: file name -> BPMN bytes (several files when call activities cross files).
        process_id: the process a dossier runs; None picks the only executable process.
        legal_limit_minutes: the catalogue's legal limit in working minutes; None falls back to
            the process's `motcua:procedure legalLimit`. deadlines.SAME_DAY (0) is "same day".
        clock_cutoff: 'HH:MM' after which a receipt counts from the next working day; for a
            same-day procedure the longest path must fit in the working time left after it.

    Returns:
        A ValidationReport; `ok` is True when it has no errors.
    """
    report = ValidationReport(files=sorted(files), process_id=process_id)
    template = _Template(report)
    for name, content in files.items():
        template.read(name, content)
    if not template.trees:
        if not template.bad_files:
            template.error("no-process", "the files hold no BPMN document (only decision tables?)")
        return report
    template.guarded("import", template.check_import, files, process_id)
    for check in (
        template.check_expressions,
        template.check_timers,
        template.check_called_processes,
        template.check_decisions,
        template.check_service_tasks,
        template.check_steps,
        template.check_flow,
    ):
        template.guarded(check.__name__, check)
    template.guarded("longest-path", template.check_longest_path, legal_limit_minutes, clock_cutoff)
    return report


class _Template:
    """The parsed documents of one template, and the checks that add findings to its report."""

    def __init__(self, report: ValidationReport):
        self.report = report
        self.trees: dict[str, etree._ElementTree] = {}
        self.decision_trees: dict[str, etree._ElementTree] = {}  # the DMN files
        self.bad_files: set[str] = set()
        self.policies: dict[str, tuple[str, ProcessPolicy]] = {}

    # --- reporting ---------------------------------------------------------------------------

    def add(
        self,
        severity: str,
        code: str,
        message: str,
        element_id: str | None = None,
        file: str | None = None,
        line: int | None = None,
        elements: tuple[str, ...] = (),
        **params,
    ) -> None:
        """`message` is English, a template with %(name)s placeholders when `params` are given."""
        tree = self.trees.get(file) or self.decision_trees.get(file)
        if line is None and element_id and tree is not None:
            line = element_line(tree, element_id)
        text = message % params if params else message
        self.report.findings.append(Finding(severity, code, text, element_id, line, file, message, params, elements))

    def error(self, code: str, message: str, element_id=None, file=None, line=None, elements=(), **params) -> None:
        self.add("error", code, message, element_id, file, line, elements, **params)

    def warning(self, code: str, message: str, element_id=None, file=None, line=None, **params) -> None:
        self.add("warning", code, message, element_id, file, line, **params)

    def guarded(self, name: str, check: Callable, *args) -> None:
        # A check must never stop the others: a crash on an odd diagram becomes a finding.
        try:
            check(*args)
        except Exception as exc:  # noqa: BLE001
            self.error(
                "check-failed",
                "the %(check)s check failed: %(error)s",
                check=name,
                error=f"{type(exc).__name__}: {exc}",
            )

    # --- reading -----------------------------------------------------------------------------

    def read(self, name: str, content: bytes) -> None:
        try:
            tree = parse_xml(content, file_name=name)
        except TemplateError as exc:
            self.bad_files.add(name)
            self.error("xml", exc.message, exc.element_id, name, exc.line)
            return
        except Exception as exc:  # noqa: BLE001 - e.g. content that is neither bytes nor text
            self.bad_files.add(name)
            self.error("xml", "cannot read the document: %(error)s", file=name, error=str(exc))
            return
        namespace = etree.QName(tree.getroot()).namespace or ""
        if namespace.startswith(DMN_NAMESPACES):
            self.decision_trees[name] = tree  # decision tables travel with the template
            return
        if namespace != BPMN_NS:
            self.bad_files.add(name)
            self.error(
                "not-bpmn",
                "not a BPMN 2.0 document (root namespace '%(namespace)s')",
                file=name,
                line=tree.getroot().sourceline,
                namespace=namespace,
            )
            return
        self.trees[name] = tree
        for pid, policy in read_policies(tree).items():
            self.policies[pid] = (name, policy)

    def processes(self) -> list[tuple[str, etree._Element]]:
        """(file, process) for every process the checks cover: the executable ones, the chosen
        one and the called ones; all processes when none is executable."""
        found = [(n, p) for n, t in self.trees.items() for p in t.getroot().iter(_q("process"))]
        called = {c.get("calledElement") for _, p in found for c in p.iter(_q("callActivity"))}
        covered = [
            (n, p)
            for n, p in found
            if p.get("isExecutable") == "true" or p.get("id") in called or p.get("id") == self.report.process_id
        ]
        return covered or found

    # --- checks ------------------------------------------------------------------------------

    def check_import(self, files: Mapping[str, bytes], process_id: str | None) -> None:
        if self.bad_files:
            return  # parse_bundle would only repeat the XML error
        model_files = {name: files[name] for name in [*self.trees, *self.decision_trees]}
        try:
            bundle = parse_bundle(model_files, process_id)
        except TemplateError as exc:
            self.error("import", exc.message, exc.element_id, exc.file_name, exc.line)
            return
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow can fail on odd input
            self.error(
                "import", "SpiffWorkflow cannot parse the template: %(error)s", error=f"{type(exc).__name__}: {exc}"
            )
            return
        self.report.imported = True
        self.report.process_id = bundle.process_id

    def check_expressions(self) -> None:
        for name, tree in self.trees.items():
            for found in check_template_expressions(tree):
                self.error(
                    "expression",
                    "%(kind)s expression refused: %(reason)s",
                    found.element_id,
                    name,
                    found.line,
                    kind=found.kind,
                    reason=found.message,
                )
        for name, tree in self.decision_trees.items():
            for found in check_template_expressions(tree):
                self.error(
                    "expression",
                    "%(kind)s expression refused: %(reason)s",
                    found.element_id,
                    name,
                    found.line,
                    kind=found.kind,
                    reason=found.message,
                )

    def check_service_tasks(self) -> None:
        decisions = [d for tree in self.decision_trees.values() for d in dmn.decision_ids(tree)]
        for name, found in service_task_findings(self.trees, decisions):
            self.error("connector", found.message, found.element_id, name, found.line, **found.params)

    def check_decisions(self) -> None:
        """Every business rule task calls a decision table of the template's files."""
        known = {d for tree in self.decision_trees.values() for d in dmn.decision_ids(tree)}
        for name, tree in self.trees.items():
            for task in tree.getroot().iter(_q("businessRuleTask")):
                called = dmn.called_decisions(tree).get(task.get("id"))
                if not called:
                    self.error(
                        "called-decision",
                        "business rule task names no decision table (spiffworkflow:calledDecisionId)",
                        task.get("id"),
                        name,
                    )
                elif called not in known:
                    self.error(
                        "called-decision",
                        "calls decision '%(decision)s', which is not in the template's files",
                        task.get("id"),
                        name,
                        decision=called,
                    )

    def check_timers(self) -> None:
        """Literal timer values parse and keep sane bounds; helpers are not asked for centuries."""
        for name, tree in self.trees.items():
            for tag in ("timeDate", "timeDuration", "timeCycle"):
                attribute = "bpmn:" + tag
                for node in tree.getroot().iter(_q(tag)):
                    problem = bounds.timer_problem(tag, node.text or "")
                    if problem is not None:
                        self.error(
                            "timer",
                            "%(attribute)s %(text)s %(problem)s",
                            _event_id(node),
                            name,
                            node.sourceline,
                            attribute=attribute,
                            text=(node.text or "").strip(),
                            problem=problem,
                        )
            for element, kind, mode, source in find_expressions(tree):
                for helper, problem in bounds.helper_span_problems(source, mode):
                    self.error(
                        "helper-span",
                        "%(kind)s expression: %(helper)s %(problem)s",
                        _element_id(element),
                        name,
                        kind=kind,
                        helper=helper,
                        problem=problem,
                    )

    def check_called_processes(self) -> None:
        known = {p.get("id") for t in self.trees.values() for p in t.getroot().iter(_q("process"))}
        for name, tree in self.trees.items():
            for call in tree.getroot().iter(_q("callActivity")):
                called = call.get("calledElement")
                if not called:
                    self.error("called-process", "call activity names no process (calledElement)", call.get("id"), name)
                elif called not in known:
                    self.error(
                        "called-process",
                        "calls process '%(process)s', which is not in the template's files",
                        call.get("id"),
                        name,
                        process=called,
                    )

    def check_steps(self) -> None:
        for file, process in self.processes():
            _, policy = self.policies[process.get("id")]
            self._check_process_defaults(file, policy)
            for step in policy.steps.values():
                self._check_step(file, policy, step)
            if policy.legal_limit:
                minutes = _legal_minutes(policy.legal_limit)  # 'same day' is 0
                if minutes is None:
                    self.duration(policy.legal_limit, Reason.of("legal limit"), policy.process_id, file)
                else:
                    self.within_bounds(
                        policy.legal_limit, minutes, "motcua:procedure legalLimit", policy.process_id, file, minimum=0
                    )

    def _check_process_defaults(self, file: str, policy: ProcessPolicy) -> None:
        """Shared budgets, and the warning and escalations every step inherits."""
        for group in policy.budget_groups.values():
            self.bounded(
                group.budget,
                Reason.of("budget of budget group '%(group)s'", group=group.group_id),
                "motcua:budgetGroup budget",
                group.group_id or policy.process_id,
                file,
                minimum=1,
            )
        self.warn_at(policy.warn_at, "motcua:defaults warnAt", policy.process_id, file)
        for level in policy.escalations:
            self.bounded(
                level.after,
                Reason.of("escalation 'after'"),
                "motcua:escalation after",
                policy.process_id,
                file,
                minimum=0,
            )

    def _check_step(self, file: str, policy: ProcessPolicy, step) -> None:
        sid = step.element_id
        if not step.role:
            self.error(
                "role-missing",
                "step '%(step)s' has no role (motcua:step role, candidate groups or a lane)",
                sid,
                file,
                step=step.name,
            )
        if not step.budget and not step.budget_group:
            self.error(
                "budget-missing",
                "step '%(step)s' has no time budget (motcua:step budget or budgetGroup)",
                sid,
                file,
                step=step.name,
            )
        if step.budget:
            self.bounded(step.budget, Reason.of("budget"), "motcua:step budget", sid, file, minimum=1)
        if step.warn_at is not None:
            self.warn_at(step.warn_at, "motcua:step warnAt", sid, file)
        if step.budget_group and step.budget_group not in policy.budget_groups:
            self.error(
                "budget-group-unknown",
                "step '%(step)s' names budget group '%(group)s', which the process does not define",
                sid,
                file,
                step=step.name,
                group=step.budget_group,
            )
        for level in step.escalations:
            self.bounded(level.after, Reason.of("escalation 'after'"), "motcua:escalation after", sid, file, minimum=0)

    def bounded(
        self, text: str, what: Reason, attribute: str, element_id: str | None, file: str, *, minimum: int
    ) -> int | None:
        """Working minutes of a duration within `minimum`..ten years, or None after an error
        naming the element and the attribute."""
        minutes = self.duration(text, what, element_id, file)
        if minutes is None:
            return None
        return self.within_bounds(text, minutes, attribute, element_id, file, minimum=minimum)

    def within_bounds(
        self, text: str, minutes: int, attribute: str, element_id: str | None, file: str, *, minimum: int
    ) -> int | None:
        problem = bounds.working_duration_problem(text, minutes, minimum)
        if problem is not None:
            self.error(
                "duration-bounds",
                "%(attribute)s '%(text)s' %(problem)s",
                element_id,
                file,
                attribute=attribute,
                text=text,
                problem=problem,
            )
            return None
        return minutes

    def warn_at(self, text: str, attribute: str, element_id: str | None, file: str) -> None:
        problem = bounds.warn_at_problem(text)
        if problem is not None:
            self.error(
                "warn-at",
                "%(attribute)s '%(text)s' %(problem)s",
                element_id,
                file,
                attribute=attribute,
                text=text,
                problem=problem,
            )

    def duration(self, text: str, what: Reason, element_id: str | None, file: str) -> int | None:
        """Working minutes of a duration, or None after an error naming the element."""
        try:
            return parse_working_duration(text)
        except Exception as exc:  # noqa: BLE001 - whatever the parser raises, the text is bad
            self.error(
                "duration",
                "%(what)s '%(text)s' is not a working duration like 4h, 0.5d or PT4H (%(error)s)",
                element_id,
                file,
                what=what,
                text=text,
                error=str(exc),
            )
            return None

    def check_flow(self) -> None:
        for file, process in self.processes():
            for container in _containers(process):
                graph = _Graph.of(container)
                self._check_ends(file, graph)
                self._check_gateways(file, graph)

    def _check_ends(self, file: str, graph: _Graph) -> None:
        dead_ends = [n for n in graph.nodes if not graph.out[n] and not graph.is_terminal(n)]
        for node in dead_ends:
            self.error(
                "no-outgoing",
                "%(node)s has no outgoing flow and is not an end event",
                node,
                file,
                node=graph.describe(node),
            )
        if not graph.starts:
            return  # SpiffWorkflow reports a missing start event; nothing to walk from
        reachable = graph.reachable(graph.starts)
        for node in graph.nodes:
            if node not in reachable and not graph.is_start(node):
                self.error(
                    "unreachable",
                    "%(node)s cannot be reached from a start event",
                    node,
                    file,
                    node=graph.describe(node),
                )
        finishing = graph.co_reachable([n for n in graph.nodes if graph.is_terminal(n)])
        explained = graph.co_reachable(dead_ends)
        for node in graph.nodes:
            if node in reachable and node not in finishing and node not in explained:
                self.error(
                    "no-end",
                    "no end event can be reached from %(node)s (a loop without an exit)",
                    node,
                    file,
                    node=graph.describe(node),
                )

    def _check_gateways(self, file: str, graph: _Graph) -> None:
        for node, element in graph.nodes.items():
            if _local(element) not in ("exclusiveGateway", "inclusiveGateway"):
                continue
            flows = graph.flows_out[node]
            default = element.get("default")
            if default and default not in {f.get("id") for f in flows}:
                self.error(
                    "gateway-default",
                    "the default flow '%(flow)s' is not an outgoing flow of %(node)s",
                    node,
                    file,
                    flow=default,
                    node=graph.describe(node),
                )
            if len(flows) < 2:
                continue
            for flow in flows:
                if flow.get("id") == default:
                    if _condition(flow):
                        self.warning(
                            "gateway-default",
                            "the default flow '%(flow)s' has a condition, which is never evaluated",
                            node,
                            file,
                            flow=flow.get("id"),
                        )
                elif not _condition(flow):
                    self.error(
                        "gateway-condition",
                        "flow '%(flow)s' out of %(node)s has no condition and is not the default",
                        node,
                        file,
                        flow=flow.get("id"),
                        node=graph.describe(node),
                    )

    def check_longest_path(self, legal_limit_minutes: int | None, clock_cutoff: str | None = None) -> None:
        pid = self.report.process_id or self._only_executable()
        if pid is None or pid not in self.policies:
            return
        file, policy = self.policies[pid]
        process = next(p for p in self.trees[file].getroot().iter(_q("process")) if p.get("id") == pid)
        path, minutes = _LongestPath(policy).of(process)
        self.report.longest_path, self.report.longest_path_minutes = path, minutes
        # A bad legalLimit was already named by check_steps; here it only means "no limit".
        limit = legal_limit_minutes if legal_limit_minutes is not None else _legal_minutes(policy.legal_limit)
        self.report.legal_limit_minutes = limit
        steps = [node for node in path if node in policy.steps]
        if deadlines.is_same_day(limit):
            self._check_same_day(policy, steps, minutes, clock_cutoff, pid, file)
        elif limit is not None and minutes > limit:
            self.error(
                "legal-limit",
                "the step budgets on the longest path add up to %(total)s, more than the "
                "legal limit of %(limit)s: %(path)s",
                file=file,
                **_on_path(steps, pid),
                total=working_time(minutes),
                limit=working_time(limit),
                path=_path_names(policy, steps),
            )
        elif limit is None and policy.steps:
            self.warning(
                "legal-limit-missing",
                "no legal limit to compare the step budgets with (motcua:procedure legalLimit or the catalogue)",
                pid,
                file,
            )

    def _check_same_day(
        self, policy: ProcessPolicy, steps: list[str], minutes: int, clock_cutoff: str | None, pid: str, file: str
    ) -> None:
        """A dossier received just before the cut-off that moves at its step budgets must be done
        by the end of that working day."""
        cutoff = _time(clock_cutoff)
        available = deadlines.same_day_budget(cutoff)
        if minutes <= available:
            return
        if cutoff is None:
            self.error(
                "legal-limit-same-day",
                "the step budgets on the longest path add up to %(total)s, more "
                "than the working day a same-day procedure has: %(path)s",
                file=file,
                **_on_path(steps, pid),
                total=working_time(minutes),
                path=_path_names(policy, steps),
            )
        else:
            self.error(
                "legal-limit-same-day",
                "the step budgets on the longest path add up to %(total)s, more "
                "than the %(left)s a same-day procedure has after its %(cutoff)s cut-off: %(path)s",
                file=file,
                **_on_path(steps, pid),
                total=working_time(minutes),
                left=working_time(available),
                cutoff=clock_cutoff,
                path=_path_names(policy, steps),
            )

    def _only_executable(self) -> str | None:
        ids = [p.get("id") for _, p in self.processes() if p.get("isExecutable") == "true"]
        return ids[0] if len(ids) == 1 else None


# --- the sequence-flow graph of one container ---------------------------------------------------


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _event_id(timer_value: etree._Element) -> str | None:
    """The id of the event a timer value belongs to (the shape the editor selects), not of its
    timerEventDefinition."""
    return _element_id(timer_value.getparent())


def _element_id(node: etree._Element | None) -> str | None:
    """The id of `node` or of the nearest element around it that the editor can select."""
    while node is not None and (node.get("id") is None or _local(node) == "timerEventDefinition"):
        node = node.getparent()
    return node.get("id") if node is not None else None


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _condition(flow: etree._Element) -> bool:
    condition = flow.find(_q("conditionExpression"))
    return condition is not None and bool((condition.text or "").strip())


def _containers(process: etree._Element) -> list[etree._Element]:
    return [process] + [e for e in process.iter(*(_q(t) for t in CONTAINER_TAGS[1:]))]


def _definition(element: etree._Element, kind: str) -> etree._Element | None:
    return element.find(_q(kind))


@dataclass
class _Graph:
    """Flow nodes directly inside one process or subprocess, and the flows between them.

    Boundary events hang off their activity, and a link throw event continues at the link catch
    event of the same name, so both count as edges."""

    nodes: dict[str, etree._Element]
    out: dict[str, list[str]]
    flows_out: dict[str, list[etree._Element]]
    starts: list[str]

    @classmethod
    def of(cls, container: etree._Element) -> _Graph:
        nodes = {c.get("id"): c for c in container if _local(c) in FLOW_NODE_TAGS and c.get("id")}
        out: dict[str, list[str]] = defaultdict(list)
        flows_out: dict[str, list[etree._Element]] = defaultdict(list)
        for flow in container.iterchildren(_q("sequenceFlow")):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in nodes and target in nodes:
                out[source].append(target)
                flows_out[source].append(flow)
        for node_id, element in nodes.items():
            if _local(element) == "boundaryEvent" and element.get("attachedToRef") in nodes:
                out[element.get("attachedToRef")].append(node_id)
        _link_events(nodes, out)
        graph = cls(nodes, out, flows_out, [])
        graph.starts = [n for n in nodes if graph.is_start(n)]
        if not any(_local(nodes[n]) == "startEvent" for n in graph.starts):
            graph.starts += graph._implicit_starts()
        return graph

    def _implicit_starts(self) -> list[str]:
        """Without a start event, BPMN starts every node that no flow enters."""
        targets = {t for ts in self.out.values() for t in ts}
        return [n for n, e in self.nodes.items() if n not in targets and _local(e) not in ("boundaryEvent", "endEvent")]

    def is_start(self, node: str) -> bool:
        """Entered without a sequence flow: start events, event subprocesses, compensation handlers."""
        element = self.nodes[node]
        return (
            _local(element) == "startEvent"
            or element.get("triggeredByEvent") == "true"
            or element.get("isForCompensation") == "true"
        )

    def is_terminal(self, node: str) -> bool:
        """Needs no outgoing flow."""
        element = self.nodes[node]
        if _local(element) == "boundaryEvent" and _definition(element, "compensateEventDefinition") is not None:
            return True
        return _local(element) == "endEvent" or (self.is_start(node) and _local(element) != "startEvent")

    def reachable(self, sources: Iterable[str]) -> set[str]:
        return reachable(sources, self.out)

    def co_reachable(self, targets: Iterable[str]) -> set[str]:
        back: dict[str, list[str]] = defaultdict(list)
        for source, nodes in self.out.items():
            for target in nodes:
                back[target].append(source)
        return reachable(targets, back)

    def describe(self, node: str) -> str:
        """An element as the modeller knows it: by its name (the list selects it on the diagram);
        by its kind and id only when it has no name."""
        element = self.nodes[node]
        name = (element.get("name") or "").strip()
        return f"«{name}»" if name else f"{_local(element)} {node!r}"


def _link_events(nodes: dict[str, etree._Element], out: dict[str, list[str]]) -> None:
    catches: dict[str, list[str]] = defaultdict(list)
    for node_id, element in nodes.items():
        link = _definition(element, "linkEventDefinition")
        if link is not None and _local(element) == "intermediateCatchEvent":
            catches[link.get("name") or ""].append(node_id)
    for node_id, element in nodes.items():
        link = _definition(element, "linkEventDefinition")
        if link is not None and _local(element) == "intermediateThrowEvent":
            out[node_id].extend(catches.get(link.get("name") or "", []))


def _legal_minutes(text: str | None) -> int | None:
    """A legal limit's working minutes (SAME_DAY for 'same day'); None when missing or bad."""
    if not text:
        return None
    try:
        return deadlines.parse_legal_limit(text)
    except Exception:  # noqa: BLE001 - whatever the parser raises, the text is bad
        return None


def _time(text: str | None) -> time | None:
    """'15:00' as a time; None when missing (a bad cut-off is refused where it is entered)."""
    try:
        return time.fromisoformat(text) if text else None
    except ValueError:
        return None


def _minutes(text: str | None) -> int | None:
    """Working minutes of a duration; None when it is missing or bad (check_steps names it)."""
    if not text:
        return None
    try:
        return parse_working_duration(text)
    except Exception:  # noqa: BLE001 - whatever the parser raises, the text is bad
        return None


def _on_path(steps: list[str], pid: str) -> dict:
    """Where a path finding lands: on the path's steps (the first one selects), or on the
    process when the path has no step."""
    return {"element_id": steps[0] if steps else pid, "elements": tuple(steps)}


def _path_names(policy: ProcessPolicy, steps: list[str]) -> str:
    """The path as the modeller reads it: step names, in order."""
    return " → ".join(policy.steps[s].name or s for s in steps)


#: A working time said in parts ('3 ngày 4 giờ làm việc'); English says each part's plural.
TIME_PARTS = (
    (480, english("%(n)s days"), english("1 day")),
    (60, english("%(n)s hours"), english("1 hour")),
    (1, english("%(n)s minutes"), english("1 minute")),
)
TIME_WHOLE = {
    1: english("%(a)s of working time"),
    2: english("%(a)s %(b)s of working time"),
    3: english("%(a)s %(b)s %(c)s of working time"),
}


def working_time(minutes: int) -> Reason:
    """Working time as people say it (1 day = 8 working hours): in Vietnamese '3 ngày 4 giờ làm
    việc', in English '3 days 4 hours of working time'."""
    parts, rest = [], minutes
    for size, many, one in TIME_PARTS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(Reason.of(one) if count == 1 else Reason.of(many, n=count))
    parts = parts or [Reason.of(TIME_PARTS[1][1], n=0)]
    return Reason.of(TIME_WHOLE[len(parts)], **dict(zip("abc", parts)))


# --- longest path -------------------------------------------------------------------------------


class _LongestPath:
    """Budgets along the longest path from a start to an end event (engine.domain.graphs'
    heaviest_path over one container's flow): loops count once, a budget group's steps weigh the
    group's budget once per path, and an embedded subprocess weighs its own longest path."""

    def __init__(self, policy: ProcessPolicy):
        self.policy = policy
        self.group_minutes = {g: _minutes(b.budget) or 0 for g, b in policy.budget_groups.items()}

    def of(self, container: etree._Element) -> tuple[list[str], int]:
        graph = _Graph.of(container)

        def weight(node: str, groups: frozenset[str]) -> tuple[int, frozenset[str]]:
            return self._weight(graph.nodes[node], groups)

        forward = forward_edges(graph.starts, graph.out)
        return heaviest_path(forward, graph.starts, weight, ends=graph.is_terminal, states_per_node=MAX_PATH_STATES)

    def _weight(self, element: etree._Element, groups: frozenset) -> tuple[int, frozenset]:
        step = self.policy.steps.get(element.get("id"))
        if step is not None and step.budget_group in self.group_minutes:
            if step.budget_group in groups:
                return 0, groups
            return self.group_minutes[step.budget_group], groups | {step.budget_group}
        if step is not None:
            return _minutes(step.budget) or 0, groups
        if _local(element) in CONTAINER_TAGS[1:]:
            return self.of(element)[1], groups
        return 0, groups


# --- the shipped library ------------------------------------------------------------------------


def validate_library_procedure(procedure, version: str) -> ValidationReport:
    """Validate one version of a library procedure (configurator.library.LibraryProcedure),
    building its BPMN from the step table; the catalogue's legal limit wins over the BPMN's."""
    name = f"{procedure.key}/{version}/process.bpmn"
    days = procedure.catalogue.get("legal_limit_days")
    limit = round(float(days) * 480) if isinstance(days, (int, float)) else None
    cutoff = (procedure.catalogue.get("clock_start") or {}).get("cutoff")
    try:
        content = procedure.bpmn(version)
    except Exception as exc:  # noqa: BLE001 - a broken step table is a finding, not a crash
        report = ValidationReport(files=[name], process_id=procedure.key)
        problems = getattr(exc, "problems", None) or [str(exc)]
        report.findings.extend(
            Finding(
                "error", "step-table", str(p), None, None, name, getattr(p, "template", None), getattr(p, "params", {})
            )
            for p in problems
        )
        return report
    return validate_template(
        {name: content, **procedure.decision_tables(version)}, procedure.key, limit, clock_cutoff=cutoff
    )
