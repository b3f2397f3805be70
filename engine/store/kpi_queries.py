"""The officers' KPIs read for a report (engine.domain.kpi says what each counts): the tables per
officer and per commune from the daily rollups (engine.store.officer_rollups), and the lists
behind each figure of one officer, read from the steps and the audit log themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain import kpi
from engine.domain.model import WorkItemState
from engine.store import officer_rollups
from engine.store import rollups
from engine.store import satisfaction_queries
from engine.store import satisfaction_rollups
from engine.store import statistics
from engine.store.among import among
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from engine.store.statistics import Scope
from engine.store.statistics import full_names
from engine.store.statistics import unit_names

#: The figures of one officer that have a list behind them (the drill-down's `chi_so`).
STEP_FIGURES = ("steps", "step_early", "step_on_time", "step_late", "step_no_deadline", "supplements", "dossiers")
EVENT_FIGURES = {"returns_caused": "return", "reassigned": "reassign", "apologies": "reappoint"}
FIGURES = STEP_FIGURES + tuple(EVENT_FIGURES)


@dataclass(frozen=True)
class KpiTables:
    officers: list[kpi.Kpi]
    units: list[kpi.Kpi]
    total: kpi.Kpi


def tables(session: Session, scope: Scope) -> KpiTables:
    """Per officer (by full name) and per commune of the scope, for its days (local midnight to
    local midnight: the report's filters always give such a period); of one procedure's dossiers
    when the scope names one."""
    cells = officer_rollups.window(
        session,
        scope.units,
        rollups.local_day(scope.start),
        rollups.local_day(scope.end),
        statistics.definition_ids(scope.procedure) if scope.procedure else None,
    )
    units = {code: kpi.Kpi(code, name) for code, name in unit_names(session, scope.units).items()}
    officers: dict[str, kpi.Kpi] = {}
    officer_units: dict[str, set[str]] = {}
    total = kpi.Kpi("", "")
    for (unit, username), counts in cells.items():
        row = units.setdefault(unit, kpi.Kpi(unit, unit))
        if username == officer_rollups.UNIT:
            row.counts["dossiers"] += counts[0]
            row.counts["apologies"] += counts[kpi.COLUMNS.index("apologies")]
            total.counts["dossiers"] += counts[0]
            total.counts["apologies"] += counts[kpi.COLUMNS.index("apologies")]
            continue
        officers.setdefault(username, kpi.Kpi(username, username)).add(counts)
        officer_units.setdefault(username, set()).add(unit)
        unit_share = [0, *counts[1:]]  # a unit's dossiers and letters are its own row's
        unit_share[kpi.COLUMNS.index("apologies")] = 0
        row.add(unit_share)
        total.add(unit_share)
    names = full_names(session, officers)
    for username, row in officers.items():
        row.name = names[username]
        row.unit = ", ".join(sorted(units[u].name for u in officer_units[username]))
    _add_satisfaction(session, scope, officers, units)
    ordered = sorted(officers.values(), key=lambda r: (-(r.steps_done + r.step_no_deadline), r.name, r.key))
    return KpiTables(ordered, sorted(units.values(), key=lambda r: r.name), total)


@dataclass(frozen=True)
class StepLine:
    dossier_code: str
    unit: str
    step: str
    created_at: datetime
    completed_at: datetime
    classification: str | None
    margin_minutes: int | None
    working_minutes: int | None
    supplement: bool


@dataclass(frozen=True)
class EventLine:
    at: datetime
    dossier_code: str
    unit: str
    step: str | None
    actor: str
    reason: str | None


def _add_satisfaction(session: Session, scope: Scope, officers: dict[str, kpi.Kpi], units: dict[str, kpi.Kpi]) -> None:
    """Citizens' ratings beside the figures (Decision 766's four criteria, each 0-2): the mean score
    of the dossiers rated in the period that an officer completed a step of, and of each commune's;
    read from their daily rows (engine.store.satisfaction_rollups), as the other figures."""
    cells = satisfaction_queries.rolled_up(session, scope)
    for (unit, username), counts in cells.items():
        if username == satisfaction_rollups.UNIT and unit in units:
            units[unit].satisfaction = mean_score(counts)
    for username, counts in satisfaction_rollups.per_officer(cells).items():
        if username in officers:
            officers[username].satisfaction = mean_score(counts)


def mean_score(counts: list[int]) -> float | None:
    """The mean score (0-2) over the four criteria of rows summed in satisfaction_rollups.COLUMNS
    order; None without ratings."""
    ratings = counts[0]
    if not ratings:
        return None
    scores = counts[1 + len(satisfaction_rollups.CRITERIA) :]
    means = [score / ratings for score in scores]
    return round(sum(means) / len(means), 2)


def officer_steps(
    session: Session, scope: Scope, username: str, figure: str = "steps", limit: int = 500
) -> list[StepLine]:
    """The steps behind one of the officer's step figures in the period, oldest first."""
    w, d = WorkItemRecord, DossierRecord
    query = (
        select(
            d.code,
            w.unit_code,
            w.name,
            w.created_at,
            w.completed_at,
            w.classification,
            w.margin_minutes,
            w.working_minutes,
            w.outcome,
            w.dossier_id,
            w.id,
        )
        .join(d, d.id == w.dossier_id)
        .where(
            w.state == WorkItemState.COMPLETED.value,
            w.completed_by == username,
            w.completed_at >= scope.start,
            w.completed_at < scope.end,
            w.unit_code.in_(sorted(scope.units)),
        )
        .order_by(w.completed_at, w.id)
    )
    if scope.procedure:
        query = query.where(d.definition_id.in_(statistics.definition_ids(scope.procedure)))
    if figure in ("step_early", "step_on_time", "step_late"):
        query = query.where(w.classification == figure.removeprefix("step_"))
    elif figure == "step_no_deadline":
        query = query.where(w.classification.is_(None))
    rows = session.execute(query).all()
    if figure == "supplements":
        rows = [r for r in rows if officer_rollups.asked_supplement(r[8])]
    elif figure == "dossiers":
        rows = [r for r in rows if _first_by(session, username, r[9], r[1]) == r[10]]
    names = unit_names(session, {r[1] for r in rows})
    return [
        StepLine(
            code,
            names.get(unit, unit),
            step,
            created,
            completed,
            classification,
            margin,
            minutes,
            officer_rollups.asked_supplement(outcome),
        )
        for code, unit, step, created, completed, classification, margin, minutes, outcome, _d, _i in rows[:limit]
    ]


