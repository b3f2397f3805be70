"""Reads and writes of the audit log's hash chains: their heads (locked to append, or read with
the step a change acts on and moved only if still as read) and their events in chain order (to
verify)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from collections.abc import Iterator

from sqlalchemy import TextClause
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from engine.domain.audit_chain import FIELDS
from engine.domain.audit_chain import NO_DOSSIER
from engine.domain.audit_chain import ChainHead
from engine.store import change_rows
from engine.store.driver_writes import DriverWrite
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
    """The head of the one chain `keys` names, read without a lock in this transaction, if it was
    (a change writing several chains locks them all); used once: afterwards the transaction
    holds that row's lock and reads it locked."""
    seen = session.info.pop(_SEEN_KEY, {})
    if len(keys) != 1 or keys[0] not in seen:
        return None
    return {keys[0]: seen[keys[0]]}


_NEW_KEY = "motcua_audit_new_chains"


def remember_new_chain(session: Session, key: int) -> None:
    """Note that this transaction created what the chain `key` is of (a dossier it inserted):
    nobody else can have written that chain, so its head is created without looking."""
    session.info.setdefault(_NEW_KEY, set()).add(key)


def is_new_chain(session: Session, keys: list[int]) -> bool:
    """Whether `keys` is the one chain this transaction noted as new; used once (the head is
    written then: a later write of the same transaction appends to it as to any other)."""
    new = session.info.pop(_NEW_KEY, set())
    return len(keys) == 1 and keys[0] in new


def start_chain(session: Session, head: dict[int, ChainHead], events: list[dict]) -> None:
    """Create a new chain's head and insert its first events: one round trip on PostgreSQL."""
    connection = session.connection()
    [row] = _head_rows(head)
    if connection.dialect.name == "postgresql":
        _insert_with_new_head(len(events)).run(connection, _params(row, events))
        return
    connection.execute(_INSERT_HEAD, row)
    connection.execute(insert(_EVENTS), events)


_INSERT_HEAD = insert(_HEADS).values(
    chain_key=bindparam("key"), last_hash=bindparam("new_hash"), length=bindparam("new_length")
)


def append_after_seen(
    session: Session, seen: dict[int, ChainHead], moved: dict[int, ChainHead], events: list[dict]
) -> bool:
    """Move the chain's head from `seen` to `moved` and insert the events, provided no other
    change moved it since it was read; False, with nothing written, when one did (the caller
    then links the events again from the locked heads). The head's length is its version: a
    writer holding the lock (the worker's SLA pass) makes this UPDATE wait, then miss."""
    connection = session.connection()
    [(key, head)] = moved.items()
    row = {"key": key, "seen_length": seen[key].length, "new_hash": head.last_hash, "new_length": head.length}
    if connection.dialect.name == "postgresql":
        # One round trip: the head moves in the events' INSERT, which returns whether it moved.
        found = _insert_moving_head(len(events), checked=True).returned(connection, _params(row, events))
        return found is not None and bool(found[0])  # no row: nothing inserted
    if _MOVE_SEEN_HEAD.run(connection, row) != 1:
        return False
    _insert_events(connection, events)
    return True


_APPENDED_KEY = "motcua_audit_appended_with_rows"


def append_with_rows(
    session: Session, seen: dict[int, ChainHead], moved: dict[int, ChainHead], events: list[dict]
) -> None:
    """`append_after_seen` queued to run in the change's rows' statement (PostgreSQL,
    engine.store.change_rows.with_rows): the head moves, then the events go in, each only if the
    WITH before it returned a row; `appended_with_rows` then says whether they did."""
    [(key, head)] = moved.items()
    params = {"audit_key": key, "audit_seen_length": seen[key].length}
    params.update({"audit_new_hash": head.last_hash, "audit_new_length": head.length})
    session.info[_APPENDED_KEY] = False
    change_rows.with_rows(session, _move_seen_head_after, params)
    change_rows.with_rows(session, _insert_after(len(events)), _params({}, events, _APART), told=_telling(session))


def start_with_rows(session: Session, head: dict[int, ChainHead], events: list[dict]) -> None:
    """`start_chain` queued to run in the change's rows' statement, as `append_with_rows`: the new
    chain's head goes in, then its first events; `appended_with_rows` then says whether they did."""
    [(key, moved)] = head.items()
    params = {"audit_key": key, "audit_new_hash": moved.last_hash, "audit_new_length": moved.length}
    session.info[_APPENDED_KEY] = False
    change_rows.with_rows(session, _insert_new_head_after, params)
    change_rows.with_rows(session, _insert_after(len(events)), _params({}, events, _APART), told=_telling(session))


def appended_with_rows(session: Session) -> bool:
    """Whether the events `append_with_rows` queued were written (used once)."""
    return bool(session.info.pop(_APPENDED_KEY, False))


def _telling(session: Session):
    def told(wrote: bool) -> None:
        session.info[_APPENDED_KEY] = wrote

    return told


#: The prefix of the parameters of the statements that ride with the change's rows.
_APART = "audit_"


def _move_seen_head_after(after: str | None) -> TextClause:
    # Alone (no rows written: not queued so) the head moves only if still as seen, all the same.
    after_rows = f" AND EXISTS (SELECT FROM {after})" if after is not None else ""
    return text(
        "UPDATE audit_chain SET last_hash = :audit_new_hash, length = :audit_new_length "
        f"WHERE chain_key = :audit_key AND length = :audit_seen_length{after_rows} RETURNING chain_key"
    )


