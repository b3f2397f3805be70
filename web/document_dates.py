"""Dates on the printed forms, as Vietnamese administrative documents write them (Jinja filters over
engine.domain.vn_dates). They stay Vietnamese in the English interface: the forms are official
documents. A form passes its unit's time zone (`tz`); without one, Vietnam's.

    {{ dossier.appointment_at|vn_document_datetime(tz) }}   10 giờ 00, ngày 04 tháng 12 năm 2026
    {{ dossier.received_at|vn_document_date(tz) }}          ngày 04 tháng 12 năm 2026
    {{ step.due_at|vn_short_datetime(tz) }}                 10:00 ngày 04/12/2026
    {{ vn_place_and_date(unit.name, issued_at, tz) }}       Phường Hoàn Kiếm, ngày 04 tháng 12 năm 2026
"""

from __future__ import annotations

from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from engine.domain import vn_dates


def document_datetime(instant: datetime | None, tz: ZoneInfo | None = None) -> str:
    return vn_dates.document_datetime(instant, tz) if instant is not None else ""


def document_date(day: date | datetime | None, tz: ZoneInfo | None = None) -> str:
    return vn_dates.document_date(day, tz) if day is not None else ""


def short_datetime(instant: datetime | None, tz: ZoneInfo | None = None) -> str:
    return vn_dates.short_datetime(instant, tz) if instant is not None else ""


def place_and_date(place: str, day: date | datetime, tz: ZoneInfo | None = None) -> str:
    return vn_dates.place_and_date(place, day, tz)


def init_app(app: Flask) -> None:
    app.add_template_filter(document_datetime, "vn_document_datetime")
    app.add_template_filter(document_date, "vn_document_date")
    app.add_template_filter(short_datetime, "vn_short_datetime")
    app.add_template_global(place_and_date, "vn_place_and_date")
