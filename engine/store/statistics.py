"""The supervisor's SLA statistics: counts, drill-down lists, the escalation log and the open
dossiers an at-risk projection starts from. All aggregation runs in SQL (one grouped query per
table, CASE sums that SQLite and PostgreSQL both run), never by loading dossiers into Python.

What each figure means is engine.domain.figures (names, meanings, the balance they keep); this
module holds their SQL. A figure's condition is one function (`bucket_condition`), used both by
the counts and by the drill-down lists, so a number and the list behind it cannot disagree.
Completed dossiers keep the classification and margin the engine stored when they finished
(history is never recomputed); "paused" is read from the pause periods the engine records, so a
period that ended in the past sees the dossiers that were waiting then, not the ones waiting now.

The tables of a period from local midnight to local midnight (every report's) are read from the
daily rollups of engine.store.rollups plus the open dossiers (a few tens of thousands among
millions, through a partial index), so their cost does not grow with the years of dossiers kept;
the direct count over the dossiers (`tables(..., recount=True)`) stays the reference the rollups are
tested against, and answers any other period. The drill-down lists always read the dossiers.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from datetime import time
from operator import add

from sqlalchemy import BigInteger
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy import union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from engine.domain import figures as definitions
from engine.domain.figures import CLASSIFICATIONS
from engine.domain.figures import Figures
from engine.domain.model import OPEN_RUN_STATES
from engine.domain.model import OPEN_STATES
from engine.domain.model import RunState
from engine.domain.model import WorkItemState
from engine.store import officer_rollups
from engine.store import open_stock
from engine.store import rollups
from engine.store.among import among
from engine.store.records import PERIOD_ACTIONS
from engine.store.records import AuditEventRecord
from engine.store.records import DossierPauseRecord
from engine.store.records import DossierRecord
from engine.store.records import FigureRollupRecord
from engine.store.records import OpenStockRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord

#: Audit actions the SLA sweep writes (engine.services.sla): a level fired, or an apology asked.
SLA_ACTIONS = ("sla_warning", "sla_breach", "sla_escalation", "apology_requested")
BUCKETS = definitions.LISTABLE
#: The pause kinds the engine records when a dossier enters a paused status (engine.services.projection).
PAUSE_KINDS = open_stock.PAUSE_KINDS


@dataclass(frozen=True)
class Scope:
    """What a report covers: communes (already limited to what the viewer may see), the period
    [start, end) as aware instants, and optionally one procedure (process definition key)."""

    units: frozenset[str]
    start: datetime
    end: datetime
    procedure: str | None = None

    def as_of(self, now: datetime) -> datetime:
        """The instant open dossiers are read at: the period's end, or now if that is earlier."""
        return min(self.end, now)

    def narrowed(self, unit: str | None = None, procedure: str | None = None) -> Scope:
        units = self.units & {unit} if unit else self.units
        return replace(self, units=frozenset(units), procedure=procedure or self.procedure)


@dataclass(frozen=True)
class Row:
    """One line of a per-commune or per-procedure table: the key the filters use (commune code,
    template key), the name, the figures, and the code a report shows (the commune code, the
    procedure's code in the national catalogue)."""

    key: str
    label: str
    figures: Figures
    code: str


@dataclass(frozen=True)
class OfficerRow:
    """The steps one officer completed in the period (engine.domain.figures.STEP_FIGURES)."""

    username: str
    full_name: str  # the account's full name, or its user name when it has none
    step_early: int
    step_on_time: int
    step_late: int
    steps_without_deadline: int

    @property
    def steps_done(self) -> int:
        return self.step_early + self.step_on_time + self.step_late

    @property
    def step_on_time_rate(self) -> float | None:
        return (self.step_early + self.step_on_time) / self.steps_done if self.steps_done else None


@dataclass(frozen=True)
class DossierLine:
    id: int
    code: str
    procedure: str
    unit: str
    received_at: datetime
    appointment_at: datetime | None
    completed_at: datetime | None
    status: int
    run_state: str
    classification: str | None
    margin_minutes: int | None
    channel: str


@dataclass(frozen=True)
class EscalationLine:
    at: datetime
    action: str
    level: int | None
    dossier_code: str
    unit: str
    step: str | None
    action_taken: str | None
    notified: tuple[str, ...]


@dataclass(frozen=True)
class OpenStep:
    element_id: str
    name: str
    due_at: datetime | None
    budget_minutes: int | None
    budget_group: str | None


@dataclass
class OpenDossier:
    """An open dossier with its appointment still ahead, and its open steps: what the at-risk
    projection needs, read in two queries."""

    id: int
    code: str
    definition_id: int
    unit_code: str
    unit: str
    procedure: str
    status: int
    received_at: datetime
    appointment_at: datetime
    overrides: dict | None
    re_appointed: bool
    # The SLA sweep's forecast that it misses (Forecast.as_detail, made_at), if one was made since
    # the dossier last changed; None when its forecast is due.
    missed_forecast: dict | None = None
    steps: list[OpenStep] = field(default_factory=list)


