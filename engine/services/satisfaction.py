"""The applicant's rating of the service once their dossier has its result, on the criteria of the
Decision 766/QĐ-TTg index (time, attitude, information, result), once per dossier."""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain.errors import ConflictError
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.model import DossierStatus
from engine.services.runtime import Runtime
from engine.store import citizen_queries
from engine.store import satisfaction_rollups
from engine.store.citizen_records import SatisfactionRecord

CRITERIA = ("time", "attitude", "information", "result")
#: 0 not satisfied, 1 satisfied, 2 very satisfied (the portal's three answers).
SCORES = (0, 1, 2)
RATEABLE = (DossierStatus.PROCESSED.value, DossierStatus.RESULT_RETURNED.value)
MAX_COMMENT = 1000


@dataclass(frozen=True)
class Rating:
    scores: dict[str, int]
    comment: str | None
    rated_at: object


def rating_of(rt: Runtime, code: str) -> Rating | None:
    with rt.db.read_session() as s:
        row = citizen_queries.rating_of_code(s, code)
        return None if row is None else Rating(_scores(row), row.comment, row.rated_at)


def can_rate(status: int) -> bool:
    return status in RATEABLE


def rate(rt: Runtime, code: str, scores: dict[str, int], comment: str | None = None) -> None:
    """Record the rating; the caller proved it may look at the dossier (code and second factor, or
    the slip's QR token).

    Raises:
        InvalidAction: a criterion missing or out of range (field: the criterion), a comment too
            long (field `comment`), or a dossier without its result yet.
        ConflictError: the dossier was already rated.
    """
    for criterion in CRITERIA:
        if scores.get(criterion) not in SCORES:
            raise InvalidAction("rate '%(criterion)s' as 0, 1 or 2", field=criterion, criterion=criterion)
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise InvalidAction("the comment is over %(limit)s characters", field="comment", limit=MAX_COMMENT)
    try:
        with citizen_queries.unique_or_duplicate(), rt.db.session() as s:
            dossier = citizen_queries.dossier_by_code(s, code)
            if dossier is None:
                raise NotFound("no dossier %(code)s", code=code)
            if not can_rate(dossier.status):
                raise InvalidAction("dossier %(code)s has no result to rate yet", code=code)
            if citizen_queries.is_rated(s, dossier.id):
                raise _already_rated(code)
            rating = SatisfactionRecord(
                dossier_id=dossier.id,
                unit_code=dossier.unit_code,
                procedure_code=dossier.procedure_code,
                definition_id=dossier.definition_id,
                comment=comment,
                rated_at=rt.clock.now(),
                **{f"{criterion}_score": scores[criterion] for criterion in CRITERIA},
            )
            s.add(rating)
            satisfaction_rollups.record_rating(s, rating)
    except citizen_queries.DuplicateRow as race:  # two submissions at once: the unique dossier_id keeps one
        raise _already_rated(code) from race


def _already_rated(code: str) -> ConflictError:
    return ConflictError("dossier %(code)s was already rated", code=code)


def _scores(row: SatisfactionRecord) -> dict[str, int]:
    return {criterion: getattr(row, f"{criterion}_score") for criterion in CRITERIA}
