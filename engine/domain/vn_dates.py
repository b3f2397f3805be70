"""Dates and times as Vietnamese administrative documents write them, always in the unit's local
time: "10 giờ 00, ngày 04 tháng 12 năm 2026" on letters and slips, "Hà Nội, ngày 04 tháng 12 năm
2026" as a document's place-and-date line, "10:00 ngày 04/12/2026" in notifications.

Standard library only: the engine (notification texts) and the web (printed forms) share it.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from engine.domain.calendar import DEFAULT_TIMEZONE

_DEFAULT_TZ = ZoneInfo(DEFAULT_TIMEZONE)


def local(instant: datetime, tz: ZoneInfo | None = None) -> datetime:
    """The instant in the unit's zone (naive values are taken as already local)."""
    if instant.tzinfo is None:
        return instant
    return instant.astimezone(tz or _DEFAULT_TZ)


def document_date(day: date | datetime, tz: ZoneInfo | None = None) -> str:
    """'ngày 04 tháng 12 năm 2026' (of an instant: its local day)."""
    if isinstance(day, datetime):
        day = local(day, tz).date()
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def document_datetime(instant: datetime, tz: ZoneInfo | None = None) -> str:
    """'10 giờ 00, ngày 04 tháng 12 năm 2026' (an appointment on a letter or slip)."""
    at = local(instant, tz)
    return f"{at.hour:02d} giờ {at.minute:02d}, {document_date(at.date())}"


def place_and_date(place: str, day: date | datetime, tz: ZoneInfo | None = None) -> str:
    """'Hà Nội, ngày 04 tháng 12 năm 2026': the line under a document's heading."""
    return f"{place}, {document_date(day, tz)}"


def short_datetime(instant: datetime, tz: ZoneInfo | None = None) -> str:
    """'10:00 ngày 04/12/2026': a time in a notification or a list."""
    at = local(instant, tz)
    return f"{at:%H:%M} ngày {at:%d/%m/%Y}"


def working_time(minutes: int) -> str:
    """Working time as people say it: '2 giờ', '1 ngày 3 giờ', '30 phút' (a day = 8 working hours)."""
    days, rest = divmod(max(0, int(minutes)), 8 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} ngày"] * bool(days) + [f"{hours} giờ"] * bool(hours) + [f"{mins} phút"] * bool(mins)
    return " ".join(parts) or "0 phút"
