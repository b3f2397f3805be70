"""The statistics report as a table of rows, then as XLSX (openpyxl) or CSV (UTF-8 with BOM, so
Excel reads the Vietnamese text). Both files are written from the same rows, so they hold the
same numbers; the rows are built from the dashboard's own tables, with the figures' names and
meanings of engine.domain.figures, in Vietnamese whatever the interface language (the report is
an official document, like the printed forms)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from engine.domain import figures as definitions
from engine.services.supervision import Dashboard
from engine.store.statistics import Figures
from engine.store.statistics import OfficerRow
from engine.store.statistics import Row
from web.refusals import engine_messages

#: The report's figures: the dashboard's, with receipts split by channel (counter, online, post).
REPORT_COLUMNS = (
    "carried_over",
    "received",
    "received_counter",
    "received_online",
    "received_post",
    "not_due",
    "overdue",
    "paused",
    "done",
    "early",
    "on_time",
    "late",
    "withdrawn_stopped",
    "on_time_rate",
)
TITLE = "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH"
COMMUNES, PROCEDURES, OFFICERS, LEGEND = (
    "Theo xã/phường",
    "Theo thủ tục",
    "Theo cán bộ (các bước đã xử lý)",
    "Cách tính các số liệu",
)
HEADINGS = (TITLE, COMMUNES, PROCEDURES, OFFICERS, LEGEND, "Mã", "Mã thủ tục", "Tài khoản")
TOTAL = "Tổng cộng"


def vietnamese(text: str) -> str:
    """A figure's name or meaning (English in the engine) in Vietnamese, in every interface language."""
    with force_locale("vi"):
        return engine_messages.gettext(text)


def column_names(keys, by_key) -> list[str]:
    return [vietnamese(by_key[key].name) + (" (%)" if key.endswith("on_time_rate") else "") for key in keys]


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


def percent(rate: float | None) -> float | None:
    """A rate in percent, one decimal; None when there is no rate."""
    return None if rate is None else round(rate * 100, 1)


def figure_cells(found: Figures) -> list:
    return [percent(found.on_time_rate) if key == "on_time_rate" else found.value(key) for key in REPORT_COLUMNS]


def officer_cells(row: OfficerRow) -> list:
    return [
        percent(row.step_on_time_rate) if key == "step_on_time_rate" else getattr(row, key)
        for key in definitions.STEP_COLUMNS
    ]


def rows(board: Dashboard, range_text: str, scope_text: str, generated_at: datetime) -> list[list]:
    """The report: title, one header line with the period and the time it was made, the
    per-commune and per-procedure tables, each with its total, the officers' steps, and what each
    figure means."""
    lines: list[list] = [
        [TITLE],
        [f"Kỳ báo cáo: {range_text}", f"Lập lúc: {generated_at:%H:%M ngày %d/%m/%Y}", f"Phạm vi: {scope_text}"],
    ]
    figure_header = column_names(REPORT_COLUMNS, definitions.BY_KEY)
    for heading, first, table in ((COMMUNES, "Mã", board.communes), (PROCEDURES, "Mã thủ tục", board.procedures)):
        lines += [[], [heading], [first, "Tên", *figure_header]]
        lines += [[row.code, row.label, *figure_cells(row.figures)] for row in table]
        lines.append(["", TOTAL, *figure_cells(_total(table))])
    lines += [
        [],
        [OFFICERS],
        ["Tài khoản", "Họ và tên", *column_names(definitions.STEP_COLUMNS, definitions.STEP_BY_KEY)],
    ]
    lines += [[row.username, row.full_name, *officer_cells(row)] for row in board.officers]
    lines += [[], [LEGEND]]
    lines += [
        [vietnamese(figure.name), vietnamese(figure.meaning)]
        for figure in definitions.FIGURES + definitions.STEP_FIGURES
    ]
    return lines


def _total(table: list[Row]) -> Figures:
    return sum((row.figures for row in table), Figures())


def to_xlsx(lines: list[list]) -> bytes:
    # Written row by row (openpyxl's write-only book): a province's report is a few thousand cells,
    # which a book kept whole in memory took twice as long to write.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Thống kê")
    sheet.column_dimensions["B"].width = 48
    bold = Font(bold=True)
    for line in lines:
        cells = ["" if cell is None else cell for cell in line]
        if _is_heading(line):
            cells = [_styled(sheet, cell, bold) for cell in cells]
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _styled(sheet, value, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = font
    return cell


def _is_heading(line: list) -> bool:
    return bool(line) and (line[0] in HEADINGS or (len(line) > 1 and line[1] == TOTAL))


def to_csv(lines: list[list]) -> bytes:
    return b"".join(csv_chunks(lines))


def csv_chunks(lines: list[list], lines_a_chunk: int = 200):
    """The CSV a few hundred lines at a time, the first with the BOM: what a streamed answer sends
    while the rest is written."""
    text = io.StringIO()
    writer = csv.writer(text)
    for start in range(0, len(lines), lines_a_chunk):
        for line in lines[start : start + lines_a_chunk]:
            writer.writerow(["" if cell is None else cell for cell in line])
        yield text.getvalue().encode("utf-8-sig" if start == 0 else "utf-8")
        text.seek(0)
        text.truncate()
