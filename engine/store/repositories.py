"""Named reads and writes the use cases need; the SQL stays here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm import load_only

from engine.domain.model import OPEN_STATES
from engine.domain.model import RunState
from engine.domain.model import WorkItemState
from engine.store import change_rows
from engine.store import deferred_begin
from engine.store import portal_records
from engine.store.account_records import token_still_held
from engine.store.catalogue_records import ProcedureRecord
from engine.store.driver_reads import DriverRead
from engine.store.loaded_rows import LoadedShape
from engine.store.portal_records import PortalSettingRecord
from engine.store.records import AuditChainRecord
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from engine.store.variant_records import VariantRecord


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# Hot-path statements are built once: constructing a select costs more than running it on SQLite.
_ITEM_WITH_DOSSIER = (
    select(WorkItemRecord, DossierRecord)
    .join(DossierRecord, DossierRecord.id == WorkItemRecord.dossier_id)
    .where(WorkItemRecord.id == bindparam("item_id"))
)
# The same with the dossier's audit chain head, read without a lock: a change appends its events
# only if the head is still the one read (engine.store.audit_chains.append_after_seen), which saves
# the locking read of the head, one round trip of every change of a step.
_ITEM_WITH_DOSSIER_AND_HEAD_ONLY = (
    select(WorkItemRecord, DossierRecord, AuditChainRecord.last_hash, AuditChainRecord.length)
    .join(DossierRecord, DossierRecord.id == WorkItemRecord.dossier_id)
    .outerjoin(AuditChainRecord, AuditChainRecord.chain_key == WorkItemRecord.dossier_id)
    .where(WorkItemRecord.id == bindparam("item_id"))
)
# A change that runs the workflow may move the dossier's status, which the portal sync reports at
# the commit with the portal settings of the unit's province: the unit and those settings are read
# with the step, a round trip fewer on each status change (they were read apart at the commit).
_ITEM_WITH_DOSSIER_AND_HEAD = (
    _ITEM_WITH_DOSSIER_AND_HEAD_ONLY.add_columns(UnitRecord, PortalSettingRecord)
    .outerjoin(UnitRecord, UnitRecord.code == DossierRecord.unit_code)
    .outerjoin(PortalSettingRecord, portal_records.province_setting_of())
)
# A change that does not run the dossier's workflow (a claim, a release) reads only what it checks
# and answers of the dossier: its other columns (the state text, the applicant's JSON) are left
# unread, which saved about 5% of a claim's Python in process (2026-12-03); one used after all is
# read when used. It changes no status: nothing of the portal's is read.
_ITEM_WITH_DOSSIER_AND_HEAD_CHECKED = _ITEM_WITH_DOSSIER_AND_HEAD_ONLY.options(
    load_only(
        DossierRecord.code,
        DossierRecord.run_state,
        DossierRecord.unit_code,
        DossierRecord.definition_id,
        DossierRecord.version,
    )
)
_OPEN_ITEMS = select(WorkItemRecord).where(
    WorkItemRecord.dossier_id == bindparam("dossier_id"), WorkItemRecord.state.in_(OPEN_STATES)
)


def _consecutive(*widths: int) -> list[slice]:
    """Where the parts of a row lie, each as wide as given, from its first column on: worked out
    once per read, not at each row (a dozen Python calls a start's)."""
    parts, at = [], 0
    for width in widths:
        parts.append(slice(at, at + width))
        at += width
    return parts


# What a start checks and uses, in one round trip instead of five: the template version, the
# unit, the unit's variant of the template, when the template's catalogue entry is retired that
# entry's code and name, and the portal settings of the unit's province (its status is sent there).
# Plain columns on the driver's cursor, built into the session's objects (engine.store.loaded_rows)
# as the step's read is: the ORM's read of its four entities cost a fifth of a start's Python.
#: The id of a step the change will most likely create, taken from work_item's sequence (PostgreSQL).
_RESERVED_STEP_ID = literal_column("nextval('work_item_id_seq')").label("n0")
_DEFINITION_SHAPE = LoadedShape.of(ProcessDefinitionRecord)
_START_UNIT_SHAPE = LoadedShape.of(UnitRecord)
_VARIANT_SHAPE = LoadedShape.of(VariantRecord)
_START_SETTING_SHAPE = LoadedShape.of(PortalSettingRecord)
_definitions, _units, _variants = ProcessDefinitionRecord.__table__.c, UnitRecord.__table__.c, VariantRecord.__table__.c
_procedures = ProcedureRecord.__table__.c
_START_SELECT = (
    select(
        *_DEFINITION_SHAPE.columns("t"),
        *_START_UNIT_SHAPE.columns("u"),
        *_VARIANT_SHAPE.columns("v"),
        _procedures.code.label("r0"),
        _procedures.name.label("r1"),
        *_START_SETTING_SHAPE.columns("p"),
    )
    .select_from(ProcessDefinitionRecord.__table__)
    .outerjoin(UnitRecord.__table__, _units.code == bindparam("unit_code"))
    .outerjoin(PortalSettingRecord.__table__, portal_records.province_setting_of(_units))
    .outerjoin(
        VariantRecord.__table__,
        and_(_variants.template_key == _definitions.key, _variants.unit_code == bindparam("unit_code")),
    )
    .outerjoin(
        ProcedureRecord.__table__,
        and_(_procedures.key == _definitions.key, _procedures.retired_at.is_not(None)),
    )
    .where(_definitions.id == bindparam("definition_id"))
)
_START_ROW = DriverRead(_START_SELECT)
_DEFINITION_PART, _START_UNIT_PART, _VARIANT_PART, _RETIRED_PART, _START_SETTING_PART = _consecutive(
    len(_DEFINITION_SHAPE.keys),
    len(_START_UNIT_SHAPE.keys),
    len(_VARIANT_SHAPE.keys),
    2,
    len(_START_SETTING_SHAPE.keys),
)
# On PostgreSQL, as a completion's read (_STEP_ROW_RESERVING): the ids of the new dossier and of its
# first step, which the start's audit events name, so that the dossier's row and the events ride
# in the rows' statement (engine.store.change_rows.insert_new, engine.services.audit).
_RESERVED_DOSSIER_ID = literal_column("nextval('dossier_id_seq')").label("n1")
_START_ROW_RESERVING = DriverRead(_START_SELECT.add_columns(_RESERVED_STEP_ID, _RESERVED_DOSSIER_ID))
# The same with the request's kept token checked in it (account_records.token_still_held), when
# its lookup waits to ride with this read: one statement less (engine.store.deferred_begin).
_START_ROW_CHECKING = DriverRead(
    _START_SELECT.add_columns(_RESERVED_STEP_ID, _RESERVED_DOSSIER_ID, token_still_held().label("k0"))
)
_START_RESERVED = len(_START_SELECT.selected_columns)  # where the reserved ids lie in the row


@dataclass(frozen=True)
class StartRows:
    """A start's template version, unit (None when unknown), the unit's variant of the template
    (None when it has none) and its retired catalogue entry's (code, name) (None when not retired)."""

    definition: ProcessDefinitionRecord
    unit: UnitRecord | None
    variant: VariantRecord | None
    retired: tuple[str | None, str] | None


def start_rows(session: Session, definition_id: int, unit_code: str) -> StartRows | None:
    """What a start in `unit_code` on template version `definition_id` reads; None when the
    version is unknown. The unit's portal settings are kept for the rest of the transaction."""
    connection = session.connection()
    reserving = connection.dialect.name == "postgresql"
    parameters = {"definition_id": definition_id, "unit_code": unit_code}
    if reserving:
        row = _first_checking_token(connection, _START_ROW_RESERVING, _START_ROW_CHECKING, parameters)
    else:
        row = _START_ROW.first(connection, parameters)
    if row is None:
        return None
    if reserving:
        change_rows.reserve_step_id(session, row[_START_RESERVED])
        change_rows.reserve_dossier_id(session, row[_START_RESERVED + 1])
    definition = _DEFINITION_SHAPE.loaded(session, row[_DEFINITION_PART])
    unit = _START_UNIT_SHAPE.loaded(session, row[_START_UNIT_PART])
    variant = _VARIANT_SHAPE.loaded(session, row[_VARIANT_PART])
    retired_code, retired_name = row[_RETIRED_PART]
    setting = _START_SETTING_SHAPE.loaded(session, row[_START_SETTING_PART])
    if unit is not None:
        portal_records.remember_unit_setting(session, unit, setting)
    return StartRows(definition, unit, variant, None if retired_name is None else (retired_code, retired_name))


def work_item_with_dossier(session: Session, work_item_id: int):
    """The work item and its dossier in one round trip; (None, None) when unknown."""
    row = session.execute(_ITEM_WITH_DOSSIER, {"item_id": work_item_id}).first()
    return (row[0], row[1]) if row else (None, None)


_ITEM_SHAPE = LoadedShape.of(WorkItemRecord)
_DOSSIER_SHAPE = LoadedShape.of(DossierRecord)
_UNIT_SHAPE = LoadedShape.of(UnitRecord)
_SETTING_SHAPE = LoadedShape.of(PortalSettingRecord)
_STEP_SHAPES = (_ITEM_SHAPE, _DOSSIER_SHAPE, _UNIT_SHAPE, _SETTING_SHAPE)
# _ITEM_WITH_DOSSIER_AND_HEAD's row as plain columns, run on the driver's cursor and built into
# the session's objects (engine.store.loaded_rows): every step's change reads it.
_STEP_SELECT = (
    select(
        *_ITEM_SHAPE.columns("i"),
        *_DOSSIER_SHAPE.columns("d"),
        AuditChainRecord.__table__.c.last_hash.label("h0"),
        AuditChainRecord.__table__.c.length.label("h1"),
        *_UNIT_SHAPE.columns("u"),
        *_SETTING_SHAPE.columns("p"),
    )
    .select_from(WorkItemRecord.__table__)
    .join(DossierRecord.__table__, DossierRecord.__table__.c.id == WorkItemRecord.__table__.c.dossier_id)
    .outerjoin(
        AuditChainRecord.__table__, AuditChainRecord.__table__.c.chain_key == WorkItemRecord.__table__.c.dossier_id
    )
    .outerjoin(UnitRecord.__table__, UnitRecord.__table__.c.code == DossierRecord.__table__.c.unit_code)
    .outerjoin(PortalSettingRecord.__table__, portal_records.province_setting_of(UnitRecord.__table__.c))
    .where(WorkItemRecord.__table__.c.id == bindparam("item_id"))
)
_STEP_ROW = DriverRead(_STEP_SELECT)
_ITEM_PART, _DOSSIER_PART, _HEAD_PART, _UNIT_PART, _SETTING_PART = _consecutive(
    len(_ITEM_SHAPE.keys), len(_DOSSIER_SHAPE.keys), 2, len(_UNIT_SHAPE.keys), len(_SETTING_SHAPE.keys)
)
# On PostgreSQL the read also takes the id of the step the change will most likely create (a
# completion hands over to one next step): its audit events, whose hashes cover that id, can then
# be linked before the rows are written and ride in their statement (engine.services.audit).
_STEP_ROW_RESERVING = DriverRead(_STEP_SELECT.add_columns(_RESERVED_STEP_ID))
# The same with the request's kept token checked in it, as the start's (_START_ROW_CHECKING).
_STEP_ROW_CHECKING = DriverRead(_STEP_SELECT.add_columns(_RESERVED_STEP_ID, token_still_held().label("k0")))
_STEP_RESERVED = len(_STEP_SELECT.selected_columns)  # where the reserved id lies in the row


def _first_checking_token(connection: Connection, read: DriverRead, checking: DriverRead, parameters: dict):
    """`read`'s row (PostgreSQL, a change's first statement); when the request's kept token's
    lookup waits to ride with it, `checking`'s instead: the same row with the token's check as its
    last column, sent with the BEGIN, the lookup itself run only when the check says no or no row
    came (then it raises when the token is why: api_tokens.TokenChanged, nothing written)."""
    rider = deferred_begin.rider_to_carry(connection)
    if rider is None:
        return read.first(connection, parameters)
    try:
        row = checking.first(connection, {**parameters, **rider.in_statement}, carrying=True)
    except BaseException:
        deferred_begin.ride_with_next_begin(rider)  # unheard: the request's end still checks it
        raise
    if row is None or not row[-1]:
        deferred_begin.hear_now(connection, rider)
    return row


def _step_row(session: Session, work_item_id: int):
    """(item, dossier, last hash, length, unit, setting) read by _STEP_ROW, or None."""
    connection = session.connection()
    reserving = connection.dialect.name == "postgresql"
    if reserving:
        row = _first_checking_token(connection, _STEP_ROW_RESERVING, _STEP_ROW_CHECKING, {"item_id": work_item_id})
    else:
        row = _STEP_ROW.first(connection, {"item_id": work_item_id})
    if row is None:
        return None
    item = _ITEM_SHAPE.loaded(session, row[_ITEM_PART])
    dossier = _DOSSIER_SHAPE.loaded(session, row[_DOSSIER_PART])
    last_hash, length = row[_HEAD_PART]
    unit = _UNIT_SHAPE.loaded(session, row[_UNIT_PART])
    setting = _SETTING_SHAPE.loaded(session, row[_SETTING_PART])
    if reserving:
        change_rows.reserve_step_id(session, row[_STEP_RESERVED])
    return item, dossier, last_hash, length, unit, setting


def work_item_with_dossier_and_head(session: Session, work_item_id: int, *, whole_dossier: bool = True):
    """The work item, its dossier and its dossier's audit chain head (last hash, length; None
    when the chain has none yet) in one round trip; (None, None, None) when unknown. With
    `whole_dossier` the dossier's unit and its province's portal settings are read too and kept
    for the transaction (portal_records.remember_unit_setting); without it only the dossier's
    code, run state, unit, template version and version are read (see
    _ITEM_WITH_DOSSIER_AND_HEAD_CHECKED)."""
    if whole_dossier:
        row = _step_row(session, work_item_id)
    else:
        row = session.execute(_ITEM_WITH_DOSSIER_AND_HEAD_CHECKED, {"item_id": work_item_id}).first()
    if row is None:
        return None, None, None
    item, dossier, last_hash, length, *unit_and_setting = row
    if unit_and_setting and unit_and_setting[0] is not None:
        portal_records.remember_unit_setting(session, *unit_and_setting)
    return item, dossier, None if length is None else (last_hash, length)


def open_pause(session: Session, dossier_id: int):
    from engine.store.records import DossierPauseRecord

    return session.scalar(
        select(DossierPauseRecord).where(
            DossierPauseRecord.dossier_id == dossier_id, DossierPauseRecord.ended_at.is_(None)
        )
    )


_OPEN_ITEMS_KEY = "motcua.open_items"


def remember_open_items(session: Session, dossier_id: int, items: list[WorkItemRecord]) -> None:
    """Note, for the rest of this transaction, that these are all of the dossier's open steps."""
    session.info.setdefault(_OPEN_ITEMS_KEY, {})[dossier_id] = list(items)


def known_open_items(session: Session, dossier_id: int) -> list[WorkItemRecord] | None:
    """The dossier's open steps when this transaction's change made every one of them, else None."""
    return session.info.get(_OPEN_ITEMS_KEY, {}).get(dossier_id)


def open_work_items(session: Session, dossier_id: int) -> list[WorkItemRecord]:
    return list(session.scalars(_OPEN_ITEMS, {"dossier_id": dossier_id}))


def officers_late_in(session: Session, dossier_id: int, now: datetime) -> list[str]:
    """Who holds a late step of the dossier: an open step past its due time (its assignee) or a
    step completed late (who completed it); by user name, each once."""
    w = WorkItemRecord
    open_late = and_(w.state.in_(OPEN_STATES), w.due_at < now, w.assignee.is_not(None))
    done_late = and_(w.state == WorkItemState.COMPLETED.value, w.classification == "late")
    rows = session.execute(
        select(w.state, w.assignee, w.completed_by).where(w.dossier_id == dossier_id, or_(open_late, done_late))
    )
    return sorted(
        {completed_by if state == WorkItemState.COMPLETED.value else assignee for state, assignee, completed_by in rows}
        - {None}
    )


def budget_group_started_at(session: Session, dossier_id: int, group: str) -> datetime | None:
    """When the first step of a shared budget group was created in this dossier."""
    return session.scalar(
        select(WorkItemRecord.created_at)
        .where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.budget_group == group)
        .order_by(WorkItemRecord.created_at)
        .limit(1)
    )


