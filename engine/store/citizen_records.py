"""The citizen's side of the store. The data store (kho quản lý dữ liệu điện tử, Decree 45/2020):
which documents of completed dossiers are kept for each personal identification number, each reuse
of one in a later dossier, and the result PDFs waiting to be signed (the bytes stay in the document
store under the original file's storage key; these rows only say whose they are and where they came
from). And what concerns the applicant's dossier: who delivers messages to applicants per province
or unit (notification_provider), the fees recorded as paid (payment) and the applicant's rating of
the service (satisfaction)."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.attachment_records import AttachmentRecord
from engine.store.base import Base
from engine.store.records import DossierRecord
from engine.store.records import UTCDateTime


class CitizenDocumentRecord(Base):
    """One document kept for a citizen: a completed dossier's reception scan or result file."""

    __tablename__ = "citizen_document"
    __table_args__ = (
        UniqueConstraint("id_number", "attachment_id", name="uq_citizen_document_file"),
        Index("ix_citizen_document_holder", "id_number", "kept_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(String(12))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"))
    # What the document is: the checklist item it was received for, or the procedure's result.
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(12))  # reception | result (engine.domain.attachments)
    kept_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CitizenReuseRecord(Base):
    """A kept document linked to a later dossier instead of being asked for again: who, when, where."""

    __tablename__ = "citizen_reuse"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("citizen_document.id"), index=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id"))
    checklist_index: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(80))
    on_behalf_of: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ResultSigningRecord(Base):
    """A leader's approval whose result PDF is to be (or was) rendered and signed; written in the
    approval's transaction, so neither the approval nor the duty to sign can be lost."""

    __tablename__ = "result_signing"
    __table_args__ = (Index("ix_result_signing_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_item.id"))
    approved_by: Mapped[str] = mapped_column(String(80))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10))  # pending | signed
    # When the worker tries next (now after the approval; later after a failure; none once parked).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    signer: Mapped[str | None] = mapped_column(String(300))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The SHA-256 of the token the signed result's QR code carries (engine.domain.lookup_tokens).
    lookup_token_sha256: Mapped[str | None] = mapped_column(String(64))


class NotificationProviderRecord(Base):
    """A channel's provider (SMS gateway, Zalo OA, SMTP server) for a province or one unit; a unit's
    own row wins over its province's. No row: the channel is off there."""

    __tablename__ = "notification_provider"
    __table_args__ = (UniqueConstraint("unit_code", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"))
    channel: Mapped[str] = mapped_column(String(20))  # sms | zalo | email
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PaymentRecord(Base):
    """A fee paid for a dossier: cash at the counter or a bank/portal payment's reference."""

    __tablename__ = "payment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    amount_vnd: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))  # cash | bank | portal
    reference: Mapped[str | None] = mapped_column(String(100))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(80))


class SatisfactionRecord(Base):
    """The applicant's one rating of a dossier on the criteria of Decision 766/QĐ-TTg, each
    0 (not satisfied), 1 (satisfied) or 2 (very satisfied)."""

    __tablename__ = "satisfaction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    unit_code: Mapped[str] = mapped_column(String(16), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    definition_id: Mapped[int] = mapped_column(Integer)
    time_score: Mapped[int] = mapped_column(Integer)
    attitude_score: Mapped[int] = mapped_column(Integer)
    information_score: Mapped[int] = mapped_column(Integer)
    result_score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SatisfactionRollupRecord(Base):
    """The ratings summed per local day ('d') and month ('m') of the rating, the dossier's commune
    and officer (user name; '' the commune's own, each rating once), for every procedure
    (definition_id 0) and per template version, kept by engine.store.satisfaction_rollups in the
    transaction of each change that moves them."""

    __tablename__ = "satisfaction_rollup"

    definition_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    ratings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfied_time: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfied_attitude: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfied_information: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfied_result: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    score_time: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    score_attitude: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    score_information: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    score_result: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


def held(session: Session, id_number: str) -> list[tuple[CitizenDocumentRecord, AttachmentRecord, str]]:
    """The citizen's kept documents, newest first, with their file and the dossier code they came from."""
    rows = session.execute(
        select(CitizenDocumentRecord, AttachmentRecord, DossierRecord.code)
        .join(AttachmentRecord, AttachmentRecord.id == CitizenDocumentRecord.attachment_id)
        .join(DossierRecord, DossierRecord.id == CitizenDocumentRecord.dossier_id)
        .where(CitizenDocumentRecord.id_number == id_number)
        .order_by(CitizenDocumentRecord.kept_at.desc(), CitizenDocumentRecord.id.desc())
    )
    return [tuple(row) for row in rows]


def kept_attachment_ids(session: Session, id_number: str, attachment_ids) -> set[int]:
    ids = list(attachment_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(CitizenDocumentRecord.attachment_id).where(
                CitizenDocumentRecord.id_number == id_number, CitizenDocumentRecord.attachment_id.in_(ids)
            )
        )
    )


def reuses_for(session: Session, id_number: str, limit: int = 200) -> list[tuple[CitizenReuseRecord, str, str]]:
    """Every reuse of the citizen's documents: the reuse, the document's name, the dossier it went to."""
    rows = session.execute(
        select(CitizenReuseRecord, CitizenDocumentRecord.name, DossierRecord.code)
        .join(CitizenDocumentRecord, CitizenDocumentRecord.id == CitizenReuseRecord.document_id)
        .join(DossierRecord, DossierRecord.id == CitizenReuseRecord.dossier_id)
        .where(CitizenDocumentRecord.id_number == id_number)
        .order_by(CitizenReuseRecord.at.desc(), CitizenReuseRecord.id.desc())
        .limit(limit)
    )
    return [tuple(row) for row in rows]


def signing_of(session: Session, dossier_id: int) -> ResultSigningRecord | None:
    return session.scalar(select(ResultSigningRecord).where(ResultSigningRecord.dossier_id == dossier_id))


def due_signings(session: Session, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(ResultSigningRecord.id)
            .where(ResultSigningRecord.status == "pending", ResultSigningRecord.due_at <= now)
            .order_by(ResultSigningRecord.due_at)
            .limit(limit)
        )
    )


def lock_signing(session: Session, signing_id: int) -> ResultSigningRecord | None:
    """The row, locked on PostgreSQL (skipped when another worker holds it)."""
    query = select(ResultSigningRecord).where(
        ResultSigningRecord.id == signing_id, ResultSigningRecord.status == "pending"
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def set_signing_due(session: Session, signing_id: int, at: datetime | None) -> None:
    session.execute(update(ResultSigningRecord).where(ResultSigningRecord.id == signing_id).values(due_at=at))
