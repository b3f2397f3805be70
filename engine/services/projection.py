"""Projects a workflow's READY human tasks into work-item rows, and the dossier's state into
its row, inside the transaction of the change that produced them."""

from __future__ import annotations

import functools
from datetime import datetime

from engine.bpmn.extensions import StepPolicy
from engine.bpmn.runner import HumanTask
from engine.bpmn.runner import Run
from engine.domain import deadlines
from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.domain.model import OPEN_STATES
from engine.domain.model import DossierStatus
from engine.domain.model import RunState
from engine.domain.model import WorkItemState
from engine.services import audit
from engine.services import citizen_notices
from engine.services import citizen_store
from engine.store import loaded_rows
from engine.store import open_stock
from engine.store import repositories
from engine.store import rollups
from engine.store import service_call_records
from engine.store.database import Session
from engine.store.records import DossierPauseRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

#: More skipped steps than this in one change means they loop (a skipped step inside a cycle).
MAX_SKIPS = 100
#: Statuses during which the legal clock stops (the dossier waits for the citizen).
CLOCK_PAUSING = frozenset({DossierStatus.SUPPLEMENT_REQUESTED.value, DossierStatus.FINANCIAL_OBLIGATION.value})
# A new step's states, read once: an enum member's `.value` is two Python calls (the property and its getter).
_CLAIMED_STEP, _OPEN_STEP = WorkItemState.CLAIMED.value, WorkItemState.OPEN.value


def open_items(session: Session, dossier_id: int) -> list[WorkItemRecord]:
    with session.no_autoflush:  # pending changes flush once, at commit
        return repositories.open_work_items(session, dossier_id)


def sync(
    session: Session,
    dossier: DossierRecord,
    run: Run,
    calendar,
    actor: Actor,
    now: datetime,
    ready_before: frozenset[str],
    handed_over_by: str | None = None,
    completed_task: str | None = None,
) -> list[WorkItemRecord]:
    """Make the work items and the dossier row match the workflow; returns the new items.

    Open work items mirror the READY human tasks (the invariant this module keeps), so the tasks
    that were READY before the change (`ready_before`) tell which rows exist without a query.
    """
    _pass_skipped_steps(session, dossier, run, now)
    ready = {task.task_id: task for task in run.human_tasks()}
    gone = ready_before - ready.keys() - {completed_task}
    if gone:
        for item in open_items(session, dossier.id):
            if item.task_id in gone and item.state in OPEN_STATES:
                _withdraw(session, item, actor, now)
    created = [
        _create_item(session, dossier, run, task, calendar, actor, now, handed_over_by)
        for task_id, task in ready.items()
        if task_id not in ready_before
    ]
    _update_dossier(session, dossier, run, now, calendar, list(ready.values()))
    if ready.keys() <= {item.task_id for item in created}:
        # Every open step is one this change created: a reply can show them without a query.
        repositories.remember_open_items(session, dossier.id, created)
    if run.bundle.waits_on_services:  # else no task can be a waiting call: no walk of them all
        service_call_records.record_pending(session, dossier.id, run.pending_service_calls(), now)
    return created


def _pass_skipped_steps(session, dossier: DossierRecord, run: Run, now) -> None:
    """Steps the dossier's commune skips (its local differences; only steps the template marks
    optional) are passed at once with no data, and recorded, never shown to anyone."""
    skipped = set((dossier.overrides or {}).get("skip", ()))
    if not skipped:
        return
    for _ in range(MAX_SKIPS):
        task = next((t for t in run.human_tasks() if t.element_id in skipped and _optional(run, t.element_id)), None)
        if task is None:
            return
        run.complete(task.task_id, {})
        audit.record(
            session,
            at=now,
            action="skip",
            actor="system",
            dossier_id=dossier.id,
            element_id=task.element_id,
            unit_code=dossier.unit_code,
        )
    raise InvalidAction(
        "the steps unit %(unit)s skips come round again and again; check the template's loops", unit=dossier.unit_code
    )


def _optional(run: Run, element_id: str) -> bool:
    policy = run.bundle.step(element_id)
    return policy is not None and policy.optional


