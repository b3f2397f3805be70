"""Variants: a template version applied to one unit, with that unit's overrides as data.

Most of Hanoi's 84,000 commune processes differ from their template only in data (who holds a
role, a budget), so a variant is a row pointing at the template's definition: no BPMN copy, and
every variant of a template shares one parsed spec.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import UTCDateTime


class VariantRecord(Base):
    __tablename__ = "variant"
    __table_args__ = (UniqueConstraint("template_key", "unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_key: Mapped[str] = mapped_column(String(120), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    overrides: Mapped[dict] = mapped_column(JSON, default=dict)  # {"roles": {...}, "budgets": {...}}
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


def variant_for(session: Session, template_key: str, unit_code: str) -> VariantRecord | None:
    return session.scalar(
        select(VariantRecord).where(VariantRecord.template_key == template_key, VariantRecord.unit_code == unit_code)
    )


def _upsert(dialect):
    stmt = dialect.insert(VariantRecord.__table__)
    return stmt.on_conflict_do_update(
        index_elements=["template_key", "unit_code"],
        set_={"definition_id": stmt.excluded.definition_id, "updated_at": stmt.excluded.updated_at},
    )


# Built once: compiling a fresh multi-row VALUES statement per rollout cost more than writing it.
_UPSERTS = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}


def upsert_variants(session: Session, rows: list[dict]) -> None:
    """Insert or move variants to a new definition, all rows in one batched statement (the
    driver's executemany; SQLAlchemy's insertmanyvalues on PostgreSQL); overrides are kept."""
    if rows:
        session.execute(_UPSERTS[session.get_bind().dialect.name], rows)


def set_overrides(session: Session, variant_id: int, overrides: dict, now: datetime) -> None:
    session.execute(
        update(VariantRecord).where(VariantRecord.id == variant_id).values(overrides=overrides, updated_at=now)
    )


def list_variants(
    session: Session,
    *,
    template_key: str | None = None,
    unit_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[VariantRecord]:
    query = select(VariantRecord)
    if template_key:
        query = query.where(VariantRecord.template_key == template_key)
    if unit_code:
        query = query.where(VariantRecord.unit_code == unit_code)
    return list(
        session.scalars(query.order_by(VariantRecord.template_key, VariantRecord.unit_code).limit(limit).offset(offset))
    )


def count_variants(session: Session, template_key: str | None = None) -> int:
    query = select(func.count()).select_from(VariantRecord)
    if template_key:
        query = query.where(VariantRecord.template_key == template_key)
    return session.scalar(query) or 0
