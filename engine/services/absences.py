"""Standing delegation while someone is away (ủy quyền khi vắng mặt): declaring and ending absences,
and routing work items to substitutes and back.

Dates are whole days, inclusive, in the unit's time zone. An absence may be narrowed to one
procedure and/or one role; the narrowest matching absence decides who substitutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta

from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.domain.errors import english
from engine.domain.model import DelegationState
from engine.domain.model import WorkItemState
from engine.services import audit
from engine.services import incidents
from engine.services.actions import due_note
from engine.services.actions import notify
from engine.services.actions import refusal_for_receiver
from engine.services.runtime import Runtime
from engine.services.unit_of_work import retried_on_race
from engine.services.unit_of_work import transaction
from engine.store import absence_records
from engine.store import operations_records as incident_records
from engine.store import repositories
from engine.store.absence_records import AbsenceRecord
from engine.store.database import Session
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord

#: Longest substitute chain followed (A → B → C ...); a longer one is certainly a mistake.
MAX_CHAIN = 10


@dataclass(frozen=True)
class Scope:
    procedure_key: str | None = None
    role: str | None = None


@retried_on_race
def declare_absence(
    rt: Runtime,
    actor: Actor,
    username: str,
    substitute: str,
    date_from: date,
    date_to: date,
    procedure_key: str | None = None,
    role: str | None = None,
    note: str | None = None,
) -> AbsenceRecord:
    """Record that `substitute` takes `username`'s work from `date_from` to `date_to` (inclusive).

    Raises:
        InvalidAction: dates reversed, substitute lacks the unit or role, an overlapping absence
            with the same scope, or a delegation that would come back to `username`.
        PermissionDenied: the actor is neither the user nor a leader of their unit.
        NotFound: unknown user, substitute or procedure.
    """
    if date_from > date_to:
        raise InvalidAction(
            "the absence ends (%(end)s) before it starts (%(start)s)", field="date_to", end=date_to, start=date_from
        )
    if substitute == username:
        raise InvalidAction("a user cannot substitute for themselves", field="substitute")
    with transaction(rt) as s:
        user = _user(s, username)
        _check_may_manage(actor, user)
        if procedure_key is not None and repositories.latest_definition(s, procedure_key) is None:
            raise NotFound("unknown procedure '%(procedure)s'", field="procedure_key", procedure=procedure_key)
        _check_substitute(s, user, substitute, role)
        scope = Scope(procedure_key, role)
        _check_no_overlap(s, username, scope, date_from, date_to)
        _check_not_circular(s, username, substitute, scope, date_from, date_to)
        now = rt.clock.now()
        absence = AbsenceRecord(
            username=username,
            substitute=substitute,
            unit_code=user.unit_code,
            date_from=date_from,
            date_to=date_to,
            procedure_key=procedure_key,
            role=role,
            note=note,
            created_by=actor.username,
            created_at=now,
        )
        s.add(absence)
        s.flush()
        audit.record(
            s,
            at=now,
            action="absence_declared",
            actor=actor,
            giver=username,
            receiver=substitute,
            absence_id=absence.id,
            date_from=date_from.isoformat(),
            date_to=date_to.isoformat(),
            procedure_key=procedure_key,
            role=role,
            note=note,
        )
        notify(
            s,
            f"absence:{absence.id}:declared",
            substitute,
            now,
            None,
            subject=f"Được ủy quyền khi vắng mặt: {username}",
            body=f"Bạn xử lý công việc của {username} từ {date_from:%d/%m/%Y} đến {date_to:%d/%m/%Y}"
            + _scope_text(scope)
            + (f". Ghi chú: {note}" if note else "."),
        )
        return absence


@retried_on_race
def end_absence(rt: Runtime, actor: Actor, absence_id: int, give_back: bool = True) -> list[WorkItemRecord]:
    """End an absence now. With `give_back`, steps its substitute holds for the user go back to
    them; without, the substitute keeps them as their own (no longer on the user's behalf).

    Returns the work items handed over.

    Raises:
        NotFound: unknown absence.  InvalidAction: already ended.
        PermissionDenied: the actor is neither the user, who declared it, nor a leader of the unit.
    """
    with transaction(rt) as s:
        absence = s.get(AbsenceRecord, absence_id)
        if absence is None:
            raise NotFound("unknown absence %(id)s", id=absence_id)
        if absence.cancelled_at is not None:
            raise InvalidAction("the absence of %(user)s has already ended", user=absence.username)
        if actor.username != absence.created_by:
            _check_may_manage(actor, _user(s, absence.username))
        now = rt.clock.now()
        absence.cancelled_at = now
        s.flush()  # the routing below must no longer see this absence
        audit.record(
            s,
            at=now,
            action="absence_ended",
            actor=actor,
            giver=absence.substitute,
            receiver=absence.username,
            absence_id=absence.id,
        )
        return _give_back(rt, s, now, only_user=absence.username, keep=not give_back)


def effective_assignee(
    session: Session,
    username: str,
    on_date: date,
    procedure_key: str | None,
    role: str | None,
    *,
    unit_code: str | None = None,
) -> tuple[str, str | None]:
    """Who works `username`'s step on `on_date`: (assignee, on_behalf_of).

    Follows chains (A away → B, B away → C gives (C, A)); stops before a cycle, at an inactive
    substitute, or after MAX_CHAIN hops. on_behalf_of is None when `username` is not away.
    """
    current, seen = username, {username}
    for _ in range(MAX_CHAIN):
        absence = _absence_for(session, current, on_date, procedure_key, role, unit_code)
        if absence is None or absence.substitute in seen:
            break
        user = session.get(UserRecord, absence.substitute)
        if user is None or not user.active:
            break
        current = absence.substitute
        seen.add(current)
    return current, (username if current != username else None)


def route_to_substitutes(rt: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Move steps held by absent users to their substitutes, and steps of users who are back
    (their absence has passed) to them again. Idempotent: run it from the worker's tick.

    Returns counts: {"routed": n, "given_back": m}.
    """
    with transaction(rt) as s:
        now = now or rt.clock.now()
        days = _local_day(rt, s, now)
        around = now.date()
        absences = [
            a
            for a in absence_records.active_absences_between(s, around - timedelta(days=1), around + timedelta(days=1))
            if a.covers(days(a.unit_code))
        ]
        routed, handled = 0, []
        parked = incident_records.parked_subjects(s, "absence", now)
        for item, key in absence_records.open_items_assigned_to(s, {a.username for a in absences}):
            if item.delegation_state == DelegationState.PENDING.value or item.id in parked:
                continue  # a delegation names its owner and delegate; a failing hand-over waits for its retry
            subject = incidents.Subject(
                "absence", item.id, dossier_id=item.dossier_id, work_item_id=item.id, element_id=item.element_id
            )
            with incidents.guarded(s, subject, now) as outcome:
                routed += _route_one(rt, s, item, key, days, now)
            if outcome.ok:
                handled.append(item.id)
        incidents.succeeded(s, "absence", handled, now)
        s.flush()  # the give-back query below must see this pass's hand-overs
        given_back = _give_back(rt, s, now, only_user=None)
        return {"routed": routed, "given_back": len(given_back)}


# -- helpers ------------------------------------------------------------------------------------


def _route_one(rt: Runtime, s: Session, item: WorkItemRecord, key, days, now: datetime) -> int:
    assignee, behalf = effective_assignee(
        s, item.assignee, days(item.unit_code), key, item.role, unit_code=item.unit_code
    )
    if behalf is None:
        return 0
    _hand_over(rt, s, item, assignee, item.on_behalf_of or behalf, now, "absence")
    return 1


def _user(s: Session, username: str) -> UserRecord:
    user = s.get(UserRecord, username)
    if user is None:
        raise NotFound("unknown user '%(user)s'", field="username", user=username)
    return user


def _check_may_manage(actor: Actor, user: UserRecord) -> None:
    if actor.username == user.username:
        return
    if not actor.leads(user.unit_code):
        raise PermissionDenied(
            "only %(user)s or a leader of unit %(unit)s may manage their absences",
            user=user.username,
            unit=user.unit_code,
        )


def _check_substitute(s: Session, user: UserRecord, substitute: str, role: str | None) -> None:
    candidate = s.get(UserRecord, substitute)
    if candidate is None:
        raise NotFound("unknown user '%(user)s'", field="substitute", user=substitute)
    if role is not None and role not in user.role_set:
        raise InvalidAction("%(user)s does not have role '%(role)s'", field="role", user=user.username, role=role)
    for needed in [role] if role else sorted(user.role_set):
        refusal = refusal_for_receiver(candidate, substitute, user.unit_code, needed)
        if refusal:
            if role:
                raise InvalidAction.because(refusal, field="substitute")
            raise InvalidAction(
                "%(reason)s; declare the absence for a role they hold", field="substitute", reason=refusal
            )


_OVERLAP = {  # by (scoped to a procedure, scoped to a role)
    (False, False): english("%(user)s is already away from %(start)s to %(end)s (substitute %(substitute)s)"),
    (True, False): english(
        "%(user)s is already away from %(start)s to %(end)s (substitute %(substitute)s) for procedure %(procedure)s"
    ),
    (False, True): english(
        "%(user)s is already away from %(start)s to %(end)s (substitute %(substitute)s) for role %(role)s"
    ),
    (True, True): english(
        "%(user)s is already away from %(start)s to %(end)s (substitute %(substitute)s) "
        "for procedure %(procedure)s, role %(role)s"
    ),
}


def _check_no_overlap(s: Session, username: str, scope: Scope, date_from: date, date_to: date) -> None:
    for other in absence_records.active_absences_of(s, username, date_from, date_to):
        if Scope(other.procedure_key, other.role) == scope:
            raise InvalidAction(
                _OVERLAP[bool(scope.procedure_key), bool(scope.role)],
                field="date_from",
                user=username,
                start=other.date_from,
                end=other.date_to,
                substitute=other.substitute,
                procedure=scope.procedure_key,
                role=scope.role,
            )


def _check_not_circular(
    s: Session, username: str, substitute: str, scope: Scope, date_from: date, date_to: date
) -> None:
    """Refuse when, on some day of the new absence, the substitute's own absences lead back."""
    todo = [(substitute, date_from, date_to, [username, substitute])]
    while todo:
        who, start, end, path = todo.pop()
        for absence in absence_records.active_absences_of(s, who, start, end):
            if not _scopes_meet(scope, absence):
                continue
            window = (max(start, absence.date_from), min(end, absence.date_to))
            chain = path + [absence.substitute]
            if absence.substitute == username:
                raise InvalidAction(
                    "circular delegation: %(chain)s from %(start)s to %(end)s",
                    field="substitute",
                    chain=" → ".join(chain),
                    start=window[0],
                    end=window[1],
                )
            if absence.substitute not in path and len(chain) <= MAX_CHAIN:
                todo.append((absence.substitute, *window, chain))


def _scopes_meet(scope: Scope, absence: AbsenceRecord) -> bool:
    """Whether some step could fall under both the new scope and this absence."""
    return all(
        mine is None or theirs is None or mine == theirs
        for mine, theirs in ((scope.procedure_key, absence.procedure_key), (scope.role, absence.role))
    )


def _absence_for(s, username, on_date, procedure_key, role, unit_code) -> AbsenceRecord | None:
    matching = [
        a
        for a in absence_records.active_absences_of(s, username, on_date, on_date)
        if a.applies_to(procedure_key, role) and (unit_code is None or a.unit_code == unit_code)
    ]
    return max(matching, key=lambda a: (a.specificity, a.id), default=None)


def _give_back(
    rt: Runtime, s: Session, now: datetime, only_user: str | None, keep: bool = False
) -> list[WorkItemRecord]:
    """Steps held for someone who is no longer away go back to them (or, with `keep`, stay with
    the substitute as their own), unless a delegation is under way on them."""
    days = _local_day(rt, s, now)
    returned = []
    parked = incident_records.parked_subjects(s, "absence", now) if only_user is None else set()
    for item, key in absence_records.open_items_on_behalf_of(s, only_user):
        if item.delegation_state == DelegationState.PENDING.value or item.id in parked:
            continue
        if only_user is not None:  # a person's action: a failure is theirs to see
            _give_back_one(rt, s, item, key, days, now, keep, returned)
            continue
        subject = incidents.Subject(
            "absence", item.id, dossier_id=item.dossier_id, work_item_id=item.id, element_id=item.element_id
        )
        with incidents.guarded(s, subject, now):  # the worker's sweep: one failure must not stop the rest
            _give_back_one(rt, s, item, key, days, now, keep, returned)
    return returned


def _give_back_one(
    rt: Runtime, s: Session, item: WorkItemRecord, key, days, now: datetime, keep: bool, returned: list[WorkItemRecord]
) -> None:
    assignee, _ = effective_assignee(
        s, item.on_behalf_of, days(item.unit_code), key, item.role, unit_code=item.unit_code
    )
    if assignee != item.on_behalf_of:
        return
    if keep:
        _hand_over(rt, s, item, item.assignee, None, now, "absence_kept")
    else:
        _hand_over(rt, s, item, assignee, None, now, "absence_ended")
    returned.append(item)


def _hand_over(
    rt: Runtime, s: Session, item: WorkItemRecord, to: str, on_behalf_of: str | None, now, reason: str
) -> None:
    if item.assignee == to and item.on_behalf_of == on_behalf_of:
        return
    giver, away_user = item.assignee, on_behalf_of or item.on_behalf_of
    audit.record(
        s,
        at=now,
        action="handover",
        actor=Actor("system", frozenset({"system"}), on_behalf_of=on_behalf_of),
        dossier_id=item.dossier_id,
        work_item_id=item.id,
        element_id=item.element_id,
        giver=giver,
        receiver=to,
        reason=reason,
    )
    subject, body = {
        "absence": ("Xử lý thay", f"Bạn xử lý thay {away_user} bước “{item.name}” trong thời gian vắng mặt."),
        "absence_ended": ("Nhận lại", f"Bước “{item.name}” do {giver} xử lý thay đã được chuyển lại cho bạn."),
        "absence_kept": ("Tiếp tục xử lý", f"{away_user} đã trở lại; bạn tiếp tục xử lý bước “{item.name}”."),
    }[reason]
    notify(
        s,
        f"{reason}:{item.id}:v{item.version}:{to}",
        to,
        now,
        item.dossier_id,
        subject=f"{subject}: {item.name}",
        body=body + due_note(rt, s, item),
    )
    item.assignee, item.on_behalf_of, item.state = to, on_behalf_of, WorkItemState.CLAIMED.value
    item.claimed_at = item.claimed_at or now


def _local_day(rt: Runtime, s: Session, now: datetime):
    """unit code -> today's date in that unit's time zone (calendars are cached per unit)."""
    return lambda unit_code: now.astimezone(rt.calendars.for_unit(s, unit_code).tz).date()


def _scope_text(scope: Scope) -> str:
    parts = [
        f"thủ tục {scope.procedure_key}" if scope.procedure_key else "",
        f"vai trò {scope.role}" if scope.role else "",
    ]
    return (" (" + ", ".join(p for p in parts if p) + ")") if any(parts) else ""
