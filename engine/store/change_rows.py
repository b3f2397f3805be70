"""Writes a change's dossier and work-item rows with Core statements compiled once, instead of
the ORM's unit of work: the rows every step's change writes (the dossier moved on, the step
closed or claimed, the new steps; on PostgreSQL a start's new dossier too). Their flush was a
third of a completion's time on SQLite (py-spy, 2026-12-03), about half of it the unit of work's
own bookkeeping; on PostgreSQL the rows go in one statement instead of one round trip each.

The objects stay the session's, as after a flush: an UPDATE checks and moves the row's
optimistic-lock version as the ORM would (a lost race raises LostRace, nothing is written), an
INSERT returns the new row's id, and each object is then marked as loaded from what was
written. Everything else a change adds (pauses, outbox rows, results) is left to the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import cast

from sqlalchemy import Table
from sqlalchemy import TextClause
from sqlalchemy import bindparam
from sqlalchemy import event
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from engine.domain.errors import LostRace
from engine.store import portal_changes
from engine.store.driver_writes import DriverWrite
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

_WRITTEN = (DossierRecord, WorkItemRecord)
_TABLES: dict[type, Table] = {record: cast(Table, record.__table__) for record in _WRITTEN}
_STEPS = _TABLES[WorkItemRecord]


#: An upsert that goes with the change's rows: `statement(after)` builds it to run after the WITH
#: named `after` in the rows' one statement (PostgreSQL), or on its own when `after` is None; with
#: the kind it was queued as (`write_now`) and what is told whether it wrote a row (or None).
Upsert = tuple[Callable[[str | None], TextClause], dict, str | None, Callable[[bool], None] | None]
_WITH_ROWS_KEY = "motcua_with_rows"


def with_rows(
    session: Session,
    statement: Callable[[str | None], TextClause],
    params: dict,
    *,
    kind: str | None = None,
    told: Callable[[bool], None] | None = None,
) -> None:
    """Run an upsert with the change's rows (the officers' KPI rows of a completed step, a
    receipt's figures): on PostgreSQL inside their one statement, one round trip less, its rows
    locked only from then until the commit. Its parameters must be named apart from the rows'
    (`status_u0`, `task_id_i0`) and from every column (one named like a column would join an
    UPDATE's SET). Inside the statement the next upsert runs only once this one returned a row;
    `told` hears, once it ran, whether it returned any."""
    session.info.setdefault(_WITH_ROWS_KEY, []).append((statement, params, kind, told))


_RESERVED_KEY = "motcua_reserved_step_id"


def reserve_step_id(session: Session, step_id: int) -> None:
    """Note an id taken from work_item's sequence for a step this change may create (PostgreSQL)."""
    session.info[_RESERVED_KEY] = step_id


_RESERVED_DOSSIER_KEY = "motcua_reserved_dossier_id"
_NEW_DOSSIER_KEY = "motcua_new_dossier"


def reserve_dossier_id(session: Session, dossier_id: int) -> None:
    """Note an id taken from dossier's sequence for the dossier this change starts (PostgreSQL)."""
    session.info[_RESERVED_DOSSIER_KEY] = dossier_id


def new_steps(session: Session) -> list[WorkItemRecord]:
    """The steps this change created of dossiers already stored, which `write` inserts, in the
    order they were created."""
    return _new_steps_among(session.new)


def _new_steps_among(new: Iterable[object]) -> list[WorkItemRecord]:
    added = [obj for obj in new if isinstance(obj, WorkItemRecord) and obj.dossier_id is not None]
    added.sort(key=lambda obj: instance_state(obj).insert_order or 0)  # ids in the order the steps were created
    return added


def give_reserved_id(session: Session, step: WorkItemRecord) -> bool:
    """Give a new step the id reserved for it, known before its row is written; False when none was."""
    step_id = session.info.pop(_RESERVED_KEY, None)
    if step_id is None:
        return False
    _give_new(step, "id", step_id)
    return True


def _give_new(obj, key: str, value) -> None:
    """A column's value for a row still to be inserted, set in its state's dict as
    `loaded_rows.built` sets the others: its INSERT (this module's or the flush's) writes what the
    dict holds, and an attribute set's history and modified event (four Python calls) tell a new
    object's flush nothing."""
    obj.__dict__[key] = value


def writes_rows_alone(session: Session) -> bool:
    """Whether `write` has a dossier or step to update (its upserts then ride in that statement)
    and leaves the session's flush nothing to write after it."""
    dossier = _new_dossier(session)
    if session.deleted:
        return False
    # Loops, not generators: a generator costs a Python call for each object it hands on.
    for obj in session.new:
        if obj is not dossier and (not isinstance(obj, WorkItemRecord) or obj.dossier_id is None):
            return False
    to_update = dossier is not None
    for obj in session.dirty:
        if not isinstance(obj, _WRITTEN):
            return False
        to_update = to_update or _was_set(obj)
    return to_update


def _new_dossier(session: Session) -> DossierRecord | None:
    """The dossier `insert_new` left for `write` to insert, while it is still to be inserted (a
    flush of the ORM's own may have inserted it first)."""
    dossier = session.info.get(_NEW_DOSSIER_KEY)
    return dossier if dossier is not None and instance_state(dossier).pending else None


def write_now(session: Session, kind: str) -> None:
    """Run at once, each alone and in their order, the upserts queued as `kind`: a statement about
    to read or move the rows they write must find them written."""
    queued: list[Upsert] = session.info.get(_WITH_ROWS_KEY) or []
    now = [upsert for upsert in queued if upsert[2] == kind]
    if now:
        session.info[_WITH_ROWS_KEY] = [upsert for upsert in queued if upsert[2] != kind]
        _run_alone(session.connection(), now)


@event.listens_for(Session, "before_commit")
def _write_left_upserts(session: Session) -> None:
    """Upserts of a change that wrote no rows through `write` are not lost: they run before its commit."""
    if session.info.get(_WITH_ROWS_KEY):
        _run_alone(session.connection(), session.info.pop(_WITH_ROWS_KEY))


def _run_alone(connection, upserts: list[Upsert]) -> None:
    for statement, params, _kind, told in upserts:
        result = connection.execute(statement(None), params)
        if told is not None:
            told(result.rowcount > 0)


def write(session: Session) -> None:
    """Write the session's changed dossiers and work items, and its new work items of dossiers
    already stored, with the upserts that go with them (`with_rows`); the session's flush then
    writes the rest."""
    # Each of the session's sets is built anew when asked (a few calls each): asked once here.
    dirty, new = session.dirty, session.new
    changed = [obj for obj in dirty if isinstance(obj, _WRITTEN)]
    added = _new_steps_among(new)
    dossier = _new_dossier(session)
    session.info.pop(_NEW_DOSSIER_KEY, None)
    new_dossiers = [] if dossier is None else [(dossier, _dossier_columns(dossier))]
    # The unit of work's order: dossiers, then steps, each by id (concurrent changes lock alike).
    changed.sort(key=lambda obj: (isinstance(obj, WorkItemRecord), obj.id))
    # A row with a column set moves its version even when no value changed (what was written before).
    updates = [(obj, _changed_columns(obj)) for obj in changed if _was_set(obj)]
    upserts: list[Upsert] = session.info.pop(_WITH_ROWS_KEY, [])
    if not updates and not added and not new_dossiers:
        if upserts:
            _run_alone(session.connection(), upserts)
        return
    # What the portal must hear of, read from the history written here.
    portal_changes.collect_among(session, new, dirty)
    # A list built in one call, where a generator would cost one per column (thirty a new step).
    inserts = [(item, _given(item) + tuple([key for key in _INSERTED if key in item.__dict__])) for item in added]
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(new_dossiers) + len(updates) + len(inserts) + len(upserts) > 1:
        new_ids = _write_at_once(connection, new_dossiers, updates, inserts, upserts)
    else:
        for dossier, columns in new_dossiers:
            _new_row_of(DossierRecord, columns).run(connection, _dossier_params(dossier, columns))
        for obj, columns in updates:
            if _update_of(type(obj), columns).run(connection, _update_params(obj, columns)) != 1:
                raise _lost_race()
        new_ids = [
            _new_id(_insert_of(columns).returned(connection, _insert_params(item, columns)))
            for item, columns in inserts
        ]
        _run_alone(connection, upserts)
    written: list[tuple[object, dict[str, object]]] = [
        (obj, {**dict(_left_to_defaults(columns, DossierRecord)), "id": obj.id, "version": 1})
        for obj, columns in new_dossiers
    ]
    written += [(obj, {"version": obj.version + 1}) for obj, _columns in updates]
    written += [
        (item, {**dict(_left_to_defaults(columns)), "id": item_id, "version": 1})
        for (item, columns), item_id in zip(inserts, new_ids, strict=True)
    ]
    _mark_written(session, written)


def insert_new(session: Session, obj: DossierRecord) -> None:
    """Insert a new dossier's row on the driver's cursor, as the session's flush would (its id
    returned, the object persistent, a column left to a default loaded when asked): the ORM's
    unit of work for this one row cost more Python than the rest of a start's writes together.
    The object must have been added to the session (its cascades run there).

    On PostgreSQL, with an id reserved by the change's first read (`reserve_dossier_id`), the row
    is not written here: the object takes that id and `write` inserts it, as it stands then, first
    in the change's rows' statement (one round trip less)."""
    reserved = session.info.pop(_RESERVED_DOSSIER_KEY, None)
    if reserved is not None:
        _give_new(obj, "id", reserved)
        session.info[_NEW_DOSSIER_KEY] = obj
        return
    _insert_dossier(session, obj)


def _insert_dossier(session: Session, obj: DossierRecord) -> None:
    portal_changes.collect(session)  # a new dossier: the portal hears of it at the commit
    columns = tuple([key for key in ("id", *_INSERTED_OF[DossierRecord]) if key in obj.__dict__])
    new_id = _new_id(_new_row_of(DossierRecord, columns).returned(session.connection(), _dossier_params(obj, columns)))
    _mark_written(session, [(obj, {**dict(_left_to_defaults(columns, DossierRecord)), "id": new_id, "version": 1})])
    _renumber_pending(session)


def _renumber_pending(session: Session) -> None:
    """Number the objects still to be inserted 0, 1, ... in their order. The session numbers an
    object it is given by how many are pending (its insert_order, the order its flush inserts
    them in), so after a row written ahead of the flush (a dossier whose steps were already
    added), the next object would share a number with one added before it, and a dossier's
    later step could be inserted first, with the smaller id (ids are the order its history
    shows its steps)."""
    pending = sorted((instance_state(obj) for obj in session.new), key=lambda state: state.insert_order or 0)
    for n, state in enumerate(pending):
        state.insert_order = n


@event.listens_for(Session, "do_orm_execute")
def _write_new_dossier_first(orm_execute_state) -> None:
    """A statement the session runs itself while a new dossier waits for the rows' statement (a
    message queued for its applicant, say) may name it: the dossier's row goes in first, as it
    stands, and the rows' statement then updates it like any other."""
    session = orm_execute_state.session
    dossier = _new_dossier(session)
    if dossier is not None:
        session.info.pop(_NEW_DOSSIER_KEY)
        _insert_dossier(session, dossier)


def _dossier_columns(obj: DossierRecord) -> tuple[str, ...]:
    """The columns a new dossier's INSERT names: those given, its reserved id among them, and those
    left to a Python-side default, given it here as the ORM's flush would (inside the rows' one
    statement SQLAlchemy keeps only the last INSERT's defaults to fill in)."""
    for column in _TABLES[DossierRecord].columns:
        default: Any = column.default
        if column.key not in obj.__dict__ and default is not None and column.key not in ("id", "version"):
            _give_new(obj, column.key, default.arg if default.is_scalar else default.arg(None))
    return tuple([key for key in ("id", *_INSERTED_OF[DossierRecord]) if key in obj.__dict__])


def _dossier_params(obj: DossierRecord, columns: tuple[str, ...], suffix: str = "") -> dict:
    params = {f"{key}{suffix}": obj.__dict__[key] for key in columns}
    params[f"version{suffix}"] = 1
    return params


@functools.lru_cache(maxsize=16)
def _new_row_of(record: type, columns: tuple[str, ...]) -> DriverWrite:
    table = _TABLES[record]
    statement = insert(table).values({key: bindparam(key) for key in (*columns, "version")})
    return DriverWrite(statement.returning(table.c.id))


def _given(item: WorkItemRecord) -> tuple[str, ...]:
    """("id",) when the new step's id was reserved before (`give_reserved_id`), else ()."""
    return ("id",) if item.__dict__.get("id") is not None else ()


def _was_set(obj) -> bool:
    committed = instance_state(obj).committed_state
    return len(committed) > ("version" in committed)  # a key besides the version


def _changed_columns(obj) -> tuple[str, ...]:
    """The columns set since the row was read that now hold another value. One set back to the
    value it had is left out, as the ORM's flush leaves it: on SQLite every index on a column an
    UPDATE names is rewritten, whatever the value (most steps keep the dossier's status, its
    apology check and its next timer). A dict or list is always written: it may have been changed
    in place and set again."""
    state = instance_state(obj)
    before, now = state.committed_state, obj.__dict__  # the state's dict (a property's call less)
    return tuple(
        sorted(
            [
                key
                for key, old in before.items()
                if key != "version" and (old != (new := now.get(key, NO_VALUE)) or isinstance(new, (dict, list)))
            ]
        )
    )


def _update_params(obj, columns: tuple[str, ...], suffix: str = "") -> dict:
    # From the state's dict, a Python call less per value than the attribute: every column named
    # was set in this change, and the id and version were read with the row (both never deferred).
    loaded = obj.__dict__
    params = {f"{key}{suffix}": loaded[key] if key in loaded else getattr(obj, key) for key in columns}
    version = loaded["version"] if "version" in loaded else obj.version
    params.update({f"pk{suffix}": obj.id, f"seen_version{suffix}": version, f"version{suffix}": version + 1})
    return params


def _insert_params(item: WorkItemRecord, columns: tuple[str, ...], suffix: str = "") -> dict:
    params = {f"{key}{suffix}": item.__dict__[key] for key in columns}
    params[f"version{suffix}"] = 1
    return params


def _lost_race() -> LostRace:
    return LostRace("someone else changed this dossier at the same moment; reload and try again")


def _write_at_once(connection, new_dossiers: list, updates: list, inserts: list, upserts: list[Upsert]) -> list[int]:
    """PostgreSQL: every row of the change in one statement (data-modifying WITHs), one round
    trip instead of one per row, a new dossier first, its upserts last. Each UPDATE still checks
    its row's version: when one missed, the others' writes are rolled back with the change (LostRace)."""
    # Tuples of lists, not of generators: a generator costs a Python call per item.
    shape = (
        tuple([(type(obj), columns) for obj, columns in updates]),
        tuple([columns for _item, columns in inserts]),
        tuple([statement for statement, _params, _kind, _told in upserts]),
        tuple([columns for _obj, columns in new_dossiers]),
    )
    params: dict = {}
    for _statement, upsert_params, _kind, _told in upserts:
        params.update(upsert_params)
    for n, (obj, columns) in enumerate(new_dossiers):
        params.update(_dossier_params(obj, columns, f"_d{n}"))
    for n, (obj, columns) in enumerate(updates):
        params.update(_update_params(obj, columns, f"_u{n}"))
    for n, (item, columns) in enumerate(inserts):
        params.update(_insert_params(item, columns, f"_i{n}"))
    row = _at_once(shape).returned(connection, params)
    assert row is not None  # a SELECT of aggregates and scalar subqueries: always one row
    row = row[len(new_dossiers) :]  # the new dossiers' ids: the ones given
    ids = row[len(updates) : len(updates) + len(inserts)]
    if any(found != 1 for found in row[: len(updates)]) or None in ids:
        raise _lost_race()
    for (_statement, _params, _kind, told), wrote in zip(upserts, row[len(updates) + len(inserts) :], strict=True):
        if told is not None:
            told(bool(wrote))
    return list(ids)


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


def _new_id(row: tuple | None) -> int:
    assert row is not None  # an INSERT ... RETURNING of one row
    return row[0]


@functools.lru_cache(maxsize=256)
def _update_of(record: type, columns: tuple[str, ...]) -> DriverWrite:
    return DriverWrite(_update_statement(record, columns))


@functools.lru_cache(maxsize=64)
def _insert_of(columns: tuple[str, ...]) -> DriverWrite:
    return DriverWrite(_insert_statement(columns).returning(_STEPS.c.id))


@functools.lru_cache(maxsize=256)
def _at_once(shape: tuple) -> DriverWrite:
    """SELECT (id of each new dossier)..., (rows each UPDATE changed)..., (id each INSERT gave)...,
    (whether each upsert returned a row)... with the writes as WITHs.

    Each write reads the one before it (WHERE EXISTS): PostgreSQL runs WITHs in no set order,
    and this keeps the unit of work's (the dossier, then its steps by id, then the new steps),
    so that a concurrent change of the same dossier waits on the dossier's row first and then
    writes nothing, as with separate statements (a new step's INSERT would otherwise meet the
    other change's same step as a unique violation, and two rows locked in another order than
    the other change's could deadlock)."""
    dossiers = _TABLES[DossierRecord]
    ctes: list = [
        insert(dossiers)
        .from_select(
            (*columns, "version"),
            select(*(bindparam(f"{key}_d{n}", type_=dossiers.c[key].type) for key in (*columns, "version"))),
        )
        .returning(dossiers.c.id)
        .cte(f"started_{n}")
        for n, columns in enumerate(shape[3])
    ]
    started = list(ctes)
    for n, (record, columns) in enumerate(shape[0]):
        statement = _update_statement(record, columns, f"_u{n}")
        if ctes:
            statement = statement.where(exists(select(ctes[-1].c.id)))
        ctes.append(statement.returning(_TABLES[record].c.id).cte(f"updated_{n}"))
    updated = ctes[len(started) :]
    table = _STEPS
    for n, columns in enumerate(shape[1]):
        keys = (*columns, "version")
        row = select(*(bindparam(f"{key}_i{n}", type_=table.c[key].type) for key in keys))
        if ctes:
            row = row.where(exists(select(ctes[-1].c.id)))
        ctes.append(insert(table).from_select(keys, row).returning(table.c.id).cte(f"inserted_{n}"))
    counts = [select(func.count()).select_from(cte).scalar_subquery() for cte in updated]
    ids = [select(cte.c.id).scalar_subquery() for cte in ctes[len(started) + len(updated) :]]
    dossier_ids = [select(cte.c.id).scalar_subquery() for cte in started]
    # The upserts after the rows, each after the one before: the order of separate statements.
    upserts: list = []
    for n, statement in enumerate(shape[2]):
        after = upserts[-1].name if upserts else ctes[-1].name
        upserts.append(statement(after).columns().cte(f"upserted_{n}"))
    wrote = [exists(select(text("1")).select_from(cte)) for cte in upserts]
    return DriverWrite(select(*dossier_ids, *counts, *ids, *wrote).add_cte(*ctes, *upserts))


@functools.lru_cache(maxsize=64)
def _left_to_defaults(columns: tuple[str, ...], record: type = WorkItemRecord) -> tuple[tuple[str, object], ...]:
    """(key, value) of each new row's column the INSERT did not name and whose value is known
    without asking: NULL, or a constant default (a computed or server default is left to a load)."""
    known = []
    for column in _TABLES[record].columns:
        if column.key in columns or column.key in ("id", "version") or column.server_default is not None:
            continue
        default = column.default
        if default is None:
            known.append((column.key, None))
        elif isinstance(default, ScalarElementColumnDefault):
            known.append((column.key, default.arg))
    return tuple(known)


def null_unset_columns(obj) -> None:
    """Set every column of a new row (`loaded_rows.built`, not in a session yet) that nothing
    gave a value, and that has no default, to None: the INSERT then writes the NULL itself, and
    the object never loads it back (the ORM leaves a column it did not write unloaded, to be read
    by a query of its own when used). Set in its dict, as `built` sets the rest: an attribute
    event per column was 70 Python calls of a start, for history nothing reads (the INSERT
    writes the dict)."""
    given = instance_state(obj).dict
    key = (type(obj), tuple(given))
    unset = _UNSET.get(key)
    if unset is None:
        unset = _UNSET[key] = _unset_columns(instance_state(obj).mapper, given)
    given.update(unset)


def _unset_columns(mapper, given) -> dict:
    return {
        column.key: None
        for column in mapper.columns
        if column.key not in given
        and not column.primary_key
        and column is not mapper.version_id_col
        and column.default is None
        and column.server_default is None
    }


#: (record, the columns given, in order) -> the columns to set to None; a start gives the same.
_UNSET: dict[tuple, dict] = {}


def _mark_written(session: Session, written: Sequence[tuple[object, dict]]) -> None:
    """The objects as the ORM's own flush leaves them once their rows are written: persistent
    (the new ones with their ids), no history left for a flush to write, and expired again if
    the transaction rolls back. `_register_persistent` is the flush's own step (SQLAlchemy is
    pinned); the public way round, expunging each object and adding it back detached, cost a
    third of this module's time in the session's cascades. A row updated keeps its identity:
    of that step it needs only what it does to every object, its history committed and the
    transaction told (a rollback expires it), without its identity key worked out again."""
    new: set[InstanceState] = set()
    updated: dict[InstanceState, dict] = {}  # each state with its dict
    for obj, values in written:
        state, loaded = instance_state(obj), obj.__dict__
        loaded.update(values)  # without history: the rows already hold them
        if state.key is None:
            new.add(state)
        else:
            state._orphaned_outside_of_session = False
            updated[state] = loaded
    if new:
        session._register_persistent(new)
    if updated:
        InstanceState._commit_all_states(updated.items(), session.identity_map)
        session._register_altered(updated)
    for obj, values in written:
        if "id" in values:  # a new row: a default it was not given loads from it when asked
            unset = [key for key in _DEFAULTED[type(obj)] if key not in obj.__dict__]  # server or computed
            if unset:
                session.expire(obj, unset)


#: A new row's columns the database may fill in: the others are NULL when not given.
_DEFAULTED = {
    record: tuple(
        column.key for column in table.columns if column.default is not None or column.server_default is not None
    )
    for record, table in _TABLES.items()
}
_INSERTED_OF = {
    record: tuple(column.key for column in table.columns if column.key not in ("id", "version"))
    for record, table in _TABLES.items()
}
_INSERTED = _INSERTED_OF[WorkItemRecord]
