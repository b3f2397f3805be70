"""The SLA sweep: warnings before due, the breach at due, then the escalation levels after it.

Items are found through the indexed `next_sla_at` column, so a sweep costs what is due, not what
is open; dossiers through `apology_check_at`, so the apology forecast runs after a change and at
the instant the remaining work stops fitting, not for every open dossier on every pass. Rows are
leased with FOR UPDATE SKIP LOCKED on PostgreSQL (one writer on SQLite), notifications carry a
dedupe key, and what the sweep writes is bookkeeping kept out of the optimistic versions: with
several workers, restarts and crashes every level fires exactly once, and no clerk's action ever
fails because a sweep ran beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from engine.bpmn.extensions import EscalationLevel
from engine.domain import deadlines
from engine.domain import vn_dates
from engine.domain.assignment import Actor
from engine.domain.forecast import Forecast
from engine.domain.model import WorkItemState
from engine.services import audit
from engine.services import incidents
from engine.services import outbox
from engine.services.forecasts import Forecaster
from engine.services.projection import CLOCK_PAUSING
from engine.services.runtime import Runtime
from engine.services.unit_of_work import transaction
from engine.services.watchdog import Watchdog
from engine.store import repositories
from engine.store import statistics
from engine.store.database import Session
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

WARNED, BREACHED = 1, 2
#: What the sweep counts for a step it looked at without firing: its dossier's clock is stopped,
#: or (after the clock restarted) its next level is not due yet.
HELD = "held"
#: A forecast that still fits is looked at again no sooner than this, even if the calendar
#: arithmetic rounds its "stops fitting" instant to now.
RECHECK_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class Level:
    number: int
    kind: str  # warning | breach | escalation
    escalation: EscalationLevel | None = None


def sweep(rt: Runtime, limit: int = 200, watchdog: Watchdog | None = None) -> dict[str, int]:
    """Fire every SLA level that is due now, however many levels of one step are (a step found
    late by two days gets its warning, breach and escalations in this one call); returns counts
    by kind. Each batch fires at most one level per step and moves its next_sla_at on (a step
    that fails is parked until its retry), so the loop ends when no step has a level left that is
    due, or when the watchdog ends the pass."""
    watchdog = watchdog or Watchdog.unbounded()
    counts = {"warning": 0, "breach": 0, "escalation": 0, "failed": 0}
    while not watchdog.should_stop():
        fired = _sweep_batch(rt, limit, watchdog)
        held = fired.pop(HELD)
        for kind, n in fired.items():
            counts[kind] += n
        if not any(fired.values()) and not held:
            break
    counts["apology"] = ask_for_apologies(rt, limit, watchdog)
    return counts


def ask_for_apologies(rt: Runtime, limit: int = 200, watchdog: Watchdog | None = None) -> int:
    """Forecast every dossier whose forecast is due (after a change, when a calendar changed, or
    when the remaining work would stop fitting); the unit's leaders are asked for the apology letter
    with a new appointment as soon as a dossier is foreseen to miss its appointment, once per
    appointment. Returns how many dossiers they were asked about."""
    watchdog = watchdog or Watchdog.unbounded()
    asked = 0
    while not watchdog.should_stop():
        batch_asked, looked_at = _forecast_batch(rt, limit, watchdog)
        asked += batch_asked
        if looked_at < limit:
            break
    return asked


def _forecast_batch(rt: Runtime, limit: int, watchdog: Watchdog) -> tuple[int, int]:
    """Forecast one batch, each dossier in its own savepoint: one that fails is retried later
    (then becomes an incident) and the batch's others keep what they wrote."""
    asked, looked_at, recovered = 0, 0, []
    with transaction(rt) as s:
        now = rt.clock.now()
        due = repositories.dossiers_to_forecast(s, now, limit)
        forecaster = Forecaster(rt, s)
        running = {d.id: d for d in statistics.open_dossiers_by_id(s, [dossier.id for dossier in due])}
        for dossier in due:
            if watchdog.should_stop():
                break
            looked_at += 1
            subject = incidents.Subject("forecast", dossier.id, dossier_id=dossier.id)
            with incidents.guarded(s, subject, now, watchdog) as outcome:
                asked += _forecast_one(rt, s, forecaster, dossier, running.get(dossier.id), now)
            if outcome.ok:
                recovered.append(dossier.id)
        incidents.succeeded(s, "forecast", recovered, now)
    return asked, looked_at


def _forecast_one(rt: Runtime, s: Session, forecaster: Forecaster, dossier: DossierRecord, open_dossier, now) -> int:
    if open_dossier is None or forecaster.paused(open_dossier):
        # Finished, stopped or waiting for the citizen: the next change looks again.
        repositories.record_forecast(s, dossier.id, check_at=None)
        return 0
    return _act_on_forecast(rt, s, dossier, forecaster.of(open_dossier, now), now)


