"""An officer's in-app notifications: the unread count, the latest list with each one's dossier
code, marking them read (only their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from engine.store.database import Session
from engine.store.records import DossierRecord
from engine.store.records import NotificationRecord
from engine.store.records import OutboxRecord

LIST_LIMIT = 200


@dataclass(frozen=True)
class Notice:
    id: int
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None
    dossier_code: str | None


def unread_count(session: Session, username: str) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(NotificationRecord)
            .where(NotificationRecord.username == username, NotificationRecord.read_at.is_(None))
        )
        or 0
    )


def latest(session: Session, username: str, unread_only: bool = False) -> list[Notice]:
    n = NotificationRecord
    query = (
        select(n.id, n.subject, n.body, n.created_at, n.read_at, DossierRecord.code)
        .join(OutboxRecord, OutboxRecord.id == n.outbox_id)
        .outerjoin(DossierRecord, DossierRecord.id == OutboxRecord.dossier_id)
        .where(n.username == username)
        .order_by(n.created_at.desc(), n.id.desc())
        .limit(LIST_LIMIT)
    )
    if unread_only:
        query = query.where(n.read_at.is_(None))
    return [Notice(*row) for row in session.execute(query)]


def mark_read(session: Session, username: str, now: datetime, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) unread notification of the user read; how many changed."""
    query = (
        update(NotificationRecord)
        .where(NotificationRecord.username == username, NotificationRecord.read_at.is_(None))
        .values(read_at=now)
    )
    if notification_id is not None:
        query = query.where(NotificationRecord.id == notification_id)
    return session.execute(query).rowcount


@dataclass(frozen=True)
class ApplicantMessage:
    """A message to the applicant and where it stands: pending, sent, dead (failed after its
    retries) or off (no provider for the channel where the dossier is handled)."""

    channel: str
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def applicant_messages(session: Session, dossier_id: int) -> list[ApplicantMessage]:
    o = OutboxRecord
    rows = session.execute(
        select(o.channel, o.recipient, o.subject, o.status, o.attempts, o.last_error, o.created_at, o.sent_at)
        .where(o.dossier_id == dossier_id, o.channel != "in_app")
        .order_by(o.created_at, o.id)
    )
    return [ApplicantMessage(*row) for row in rows]
