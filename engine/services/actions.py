"""Hand-over actions on a work item: delegate and resolve, reassign, return to the previous step.

Each action is one transaction (unit_of_work.transaction): it checks the actor's roles and unit and
the receiver, changes the row, appends audit events (giver/receiver, on_behalf_of) and queues an
in-app message to the receiver. A refusal raises before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from engine.domain import vn_dates
from engine.domain.assignment import Actor
from engine.domain.assignment import StepHolding
from engine.domain.assignment import refusal_to_complete
from engine.domain.assignment import refusal_to_delegate
from engine.domain.assignment import refusal_to_reassign
from engine.domain.assignment import refusal_to_resolve
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import Reason
from engine.domain.errors import refuse
from engine.domain.limits import check_reason_length
from engine.domain.model import DelegationState
from engine.domain.model import WorkItemState
from engine.services import audit
from engine.services import outbox
from engine.services import projection
from engine.services.dossiers import close_item
from engine.services.dossiers import load_run
from engine.services.dossiers import open_item
from engine.services.runtime import Runtime
from engine.services.unit_of_work import retried_on_race
from engine.services.unit_of_work import transaction
from engine.store import absence_records
from engine.store import officer_rollups
from engine.store import repositories
from engine.store.database import Session
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord

RETURN_DATA_KEY, RETURN_VALUE = "ket_qua", "tra_lai"
#: A gateway condition that routes a return, e.g. `ket_qua == 'tra_lai'`.
_RETURN_CONDITION = re.compile(r"""ket_qua\s*==\s*['"]tra_lai['"]""")


@retried_on_race
def delegate_work_item(
    rt: Runtime, item_id: int, actor: Actor, to_username: str, note: str | None = None
) -> WorkItemRecord:
    """Hand a step to a colleague who works it and resolves it back (Camunda delegate).

    The current assignee becomes the owner and keeps responsibility; the delegate becomes the
    assignee with delegation_state 'pending'.

    Raises:
        PermissionDenied: the actor is neither the assignee nor a leader of the step's unit.
        InvalidAction: the step is not assigned, already delegated, or the delegate may not take it.
        NotFound: unknown step or delegate.
    """
    with transaction(rt) as s:
        item, dossier = open_item(s, item_id, None)
        refuse(refusal_to_delegate(actor, StepHolding.of(item)))
        _check_receiver(s, to_username, item.unit_code, item.role, current=item.assignee)
        now, owner = rt.clock.now(), item.assignee
        audit.record(
            s,
            at=now,
            action="delegate",
            actor=_acting_for(actor, owner),
            dossier_id=dossier.id,
            work_item_id=item.id,
            element_id=item.element_id,
            giver=owner,
            receiver=to_username,
            note=note,
        )
        notify(
            s,
            f"delegate:{item.id}:v{item.version}",
            to_username,
            now,
            dossier.id,
            subject=f"Được ủy quyền xử lý: {item.name} ({dossier.code})",
            body=f"{owner} ủy quyền cho bạn xử lý bước “{item.name}”. Xong việc, chuyển lại cho "
            f"{owner} để hoàn thành." + due_note(rt, s, item) + (f" Ghi chú: {note}" if note else ""),
        )
        item.owner, item.assignee, item.delegation_state = owner, to_username, DelegationState.PENDING.value
        item.state = WorkItemState.CLAIMED.value
        return item


@retried_on_race
def resolve_work_item(
    rt: Runtime, item_id: int, actor: Actor, data: Mapping | None = None, note: str | None = None
) -> WorkItemRecord:
    """The delegate hands the step back to its owner, who completes it (Camunda resolve).

    `data` (the delegate's proposal) is kept in the audit event's detail; the step's outcome is
    written only when the owner completes it.

    Raises:
        InvalidAction: the step is not pending delegation.
        PermissionDenied: the actor is not the delegate.
    """
    with transaction(rt) as s:
        item, dossier = open_item(s, item_id, None)
        refuse(refusal_to_resolve(actor, StepHolding.of(item)))
        now, owner = rt.clock.now(), item.owner
        audit.record(
            s,
            at=now,
            action="resolve",
            actor=actor,
            dossier_id=dossier.id,
            work_item_id=item.id,
            element_id=item.element_id,
            giver=actor.username,
            receiver=owner,
            note=note,
            data=dict(data) if data else None,
        )
        notify(
            s,
            f"resolve:{item.id}:v{item.version}",
            owner,
            now,
            dossier.id,
            subject=f"Đã xử lý xong phần ủy quyền: {item.name} ({dossier.code})",
            body=f"{actor.username} đã chuyển lại bước “{item.name}” để bạn hoàn thành."
            + due_note(rt, s, item)
            + (f" Ghi chú: {note}" if note else ""),
        )
        item.assignee, item.delegation_state = owner, DelegationState.RESOLVED.value
        return item


