"""The rows describing a dossier's files (their bytes live in engine.documents) and the queries
over them. A file is found by its random key, never by a sequential id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import UTCDateTime


class AttachmentRecord(Base):
    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_dossier", "dossier_id", "uploaded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Random, URL-safe, unique: the download link and the store's key (nothing guessable).
    key: Mapped[str] = mapped_column(String(64), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"), index=True)
    # Which item of the catalogue's checklist a reception scan is (its position in the list).
    checklist_index: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))  # engine.domain.attachments.AttachmentKind
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    on_behalf_of: Mapped[str | None] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


def of_dossier(session: Session, dossier_id: int) -> list[AttachmentRecord]:
    """A dossier's files in the order they came."""
    return list(
        session.scalars(
            select(AttachmentRecord)
            .where(AttachmentRecord.dossier_id == dossier_id)
            .order_by(AttachmentRecord.uploaded_at, AttachmentRecord.id)
        )
    )


def by_key(session: Session, key: str) -> AttachmentRecord | None:
    return session.scalar(select(AttachmentRecord).where(AttachmentRecord.key == key))
