"""The dashboard's daily figures: per local day, per week (Monday to Sunday) and per month, commune
and template version, the receipts (by channel), the closures (early, on time, late, withdrawn /
stopped) and two counts of closed dossiers by day that let "overdue" be read at a past instant
(table figure_rollup).

They are kept in the transaction of the change (`record_received` at a dossier's start,
`record_closed` when it finishes or is stopped), so a report never waits for a worker and never
reads figures older than the dossiers; both also move the open stock (engine.store.open_stock).
`rebuild` recounts them from the dossiers (the migrations' backfill; the same SQL that `motcua
rollups rebuild` runs). A period's figures are read from its whole months' and whole weeks' own
rows and day rows for the rest (`grain_ranges`, `rows_over_days`): a month's trend by week reads
four or five week rows per commune and version instead of thirty day rows.

Days are Vietnam's local days (Asia/Ho_Chi_Minh, UTC+7 all year): a report's period starts and
ends at local midnight (web/supervise/filters.py).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date
from sqlalchemy import TextClause
from sqlalchemy import bindparam
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import union_all
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.store import change_rows
from engine.store import open_stock
from engine.store.driver_writes import DriverWrite
from engine.store.records import DossierRecord
from engine.store.records import FigureRollupRecord

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
DAY, WEEK, MONTH = "d", "w", "m"
#: The counted columns, in the order the reads return them.
COLUMNS = (
    "received",
    "received_counter",
    "received_online",
    "received_post",
    "early",
    "on_time",
    "late",
    "withdrawn_stopped",
    "closed_by_appointment",
    "closed_by_later_day",
)
CLASSIFICATIONS = ("early", "on_time", "late")


def local_day(instant: datetime) -> date:
    return instant.astimezone(LOCAL).date()


def week_of(day: date) -> date:
    """The Monday that starts the week (ISO, Monday to Sunday) of a day: its week row's key."""
    return day - timedelta(days=day.weekday())


def is_local_midnight(instant: datetime) -> bool:
    local = instant.astimezone(LOCAL)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


# -- kept in the change's transaction --------------------------------------------------------------------


def record_received(session: Session, dossier: DossierRecord) -> None:
    """A receipt, on the day received, at the channel it came by; one more open dossier. On
    PostgreSQL both go in the start's rows' statement (engine.store.change_rows), the figures
    first: two round trips fewer per start, their rows locked in the order a closure locks them."""
    counts = {"received": 1}
    if f"received_{dossier.channel}" in COLUMNS:
        counts[f"received_{dossier.channel}"] = 1
    _add(session, dossier, {local_day(dossier.received_at): counts}, with_rows=True)
    open_stock.opened(session, dossier)


def record_closed(session: Session, dossier: DossierRecord) -> None:
    """A closure (finished, withdrawn, stopped), on the day closed; with an appointment, also on
    the appointment's day and on the later of the two days; one fewer open dossier."""
    by_day: dict[date, dict[str, int]] = defaultdict(dict)
    verdict = dossier.classification if dossier.classification in CLASSIFICATIONS else "withdrawn_stopped"
    by_day[local_day(dossier.completed_at)][verdict] = 1
    if dossier.appointment_at is not None:
        by_day[local_day(dossier.appointment_at)]["closed_by_appointment"] = 1
        later = max(dossier.appointment_at, dossier.completed_at)
        by_day[local_day(later)]["closed_by_later_day"] = 1
    _add(session, dossier, by_day)
    open_stock.closed(session, dossier)