@retried_on_race
def reassign_work_item(
    rt: Runtime, item_id: int, actor: Actor, to_username: str | None = None, to_role: str | None = None, *, reason: str
) -> WorkItemRecord:
    """A leader moves a step to another person, or back to its role's pool; any delegation ends.

    Raises:
        PermissionDenied: the actor does not lead the step's unit.
        InvalidAction: no reason, not exactly one target, or a target that may not take the step.
    """
    if not (reason or "").strip():
        raise InvalidAction("a reassignment needs a reason", field="reason")
    check_reason_length(reason)
    if (to_username is None) == (to_role is None):
        raise InvalidAction("reassign to either a person or a role pool", field="to_username")
    with transaction(rt) as s:
        item, dossier = open_item(s, item_id, None)
        refuse(refusal_to_reassign(actor, StepHolding.of(item)))
        if to_username is not None:
            _check_receiver(s, to_username, item.unit_code, item.role, current=item.assignee)
            recipients = [to_username]
        else:
            if to_role != item.role:
                raise InvalidAction(
                    "the step belongs to role '%(role)s'; it can go back only to that pool",
                    field="to_role",
                    role=item.role,
                )
            if item.assignee is None:
                raise InvalidAction("the step is already in its role's pool")
            recipients = [u.username for u in repositories.active_users(s, item.unit_code) if to_role in u.role_set]
        now, giver = rt.clock.now(), item.assignee or item.role
        officer_rollups.record_reassigned(s, item.unit_code, item.assignee, now, item.dossier_id)
        audit.record(
            s,
            at=now,
            action="reassign",
            actor=actor,
            dossier_id=dossier.id,
            work_item_id=item.id,
            element_id=item.element_id,
            giver=giver,
            receiver=to_username or to_role,
            reason=reason,
            **{officer_rollups.TAKEN_FROM: item.assignee},
        )
        version = item.version
        item.owner = item.delegation_state = item.on_behalf_of = None
        if to_username is not None:
            _assign(rt, s, item, dossier, to_username, now)
        else:
            item.assignee, item.state = None, WorkItemState.OPEN.value
        # After the assignment: a budget that counts from the claim has its due time by now.
        for recipient in recipients:
            notify(
                s,
                f"reassign:{item.id}:v{version}:{recipient}",
                recipient,
                now,
                dossier.id,
                subject=f"Được giao xử lý: {item.name} ({dossier.code})",
                body=f"{actor.username} giao bước “{item.name}” "
                f"{'cho bạn' if to_username else 'về nhóm ' + to_role}." + due_note(rt, s, item) + f" Lý do: {reason}",
            )
        return item


@retried_on_race
def return_to_previous(rt: Runtime, item_id: int, actor: Actor, reason: str) -> list[WorkItemRecord]:
    """Trả lại: complete the step with `ket_qua = 'tra_lai'` so the template sends it back.

    The reopened step goes to whoever completed it last (when they still may work it), else to
    its role's pool. Returns the reopened work items.

    Raises:
        InvalidAction: no reason, the step has no return path, or the return reopened nothing.
        PermissionDenied: the actor may not work this step (role, unit, assignee, delegation).
    """
    if not (reason or "").strip():
        raise InvalidAction("a return needs a reason", field="reason")
    check_reason_length(reason)
    with transaction(rt) as s:
        item, dossier = open_item(s, item_id, None)
        refuse(refusal_to_complete(actor, StepHolding.of(item)))
        bundle = rt.bundle_for_definition(s, dossier.definition_id)
        if not has_return_path(bundle, item.element_id):
            raise InvalidAction("this step has no return path in the template", element_id=item.element_id)
        now, calendar = rt.clock.now(), rt.calendars.for_unit(s, dossier.unit_code)
        run = load_run(rt, s, dossier, calendar)
        done_before, ready_before = set(run.completed_element_ids()), run.ready_task_ids()
        data = {RETURN_DATA_KEY: RETURN_VALUE, "ly_do_tra_lai": reason}
        run.complete(item.task_id, data)
        # Only the run in memory has changed so far: refusing here still writes nothing.
        if not any(t.element_id in done_before for t in run.human_tasks() if t.task_id not in ready_before):
            raise InvalidAction(
                "returning did not reopen an earlier step; check the template's return path", element_id=item.element_id
            )
        close_item(s, item, actor, now, data, calendar, dossier_rated=dossier.rated)
        audit.record(
            s,
            at=now,
            action="complete",
            actor=actor,
            dossier_id=dossier.id,
            work_item_id=item.id,
            element_id=item.element_id,
            outcome=RETURN_VALUE,
        )
        created = projection.sync(
            s,
            dossier,
            run,
            calendar,
            actor,
            now,
            frozenset(ready_before),
            handed_over_by=actor.username,
            completed_task=item.task_id,
        )
        reopened = [new for new in created if new.element_id in done_before]
        for new in reopened:
            _send_back(rt, s, new, item, dossier, actor, reason, now)
        return reopened


