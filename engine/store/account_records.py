"""Sign-in bookkeeping: failed log-ins (for rate limiting) and API tokens for other systems."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.sql.elements import ColumnElement

from engine.store.base import Base
from engine.store.deferred_begin import Rider
from engine.store.driver_reads import DriverRead
from engine.store.people_queries import ACCOUNT_COLUMNS
from engine.store.people_queries import Account
from engine.store.people_queries import account_of
from engine.store.records import UnitRecord
from engine.store.records import UserRecord
from engine.store.records import UTCDateTime


class ThrottleHitRecord(Base):
    """One counted event (a failed log-in, a lookup of an unknown dossier code) in a bucket such
    as "login-user:<name>" or "lookup-address:<ip>"; buckets are counted over a sliding window."""

    __tablename__ = "throttle_hit"
    __table_args__ = (Index("ix_throttle_hit_bucket_at", "bucket", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(160))
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
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # refused from this instant on
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # to the minute, not every call


def record_hit(s: Session, bucket: str, at: datetime) -> None:
    s.add(ThrottleHitRecord(bucket=bucket[:160], at=at))


def hits_since(s: Session, bucket: str, since: datetime) -> int:
    """Hits after `since`: one made exactly a window ago has aged out."""
    return (
        s.scalar(select(func.count()).where(ThrottleHitRecord.bucket == bucket[:160], ThrottleHitRecord.at > since))
        or 0
    )


def forget_hits(s: Session, bucket: str, older_than: datetime) -> None:
    """Drop a bucket's hits (a good log-in clears its user's failures) and anyone's expired ones."""
    s.execute(
        delete(ThrottleHitRecord).where(
            (ThrottleHitRecord.bucket == bucket[:160]) | (ThrottleHitRecord.at < older_than)
        )
    )


def forget_expired_hits(s: Session, older_than: datetime) -> None:
    s.execute(delete(ThrottleHitRecord).where(ThrottleHitRecord.at < older_than))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenHolder(NamedTuple):
    """A valid token's id and last recorded use, with the account it acts as."""

    token_id: int
    last_used_at: datetime | None
    account: Account


#: Built once and run on the driver's cursor (engine.store.driver_reads): it is read on every request.
_TOKEN_HOLDER = DriverRead(
    select(ApiTokenRecord.id, ApiTokenRecord.last_used_at, *ACCOUNT_COLUMNS)
    .join(UserRecord, UserRecord.username == ApiTokenRecord.username)
    .outerjoin(UnitRecord, UnitRecord.code == UserRecord.unit_code)
    .where(
        ApiTokenRecord.token_sha256 == bindparam("digest"),
        ApiTokenRecord.revoked.is_(False),
        ApiTokenRecord.expires_at > bindparam("now"),
        UserRecord.active.is_(True),
    )
)


def token_holder(connection: Connection, token: str, now: datetime) -> TokenHolder | None:
    """The token when it is neither revoked nor expired (one without an expiry is expired) and
    its user is active, with that user and their unit's name: one statement."""
    row = _TOKEN_HOLDER.first(connection, {"digest": token_digest(token), "now": now})
    return TokenHolder(row.id, row.last_used_at, account_of(row)) if row is not None else None


def token_holder_rider(
    dialect: Dialect, digest: str, now: datetime, kept: TokenHolder, heard: Callable[[TokenHolder | None], None]
) -> Rider:
    """`token_holder`'s read of the token whose `token_digest` is `digest`, to travel with the
    next transaction's BEGIN on this thread: `heard` gets what it would have returned. A first
    statement may check it itself instead (`token_still_held`, with its parameters for `kept`,
    the holder the request was let in as: the rider's `in_statement`)."""

    def holder(row) -> None:
        heard(TokenHolder(row.id, row.last_used_at, account_of(row)) if row is not None else None)

    in_statement = token_check_parameters(digest, now, kept)
    return _TOKEN_HOLDER.rider(dialect, {"digest": digest, "now": now}, holder, in_statement)


def token_still_held() -> ColumnElement[bool]:
    """For a statement that commits with the token's lookup riding beside it (engine.services.
    api_tokens): true only while the token is valid and acts as the very account it was let in
    as, so that the statement writes nothing when the lookup is about to refuse the request.
    Its parameters: `token_check_parameters`."""
    return (
        select(ApiTokenRecord.id)
        .join(UserRecord, UserRecord.username == ApiTokenRecord.username)
        .outerjoin(UnitRecord, UnitRecord.code == UserRecord.unit_code)
        .where(
            ApiTokenRecord.token_sha256 == bindparam("token_digest"),
            ApiTokenRecord.revoked.is_(False),
            ApiTokenRecord.expires_at > bindparam("token_now", type_=ApiTokenRecord.expires_at.type),
            UserRecord.active.is_(True),
            ApiTokenRecord.id == bindparam("token_id"),
            UserRecord.username == bindparam("token_username"),
            UserRecord.full_name == bindparam("token_full_name"),
            UserRecord.roles == bindparam("token_roles"),
            UserRecord.unit_code.is_not_distinct_from(bindparam("token_unit_code", type_=String)),
            UnitRecord.name.is_not_distinct_from(bindparam("token_unit_name", type_=String)),
            func.coalesce(UserRecord.auth_epoch, 0) == bindparam("token_auth_epoch"),
        )
        .exists()
    )


def token_check_parameters(digest: str, now: datetime, holder: TokenHolder) -> dict:
    """`token_still_held`'s parameters: the token as it was let in."""
    account = holder.account
    return {
        "token_digest": digest,
        "token_now": now,
        "token_id": holder.token_id,
        "token_username": account.username,
        "token_full_name": account.full_name,
        "token_roles": account.roles,
        "token_unit_code": account.unit_code,
        "token_unit_name": account.unit_name,
        "token_auth_epoch": account.auth_epoch,
    }


def mark_used(s: Session, token_id: int, now: datetime, not_since: datetime) -> None:
    """Record a use unless one was recorded after `not_since`: concurrent calls write once."""
    s.execute(
        update(ApiTokenRecord)
        .where(
            ApiTokenRecord.id == token_id,
            (ApiTokenRecord.last_used_at.is_(None)) | (ApiTokenRecord.last_used_at <= not_since),
        )
        .values(last_used_at=now)
    )


def add_token(
    s: Session, *, name: str, token: str, username: str, at: datetime, expires_at: datetime
) -> ApiTokenRecord:
    record = ApiTokenRecord(
        name=name, token_sha256=token_digest(token), username=username, created_at=at, expires_at=expires_at
    )
    s.add(record)
    return record


def api_tokens(session: Session) -> list[ApiTokenRecord]:
    return list(session.scalars(select(ApiTokenRecord).order_by(ApiTokenRecord.id)))


def revoke_token(session: Session, token_id: int) -> bool:
    """Mark a token revoked; False when there is no such token."""
    result = session.execute(update(ApiTokenRecord).where(ApiTokenRecord.id == token_id).values(revoked=True))
    return result.rowcount > 0
