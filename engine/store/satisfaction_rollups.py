"""Citizens' satisfaction as daily figures (table satisfaction_rollup): per local day and month of the
rating, the rated dossier's commune, template version (and every procedure, ALL) and officer, the
number of ratings and per criterion how many were satisfied and the scores' sum; the officer '' holds
the commune's own (each rating once). A rating counts for every officer who completed a step of its
dossier, as engine.store.satisfaction_queries.by_officer counts it from the ratings themselves.

Two changes move them, each in its own transaction: a rating given (it counts for the dossier's
officers so far and its commune), and a step completed on a dossier already rated (the rating counts
for its officer from then on, unless they had completed another step of it). The second is real:
the result's handover step usually shows the dossier as processed (status 9), and the applicant may
rate before it is done. Nothing else changes who a rating counts for: a rating is given once and
never changed, and a completed step stays completed by whom it was. `recount` counts them again
from the ratings and the steps (`motcua rollups rebuild`, the migration's backfill, the tests).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from datetime import date

from sqlalchemy import Date
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from engine.domain.model import WorkItemState
from engine.store import change_rows
from engine.store.among import among
from engine.store.citizen_records import SatisfactionRecord
from engine.store.citizen_records import SatisfactionRollupRecord
from engine.store.records import WorkItemRecord
from engine.store.rollups import DAY
from engine.store.rollups import MONTH
from engine.store.rollups import local_day
from engine.store.rollups import summed_over_days
from engine.store.rollups import window_ranges

CRITERIA = ("time", "attitude", "information", "result")
#: The counted columns, in the order `window` returns them.
COLUMNS = ("ratings", *(f"satisfied_{c}" for c in CRITERIA), *(f"score_{c}" for c in CRITERIA))
UNIT = ""  # the officer name of a commune's own row
ALL = 0  # the definition_id of the rows that count every procedure

Key = tuple[int, str, date, str, str]  # (definition id or ALL, grain, day, commune, officer)


def counts_of(rating) -> dict[str, int]:
    """What one rating adds to each row it counts in."""
    scores = {c: getattr(rating, f"{c}_score") for c in CRITERIA}
    return {
        "ratings": 1,
        **{f"satisfied_{c}": int(s >= 1) for c, s in scores.items()},
        **{f"score_{c}": s for c, s in scores.items()},
    }


# -- kept in the change's transaction --------------------------------------------------------------------


def record_rating(session: Session, rating: SatisfactionRecord) -> None:
    """A rating given: counted for its commune and every officer who completed a step of the
    dossier so far (read in the upsert itself), on its day and month, for every procedure and its
    template version.

    The dossier's version moves first, with its `rated` flag: a step completed at the same moment (the handover while
    the applicant rates at the desk) then either committed before this reads its officers, or
    loses its race on the dossier and runs again from a fresh read that sees the rating. Without
    it each could miss the other on PostgreSQL: the completion's one statement reads the ratings
    as they were when it began, even after waiting for the dossier's row."""
    day = local_day(rating.rated_at)
    connection = session.connection()
    connection.execute(_RATED, {"dossier_id": rating.dossier_id})
    connection.execute(
        _UPSERT_RATING,
        {
            "dossier_id": rating.dossier_id,
            "definition_id": rating.definition_id,
            "unit_code": rating.unit_code,
            "day": day,
            "month": day.replace(day=1),
            **counts_of(rating),
        },
    )


def record_step_completed(session: Session, item: WorkItemRecord) -> None:
    """A step of a rated dossier (`dossier.rated`, which the caller checks: most are not rated
    and need no statement) completed: when the officer had completed no other step of it, the
    rating counts for them from now on. On PostgreSQL it runs inside the change's rows' one statement (no round trip
    of its own); it is registered after the officers' KPI upsert and writes no row for a dossier
    not rated, so no upsert may be chained after it (engine.store.change_rows runs each after the
    one before, on the rows it returns)."""
    params = {"dossier_id": item.dossier_id, "item_id": item.id or 0, "username": item.completed_by}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        change_rows.with_rows(session, _upsert_step_after, {f"{name}{_APART}": value for name, value in params.items()})
    else:
        connection.execute(_UPSERT_STEP_SQLITE, params)


_ON_CONFLICT = "ON CONFLICT (definition_id, grain, day, unit_code, username) DO UPDATE SET " + ", ".join(
    f"{c} = satisfaction_rollup.{c} + excluded.{c}" for c in COLUMNS
)
_KEY_COLUMNS = "definition_id, grain, day, unit_code, username"


