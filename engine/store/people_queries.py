"""Reads about people: who is behind a request (their account), a unit's people: their names, who may
take a step, who is away and who covers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.store.absence_records import AbsenceRecord
from engine.store.driver_reads import DriverRead
from engine.store.records import UnitRecord
from engine.store.records import UserRecord


class Account(NamedTuple):
    """What a request needs to know of the account behind it: read as plain columns (no ORM
    objects), so that looking it up costs one statement and little Python."""

    username: str
    full_name: str
    roles: str
    unit_code: str | None
    unit_name: str | None
    auth_epoch: int


#: What `Account` holds, for a statement that reads an account with something else (a token).
ACCOUNT_COLUMNS = (
    UserRecord.username,
    UserRecord.full_name,
    UserRecord.roles,
    UserRecord.unit_code,
    UnitRecord.name,
    UserRecord.auth_epoch,
)
#: Read on every request of a signed-in page: on the driver's cursor (engine.store.driver_reads).
_ACTIVE_ACCOUNT = DriverRead(
    select(*ACCOUNT_COLUMNS)
    .outerjoin(UnitRecord, UnitRecord.code == UserRecord.unit_code)
    .where(UserRecord.username == bindparam("username"), UserRecord.active.is_(True))
)


def account_of(row) -> Account:
    return Account(row.username, row.full_name, row.roles, row.unit_code, row.name, row.auth_epoch or 0)


def active_account(connection: Connection, username: str) -> Account | None:
    """An active user with their unit's name (a signed-in session's user): one statement."""
    row = _ACTIVE_ACCOUNT.first(connection, {"username": username})
    return account_of(row) if row is not None else None


def full_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    names = sorted({u for u in usernames if u})
    if not names:
        return {}
    return dict(
        session.execute(select(UserRecord.username, UserRecord.full_name).where(UserRecord.username.in_(names))).all()
    )


def colleagues(
    session: Session, unit_code: str, role: str | None = None, excluding: str | None = None
) -> list[UserRecord]:
    """Active users of the unit (holding `role`, when given), by name."""
    users = session.scalars(
        select(UserRecord)
        .where(UserRecord.unit_code == unit_code, UserRecord.active.is_(True))
        .order_by(UserRecord.full_name)
    )
    return [u for u in users if (role is None or role in u.role_set) and u.username != excluding]


def absences_involving(session: Session, username: str) -> list[AbsenceRecord]:
    """Absences the user declared as away, or covers as substitute; newest first."""
    return list(
        session.scalars(
            select(AbsenceRecord)
            .where(or_(AbsenceRecord.username == username, AbsenceRecord.substitute == username))
            .order_by(AbsenceRecord.date_from.desc(), AbsenceRecord.id.desc())
        )
    )


def absences_of_unit(session: Session, unit_code: str) -> list[AbsenceRecord]:
    """Every absence in the unit (what a leader manages); newest first."""
    return list(
        session.scalars(
            select(AbsenceRecord)
            .where(AbsenceRecord.unit_code == unit_code)
            .order_by(AbsenceRecord.date_from.desc(), AbsenceRecord.id.desc())
        )
    )