def latest_definition(session: Session, key: str, status: str | None = None) -> ProcessDefinitionRecord | None:
    query = select(ProcessDefinitionRecord).where(ProcessDefinitionRecord.key == key)
    if status:
        query = query.where(ProcessDefinitionRecord.status == status)
    return session.scalar(query.order_by(ProcessDefinitionRecord.version.desc()).limit(1))


def next_definition_version(session: Session, key: str) -> int:
    return (
        session.scalar(select(func.max(ProcessDefinitionRecord.version)).where(ProcessDefinitionRecord.key == key)) or 0
    ) + 1


def due_sla_items(session: Session, now: datetime, limit: int) -> list[WorkItemRecord]:
    """Open items whose next SLA level is due, earliest first (index on next_sla_at); on
    PostgreSQL rows another worker holds are skipped."""
    query = (
        select(WorkItemRecord)
        .where(WorkItemRecord.next_sla_at <= now, WorkItemRecord.state.in_(OPEN_STATES))
        .order_by(WorkItemRecord.next_sla_at)
        .limit(limit)
    )
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def dossiers_to_forecast(session: Session, now: datetime, limit: int) -> list[DossierRecord]:
    """Dossiers whose apology forecast is due, earliest first (index on apology_check_at); on
    PostgreSQL rows another worker holds are skipped."""
    query = (
        select(DossierRecord)
        .where(DossierRecord.apology_check_at <= now)
        .order_by(DossierRecord.apology_check_at, DossierRecord.id)
        .limit(limit)
    )
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def record_forecast(
    session: Session, dossier_id: int, *, check_at: datetime | None, missed: dict | None = None
) -> None:
    """When the SLA sweep forecasts the dossier again, and the forecast itself if it misses (what
    the at-risk list shows): its bookkeeping, written beside the dossier's optimistic version (a
    Core UPDATE, which the ORM does not version), so that a clerk's change to the dossier never
    conflicts with it."""
    session.execute(
        update(DossierRecord.__table__)
        .where(DossierRecord.__table__.c.id == dossier_id)
        .values(apology_check_at=check_at, missed_forecast=missed)
    )


