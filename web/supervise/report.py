"""The statistics report as a table of rows, then as XLSX (openpyxl) or CSV (UTF-8 with BOM, so
Excel reads the Vietnamese text). Both files are written from the same rows, so they hold the
same numbers; the rows are built from the dashboard's own tables."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font

from engine.services.supervision import Dashboard
from engine.store.statistics import Figures
from engine.store.statistics import Row

COLUMNS = ("Mã", "Tên", "Tiếp nhận", "Đang xử lý: chưa đến hạn", "Đang xử lý: quá hạn", "Đã giải quyết",
           "Trước hạn", "Đúng hạn", "Quá hạn", "Kết thúc khác (từ chối, dừng)", "Tỷ lệ đúng hạn (%)")
TITLE = "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH"
HEADINGS = (TITLE, "Theo xã/phường", "Theo thủ tục", COLUMNS[0])


def range_text(found) -> str:
    """The report's period (a web.supervise.filters.Filters); the report is a Vietnamese document in
    every interface language, like the printed forms."""
    return f"từ ngày {found.date_from:%d/%m/%Y} đến ngày {found.date_to:%d/%m/%Y}"


def scope_text(found, options) -> str:
    """The communes and procedures the report covers (options: supervision.FilterOptions)."""
    communes, procedures = dict(options.communes), dict(options.procedures)
    where = communes.get(found.commune, "") if found.commune else f"{len(communes)} xã/phường được giám sát"
    what = procedures.get(found.procedure, "") if found.procedure else "mọi thủ tục"
    return f"{where}; {what}"


def rate_percent(figures) -> float | None:
    """The on-time rate in percent, one decimal; None when nothing was completed."""
    rate = figures.on_time_rate
    return None if rate is None else round(rate * 100, 1)


def figure_cells(figures: Figures) -> list:
    return [figures.received, figures.not_due, figures.overdue, figures.completed, figures.early,
            figures.on_time, figures.late, figures.ended_other, rate_percent(figures)]


def rows(board: Dashboard, range_text: str, scope_text: str, generated_at: datetime) -> list[list]:
    """The report: title, one header line with the range and the time it was made, then the
    per-commune and per-procedure tables, each with its total."""
    lines: list[list] = [[TITLE],
                         [f"Kỳ báo cáo: {range_text}", f"Lập lúc: {generated_at:%H:%M ngày %d/%m/%Y}",
                          f"Phạm vi: {scope_text}"]]
    for heading, table in (("Theo xã/phường", board.communes), ("Theo thủ tục", board.procedures)):
        lines += [[], [heading], list(COLUMNS)]
        lines += [_line(row) for row in table]
        lines.append(["", "Tổng cộng", *figure_cells(_total(table))])
    return lines


def _line(row: Row) -> list:
    return [row.key, row.label, *figure_cells(row.figures)]


def _total(table: list[Row]) -> Figures:
    fields = ("received", "not_due", "overdue", "early", "on_time", "late", "ended_other")
    return Figures(**{name: sum(getattr(row.figures, name) for row in table) for name in fields})


def to_xlsx(lines: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Thống kê"
    for line in lines:
        sheet.append([cell if cell is not None else "" for cell in line])
    bold = Font(bold=True)
    for line, row in zip(lines, sheet.iter_rows()):
        if _is_heading(line):
            for cell in row:
                cell.font = bold
    sheet.column_dimensions["B"].width = 48
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _is_heading(line: list) -> bool:
    return bool(line) and (line[0] in HEADINGS or (len(line) > 1 and line[1] == "Tổng cộng"))


def to_csv(lines: list[list]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    for line in lines:
        writer.writerow(["" if cell is None else cell for cell in line])
    return text.getvalue().encode("utf-8-sig")