def _create_item(session, dossier, run, task: HumanTask, calendar, actor, now, handed_over_by):
    policy = run.bundle.step(task.element_id) or StepPolicy(task.element_id, task.name, role=task.lane)
    overrides = dossier.overrides or {}
    budget = _minutes(overrides.get("budgets", {}).get(task.element_id) or policy.budget)
    role = policy.role or task.lane
    assignee = overrides.get("roles", {}).get(role) or policy.assignee
    dossier_id = dossier.id
    values = {
        "dossier_id": dossier_id,
        "task_id": task.task_id,
        "element_id": task.element_id,
        "name": task.name,
        "role": role,
        "unit_code": dossier.unit_code,
        "dossier_code": dossier.code,
        "applicant_name": dossier.applicant_name,
        "assignee": assignee,
        "owner": None,
        "state": _CLAIMED_STEP if assignee else _OPEN_STEP,
        "priority": policy.priority,
        "form_key": policy.form or task.element_id,
        "budget_minutes": budget,
        "budget_group": policy.budget_group,
        "created_at": now,
        "escalation_level": 0,
    }
    if policy.clock_start != "claimed" or assignee:
        # In the new row's values: a new step has no history to keep (its INSERT writes them).
        values.update(
            _deadlines(session, dossier_id, policy.budget_group, budget, run.bundle, calendar, start=now, policy=policy)
        )
    item = loaded_rows.built(WorkItemRecord, values)
    loaded_rows.add_built(session, item)
    due_at = values.get("due_at")
    audit.record(
        session,
        at=now,
        action="handover",
        actor=actor,
        dossier_id=dossier_id,
        work_item=item,
        element_id=task.element_id,
        giver=handed_over_by or actor.username,
        receiver=assignee or role,
        due_at=due_at.isoformat() if due_at else None,
    )
    return item


def set_deadlines_on_claim(session, item: WorkItemRecord, run_bundle, calendar, now) -> None:
    policy = run_bundle.step(item.element_id)
    if policy is not None and policy.clock_start == "claimed" and item.due_at is None:
        found = _deadlines(
            session,
            item.dossier_id,
            item.budget_group,
            item.budget_minutes,
            run_bundle,
            calendar,
            start=now,
            policy=policy,
        )
        if found:
            loaded_rows.set_columns(item, found)


def _deadlines(
    session,
    dossier_id: int,
    budget_group: str | None,
    budget: int | None,
    bundle,
    calendar,
    *,
    start,
    policy: StepPolicy,
) -> dict[str, datetime | None]:
    """A step's due_at, warn_at and next_sla_at from its own budget or its group's; none without a
    budget (or with 0h: a step that waits for the citizen)."""
    group = bundle.policy.budget_groups.get(policy.budget_group) if policy.budget_group else None
    if group is not None:
        start = _group_start(session, dossier_id, budget_group, start)
        budget = _minutes(group.budget)
    if not budget:
        return {}
    due_at = deadlines.step_due(calendar, start, budget)
    warn_at = deadlines.warn_time(calendar, start, budget, policy.warn_at or bundle.policy.warn_at)
    return {"due_at": due_at, "warn_at": warn_at, "next_sla_at": warn_at if warn_at and warn_at < due_at else due_at}


def _group_start(session, dossier_id: int, budget_group: str | None, default):
    """A shared budget counts from when the group's first step was created in this dossier."""
    with session.no_autoflush:
        return repositories.budget_group_started_at(session, dossier_id, budget_group) or default


def _withdraw(session, item: WorkItemRecord, actor: Actor, now) -> None:
    item.state = WorkItemState.CANCELLED.value
    item.completed_at = now
    item.next_sla_at = None
    audit.record(
        session,
        at=now,
        action="withdrawn",
        actor=actor,
        dossier_id=item.dossier_id,
        work_item_id=item.id,
        element_id=item.element_id,
    )


def _update_dossier(session, dossier: DossierRecord, run: Run, now, calendar, ready: list[HumanTask]) -> None:
    moved = {"state": run.dump(), "updated_at": now}
    # Columns are set only to another value (the row's UPDATE names only the columns whose value
    # changed either way).
    next_timer_at = run.next_timer_at()
    if next_timer_at != dossier.next_timer_at:
        moved["next_timer_at"] = next_timer_at
    loaded_rows.set_columns(dossier, moved)
    status = _status_from_workflow(run, ready)
    if status is None:  # the workflow says nothing: the status stays, unless only the fee wait set it
        status = (
            dossier.status
            if dossier.status != DossierStatus.FINANCIAL_OBLIGATION
            else DossierStatus.IN_PROCESSING.value
        )
    # An open step means the workflow has a task left to finish: only without one is SpiffWorkflow
    # asked (its walk to the first unfinished task, 57 Python calls on a five-step template).
    completed = not ready and run.is_completed()
    new_status = _held_for_fees(dossier, status, completed)
    _follow_clock_pause(session, dossier, run, ready, new_status, now, calendar)
    old_status = dossier.status
    followed = {} if new_status == old_status else {"status": new_status}
    if dossier.appointment_at is not None:
        followed["apology_check_at"] = now  # the change may change the forecast: the SLA sweep looks again
    if followed:
        loaded_rows.set_columns(dossier, followed)
    if completed and dossier.run_state == RunState.RUNNING.value:
        dossier.run_state = RunState.COMPLETED.value
        dossier.completed_at, dossier.apology_check_at = now, None
        dossier.next_timer_at = None
        if dossier.status in (DossierStatus.IN_PROCESSING, DossierStatus.ACCEPTED):
            dossier.status = DossierStatus.PROCESSED.value
        if dossier.appointment_at is not None and dossier.status in (
            DossierStatus.PROCESSED,
            DossierStatus.RESULT_RETURNED,
        ):
            verdict, margin = deadlines.classify(calendar, dossier.appointment_at, now)
            dossier.classification, dossier.margin_minutes = verdict.value, margin
        rollups.record_closed(session, dossier)
        citizen_store.keep_completed(session, dossier, now)
    citizen_notices.status_changed(session, dossier, old_status, now, calendar.tz)