# -- conditions --------------------------------------------------------------------------------------


def bucket_condition(bucket: str, scope: Scope, now: datetime) -> ColumnElement[bool]:
    """The SQL condition of a figure (engine.domain.figures); raises ValueError for an unknown one."""
    d = DossierRecord
    as_of = scope.as_of(now)
    finished_in_period = and_(d.completed_at >= scope.start, d.completed_at < scope.end)
    # Nothing finishes after now, so "not finished before the end" also reads an ongoing period.
    open_at_end = and_(d.received_at < scope.end, or_(d.completed_at.is_(None), d.completed_at >= scope.end))
    received = and_(d.received_at >= scope.start, d.received_at < scope.end)
    conditions = {
        "carried_over": and_(d.received_at < scope.start, or_(d.completed_at.is_(None), d.completed_at >= scope.start)),
        "received": received,
        **_open_stock(open_at_end, as_of),
        "done": and_(finished_in_period, d.classification.in_(CLASSIFICATIONS)),
        "withdrawn_stopped": and_(finished_in_period, d.classification.is_(None)),
    }
    for channel in definitions.CHANNELS:
        conditions[f"received_{channel}"] = and_(received, d.channel == channel)
    for name in CLASSIFICATIONS:
        conditions[name] = and_(finished_in_period, d.classification == name)
    if bucket not in conditions:
        raise ValueError(f"unknown bucket {bucket!r}")
    return conditions[bucket]


def _waiting_at(instant: datetime) -> ColumnElement[bool]:
    """Whether the dossier was waiting for the applicant at an instant: a pause of a counted kind going
    on then (correlated: a page of a list looks up its own dossiers' pauses by their index, and a
    count over every dossier runs it as one semi-join)."""
    p = DossierPauseRecord
    return (
        select(p.id)
        .where(
            p.dossier_id == DossierRecord.id,
            p.kind.in_(PAUSE_KINDS),
            p.started_at <= instant,
            or_(p.ended_at.is_(None), p.ended_at > instant),
        )
        .exists()
    )


def _in_scope(query, scope: Scope):
    """Communes, procedure, and only dossiers that can touch the range: received before its end,
    and not finished before its start."""
    d = DossierRecord
    query = query.where(
        among(d.unit_code, scope.units),
        d.received_at < scope.end,
        or_(d.received_at >= scope.start, d.completed_at.is_(None), d.completed_at >= scope.start),
    )
    return _of_procedure(query, scope)


def _of_procedure(query, scope: Scope):
    """The procedure filter as a subquery on the definition ids: joining process_definition
    instead makes SQLite walk dossiers through the definition index, three times slower."""
    if scope.procedure:
        query = query.where(DossierRecord.definition_id.in_(definition_ids(scope.procedure)))
    return query


def definition_ids(procedure: str):
    """The ids of every template version of a procedure, as a subquery."""
    return select(ProcessDefinitionRecord.id).where(ProcessDefinitionRecord.key == procedure).scalar_subquery()


def _count(condition) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _figure_columns(scope: Scope, now: datetime) -> list:
    return [_count(bucket_condition(name, scope, now)).label(name) for name in definitions.COUNTED]


# -- counts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tables:
    summary: Figures
    communes: list[Row]
    procedures: list[Row]


def tables(session: Session, scope: Scope, now: datetime, *, recount: bool = False) -> Tables:
    """The summary, per-commune and per-procedure tables: from the daily rollups, summed per
    commune and per template version in the database, when the period runs from local midnight to
    local midnight; else (or with `recount`) by counting the dossiers per commune and template
    version (a few thousand groups at most), added up here."""
    if not recount and _rollups_answer(scope):
        per_unit, per_version = _from_rollups(session, scope, now)
    else:
        per_unit, per_version = _added_up(_by_unit_and_version(session, scope, now))
    zeros = (0,) * len(definitions.COUNTED)
    total = [sum(column) for column in zip(*per_unit.values())] if per_unit else list(zeros)
    as_figures = lambda sums: {key: Figures(*values) for key, values in sums.items()}  # noqa: E731
    return Tables(
        Figures(*total),
        _commune_rows(session, scope, as_figures(per_unit)),
        _procedure_rows(session, as_figures(per_version)),
    )