def _upsert_rating():
    # Parameters used in several places are cast alike: PostgreSQL deduces one type for each.
    unit = "CAST(:unit_code AS VARCHAR(16))"
    definitions = "SELECT 0 AS definition_id UNION ALL SELECT CAST(:definition_id AS INTEGER)"
    grains = f"SELECT '{DAY}' AS grain, :day AS day UNION ALL SELECT '{MONTH}', :month"
    whom = (
        "SELECT '' AS username UNION SELECT DISTINCT s.completed_by FROM work_item s "
        f"WHERE s.dossier_id = :dossier_id AND s.state = '{WorkItemState.COMPLETED.value}' "
        "AND s.completed_by IS NOT NULL"
    )
    sql = (
        f"INSERT INTO satisfaction_rollup ({_KEY_COLUMNS}, {', '.join(COLUMNS)}) "
        f"SELECT v.definition_id, g.grain, g.day, {unit}, w.username, {', '.join(':' + c for c in COLUMNS)} "
        f"FROM ({definitions}) AS v CROSS JOIN ({grains}) AS g CROSS JOIN ({whom}) AS w WHERE 1 = 1 "
        f"ORDER BY v.definition_id, g.grain, w.username {_ON_CONFLICT}"
    )
    return text(sql).bindparams(bindparam("day", type_=Date()), bindparam("month", type_=Date()))


_UPSERT_RATING = _upsert_rating()
# The flag tells a later completion of the dossier's steps to count the rating for its officer
# (record_step_completed), without asking the ratings.
_RATED = text("UPDATE dossier SET version = version + 1, rated = :rated WHERE id = :dossier_id").bindparams(rated=True)


def _local_day_sql(column: str, postgres: bool) -> str:
    return f"CAST(({column} AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)" if postgres else f"date({column}, '+7 hours')"


def _month_sql(day: str, postgres: bool) -> str:
    return f"CAST(date_trunc('month', {day}) AS DATE)" if postgres else f"date({day}, 'start of month')"


def _counted_sql(table: str) -> list[str]:
    """The counted columns' values of one rating row `table` (in COLUMNS order)."""
    return [
        "1",
        *(f"CASE WHEN {table}.{c}_score >= 1 THEN 1 ELSE 0 END" for c in CRITERIA),
        *(f"{table}.{c}_score" for c in CRITERIA),
    ]


def _upsert_step(after: str | None, postgres: bool, apart: bool) -> TextClause:
    """The rating's rows for the officer of a just completed step (none when the dossier is not
    rated or the officer had completed another of its steps: the step itself is told apart by its
    id, since on PostgreSQL the statement sees the rows as they were before the change's)."""
    day = _local_day_sql("r.rated_at", postgres)
    officer = "CAST(:username AS VARCHAR(80))"
    other_step = (
        "SELECT 1 FROM work_item s WHERE s.dossier_id = :dossier_id "
        f"AND s.state = '{WorkItemState.COMPLETED.value}' AND s.completed_by = {officer} AND s.id <> :item_id"
    )
    where = f"r.dossier_id = :dossier_id AND {officer} IS NOT NULL AND NOT EXISTS ({other_step})"
    if after is not None:
        where += f" AND EXISTS (SELECT FROM {after})"
    sql = (
        f"INSERT INTO satisfaction_rollup ({_KEY_COLUMNS}, {', '.join(COLUMNS)}) "
        f"SELECT CASE WHEN v.every = 1 THEN {ALL} ELSE r.definition_id END, g.grain, "
        f"CASE WHEN g.grain = '{DAY}' THEN {day} ELSE {_month_sql(day, postgres)} END, r.unit_code, {officer}, "
        f"{', '.join(_counted_sql('r'))} "
        "FROM satisfaction r CROSS JOIN (SELECT 1 AS every UNION ALL SELECT 0) AS v "
        f"CROSS JOIN (SELECT '{DAY}' AS grain UNION ALL SELECT '{MONTH}') AS g WHERE {where} "
        f"ORDER BY v.every DESC, g.grain {_ON_CONFLICT}"
    )
    if after is not None:  # a WITH of engine.store.change_rows' statement
        sql += " RETURNING definition_id"
    if apart:  # named apart from the rows' parameters and every column
        sql = re.sub(r"(?<![:\w]):(\w+)", rf":\1{_APART}", sql)
    return text(sql)


_APART = "_sat"
_UPSERT_STEP_SQLITE = _upsert_step(None, postgres=False, apart=False)


@functools.lru_cache(maxsize=8)
def _upsert_step_after(after: str | None):
    """The step's upsert as engine.store.change_rows runs it on PostgreSQL: after the WITH `after`
    of the change's rows' statement, or on its own (None)."""
    return _upsert_step(after, postgres=True, apart=True)


def _grouped(*expressions: str) -> list[str]:
    """The expressions that are not constants (a constant in a GROUP BY is a column's position or
    an error)."""
    return [e for e in expressions if e not in (str(ALL), "''")]


# -- read -------------------------------------------------------------------------------------------------


