"""The supervisor's at-risk list, and whether a dossier's leader must issue an apology letter.

Both read the one forecast of engine.services.forecasts (the SLA sweep's too): an open dossier is
at risk when what is left of its open steps and the budgets of the longest path after them, counted
from now in working time, ends after its appointment. Dossiers waiting for the citizen
(supplement, fees) are left out: their clock is stopped and their appointment moves when the wait
ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import time
from datetime import timedelta

from engine.domain.forecast import Forecast
from engine.services.forecasts import Forecaster
from engine.services.runtime import Runtime
from engine.store import kpi_queries
from engine.store import statistics

APOLOGY_DUE = "apology_due"
CANNOT_FIT = "cannot_fit"


@dataclass(frozen=True)
class AtRisk:
    dossier: statistics.OpenDossier
    reasons: tuple[str, ...]
    forecast: Forecast
    forecast_at: datetime  # when the forecast was made (its figures are as of then)

    @property
    def remaining_minutes(self) -> int:
        """Working minutes the remaining steps need from now, at their full budgets."""
        return self.forecast.remaining_minutes

    @property
    def projected_finish(self) -> datetime:
        return self.forecast.projected_finish

    @property
    def minutes_left(self) -> int:
        return self.forecast.minutes_left

    @property
    def shortfall_minutes(self) -> int:
        """Working minutes by which the projection overruns the appointment (0 if it fits)."""
        return max(0, self.remaining_minutes - self.minutes_left)


#: How many candidates the at-risk list reads and projects at a time.
AT_RISK_PAGE = 200


def at_risk(
    rt: Runtime,
    scope: statistics.Scope,
    now: datetime,
    limit: int | None = None,
    after: tuple[datetime, int] | None = None,
) -> list[AtRisk]:
    """Open dossiers of the scope projected to miss their appointment, by appointment and id: the
    first `limit` of them (all without one), from after `after` (the appointment and id of the last
    one a page showed) if given. The ones not yet re-appointed also need the apology letter
    (the appointment moves only once). The SLA sweep's forecasts are read, not made again: those it
    found to miss since their last change are shown with that forecast (a miss stays one until
    the dossier changes; its figures are as of when it was made), those it forecast to fit until
    later are left out (statistics.at_risk_candidates). Only the dossiers whose forecast is due
    (changed since the sweep last looked, or past the instant their work stopped fitting) are
    projected here, so that none is left out or shown on an old forecast while the worker catches
    up. Candidates are read a page at a time, nearest appointment first, until `limit` are found:
    the list's cost follows what it shows and the worker's backlog, not the open stock."""
    found: list[AtRisk] = []
    with rt.db.report_session() as s:
        forecaster = Forecaster(rt, s)
        while limit is None or len(found) < limit:
            # What is still wanted in one read (most candidates are at risk: the stored misses).
            size = AT_RISK_PAGE if limit is None else max(AT_RISK_PAGE, limit - len(found))
            page = statistics.at_risk_candidates(s, scope, now, after=after, limit=size)
            found += _projected_to_miss(forecaster, page, now)
            if len(page) < size:
                break
            after = (page[-1].appointment_at, page[-1].id)
    return found[:limit]


def _projected_to_miss(forecaster: Forecaster, dossiers, now: datetime) -> list[AtRisk]:
    found = []
    for dossier in dossiers:
        if dossier.missed_forecast is not None:
            stored = dossier.missed_forecast
            found.append(
                AtRisk(
                    dossier,
                    _reasons(dossier),
                    Forecast.of_missed(stored, now),
                    datetime.fromisoformat(stored["made_at"]),
                )
            )
            continue
        if forecaster.paused(dossier):
            continue
        outlook = forecaster.of(dossier, now)
        if outlook.misses:
            found.append(AtRisk(dossier, _reasons(dossier), outlook, now))
    return found


def _reasons(dossier: statistics.OpenDossier) -> tuple[str, ...]:
    # Not yet re-appointed: the leader's apology letter is the next thing to do.
    return (CANNOT_FIT,) if dossier.re_appointed else (APOLOGY_DUE,)


def apology_needed(rt: Runtime, session, dossier_id: int, now: datetime) -> Forecast | None:
    """The forecast that makes the leader issue the apology letter with a new appointment now, or
    None: the dossier runs with its clock going, has not been re-appointed (the appointment moves
    only once), and is forecast to miss its appointment (the SLA sweep asks on the same rule)."""
    [dossier] = statistics.open_dossiers_by_id(session, [dossier_id]) or [None]
    if dossier is None or dossier.re_appointed:
        return None
    forecaster = Forecaster(rt, session)
    if forecaster.paused(dossier):
        return None
    outlook = forecaster.of(dossier, now)
    return outlook if outlook.misses else None


# -- the dashboard's tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    summary: statistics.Figures
    communes: list[statistics.Row]
    procedures: list[statistics.Row]
    officers: list[statistics.OfficerRow]
    as_of: datetime  # the instant open dossiers are read at: the period's end, or now if earlier


def dashboard(rt: Runtime, scope: statistics.Scope, now: datetime) -> Dashboard:
    """Every table of the dashboard (engine.domain.figures), read in one session (one snapshot on SQLite)."""
    with rt.db.report_session() as s:
        found = statistics.tables(s, scope, now)
        return Dashboard(
            found.summary, found.communes, found.procedures, statistics.by_officer(s, scope), scope.as_of(now)
        )


def officer_kpis(rt: Runtime, scope: statistics.Scope) -> kpi_queries.KpiTables:
    """The officers' KPIs per officer and per commune for the scope's days (engine.domain.kpi)."""
    with rt.db.report_session() as s:
        return kpi_queries.tables(s, scope)


def officer_kpi_lines(rt: Runtime, scope: statistics.Scope, username: str, figure: str):
    """(officer's full name, the lines behind one of their KPI figures): steps or audit events."""
    with rt.db.report_session() as s:
        name = statistics.full_names(s, [username])[username]
        if figure in kpi_queries.EVENT_FIGURES:
            return name, kpi_queries.officer_events(s, scope, username, figure)
        return name, kpi_queries.officer_steps(s, scope, username, figure)


@dataclass(frozen=True)
class FilterOptions:
    communes: list[tuple[str, str]]  # (code, name) by name
    procedures: list[tuple[str, str]]  # (key, name) by name


def filter_options(rt: Runtime, units) -> FilterOptions:
    with rt.db.report_session() as s:
        names = statistics.unit_names(s, units)
        return FilterOptions(sorted(names.items(), key=lambda kv: kv[1]), statistics.procedures(s))


# -- the trend chart --------------------------------------------------------------------------------

#: Beyond this many weeks the trend is drawn by month: a bar a week would be hair-thin again.
MOST_WEEKS = 26


@dataclass(frozen=True)
class TrendPoint:
    start: datetime  # the week's (or month's) first local midnight, clipped to the period
    by_month: bool
    figures: statistics.Figures  # receipts and closures only (statistics.FLOW): a trend reads no open stock


def trend(rt: Runtime, scope: statistics.Scope) -> list[TrendPoint]:
    """What came in and was finished week by week (Monday to Sunday, in the period's own time zone),
    or month by month when the period is longer than MOST_WEEKS weeks."""
    by_month = (scope.end - scope.start) > timedelta(weeks=MOST_WEEKS)
    bounds = _period_starts(scope.start, scope.end, by_month) + [scope.end]
    with rt.db.report_session() as s:
        return [TrendPoint(start, by_month, found) for start, found in zip(bounds, statistics.flows(s, scope, bounds))]


def _period_starts(start: datetime, end: datetime, by_month: bool) -> list[datetime]:
    starts, day = [start], start.date()
    while True:
        day = (
            (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            if by_month
            else day + timedelta(days=7 - day.weekday())
        )
        instant = datetime.combine(day, time(0), start.tzinfo)
        if instant >= end:
            return starts
        starts.append(instant)
