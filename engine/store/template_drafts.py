"""Writes and reads for template drafts and their publication, and the rollout progress of a
published version across a province's communes.

A draft is a `process_definition` row with status `draft`: the modeller's working copy. Unlike a
published version it may change (its digest moves to the newly saved content) until it is
published; from then on it is immutable like every published version. One draft per template
at a time: the newest version when its status is `draft`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.records import ProcessDefinitionRecord
from engine.store.records import TemplateBlobRecord
from engine.store.records import UnitRecord
from engine.store.repositories import latest_definition
from engine.store.repositories import next_definition_version
from engine.store.variant_records import VariantRecord


def open_draft(session: Session, key: str) -> ProcessDefinitionRecord | None:
    """The template's current draft: its newest version, when that one is still a draft."""
    latest = latest_definition(session, key)
    return latest if latest is not None and latest.status == "draft" else None


def store_blob(session: Session, digest: str, files: dict[str, str], now: datetime) -> None:
    if session.get(TemplateBlobRecord, digest) is None:
        session.add(TemplateBlobRecord(digest=digest, files=files, created_at=now))
        session.flush()  # definition rows reference it


def drop_blob_if_unused(session: Session, digest: str) -> None:
    """A draft's earlier content, once no version names it any more."""
    used = session.scalar(
        select(func.count()).select_from(ProcessDefinitionRecord).where(ProcessDefinitionRecord.digest == digest)
    )
    if not used:
        session.execute(delete(TemplateBlobRecord).where(TemplateBlobRecord.digest == digest))


def add_draft(
    session: Session,
    *,
    key: str,
    name: str,
    digest: str,
    procedure_code: str | None,
    legal_limit_minutes: int | None,
    clock_cutoff: str | None,
    clock_last_hour: bool,
) -> ProcessDefinitionRecord:
    draft = ProcessDefinitionRecord(
        key=key,
        version=next_definition_version(session, key),
        name=name,
        digest=digest,
        status="draft",
        procedure_code=procedure_code,
        legal_limit_minutes=legal_limit_minutes,
        clock_cutoff=clock_cutoff,
        clock_last_hour=clock_last_hour,
        published_at=None,
    )
    session.add(draft)
    session.flush()
    return draft


def communes_not_on(session: Session, province_code: str, definition_id: int, key: str, limit: int) -> list[str]:
    """Communes of the province whose variant of the template is missing or on another version."""
    on_version = select(VariantRecord.unit_code).where(
        VariantRecord.template_key == key, VariantRecord.definition_id == definition_id
    )
    return list(
        session.scalars(
            select(UnitRecord.code)
            .where(
                UnitRecord.parent_code == province_code,
                UnitRecord.kind == "commune",
                UnitRecord.code.not_in(on_version),
            )
            .order_by(UnitRecord.code)
            .limit(limit)
        )
    )


def rollout_counts(session: Session, province_code: str, definition_id: int, key: str) -> tuple[int, int]:
    """(communes already on this version, communes of the province)."""
    communes = and_(UnitRecord.parent_code == province_code, UnitRecord.kind == "commune")
    total = session.scalar(select(func.count()).select_from(UnitRecord).where(communes)) or 0
    done = (
        session.scalar(
            select(func.count())
            .select_from(VariantRecord)
            .join(UnitRecord, UnitRecord.code == VariantRecord.unit_code)
            .where(communes, VariantRecord.template_key == key, VariantRecord.definition_id == definition_id)
        )
        or 0
    )
    return done, total


def province_of(session: Session, unit_code: str | None) -> UnitRecord | None:
    """The province a unit is (or belongs to); None for an unknown unit."""
    unit = session.get(UnitRecord, unit_code) if unit_code else None
    while unit is not None and unit.kind != "province" and unit.parent_code:
        unit = session.get(UnitRecord, unit.parent_code)
    return unit if unit is not None and unit.kind == "province" else None


def communes_of(session: Session, province_code: str) -> list[UnitRecord]:
    return list(
        session.scalars(
            select(UnitRecord)
            .where(UnitRecord.parent_code == province_code, UnitRecord.kind == "commune")
            .order_by(UnitRecord.name)
        )
    )
