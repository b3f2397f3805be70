"""Reads and writes of the audit log's hash chains: their heads (locked to append, or read with
the step a change acts on and moved only if still as read) and their events in chain order (to
verify)."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator

from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from engine.domain.audit_chain import FIELDS
from engine.domain.audit_chain import NO_DOSSIER
from engine.domain.audit_chain import ChainHead
from engine.store.records import AuditChainRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord

_HEADS = AuditChainRecord.__table__
_EVENTS = AuditEventRecord.__table__
_HEAD_COLUMNS = (_HEADS.c.chain_key, _HEADS.c.last_hash, _HEADS.c.length)
# A change almost always writes one dossier's events: its head is read by key, without the
# expanding IN that costs twice as much Python per call.
_LOCK_HEAD = select(*_HEAD_COLUMNS).where(_HEADS.c.chain_key == bindparam("key")).with_for_update()
_LOCK_HEADS = (
    select(*_HEAD_COLUMNS)
    .where(_HEADS.c.chain_key.in_(bindparam("keys", expanding=True)))
    .order_by(_HEADS.c.chain_key)
    .with_for_update()
)
_UPDATE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.chain_key == bindparam("key"))
    .values(last_hash=bindparam("new_hash"), length=bindparam("new_length"))
)
#: An event's chain: its dossier's id, or 0 for events without a dossier (chain order: key, then id).
_CHAIN_KEY = func.coalesce(_EVENTS.c.dossier_id, NO_DOSSIER)


_SEEN_KEY = "motcua_audit_seen_heads"


def remember_seen_head(session: Session, key: int, head: ChainHead) -> None:
    """Note a chain's head as read, without a lock, at the start of this transaction."""
    session.info.setdefault(_SEEN_KEY, {})[key] = head


def seen_heads(session: Session, keys: list[int]) -> dict[int, ChainHead] | None:
    """The heads of `keys` read without a lock in this transaction, when every one was; each is
    used once (afterwards the transaction holds those rows' locks and reads them locked)."""
    seen = session.info.pop(_SEEN_KEY, {})
    if not all(key in seen for key in keys):
        return None
    return {key: seen[key] for key in keys}


def append_after_seen(
    session: Session, seen: dict[int, ChainHead], moved: dict[int, ChainHead], events: list[dict]
) -> bool:
    """Move each chain's head from `seen` to `moved` and insert the events, provided no other
    change moved a head since it was read; False when one did (the caller rolls back: the
    events, linked to a stale head, must not stay). The head's length is its version: a writer
    holding the lock (the worker's SLA pass) makes this UPDATE wait, then miss."""
    connection = session.connection()
    rows = [
        {"key": key, "seen_length": seen[key].length, "new_hash": head.last_hash, "new_length": head.length}
        for key, head in moved.items()
    ]
    if len(rows) == 1 and connection.dialect.name == "postgresql":
        # One round trip: the head moves in the events' INSERT, which returns whether it moved.
        head = _MOVE_SEEN_HEAD.values(last_hash=rows[0]["new_hash"], length=rows[0]["new_length"]).where(
            _HEADS.c.chain_key == rows[0]["key"], _HEADS.c.length == rows[0]["seen_length"]
        )
        moved_head = head.returning(_HEADS.c.chain_key).cte("moved_head")
        found = connection.execute(
            insert(_EVENTS)
            .values(events)
            .add_cte(moved_head)
            .returning(select(func.count()).select_from(moved_head).scalar_subquery())
        )
        return bool(found.scalars().first())
    if connection.execute(_MOVE_SEEN_HEADS, rows).rowcount != len(rows):
        return False
    connection.execute(insert(_EVENTS), events)
    return True


_MOVE_SEEN_HEAD = update(_HEADS)
_MOVE_SEEN_HEADS = (
    update(_HEADS)
    .where(_HEADS.c.chain_key == bindparam("key"), _HEADS.c.length == bindparam("seen_length"))
    .values(last_hash=bindparam("new_hash"), length=bindparam("new_length"))
)


