"""The dashboard's open stock: the open dossiers (not yet closed) counted per commune, template
version, local day of their appointment and whether they wait for the applicant (table open_stock).

The tables of a period read what was open at its end from these counts instead of the open
dossiers themselves (tens of thousands in a province, whose pages change all day). A dossier waits
for the applicant while a pause of a kind the figures count (engine.store.statistics.PAUSE_KINDS) is
open; a dossier without an appointment counts on NO_APPOINTMENT_DAY, after every day.

The counts move in the transaction of every change that opens or closes a dossier, opens or ends
such a pause, moves its appointment or its template version (`opened`, `closed`, `paused`,
`resumed`, `moved`); rows that reach 0 are deleted, so the table holds about one row per commune,
version and appointment day with open dossiers. `rebuild` recounts them from the dossiers (the
migration's backfill, and `motcua rollups rebuild`).
"""

from __future__ import annotations

import functools
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date
from sqlalchemy import TextClause
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.domain import figures
from engine.store import change_rows
from engine.store.driver_writes import DriverWrite
from engine.store.records import DossierPauseRecord
from engine.store.records import DossierRecord
from engine.store.records import OpenStockRecord

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")  # engine.store.rollups' days
NO_APPOINTMENT_DAY = date(9999, 12, 31)
#: The pause kinds the figures count as waiting for the applicant (engine.services.projection writes them).
PAUSE_KINDS = tuple(sorted(status.name.lower() for status in figures.PAUSED_STATUSES))
_KINDS = ", ".join(f"'{kind}'" for kind in PAUSE_KINDS)
#: Whether dossier :dossier_id has an open pause of a counted kind, as SQL (0 or 1).
_WAITING = (
    f"CASE WHEN EXISTS (SELECT 1 FROM dossier_pause WHERE dossier_id = :dossier_id AND ended_at IS NULL "
    f"AND kind IN ({_KINDS})) THEN 1 ELSE 0 END"
)


def appointment_day(appointment_at: datetime | None) -> date:
    return NO_APPOINTMENT_DAY if appointment_at is None else appointment_at.astimezone(LOCAL).date()


# -- kept in the change's transaction --------------------------------------------------------------------


def opened(session: Session, dossier: DossierRecord) -> None:
    """A dossier received: one more open, not waiting (a pause its start opens is `paused` after).
    On PostgreSQL in the start's rows' statement (engine.store.change_rows), queued as a receipt
    after the receipt's figures (engine.store.rollups); a statement of this module that runs
    before it runs it first."""
    row = _row(dossier.unit_code, dossier.definition_id, dossier.appointment_at, paused=0, n=1)
    if session.connection().dialect.name != "postgresql":
        _ADD.run(session.connection(), row)
        return
    apart = {f"{name}{_APART}": value for name, value in row.items() if name != "dossier_id"}
    change_rows.with_rows(session, _add_with, apart, kind=RECEIPT)


#: What a start queues to go with its rows (engine.store.change_rows): its figures and this count.
RECEIPT = "receipt"


def closed(session: Session, dossier: DossierRecord) -> None:
    """A dossier finished, withdrawn or stopped: one fewer open where it stood (waiting or not, as its
    pauses say: a stopped dossier may still have its supplement request open)."""
    _take(session, dossier.id, dossier.unit_code, dossier.definition_id, dossier.appointment_at, None)


def paused(session: Session, dossier: DossierRecord, kind: str) -> None:
    """An open dossier starts waiting for the applicant (a pause of `kind` opened)."""
    if kind in PAUSE_KINDS and dossier.completed_at is None:
        appointment = dossier.appointment_at
        _take(session, dossier.id, dossier.unit_code, dossier.definition_id, appointment, 0)
        _add(session, dossier.unit_code, dossier.definition_id, appointment, 1, 1)


def resumed(session: Session, dossier: DossierRecord, kind: str, appointment_before: datetime | None) -> None:
    """A pause of `kind` ended (its appointment moved from `appointment_before` to the dossier's own)."""
    if dossier.completed_at is not None:
        return
    if kind not in PAUSE_KINDS:
        moved(session, dossier, appointment_before=appointment_before)
        return
    _take(session, dossier.id, dossier.unit_code, dossier.definition_id, appointment_before, 1)
    _add(session, dossier.unit_code, dossier.definition_id, dossier.appointment_at, 0, 1)


