"""Simulation before publishing: for a template and a unit, the appointment a dossier received
at a given instant would get, and every step's due time if each step uses its whole budget,
computed with the unit's calendar on a virtual clock. With the unit's local settings (its
variant: step budgets, who holds each role, optional steps it skips) the walk is the one its
dossiers take. Nothing is stored."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import time

from engine.bpmn import dmn
from engine.bpmn import runner
from engine.bpmn.expressions import find_expressions
from engine.bpmn.helper_names import HELPER_NAMES
from engine.bpmn.parser import parse_bundle
from engine.bpmn.xml import parse_xml
from engine.clock import FrozenClock
from engine.domain import deadlines
from engine.domain.errors import InvalidAction
from engine.services.runtime import Runtime
from engine.services.scripting import script_engine_for

MAX_STEPS = 200


def condition_names(files: Mapping[str, bytes]) -> set[str]:
    names: set[str] = set()
    for name, content in files.items():
        for _, kind, _, source in find_expressions(parse_xml(content, file_name=name)):
            if kind == "condition":
                try:
                    tree = ast.parse(source.strip(), mode="eval")
                except SyntaxError:
                    continue
                names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names - HELPER_NAMES - set(dir(builtins))


def table_and_connector_names(files: Mapping[str, bytes]) -> set[str]:
    """Names read by decision-table cells and service-task parameters."""
    sources: list[str] = []
    for name, content in files.items():
        tree = parse_xml(content, file_name=name)
        if dmn.is_dmn(tree):
            sources += [cell.source for cell in dmn.dmn_cells(tree)]
        else:
            sources += [source for _, kind, _, source in find_expressions(tree) if kind == "connector parameter"]
    names: set[str] = set()
    for source in sources:
        try:
            names |= {n.id for n in ast.walk(ast.parse(source.strip(), mode="eval")) if isinstance(n, ast.Name)}
        except SyntaxError:
            continue
    return names - HELPER_NAMES - set(dir(builtins))


@dataclass(frozen=True)
class LocalSettings:
    """What a commune changes of a template (a variant's overrides), as the engine applies them."""

    budgets: Mapping[str, str] = field(default_factory=dict)  # element id -> working duration
    holders: Mapping[str, str] = field(default_factory=dict)  # role -> username
    skip: frozenset[str] = frozenset()  # optional steps the commune passes

    @classmethod
    def of(cls, overrides: Mapping | None) -> LocalSettings:
        overrides = overrides or {}
        return cls(
            dict(overrides.get("budgets") or {}),
            dict(overrides.get("roles") or {}),
            frozenset(overrides.get("skip") or ()),
        )


@dataclass(frozen=True)
class SimulatedStep:
    element_id: str
    name: str
    role: str | None
    budget_minutes: int | None
    starts_at: datetime
    due_at: datetime | None
    holder: str | None = None  # who the commune named for the role
    skipped: bool = False  # an optional step the commune passes
    local_budget: bool = False  # the budget is the commune's, not the template's


@dataclass(frozen=True)
class Simulation:
    received_at: datetime
    clock_start: datetime
    appointment: datetime | None
    steps: list[SimulatedStep]
    finishes_at: datetime

    @property
    def fits(self) -> bool:
        return self.appointment is None or self.finishes_at <= self.appointment


def simulate(
    rt: Runtime,
    files: Mapping[str, bytes],
    unit_code: str,
    received_at: datetime,
    *,
    process_id: str | None = None,
    legal_limit: str | None = None,
    cutoff: str | None = None,
    answers: Mapping[str, Mapping] | None = None,
    local: LocalSettings | None = None,
) -> Simulation:
    """Walk the template on a virtual clock: each step takes its whole budget (the commune's own
    when `local` has one), then completes with `answers[element_id]` (default: no data, i.e. the
    default flows); an optional step `local` skips is passed at once, as the engine does."""
    bundle = parse_bundle(files, process_id)
    with rt.db.read_session() as s:
        calendar = rt.calendars.for_unit(s, unit_code)
    rule = deadlines.ClockStartRule(cutoff=time.fromisoformat(cutoff) if cutoff else None)
    start = deadlines.clock_start(calendar, received_at, rule)
    legal_text = legal_limit or bundle.policy.legal_limit
    appointment = (
        deadlines.appointment(calendar, received_at, deadlines.parse_legal_limit(legal_text), rule)
        if legal_text
        else None
    )
    clock = FrozenClock(start)
    # Every name a condition reads starts as None: unanswered decisions take their default flows.
    data = {name: None for name in condition_names(files)}
    # Tables and connectors read numbers and text the simulation has no answer for: 0 takes a row.
    data.update({name: 0 for name in table_and_connector_names(files)})
    run = runner.start(bundle, clock, script_engine_for(calendar, clock), {**data, "unit_code": unit_code})
    steps: list[SimulatedStep] = []
    while not run.is_completed():
        ready = run.human_tasks()
        if not ready and run.pending_service_calls():
            for call in run.pending_service_calls():  # a connector takes no working time; nothing is called
                run.finish_service_call(call.task_id, None)
            continue
        if not ready:
            raise InvalidAction("the simulation stopped: the process waits for an event no step provides")
        if len(steps) >= MAX_STEPS:
            raise InvalidAction("the simulation stopped after %(count)s steps: a loop never ends", count=MAX_STEPS)
        task = ready[0]
        steps.append(_walk_step(bundle, task, calendar, clock, local or LocalSettings()))
        data = {} if steps[-1].skipped else dict((answers or {}).get(task.element_id, {}))
        run.complete(task.task_id, data)
    return Simulation(received_at, start, appointment, steps, calendar.local(clock.now()))


def _walk_step(bundle, task, calendar, clock: FrozenClock, local: LocalSettings) -> SimulatedStep:
    """The step as the commune runs it; the clock moves to its due time."""
    policy = bundle.step(task.element_id)
    role = (policy.role if policy else None) or task.lane
    holder = local.holders.get(role) if role else None
    if policy is not None and policy.optional and task.element_id in local.skip:
        now = calendar.local(clock.now())
        return SimulatedStep(task.element_id, task.name, role, None, now, None, holder, skipped=True)
    text = local.budgets.get(task.element_id) or (policy.budget if policy else None)
    budget = deadlines.parse_working_duration(text) if text else None
    due = deadlines.step_due(calendar, clock.now(), budget) if budget else None
    step = SimulatedStep(
        task.element_id,
        task.name,
        role,
        budget,
        calendar.local(clock.now()),
        due,
        holder,
        local_budget=task.element_id in local.budgets,
    )
    if due is not None:
        clock.set(due)
    return step