def _added_up(cells: dict[tuple[str, int], tuple[int, ...]]) -> tuple[dict[str, list[int]], dict[int, list[int]]]:
    """Figures per (commune, template version) added up per commune and per template version, as
    lists of ints, column by column in C (map): building thousands of intermediate Figures, or
    adding one number at a time, cost more than the queries."""
    zeros = (0,) * len(definitions.COUNTED)
    per_unit: dict[str, list[int]] = {}
    per_version: dict[int, list[int]] = {}
    for (unit, version), counts in cells.items():
        per_unit[unit] = list(map(add, per_unit.get(unit, zeros), counts))
        per_version[version] = list(map(add, per_version.get(version, zeros), counts))
    return per_unit, per_version


def _by_unit_and_version(session: Session, scope: Scope, now: datetime) -> dict[tuple[str, int], tuple[int, ...]]:
    # Grouping on an expression of the commune, not the bare column, keeps SQLite on one sequential
    # scan; on the column it walks the commune index and reads each row at random, twice as slow
    # at 100,000 dossiers (benchmarks/dashboard.py). The groups are the same either way.
    unit = func.coalesce(DossierRecord.unit_code, "")
    query = select(unit, DossierRecord.definition_id, *_figure_columns(scope, now)).group_by(
        unit, DossierRecord.definition_id
    )
    return {(row[0], row[1]): tuple(int(v) for v in row[2:]) for row in session.execute(_in_scope(query, scope))}


# -- the same cells from the rollups ------------------------------------------------------------------
# Every dossier was received before it closed, so the dossiers open at an instant T are the ones open
# now, plus those closed since T, minus those received since T: open(T) = open now + closed[T, ∞) -
# received[T, ∞). The same trick gives those open at T with their appointment before T: the open ones
# now with such an appointment, plus the closed ones whose appointment was before T and closure at or
# after it, which is (closed with the later of the two days from T on) - (closed with the appointment
# from T on). Paused at T is read from the pauses going on at T (an indexed, short list).

#: Positions of engine.store.rollups.COLUMNS.
_RECEIVED, _CLOSED, _BY_APPOINTMENT, _BY_LATER_DAY = 0, slice(4, 8), 8, 9


def _rollups_answer(scope: Scope) -> bool:
    return scope.start < scope.end and rollups.is_local_midnight(scope.start) and rollups.is_local_midnight(scope.end)


def _from_rollups(session: Session, scope: Scope, now: datetime) -> tuple[dict[str, list[int]], dict[int, list[int]]]:
    """The figures per commune and per template version. Every figure is a sum of the rollups'
    counts with a sign (below), so each count is summed per commune and per template version in
    the database, and only those sums (a province's 126 communes and a few dozen versions) are
    combined here: combining the counts of each (commune, version) cell, about 2,100 of them,
    was most of the dashboard's own time."""
    first, last = rollups.local_day(scope.start), rollups.local_day(scope.end)
    narrow = lambda query: _rollup_scope(query, scope)  # noqa: E731
    table = FigureRollupRecord.__table__
    flow = _per_unit_and_version(
        session, rollups.rows_over_days(table, _CELL, rollups.COLUMNS, rollups.grain_ranges(first, last), narrow)
    )
    ongoing = now < scope.end
    as_of = scope.as_of(now)
    since = (
        {}
        if ongoing
        else _per_unit_and_version(
            session, rollups.rows_over_days(table, _CELL, rollups.COLUMNS, rollups.grain_ranges(last, None), narrow)
        )
    )
    open_now = _open_now(session, scope, as_of)
    paused_then = {} if ongoing else _paused_then(session, scope, as_of)
    groups: dict[Group, tuple[int, ...]] = {}
    for group in flow.keys() | since.keys() | open_now.keys() | paused_then.keys():
        counts, after = flow.get(group, _ZEROS), since.get(group, _ZEROS)
        opened, paused_now, overdue_now, past_appointment = open_now.get(group, (0, 0, 0, 0))
        carried_over = opened + sum(counts[_CLOSED]) + sum(after[_CLOSED]) - counts[_RECEIVED] - after[_RECEIVED]
        if ongoing:
            paused, overdue = paused_now, overdue_now
            open_at_end = opened
        else:
            paused, paused_past_appointment = paused_then.get(group, (0, 0))
            open_at_end = opened + sum(after[_CLOSED]) - after[_RECEIVED]
            overdue = (past_appointment + after[_BY_LATER_DAY] - after[_BY_APPOINTMENT]) - paused_past_appointment
        # In the order of Figures' fields (engine.domain.figures.COUNTED).
        groups[group] = (
            carried_over,
            *counts[: _CLOSED.start],
            open_at_end - paused - overdue,
            overdue,
            paused,
            *counts[_CLOSED],
        )
    per_unit = {str(key): list(values) for (kind, key), values in groups.items() if kind == _UNIT}
    per_version = {int(key): list(values) for (kind, key), values in groups.items() if kind == _VERSION}
    return per_unit, per_version


