"""Idempotency keys of the API's changes: per caller and key, a hash of the request and the answer
it got, written in the transaction of the change they guard (so a key exists exactly when its
change committed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from typing import cast

from sqlalchemy import JSON
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.deferred_begin import Rider
from engine.store.driver_reads import DriverRead
from engine.store.driver_writes import DriverWrite
from engine.store.records import UTCDateTime

KEY_MAX = 200


class IdempotencyKeyRecord(Base):
    """One key per caller: what the first request under it asked (hashed) and was answered."""

    __tablename__ = "idempotency_key"

    caller: Mapped[str] = mapped_column(String(80), primary_key=True)  # the account that sent it
    key: Mapped[str] = mapped_column(String(KEY_MAX), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the route and the body
    status_code: Mapped[int] = mapped_column(Integer)
    answer: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


_TABLE = cast(Table, IdempotencyKeyRecord.__table__)


_KEPT = DriverRead(
    select(_TABLE.c.fingerprint, _TABLE.c.status_code, _TABLE.c.answer).where(
        _TABLE.c.caller == bindparam("caller"), _TABLE.c.key == bindparam("key")
    )
)


def kept(connection: Connection, caller: str, key: str):
    """The key's fingerprint, status code and answer (a row with those names), or None."""
    return _KEPT.first(connection, {"caller": caller, "key": key})


def kept_rider(dialect: Dialect, caller: str, key: str, heard: Callable[[Any], None]) -> Rider:
    """`kept`'s read, to travel with the next transaction's BEGIN on this thread (engine.store.
    deferred_begin): `heard` gets what it would have returned."""
    return _KEPT.rider(dialect, {"caller": caller, "key": key}, heard)


_REMEMBERED = DriverWrite(insert(_TABLE))


def remember(
    where: Session | Connection,
    *,
    caller: str,
    key: str,
    fingerprint: str,
    status_code: int,
    answer: dict,
    now: datetime,
) -> None:
    """Add the key to the change's own transaction, through its session or, for a change run
    without one (a claim), on its connection as the change's last statement (on PostgreSQL it
    may take the transaction's COMMIT along: DriverWrite.run_last); a copy of the request that
    committed the same key first makes this commit fail on the primary key (and the whole change
    with it)."""
    row = {
        "caller": caller,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": status_code,
        "answer": answer,
        "created_at": now,
    }
    if isinstance(where, Connection):
        _REMEMBERED.run_last(where, row)
    else:
        where.add(IdempotencyKeyRecord(**row))
