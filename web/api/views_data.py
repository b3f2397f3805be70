"""Rows turned into the shapes the output schemas dump (the schemas decide what is shown)."""

from __future__ import annotations

from engine.store.dossier_queries import DossierView
from engine.store.dossier_queries import HistoryEvent
from engine.store.dossier_queries import columns_of
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from web.display import STATUS_LABELS_VI

_DOSSIER_COLUMNS = (
    "code",
    "status",
    "run_state",
    "procedure_code",
    "unit_code",
    "applicant_name",
    "applicant",
    "received_at",
    "appointment_at",
    "original_appointment_at",
    "re_appointment_reason",
    "completed_at",
    "classification",
    "margin_minutes",
    "channel",
)
_ITEM_COLUMNS = (
    "id",
    "element_id",
    "name",
    "role",
    "unit_code",
    "state",
    "assignee",
    "owner",
    "delegation_state",
    "priority",
    "form_key",
    "created_at",
    "claimed_at",
    "warn_at",
    "due_at",
    "version",
)


def dossier_payload(view: DossierView) -> dict:
    return dossier_state_payload(view.dossier, view.definition, view.open_items)


def dossier_state_payload(dossier: DossierRecord, definition, open_items: list[WorkItemRecord]) -> dict:
    """A dossier with its template version and open steps: all the API's answer shows of it."""
    return {
        **columns_of(dossier, _DOSSIER_COLUMNS),
        "status_label": STATUS_LABELS_VI.get(dossier.status, str(dossier.status)),
        "template": {
            "definition_id": definition.id,
            "key": definition.key,
            "version": definition.version,
            "name": definition.name,
        },
        "current_steps": [work_item_payload(item, dossier) for item in open_items],
    }


def work_item_payload(item: WorkItemRecord, dossier: DossierRecord) -> dict:
    return {**columns_of(item, _ITEM_COLUMNS), "dossier_code": dossier.code}


def history_payload(row: HistoryEvent) -> dict:
    event = row.event
    return {
        "at": event.at,
        "action": event.action,
        "actor": event.actor,
        "on_behalf_of": event.on_behalf_of,
        "step": event.element_id,
        "step_name": row.step_name,
        "giver": event.giver,
        "receiver": event.receiver,
        "detail": dict(event.detail or {}),
    }
