"""A claim written as one guarded UPDATE ... RETURNING instead of a read and then a write.

The UPDATE takes the step only while nobody holds it, it is still open, its deadline is already set
and its dossier is running; it returns what the claim's answer shows and the dossier's code. Who
may take it (the unit, the role, who may see it) is checked by the caller on the returned row,
before the commit: a refusal then rolls the claim back. When no row comes back, the caller reads
the step the usual way, which names the reason (unknown, closed, already claimed, dossier stopped)
or, for a step whose deadline starts at its claim, claims it the long way.

The claim's audit event: on PostgreSQL the same statement writes it, linked to the dossier's chain
head as the statement reads it (moved only if still as read, like a change's events riding with
its rows); its hash is made by the database from the event's canonical text cut around the four
values only the row knows (engine.domain.audit_chain.canonical_around), so that a claim is one
statement and its COMMIT. When the head was missing or had moved, nothing of the event is written
and the caller records it the usual way, linked from the locked head. On SQLite the statement
returns the head as read, and the caller links the event from it.

Run on the driver's cursor (engine.store.driver_writes), inside the claim's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from typing import cast

from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import bindparam
from sqlalchemy import cast as sql_cast
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update
from sqlalchemy.engine import Connection

from engine.domain.audit_chain import canonical_around
from engine.domain.model import RunState
from engine.domain.model import WorkItemState
from engine.store.driver_writes import DriverWrite
from engine.store.records import AuditChainRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

_ITEM = cast(Table, WorkItemRecord.__table__)
_DOSSIER = DossierRecord.__table__
_HEADS = cast(Table, AuditChainRecord.__table__)
_EVENTS = cast(Table, AuditEventRecord.__table__)


class ClaimedStep(NamedTuple):
    """A step as its claim left it: the columns the claim's answer shows, with its dossier's code."""

    id: int
    dossier_id: int
    dossier_code: str
    element_id: str
    name: str
    role: str | None
    unit_code: str
    state: str
    assignee: str | None
    owner: str | None
    delegation_state: str | None
    priority: int
    form_key: str | None
    created_at: datetime
    claimed_at: datetime | None
    warn_at: datetime | None
    due_at: datetime | None
    version: int

    @classmethod
    def of(cls, item: WorkItemRecord, dossier_code: str) -> ClaimedStep:
        """The same from a work item's row (a claim written through the ORM)."""
        return cls(
            **{name: getattr(item, name) for name in cls._fields if name != "dossier_code"},
            dossier_code=dossier_code,
        )


class Claim(NamedTuple):
    """What a guarded claim wrote: the step; on SQLite the dossier's audit chain head as read
    (None when it has none); on PostgreSQL the audit event written with it (None when not)."""

    step: ClaimedStep
    head: tuple[str, int] | None
    logged: dict | None = None


def _dossier(col):
    return select(col).where(_DOSSIER.c.id == _ITEM.c.dossier_id).scalar_subquery()


def _head(col):
    return select(col).where(_HEADS.c.chain_key == _ITEM.c.dossier_id).scalar_subquery()


_RETURNED_NAMES = [name for name in ClaimedStep._fields if name != "dossier_code"]
_RETURNED = [_ITEM.c[name] for name in _RETURNED_NAMES]
_GUARDED = (
    update(_ITEM)
    .where(
        _ITEM.c.id == bindparam("item_id"),
        _ITEM.c.assignee.is_(None),
        _ITEM.c.state == WorkItemState.OPEN.value,
        _ITEM.c.due_at.is_not(None),  # a step whose deadline starts at its claim: set the long way
        # Its dossier's state read by its key: written as EXISTS, PostgreSQL made it a semi-join
        # and, without statistics (no ANALYZE yet), scanned every running dossier's entry of the
        # open-appointment index for the one it needed.
        _dossier(_DOSSIER.c.run_state) == RunState.RUNNING.value,
    )
    .values(
        assignee=bindparam("username"),
        state=WorkItemState.CLAIMED.value,
        claimed_at=bindparam("now", type_=_ITEM.c.claimed_at.type),
        version=_ITEM.c.version + 1,
    )
)
_GUARDED_CLAIM = DriverWrite(
    _GUARDED.returning(
        *_RETURNED,
        _dossier(_DOSSIER.c.code).label("dossier_code"),
        _head(_HEADS.c.last_hash).label("head_hash"),
        _head(_HEADS.c.length).label("head_length"),
    )
)

#: The claim's event fields that only its row knows, filled in by the statement, in name order.
_FROM_THE_ROW = ("dossier_id", "element_id", "giver", "work_item_id")
_EVENT = {"action": "claim", "detail": {}}


