"""What the one-stop office's printed forms for one dossier say, read from its rows and audit log:
receipt and appointment, supplement request, refusal, apology and new appointment, control slip
(every hand-over: giver, receiver, times, early / on time / late) and the dossier log entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from engine.domain import deadlines
from engine.domain import decisions
from engine.domain.model import WorkItemState
from engine.services.runtime import Runtime
from engine.store import dossier_queries
from engine.store import people_queries
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord

#: Decisions in the library's forms (`ket_qua`) that the supplement and refusal forms record.
SUPPLEMENT_DECISIONS = decisions.SUPPLEMENT_DECISIONS
REFUSAL_DECISIONS = decisions.REFUSAL_DECISIONS


@dataclass(frozen=True)
class ControlRow:
    """One hand-over of the control slip."""

    step: str
    giver: str | None
    receiver: str | None
    received_at: datetime
    due_at: datetime | None
    handed_over_at: datetime | None
    classification: str | None  # early | on_time | late; for an open step, late once past due


@dataclass(frozen=True)
class Decision:
    """A step's outcome that asked for a supplement or refused: who, when, and what it said."""

    step: str
    by: str | None
    at: datetime | None
    text: str | None
    outcome: dict


@dataclass(frozen=True)
class DossierPapers:
    view: dossier_queries.DossierView
    steps: list[WorkItemRecord]
    history: list[AuditEventRecord]
    control: list[ControlRow]
    supplement: Decision | None
    refusal: Decision | None
    received_by: str | None  # who signs the receipt: the desk's officer, else whoever started it (API)
    reappointed_by: str | None
    reappointed_at: datetime | None  # when the apology letter was issued
    names: dict[str, str]
    tz: ZoneInfo  # the unit's: every date on its forms is local


def papers(rt: Runtime, dossier_id: int) -> DossierPapers | None:
    with rt.db.read_session() as s:
        view = dossier_queries.dossier_view(s, dossier_id)
        if view is None:
            return None
        steps = dossier_queries.dossier_steps(s, dossier_id)
        history = dossier_queries.dossier_history(s, dossier_id)
        calendar = rt.calendars.for_unit(s, view.dossier.unit_code)
        names = people_queries.full_names(
            s,
            [e.actor for e in history]
            + [e.giver for e in history]
            + [e.receiver for e in history]
            + [w.completed_by for w in steps],
        )
    now = rt.clock.now()
    start = next((e for e in history if e.action == "start"), None)
    reappoint = next((e for e in reversed(history) if e.action == "reappoint"), None)
    received_by = (view.dossier.applicant or {}).get("received_by") or (start.actor if start else None)
    return DossierPapers(
        view,
        steps,
        history,
        control_rows(steps, history, calendar, now),
        last_decision(steps, SUPPLEMENT_DECISIONS, decisions.SUPPLEMENT_TEXT_FIELDS),
        last_decision(steps, REFUSAL_DECISIONS, decisions.REFUSAL_TEXT_FIELDS),
        received_by,
        reappoint.actor if reappoint else None,
        reappoint.at if reappoint else None,
        names,
        calendar.tz,
    )


def control_rows(
    steps: list[WorkItemRecord], history: list[AuditEventRecord], calendar, now: datetime
) -> list[ControlRow]:
    """Each step with who handed it over (the hand-over event that created it) and who took it."""
    givers = {e.work_item_id: e.giver for e in history if e.action == "handover" and e.work_item_id}
    rows = []
    for step in steps:
        if step.state == WorkItemState.CANCELLED.value:
            continue
        verdict = step.classification
        if verdict is None and step.due_at is not None and step.completed_at is None and now > step.due_at:
            verdict = deadlines.classify(calendar, step.due_at, now)[0].value
        rows.append(
            ControlRow(
                step.name,
                givers.get(step.id),
                step.completed_by or step.assignee or step.role,
                step.created_at,
                step.due_at,
                step.completed_at,
                verdict,
            )
        )
    return rows


def last_decision(steps: list[WorkItemRecord], wanted: frozenset[str], text_fields: tuple[str, ...]):
    """The latest completed step whose decision is one of `wanted`, with what it said."""
    for step in reversed(steps):
        outcome = step.outcome or {}
        decision = outcome.get(decisions.DECISION_KEY)
        if step.state == WorkItemState.COMPLETED.value and isinstance(decision, str) and decision in wanted:
            return Decision(
                step.name, step.completed_by, step.completed_at, decisions.decision_text(outcome, text_fields), outcome
            )
    return None
