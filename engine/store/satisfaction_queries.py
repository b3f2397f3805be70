"""The satisfaction figures the supervisor reads: per commune, per procedure and per officer (each
officer who completed a step of a rated dossier), for ratings given in a period."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer
from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.model import WorkItemState
from engine.store import satisfaction_rollups
from engine.store.citizen_records import SatisfactionRecord
from engine.store.database import Session
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from engine.store.rollups import local_day
from engine.store.statistics import Scope
from engine.store.statistics import definition_ids
from engine.store.statistics import full_names
from engine.store.statistics import unit_names

CRITERIA = satisfaction_rollups.CRITERIA


@dataclass(frozen=True)
class SatisfactionRow:
    """One line: how many ratings, and per criterion the share rated satisfied or very satisfied
    (None without ratings) and the mean score (0–2)."""

    key: str
    label: str
    ratings: int
    satisfied: dict[str, float | None]
    mean: dict[str, float | None]

    @property
    def overall(self) -> float | None:
        """The share of satisfied answers over the four criteria."""
        shares = [v for v in self.satisfied.values() if v is not None]
        return sum(shares) / len(shares) if shares else None


def _figures():
    r = SatisfactionRecord
    return (
        [func.count(distinct(r.id))]
        + [func.sum(func.cast(getattr(r, f"{c}_score") >= 1, Integer)) for c in CRITERIA]
        + [func.sum(getattr(r, f"{c}_score")) for c in CRITERIA]
    )


def _row(key, label, count, *sums) -> SatisfactionRow:
    satisfied_sums, score_sums = sums[: len(CRITERIA)], sums[len(CRITERIA) :]
    return SatisfactionRow(
        str(key),
        label or str(key),
        count,
        {c: (s / count if count else None) for c, s in zip(CRITERIA, satisfied_sums)},
        {c: (s / count if count else None) for c, s in zip(CRITERIA, score_sums)},
    )


def _by_label(row: SatisfactionRow) -> tuple[str, str]:
    """Lines in their labels' order; two officers or communes of one name in their keys'."""
    return row.label, row.key


def _in_scope(query, scope: Scope):
    r = SatisfactionRecord
    query = query.where(r.unit_code.in_(scope.units), r.rated_at >= scope.start, r.rated_at < scope.end)
    if scope.procedure:
        query = query.join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == r.definition_id).where(
            ProcessDefinitionRecord.key == scope.procedure
        )
    return query


def by_commune(session: Session, scope: Scope, *, recount: bool = False) -> list[SatisfactionRow]:
    """Per commune: from the communes' own daily rows, or with `recount` from the ratings."""
    if recount:
        r = SatisfactionRecord
        query = _in_scope(
            select(r.unit_code, UnitRecord.name, *_figures()).join(UnitRecord, UnitRecord.code == r.unit_code), scope
        ).group_by(r.unit_code, UnitRecord.name)
        return sorted((_row(*row) for row in session.execute(query)), key=_by_label)
    per_unit = _communes_own(rolled_up(session, scope))
    names = unit_names(session, per_unit)
    return sorted((_row(unit, names.get(unit), *counts) for unit, counts in per_unit.items()), key=_by_label)


def _communes_own(cells: dict[tuple[str, str], list[int]]) -> dict[str, list[int]]:
    return {
        unit: counts
        for (unit, username), counts in cells.items()
        if username == satisfaction_rollups.UNIT and counts[0]
    }


def by_procedure(session: Session, scope: Scope) -> list[SatisfactionRow]:
    r, d = SatisfactionRecord, ProcessDefinitionRecord
    query = select(d.key, func.min(d.name), *_figures()).join(d, d.id == r.definition_id)
    query = query.where(r.unit_code.in_(scope.units), r.rated_at >= scope.start, r.rated_at < scope.end)
    if scope.procedure:
        query = query.where(d.key == scope.procedure)
    return sorted((_row(*row) for row in session.execute(query.group_by(d.key))), key=_by_label)


def rolled_up(session: Session, scope: Scope) -> dict[tuple[str, str], list[int]]:
    """The ratings' counted columns (satisfaction_rollups.COLUMNS) in scope, per (commune, officer;
    '' the commune's own), from their daily rows."""
    return satisfaction_rollups.window(
        session,
        scope.units,
        local_day(scope.start),
        local_day(scope.end),
        definition_ids(scope.procedure) if scope.procedure else None,
    )


def by_officer(session: Session, scope: Scope, *, recount: bool = False) -> list[SatisfactionRow]:
    """An officer counts every rated dossier in which they completed at least one step: read from
    the daily rows kept as ratings and steps come (engine.store.satisfaction_rollups; over a
    province's year, a few thousand rows instead of every rating paired with its steps), or with
    `recount` from the ratings and the steps themselves, which the rows must always equal."""
    if recount:
        return _by_officer_from_ratings(session, scope)
    per_officer = satisfaction_rollups.per_officer(rolled_up(session, scope))
    names = full_names(session, per_officer)
    rows = (_row(username, names[username], *counts) for username, counts in per_officer.items() if counts[0])
    return sorted(rows, key=_by_label)


def _by_officer_from_ratings(session: Session, scope: Scope) -> list[SatisfactionRow]:
    """The pairs (rating, officer) read from the ratings in scope through the steps' dossier index,
    so the cost follows the period's ratings, not every step ever completed."""
    r, w = SatisfactionRecord, WorkItemRecord
    handled = (
        _in_scope(select(r.id.label("rating_id"), w.completed_by), scope)
        .join(w, w.dossier_id == r.dossier_id)
        .where(w.state == WorkItemState.COMPLETED.value, w.completed_by.is_not(None))
        .distinct()
        .subquery()
    )
    query = (
        select(handled.c.completed_by, func.min(UserRecord.full_name), *_figures())
        .select_from(handled)
        .join(r, r.id == handled.c.rating_id)
        .outerjoin(UserRecord, UserRecord.username == handled.c.completed_by)
        .group_by(handled.c.completed_by)
    )
    return sorted((_row(*row) for row in session.execute(query)), key=_by_label)


def total(session: Session, scope: Scope, *, recount: bool = False) -> SatisfactionRow:
    """Every rating in scope once: the communes' own daily rows summed, or with `recount` the ratings."""
    if recount:
        return _row("", "", *session.execute(_in_scope(select(*_figures()), scope)).one())
    summed = [0] * len(satisfaction_rollups.COLUMNS)
    for counts in _communes_own(rolled_up(session, scope)).values():
        summed = [a + b for a, b in zip(summed, counts)]
    return _row("", "", *summed)
