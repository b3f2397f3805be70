"""The satisfaction report as rows for XLSX or CSV (web.supervise.report writes them): a Vietnamese
document in every interface language, like the statistics report."""

from __future__ import annotations

from engine.store.satisfaction_queries import CRITERIA
from web.supervise import report

TITLE = "BÁO CÁO MỨC ĐỘ HÀI LÒNG CỦA NGƯỜI DÂN, DOANH NGHIỆP"
CRITERIA_VI = {
    "time": "Thời gian giải quyết",
    "attitude": "Thái độ của cán bộ",
    "information": "Thông tin, hướng dẫn",
    "result": "Kết quả giải quyết",
}


def rows(tables: dict, range_text: str, scope_text: str, generated_at) -> list[list]:
    header = ["Số lượt đánh giá", *(f"{CRITERIA_VI[c]}: hài lòng (%)" for c in CRITERIA), "Chung: hài lòng (%)"]
    lines: list[list] = [
        [TITLE],
        [f"Kỳ báo cáo: {range_text}", f"Lập lúc: {generated_at:%H:%M ngày %d/%m/%Y}", f"Phạm vi: {scope_text}"],
    ]
    for heading, first, rows in (
        (report.COMMUNES, "Mã", tables["communes"]),
        (report.PROCEDURES, "Mã thủ tục", tables["procedures"]),
        ("Theo cán bộ (đã xử lý hồ sơ được đánh giá)", "Tài khoản", tables["officers"]),
    ):
        lines += [[], [heading], [first, "Tên", *header]]
        lines += [[row.key, row.label, *_cells(row)] for row in rows]
    lines.append(["", report.TOTAL, *_cells(tables["total"])])
    lines += [
        [],
        [report.LEGEND],
        ["Hài lòng (%)", "Tỷ lệ lượt đánh giá «Hài lòng» hoặc «Rất hài lòng» trên số lượt đánh giá của tiêu chí"],
    ]
    return lines


def _cells(row) -> list:
    return [row.ratings, *(report.percent(row.satisfied[c]) for c in CRITERIA), report.percent(row.overall)]