def moved(
    session: Session,
    dossier: DossierRecord,
    *,
    appointment_before: datetime | None = None,
    definition_before: int | None = None,
) -> None:
    """An open dossier's appointment (re-appointment, the end of a pause) or template version
    (a migration) changed; the arguments give what it was."""
    if dossier.completed_at is not None:
        return
    before_day = appointment_day(appointment_before or dossier.appointment_at)
    definition = definition_before if definition_before is not None else dossier.definition_id
    if (before_day, definition) == (appointment_day(dossier.appointment_at), dossier.definition_id):
        return
    _take(session, dossier.id, dossier.unit_code, definition, appointment_before or dossier.appointment_at, None)
    _flush_pauses(session)
    _ADD_LOOKED_UP.run(
        _written_so_far(session),
        _row(dossier.unit_code, dossier.definition_id, dossier.appointment_at, dossier_id=dossier.id),
    )


def _add(session: Session, unit: str, definition: int, appointment: datetime | None, waiting: int, n: int) -> None:
    _ADD.run(_written_so_far(session), _row(unit, definition, appointment, paused=waiting, n=n))


def _written_so_far(session: Session):
    """The change's connection, once the receipt it queued (`opened`) is written: a statement of
    this module reads or moves the counts it adds to."""
    change_rows.write_now(session, RECEIPT)
    return session.connection()


def _take(
    session: Session, dossier_id: int, unit: str, definition: int, appointment: datetime | None, waiting: int | None
) -> None:
    """One fewer at a place (`waiting` None: as the dossier's open pauses say): the row goes when it
    held the last one. Two statements at most; a row already at 0 or missing (counts recounted
    mid-change) goes negative rather than losing the change."""
    if waiting is None:
        _flush_pauses(session)
    row = _row(unit, definition, appointment, dossier_id=dossier_id, paused=waiting)
    connection = _written_so_far(session)
    if _DELETE_LAST[waiting is None].run(connection, row):
        return
    (_ADD_LOOKED_UP if waiting is None else _ADD).run(connection, {**row, "n": -1})


def _flush_pauses(session: Session) -> None:
    """The pauses this change opened or ended, written before SQL reads them (nothing else is flushed
    early: a dossier's row is written once, at the commit)."""
    if any(isinstance(row, DossierPauseRecord) for row in (*session.new, *session.dirty)):
        session.flush()


def _row(
    unit: str, definition: int, appointment: datetime | None, *, dossier_id: int = 0, paused: int | None = 0, n=1
) -> dict:
    return {
        "unit_code": unit,
        "definition_id": definition,
        "appointment_day": appointment_day(appointment),
        "paused": paused or 0,
        "dossier_id": dossier_id,
        "n": n,
    }


_PLACE = "unit_code = :unit_code AND definition_id = :definition_id AND appointment_day = :appointment_day"
_UPSERT_TAIL = (
    " ON CONFLICT (unit_code, definition_id, appointment_day, paused) "
    "DO UPDATE SET dossiers = open_stock.dossiers + excluded.dossiers"
)
# Text statements, as engine.store.rollups' upsert: the same syntax on SQLite and PostgreSQL, and far
# cheaper to run than the ORM's constructs; run on the driver's cursor (engine.store.driver_writes).
# SQLite needs the WHERE to read INSERT ... SELECT ... ON CONFLICT.
_DAY = bindparam("appointment_day", type_=Date())
_ADD = DriverWrite(
    text(
        "INSERT INTO open_stock (unit_code, definition_id, appointment_day, paused, dossiers) "
        "VALUES (:unit_code, :definition_id, :appointment_day, :paused, :n)" + _UPSERT_TAIL
    ).bindparams(_DAY)
)
_ADD_LOOKED_UP = DriverWrite(
    text(
        "INSERT INTO open_stock (unit_code, definition_id, appointment_day, paused, dossiers) "
        f"SELECT :unit_code, :definition_id, :appointment_day, {_WAITING}, :n WHERE 1 = 1" + _UPSERT_TAIL
    ).bindparams(_DAY)
)
_APART = "_stk"  # the parameters' suffix where the upsert runs with the change's rows