def _add(session: Session, dossier: DossierRecord, by_day: dict[date, dict[str, int]], *, with_rows=False) -> None:
    """Add the counts to the day rows and their week and month rows: one statement (an upsert run
    for each row touched, three to nine), on the change's connection; `with_rows`, on PostgreSQL,
    in the change's rows' statement, queued as a receipt (open_stock.RECEIPT)."""
    rows: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for day, counts in by_day.items():
        for grain, key in ((DAY, day), (WEEK, week_of(day)), (MONTH, day.replace(day=1))):
            for column, n in counts.items():
                rows[(grain, key)][column] += n
    connection = session.connection()
    place = {"unit_code": dossier.unit_code, "definition_id": dossier.definition_id}
    if connection.dialect.name != "postgresql":
        _UPSERT.run_many(connection, [{"grain": g, "day": key, **place, **counts} for (g, key), counts in rows.items()])
        return
    params = dict(place)
    for n, ((grain, key), counts) in enumerate(rows.items()):
        params.update({f"grain_{n}": grain, f"day_{n}": key, **{f"{c}_{n}": counts[c] for c in COLUMNS}})
    if with_rows:
        apart = {f"{name}{_APART}": value for name, value in params.items()}
        change_rows.with_rows(session, _upsert_rows_with(len(rows)), apart, kind=open_stock.RECEIPT)
        return
    _upsert_rows(len(rows)).run(connection, params)


# Written as text: SQLite and PostgreSQL share the upsert's syntax, and a prepared text statement
# costs about a tenth of the ORM-enabled insert construct (0.2 against 2-3 ms, on SQLite).
_UPSERT = DriverWrite(
    text(
        f"INSERT INTO figure_rollup (grain, day, unit_code, definition_id, {', '.join(COLUMNS)}) "
        f"VALUES (:grain, :day, :unit_code, :definition_id, {', '.join(':' + c for c in COLUMNS)}) "
        f"ON CONFLICT (grain, day, unit_code, definition_id) DO UPDATE SET "
        + ", ".join(f"{c} = figure_rollup.{c} + excluded.{c}" for c in COLUMNS)
    ).bindparams(bindparam("day", type_=Date()))
)


@functools.lru_cache(maxsize=16)
def _upsert_rows(rows: int) -> DriverWrite:
    """PostgreSQL: the upsert of `rows` rows of one commune and template version (three to nine:
    the day rows, their weeks and their months) as one multi-row VALUES, which costs a third less of this process's
    CPU than the executemany psycopg sends through its pipeline (384-474 against 568-647 µs per
    change, 2026-12-03); on SQLite the executemany, which reuses one prepared statement, is the
    cheaper (197-229 against 258-309 µs). The rows' keys differ (one per grain and day), as one
    upsert statement needs."""
    values = ", ".join(
        f"(:grain_{n}, :day_{n}, :unit_code, :definition_id, {', '.join(f':{c}_{n}' for c in COLUMNS)})"
        for n in range(rows)
    )
    statement = text(
        f"INSERT INTO figure_rollup (grain, day, unit_code, definition_id, {', '.join(COLUMNS)}) "
        f"VALUES {values} ON CONFLICT (grain, day, unit_code, definition_id) DO UPDATE SET "
        + ", ".join(f"{c} = figure_rollup.{c} + excluded.{c}" for c in COLUMNS)
    )
    return DriverWrite(statement.bindparams(*(bindparam(f"day_{n}", type_=Date()) for n in range(rows))))


#: The suffix of the upsert's parameters where it runs with the change's rows.
_APART = "_fig"


@functools.lru_cache(maxsize=16)
def _upsert_rows_with(rows: int) -> Callable[[str | None], TextClause]:
    """`_upsert_rows` as engine.store.change_rows runs it: after the WITH `after` of the change's
    rows' statement, returning a row for each row it wrote, or on its own (None)."""

    @functools.lru_cache(maxsize=4)
    def statement(after: str | None) -> TextClause:
        columns = f"grain, day, unit_code, definition_id, {', '.join(COLUMNS)}"
        values = ", ".join(
            f"(:grain_{n}{_APART}, :day_{n}{_APART}, :unit_code{_APART}, :definition_id{_APART}, "
            + ", ".join(f":{c}_{n}{_APART}" for c in COLUMNS)
            + ")"
            for n in range(rows)
        )
        where = f"EXISTS (SELECT FROM {after})" if after is not None else "true"
        sql = (
            f"INSERT INTO figure_rollup ({columns}) SELECT * FROM (VALUES {values}) AS v ({columns}) WHERE {where} "
            "ON CONFLICT (grain, day, unit_code, definition_id) DO UPDATE SET "
            + ", ".join(f"{c} = figure_rollup.{c} + excluded.{c}" for c in COLUMNS)
        )
        if after is not None:
            sql += " RETURNING grain"
        return text(sql).bindparams(*(bindparam(f"day_{n}{_APART}", type_=Date()) for n in range(rows)))

    return statement


