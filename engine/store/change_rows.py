"""Writes a change's dossier and work-item rows with Core statements compiled once, instead of
the ORM's unit of work: the rows every step's change writes (the dossier moved on, the step
closed or claimed, the new steps). Their flush was a third of a completion's time on SQLite
(py-spy, 2026-12-03), about half of it the unit of work's own bookkeeping; on PostgreSQL the
rows go in one statement instead of one round trip each.

The objects stay the session's, as after a flush: an UPDATE checks and moves the row's
optimistic-lock version as the ORM would (a lost race raises LostRace, nothing is written), an
INSERT returns the new row's id, and each object is then marked as loaded from what was
written. Everything else a change adds (pauses, outbox rows, results) is left to the ORM.
"""

from __future__ import annotations

import functools
from typing import cast

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import make_transient_to_detached

from engine.domain.errors import LostRace
from engine.store import portal_changes
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

_WRITTEN = (DossierRecord, WorkItemRecord)
_TABLES: dict[type, Table] = {record: cast(Table, record.__table__) for record in _WRITTEN}
_STEPS = _TABLES[WorkItemRecord]


def write(session: Session) -> None:
    """Write the session's changed dossiers and work items, and its new work items of dossiers
    already stored; the session's flush then writes the rest."""
    changed = [obj for obj in session.dirty if isinstance(obj, _WRITTEN)]
    added = [obj for obj in session.new if isinstance(obj, WorkItemRecord) and obj.dossier_id is not None]
    added.sort(key=lambda obj: inspect(obj).insert_order or 0)  # ids in the order the steps were created
    # The unit of work's order: dossiers, then steps, each by id (concurrent changes lock alike).
    changed.sort(key=lambda obj: (isinstance(obj, WorkItemRecord), obj.id))
    updates = [(obj, _changed_columns(obj)) for obj in changed]
    updates = [(obj, columns) for obj, columns in updates if columns]
    if not updates and not added:
        return
    portal_changes.collect(session)  # what the portal must hear of, read from the history written here
    inserts = [(item, tuple(key for key in _INSERTED if key in item.__dict__)) for item in added]
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(updates) + len(inserts) > 1:
        new_ids = _write_at_once(connection, updates, inserts)
    else:
        for obj, columns in updates:
            if connection.execute(_update_of(type(obj), columns), _update_params(obj, columns)).rowcount != 1:
                raise _lost_race()
        new_ids = [
            connection.execute(_insert_of(columns), _insert_params(item, columns)).scalar_one()
            for item, columns in inserts
        ]
    for obj, _columns in updates:
        _mark_written(session, obj, version=obj.version + 1)
    for (item, _columns), item_id in zip(inserts, new_ids, strict=True):
        _mark_inserted(session, item, item_id)


def _changed_columns(obj) -> tuple[str, ...]:
    return tuple(sorted(key for key in inspect(obj).committed_state if key != "version"))


def _update_params(obj, columns: tuple[str, ...], suffix: str = "") -> dict:
    params = {f"{key}{suffix}": getattr(obj, key) for key in columns}
    params.update({f"pk{suffix}": obj.id, f"seen_version{suffix}": obj.version, f"version{suffix}": obj.version + 1})
    return params


def _insert_params(item: WorkItemRecord, columns: tuple[str, ...], suffix: str = "") -> dict:
    params = {f"{key}{suffix}": item.__dict__[key] for key in columns}
    params[f"version{suffix}"] = 1
    return params


def _lost_race() -> LostRace:
    return LostRace("someone else changed this dossier at the same moment; reload and try again")


def _write_at_once(connection, updates: list, inserts: list) -> list[int]:
    """PostgreSQL: every row of the change in one statement (data-modifying WITHs), one round
    trip instead of one per row. Each UPDATE still checks its row's version: when one missed, the
    others' writes are rolled back with the change (LostRace)."""
    shape = (
        tuple((type(obj), columns) for obj, columns in updates),
        tuple(columns for _item, columns in inserts),
    )
    params: dict = {}
    for n, (obj, columns) in enumerate(updates):
        params.update(_update_params(obj, columns, f"_u{n}"))
    for n, (item, columns) in enumerate(inserts):
        params.update(_insert_params(item, columns, f"_i{n}"))
    row = connection.execute(_at_once(shape), params).one()
    if any(found != 1 for found in row[: len(updates)]) or None in row[len(updates) :]:
        raise _lost_race()
    return list(row[len(updates) :])


def _update_statement(record: type, columns: tuple[str, ...], suffix: str = ""):
    table = _TABLES[record]
    return (
        update(table)
        .where(table.c.id == bindparam(f"pk{suffix}"), table.c.version == bindparam(f"seen_version{suffix}"))
        .values({key: bindparam(f"{key}{suffix}") for key in (*columns, "version")})
    )


def _insert_statement(columns: tuple[str, ...], suffix: str = ""):
    table = _STEPS
    return insert(table).values({key: bindparam(f"{key}{suffix}") for key in (*columns, "version")})


@functools.lru_cache(maxsize=256)
def _update_of(record: type, columns: tuple[str, ...]):
    return _update_statement(record, columns)


@functools.lru_cache(maxsize=64)
def _insert_of(columns: tuple[str, ...]):
    return _insert_statement(columns).returning(_STEPS.c.id)


@functools.lru_cache(maxsize=256)
def _at_once(shape: tuple):
    """SELECT (rows each UPDATE changed)..., (id each INSERT gave)... with the writes as WITHs.

    Each write reads the one before it (WHERE EXISTS): PostgreSQL runs WITHs in no set order,
    and this keeps the unit of work's (the dossier, then its steps by id, then the new steps),
    so that a concurrent change of the same dossier waits on the dossier's row first and then
    writes nothing, as with separate statements (a new step's INSERT would otherwise meet the
    other change's same step as a unique violation, and two rows locked in another order than
    the other change's could deadlock)."""
    ctes: list = []
    for n, (record, columns) in enumerate(shape[0]):
        statement = _update_statement(record, columns, f"_u{n}")
        if ctes:
            statement = statement.where(exists(select(ctes[-1].c.id)))
        ctes.append(statement.returning(_TABLES[record].c.id).cte(f"updated_{n}"))
    updated = list(ctes)
    table = _STEPS
    for n, columns in enumerate(shape[1]):
        keys = (*columns, "version")
        row = select(*(bindparam(f"{key}_i{n}", type_=table.c[key].type) for key in keys))
        if ctes:
            row = row.where(exists(select(ctes[-1].c.id)))
        ctes.append(insert(table).from_select(keys, row).returning(table.c.id).cte(f"inserted_{n}"))
    counts = [select(func.count()).select_from(cte).scalar_subquery() for cte in updated]
    ids = [select(cte.c.id).scalar_subquery() for cte in ctes[len(updated) :]]
    return select(*counts, *ids).add_cte(*ctes)


def _mark_inserted(session: Session, item: WorkItemRecord, item_id: int) -> None:
    session.expunge(item)
    item.id, item.version = item_id, 1
    make_transient_to_detached(item)
    session.add(item)


def _mark_written(session: Session, obj, *, version: int) -> None:
    """The object as if just loaded from its row (no history left for a flush to write), as the
    ORM's own flush leaves it. `_commit_all` is what the flush calls (SQLAlchemy is pinned); the
    public way round, expunging the object and adding it back detached, cost a third of this
    module's time in the session's cascades."""
    state = inspect(obj)
    state.dict["version"] = version  # set without history: the row already holds it
    state._commit_all(state.dict, session.identity_map)


_INSERTED = tuple(column.key for column in _STEPS.columns if column.key not in ("id", "version"))
