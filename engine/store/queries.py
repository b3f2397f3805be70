"""Read side: named queries that list screens and lookups use; they never parse workflow state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain.model import OPEN_STATES
from engine.domain.model import RunState
from engine.store import catalogue_records
from engine.store.citizen_records import ResultSigningRecord
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UnitRecord
from engine.store.records import WorkItemRecord


@dataclass(frozen=True)
class PublicDossierStatus:
    """What the receipt slip already shows; nothing personal beyond it."""

    code: str
    procedure: str
    unit: str
    status: int
    received_at: datetime
    appointment_at: datetime | None
    original_appointment_at: datetime | None
    completed_at: datetime | None


def public_status(session: Session, code: str) -> PublicDossierStatus | None:
    row = session.execute(
        select(DossierRecord, ProcessDefinitionRecord.name, UnitRecord.name)
        .join(ProcessDefinitionRecord, ProcessDefinitionRecord.id == DossierRecord.definition_id)
        .join(UnitRecord, UnitRecord.code == DossierRecord.unit_code)
        .where(DossierRecord.code == code.strip())
    ).first()
    if row is None:
        return None
    dossier, procedure, unit = row
    return PublicDossierStatus(
        dossier.code,
        procedure,
        unit,
        dossier.status,
        dossier.received_at,
        dossier.appointment_at,
        dossier.original_appointment_at,
        dossier.completed_at,
    )


def result_lookup_digest(session: Session, code: str) -> str | None:
    """The digest of the token the dossier's signed result's QR code carries; None when it has none."""
    return session.scalar(
        select(ResultSigningRecord.lookup_token_sha256)
        .join(DossierRecord, DossierRecord.id == ResultSigningRecord.dossier_id)
        .where(DossierRecord.code == code.strip())
    )


def dossier_id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(DossierRecord.id).where(DossierRecord.code == code.strip()))


def applicant_contact(session: Session, code: str) -> dict | None:
    """The applicant's phone and ID number as received (the lookup's second factor); None for no dossier."""
    applicant = session.scalar(select(DossierRecord.applicant).where(DossierRecord.code == code.strip()))
    if applicant is None:
        return None
    return {key: applicant.get(key) for key in ("phone", "id_number")}


def status_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(DossierRecord.status, func.count()).group_by(DossierRecord.status))
    return {status: count for status, count in rows}


def unit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(UnitRecord)) or 0


def published_definitions(session: Session) -> list[ProcessDefinitionRecord]:
    return list(
        session.scalars(
            select(ProcessDefinitionRecord)
            .where(ProcessDefinitionRecord.status == "published")
            .order_by(ProcessDefinitionRecord.name)
        )
    )


def published_versions(session: Session, key: str | None = None) -> list[ProcessDefinitionRecord]:
    """Every published version (of template `key`, when given), by template and version."""
    query = select(ProcessDefinitionRecord).where(ProcessDefinitionRecord.status == "published")
    if key:
        query = query.where(ProcessDefinitionRecord.key == key)
    return list(session.scalars(query.order_by(ProcessDefinitionRecord.key, ProcessDefinitionRecord.version)))


def newest_published_per_template(session: Session) -> list[ProcessDefinitionRecord]:
    """One entry per template: its newest published version (what a desk offers; the unit's
    rolled-out version is chosen when the dossier starts). A procedure retired from the catalogue
    is not offered: its running dossiers finish, no new one starts."""
    retired = catalogue_records.retired_keys(session)
    newest: dict[str, ProcessDefinitionRecord] = {}
    for definition in published_definitions(session):
        if definition.key in retired:
            continue
        if definition.key not in newest or definition.version > newest[definition.key].version:
            newest[definition.key] = definition
    return sorted(newest.values(), key=lambda d: d.name)


def commune_codes(session: Session, province_code: str) -> list[str]:
    return list(
        session.scalars(
            select(UnitRecord.code)
            .where(UnitRecord.parent_code == province_code, UnitRecord.kind == "commune")
            .order_by(UnitRecord.code)
        )
    )


def province_communes(session: Session, unit_code: str) -> list[UnitRecord]:
    """The communes of the unit's province (Decree 118: receipt regardless of commune boundary)."""
    unit = session.get(UnitRecord, unit_code)
    if unit is None:
        return []
    province = unit.parent_code if unit.kind == "commune" else unit.code
    return list(
        session.scalars(
            select(UnitRecord)
            .where(UnitRecord.parent_code == province, UnitRecord.kind == "commune")
            .order_by(UnitRecord.name)
        )
    )


def unit_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(UnitRecord.code, UnitRecord.name)).all())


def latest_published(session: Session, key: str) -> ProcessDefinitionRecord | None:
    return session.scalar(
        select(ProcessDefinitionRecord)
        .where(ProcessDefinitionRecord.key == key, ProcessDefinitionRecord.status == "published")
        .order_by(ProcessDefinitionRecord.version.desc())
        .limit(1)
    )


_MOVABLE = (RunState.RUNNING.value, RunState.SUSPENDED.value)


def dossiers_on_version(
    session: Session, definition_id: int, unit_codes: list[str], limit: int, after_id: int = 0
) -> tuple[list[DossierRecord], int]:
    """Running (or suspended) dossiers of these units on a template version, oldest first (by
    id, after `after_id`: a caller walks them page by page), and how many there are in all."""
    where = (
        DossierRecord.definition_id == definition_id,
        DossierRecord.run_state.in_(_MOVABLE),
        # Implied by the states: read along the open dossiers' index (ix_dossier_unfinished).
        DossierRecord.completed_at.is_(None),
        DossierRecord.unit_code.in_(unit_codes),
    )
    total = session.scalar(select(func.count()).select_from(DossierRecord).where(*where))
    rows = list(
        session.scalars(
            select(DossierRecord).where(*where, DossierRecord.id > after_id).order_by(DossierRecord.id).limit(limit)
        )
    )
    return rows, total or 0


def open_step(session: Session, dossier_id: int) -> WorkItemRecord | None:
    """A dossier's first open or claimed step (the demo's walk moves it on)."""
    return session.scalar(
        select(WorkItemRecord)
        .where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(OPEN_STATES))
        .order_by(WorkItemRecord.id)
        .limit(1)
    )


def step_at(session: Session, dossier_id: int, element_id: str, state: str | None = None) -> WorkItemRecord | None:
    """A dossier's step at one BPMN element (the latest, when the step ran more than once)."""
    query = select(WorkItemRecord).where(
        WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.element_id == element_id
    )
    if state is not None:
        query = query.where(WorkItemRecord.state == state)
    return session.scalar(query.order_by(WorkItemRecord.id.desc()).limit(1))


def open_role_steps(session: Session) -> list[tuple[WorkItemRecord, int]]:
    """Every open step that waits for a role, with its dossier's template version."""
    return list(
        session.execute(
            select(WorkItemRecord, DossierRecord.definition_id)
            .join(DossierRecord, DossierRecord.id == WorkItemRecord.dossier_id)
            .where(WorkItemRecord.state.in_(OPEN_STATES), WorkItemRecord.role.is_not(None))
            .order_by(WorkItemRecord.id)
        ).all()
    )


def codes_with_status(session: Session, statuses) -> list[str]:
    return list(
        session.scalars(select(DossierRecord.code).where(DossierRecord.status.in_(statuses)).order_by(DossierRecord.id))
    )
