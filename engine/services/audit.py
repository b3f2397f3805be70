"""Appends to the audit log; nothing ever updates or deletes an audit row.

Events are collected during a change and written in one multi-row INSERT just before it
commits (`write_pending`), so a step's hand-overs cost one statement, not one per event.
"""

from __future__ import annotations

from engine.domain.assignment import Actor
from engine.store import repositories
from engine.store.database import Session

PENDING_KEY = "motcua_audit_pending"


def record(session: Session, *, at, action: str, actor: Actor | str, dossier_id: int | None = None,
           work_item_id: int | None = None, element_id: str | None = None, giver: str | None = None,
           receiver: str | None = None, work_item=None, **detail) -> dict:
    """Queue an event; `work_item` may be a row created in this change (its id is read at write)."""
    event = {
        "dossier_id": dossier_id, "work_item_id": work_item_id, "at": at, "action": action,
        "actor": actor if isinstance(actor, str) else actor.username,
        "on_behalf_of": None if isinstance(actor, str) else actor.on_behalf_of,
        "giver": giver, "receiver": receiver, "element_id": element_id,
        "detail": {k: v for k, v in detail.items() if v is not None},
    }
    session.info.setdefault(PENDING_KEY, []).append((event, work_item))
    return event


def write_pending(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, [])
    if not pending:
        return
    if any(item is not None and item.id is None for _, item in pending):
        session.flush()
    rows = [{**event, "work_item_id": item.id if item is not None else event["work_item_id"]}
            for event, item in pending]
    repositories.insert_audit_events(session, rows)