def record_apology_request(session: Session, dossier_id: int, appointment_at: datetime, missed: dict) -> None:
    """The leaders were asked about this appointment (one request per appointment), with the
    forecast that missed it; beside the version, as record_forecast."""
    session.execute(
        update(DossierRecord.__table__)
        .where(DossierRecord.__table__.c.id == dossier_id)
        .values(apology_check_at=None, apology_requested_for=appointment_at, missed_forecast=missed)
    )


def record_sla_level(session: Session, work_item_id: int, **values) -> None:
    """An SLA level's effects on a work item, beside its optimistic version (see record_forecast)."""
    session.execute(
        update(WorkItemRecord.__table__).where(WorkItemRecord.__table__.c.id == work_item_id).values(**values)
    )


def open_step_deadlines(session: Session, dossier_id: int, *, before: datetime) -> list[tuple]:
    """(id, created_at, due_at, warn_at) of the dossier's open steps with a deadline, opened before
    `before`."""
    table = WorkItemRecord.__table__
    query = select(table.c.id, table.c.created_at, table.c.due_at, table.c.warn_at).where(
        table.c.dossier_id == dossier_id,
        table.c.state.in_(OPEN_STATES),
        table.c.due_at.isnot(None),
        table.c.created_at < before,
    )
    return [tuple(row) for row in session.execute(query)]


def forecast_again(session: Session, now: datetime, unit_codes=None) -> int:
    """Ask the SLA sweep to forecast every running dossier (of these units) again: the working
    time left before their appointments changed (a calendar gained or lost a day)."""
    table = DossierRecord.__table__
    # `completed_at IS NULL`, implied by the state, reads the open dossiers' partial indexes.
    query = update(table).where(
        table.c.run_state == RunState.RUNNING.value, table.c.completed_at.is_(None), table.c.appointment_at.isnot(None)
    )
    if unit_codes is not None:
        query = query.where(table.c.unit_code.in_(unit_codes))
    return session.execute(query.values(apology_check_at=now)).rowcount


def active_users(session: Session, unit_code: str) -> list[UserRecord]:
    return list(
        session.scalars(select(UserRecord).where(UserRecord.unit_code == unit_code, UserRecord.active.is_(True)))
    )


def insert_outbox_once(session: Session, **values) -> None:
    """Insert a message unless one with the same dedupe key exists."""
    dialect = postgresql if _is_postgres(session) else sqlite
    session.execute(
        dialect.insert(OutboxRecord.__table__).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
