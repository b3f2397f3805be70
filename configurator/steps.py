"""Completing a step from a clerk's form: the submission is checked against the step's form
(shipped with the template version) before the engine runs anything."""

from __future__ import annotations

import json
from typing import Any
from typing import Callable

from configurator.forms import validate_submission
from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.services.runtime import Runtime


def form_of(rt: Runtime, definition_id: int, form_key: str | None) -> dict | None:
    """The step's form in its template version, or None when the step has none."""
    if not form_key:
        return None
    text = definitions.template_files(rt, definition_id).get(f"forms/{form_key}.json")
    return json.loads(text) if text else None


def complete_step(rt: Runtime, work_item_id: int, actor: Actor, submitted: dict[str, Any], *,
                  expected_version: int | None = None, seen_by: Callable[[str], bool] | None = None,
                  answer: dossiers.Answer | None = None):
    """Check the submission against the step's form (FormError names each wrong field) and complete
    the step, in the engine's one transaction (the form itself is read from memory)."""
    def check(session, item, dossier, data: dict) -> dict:
        form = _form_in(rt, session, dossier.definition_id, item.form_key)
        return validate_submission(form, data) if form is not None else data

    return dossiers.complete_work_item(rt, work_item_id, actor, submitted, expected_version=expected_version,
                                       check=check, seen_by=seen_by, answer=answer)


def _form_in(rt: Runtime, session, definition_id: int, form_key: str | None) -> dict | None:
    files = rt.template_files(session, definition_id) if form_key else None
    text = files.get(f"forms/{form_key}.json") if files else None
    return json.loads(text) if text else None
