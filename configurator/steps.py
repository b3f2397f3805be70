"""Completing a step from a clerk's form: the submission is checked against the step's form
(shipped with the template version) before the engine runs anything."""

from __future__ import annotations

import json
from typing import Any

from configurator.forms import validate_submission
from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.services.runtime import Runtime
from engine.store.records import WorkItemRecord


def form_of(rt: Runtime, definition_id: int, form_key: str | None) -> dict | None:
    """The step's form in its template version, or None when the step has none."""
    if not form_key:
        return None
    text = definitions.template_files(rt, definition_id).get(f"forms/{form_key}.json")
    return json.loads(text) if text else None


def complete_step(rt: Runtime, work_item_id: int, actor: Actor, submitted: dict[str, Any], *,
                  expected_version: int | None = None):
    """Validate against the step's form (FormError names each wrong field), then complete it."""
    with rt.db.read_session() as s:
        item = s.get(WorkItemRecord, work_item_id)
        definition_id = dossiers.definition_of(s, item.dossier_id) if item else None
    form = form_of(rt, definition_id, item.form_key) if item else None
    data = validate_submission(form, submitted) if form is not None else dict(submitted)
    return dossiers.complete_work_item(rt, work_item_id, actor, data, expected_version=expected_version)


def receive_dossier(rt: Runtime, *, reception: dict[str, Any], **start):
    """Reception in one pass (engine.services.dossiers.receive_dossier) with the reception step's
    data checked against its form: FormError names each wrong field and nothing is written."""
    def check(definition_id: int, form_key: str | None, data: dict[str, Any]) -> dict[str, Any]:
        form = form_of(rt, definition_id, form_key)
        return validate_submission(form, data) if form is not None else dict(data)

    return dossiers.receive_dossier(rt, reception=reception, check_reception=check, **start)
