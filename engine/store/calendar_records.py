"""Calendar data an administrator edits: per-calendar settings and added/removed days.

A calendar code is "VN", a province code ("01") or a unit/ward code ("00070"). A code without a
record inherits everything from the next calendar of its chain (see engine.calendars.calendar_chain).
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.calendars import OVERRIDE_KINDS
from engine.calendars import CalendarOverride
from engine.calendars import CalendarSettings
from engine.calendars import cached_calendar
from engine.calendars import parse_period_settings
from engine.domain.calendar import WorkingCalendar
from engine.store import repositories
from engine.store.base import Base
from engine.store.records import UnitRecord
from engine.store.records import UTCDateTime

__all__ = [
    "CalendarOverrideRecord",
    "CalendarRecord",
    "OVERRIDE_KINDS",
    "add_override",
    "delete_override",
    "list_overrides",
    "load_calendar",
    "save_calendar",
]


class CalendarRecord(Base):
    """A calendar's own settings; None columns inherit from the next calendar of the chain."""

    __tablename__ = "calendar"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    parent_code: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # JSON: [["08:00", "12:00"], ["13:00", "17:00"]] or {"default": [...], "sat": [...]}
    periods: Mapped[str | None] = mapped_column(Text)

    def to_domain(self) -> CalendarSettings:
        return CalendarSettings(self.code, self.name, self.parent_code, self.timezone, self.periods)


class CalendarOverrideRecord(Base):
    """Days off or make-up working days one calendar adds, with the announcement behind them."""

    __tablename__ = "calendar_override"
    __table_args__ = (Index("ix_calendar_override_code_from", "calendar_code", "date_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calendar_code: Mapped[str] = mapped_column(String(16), ForeignKey("calendar.code"))
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def to_domain(self) -> CalendarOverride:
        return CalendarOverride(self.calendar_code, self.date_from, self.date_to, self.kind, self.note)


def load_calendar(session: Session, chain_codes: list[str], years: range | None = None) -> WorkingCalendar:
    """The calendar for a chain such as [ward, province, "VN"]; missing records inherit."""
    # Only the columns building needs (the chain itself comes from calendar_chain), so a
    # database migrated before parent_code existed still loads calendars.
    rows = session.execute(
        select(CalendarRecord.code, CalendarRecord.name, CalendarRecord.timezone, CalendarRecord.periods).where(
            CalendarRecord.code.in_(chain_codes)
        )
    )
    settings = {row.code: CalendarSettings(row.code, row.name, None, row.timezone, row.periods) for row in rows}
    overrides = [
        r.to_domain()
        for r in session.scalars(
            select(CalendarOverrideRecord).where(CalendarOverrideRecord.calendar_code.in_(chain_codes))
        )
    ]
    # A level with no settings and no days of its own adds nothing, so leaving it out lets the
    # 126 communes of a province share one built calendar instead of building 126 equal ones.
    own = settings.keys() | {o.calendar_code for o in overrides}
    chain = [settings.get(code) or CalendarSettings(code) for code in chain_codes if code in own] or [
        CalendarSettings(chain_codes[-1])
    ]
    return cached_calendar(chain, overrides, years)


def save_calendar(
    session: Session,
    code: str,
    *,
    name: str = "",
    parent_code: str | None = None,
    timezone_name: str | None = None,
    periods: str | None = None,
) -> CalendarRecord:
    """Create or update a calendar's settings (periods are checked before they are stored)."""
    if periods:
        parse_period_settings(periods)
    record = session.get(CalendarRecord, code) or CalendarRecord(code=code)
    record.name, record.parent_code, record.timezone, record.periods = name or code, parent_code, timezone_name, periods
    session.add(record)
    session.flush()
    return record


def add_override(
    session: Session,
    *,
    calendar_code: str,
    date_from: date,
    date_to: date,
    kind: str,
    note: str,
    created_by: str | None = None,
    now: datetime | None = None,
) -> CalendarOverrideRecord:
    """Add days off or working days to a calendar; a calendar with no settings record yet gets an
    empty one (it still inherits its hours and zone)."""
    CalendarOverride(calendar_code, date_from, date_to, kind, note)  # validates kind and order
    if not note.strip():
        raise ValueError("say why (the announcement or decision), so the appointment can be explained")
    if session.get(CalendarRecord, calendar_code) is None:
        session.add(CalendarRecord(code=calendar_code, name=calendar_code))
        session.flush()
    record = CalendarOverrideRecord(
        calendar_code=calendar_code,
        date_from=date_from,
        date_to=date_to,
        kind=kind,
        note=note.strip(),
        created_by=created_by,
        created_at=now or datetime.now(UTC),
    )
    session.add(record)
    session.flush()
    _forecast_again(session, calendar_code, record.created_at)
    return record


def list_overrides(session: Session, calendar_code: str) -> list[CalendarOverrideRecord]:
    return list(
        session.scalars(
            select(CalendarOverrideRecord)
            .where(CalendarOverrideRecord.calendar_code == calendar_code)
            .order_by(CalendarOverrideRecord.date_from, CalendarOverrideRecord.id)
        )
    )


def delete_override(session: Session, override_id: int, now: datetime | None = None) -> CalendarOverrideRecord:
    """Remove one override; returns it so the caller can say what was removed."""
    record = session.get(CalendarOverrideRecord, override_id)
    if record is None:
        raise LookupError(f"no calendar override {override_id}")
    session.delete(record)
    session.flush()
    _forecast_again(session, record.calendar_code, now or datetime.now(UTC))
    return record


def _forecast_again(session: Session, calendar_code: str, now: datetime) -> None:
    """The working time before every appointment under this calendar changed: the apology forecast
    of their running dossiers is due again (the SLA sweep asks only where one now misses)."""
    if calendar_code == "VN":
        repositories.forecast_again(session, now)
        return
    units = select(UnitRecord.code).where(
        or_(UnitRecord.code == calendar_code, UnitRecord.parent_code == calendar_code)
    )
    repositories.forecast_again(session, now, units)
