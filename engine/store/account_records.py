"""Sign-in bookkeeping: failed log-ins (for rate limiting) and API tokens for other systems."""

from __future__ import annotations

import hashlib
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import UTCDateTime


class LoginFailureRecord(Base):
    """One failed log-in; counted per user name and per address over a sliding window."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_at", "username", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiTokenRecord(Base):
    """A token another system (the National Portal sync, a provincial app) presents as
    `Authorization: Bearer ...`; only its SHA-256 is stored, and it acts as `username`."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(ForeignKey("app_user.username"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


def record_failure(s: Session, username: str, address: str, at: datetime) -> None:
    s.add(LoginFailureRecord(username=username[:80], address=address[:64], at=at))


def recent_failures(s: Session, *, username: str, address: str, since: datetime) -> tuple[int, int]:
    """(failures for this user name, failures from this address) since `since`."""
    by_user = s.scalar(select(func.count()).where(LoginFailureRecord.username == username[:80],
                                                  LoginFailureRecord.at >= since))
    by_address = s.scalar(select(func.count()).where(LoginFailureRecord.address == address[:64],
                                                     LoginFailureRecord.at >= since))
    return by_user or 0, by_address or 0


def clear_failures(s: Session, username: str, older_than: datetime) -> None:
    """After a good log-in the user's own failures no longer count; old rows of anyone go too."""
    s.execute(delete(LoginFailureRecord).where(
        (LoginFailureRecord.username == username[:80]) | (LoginFailureRecord.at < older_than)))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_for_token(s: Session, token: str) -> str | None:
    record = s.scalar(select(ApiTokenRecord).where(ApiTokenRecord.token_sha256 == token_digest(token),
                                                   ApiTokenRecord.revoked.is_(False)))
    return record.username if record else None


def add_token(s: Session, *, name: str, token: str, username: str, at: datetime) -> ApiTokenRecord:
    record = ApiTokenRecord(name=name, token_sha256=token_digest(token), username=username, created_at=at)
    s.add(record)
    return record


WINDOW = timedelta(minutes=15)