def has_return_path(bundle, element_id: str) -> bool:
    """Whether a gateway right after the step has a flow conditioned on `ket_qua == 'tra_lai'`."""
    spec = _task_spec(bundle, element_id)
    seen, todo = set(), list(getattr(spec, "outputs", ()))
    while todo:
        nxt = todo.pop()
        if nxt.name in seen or nxt.manual:
            continue  # the next person's step ends the search: a return is decided at this step
        seen.add(nxt.name)
        for condition, _target in getattr(nxt, "cond_task_specs", ()):
            if condition is not None and _RETURN_CONDITION.search(str(condition.args[0])):
                return True
        todo.extend(nxt.outputs)
    return False


# -- shared with absences -----------------------------------------------------------------------


def refusal_for_receiver(user: UserRecord | None, username: str, unit_code: str, role: str | None) -> Reason | None:
    """Why `username` may not receive work of this unit and role, or None when they may."""
    if user is None:
        return Reason.of("unknown user '%(user)s'", user=username)
    if not user.active:
        return Reason.of("%(user)s is not an active user", user=username)
    if user.unit_code != unit_code:
        return Reason.of("%(user)s does not work in unit %(unit)s", user=username, unit=unit_code)
    if role is not None and role not in user.role_set:
        return Reason.of("%(user)s does not have role '%(role)s'", user=username, role=role)
    return None


def notify(s: Session, key: str, recipient: str, now, dossier_id: int | None, *, subject: str, body: str) -> None:
    outbox.enqueue(
        s, key=key, channel="in_app", recipient=recipient, subject=subject, body=body, now=now, dossier_id=dossier_id
    )


def due_note(rt: Runtime, s: Session, item: WorkItemRecord) -> str:
    """' Hạn xử lý: 09:00 ngày 16/03/2026.' in the step's unit's local time (never UTC: the reader
    acts on it); empty while the step has no due time."""
    if item.due_at is None:
        return ""
    tz = rt.calendars.for_unit(s, item.unit_code).tz
    return f" Hạn xử lý: {vn_dates.short_datetime(item.due_at, tz)}."


# -- helpers ------------------------------------------------------------------------------------


def _acting_for(actor: Actor, username: str) -> Actor:
    """A leader acting on someone's step is recorded as acting on their behalf."""
    return actor if actor.username == username else replace(actor, on_behalf_of=username)


def _check_receiver(s: Session, username: str, unit_code: str, role: str | None, current: str | None) -> None:
    if username == current:
        raise InvalidAction("the step is already assigned to %(user)s", field="to_username", user=username)
    user = s.get(UserRecord, username)
    refusal = refusal_for_receiver(user, username, unit_code, role)
    if refusal:
        raise (NotFound if user is None else InvalidAction).because(refusal, field="to_username")


def _assign(rt: Runtime, s: Session, item: WorkItemRecord, dossier, username: str, now) -> None:
    item.assignee, item.state, item.claimed_at = username, WorkItemState.CLAIMED.value, now
    if item.due_at is None:  # a budget that counts from the claim starts now
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        projection.set_deadlines_on_claim(s, item, rt.bundle_for_definition(s, dossier.definition_id), calendar, now)


def _send_back(rt, s, new: WorkItemRecord, returned: WorkItemRecord, dossier, actor, reason, now) -> None:
    previous = absence_records.last_completed_item(s, dossier.id, new.element_id)
    handler = previous.completed_by if previous else None
    if handler and refusal_for_receiver(s.get(UserRecord, handler), handler, new.unit_code, new.role) is None:
        _assign(rt, s, new, dossier, handler, now)
        recipients = [handler]
    else:
        recipients = [u.username for u in repositories.active_users(s, new.unit_code) if new.role in u.role_set]
    officer_rollups.record_return(s, new.unit_code, handler, now, dossier.id)
    audit.record(
        s,
        at=now,
        action="return",
        actor=actor,
        dossier_id=dossier.id,
        work_item=new,
        element_id=new.element_id,
        giver=actor.username,
        receiver=new.assignee or new.role,
        reason=reason,
        returned_from=returned.element_id,
        **{officer_rollups.CAUSED_BY: handler},
    )
    for recipient in recipients:
        notify(
            s,
            f"return:{new.task_id}:{recipient}",
            recipient,
            now,
            dossier.id,
            subject=f"Hồ sơ bị trả lại: {new.name} ({dossier.code})",
            body=f"{actor.username} trả lại hồ sơ ở bước “{returned.name}”."
            + due_note(rt, s, new)
            + f" Lý do: {reason}",
        )


def _task_spec(bundle, element_id: str):
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        task_spec = spec.task_specs.get(element_id)
        if task_spec is not None:
            return task_spec
    return None
