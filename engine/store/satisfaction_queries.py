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
from engine.store.statistics import Scope

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


def _in_scope(query, scope: Scope):
    r = SatisfactionRecord
    query = query.where(r.unit_code.in_(scope.units), r.rated_at >= scope.start, r.rated_at < scope.end)
    if scope.procedure:
        query = query.join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == r.definition_id).where(
            ProcessDefinitionRecord.key == scope.procedure
        )
    return query


def by_commune(session: Session, scope: Scope) -> list[SatisfactionRow]:
    r = SatisfactionRecord
    query = _in_scope(
        select(r.unit_code, UnitRecord.name, *_figures()).join(UnitRecord, UnitRecord.code == r.unit_code), scope
    ).group_by(r.unit_code, UnitRecord.name)
    return sorted((_row(*row) for row in session.execute(query)), key=lambda row: row.label)


def by_procedure(session: Session, scope: Scope) -> list[SatisfactionRow]:
    r, d = SatisfactionRecord, ProcessDefinitionRecord
    query = select(d.key, func.min(d.name), *_figures()).join(d, d.id == r.definition_id)
    query = query.where(r.unit_code.in_(scope.units), r.rated_at >= scope.start, r.rated_at < scope.end)
    if scope.procedure:
        query = query.where(d.key == scope.procedure)
    return sorted((_row(*row) for row in session.execute(query.group_by(d.key))), key=lambda row: row.label)


def by_officer(session: Session, scope: Scope) -> list[SatisfactionRow]:
    """An officer counts every rated dossier in which they completed at least one step. The pairs
    (rating, officer) are read from the ratings in scope through the steps' dossier index, so the
    cost follows the period's ratings, not every step ever completed (which a pairing of the
    distinct officers of all dossiers first made PostgreSQL read whole for one procedure)."""
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
    return sorted((_row(*row) for row in session.execute(query)), key=lambda row: row.label)


def total(session: Session, scope: Scope) -> SatisfactionRow:
    row = session.execute(_in_scope(select(*_figures()), scope)).one()
    return _row("", "", *row)
