"""The supervisor's at-risk list: open dossiers projected to miss their appointment.

Two notions, both the engine's own:
- the apology threshold of the SLA sweep (`sla.ask_for_apologies`): a dossier still open one
  working day before its appointment will probably miss it. It is recomputed from the
  appointment in force (`deadlines.apology_deadline`) because the sweep clears
  `apology_due_at` once it has asked, and a re-appointed dossier has none;
- the remaining work no longer fits (`deadlines.will_miss`): what is left of each open step's
  own budget, plus the budgets of the steps after it along the longest path of the template to
  an end, counted from now in working time, ends after the appointment.
Dossiers waiting for the citizen (supplement, fees) are left out: their clock is stopped and
their appointment moves when the wait ends.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from lxml import etree

from engine.bpmn.extensions import BPMN_NS
from engine.bpmn.parser import SpecBundle
from engine.bpmn.xml import parse_xml
from engine.domain.graphs import forward_edges
from engine.domain import deadlines
from engine.domain.model import RunState
from engine.services.projection import CLOCK_PAUSING
from engine.services.runtime import Runtime
from engine.store import statistics
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import TemplateBlobRecord

APOLOGY_DUE = "apology_due"
CANNOT_FIT = "cannot_fit"


@dataclass(frozen=True)
class AtRisk:
    dossier: statistics.OpenDossier
    reasons: tuple[str, ...]
    remaining_minutes: int  # working minutes the remaining steps need, at their full budgets
    projected_finish: datetime
    apology_deadline: datetime
    minutes_left: int  # working minutes from now to the appointment

    @property
    def shortfall_minutes(self) -> int:
        """Working minutes by which the projection overruns the appointment (0 if it fits)."""
        return max(0, self.remaining_minutes - self.minutes_left)


def at_risk(rt: Runtime, scope: statistics.Scope, now: datetime) -> list[AtRisk]:
    """Open dossiers of the scope projected to miss their appointment, by appointment."""
    found = []
    with rt.db.read_session() as s:
        walkers: dict[tuple, object] = {}  # one longest-path walker per template and unit budgets
        for dossier in statistics.open_dossiers(s, scope, now):
            risk = None if dossier.status in CLOCK_PAUSING else _assess(rt, s, dossier, now, walkers)
            if risk is not None:
                found.append(risk)
    return sorted(found, key=lambda r: (r.dossier.appointment_at, r.dossier.code))


def apology_is_due(rt: Runtime, session, dossier) -> bool:
    """Whether the leader should issue the apology letter with a new appointment now: the dossier
    still runs, has not been re-appointed, and is within one working day of its appointment (the
    same threshold the SLA sweep asks at)."""
    if dossier.run_state != RunState.RUNNING.value or dossier.re_appointment_reason or not dossier.appointment_at:
        return False
    calendar = rt.calendars.for_unit(session, dossier.unit_code)
    return deadlines.apology_deadline(calendar, dossier.appointment_at) <= rt.clock.now()


def _assess(rt: Runtime, s, dossier: statistics.OpenDossier, now: datetime, walkers: dict) -> AtRisk | None:
    calendar = rt.calendars.for_unit(s, dossier.unit_code)
    budgets = tuple(sorted(((dossier.overrides or {}).get("budgets") or {}).items()))
    after = walkers.get((dossier.definition_id, budgets))
    if after is None:
        after = walkers[(dossier.definition_id, budgets)] = _downstream(rt, s, dossier.definition_id, dict(budgets))
    remaining = max((_left(calendar, step, now) + after(step) for step in dossier.steps), default=0)
    apology = deadlines.apology_deadline(calendar, dossier.appointment_at)
    reasons = tuple(reason for reason, holds in (
        (APOLOGY_DUE, apology <= now),
        (CANNOT_FIT, deadlines.will_miss(calendar, now, remaining, dossier.appointment_at)),
    ) if holds)
    if not reasons:
        return None
    return AtRisk(dossier, reasons, remaining, deadlines.projected_finish(calendar, now, remaining), apology,
                  calendar.between(now, dossier.appointment_at))


def _left(calendar, step: statistics.OpenStep, now: datetime) -> int:
    """What is left of an open step's own budget: to its due, or all of it if its clock has not started."""
    if step.due_at is not None:
        return max(0, calendar.between(now, step.due_at))
    return step.budget_minutes or 0