#: A group the rollups are summed in: a commune's (_UNIT, code) or a template version's (_VERSION, id).
Group = tuple[str, str | int]
_UNIT, _VERSION = "unit", "version"
_CELL = ("unit_code", "definition_id")


def _per_unit_and_version(session: Session, rows) -> dict[Group, list[int]]:
    """`rows` selects (commune, template version, counts...): the counts summed per commune and per
    template version, in one statement: summed per (commune, version) first, those few thousand
    sums then per commune and per version (grouping the rows themselves twice made PostgreSQL
    materialise all of them, the open stock's 43,000: twice the time)."""
    row = rows.subquery()
    unit, version, *counts = row.c
    cells = select(unit, version, *(func.sum(count).label(f"n{i}") for i, count in enumerate(counts)))
    read = cells.group_by(unit, version).cte()
    unit, version, *counts = read.c
    sums = [cast(func.sum(count), BigInteger) for count in counts]
    query = union_all(
        select(unit, cast(null(), Integer), *sums).group_by(unit),
        select(cast(null(), String), version, *sums).group_by(version),
    )
    return {
        ((_VERSION, version_id) if code is None else (_UNIT, code)): [int(n) for n in summed]
        for code, version_id, *summed in session.execute(query)
    }


_ZEROS = [0] * len(rollups.COLUMNS)


def _rollup_scope(query, scope: Scope):
    r = FigureRollupRecord
    query = query.where(among(r.unit_code, scope.units))
    if scope.procedure:
        ids = select(ProcessDefinitionRecord.id).where(ProcessDefinitionRecord.key == scope.procedure)
        query = query.where(r.definition_id.in_(ids.scalar_subquery()))
    return query


def _open_now(session: Session, scope: Scope, as_of: datetime) -> dict[Group, list[int]]:
    """Per commune and per template version, the dossiers open now: how many, waiting for the
    applicant now, overdue at `as_of` (not waiting, appointment passed), and with their appointment
    before `as_of` (waiting or not). From the open stock's counts by appointment day, and for the
    day of `as_of` (when it is not a midnight: a period still running) the open dossiers with their
    appointment between its midnight and `as_of`, read along the open dossiers' appointment index."""
    day = rollups.local_day(as_of)
    stock = _per_unit_and_version(session, open_stock.counted_rows(lambda query: _open_stock_scope(query, scope), day))
    if rollups.is_local_midnight(as_of):
        return stock
    d, p = DossierRecord, DossierPauseRecord
    waiting = select(p.id).where(p.dossier_id == d.id, p.ended_at.is_(None), p.kind.in_(PAUSE_KINDS)).exists()
    query = select(d.unit_code, d.definition_id, case((~waiting, 1), else_=0), literal(1)).where(
        d.completed_at.is_(None),
        d.appointment_at >= datetime.combine(day, time(0), rollups.LOCAL),
        d.appointment_at < as_of,
        among(d.unit_code, scope.units),
    )
    due_today = _per_unit_and_version(session, _of_procedure(query, scope))
    for group, (overdue_today, past_today) in due_today.items():
        opened, paused, overdue, past_appointment = stock.get(group, (0, 0, 0, 0))
        stock[group] = [opened, paused, overdue + overdue_today, past_appointment + past_today]
    return stock


def _open_stock_scope(query, scope: Scope):
    o = OpenStockRecord
    query = query.where(among(o.unit_code, scope.units))
    if scope.procedure:
        query = query.where(o.definition_id.in_(definition_ids(scope.procedure)))
    return query


def _paused_then(session: Session, scope: Scope, instant: datetime) -> dict[Group, list[int]]:
    """Per commune and per template version, the dossiers open and waiting for the applicant at a
    past instant, and how many of them had their appointment before it. Read from the pauses going
    on then (driving the query from them: the dossiers are looked up by id)."""
    d, p = DossierRecord, DossierPauseRecord
    waiting = (
        select(p.dossier_id)
        .where(p.kind.in_(PAUSE_KINDS), p.started_at <= instant, or_(p.ended_at.is_(None), p.ended_at > instant))
        .distinct()
        .subquery()
    )
    passed = and_(d.appointment_at.is_not(None), d.appointment_at < instant)
    query = (
        select(d.unit_code, d.definition_id, literal(1), case((passed, 1), else_=0))
        .select_from(waiting)
        .join(d, d.id == waiting.c.dossier_id)
        .where(
            among(d.unit_code, scope.units),
            d.received_at < instant,
            or_(d.completed_at.is_(None), d.completed_at >= instant),
        )
    )
    return _per_unit_and_version(session, _of_procedure(query, scope))


#: The figures of what came in and went out in a period: they need no open stock.
FLOW = ("received", "received_counter", "received_online", "received_post", *CLASSIFICATIONS, "withdrawn_stopped")


