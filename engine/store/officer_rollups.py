"""The officers' KPIs as daily figures (table officer_rollup; what each counts: engine.domain.kpi):
per local day and month, commune and officer, kept in the transaction of each change that moves
them (a step completed, a return, a reassignment, an apology letter), like the dashboard's
engine.store.rollups; `recount` rebuilds them from the work items and the audit log (the
migration's backfill, `motcua rollups rebuild`, and the reference the tests compare them with).

The row with the user name '' holds the unit's own counts: dossiers handled by the unit (each once)
and its apology letters; every other figure of a unit is the sum of its officers' rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from datetime import datetime

from sqlalchemy import Date
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.domain import kpi
from engine.domain.decisions import SUPPLEMENT_DECISIONS
from engine.domain.model import WorkItemState
from engine.store.among import among
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import OfficerRollupRecord
from engine.store.records import WorkItemRecord
from engine.store.rollups import DAY
from engine.store.rollups import MONTH
from engine.store.rollups import local_day
from engine.store.rollups import window_ranges

UNIT = ""  # the user name of a unit's own row
#: The audit detail keys naming whom an event counts against (written by engine.services.actions
#: and engine.services.dossiers, read back by `recount`).
CAUSED_BY, TAKEN_FROM, LATE_OFFICERS = "caused_by", "taken_from", "late_officers"


# -- kept in the change's transaction --------------------------------------------------------------------


def record_step_completed(session: Session, item: WorkItemRecord) -> None:
    """A step completed: its class, its working time, a supplement asked, and the dossier counted
    for the officer and for the unit the first time each completes a step of it (read in the
    upsert itself: no statement of its own)."""
    counts = {_STEP_CLASS.get(item.classification, "step_no_deadline"): 1}
    if item.working_minutes is not None:
        counts[kpi.HISTOGRAM[kpi.bucket_of(item.working_minutes)]] = 1
    if asked_supplement(item.outcome):
        counts["supplements"] = 1
    day = local_day(item.completed_at)
    params = {
        "dossier_id": item.dossier_id,
        "item_id": item.id or 0,
        "unit_code": item.unit_code,
        "username": item.completed_by,
        "day": day,
        "month": day.replace(day=1),
        **{column: counts.get(column, 0) for column in _STEP_COUNTED},
    }
    session.connection().execute(_UPSERT_STEP, params)


def record_return(session: Session, unit_code: str, caused_by: str | None, at: datetime) -> None:
    """A step sent back to one the officer `caused_by` had completed."""
    _add(session, unit_code, {caused_by: {"returns_caused": 1}} if caused_by else {}, at)


def record_reassigned(session: Session, unit_code: str, taken_from: str | None, at: datetime) -> None:
    """A step a leader took from `taken_from` (nothing when it was in the pool)."""
    _add(session, unit_code, {taken_from: {"reassigned": 1}} if taken_from else {}, at)


def record_apology(session: Session, unit_code: str, late_officers, at: datetime) -> None:
    """An apology letter: once for the unit, once for each officer holding a late step."""
    _add(session, unit_code, {UNIT: {"apologies": 1}, **{u: {"apologies": 1} for u in late_officers}}, at)


def _add(session: Session, unit_code: str, by_officer: dict[str, dict[str, int]], at: datetime) -> None:
    if not by_officer:
        return
    day = local_day(at)
    session.connection().execute(
        _UPSERT,
        [_row(grain, key, unit_code, who, counts) for grain, key in _grains(day) for who, counts in by_officer.items()],
    )


_STEP_CLASS = {"early": "step_early", "on_time": "step_on_time", "late": "step_late"}


def asked_supplement(outcome) -> bool:
    """Whether a step's data decided to ask the applicant for a supplement (a decision that is not
    text, which a form may let through, is none)."""
    decision = (outcome or {}).get("ket_qua")
    return isinstance(decision, str) and decision in SUPPLEMENT_DECISIONS


def _grains(day: date) -> tuple[tuple[str, date], ...]:
    return (DAY, day), (MONTH, day.replace(day=1))


def _row(grain: str, day: date, unit_code: str, username: str, counts: dict[str, int]) -> dict:
    return {
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
        f"INSERT INTO officer_rollup (grain, day, unit_code, username, {', '.join(kpi.COLUMNS)}) "
        f"VALUES (:grain, :day, :unit_code, :username, {dossiers_value}, {', '.join(':' + c for c in others)}) "
        + _ADD_ON_CONFLICT
    ).bindparams(bindparam("day", type_=Date()))


_ADD_ON_CONFLICT = "ON CONFLICT (grain, day, unit_code, username) DO UPDATE SET " + ", ".join(
    f"{c} = officer_rollup.{c} + excluded.{c}" for c in kpi.COLUMNS
)
_UPSERT = _upsert(":dossiers")


#: What a completed step counts for its officer (a unit's row counts its dossiers only).
_STEP_COUNTED = [c for c in kpi.COLUMNS if c != "dossiers"]


def _upsert_step():
    """The upsert of a completed step's four rows (officer and unit, day and month) in one
    statement. A row's dossier counts when no other step of it in the unit was completed
    before, by this officer (their row) or by anyone (the unit's row, username '').

    Its parameters are shared by the rows (26, not 4 x 25): psycopg caches a query's conversion
    only up to 50 parameters and 4,096 characters, and converting the 102-parameter form cost
    about 0.4 ms of Python on every completion."""
    # A parameter used in several places is cast alike everywhere: PostgreSQL deduces one type for it.
    officer, unit = "CAST(:username AS VARCHAR(80))", "CAST(:unit_code AS VARCHAR(16))"

    def values(grain: str, day: str, who: str) -> str:
        by_whom = "" if who == "''" else f" AND w.completed_by = {officer}"
        first = (
            "CASE WHEN EXISTS (SELECT 1 FROM work_item w WHERE w.dossier_id = :dossier_id "
            f"AND w.state = 'completed' AND w.id <> :item_id AND w.unit_code = {unit}{by_whom}) THEN 0 ELSE 1 END"
        )
        counts = ", ".join(f":{c}" if who == officer else "0" for c in _STEP_COUNTED)
        return f"('{grain}', {day}, {unit}, {who}, {first}, {counts})"

    rows = [values(grain, day, who) for grain, day in ((DAY, ":day"), (MONTH, ":month")) for who in (officer, "''")]
    return text(
        f"INSERT INTO officer_rollup (grain, day, unit_code, username, {', '.join(kpi.COLUMNS)}) "
        f"VALUES {', '.join(rows)} " + _ADD_ON_CONFLICT
    ).bindparams(bindparam("day", type_=Date()), bindparam("month", type_=Date()))


_UPSERT_STEP = _upsert_step()


# -- read -------------------------------------------------------------------------------------------------


def window(session: Session, units, first: date, last: date) -> dict[tuple[str, str], list[int]]:
    """The KPI columns summed over the days [first, last), per (commune, user name)."""
    r = OfficerRollupRecord
    found: dict[tuple[str, str], list[int]] = {}
    for grain, start, end in window_ranges(first, last):
        if start >= end:
            continue
        query = (
            select(r.unit_code, r.username, *(func.sum(r.__table__.c[c]) for c in kpi.COLUMNS))
            .where(r.grain == grain, r.day >= start, r.day < end, among(r.unit_code, units))
            .group_by(r.unit_code, r.username)
        )
        for unit, username, *counts in session.execute(query):
            sums = found.setdefault((unit, username), [0] * len(kpi.COLUMNS))
            for i, n in enumerate(counts):
                sums[i] += int(n or 0)
    return found


def window_of_definitions(
    session: Session, units, start: datetime, end: datetime, definition_ids
) -> dict[tuple[str, str], list[int]]:
    """`window`'s sums for the dossiers of some template versions only (one procedure), counted
    from the steps and the audit log themselves, since the daily rows are not kept per procedure.
    Every earlier step of the dossiers the period touched is read too, so that a dossier counts
    for an officer in the period of their first step in it, as in the daily rows; the steps are
    counted in SQL (a year of a busy procedure is a few hundred thousand steps), the few events in
    Python as `recount` does."""
    a, d = AuditEventRecord, DossierRecord
    found: dict[tuple[str, str], list[int]] = {}
    for by_officer in (True, False):
        for unit, who, *counts in session.execute(_period_steps(units, start, end, definition_ids, by_officer)):
            sums = found.setdefault((unit, who), [0] * len(kpi.COLUMNS))
            for i, n in enumerate(counts):
                sums[i] += int(n or 0)

    def count(at: datetime, unit: str, who: str, column: str) -> None:
        if unit in units:
            found.setdefault((unit, who), [0] * len(kpi.COLUMNS))[kpi.COLUMNS.index(column)] += 1

    _count_events(session.connection(), count, a.at >= start, a.at < end, d.definition_id.in_(definition_ids))
    return found


def _period_steps(units, start: datetime, end: datetime, definition_ids, by_officer: bool):
    """The KPI columns of the steps completed in [start, end) in `units` of those template versions,
    per (unit, officer), or per (unit, '') with the unit's dossiers handled only."""
    w, d = WorkItemRecord, DossierRecord
    touched = (
        select(w.dossier_id)
        .join(d, d.id == w.dossier_id)
        .where(
            w.state == WorkItemState.COMPLETED,
            w.completed_at >= start,
            w.completed_at < end,
            w.unit_code.in_(sorted(units)),
            d.definition_id.in_(definition_ids),
        )
        .distinct()
    )
    partition = [w.dossier_id, w.unit_code, *([w.completed_by] if by_officer else [])]
    steps = (
        select(
            w.unit_code.label("unit"),
            (w.completed_by if by_officer else literal(UNIT)).label("who"),
            w.completed_at.label("at"),
            w.classification.label("cls"),
            w.outcome["ket_qua"].as_string().label("decision"),
            w.working_minutes.label("minutes"),
            func.row_number().over(partition_by=partition, order_by=(w.completed_at, w.id)).label("rank"),
        )
        .where(
            w.state == WorkItemState.COMPLETED,
            w.completed_by.is_not(None),
            w.dossier_id.in_(touched),
            w.completed_at < end,
            w.unit_code.in_(sorted(units)),
        )
        .subquery()
    )
    c = steps.c

    def counted(condition):
        return func.sum(case((condition, 1), else_=0))

    cells = {"dossiers": counted(c.rank == 1)}
    if by_officer:
        bucket = case(
            *((c.minutes <= bound, i) for i, bound in enumerate(kpi.BUCKET_BOUNDS)), else_=len(kpi.BUCKET_BOUNDS)
        )
        cells |= {column: counted(c.cls == name) for name, column in _STEP_CLASS.items()}
        cells["step_no_deadline"] = counted(or_(c.cls.is_(None), c.cls.not_in(tuple(_STEP_CLASS))))
        cells["supplements"] = counted(c.decision.in_(sorted(SUPPLEMENT_DECISIONS)))
        cells |= {column: counted(and_(c.minutes.is_not(None), bucket == i)) for i, column in enumerate(kpi.HISTOGRAM)}
    columns = [cells.get(column, literal(0)) for column in kpi.COLUMNS]
    return select(c.unit, c.who, *columns).where(c.at >= start).group_by(c.unit, c.who)


# -- recount ----------------------------------------------------------------------------------------------


def recount(connection: Connection) -> dict[tuple[str, date, str, str], list[int]]:
    """The rows the changes should have kept, counted again from the completed work items and the
    audit log: {(grain, day, commune, user name): counts in kpi.COLUMNS order}."""
    rows: dict[tuple[str, date, str, str], list[int]] = defaultdict(lambda: [0] * len(kpi.COLUMNS))

    def count(at: datetime, unit: str, who: str, column: str) -> None:
        for grain, key in _grains(local_day(at)):
            rows[(grain, key, unit, who)][kpi.COLUMNS.index(column)] += 1

    _count_steps(connection, count)
    _count_events(connection, count)
    return dict(rows)


def _count_steps(connection: Connection, count) -> None:
    w = WorkItemRecord
    seen: set[tuple] = set()
    query = (
        select(
            w.dossier_id, w.unit_code, w.completed_by, w.completed_at, w.classification, w.working_minutes, w.outcome
        )
        .where(w.state == WorkItemState.COMPLETED.value, w.completed_by.is_not(None))
        .order_by(w.completed_at, w.id)
    )
    for dossier_id, unit, who, at, classification, minutes, outcome in connection.execute(query):
        count(at, unit, who, _STEP_CLASS.get(classification, "step_no_deadline"))
        if minutes is not None:
            count(at, unit, who, kpi.HISTOGRAM[kpi.bucket_of(minutes)])
        if asked_supplement(outcome):
            count(at, unit, who, "supplements")
        for key in ((dossier_id, unit, who), (dossier_id, unit, UNIT)):
            if key not in seen:
                seen.add(key)
                count(at, unit, key[2], "dossiers")


def _count_events(connection: Connection, count, *conditions) -> None:
    a, w, d = AuditEventRecord, WorkItemRecord, DossierRecord
    moves = (
        select(a.at, a.action, a.detail, w.unit_code)
        .join(w, w.id == a.work_item_id)
        .join(d, d.id == a.dossier_id)
        .where(a.action.in_(("return", "reassign")), *conditions)
    )
    for at, action, detail, unit in connection.execute(moves):
        who = (detail or {}).get(CAUSED_BY if action == "return" else TAKEN_FROM)
        if who:
            count(at, unit, who, "returns_caused" if action == "return" else "reassigned")
    letters = (
        select(a.at, a.detail, d.unit_code).join(d, d.id == a.dossier_id).where(a.action == "reappoint", *conditions)
    )
    for at, detail, unit in connection.execute(letters):
        for who in (UNIT, *((detail or {}).get(LATE_OFFICERS) or ())):
            count(at, unit, who, "apologies")


def rebuild(connection: Connection) -> int:
    """Replace every KPI row by a recount (the steps counted in SQL, the few audit events in
    Python; the month rows summed from the day rows); returns the number of day rows. The same
    figures as `recount`, which the tests compare it with, at a province's size."""
    postgres = connection.dialect.name == "postgresql"
    connection.execute(OfficerRollupRecord.__table__.delete())
    connection.execute(text(_steps_sql(postgres, by_officer=True)))
    connection.execute(text(_steps_sql(postgres, by_officer=False)))
    events: dict[tuple[str, date, str, str], list[int]] = defaultdict(lambda: [0] * len(kpi.COLUMNS))

    def count(at: datetime, unit: str, who: str, column: str) -> None:
        events[(DAY, local_day(at), unit, who)][kpi.COLUMNS.index(column)] += 1

    _count_events(connection, count)
    if events:
        connection.execute(
            _UPSERT,
            [
                _row(grain, day, unit, who, dict(zip(kpi.COLUMNS, counts)))
                for (grain, day, unit, who), counts in events.items()
            ],
        )
    month = "CAST(date_trunc('month', day) AS DATE)" if postgres else "date(day, 'start of month')"
    columns = ", ".join(kpi.COLUMNS)
    connection.execute(
        text(
            f"INSERT INTO officer_rollup (grain, day, unit_code, username, {columns}) "
            f"SELECT '{MONTH}', {month}, unit_code, username, {', '.join(f'SUM({c})' for c in kpi.COLUMNS)} "
            f"FROM officer_rollup WHERE grain = '{DAY}' GROUP BY {month}, unit_code, username"
        )
    )
    return connection.execute(text(f"SELECT COUNT(*) FROM officer_rollup WHERE grain = '{DAY}'")).scalar_one()


def _steps_sql(postgres: bool, *, by_officer: bool) -> str:
    """INSERT ... SELECT of the day rows the completed steps give: per officer (everything but the
    letters), or per unit (its dossiers handled)."""
    day = (
        "CAST((completed_at AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)" if postgres else "date(completed_at, '+7 hours')"
    )
    decision = "outcome->>'ket_qua'" if postgres else "json_extract(outcome, '$.ket_qua')"
    who = "completed_by" if by_officer else "''"
    first = (
        f"ROW_NUMBER() OVER (PARTITION BY dossier_id, unit_code{', completed_by' if by_officer else ''} "
        f"ORDER BY completed_at, id) = 1"
    )
    bucket = (
        "CASE "
        + " ".join(f"WHEN working_minutes <= {bound} THEN {i}" for i, bound in enumerate(kpi.BUCKET_BOUNDS))
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
    steps = (
        f"SELECT unit_code, {who} AS username, {day} AS day, classification, {decision} AS decision, "
        f"CASE WHEN working_minutes IS NULL THEN NULL ELSE {bucket} END AS bucket, "
        f"CASE WHEN {first} THEN 1 ELSE 0 END AS first "
        f"FROM work_item WHERE state = 'completed' AND completed_by IS NOT NULL"
    )
    columns = ", ".join(kpi.COLUMNS)
    values = ", ".join(cells.get(c, "0") for c in kpi.COLUMNS)
    return (
        f"INSERT INTO officer_rollup (grain, day, unit_code, username, {columns}) "
        f"SELECT '{DAY}', day, unit_code, username, {values} FROM ({steps}) AS steps "
        f"GROUP BY day, unit_code, username"
    )


def kept_rows(connection: Connection) -> dict[tuple[str, date, str, str], list[int]]:
    """The rows as kept (without all-zero ones), in `recount`'s shape."""
    r = OfficerRollupRecord
    columns = [r.__table__.c[c] for c in kpi.COLUMNS]
    found = {}
    for grain, day, unit, who, *counts in connection.execute(select(r.grain, r.day, r.unit_code, r.username, *columns)):
        if any(counts):
            found[(grain, day, unit, who)] = [int(n) for n in counts]
    return found
