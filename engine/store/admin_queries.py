"""Reads for the administrator's pages."""

from __future__ import annotations

import calendar as month_calendar
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store import calendar_records
from engine.store.calendar_records import CalendarOverrideRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord

PAGE = 200


@dataclass(frozen=True)
class Day:
    day: date
    working: bool
    reason: str | None


def users(s: Session, *, unit_code: str | None = None, text: str = "") -> list[UserRecord]:
    query = select(UserRecord).order_by(UserRecord.unit_code, UserRecord.username).limit(PAGE)
    if unit_code:
        query = query.where(UserRecord.unit_code == unit_code)
    if text:
        pattern = f"%{text}%"
        query = query.where(or_(UserRecord.username.ilike(pattern), UserRecord.full_name.ilike(pattern)))
    return list(s.scalars(query))


def user(s: Session, username: str) -> UserRecord | None:
    return s.get(UserRecord, username)


def unit_choices(s: Session) -> list[tuple[str, str]]:
    """(code, name) of the provinces first, then the communes, by name."""
    rows = s.execute(select(UnitRecord.code, UnitRecord.name, UnitRecord.kind).order_by(UnitRecord.name))
    ordered = sorted(rows, key=lambda r: (r.kind != "province", r.name))
    return [(r.code, r.name) for r in ordered]


def calendar_overrides(s: Session, code: str) -> list[CalendarOverrideRecord]:
    return calendar_records.list_overrides(s, code)


def month_days(s: Session, provider, code: str, month: date) -> list[Day]:
    """Each day of the month as the calendar `code` counts it (with the unit's fall-backs)."""
    chain = list(dict.fromkeys(provider.chain(s, code)))  # "VN" itself is its own whole chain
    working_calendar = calendar_records.load_calendar(s, chain)  # fresh: the admin just edited it
    _, last = month_calendar.monthrange(month.year, month.month)
    days = [month.replace(day=n) for n in range(1, last + 1)]
    return [Day(d, working_calendar.is_working_day(d), working_calendar.reason(d)) for d in days]


def calendar_override(s: Session, override_id: int) -> CalendarOverrideRecord | None:
    return s.get(CalendarOverrideRecord, override_id)