def flows(session: Session, scope: Scope, bounds: list[datetime], *, recount: bool = False) -> list[Figures]:
    """The receipts and closures (FLOW; the open stock's figures left at 0) of each consecutive
    period of `bounds` (the scope's dates are not used): from the daily rollups when every bound
    is a local midnight, a whole week's or month's from its own rows when no bound falls inside it
    (a trend by week or by month); else (or with `recount`) by counting the dossiers of each period."""
    periods = list(zip(bounds, bounds[1:]))
    if recount or not all(_rollups_answer(replace(scope, start=start, end=end)) for start, end in periods):
        return [_counted_flow(session, replace(scope, start=start, end=end)) for start, end in periods]
    days = [rollups.local_day(instant) for instant in bounds]
    narrow = lambda query: _rollup_scope(query, scope)  # noqa: E731
    inner = days[1:-1]
    grains = tuple(
        grain
        for grain, starts_one in (
            (rollups.WEEK, lambda day: day.weekday() == 0),
            (rollups.MONTH, lambda day: day.day == 1),
        )
        if all(starts_one(day) for day in inner)
    )
    counted = rollups.by_day(session, days[0], days[-1], narrow, grains)
    sums = [[0] * len(rollups.COLUMNS) for _ in periods]
    for day, counts in counted.items():
        period = bisect_right(days, day) - 1
        for i, n in enumerate(counts):
            sums[period][i] += n
    return [Figures(**{name: period[rollups.COLUMNS.index(name)] for name in FLOW}) for period in sums]


def _counted_flow(session: Session, scope: Scope) -> Figures:
    d = DossierRecord
    columns = [_count(bucket_condition(name, scope, scope.end)).label(name) for name in FLOW]
    query = select(*columns).where(
        among(d.unit_code, scope.units),
        or_(
            and_(d.received_at >= scope.start, d.received_at < scope.end),
            and_(d.completed_at >= scope.start, d.completed_at < scope.end),
        ),
    )
    return Figures(**{name: int(n) for name, n in zip(FLOW, session.execute(_of_procedure(query, scope)).one())})


def summary(session: Session, scope: Scope, now: datetime) -> Figures:
    return tables(session, scope, now).summary


def by_commune(session: Session, scope: Scope, now: datetime) -> list[Row]:
    """One row per commune of the scope, communes without dossiers included (as zeros)."""
    return tables(session, scope, now).communes


def by_procedure(session: Session, scope: Scope, now: datetime) -> list[Row]:
    """One row per procedure that had a dossier in the range (all versions of a template together)."""
    return tables(session, scope, now).procedures


def _commune_rows(session: Session, scope: Scope, per_unit: dict[str, Figures]) -> list[Row]:
    names = unit_names(session, scope.units)
    return [
        Row(code, names.get(code, code), per_unit.get(code, Figures()), code)
        for code in sorted(names, key=lambda c: names[c])
    ]


def _procedure_rows(session: Session, per_version: dict[int, Figures]) -> list[Row]:
    p = ProcessDefinitionRecord
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    per_key: dict[str, Figures] = {}
    query = (
        select(p.id, p.key, p.name, p.procedure_code).where(p.id.in_(sorted(per_version))).order_by(p.version.desc())
    )
    for version, key, name, code in session.execute(query):
        names.setdefault(key, name)  # the newest version's name and code
        if code:
            codes.setdefault(key, code)
        per_key[key] = per_key.get(key, Figures()) + per_version[version]
    rows = [
        Row(key, names[key], figures, codes.get(key, "")) for key, figures in per_key.items() if figures != Figures()
    ]
    return sorted(rows, key=lambda r: (-r.figures.received, r.label))


def by_officer(session: Session, scope: Scope, *, recount: bool = False) -> list[OfficerRow]:
    """Steps completed in the period by each officer, with the classification stored at completion:
    from the officers' daily KPI rollups (engine.store.officer_rollups, every procedure's or one
    procedure's) for whole days, else (or with `recount`) by counting the steps."""
    if not recount and _rollups_answer(scope):
        return _officers_from_rollups(session, scope)
    w = WorkItemRecord
    # A step's commune is its dossier's (engine.services.projection copies it): the dossiers are
    # joined only to filter a procedure, and the steps are read from their completion index.
    query = (
        select(
            w.completed_by,
            *(_count(w.classification == name) for name in CLASSIFICATIONS),
            _count(w.classification.is_(None)),
        )
        .where(
            w.state == WorkItemState.COMPLETED.value,
            w.completed_by.is_not(None),
            w.completed_at >= scope.start,
            w.completed_at < scope.end,
            among(w.unit_code, scope.units),
        )
        .group_by(w.completed_by)
    )
    if scope.procedure:
        query = _of_procedure(query.join(DossierRecord, DossierRecord.id == w.dossier_id), scope)
    counted = list(session.execute(query))
    names = full_names(session, [r[0] for r in counted])
    rows = [OfficerRow(r[0], names[r[0]], *(int(v) for v in r[1:])) for r in counted]
    return sorted(rows, key=lambda r: (-(r.steps_done + r.steps_without_deadline), r.username))