def _insert_new_head_after(after: str | None) -> TextClause:
    after_rows = f" WHERE EXISTS (SELECT FROM {after})" if after is not None else ""
    return text(
        "INSERT INTO audit_chain (chain_key, last_hash, length) "
        f"SELECT :audit_key, :audit_new_hash, :audit_new_length{after_rows} RETURNING chain_key"
    )


@functools.lru_cache(maxsize=64)
def _insert_after(events: int):
    """The events' INSERT to run after the head's move (`after`), once per number of events; alone,
    only if the head is where it moved to."""

    def statement(after: str | None) -> TextClause:
        moved = (
            f"SELECT FROM {after}"
            if after is not None
            else "SELECT FROM audit_chain WHERE chain_key = :audit_key AND length = :audit_new_length"
        )
        columns = ", ".join(_EVENT_COLUMNS)
        sql = (
            f"INSERT INTO audit_event ({columns}) SELECT * FROM (VALUES {_value_rows(events, _APART)}) "
            f"AS event ({columns}) WHERE EXISTS ({moved}) RETURNING id"
        )
        return text(sql).bindparams(*_event_params(events, _APART))

    return statement


_MOVE_SEEN_HEAD = DriverWrite(
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
        [row] = _head_rows(heads)
        _insert_moving_head(len(events), checked=False).run(connection, _params(row, events))
        return
    if heads:
        update_heads(session, heads)
    _insert_events(connection, events)


#: Up to this many events go in one multi-row INSERT (11 parameters each, well under SQLite's
#: 32,766); a larger batch (a worker's sweep) is sent as one executemany.
_EVENTS_AT_ONCE = 64


def _insert_events(connection, events: list[dict]) -> None:
    """The events in one INSERT ... VALUES of as many rows, built once per number of rows: as an
    executemany, a step's two or three events cost SQLAlchemy's Python three times the statement's."""
    if len(events) > _EVENTS_AT_ONCE:
        connection.execute(insert(_EVENTS), events)
        return
    _insert_rows(len(events)).run(connection, _params({}, events))


@functools.lru_cache(maxsize=_EVENTS_AT_ONCE)
def _insert_rows(events: int) -> DriverWrite:
    statement = text(f"INSERT INTO audit_event ({', '.join(_EVENT_COLUMNS)}) VALUES {_value_rows(events)}")
    return DriverWrite(statement.bindparams(*_event_params(events)))


#: An event row's columns, as engine.services.audit writes them.
_EVENT_COLUMNS = (*FIELDS, "chain_hash")


@functools.lru_cache(maxsize=64)
def _insert_moving_head(events: int, *, checked: bool) -> DriverWrite:
    """PostgreSQL: the INSERT of `events` events with their chain's head moved in a data-modifying
    WITH (only from the length `seen_length` when `checked`), returning how many heads moved.

    Written as text, once per number of events: SQLAlchemy gives a multi-row INSERT ... VALUES
    no cache key, so the same statement built with insert().values([...]) was compiled again on
    every change (11% of a completion's time in py-spy, 2026-12-03)."""
    rows = _value_rows(events)
    columns = ", ".join(_EVENT_COLUMNS)
    # Checked: the events are inserted only if the head moved (nothing is written otherwise).
    head_from = " AND length = :seen_length" if checked else ""
    events_from = (
        f"SELECT * FROM (VALUES {rows}) AS event ({columns}) WHERE EXISTS (SELECT FROM moved_head)"
        if checked
        else f"VALUES {rows}"
    )
    statement = text(
        "WITH moved_head AS (UPDATE audit_chain SET last_hash = :new_hash, length = :new_length "
        f"WHERE chain_key = :key{head_from} RETURNING chain_key) "
        f"INSERT INTO audit_event ({columns}) {events_from} RETURNING (SELECT count(*) FROM moved_head)"
    )
    return DriverWrite(statement.bindparams(*_event_params(events)))


@functools.lru_cache(maxsize=64)
def _insert_with_new_head(events: int) -> DriverWrite:
    """PostgreSQL: the INSERT of a new chain's first `events` events with its head inserted in a
    data-modifying WITH (written as text once per number of events, as `_insert_moving_head`)."""
    statement = text(
        "WITH new_head AS (INSERT INTO audit_chain (chain_key, last_hash, length) "
        "VALUES (:key, :new_hash, :new_length)) "
        f"INSERT INTO audit_event ({', '.join(_EVENT_COLUMNS)}) VALUES {_value_rows(events)}"
    )
    return DriverWrite(statement.bindparams(*_event_params(events)))


def _value_rows(events: int, prefix: str = "") -> str:
    return ", ".join("(" + ", ".join(f":{prefix}{name}_{i}" for name in _EVENT_COLUMNS) + ")" for i in range(events))


def _event_params(events: int, prefix: str = "") -> list:
    return [
        bindparam(f"{prefix}{name}_{i}", type_=_EVENTS.c[name].type) for i in range(events) for name in _EVENT_COLUMNS
    ]


def _params(head: dict, events: list[dict], prefix: str = "") -> dict:
    params = dict(head)
    for i, event in enumerate(events):
        params.update(zip(_param_names(prefix, i), map(event.__getitem__, _EVENT_COLUMNS)))
    return params


@functools.lru_cache(maxsize=4 * _EVENTS_AT_ONCE)
def _param_names(prefix: str, i: int) -> tuple[str, ...]:
    """The parameter names of the `i`th event's columns, made once (eleven texts an event)."""
    return tuple(f"{prefix}{name}_{i}" for name in _EVENT_COLUMNS)


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