def window(session: Session, units, first: date, last: date, definition_ids=None) -> dict[tuple[str, str], list[int]]:
    """COLUMNS summed over the days [first, last), per (commune, officer; '' the commune's own): of
    every procedure, or of the dossiers of some template versions (`definition_ids`: ids or a subquery)."""
    r = SatisfactionRollupRecord
    of_versions = r.definition_id == ALL if definition_ids is None else r.definition_id.in_(definition_ids)
    narrow = lambda query: query.where(of_versions, among(r.unit_code, units))  # noqa: E731
    # Summed in the database over the month and day ranges (one statement, one row a cell).
    query = summed_over_days(r.__table__, ("unit_code", "username"), COLUMNS, window_ranges(first, last), narrow)
    return {(unit, username): [int(n or 0) for n in counts] for unit, username, *counts in session.execute(query)}


def per_officer(cells: dict[tuple[str, str], list[int]]) -> dict[str, list[int]]:
    """`window`'s cells summed over the communes, per officer (the communes' own rows left out)."""
    summed: dict[str, list[int]] = {}
    for (_unit, username), counts in cells.items():
        if username == UNIT:
            continue
        sums = summed.setdefault(username, [0] * len(counts))
        for i, n in enumerate(counts):
            sums[i] += n
    return summed


# -- recount ----------------------------------------------------------------------------------------------


def recount(connection: Connection) -> dict[Key, list[int]]:
    """The rows the changes should have kept, counted again in Python from the ratings and the
    completed steps: {(definition id or ALL, grain, day, commune, officer): counts in COLUMNS order}."""
    w = WorkItemRecord
    officers: dict[int, set[str]] = defaultdict(set)
    steps = select(w.dossier_id, w.completed_by).where(
        w.state == WorkItemState.COMPLETED.value, w.completed_by.is_not(None)
    )
    for dossier_id, who in connection.execute(steps):
        officers[dossier_id].add(str(who))
    rows: dict[Key, list[int]] = defaultdict(lambda: [0] * len(COLUMNS))
    for rating in connection.execute(select(*SatisfactionRecord.__table__.c)):
        counts = counts_of(rating)
        day = local_day(rating.rated_at)
        for grain, key in ((DAY, day), (MONTH, day.replace(day=1))):
            for definition in (ALL, rating.definition_id):
                for who in (UNIT, *officers[rating.dossier_id]):
                    row = rows[(definition, grain, key, rating.unit_code, who)]
                    for i, column in enumerate(COLUMNS):
                        row[i] += counts[column]
    return dict(rows)


def kept_rows(connection: Connection) -> dict[Key, list[int]]:
    """The rows as kept (without all-zero ones), in `recount`'s shape."""
    r = SatisfactionRollupRecord
    found = {}
    query = select(r.definition_id, r.grain, r.day, r.unit_code, r.username, *(r.__table__.c[c] for c in COLUMNS))
    for definition, grain, day, unit, who, *counts in connection.execute(query):
        if any(counts):
            found[(definition, grain, day, unit, who)] = [int(n) for n in counts]
    return found


def rebuild(connection: Connection) -> int:
    """Replace every row by a recount in SQL (the day rows of the officers and of the communes, for
    every procedure and per version, then the month rows summed from them); returns the number of
    day rows of every procedure."""
    postgres = connection.dialect.name == "postgresql"
    connection.execute(delete(SatisfactionRollupRecord))
    day = _local_day_sql("r.rated_at", postgres)
    counted = ", ".join(f"SUM({value})" for value in _counted_sql("r"))
    # A rating once per officer however many of its dossier's steps they completed.
    officers = (
        f"SELECT DISTINCT w.dossier_id, w.completed_by FROM satisfaction x JOIN work_item w ON w.dossier_id = "
        f"x.dossier_id WHERE w.state = '{WorkItemState.COMPLETED.value}' AND w.completed_by IS NOT NULL"
    )
    sources = {
        "o.completed_by": f"satisfaction r JOIN ({officers}) AS o ON o.dossier_id = r.dossier_id",
        "''": "satisfaction r",
    }
    for who, source in sources.items():
        for version in (str(ALL), "r.definition_id"):
            connection.execute(
                text(
                    f"INSERT INTO satisfaction_rollup ({_KEY_COLUMNS}, {', '.join(COLUMNS)}) "
                    f"SELECT {version}, '{DAY}', {day}, r.unit_code, {who}, {counted} FROM {source} "
                    f"GROUP BY {', '.join(_grouped(version, day, 'r.unit_code', who))}"
                )
            )
    month = _month_sql("day", postgres)
    connection.execute(
        text(
            f"INSERT INTO satisfaction_rollup ({_KEY_COLUMNS}, {', '.join(COLUMNS)}) "
            f"SELECT definition_id, '{MONTH}', {month}, unit_code, username, "
            f"{', '.join(f'SUM({c})' for c in COLUMNS)} FROM satisfaction_rollup WHERE grain = '{DAY}' "
            f"GROUP BY definition_id, {month}, unit_code, username"
        )
    )
    return connection.execute(
        text(f"SELECT COUNT(*) FROM satisfaction_rollup WHERE grain = '{DAY}' AND definition_id = {ALL}")
    ).scalar_one()
