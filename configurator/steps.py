"""Completing a step from a clerk's form: the submission is checked against the step's form
(shipped with the template version) before the engine runs anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from configurator.forms import validate_submission
from engine.domain.assignment import Actor
from engine.services import dossiers
from engine.services.runtime import Runtime


def form_of(rt: Runtime, definition_id: int, form_key: str | None) -> dict | None:
    """The step's form in its template version, or None when the step has none."""
    if not form_key:
        return None
    with rt.db.read_session() as s:
        return rt.step_form(s, definition_id, form_key)


#: Reads a submission's raw fields against the step's form (None: the step has none) into data.
FormReader = Callable[[dict | None], dict[str, Any]]


def complete_step(
    rt: Runtime,
    work_item_id: int,
    actor: Actor,
    submitted: dict[str, Any] | None = None,
    *,
    read_form: FormReader | None = None,
    expected_version: int | None = None,
    seen_by: Callable[[str], bool] | None = None,
    answer: dossiers.Answer | None = None,
):
    """Check the submission against the step's form (FormError names each wrong field) and complete
    the step, in the engine's one transaction: the step and its dossier are read once, there, and
    the form comes from memory (parsed once per template version). `read_form(form)`, when given,
    builds the submission from the request's raw fields with the form in hand (the desk's HTML
    form); else `submitted` is the data."""

    def check(session, item, dossier, data: dict) -> dict:
        form = _form_in(rt, session, dossier.definition_id, item.form_key)
        if read_form is not None:
            data = read_form(form)
        return validate_submission(form, data) if form is not None else data

    return dossiers.complete_work_item(
        rt,
        work_item_id,
        actor,
        submitted or {},
        expected_version=expected_version,
        check=check,
        seen_by=seen_by,
        answer=answer,
    )


def _form_in(rt: Runtime, session, definition_id: int, form_key: str | None) -> dict | None:
    return rt.step_form(session, definition_id, form_key)


def receive_dossier(rt: Runtime, *, reception: dict[str, Any], **start):
    """Reception in one pass (engine.services.dossiers.receive_dossier) with the reception step's
    data checked against its form: FormError names each wrong field and nothing is written."""

    def check(session, definition_id: int, form_key: str | None, data: dict[str, Any]) -> dict[str, Any]:
        form = _form_in(rt, session, definition_id, form_key)
        return validate_submission(form, data) if form is not None else dict(data)

    return dossiers.receive_dossier(rt, reception=reception, check_reception=check, **start)