# -- read ----------------------------------------------------------------------------------------------


def by_day(session: Session, first: date, last: date, narrow, grains: tuple[str, ...] = ()) -> dict[date, list[int]]:
    """The counts of the days [first, last) summed over every commune and template version of the
    scope (`narrow` adds its conditions: communes, procedure), per row read: a day's under the day;
    with WEEK or MONTH among `grains`, a whole week's under its Monday or a whole month's under its
    first day, read from its own rows (a month's trend by week is four or five week rows a cell instead of thirty day rows;
    a year by month twelve). One statement."""
    r = FigureRollupRecord.__table__
    query = summed_over_days(r, ("day",), COLUMNS, grain_ranges(first, last, grains), narrow)
    return {day: [int(n or 0) for n in counts] for day, *counts in session.execute(query)}


Range = tuple[str, date, date | None]


def grain_ranges(first: date, last: date | None, grains: tuple[str, ...] = (WEEK, MONTH)) -> list[Range]:
    """[first, last) (last None: every day from `first` on) as ranges of rows of one grain, each row
    wholly inside: whole months from month rows and whole weeks from week rows when `grains` has
    them, the rest from day rows; in the order of the days, empty ranges left out."""
    if last is None:
        whole_from = first if first.day == 1 else _next_month(first)
        return [*_days(first, whole_from), (MONTH, whole_from, None)]
    if MONTH in grains:
        whole_from, whole_to = (first if first.day == 1 else _next_month(first)), last.replace(day=1)
        if whole_from < whole_to:
            rest = tuple(grain for grain in grains if grain != MONTH)
            return [
                *grain_ranges(first, whole_from, rest),
                (MONTH, whole_from, whole_to),
                *grain_ranges(whole_to, last, rest),
            ]
    if WEEK in grains:
        whole_from, whole_to = week_of(first + timedelta(days=6)), week_of(last)
        if whole_from < whole_to:
            return [*_days(first, whole_from), (WEEK, whole_from, whole_to), *_days(whole_to, last)]
    return _days(first, last)


def _days(first: date, last: date) -> list[Range]:
    return [(DAY, first, last)] if first < last else []


def window_ranges(first: date, last: date | None) -> list[Range]:
    """[first, last) as day rows and month rows (grain_ranges without weeks): how the officers' and
    the satisfaction rollups, which keep no week rows, read their days."""
    return grain_ranges(first, last, (MONTH,))


def summed_over_days(table, keys: tuple[str, ...], columns: tuple[str, ...], ranges: list[Range], narrow=None):
    """The statement that sums `columns` of a rollup table (grain, day, ... in its primary key) per
    `keys` over `ranges` (grain_ranges): each range read as a range of the primary key, the ranges
    joined by UNION ALL and summed once, in the database. Their OR in one WHERE made PostgreSQL
    scan every day row of the years kept (0.5 s at 5,000,000 dossiers); summing each range apart
    sent up to three times the rows to be added in Python. `narrow` adds conditions to each range."""
    rows = rows_over_days(table, keys, columns, ranges, narrow).subquery()
    key_columns = [rows.c[k] for k in keys]
    return select(*key_columns, *(func.sum(rows.c[c]) for c in columns)).group_by(*key_columns)


def rows_over_days(table, keys: tuple[str, ...], columns: tuple[str, ...], ranges: list[Range], narrow=None):
    """The rows of `ranges` (grain_ranges) of a rollup table, `keys` then `columns`, not summed:
    one SELECT per range (a range of the primary key), joined by UNION ALL."""
    parts = []
    for grain, start, end in ranges:
        part = select(*(table.c[k] for k in keys), *(table.c[c] for c in columns)).where(
            table.c.grain == grain, table.c.day >= start
        )
        if end is not None:
            part = part.where(table.c.day < end)
        parts.append(narrow(part) if narrow else part)
    if not parts:  # no day at all: a statement that finds nothing
        parts.append(select(*(table.c[k] for k in keys), *(table.c[c] for c in columns)).where(false()))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