def _officers_from_rollups(session: Session, scope: Scope) -> list[OfficerRow]:
    steps = ("step_early", "step_on_time", "step_late", "step_no_deadline")
    versions = definition_ids(scope.procedure) if scope.procedure else None
    first, last = rollups.local_day(scope.start), rollups.local_day(scope.end)
    summed = officer_rollups.per_officer(session, scope.units, first, last, steps, versions)
    per_officer = {username: counts for username, counts in summed.items() if any(counts)}
    names = full_names(session, list(per_officer))
    rows = [OfficerRow(username, names[username], *counts) for username, counts in per_officer.items()]
    return sorted(rows, key=lambda r: (-(r.steps_done + r.steps_without_deadline), r.username))


def full_names(session: Session, usernames) -> dict[str, str]:
    """Each user's full name; the user name itself when the account has none (or no longer exists)."""
    found = dict(
        session.execute(
            select(UserRecord.username, UserRecord.full_name).where(among(UserRecord.username, set(usernames)))
        ).all()
    )
    return {username: (found.get(username) or "").strip() or username for username in usernames}


# -- lists ----------------------------------------------------------------------------------------------
# Lists select from their own table and look the commune and procedure names up afterwards: joining
# the name tables makes SQLite's planner walk dossiers through the smaller table's index.


#: The figures whose dossiers are open at the period's end.
OPEN_AT_END = ("in_progress", "not_due", "overdue", "paused")


def dossiers(
    session: Session,
    scope: Scope,
    bucket: str,
    now: datetime,
    limit: int = 500,
    after: tuple[datetime | None, int] | None = None,
) -> list[DossierLine]:
    """The dossiers behind one number of the counts, by appointment (those without one last) and id,
    `limit` at a time: `after`, the (appointment, id) of the last one shown, starts the next page
    there (a range of the appointment index, however deep the page)."""
    d = DossierRecord
    query = (
        select(
            d.id,
            d.code,
            d.definition_id,
            d.unit_code,
            d.received_at,
            d.appointment_at,
            d.completed_at,
            d.status,
            d.run_state,
            d.classification,
            d.margin_minutes,
            d.channel,
        )
        .order_by(d.appointment_at.nulls_last(), d.id)
        .limit(limit)
    )
    if bucket in OPEN_AT_END and now < scope.end:
        # Nothing closes after now: those open at the end of a running period are the open ones,
        # read in order from the open dossiers' appointment index. Only the conditions that still
        # select anything are given: the period's bounds, always true of an open dossier, made
        # PostgreSQL expect a few rows and sort every overdue one instead of walking the index.
        query = _of_procedure(query.where(among(d.unit_code, scope.units), _open_now_in(bucket, now)), scope)
    else:
        query = _in_scope(query.where(bucket_condition(bucket, scope, now)), scope)
    if after is not None:
        query = query.where(_after_in_appointment_order(*after, may_lack_one=bucket != "overdue"))
    rows = session.execute(query).all()
    procedures, units = definition_names(session, {r[2] for r in rows}), unit_names(session, {r[3] for r in rows})
    return [DossierLine(r[0], r[1], procedures[r[2]], units[r[3]], *r[4:]) for r in rows]


def _open_now_in(bucket: str, now: datetime) -> ColumnElement[bool]:
    """The condition of an open-stock figure (OPEN_AT_END) over the dossiers open now."""
    return _open_stock(DossierRecord.completed_at.is_(None), now)[bucket]


def _open_stock(open_then: ColumnElement[bool], as_of: datetime) -> dict[str, ColumnElement[bool]]:
    """The open-stock figures (OPEN_AT_END) among the dossiers `open_then` (open at a period's
    end, or open now), as of the instant `as_of`: written once for the counts and the lists."""
    d = DossierRecord
    paused = _waiting_at(as_of)
    in_progress = and_(open_then, ~paused)
    past_appointment = and_(d.appointment_at.is_not(None), d.appointment_at < as_of)
    return {
        "in_progress": in_progress,
        "not_due": and_(in_progress, ~past_appointment),
        "overdue": and_(in_progress, past_appointment),
        "paused": and_(open_then, paused),
    }


