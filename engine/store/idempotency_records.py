"""Idempotency keys of API starts: a client that lost the answer to a start sends the same key
again and gets the dossier it started, not a second one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import UTCDateTime

KEY_MAX = 200


class IdempotencyKeyRecord(Base):
    """One key per account: the dossier that the account's first request with it started."""

    __tablename__ = "idempotency_key"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(Integer, ForeignKey("dossier.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


def dossier_for(session: Session, username: str, key: str) -> int | None:
    return session.scalar(select(IdempotencyKeyRecord.dossier_id)
                          .where(IdempotencyKeyRecord.username == username, IdempotencyKeyRecord.key == key))


def remember(session: Session, username: str, key: str, dossier_id: int, now: datetime) -> None:
    session.add(IdempotencyKeyRecord(username=username, key=key, dossier_id=dossier_id, created_at=now))


def is_key_taken(exc: BaseException) -> bool:
    """A commit refused because another request with the same key committed first."""
    return isinstance(exc, IntegrityError) and "idempotency_key" in str(exc.orig)
