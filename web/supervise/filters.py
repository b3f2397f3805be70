"""The dashboard's filters, read from the query string: date range (Vietnam-local days), commune,
procedure. A bad value gives a message naming the field; nothing is read from the database then."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask_babel import gettext

from engine.store.statistics import Scope
from web.display import LOCAL_TZ as VN

LONGEST_RANGE_DAYS = 5 * 366  # a report longer than five years is a typing mistake
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,80}$")


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date  # inclusive
    commune: str | None = None
    procedure: str | None = None
    officer: str | None = None  # narrows the officers' table and chart to one user name

    def scope(self, supervised: frozenset[str]) -> Scope:
        """The report's scope: only communes the user supervises, whatever was asked."""
        units = supervised & {self.commune} if self.commune else supervised
        return Scope(
            frozenset(units),
            _local_midnight(self.date_from),
            _local_midnight(self.date_to + timedelta(days=1)),
            self.procedure,
        )

    def args(self, **changes) -> dict[str, str]:
        """Query-string arguments that give these filters back (for links and exports)."""
        values = {
            "tu": self.date_from.isoformat(),
            "den": self.date_to.isoformat(),
            "xa": self.commune or "",
            "thu_tuc": self.procedure or "",
            "can_bo": self.officer or "",
            **changes,
        }
        return {key: value for key, value in values.items() if value}


def current_month(now: datetime) -> Filters:
    today = now.astimezone(VN).date()
    last = calendar.monthrange(today.year, today.month)[1]
    return Filters(today.replace(day=1), today.replace(day=last))


def parse(
    args: Mapping[str, str], now: datetime, communes: set[str], procedures: set[str]
) -> tuple[Filters, dict[str, str]]:
    """The filters asked for (defaults: the current month, every commune and procedure), and the
    errors by field name; on an error the defaults stand in for the bad value."""
    default = current_month(now)
    errors: dict[str, str] = {}
    date_from = _date(args.get("tu"), default.date_from, "tu", "Từ ngày", errors)
    date_to = _date(args.get("den"), default.date_to, "den", "Đến ngày", errors)
    if not errors and date_to < date_from:
        errors["den"] = gettext("Đến ngày phải bằng hoặc sau Từ ngày.")
    elif not errors and (date_to - date_from).days > LONGEST_RANGE_DAYS:
        errors["den"] = gettext("Khoảng thời gian báo cáo dài quá 5 năm; hãy chọn khoảng ngắn hơn.")
    commune = (args.get("xa") or "").strip() or None
    if commune is not None and commune not in communes:
        errors["xa"] = gettext("Xã/phường: mã %(code)s không thuộc phạm vi giám sát của bạn.", code=commune)
        commune = None
    procedure = (args.get("thu_tuc") or "").strip() or None
    if procedure is not None and procedure not in procedures:
        errors["thu_tuc"] = gettext("Thủ tục: không có quy trình mã %(code)s.", code=procedure)
        procedure = None
    officer = (args.get("can_bo") or "").strip() or None
    if officer is not None and not USERNAME.match(officer):
        errors["can_bo"] = gettext("Cán bộ: “%(text)s” không phải tên đăng nhập.", text=officer[:80])
        officer = None
    return Filters(date_from, date_to, commune, procedure, officer), errors


def _date(text: str | None, default: date, field: str, label: str, errors: dict[str, str]) -> date:
    text = (text or "").strip()
    if not text:
        return default
    for shape in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, shape).date()
        except ValueError:
            continue
    errors[field] = gettext(
        "%(label)s: “%(text)s” không phải ngày hợp lệ (dd/mm/yyyy).", label=gettext(label), text=text
    )
    return default


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), VN)
