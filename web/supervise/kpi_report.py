"""The officers' KPI report as rows for XLSX or CSV (written by web.supervise.report's writers):
per officer with their full name and commune, per commune, the total, and what each figure
counts; Vietnamese in every interface language (an official document, like the statistics report).
Working times are in working hours (8 to a working day)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import force_locale
from flask_babel import gettext

from engine.domain import kpi
from engine.store.kpi_queries import KpiTables
from web.supervise.report import percent
from web.supervise.report import range_text
from web.supervise.report import scope_text
from web.supervise.report import to_csv
from web.supervise.report import to_xlsx

__all__ = ["rows", "range_text", "scope_text", "to_csv", "to_xlsx"]

TITLE = "BÁO CÁO CHỈ SỐ ĐÁNH GIÁ CÁN BỘ (KPI)"
OFFICERS, UNITS, LEGEND = "Theo cán bộ", "Theo xã/phường", "Cách tính các chỉ số"
TOTAL = "Tổng cộng"


def cell(row: kpi.Kpi, key: str):
    if key == "on_time_rate":
        return percent(row.on_time_rate)
    if key in ("median_minutes", "p90_minutes"):
        minutes = getattr(row, key)
        return None if minutes is None else round(minutes / 60, 1)
    if key == "satisfaction":
        return row.satisfaction
    return row.counts[key]


def rows(tables: KpiTables, columns, satisfaction, period: str, scope: str, generated_at: datetime) -> list[list]:
    with force_locale("vi"):
        shown = columns + ((satisfaction,) if any(r.satisfaction is not None for r in tables.officers) else ())
        header = [
            gettext(name) + (" (giờ làm việc)" if key.endswith("_minutes") else " (%)" if key == "on_time_rate" else "")
            for key, name, _ in shown
        ]
        lines: list[list] = [
            [TITLE],
            [f"Kỳ báo cáo: {period}", f"Lập lúc: {generated_at:%H:%M ngày %d/%m/%Y}", f"Phạm vi: {scope}"],
        ]
        lines += [[], [OFFICERS], ["Tài khoản", "Họ và tên", "Xã/phường", *header]]
        lines += [[r.key, r.name, r.unit, *(cell(r, key) for key, _, _ in shown)] for r in tables.officers]
        lines += [[], [UNITS], ["Mã", "Tên", "", *header]]
        lines += [[r.key, r.name, "", *(cell(r, key) for key, _, _ in shown)] for r in tables.units]
        lines.append(["", TOTAL, "", *(cell(tables.total, key) for key, _, _ in shown)])
        lines += [[], [LEGEND]] + [[gettext(name), gettext(meaning)] for _, name, meaning in shown]
    return lines
