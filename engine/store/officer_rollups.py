"""The officers' KPIs as daily figures (table officer_rollup; what each counts: engine.domain.kpi):
per local day and month, commune and officer, kept in the transaction of each change that moves
them (a step completed, a return, a reassignment, an apology letter), like the dashboard's
engine.store.rollups; `recount` rebuilds them from the work items and the audit log (the
migration's backfill, `motcua rollups rebuild`, and the reference the tests compare them with).

The row with the user name '' holds the unit's own counts: dossiers handled by the unit (each once)
and its apology letters; every other figure of a unit is the sum of its officers' rows. Each row is
kept twice: for every procedure (definition_id ALL) and for the template version of the dossier it
counts, so that one procedure's KPIs are read from daily rows like everyone's.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from datetime import date
from datetime import datetime

from sqlalchemy import Date
from sqlalchemy import TextClause
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.domain import kpi
from engine.domain.decisions import SUPPLEMENT_DECISIONS
from engine.domain.model import WorkItemState
from engine.store import change_rows
from engine.store.among import among
from engine.store.driver_writes import DriverWrite
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import OfficerRollupRecord
from engine.store.records import WorkItemRecord
from engine.store.rollups import DAY
from engine.store.rollups import MONTH
from engine.store.rollups import local_day
from engine.store.rollups import summed_over_days
from engine.store.rollups import window_ranges

UNIT = ""  # the user name of a unit's own row
ALL = 0  # the definition_id of the rows that count every procedure
#: The audit detail keys naming whom an event counts against (written by engine.services.actions
#: and engine.services.dossiers, read back by `recount`).
CAUSED_BY, TAKEN_FROM, LATE_OFFICERS = "caused_by", "taken_from", "late_officers"


# -- kept in the change's transaction --------------------------------------------------------------------


def record_step_completed(session: Session, item: WorkItemRecord) -> None:
    """A step completed: its class, its working time, a supplement asked, and the dossier counted
    for the officer and for the unit the first time each completes a step of it (read in the
    upsert itself: no statement of its own)."""
    counted = {_STEP_CLASS.get(item.classification, "step_no_deadline")}
    if item.working_minutes is not None:
        counted.add(kpi.HISTOGRAM[kpi.bucket_of(item.working_minutes)])
    if asked_supplement(item.outcome):
        counted.add("supplements")
    day = local_day(item.completed_at)
    params = {
        "dossier_id": item.dossier_id,
        "item_id": item.id or 0,
        "unit_code": item.unit_code,
        "username": item.completed_by,
        "day": day,
        "month": day.replace(day=1),
    }
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # in the rows' statement, its parameters named apart
        params.update({column: int(column in counted) for column in _STEP_COUNTED})
        change_rows.with_rows(session, _upsert_step_after, {f"{name}{_APART}": value for name, value in params.items()})
    else:
        _upsert_step_alone(tuple(column for column in _STEP_COUNTED if column in counted)).run(connection, params)


def record_return(session: Session, unit_code: str, caused_by: str | None, at: datetime, dossier_id: int) -> None:
    """A step of dossier `dossier_id` sent back to one the officer `caused_by` had completed."""
    _add(session, unit_code, {caused_by: {"returns_caused": 1}} if caused_by else {}, at, dossier_id)


def record_reassigned(session: Session, unit_code: str, taken_from: str | None, at: datetime, dossier_id: int) -> None:
    """A step of dossier `dossier_id` a leader took from `taken_from` (nothing when it was in the pool)."""
    _add(session, unit_code, {taken_from: {"reassigned": 1}} if taken_from else {}, at, dossier_id)


def record_apology(session: Session, unit_code: str, late_officers, at: datetime, dossier_id: int) -> None:
    """An apology letter for dossier `dossier_id`: once for the unit, once for each officer holding a
    late step."""
    by_officer = {UNIT: {"apologies": 1}, **{u: {"apologies": 1} for u in late_officers}}
    _add(session, unit_code, by_officer, at, dossier_id)


def _add(
    session: Session, unit_code: str, by_officer: dict[str, dict[str, int]], at: datetime, dossier_id: int
) -> None:
    if not by_officer:
        return
    day = local_day(at)
    # The change has the dossier loaded: its version is read from the session, not the database.
    definition_id = session.get_one(DossierRecord, dossier_id).definition_id
    session.connection().execute(
        _UPSERT,
        [
            _row(grain, key, unit_code, who, counts, definition)
            for grain, key in _grains(day)
            for who, counts in by_officer.items()
            for definition in (ALL, definition_id)
        ],
    )


_STEP_CLASS = {"early": "step_early", "on_time": "step_on_time", "late": "step_late"}


def asked_supplement(outcome) -> bool:
    """Whether a step's data decided to ask the applicant for a supplement (a decision that is not
    text, which a form may let through, is none)."""
    decision = (outcome or {}).get("ket_qua")
    return isinstance(decision, str) and decision in SUPPLEMENT_DECISIONS


def _grains(day: date) -> tuple[tuple[str, date], ...]:
    return (DAY, day), (MONTH, day.replace(day=1))


def _row(grain: str, day: date, unit_code: str, username: str, counts: dict[str, int], definition_id: int) -> dict:
    return {
        "definition_id": definition_id,
        "grain": grain,
        "day": day,
        "unit_code": unit_code,
        "username": username,
        **dict.fromkeys(kpi.COLUMNS, 0),
        **counts,
    }


def _upsert(dossiers_value: str):
    others = [c for c in kpi.COLUMNS if c != "dossiers"]
    return text(
        f"INSERT INTO officer_rollup (definition_id, grain, day, unit_code, username, {', '.join(kpi.COLUMNS)}) "
        f"VALUES (:definition_id, :grain, :day, :unit_code, :username, {dossiers_value}, "
        f"{', '.join(':' + c for c in others)}) " + _ADD_ON_CONFLICT
    ).bindparams(bindparam("day", type_=Date()))


_ADD_ON_CONFLICT = "ON CONFLICT (definition_id, grain, day, unit_code, username) DO UPDATE SET " + ", ".join(
    f"{c} = officer_rollup.{c} + excluded.{c}" for c in kpi.COLUMNS
)
_UPSERT = _upsert(":dossiers")


#: What a completed step counts for its officer (a unit's row counts its dossiers only).
_STEP_COUNTED = [c for c in kpi.COLUMNS if c != "dossiers"]


def _upsert_step(counted: tuple[str, ...] | None, after: str | None = None, *, apart: bool = False):
    """The upsert of a completed step's rows (officer and unit, day and month, every procedure and
    the dossier's own version, read in the statement) in one statement. A row's dossier counts
    when no other step of it in the unit was completed before, by this officer (their row) or by
    anyone (the unit's row, username ''). The unit's rows, which count nothing else, are left out
    once its dossier was counted: most steps write the officer's four.

    SQLite (`counted` given): 1 is added to those columns of the officer's rows only, the others
    keeping their value (0 in a new row); a step counts at most three of the 22, and naming them
    alone cut SQLite's work on the statement by half. Its writer holds the whole database: the
    rows need no order. PostgreSQL (`counted` None): every column, each step's counts given as
    parameters, so that the change's rows' statement this runs in keeps one shape per shape of
    rows (engine.store.change_rows compiles one per shape); the rows go in the order of the sets
    (definition, grain, the officer's row first) on every change alike, so that concurrent
    changes lock them alike.

    The rows are the product of three two-row sets, each value written once: psycopg converts a
    query anew on every execution past 50 parameters or 4,096 characters (the eight rows written
    out were 5.9 KB), and SQLite evaluated each row's subqueries apart."""
    # A parameter used in several places is cast alike everywhere: PostgreSQL deduces one type for it.
    unit = "CAST(:unit_code AS VARCHAR(16))"
    who = "CAST(:username AS VARCHAR(80))"
    definitions = "SELECT 0 AS definition_id UNION ALL SELECT definition_id FROM dossier WHERE id = :dossier_id"
    grains = f"SELECT '{DAY}' AS grain, :day AS day UNION ALL SELECT '{MONTH}', :month"
    whom = f"SELECT {who} AS username, 1 AS mine UNION ALL SELECT '', 0"
    done_before = (
        "SELECT 1 FROM work_item s WHERE s.dossier_id = :dossier_id AND s.state = 'completed' "
        f"AND s.id <> :item_id AND s.unit_code = {unit}"
    )
    # Neither subquery reads the row it is asked for: SQLite evaluates each once per statement.
    first = f"CASE WHEN w.mine = 1 AND EXISTS ({done_before} AND s.completed_by = {who}) THEN 0 ELSE 1 END"
    # The unit's rows count only its dossiers: once one was counted, they would add nothing.
    where = f"(w.mine = 1 OR NOT EXISTS ({done_before}))"
    if after is not None:
        where += f" AND EXISTS (SELECT FROM {after})"
    if counted is None:
        written, values = ("dossiers", *_STEP_COUNTED), [f"w.mine * :{c}" for c in _STEP_COUNTED]
    else:
        written, values = ("dossiers", *counted), ["w.mine"] * len(counted)
    sql = (
        f"INSERT INTO officer_rollup (definition_id, grain, day, unit_code, username, {', '.join(written)}) "
        f"SELECT v.definition_id, g.grain, g.day, {unit}, w.username, {', '.join((first, *values))} "
        f"FROM ({definitions}) AS v CROSS JOIN ({grains}) AS g CROSS JOIN ({whom}) AS w WHERE {where} "
        + ("ORDER BY v.definition_id, g.grain, w.mine DESC " if counted is None else "")
        + "ON CONFLICT (definition_id, grain, day, unit_code, username) DO UPDATE SET "
        + ", ".join(f"{c} = officer_rollup.{c} + excluded.{c}" for c in written)
    )
    if after is not None:  # a WITH of engine.store.change_rows' statement, run once `after` has
        sql += " RETURNING definition_id"
    suffix = _APART if apart else ""
    if apart:  # named apart from the rows' there (one named like a column would join an UPDATE's SET)
        sql = re.sub(r"(?<![:\w]):(\w+)", rf":\1{_APART}", sql)
    return text(sql).bindparams(bindparam(f"day{suffix}", type_=Date()), bindparam(f"month{suffix}", type_=Date()))


#: The suffix of the step upsert's parameters where it runs with the change's rows.
_APART = "_kpi"


@functools.lru_cache(maxsize=128)
def _upsert_step_alone(counted: tuple[str, ...]) -> DriverWrite:
    """SQLite: the step's upsert counting `counted` (at most 112 sets of columns, a few in use)."""
    return DriverWrite(_upsert_step(counted))


@functools.lru_cache(maxsize=8)
def _upsert_step_after(after: str | None) -> TextClause:
    """PostgreSQL: the step's upsert as engine.store.change_rows runs it, after the WITH `after`
    of the change's rows' statement, or on its own (None)."""
    return _upsert_step(None, after, apart=True)


# -- read -------------------------------------------------------------------------------------------------


def window(session: Session, units, first: date, last: date, definition_ids=None) -> dict[tuple[str, str], list[int]]:
    """The KPI columns summed over the days [first, last), per (commune, user name): of every
    procedure, or of the dossiers of some template versions (`definition_ids`: ids or a subquery)."""
    r = OfficerRollupRecord
    of_versions = r.definition_id == ALL if definition_ids is None else r.definition_id.in_(definition_ids)
    narrow = lambda query: query.where(of_versions, among(r.unit_code, units))  # noqa: E731
    # Summed in the database over the month and day ranges (one statement, one row a cell).
    query = summed_over_days(r.__table__, ("unit_code", "username"), kpi.COLUMNS, window_ranges(first, last), narrow)
    return {(unit, username): [int(n or 0) for n in counts] for unit, username, *counts in session.execute(query)}


def per_officer(
    session: Session, units, first: date, last: date, columns: tuple[str, ...], definition_ids=None
) -> dict[str, list[int]]:
    """Some KPI `columns` summed over the days [first, last) and the communes `units`, per officer
    (the communes' own rows left out), in the database: the dashboard's officers' table reads its
    four step columns this way instead of every column of each (commune, officer) pair."""
    r = OfficerRollupRecord
    of_versions = r.definition_id == ALL if definition_ids is None else r.definition_id.in_(definition_ids)
    narrow = lambda query: query.where(of_versions, among(r.unit_code, units), r.username != UNIT)  # noqa: E731
    query = summed_over_days(r.__table__, ("username",), columns, window_ranges(first, last), narrow)
    return {username: [int(n) for n in counts] for username, *counts in session.execute(query)}


# -- recount ----------------------------------------------------------------------------------------------


Key = tuple[int, str, date, str, str]  # (definition id or ALL, grain, day, commune, user name)


def recount(connection: Connection) -> dict[Key, list[int]]:
    """The rows the changes should have kept, counted again from the completed work items and the
    audit log: {(definition id or ALL, grain, day, commune, user name): counts in kpi.COLUMNS order}."""
    rows: dict[Key, list[int]] = defaultdict(lambda: [0] * len(kpi.COLUMNS))

    def count(at: datetime, unit: str, who: str, column: str, definition_id: int) -> None:
        for grain, key in _grains(local_day(at)):
            for definition in (ALL, definition_id):
                rows[(definition, grain, key, unit, who)][kpi.COLUMNS.index(column)] += 1

    _count_steps(connection, count)
    _count_events(connection, count)
    return dict(rows)


def _count_steps(connection: Connection, count) -> None:
    w, d = WorkItemRecord, DossierRecord
    seen: set[tuple] = set()
    query = (
        select(
            w.dossier_id,
            w.unit_code,
            w.completed_by,
            w.completed_at,
            w.classification,
            w.working_minutes,
            w.outcome,
            d.definition_id,
        )
        .join(d, d.id == w.dossier_id)
        .where(w.state == WorkItemState.COMPLETED.value, w.completed_by.is_not(None))
        .order_by(w.completed_at, w.id)
    )
    for dossier_id, unit, who, at, classification, minutes, outcome, version in connection.execute(query):
        count(at, unit, who, _STEP_CLASS.get(classification, "step_no_deadline"), version)
        if minutes is not None:
            count(at, unit, who, kpi.HISTOGRAM[kpi.bucket_of(minutes)], version)
        if asked_supplement(outcome):
            count(at, unit, who, "supplements", version)
        for key in ((dossier_id, unit, who), (dossier_id, unit, UNIT)):
            if key not in seen:
                seen.add(key)
                count(at, unit, key[2], "dossiers", version)


def _count_events(connection: Connection, count, *conditions) -> None:
    a, w, d = AuditEventRecord, WorkItemRecord, DossierRecord
    moves = (
        select(a.at, a.action, a.detail, w.unit_code, d.definition_id)
        .join(w, w.id == a.work_item_id)
        .join(d, d.id == a.dossier_id)
        .where(among(a.action, ("return", "reassign")), *conditions)
    )
    for at, action, detail, unit, version in connection.execute(moves):
        who = (detail or {}).get(CAUSED_BY if action == "return" else TAKEN_FROM)
        if who:
            count(at, unit, who, "returns_caused" if action == "return" else "reassigned", version)
    letters = (
        select(a.at, a.detail, d.unit_code, d.definition_id)
        .join(d, d.id == a.dossier_id)
        .where(among(a.action, ("reappoint",)), *conditions)
    )
    for at, detail, unit, version in connection.execute(letters):
        for who in (UNIT, *((detail or {}).get(LATE_OFFICERS) or ())):
            count(at, unit, who, "apologies", version)


def rebuild(connection: Connection) -> int:
    """Replace every KPI row by a recount (the steps counted in SQL, the few audit events in
    Python; the month rows summed from the day rows); returns the number of day rows of every
    procedure. The same figures as `recount`, which the tests compare it with, at a province's size."""
    postgres = connection.dialect.name == "postgresql"
    connection.execute(OfficerRollupRecord.__table__.delete())
    for by_officer in (True, False):
        for per_version in (False, True):
            connection.execute(text(_steps_sql(postgres, by_officer=by_officer, per_version=per_version)))
    events: dict[Key, list[int]] = defaultdict(lambda: [0] * len(kpi.COLUMNS))

    def count(at: datetime, unit: str, who: str, column: str, definition_id: int) -> None:
        for definition in (ALL, definition_id):
            events[(definition, DAY, local_day(at), unit, who)][kpi.COLUMNS.index(column)] += 1

    _count_events(connection, count)
    if events:
        connection.execute(
            _UPSERT,
            [
                _row(grain, day, unit, who, dict(zip(kpi.COLUMNS, counts)), definition)
                for (definition, grain, day, unit, who), counts in events.items()
            ],
        )
    month = "CAST(date_trunc('month', day) AS DATE)" if postgres else "date(day, 'start of month')"
    columns = ", ".join(kpi.COLUMNS)
    connection.execute(
        text(
            f"INSERT INTO officer_rollup (definition_id, grain, day, unit_code, username, {columns}) "
            f"SELECT definition_id, '{MONTH}', {month}, unit_code, username, "
            f"{', '.join(f'SUM({c})' for c in kpi.COLUMNS)} FROM officer_rollup WHERE grain = '{DAY}' "
            f"GROUP BY definition_id, {month}, unit_code, username"
        )
    )
    return connection.execute(
        text(f"SELECT COUNT(*) FROM officer_rollup WHERE grain = '{DAY}' AND definition_id = {ALL}")
    ).scalar_one()


def _steps_sql(postgres: bool, *, by_officer: bool, per_version: bool) -> str:
    """INSERT ... SELECT of the day rows the completed steps give: per officer (everything but the
    letters), or per unit (its dossiers handled); of every procedure, or per template version."""
    day = (
        "CAST((w.completed_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)"
        if postgres
        else "date(w.completed_at, '+7 hours')"
    )
    decision = "w.outcome->>'ket_qua'" if postgres else "json_extract(w.outcome, '$.ket_qua')"
    who = "w.completed_by" if by_officer else "''"
    first = (
        f"ROW_NUMBER() OVER (PARTITION BY w.dossier_id, w.unit_code{', w.completed_by' if by_officer else ''} "
        f"ORDER BY w.completed_at, w.id) = 1"
    )
    bucket = (
        "CASE "
        + " ".join(f"WHEN w.working_minutes <= {bound} THEN {i}" for i, bound in enumerate(kpi.BUCKET_BOUNDS))
        + f" ELSE {len(kpi.BUCKET_BOUNDS)} END"
    )
    supplements = ", ".join(f"'{d}'" for d in sorted(SUPPLEMENT_DECISIONS))
    if by_officer:
        cells = {
            "dossiers": "SUM(first)",
            **{
                column: f"SUM(CASE WHEN classification = '{name}' THEN 1 ELSE 0 END)"
                for name, column in _STEP_CLASS.items()
            },
            "step_no_deadline": "SUM(CASE WHEN classification IN ('early', 'on_time', 'late') THEN 0 ELSE 1 END)",
            "supplements": f"SUM(CASE WHEN decision IN ({supplements}) THEN 1 ELSE 0 END)",
            **{column: f"SUM(CASE WHEN bucket = {i} THEN 1 ELSE 0 END)" for i, column in enumerate(kpi.HISTOGRAM)},
        }
    else:
        cells = {"dossiers": "SUM(first)"}
    version, source = (
        ("d.definition_id", "work_item w JOIN dossier d ON d.id = w.dossier_id")
        if per_version
        else (str(ALL), "work_item w")
    )
    steps = (
        f"SELECT {version} AS definition_id, w.unit_code AS unit_code, {who} AS username, {day} AS day, "
        f"w.classification AS classification, {decision} AS decision, "
        f"CASE WHEN w.working_minutes IS NULL THEN NULL ELSE {bucket} END AS bucket, "
        f"CASE WHEN {first} THEN 1 ELSE 0 END AS first "
        f"FROM {source} WHERE w.state = 'completed' AND w.completed_by IS NOT NULL"
    )
    columns = ", ".join(kpi.COLUMNS)
    values = ", ".join(cells.get(c, "0") for c in kpi.COLUMNS)
    return (
        f"INSERT INTO officer_rollup (definition_id, grain, day, unit_code, username, {columns}) "
        f"SELECT definition_id, '{DAY}', day, unit_code, username, {values} FROM ({steps}) AS steps "
        f"GROUP BY definition_id, day, unit_code, username"
    )


def kept_rows(connection: Connection) -> dict[Key, list[int]]:
    """The rows as kept (without all-zero ones), in `recount`'s shape."""
    r = OfficerRollupRecord
    columns = [r.__table__.c[c] for c in kpi.COLUMNS]
    found = {}
    query = select(r.definition_id, r.grain, r.day, r.unit_code, r.username, *columns)
    for definition, grain, day, unit, who, *counts in connection.execute(query):
        if any(counts):
            found[(definition, grain, day, unit, who)] = [int(n) for n in counts]
    return found