@functools.lru_cache(maxsize=4)
def _add_with(after: str | None) -> TextClause:
    """`_ADD` as engine.store.change_rows runs it: after the WITH `after` of the change's rows'
    statement, returning the row it wrote, or on its own (None)."""
    where = f"EXISTS (SELECT FROM {after})" if after is not None else "true"
    sql = (
        "INSERT INTO open_stock (unit_code, definition_id, appointment_day, paused, dossiers) "
        f"SELECT :unit_code{_APART}, :definition_id{_APART}, :appointment_day{_APART}, :paused{_APART}, :n{_APART} "
        f"WHERE {where}" + _UPSERT_TAIL
    )
    if after is not None:
        sql += " RETURNING dossiers"
    return text(sql).bindparams(bindparam(f"appointment_day{_APART}", type_=Date()))


_DELETE_LAST = {
    False: DriverWrite(
        text(f"DELETE FROM open_stock WHERE {_PLACE} AND paused = :paused AND dossiers = 1").bindparams(_DAY)
    ),
    True: DriverWrite(
        text(f"DELETE FROM open_stock WHERE {_PLACE} AND paused = {_WAITING} AND dossiers = 1").bindparams(_DAY)
    ),
}


# -- read ----------------------------------------------------------------------------------------------


def counted_rows(narrow, day: date):
    """The statement reading, per row of the stock (commune, template version first): its open
    dossiers, those waiting for the applicant, those not waiting with their appointment on a day
    before `day`, and all with their appointment before it; to be summed by the caller (per
    commune, per template version). `narrow` adds the scope's conditions (communes, procedure)."""
    o = OpenStockRecord
    n = o.dossiers
    before = o.appointment_day < day
    return narrow(
        select(
            o.unit_code,
            o.definition_id,
            n,
            n * o.paused,
            case((before & (o.paused == 0), n), else_=0),
            case((before, n), else_=0),
        )
    )


# -- recount -------------------------------------------------------------------------------------------


def rebuild(connection: Connection) -> int:
    """Replace every row by a count of the open dossiers; returns the number of rows. Used by the
    migration that adds the table and by `motcua rollups rebuild`."""
    connection.execute(text("DELETE FROM open_stock"))
    connection.execute(
        text(
            "INSERT INTO open_stock (unit_code, definition_id, appointment_day, paused, dossiers) "
            + _recount_sql(connection.dialect.name)
        ).bindparams(bindparam("none", type_=Date())),
        {"none": NO_APPOINTMENT_DAY},
    )
    return connection.execute(text("SELECT COUNT(*) FROM open_stock")).scalar_one()


def recount(session: Session) -> set[tuple[str, int, date, int, int]]:
    """(commune, version, appointment day, waiting, dossiers) counted from the open dossiers: what
    the rows must hold."""
    query = text(_recount_sql(session.get_bind().dialect.name)).bindparams(bindparam("none", type_=Date()))
    return {_plain(row) for row in session.execute(query, {"none": NO_APPOINTMENT_DAY})}


def rows(session: Session) -> set[tuple[str, int, date, int, int]]:
    o = OpenStockRecord
    found = session.execute(select(o.unit_code, o.definition_id, o.appointment_day, o.paused, o.dossiers))
    return {_plain(row) for row in found}


def _plain(row) -> tuple[str, int, date, int, int]:
    day = row[2] if isinstance(row[2], date) else date.fromisoformat(row[2])  # SQLite's text SELECT gives text
    return (row[0], int(row[1]), day, int(row[3]), int(row[4]))


def _recount_sql(dialect: str) -> str:
    day = (
        "CAST((appointment_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)"
        if dialect == "postgresql"
        else "date(appointment_at, '+7 hours')"
    )
    waiting = (
        f"CASE WHEN EXISTS (SELECT 1 FROM dossier_pause p WHERE p.dossier_id = d.id AND p.ended_at IS NULL "
        f"AND p.kind IN ({_KINDS})) THEN 1 ELSE 0 END"
    )
    return (
        f"SELECT unit_code, definition_id, COALESCE({day}, :none) AS appointment_day, waiting, COUNT(*) AS dossiers "
        f"FROM (SELECT d.unit_code, d.definition_id, d.appointment_at, {waiting} AS waiting "
        "FROM dossier d WHERE d.completed_at IS NULL) AS open_dossiers "
        f"GROUP BY unit_code, definition_id, COALESCE({day}, :none), waiting"
    )
