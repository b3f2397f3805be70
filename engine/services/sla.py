"""The SLA sweep: warnings before due, the breach at due, then the escalation levels after it.

Items are found through the indexed `next_sla_at` column, so a sweep costs what is due, not what
is open. Each level is applied with the item's optimistic version and its notifications carry a
dedupe key: with several workers, restarts and crashes, every level fires exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bpmn.extensions import EscalationLevel
from engine.domain import deadlines
from engine.domain.assignment import Actor
from engine.services import audit
from engine.services import outbox
from engine.services.dossiers import transaction
from engine.services.runtime import Runtime
from engine.store import repositories
from engine.store.database import Session
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

WARNED, BREACHED = 1, 2


@dataclass(frozen=True)
class Level:
    number: int
    kind: str  # warning | breach | escalation
    escalation: EscalationLevel | None = None


def sweep(rt: Runtime, limit: int = 200) -> dict[str, int]:
    """Fire every SLA level that is due now, however many levels of one step are (a step found
    late by two days gets its warning, breach and escalations in this one call); returns counts
    by kind. Each batch fires at most one level per step and moves its next_sla_at on, so the
    loop ends when no step has a level left that is due."""
    counts = {"warning": 0, "breach": 0, "escalation": 0}
    while True:
        fired = _sweep_batch(rt, limit)
        for kind, n in fired.items():
            counts[kind] += n
        if not any(fired.values()):
            break
    counts["apology"] = ask_for_apologies(rt, limit)
    return counts


def ask_for_apologies(rt: Runtime, limit: int = 200) -> int:
    """A dossier still open one working day before its appointment will probably miss it: the
    unit's leaders are asked to issue the apology letter with a new appointment (at most once)."""
    asked = 0
    with transaction(rt) as s:
        now = rt.clock.now()
        for dossier in repositories.dossiers_due_for_apology(s, now, limit):
            leaders = {u.username for u in repositories.active_users(s, dossier.unit_code)
                       if u.role_set & {"lanh_dao", "leader"}}
            appointment = dossier.appointment_at.isoformat(timespec="minutes")
            for username in leaders:
                outbox.enqueue(s, key=f"apology:{dossier.id}:{username}", channel="in_app", recipient=username,
                               subject=f"Cần xin lỗi và hẹn lại: hồ sơ {dossier.code}",
                               body=f"Hồ sơ {dossier.code} ({dossier.applicant_name}) chưa hoàn thành, hẹn trả "
                                    f"{appointment}. Phiếu xin lỗi và hẹn lại phải ban hành trước hạn ít nhất "
                                    f"một ngày làm việc.", now=now, dossier_id=dossier.id)
            audit.record(s, at=now, action="apology_requested", actor=Actor.system(), dossier_id=dossier.id,
                         appointment_at=appointment, notified=sorted(leaders) or None)
            dossier.apology_due_at = None
            asked += 1
    return asked


def _sweep_batch(rt: Runtime, limit: int) -> dict[str, int]:
    fired = {"warning": 0, "breach": 0, "escalation": 0}
    with transaction(rt) as s:
        now = rt.clock.now()
        for item in repositories.due_sla_items(s, now, limit):
            kind = _fire_next_level(rt, s, item, now)
            fired[kind] += 1
    return fired


def _fire_next_level(rt: Runtime, s: Session, item: WorkItemRecord, now) -> str:
    dossier = s.get(DossierRecord, item.dossier_id)
    calendar = rt.calendars.for_unit(s, item.unit_code)
    escalations = _escalations(rt, s, dossier, item)
    level = _next_level(item, escalations)
    recipients = _apply(s, item, level, dossier, now)
    for username in recipients:
        outbox.enqueue(s, key=f"sla:{item.id}:{level.number}:{username}", channel="in_app",
                       recipient=username, subject=_subject(level, item, dossier),
                       body=_body(level, item, dossier), now=now, dossier_id=dossier.id)
    audit.record(s, at=now, action=f"sla_{level.kind}", actor=Actor.system(), dossier_id=dossier.id,
                 work_item_id=item.id, element_id=item.element_id, level=level.number,
                 notified=sorted(recipients) or None,
                 action_taken=level.escalation.action if level.escalation else None)
    item.escalation_level = level.number
    item.next_sla_at = _next_time(item, escalations, calendar)
    return level.kind


def _next_level(item: WorkItemRecord, escalations: tuple[EscalationLevel, ...]) -> Level:
    if item.escalation_level < WARNED and item.warn_at is not None and item.warn_at < item.due_at:
        return Level(WARNED, "warning")
    if item.escalation_level < BREACHED:
        return Level(BREACHED, "breach")
    index = item.escalation_level - BREACHED
    return Level(item.escalation_level + 1, "escalation", escalations[index])


def _next_time(item: WorkItemRecord, escalations, calendar):
    if item.escalation_level < BREACHED:
        return item.due_at
    index = item.escalation_level - BREACHED
    if index >= len(escalations):
        return None
    return calendar.add(item.due_at, deadlines.parse_working_duration(escalations[index].after))


def _apply(s: Session, item: WorkItemRecord, level: Level, dossier, now) -> set[str]:
    """Carry out the level's action; returns who is told."""
    if level.escalation is None:
        return _people(s, item, "assignee")
    action, target = level.escalation.action, level.escalation.target or "assignee"
    if action == "reassign":
        previous = item.assignee or item.role
        item.role, item.assignee, item.state = target, None, "open"
        if level.escalation.priority is not None:
            item.priority = max(item.priority, level.escalation.priority)
        audit.record(s, at=now, action="handover", actor=Actor.system(), dossier_id=dossier.id,
                     work_item_id=item.id, element_id=item.element_id, giver=previous, receiver=target,
                     reason="escalation")
        return _people(s, item, "assignee")
    if action == "priority" and level.escalation.priority is not None:
        item.priority = max(item.priority, level.escalation.priority)
    return _people(s, item, target)


def _people(s: Session, item: WorkItemRecord, target: str) -> set[str]:
    """A target is 'assignee', 'owner' or a role; a role means its holders in the item's unit."""
    if target == "assignee" and item.assignee:
        return {item.assignee}
    if target == "owner" and item.owner:
        return {item.owner}
    role = item.role if target in ("assignee", "owner") else target
    return {user.username for user in repositories.active_users(s, item.unit_code) if role in user.role_set}


def _escalations(rt: Runtime, s: Session, dossier, item) -> tuple[EscalationLevel, ...]:
    bundle = rt.bundle_for_definition(s, dossier.definition_id)
    step = bundle.step(item.element_id)
    own = step.escalations if step is not None else ()
    return own or bundle.policy.escalations


def _subject(level: Level, item, dossier) -> str:
    words = {"warning": "Sắp đến hạn", "breach": "Quá hạn", "escalation": "Chuyển cấp xử lý"}
    return f"{words[level.kind]}: {item.name} · hồ sơ {dossier.code}"


def _body(level: Level, item, dossier) -> str:
    due = item.due_at.isoformat(timespec="minutes") if item.due_at else "—"
    return f"Bước «{item.name}» của hồ sơ {dossier.code} ({dossier.applicant_name}) có hạn xử lý {due}."