def _first_by(session: Session, username: str, dossier_id: int, unit: str) -> int | None:
    """The officer's first completed step of the dossier in the unit (where it counts as handled)."""
    w = WorkItemRecord
    return session.scalar(
        select(w.id)
        .where(
            w.dossier_id == dossier_id,
            w.state == WorkItemState.COMPLETED.value,
            w.completed_by == username,
            w.unit_code == unit,
        )
        .order_by(w.completed_at, w.id)
        .limit(1)
    )


def officer_events(session: Session, scope: Scope, username: str, figure: str, limit: int = 500) -> list[EventLine]:
    """The returns, reassignments or apology letters counted against the officer in the period."""
    a, d, w = AuditEventRecord, DossierRecord, WorkItemRecord
    action = EVENT_FIGURES[figure]
    unit = d.unit_code if action == "reappoint" else w.unit_code
    query = (
        select(a.at, d.code, unit, w.name, a.actor, a.detail)
        .join(d, d.id == a.dossier_id)
        .outerjoin(w, and_(w.id == a.work_item_id))
        .where(
            among(a.action, (action,)),
            statistics.IN_PERIOD_INDEX,
            a.at >= scope.start,
            a.at < scope.end,
            unit.in_(sorted(scope.units)),
        )
        .order_by(a.at, a.id)
    )
    if scope.procedure:
        query = query.where(d.definition_id.in_(statistics.definition_ids(scope.procedure)))
    key = {
        "return": officer_rollups.CAUSED_BY,
        "reassign": officer_rollups.TAKEN_FROM,
        "reappoint": officer_rollups.LATE_OFFICERS,
    }[action]
    lines = []
    for at, code, unit_code, step, actor, detail in session.execute(query):
        named = (detail or {}).get(key)
        if named == username or (isinstance(named, list) and username in named):
            lines.append((at, code, unit_code, step, actor, (detail or {}).get("reason")))
    names = unit_names(session, {line[2] for line in lines})
    return [
        EventLine(at, code, names.get(u, u), step, actor, reason) for at, code, u, step, actor, reason in lines[:limit]
    ]