def _downstream(rt: Runtime, s, definition_id: int, budgets: dict[str, str]):
    """A function: open step -> budget minutes of the longest path after it to an end."""
    definition = s.get(ProcessDefinitionRecord, definition_id)
    graph = _graph(definition.digest, definition.key, s)
    weights = _Weights(rt.bundle_for_definition(s, definition_id), budgets)

    def after(step: statistics.OpenStep) -> int:
        counted = frozenset({step.budget_group}) if step.budget_group else frozenset()
        return _longest_after(graph, weights, step.element_id, counted)
    return after


# -- the template's flow graph --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Graph:
    """Forward edges of a process (back edges of loops dropped, so a loop counts once)."""

    forward: dict[str, tuple[str, ...]]


_GRAPHS: dict[tuple[str, str], _Graph] = {}


def _graph(digest: str, key: str, s) -> _Graph:
    """The flow graph of a template's process; content never changes for a digest, so it is kept."""
    cached = _GRAPHS.get((digest, key))
    if cached is None:
        blob = s.get(TemplateBlobRecord, digest)
        cached = _GRAPHS[(digest, key)] = _read_graph(blob.files, key)
    return cached


def _read_graph(files: dict[str, str], key: str) -> _Graph:
    process = None
    for name, text in files.items():
        if name.endswith((".bpmn", ".bpmn2", ".xml")):
            tree = parse_xml(text, file_name=name)
            process = next((p for p in tree.getroot().iter(f"{{{BPMN_NS}}}process") if p.get("id") == key), None)
            if process is not None:
                break
    if process is None:
        return _Graph({})
    edges: dict[str, list[str]] = defaultdict(list)
    starts = []
    for node in process:
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        kind = etree.QName(node).localname
        if kind == "sequenceFlow":
            edges[node.get("sourceRef")].append(node.get("targetRef"))
        elif kind == "boundaryEvent":
            edges[node.get("attachedToRef")].append(node.get("id"))
        elif kind == "startEvent":
            starts.append(node.get("id"))
    return _Graph(_without_back_edges(starts, edges))


def _without_back_edges(starts: list[str], edges) -> dict[str, tuple[str, ...]]:
    return {node: tuple(targets) for node, targets in forward_edges(starts, edges).items()}


class _Weights:
    """Budget minutes of a node: its step budget (the unit's override first); a step of a shared
    budget group weighs the group's budget once per path."""

    def __init__(self, bundle: SpecBundle, overrides: dict[str, str]):
        self.bundle, self.overrides = bundle, overrides

    def of(self, element_id: str, counted: frozenset[str]) -> tuple[int, frozenset[str]]:
        step = self.bundle.step(element_id)
        if step is None:
            return 0, counted
        group = self.bundle.policy.budget_groups.get(step.budget_group) if step.budget_group else None
        if group is not None:
            if group.group_id in counted:
                return 0, counted
            return _minutes(group.budget), counted | {group.group_id}
        return _minutes(self.overrides.get(element_id) or step.budget), counted


def _longest_after(graph: _Graph, weights: _Weights, element_id: str, counted: frozenset[str]) -> int:
    memo: dict[tuple[str, frozenset], int] = {}

    def longest(node: str, groups: frozenset[str]) -> int:
        if (node, groups) not in memo:
            best = 0
            for target in graph.forward.get(node, ()):
                weight, after_groups = weights.of(target, groups)
                best = max(best, weight + longest(target, after_groups))
            memo[(node, groups)] = best
        return memo[(node, groups)]
    return longest(element_id, counted)


@lru_cache(maxsize=256)
def _minutes(text: str | None) -> int:
    return deadlines.parse_working_duration(text) if text else 0


# -- the dashboard's tables -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Dashboard:
    summary: statistics.Figures
    communes: list[statistics.Row]
    procedures: list[statistics.Row]
    officers: list[statistics.OfficerRow]
    as_of: datetime  # the instant open dossiers are read at: the period's end, or now if earlier


def dashboard(rt: Runtime, scope: statistics.Scope, now: datetime) -> Dashboard:
    """Every table of the dashboard (engine.domain.figures), read in one session (one snapshot on SQLite)."""
    with rt.db.read_session() as s:
        found = statistics.tables(s, scope, now)
        return Dashboard(found.summary, found.communes, found.procedures, statistics.by_officer(s, scope),
                         scope.as_of(now))


@dataclass(frozen=True)
class FilterOptions:
    communes: list[tuple[str, str]]  # (code, name) by name
    procedures: list[tuple[str, str]]  # (key, name) by name


def filter_options(rt: Runtime, units) -> FilterOptions:
    with rt.db.read_session() as s:
        names = statistics.unit_names(s, units)
        return FilterOptions(sorted(names.items(), key=lambda kv: kv[1]), statistics.procedures(s))