def lock_heads(session: Session, keys: list[int]) -> dict[int, ChainHead]:
    """The heads of these chains, locked until the transaction ends (in key order, so that two
    writers of the same chains queue instead of deadlocking; SQLite's write lock serialises anyway)."""
    connection = session.connection()  # Core statements: the ORM layer would only add cost
    rows = (
        connection.execute(_LOCK_HEAD, {"key": keys[0]})
        if len(keys) == 1
        else connection.execute(_LOCK_HEADS, {"keys": keys})
    )
    return {key: ChainHead(last_hash, length) for key, last_hash, length in rows}


def _insert_heads(dialect) -> object:
    return (
        dialect.insert(_HEADS)
        .values(chain_key=bindparam("key"), last_hash=bindparam("new_hash"), length=bindparam("new_length"))
        .on_conflict_do_nothing(index_elements=["chain_key"])
        .returning(_HEADS.c.chain_key)
    )


_INSERT_HEADS = {"postgresql": _insert_heads(postgresql), "sqlite": _insert_heads(sqlite)}


def create_heads(session: Session, heads: dict[int, ChainHead]) -> set[int]:
    """Insert the heads of new chains; returns the keys inserted (another change may have
    created some first: the insert waits for it and skips them)."""
    connection = session.connection()
    rows = _head_rows(heads)
    return set(
        connection.execute(_INSERT_HEADS[connection.dialect.name], rows[0] if len(rows) == 1 else rows).scalars()
    )


def append_events(session: Session, heads: dict[int, ChainHead], events: list[dict]) -> None:
    """Move the chains' heads on and insert their events. On PostgreSQL, one chain's head (a
    change's usual case) moves in the insert itself, as a data-modifying WITH: one round trip."""
    connection = session.connection()
    if len(heads) == 1 and connection.dialect.name == "postgresql":
        [(key, head)] = heads.items()
        moved = (
            update(_HEADS)
            .where(_HEADS.c.chain_key == key)
            .values(last_hash=head.last_hash, length=head.length)
            .cte("moved_head")
        )
        connection.execute(insert(_EVENTS).values(events).add_cte(moved))
        return
    if heads:
        update_heads(session, heads)
    connection.execute(insert(_EVENTS), events)


def update_heads(session: Session, heads: dict[int, ChainHead]) -> None:
    rows = _head_rows(heads)
    session.connection().execute(_UPDATE_HEAD, rows[0] if len(rows) == 1 else rows)


def _head_rows(heads: dict[int, ChainHead]) -> list[dict]:
    return [{"key": key, "new_hash": head.last_hash, "new_length": head.length} for key, head in heads.items()]


def heads(session: Session, keys: Iterable[int] | None = None) -> dict[int, ChainHead]:
    query = select(_HEADS.c.chain_key, _HEADS.c.last_hash, _HEADS.c.length)
    if keys is not None:
        query = query.where(_HEADS.c.chain_key.in_(list(keys)))
    return {key: ChainHead(last_hash, length) for key, last_hash, length in session.execute(query)}


def chain_events(session: Session, key: int | None = None) -> Iterator[tuple[int, int, dict, str | None]]:
    """(chain key, event id, hashed fields, stored hash) of one chain or of all, in chain order,
    streamed so that verifying a large log does not load it at once."""
    columns = [_EVENTS.c[name] for name in FIELDS]
    query = select(_CHAIN_KEY, _EVENTS.c.id, _EVENTS.c.chain_hash, *columns).order_by(_CHAIN_KEY, _EVENTS.c.id)
    if key is not None:
        query = query.where(_EVENTS.c.dossier_id.is_(None) if key == NO_DOSSIER else _EVENTS.c.dossier_id == key)
    for row in session.execute(query.execution_options(yield_per=1000)):
        chain, event_id, stored_hash, *values = row
        yield chain, event_id, dict(zip(FIELDS, values)), stored_hash


def dossier_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(DossierRecord.id).where(DossierRecord.code == code))


def dossier_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = [i for i in ids if i != NO_DOSSIER]
    if not ids:
        return {}
    query = select(DossierRecord.id, DossierRecord.code).where(DossierRecord.id.in_(ids))
    return {dossier_id: code for dossier_id, code in session.execute(query)}