def _claim_logged() -> DriverWrite:
    """PostgreSQL: the guarded claim, then its audit event linked from the chain's head as read
    and the head moved on only if still there, each WITH reading the one before (the step's row
    locked first, the head last, as every change locks them); the step's columns, its dossier's
    code and the event's hash (NULL when nothing of it was written)."""
    claimed = _GUARDED.returning(
        *_RETURNED, _dossier(_DOSSIER.c.code).label("dossier_code"), _ITEM.c.dossier_id.label("chain_key")
    ).cte("claimed")
    # The event's canonical text: Python's pieces with the JSON text of each value the row gives
    # between them, in the order of _FROM_THE_ROW.
    pieces = [bindparam(f"piece_{n}", type_=Text) for n in range(len(_FROM_THE_ROW) + 1)]
    canonical = (
        pieces[0]
        + sql_cast(claimed.c.dossier_id, Text)
        + pieces[1]
        + func.coalesce(sql_cast(func.to_json(claimed.c.element_id), Text), "null")
        + pieces[2]
        + func.coalesce(sql_cast(func.to_json(claimed.c.role), Text), "null")
        + pieces[3]
        + sql_cast(claimed.c.id, Text)
        + pieces[4]
    )
    hashed = func.encode(func.sha256(func.convert_to(_HEADS.c.last_hash + func.chr(10) + canonical, "UTF8")), "hex")
    seen = (
        select(_HEADS.c.length.label("length"), hashed.label("chain_hash"))
        .select_from(claimed.join(_HEADS, _HEADS.c.chain_key == claimed.c.chain_key))
        .cte("seen")
    )
    moved = (
        update(_HEADS)
        .where(_HEADS.c.chain_key == claimed.c.chain_key, _HEADS.c.length == seen.c.length)
        .values(last_hash=seen.c.chain_hash, length=seen.c.length + 1)
        .returning(_HEADS.c.last_hash)
        .cte("moved")
    )
    event = {
        "dossier_id": claimed.c.dossier_id,
        "work_item_id": claimed.c.id,
        "at": bindparam("at", type_=_EVENTS.c.at.type),
        "action": bindparam("action", type_=_EVENTS.c.action.type),
        "actor": bindparam("actor", type_=_EVENTS.c.actor.type),
        "on_behalf_of": bindparam("on_behalf_of", type_=_EVENTS.c.on_behalf_of.type),
        "giver": claimed.c.role,
        "receiver": bindparam("receiver", type_=_EVENTS.c.receiver.type),
        "element_id": claimed.c.element_id,
        "detail": bindparam("detail", type_=_EVENTS.c.detail.type),
        "chain_hash": moved.c.last_hash,
    }
    logged = (
        insert(_EVENTS)
        .from_select(list(event), select(*event.values()).select_from(claimed).join(moved, true()))
        .returning(_EVENTS.c.chain_hash)
        .cte("logged")
    )
    logged_hash = select(logged.c.chain_hash).scalar_subquery().label("logged_hash")
    return DriverWrite(
        select(*(claimed.c[name] for name in _RETURNED_NAMES), claimed.c.dossier_code, logged_hash).add_cte(
            seen, moved, logged
        )
    )


_CLAIM_LOGGED = _claim_logged()


def claim_if_free(
    connection: Connection, item_id: int, username: str, now: datetime, on_behalf_of: str | None = None
) -> Claim | None:
    """Claim the step for `username` (acting for `on_behalf_of`) at `now` if it is open, unheld,
    has its deadline and its dossier runs; None (nothing written) otherwise. On PostgreSQL its
    audit event goes with it when the chain's head allows (`Claim.logged`)."""
    if connection.dialect.name == "postgresql":
        return _claimed_and_logged(connection, item_id, username, now, on_behalf_of)
    row = _GUARDED_CLAIM.returned(connection, {"item_id": item_id, "username": username, "now": now})
    if row is None:
        return None
    *columns, dossier_code, head_hash, head_length = row
    return Claim(_step(columns, dossier_code, now), None if head_length is None else (head_hash, head_length))


def _claimed_and_logged(
    connection: Connection, item_id: int, username: str, now: datetime, on_behalf_of: str | None
) -> Claim | None:
    event = {**_EVENT, "at": now, "actor": username, "on_behalf_of": on_behalf_of, "receiver": username}
    params = {**event, "item_id": item_id, "username": username, "now": now}
    params.update((f"piece_{n}", piece) for n, piece in enumerate(canonical_around(event, _FROM_THE_ROW)))
    row = _CLAIM_LOGGED.returned(connection, params)
    if row is None:
        return None
    *columns, dossier_code, logged_hash = row
    step = _step(columns, dossier_code, now)
    if logged_hash is None:
        return Claim(step, None)
    row_values = {"dossier_id": step.dossier_id, "work_item_id": step.id, "giver": step.role}
    logged = {**event, **row_values, "element_id": step.element_id, "chain_hash": logged_hash}
    return Claim(step, None, logged)


def _step(columns: list, dossier_code: str, now: datetime) -> ClaimedStep:
    # `now` as given rather than as the database gives it back: the answer shows the instant the
    # clock gave, as a claim written through the ORM did.
    return ClaimedStep(**dict(zip(_RETURNED_NAMES, columns, strict=True)), dossier_code=dossier_code)._replace(
        claimed_at=now
    )
