"""Which dossiers a transaction changed in a way the portal must hear of (created, status,
appointment, closure), collected at each flush and handed to the registered listeners once,
just before the transaction commits: whatever use case, sweep or timer wrote the dossier, its
portal event is queued in the same transaction, and one transaction makes one event per dossier."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import NO_VALUE

from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord

#: The columns whose change the portal is told of.
WATCHED = ("status", "appointment_at", "run_state", "completed_at", "re_appointment_reason")
_CHANGED_KEY = "motcua_portal_changed"
_REPORTED_KEY = "motcua_portal_reported"
_listeners: list[Callable[[Session, list[DossierRecord]], None]] = []


def on_commit(listener: Callable[[Session, list[DossierRecord]], None]) -> None:
    """Call `listener(session, changed dossiers)` before each commit that changed any."""
    if listener not in _listeners:
        _listeners.append(listener)


def _changed(obj: DossierRecord) -> bool:
    """Whether a watched column holds another value than the one loaded (what its attribute
    history says, read from the state's own dicts: building the history of every attribute cost
    a few percent of a step's change)."""
    state = instance_state(obj)
    before, now = state.committed_state, state.dict
    for name in WATCHED:  # a loop, not a generator: one Python call instead of one per column
        if name in before and before[name] != now.get(name, NO_VALUE):
            return True
    return False


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context, _instances) -> None:
    collect(session)


def collect(session: Session) -> None:
    """Mark the dossiers the session's pending changes create or move as the portal must hear;
    run before each flush, and by engine.store.change_rows before it writes rows itself."""
    if _listeners:
        collect_among(session, session.new, session.dirty)


def collect_among(session: Session, new: Iterable[object], dirty: Iterable[object]) -> None:
    """`collect` from the session's new and dirty objects as its caller just read them."""
    if not _listeners:
        return
    for obj in new:
        if isinstance(obj, DossierRecord):
            marked = session.info.setdefault(_CHANGED_KEY, {})
            marked[id(obj)] = obj
    for obj in dirty:
        if isinstance(obj, DossierRecord) and _changed(obj):
            marked = session.info.setdefault(_CHANGED_KEY, {})
            marked[id(obj)] = obj


@event.listens_for(Session, "before_commit")
def _hand_over(session: Session) -> None:
    if not _listeners:
        return
    session.flush()  # what is still pending is marked too
    marked = session.info.pop(_CHANGED_KEY, None)
    if not marked:
        return
    for listener in _listeners:
        listener(session, list(marked.values()))


def mark(session: Session, dossier: DossierRecord, *, step: str | None = None, note: str | None = None) -> None:
    """Tell the portal of the dossier at this transaction's commit even when nothing watched
    changed (a service task's sync_portal); `step` and `note`, when given, are what the event says
    was done (its BuocXuLy and NoiDungXuLy)."""
    session.info.setdefault(_CHANGED_KEY, {})[id(dossier)] = dossier
    if step or note:
        session.info.setdefault(_REPORTED_KEY, {})[dossier.id] = (step, note)


def reported_step(session: Session, dossier_id: int) -> tuple[str | None, str | None] | None:
    """(step, note) a `mark` gave for the dossier in this transaction, if any."""
    return session.info.get(_REPORTED_KEY, {}).get(dossier_id)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED_KEY, None)
    session.info.pop(_REPORTED_KEY, None)
    session.info.pop(WRITTEN_EVENTS_KEY, None)


#: engine.services.audit keeps a transaction's written events under this key until it ends.
WRITTEN_EVENTS_KEY = "motcua_audit_written"


def written_events(session: Session) -> list[dict]:
    return session.info.get(WRITTEN_EVENTS_KEY, [])


def loaded_step(session: Session, dossier_id: int, element_id: str) -> WorkItemRecord | None:
    """The newest step of the dossier at this element that the transaction has in hand, if any."""
    found = [
        obj
        for obj in session.identity_map.values()
        if isinstance(obj, WorkItemRecord) and obj.dossier_id == dossier_id and obj.element_id == element_id
    ]
    return max(found, key=lambda item: item.id or 0) if found else None


def earlier_unsent(session: Session, channel: str, recipient: str, message_id: int) -> bool:
    """Whether a message queued before this one for the same recipient is not sent yet (pending,
    or dead until an administrator sends it again)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    OutboxRecord.channel == channel,
                    OutboxRecord.recipient == recipient,
                    OutboxRecord.id < message_id,
                    OutboxRecord.status != "sent",
                )
            )
        )
    )


def messages(session: Session, channel: str, statuses: tuple[str, ...], limit: int = 200) -> list[OutboxRecord]:
    return list(
        session.scalars(
            select(OutboxRecord)
            .where(OutboxRecord.channel == channel, OutboxRecord.status.in_(statuses))
            .order_by(OutboxRecord.id)
            .limit(limit)
        )
    )
