"""Keeping the National Public Service Portal in step with us: every dossier of a province with
portal settings and each of its status events (created, status, appointment, apology, closure) is
queued on the outbox's `portal` channel in the transaction that changed it, and delivered by the
worker in order per dossier (a message waits until the earlier one of its dossier is acknowledged),
with the outbox's retries, backoff and dead letters. The portal drops a repeated event by its id,
so a resend after a lost acknowledgement is harmless: each event counts once."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from engine import logs
from engine.domain import portal
from engine.domain.model import DossierStatus
from engine.services.portal_client import HttpPortalClient
from engine.services.portal_client import PortalClient
from engine.store import catalogue_records
from engine.store import portal_changes
from engine.store import portal_records
from engine.store import repositories
from engine.store.database import Session
from engine.store.portal_records import PortalSettingRecord
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord

CHANNEL = "portal"


def setting_of_unit(session: Session, unit_code: str) -> tuple[PortalSettingRecord | None, UnitRecord | None]:
    """The portal settings of the unit's province (a commune's parent, or the province itself)."""
    unit, setting = portal_records.unit_with_setting(session, unit_code)
    return setting, unit


def agency_id(setting: PortalSettingRecord, unit: UnitRecord) -> str:
    return (setting.agency_ids or {}).get(unit.code) or unit.agency_code


def mapping(setting: PortalSettingRecord) -> dict[int, int]:
    return portal.status_mapping(setting.status_map)


def dossier_portal_code(setting: PortalSettingRecord, unit: UnitRecord, dossier: DossierRecord) -> str:
    return portal.portal_dossier_code(dossier.code, agency_id(setting, unit), setting.platform_code)


def enqueue(session: Session, *, key: str, ordering: str, payload: dict, now: datetime, dossier_id: int | None) -> None:
    """Queue one portal message; `ordering` (the portal's dossier code) keeps a dossier's events in order."""
    repositories.insert_outbox_once(
        session,
        dedupe_key=key,
        dossier_id=dossier_id,
        channel=CHANNEL,
        recipient=ordering,
        subject=f"{payload.get('MaHoSo')} {payload.get('TrangThaiHoSo')}",
        body=json.dumps(payload, ensure_ascii=False),
        status="pending",
        attempts=0,
        created_at=now,
        available_at=now,
        request_id=logs.request_id.get(),
    )


def _queue_dossier_events(session: Session, dossiers: list[DossierRecord]) -> None:
    for dossier in dossiers:
        setting, unit = setting_of_unit(session, dossier.unit_code)
        if setting is None:
            continue
        facts = _facts(session, setting, unit, dossier)
        event_id = f"portal:{dossier.code}:{uuid.uuid4().hex}"
        payload = portal.sync_payload(event_id, facts, _reported(session, dossier), mapping(setting))
        enqueue(
            session,
            key=event_id,
            ordering=facts.submission_code or facts.portal_code,
            payload=payload,
            now=dossier.updated_at,
            dossier_id=dossier.id,
        )


portal_changes.on_commit(_queue_dossier_events)


def request_sync(session: Session, dossier_id: int, *, step: str | None, note: str | None) -> None:
    """Queue the dossier's state for the portal at this transaction's commit, after whatever else
    the transaction changes in it (the sync_portal connector): one event, saying `note` was done
    at `step`."""
    portal_changes.mark(session, session.get(DossierRecord, dossier_id), step=step, note=note)


def _reported(session: Session, dossier: DossierRecord) -> portal.StepFacts | None:
    """The step the event reports: what a request_sync said was done, else the last action."""
    facts = _step(session, dossier)
    reported = portal_changes.reported_step(session, dossier.id)
    if reported is None or facts is None:
        return facts
    step, note = reported
    return dataclasses.replace(facts, step=step or facts.step, content=note or facts.content, step_due_at=None)


def _facts(
    session: Session, setting: PortalSettingRecord, unit: UnitRecord, dossier: DossierRecord
) -> portal.DossierFacts:
    definition = session.get(ProcessDefinitionRecord, dossier.definition_id)
    entry = _catalogue_entry(session, definition.key) if definition else None
    # Result files exist once the dossier is processed; earlier events need not look.
    results = portal_records.result_files(session, dossier.id) if dossier.status >= DossierStatus.PROCESSED else []
    return portal.DossierFacts(
        code=dossier.code,
        portal_code=dossier_portal_code(setting, unit, dossier),
        submission_code=(dossier.applicant or {}).get("portal_code"),
        procedure_code=dossier.procedure_code,
        procedure_name=entry.name if entry else (definition.name if definition else ""),
        field_code=entry.field_code if entry else None,
        field_name=entry.field_name if entry else None,
        applicant=dossier.applicant or {},
        applicant_name=dossier.applicant_name,
        channel=dossier.channel,
        status=dossier.status,
        unit_name=unit.name,
        agency_id=agency_id(setting, unit),
        received_at=dossier.received_at,
        appointment_at=dossier.appointment_at,
        original_appointment_at=dossier.original_appointment_at,
        re_appointment_reason=dossier.re_appointment_reason,
        completed_at=dossier.completed_at,
        fees=list(entry.fees) if entry else [],
        results=[{"name": r.name, "sha256": r.sha256} for r in results],
    )


def _step(session: Session, dossier: DossierRecord) -> portal.StepFacts | None:
    """Who acted, at which step: the dossier's last audit event of this transaction (read back
    from the database only when the change wrote none itself)."""
    event = next((e for e in reversed(portal_changes.written_events(session)) if e["dossier_id"] == dossier.id), None)
    if event is None:
        row = portal_records.latest_event(session, dossier.id)
        if row is None:
            return None
        event = {
            "actor": row.actor,
            "at": row.at,
            "element_id": row.element_id,
            "action": row.action,
            "detail": row.detail,
        }
    element_id = event["element_id"]
    item = None
    if element_id:
        item = portal_changes.loaded_step(session, dossier.id, element_id) or portal_records.latest_step(
            session, dossier.id, element_id
        )
    user = session.get(UserRecord, event["actor"]) if event["actor"] != "system" else None
    reason = (event["detail"] or {}).get("reason")
    return portal.StepFacts(
        handler=user.full_name if user else event["actor"],
        handler_title=None,
        at=event["at"],
        step=item.name if item else element_id,
        content=reason or event["action"],
        step_due_at=item.due_at if item else None,
    )


@dataclass(frozen=True)
class _Entry:
    name: str
    field_code: str | None
    field_name: str | None
    fees: tuple


#: Catalogue entries by template key, kept a minute (every event of a procedure names them).
_ENTRIES: dict[str, tuple[_Entry | None, float]] = {}
ENTRY_MAX_AGE_S = 60.0


def _catalogue_entry(session: Session, key: str) -> _Entry | None:
    cached = _ENTRIES.get(key)
    # Wall-clock age on purpose: cache freshness, not the domain's (injected) time.
    if cached is not None and time.monotonic() - cached[1] < ENTRY_MAX_AGE_S:
        return cached[0]
    row = catalogue_records.procedure_by_key(session, key)
    entry = _Entry(row.name, row.field_code, row.field_name, tuple(row.fees or ())) if row else None
    _ENTRIES[key] = (entry, time.monotonic())
    return entry


class PortalChannel:
    """The outbox channel `portal`: pushes a queued event to the province's portal, after every
    earlier event of the same dossier went through."""

    def __init__(self, client_for=None):
        self.client_for = client_for or client_for_setting

    def blocked(self, session: Session, message: OutboxRecord) -> bool:
        return portal_changes.earlier_unsent(session, CHANNEL, message.recipient, message.id)

    def deliver(self, session: Session, message: OutboxRecord, now) -> None:
        payload = json.loads(message.body)
        setting = _setting_for_message(session, message, payload)
        if setting is None:
            raise LookupError(f"no portal settings for the province of {payload.get('MaDonVi')}")
        self.client_for(setting).sync(payload)


def client_for_setting(setting: PortalSettingRecord) -> PortalClient:
    return HttpPortalClient(setting.endpoint, setting.token, float(setting.timeout_seconds or 10))


def _setting_for_message(session: Session, message: OutboxRecord, payload: dict) -> PortalSettingRecord | None:
    if message.dossier_id is not None:
        dossier = session.get(DossierRecord, message.dossier_id)
        return setting_of_unit(session, dossier.unit_code)[0] if dossier else None
    submission = portal_records.submission_by_portal_code(session, payload.get("MaHoSoCong") or "")
    return setting_of_unit(session, submission.unit_code)[0] if submission else None