def refresh_status(session, dossier: DossierRecord, run: Run, now, calendar) -> None:
    """The status the workflow gives now (accepted when it gives none), after a wait outside the
    workflow ended (fees paid); the clock pause follows."""
    ready = run.human_tasks()
    status = _status_from_workflow(run, ready)
    accepted = status if status is not None else DossierStatus.ACCEPTED.value
    new_status = _held_for_fees(dossier, accepted, not ready and run.is_completed())
    _follow_clock_pause(session, dossier, run, ready, new_status, now, calendar)
    old_status, dossier.status = dossier.status, new_status
    citizen_notices.status_changed(session, dossier, old_status, now, calendar.tz)


def _held_for_fees(dossier: DossierRecord, status: int, completed: bool) -> int:
    """Status 6 (clock stopped) instead of accepted or in processing while fees to be paid before
    processing are unpaid (engine.services.fees keeps the flag); a finished process is not held."""
    if (
        (dossier.applicant or {}).get("fee_wait")
        and not completed
        and status in (DossierStatus.ACCEPTED.value, DossierStatus.IN_PROCESSING.value)
    ):
        return DossierStatus.FINANCIAL_OBLIGATION.value
    return status


def _follow_clock_pause(
    session, dossier: DossierRecord, run: Run, ready: list[HumanTask], new_status: int, now, calendar
) -> None:
    """Waiting for the citizen (supplement, fees) or an open step the procedure excludes from its
    time limit (a public posting) stops the legal clock; when the wait ends the appointment moves
    by the working time it lasted."""
    pausing_step = next((t.element_id for t in ready if _pauses(run, t.element_id)), None)
    pauses = new_status in CLOCK_PAUSING or pausing_step is not None
    if run.bundle.pauses_clock_anywhere:
        open_pause = repositories.open_pause(session, dossier.id)
        was_paused = open_pause is not None
    else:  # the usual template: the stored status says it all, no query needed
        was_paused, open_pause = dossier.status in CLOCK_PAUSING, None
    if pauses and not was_paused:
        kind = DossierStatus(new_status).name.lower() if new_status in CLOCK_PAUSING else f"step:{pausing_step}"
        session.add(DossierPauseRecord(dossier_id=dossier.id, kind=kind[:30], started_at=now))
        open_stock.paused(session, dossier, kind[:30])
    elif was_paused and not pauses:
        pause = open_pause or repositories.open_pause(session, dossier.id)
        if pause is not None:
            appointment_before = dossier.appointment_at
            _end_pause(dossier, pause, now, calendar)
            open_stock.resumed(session, dossier, pause.kind, appointment_before)
            _restart_step_clocks(session, dossier.id, pause.started_at, now, calendar)


def _end_pause(dossier: DossierRecord, pause, now, calendar) -> None:
    pause.ended_at = now
    if dossier.appointment_at is not None:
        dossier.apology_check_at = now  # the forecast skipped the dossier while it waited
        dossier.appointment_at = deadlines.after_pause(calendar, dossier.appointment_at, pause.started_at, now)
        dossier.original_appointment_at = (
            deadlines.after_pause(calendar, dossier.original_appointment_at, pause.started_at, now)
            if dossier.re_appointment_reason is None
            else dossier.original_appointment_at
        )


def _restart_step_clocks(session, dossier_id: int, paused_from: datetime, now: datetime, calendar) -> None:
    """The open steps' own clocks stopped with the legal one (the SLA sweep holds their alerts while
    the dossier waits): each deadline moves by the working time its step waited, and the sweep
    looks at the step again. A step opened by the change that ends the wait has not waited."""
    for item_id, created_at, due_at, warn_at in repositories.open_step_deadlines(session, dossier_id, before=now):
        waited_from = max(paused_from, created_at)
        repositories.record_sla_level(
            session,
            item_id,
            due_at=deadlines.after_pause(calendar, due_at, waited_from, now),
            warn_at=deadlines.after_pause(calendar, warn_at, waited_from, now) if warn_at else None,
            next_sla_at=now,
        )


def _pauses(run: Run, element_id: str) -> bool:
    policy = run.bundle.step(element_id)
    return policy is not None and policy.pauses_clock


def _status_from_workflow(run: Run, ready: list[HumanTask]) -> int | None:
    """An open step's status wins; otherwise the status of the last node reached that has one."""
    for task in ready:
        policy = run.bundle.step(task.element_id)
        if policy is not None and policy.status is not None:
            return policy.status
    return run.last_reached_status()


@functools.lru_cache(maxsize=1024)
def _minutes(text: str | None) -> int | None:
    """A budget's working minutes, parsed once per text (a template's few budgets are met by every
    new step; a text that does not parse raises each time, as lru_cache keeps no exception)."""
    return deadlines.parse_working_duration(text) if text else None