def _act_on_forecast(rt: Runtime, s: Session, dossier: DossierRecord, outlook: Forecast, now) -> int:
    if not outlook.misses:
        next_check = max(outlook.next_check_at, now + RECHECK_AFTER) if outlook.next_check_at else None
        repositories.record_forecast(s, dossier.id, check_at=next_check)
        return 0
    # A miss stays a miss until the dossier changes (its steps' clocks only run on): kept for the
    # at-risk list, and not forecast again before the next change.
    missed = {**outlook.as_detail(), "made_at": now.isoformat()}
    if dossier.re_appointment_reason:
        # The appointment moves only once: the at-risk list shows the dossier, no letter can follow.
        repositories.record_forecast(s, dossier.id, check_at=None, missed=missed)
        return 0
    if dossier.apology_requested_for == dossier.appointment_at:  # asked already for this appointment
        repositories.record_forecast(s, dossier.id, check_at=None, missed=missed)
        return 0
    repositories.record_apology_request(s, dossier.id, dossier.appointment_at, missed)
    _request_apology(rt, s, dossier, outlook, now)
    return 1


def _request_apology(rt: Runtime, s: Session, dossier: DossierRecord, outlook: Forecast, now) -> None:
    leaders = {
        u.username for u in repositories.active_users(s, dossier.unit_code) if u.role_set & {"lanh_dao", "leader"}
    }
    tz = rt.calendars.for_unit(s, dossier.unit_code).tz
    appointment = dossier.appointment_at.isoformat(timespec="minutes")
    for username in leaders:
        outbox.enqueue(
            s,
            key=f"apology:{dossier.id}:{appointment}:{username}",
            channel="in_app",
            recipient=username,
            subject=f"Cần xin lỗi và hẹn lại: hồ sơ {dossier.code}",
            body=apology_request_text(dossier.code, dossier.applicant_name, outlook, tz),
            now=now,
            dossier_id=dossier.id,
        )
    audit.record(
        s,
        at=now,
        action="apology_requested",
        actor=Actor.system(),
        dossier_id=dossier.id,
        element_id=outlook.element_id,
        appointment_at=appointment,
        notified=sorted(leaders) or None,
        **{k: v for k, v in outlook.as_detail().items() if k not in ("appointment_at", "element_id")},
    )


def apology_request_text(code: str, applicant: str, outlook: Forecast, tz) -> str:
    """What the leader is told: which appointment will be missed, why, and by when to write."""
    why = forecast_reason_vi(outlook)
    if not outlook.letter_overdue:
        by = f"Phiếu xin lỗi và hẹn lại cần ban hành trước {vn_dates.short_datetime(outlook.apology_deadline, tz)}"
    else:
        by = "Phiếu xin lỗi và hẹn lại cần ban hành ngay"
    return (
        f"Hồ sơ {code} ({applicant}) dự kiến không kịp hẹn trả "
        f"{vn_dates.short_datetime(outlook.appointment_at, tz)}: {why}. {by} "
        f"(ít nhất một ngày làm việc trước hạn trả)."
    )


def forecast_reason_vi(outlook: Forecast) -> str:
    """'bước «Thẩm định» trễ 2 giờ; còn lại 6 giờ làm việc, hẹn trả còn 3 giờ'."""
    parts = []
    if outlook.step:
        late = outlook.step_late_minutes
        parts.append(
            f"bước «{outlook.step}» trễ {vn_dates.working_time(late)}" if late else f"bước «{outlook.step}» chưa xong"
        )
    left = outlook.minutes_left
    parts.append(
        f"còn lại {vn_dates.working_time(outlook.remaining_minutes)} làm việc, "
        + (
            f"hẹn trả còn {vn_dates.working_time(left)}"
            if left
            else "đã quá hạn trả"
            if outlook.appointment_passed
            else "không còn giờ làm việc nào trước hạn trả"
        )
    )
    return "; ".join(parts)


def _sweep_batch(rt: Runtime, limit: int, watchdog: Watchdog) -> dict[str, int]:
    """One batch of due levels, each step in its own savepoint (see _forecast_batch)."""
    fired = {"warning": 0, "breach": 0, "escalation": 0, "failed": 0, HELD: 0}
    recovered = []
    with transaction(rt) as s:
        now = rt.clock.now()
        for item in repositories.due_sla_items(s, now, limit):
            if watchdog.should_stop():
                break
            subject = incidents.Subject(
                "sla", item.id, dossier_id=item.dossier_id, work_item_id=item.id, element_id=item.element_id
            )
            with incidents.guarded(s, subject, now, watchdog) as outcome:
                kind = _fire_next_level(rt, s, item, now)
            if outcome.ok:
                fired[kind] += 1
                recovered.append(subject.subject_id)
            else:
                fired["failed"] += 1
        incidents.succeeded(s, "sla", recovered, now)
    return fired