def _after_in_appointment_order(appointment: datetime | None, dossier_id: int, *, may_lack_one: bool):
    d = DossierRecord
    if appointment is None:
        return and_(d.appointment_at.is_(None), d.id > dossier_id)
    later = tuple_(d.appointment_at, d.id) > tuple_(literal(appointment, d.appointment_at.type), literal(dossier_id))
    return or_(later, d.appointment_at.is_(None)) if may_lack_one else later


def officer_steps(session: Session, scope: Scope, username: str, limit: int = 500) -> list[tuple]:
    """The steps one officer completed in the range: (dossier code, unit, step, completed, class, margin)."""
    w, d = WorkItemRecord, DossierRecord
    query = (
        select(d.code, d.unit_code, w.name, w.completed_at, w.classification, w.margin_minutes)
        .join(d, d.id == w.dossier_id)
        .where(
            w.state == WorkItemState.COMPLETED.value,
            w.completed_by == username,
            w.completed_at >= scope.start,
            w.completed_at < scope.end,
            among(d.unit_code, scope.units),
        )
        .order_by(w.completed_at)
        .limit(limit)
    )
    rows = session.execute(_of_procedure(query, scope)).all()
    units = unit_names(session, {r[1] for r in rows})
    return [(code, units[unit], *rest) for code, unit, *rest in rows]


#: ix_audit_event_at's condition on SQLite (records.PERIOD_EVENTS_SQLITE) as a term of a report that
#: reads events by period, its values written into the statement: SQLite uses a partial index only
#: for a query holding its condition word for word; PostgreSQL proves its own from the report's
#: actions anyway.
IN_PERIOD_INDEX = or_(
    *(AuditEventRecord.action == bindparam(None, action, literal_execute=True) for action in PERIOD_ACTIONS)
)


def escalations(session: Session, scope: Scope, limit: int = 1000, code: str | None = None) -> list[EscalationLine]:
    """SLA levels fired (warning, breach, escalation) and apologies asked within the range, newest
    first; only one dossier's when `code` is given."""
    a, d, w = AuditEventRecord, DossierRecord, WorkItemRecord
    query = (
        select(a.at, a.action, a.detail, d.code, d.unit_code, w.name)
        .join(d, d.id == a.dossier_id)
        .outerjoin(w, w.id == a.work_item_id)
        .where(
            among(a.action, SLA_ACTIONS),
            IN_PERIOD_INDEX,
            a.at >= scope.start,
            a.at < scope.end,
            among(d.unit_code, scope.units),
        )
        .order_by(a.at.desc(), a.id.desc())
        .limit(limit)
    )
    if code is not None:
        query = query.where(d.code == code)
    rows = session.execute(_of_procedure(query, scope)).all()
    units = unit_names(session, {r[4] for r in rows})
    return [
        EscalationLine(
            at,
            action,
            detail.get("level"),
            code,
            units[unit],
            step,
            detail.get("action_taken"),
            tuple(detail.get("notified") or ()),
        )
        for at, action, detail, code, unit, step in rows
    ]


def open_dossiers(session: Session, scope: Scope, now: datetime) -> list[OpenDossier]:
    """Open dossiers of the scope whose appointment is still ahead, with their open steps."""
    d = DossierRecord
    # `completed_at IS NULL`, implied by the states, reads the open dossiers' partial indexes.
    ahead = (
        among(d.unit_code, scope.units),
        d.run_state.in_(OPEN_RUN_STATES),
        d.completed_at.is_(None),
        d.appointment_at > now,
    )
    return _open_with_steps(session, ahead, lambda query: _of_procedure(query, scope))


def at_risk_candidates(
    session: Session,
    scope: Scope,
    now: datetime,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int | None = None,
) -> list[OpenDossier]:
    """The open dossiers of the scope with their appointment ahead that may miss it now, by
    appointment and id: those the SLA sweep forecast to miss since their last change (with that
    forecast: `missed_forecast`), and those whose forecast is due (`apology_check_at` passed: any
    change to a dossier, or to its calendar, sets it back to the change's instant; a forecast that
    fits sets it to when it stops fitting). Without a worker running, that is every one of them.
    `after` (appointment, id) and `limit` read them a page at a time. The two kinds are read
    apart, each in order along its own index (the stored misses' partial index, migration 0035):
    asked as one condition, PostgreSQL read every open dossier ahead and sorted them."""
    d = DossierRecord
    ahead = [
        among(d.unit_code, scope.units),
        d.run_state.in_(OPEN_RUN_STATES),
        d.appointment_at > now,
    ]
    if after is not None:
        ahead.append(_after_in_appointment_order(*after, may_lack_one=False))
    narrow = lambda query: _of_procedure(query, scope)  # noqa: E731
    # The conditions of the partial indexes first: the open dossiers (by appointment), and among
    # them those the sweep found missing their appointment.
    stored = (d.completed_at.is_(None), d.apology_check_at.is_(None), d.missed_forecast.is_not(None), *ahead)
    due = (d.completed_at.is_(None), d.apology_check_at <= now, *ahead)
    found = _open_with_steps(session, stored, narrow, limit=limit) + _open_with_steps(session, due, narrow, limit=limit)
    return sorted(found, key=lambda dossier: (dossier.appointment_at, dossier.id))[:limit]