# -- recount -------------------------------------------------------------------------------------------


def rebuild(connection: Connection) -> int:
    """Replace every rollup row by a recount of the dossiers (an INSERT ... SELECT for each grain);
    returns the number of day rows. Used by the migration that adds the table and by `motcua rollups rebuild`."""
    postgres = connection.dialect.name == "postgresql"
    day = (
        (lambda column: f"CAST(({column} AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)")
        if postgres
        else (lambda column: f"date({column}, '+7 hours')")
    )
    later = "GREATEST(appointment_at, completed_at)" if postgres else "max(appointment_at, completed_at)"
    columns = ", ".join(COLUMNS)
    sums = ", ".join(f"SUM({c})" for c in COLUMNS)

    def event(on: str, values: dict[str, str], where: str = "") -> str:
        cells = ", ".join(f"{values.get(c, '0')} AS {c}" for c in COLUMNS)
        return f"SELECT unit_code, definition_id, {day(on)} AS day, {cells} FROM dossier {where}"

    closed = "WHERE completed_at IS NOT NULL"
    classified = {c: f"CASE WHEN classification = '{c}' THEN 1 ELSE 0 END" for c in CLASSIFICATIONS}
    events = " UNION ALL ".join(
        (
            event(
                "received_at",
                {
                    "received": "1",
                    **{
                        f"received_{c}": f"CASE WHEN channel = '{c}' THEN 1 ELSE 0 END"
                        for c in ("counter", "online", "post")
                    },
                },
            ),
            event(
                "completed_at",
                {
                    **classified,
                    "withdrawn_stopped": "CASE WHEN classification IN ('early', 'on_time', 'late') THEN 0 ELSE 1 END",
                },
                closed,
            ),
            event("appointment_at", {"closed_by_appointment": "1"}, f"{closed} AND appointment_at IS NOT NULL"),
            event(later, {"closed_by_later_day": "1"}, f"{closed} AND appointment_at IS NOT NULL"),
        )
    )
    connection.execute(text("DELETE FROM figure_rollup"))
    connection.execute(
        text(
            f"INSERT INTO figure_rollup (grain, day, unit_code, definition_id, {columns}) "
            f"SELECT '{DAY}', day, unit_code, definition_id, {sums} FROM ({events}) AS events "
            # In the order of the primary key: a period's day rows then lie together, as the changes,
            # which write each day's rows on that day, leave them; scattered, a province's month of
            # day rows (54,000) cost 21,000 random page reads.
            f"GROUP BY day, unit_code, definition_id ORDER BY day, unit_code, definition_id"
        )
    )
    for grain in (WEEK, MONTH):
        roll_up_days(connection, grain)
    return connection.execute(text(f"SELECT COUNT(*) FROM figure_rollup WHERE grain = '{DAY}'")).scalar_one()


def roll_up_days(connection: Connection, grain: str) -> None:
    """Write the week (WEEK) or month (MONTH) rows as the sums of the day rows (none of that grain
    may be there yet), in the order of the primary key."""
    postgres = connection.dialect.name == "postgresql"
    key = {
        # PostgreSQL's weeks are ISO weeks; SQLite's Monday: back six days, then on to a Monday.
        WEEK: "CAST(date_trunc('week', day) AS DATE)" if postgres else "date(day, '-6 days', 'weekday 1')",
        MONTH: "CAST(date_trunc('month', day) AS DATE)" if postgres else "date(day, 'start of month')",
    }[grain]
    columns, sums = ", ".join(COLUMNS), ", ".join(f"SUM({c})" for c in COLUMNS)
    connection.execute(
        text(
            f"INSERT INTO figure_rollup (grain, day, unit_code, definition_id, {columns}) "
            f"SELECT '{grain}', {key}, unit_code, definition_id, {sums} FROM figure_rollup WHERE grain = '{DAY}' "
            f"GROUP BY {key}, unit_code, definition_id ORDER BY {key}, unit_code, definition_id"
        )
    )