def _fire_next_level(rt: Runtime, s: Session, item: WorkItemRecord, now) -> str:
    """Fire the item's next level. Its effects are written beside the item's optimistic version
    (they are the system's bookkeeping), so a clerk acting on the step at the same moment never
    gets a conflict from it."""
    dossier = s.get(DossierRecord, item.dossier_id)
    if dossier.status in CLOCK_PAUSING:
        # Waiting for the citizen (supplement, fees): the step's clock stops with the legal one.
        # The wait's end moves its deadlines by the time waited and puts it back in the sweep.
        repositories.record_sla_level(s, item.id, next_sla_at=None)
        return HELD
    calendar = rt.calendars.for_unit(s, item.unit_code)
    escalations = _escalations(rt, s, dossier, item)
    level = _next_level(item, escalations)
    due = _level_time(item, level, calendar)
    if due is None or due > now:  # put back after a wait, its deadlines moved: not due yet
        repositories.record_sla_level(s, item.id, next_sla_at=due)
        return HELD
    changes, recipients = _apply(s, item, level, dossier, now)
    for username in recipients:
        outbox.enqueue(
            s,
            key=f"sla:{item.id}:{level.number}:{username}",
            channel="in_app",
            recipient=username,
            subject=_subject(level, item, dossier),
            body=_body(item, dossier, calendar.tz),
            now=now,
            dossier_id=dossier.id,
        )
    audit.record(
        s,
        at=now,
        action=f"sla_{level.kind}",
        actor=Actor.system(),
        dossier_id=dossier.id,
        work_item_id=item.id,
        element_id=item.element_id,
        level=level.number,
        notified=sorted(recipients) or None,
        action_taken=level.escalation.action if level.escalation else None,
    )
    next_at = _next_time(item.due_at, level.number, escalations, calendar)
    repositories.record_sla_level(s, item.id, escalation_level=level.number, next_sla_at=next_at, **changes)
    return level.kind


def _next_level(item: WorkItemRecord, escalations: tuple[EscalationLevel, ...]) -> Level | None:
    if item.escalation_level < WARNED and item.warn_at is not None and item.warn_at < item.due_at:
        return Level(WARNED, "warning")
    if item.escalation_level < BREACHED:
        return Level(BREACHED, "breach")
    index = item.escalation_level - BREACHED
    if index >= len(escalations):
        return None
    return Level(item.escalation_level + 1, "escalation", escalations[index])


def _level_time(item: WorkItemRecord, level: Level | None, calendar):
    """When the level is due: the warning at warn_at, the breach at due, an escalation after it."""
    if level is None or item.due_at is None:
        return None
    if level.escalation is not None:
        return calendar.add(item.due_at, deadlines.parse_working_duration(level.escalation.after))
    return item.warn_at if level.kind == "warning" else item.due_at


def _next_time(due_at, level_number: int, escalations, calendar):
    """When the level after `level_number` is due: the breach at due, each escalation after it."""
    if level_number < BREACHED:
        return due_at
    index = level_number - BREACHED
    if index >= len(escalations):
        return None
    return calendar.add(due_at, deadlines.parse_working_duration(escalations[index].after))


def _apply(s: Session, item: WorkItemRecord, level: Level, dossier, now) -> tuple[dict, set[str]]:
    """The level's action: the item's columns it changes, and who is told."""
    if level.escalation is None:
        return {}, _people(s, item.unit_code, item.role, item.assignee, item.owner, "assignee")
    action, target = level.escalation.action, level.escalation.target or "assignee"
    raised = (
        {"priority": max(item.priority, level.escalation.priority)}
        if action in ("reassign", "priority") and level.escalation.priority is not None
        else {}
    )
    if action == "reassign":
        audit.record(
            s,
            at=now,
            action="handover",
            actor=Actor.system(),
            dossier_id=dossier.id,
            work_item_id=item.id,
            element_id=item.element_id,
            giver=item.assignee or item.role,
            receiver=target,
            reason="escalation",
        )
        changes = {"role": target, "assignee": None, "state": WorkItemState.OPEN.value, **raised}
        return changes, _people(s, item.unit_code, target, None, item.owner, "assignee")
    return raised, _people(s, item.unit_code, item.role, item.assignee, item.owner, target)


def _people(
    s: Session, unit_code: str, role: str | None, assignee: str | None, owner: str | None, target: str
) -> set[str]:
    """A target is 'assignee', 'owner' or a role; a role means its holders in the item's unit."""
    if target == "assignee" and assignee:
        return {assignee}
    if target == "owner" and owner:
        return {owner}
    role = role if target in ("assignee", "owner") else target
    return {user.username for user in repositories.active_users(s, unit_code) if role in user.role_set}


def _escalations(rt: Runtime, s: Session, dossier, item) -> tuple[EscalationLevel, ...]:
    bundle = rt.bundle_for_definition(s, dossier.definition_id)
    step = bundle.step(item.element_id)
    own = step.escalations if step is not None else ()
    return own or bundle.policy.escalations


def _subject(level: Level, item, dossier) -> str:
    words = {"warning": "Sắp đến hạn", "breach": "Quá hạn", "escalation": "Chuyển cấp xử lý"}
    return f"{words[level.kind]}: {item.name} · hồ sơ {dossier.code}"


def _body(item, dossier, tz) -> str:
    due = vn_dates.short_datetime(item.due_at, tz) if item.due_at else "—"
    return f"Bước «{item.name}» của hồ sơ {dossier.code} ({dossier.applicant_name}) có hạn xử lý {due}."