def open_dossiers_by_id(session: Session, ids) -> list[OpenDossier]:
    """These dossiers, if running with an appointment, with their open steps (the SLA sweep's batch)."""
    d = DossierRecord
    return _open_with_steps(
        session, (d.id.in_(sorted(ids)), d.run_state == RunState.RUNNING.value, d.appointment_at.isnot(None))
    )


def _open_with_steps(session: Session, conditions, narrow=lambda query: query, limit=None) -> list[OpenDossier]:
    d, w = DossierRecord, WorkItemRecord
    query = (
        select(
            d.id,
            d.code,
            d.definition_id,
            d.unit_code,
            d.status,
            d.received_at,
            d.appointment_at,
            d.overrides,
            d.re_appointment_reason.isnot(None),
            d.apology_check_at,
            d.missed_forecast,
        )
        .where(*conditions)
        .order_by(d.appointment_at, d.id)
        .limit(limit)
    )
    rows = session.execute(narrow(query)).all()
    procedures, units = definition_names(session, {r[2] for r in rows}), unit_names(session, {r[3] for r in rows})
    found = {
        r[0]: OpenDossier(r[0], r[1], r[2], r[3], units[r[3]], procedures[r[2]], *r[4:9], _still_missed(*r[9:]))
        for r in rows
    }
    if not found:
        return []
    steps = select(w.dossier_id, w.element_id, w.name, w.due_at, w.budget_minutes, w.budget_group).where(
        w.state.in_(OPEN_STATES)
    )
    # A page's steps by its ids; a whole list's through the same conditions (no list of ids that long).
    steps = (
        steps.where(w.dossier_id.in_(sorted(found)))
        if limit
        else steps.join(d, d.id == w.dossier_id).where(*conditions)
    )
    for dossier_id, *step in session.execute(steps):
        if dossier_id in found:
            found[dossier_id].steps.append(OpenStep(*step))
    return list(found.values())


def _still_missed(check_at: datetime | None, missed: dict | None) -> dict | None:
    """The stored forecast that missed, unless the dossier changed since (its forecast is due)."""
    return missed if check_at is None else None


@dataclass(frozen=True)
class StepLine:
    name: str
    role: str | None
    state: str
    assignee: str | None
    completed_by: str | None
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    classification: str | None
    margin_minutes: int | None
    escalation_level: int


def dossier_detail(session: Session, code: str, units) -> tuple[DossierLine, list[StepLine]] | None:
    """One dossier of the given communes with its steps in order; None when unknown or out of scope."""
    d, p = DossierRecord, ProcessDefinitionRecord
    row = session.execute(
        select(
            d.id,
            d.code,
            p.name,
            UnitRecord.name,
            d.received_at,
            d.appointment_at,
            d.completed_at,
            d.status,
            d.run_state,
            d.classification,
            d.margin_minutes,
            d.channel,
        )
        .join(p, p.id == d.definition_id)
        .join(UnitRecord, UnitRecord.code == d.unit_code)
        .where(d.code == code, among(d.unit_code, units))
    ).first()
    if row is None:
        return None
    w = WorkItemRecord
    steps = session.execute(
        select(
            w.name,
            w.role,
            w.state,
            w.assignee,
            w.completed_by,
            w.created_at,
            w.due_at,
            w.completed_at,
            w.classification,
            w.margin_minutes,
            w.escalation_level,
        )
        .where(w.dossier_id == row[0])
        .order_by(w.created_at, w.id)
    )
    return DossierLine(*row), [StepLine(*step) for step in steps]


# -- labels ---------------------------------------------------------------------------------------------


def unit_names(session: Session, codes) -> dict[str, str]:
    query = select(UnitRecord.code, UnitRecord.name).where(among(UnitRecord.code, codes))
    return {code: name for code, name in session.execute(query)}


def definition_names(session: Session, ids) -> dict[int, str]:
    query = select(ProcessDefinitionRecord.id, ProcessDefinitionRecord.name).where(
        ProcessDefinitionRecord.id.in_(sorted(ids))
    )
    return {definition_id: name for definition_id, name in session.execute(query)}


def procedures(session: Session) -> list[tuple[str, str]]:
    """(key, name) of every template that has a published or retired version, by name."""
    p = ProcessDefinitionRecord
    rows = session.execute(select(p.key, func.max(p.name)).where(p.status != "draft").group_by(p.key))
    return sorted(((key, name) for key, name in rows), key=lambda kv: kv[1])
