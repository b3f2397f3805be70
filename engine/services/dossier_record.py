"""The dossier as one record, read side: its data (every completed step's form entries with the
form's labels), what a step's form starts with, the proposal a leader decides on, and its files."""

from __future__ import annotations

import json
from typing import Any

from engine.domain import dossier_data
from engine.domain.dossier_data import CompletedStep
from engine.domain.dossier_data import DossierData
from engine.domain.dossier_data import Proposal
from engine.domain.model import WorkItemState
from engine.services import definitions
from engine.services.runtime import Runtime
from engine.store import dossier_queries
from engine.store.database import Session


def completed_steps(session: Session, dossier_id: int) -> list[CompletedStep]:
    """The dossier's completed work items (their outcomes are its data), and the answers other
    agencies' systems sent to its waiting steps (what each message carried, under the step)."""
    return _work_items_done(session, dossier_id) + _answers(session, dossier_id)


def _answers(session: Session, dossier_id: int) -> list[CompletedStep]:
    return [
        CompletedStep(
            None,
            event.element_id or "",
            (event.detail or {}).get("step") or event.element_id or "",
            event.element_id,
            event.actor,
            event.on_behalf_of,
            event.at,
            dict((event.detail or {}).get("payload") or {}),
        )
        for event in dossier_queries.dossier_answers(session, dossier_id)
    ]


def _work_items_done(session: Session, dossier_id: int) -> list[CompletedStep]:
    return [
        CompletedStep(
            w.id,
            w.element_id,
            w.name,
            w.form_key,
            w.completed_by,
            w.on_behalf_of,
            w.completed_at,
            dict(w.outcome or {}),
        )
        for w in dossier_queries.dossier_steps(session, dossier_id)
        if w.state == WorkItemState.COMPLETED.value and w.completed_at is not None
    ]


def forms_of(rt: Runtime, definition_id: int) -> dict[str, dict]:
    """form key -> form, for every form shipped with the template version."""
    return {
        name[len("forms/") : -len(".json")]: json.loads(text)
        for name, text in definitions.template_files(rt, definition_id).items()
        if name.startswith("forms/") and name.endswith(".json")
    }


def data_of(rt: Runtime, dossier_id: int, definition_id: int) -> DossierData:
    with rt.db.read_session() as s:
        steps = completed_steps(s, dossier_id)
    return dossier_data.summary(steps, forms_of(rt, definition_id))


def step_prefill(
    rt: Runtime, dossier_id: int, definition_id: int, element_id: str, form_key: str | None
) -> dict[str, Any]:
    """What a step's form shows when opened: carried-forward values and its own last entry."""
    with rt.db.read_session() as s:
        steps = completed_steps(s, dossier_id)
    return dossier_data.prefill(forms_of(rt, definition_id).get(form_key or ""), element_id, steps)


def proposal_for(rt: Runtime, dossier_id: int, definition_id: int, element_id: str) -> Proposal | None:
    with rt.db.read_session() as s:
        steps = completed_steps(s, dossier_id)
    return dossier_data.proposal(steps, forms_of(rt, definition_id), element_id)
