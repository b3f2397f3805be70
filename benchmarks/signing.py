"""What a signed result costs the worker: a result page like engine/templates/result.html laid out
to PDF by WeasyPrint (the baseline, measured in the same run), then the same PDF signed PAdES by
pyHanko with a commune's certificate from a CA made here, then checked as the lookup page checks
it. Prints per-step milliseconds, then one JSON object as the last line.

BENCH_RESULTS sets how many results are made (default 20)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

from engine import pdf  # noqa: E402
from engine import pki  # noqa: E402
from engine import signing  # noqa: E402


def page(number: int) -> str:
    return pdf.render_template(
        "result.html",
        fonts=pdf.FONTS,
        code=f"01.00070-261203-{number:04d}",
        applicant="Trần Thị Bình",
        id_number="001099012345",
        result_name="Giấy xác nhận tình trạng hôn nhân",
        procedure="Cấp Giấy xác nhận tình trạng hôn nhân",
        procedure_code="1.004873",
        unit="Phường Hoàn Kiếm",
        province="Thành phố Hà Nội",
        place_date="Phường Hoàn Kiếm, ngày 03 tháng 12 năm 2026",
        received="08 giờ 00, ngày 03 tháng 12 năm 2026",
        opinion="Đủ điều kiện",
        leader="Nguyễn Văn Lãnh Đạo",
        leader_title="CHỦ TỊCH",
        qr=pdf.qr_svg(f"https://dichvucong.example.vn/tra-cuu?ma=01.00070-261203-{number:04d}"),
    )


def main() -> None:
    count = int(os.environ.get("BENCH_RESULTS", "20"))
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder:
        settings = signing.load_settings(
            pki.write_demo_settings(
                Path(folder), {"00070": "UBND Phường Hoàn Kiếm"}, now, password_env=None, password=b"bench"
            )
        )
        certificate = settings.for_unit(["00070"])
        pdf.html_to_pdf(page(0))  # fonts and WeasyPrint's imports warmed up
        render, sign, verify = [], [], []
        for number in range(1, count + 1):
            started = time.perf_counter()
            document = pdf.html_to_pdf(page(number))
            rendered = time.perf_counter()
            signed = signing.sign_pdf(document, certificate, reason="Ký duyệt kết quả", location="Hà Nội", at=now)
            done = time.perf_counter()
            assert signing.verify_pdf(signed, settings.trust_roots, now).valid
            checked = time.perf_counter()
            render.append((rendered - started) * 1000)
            sign.append((done - rendered) * 1000)
            verify.append((checked - done) * 1000)
    summary = {
        "results": count,
        "render_ms_median": round(statistics.median(render), 1),
        "sign_ms_median": round(statistics.median(sign), 1),
        "verify_ms_median": round(statistics.median(verify), 1),
        "size_kb": round(len(signed) / 1024, 1),
    }
    summary["ratio_signed_vs_render"] = round(
        (summary["render_ms_median"] + summary["sign_ms_median"]) / summary["render_ms_median"], 2
    )
    print(
        f"{count} results: render {summary['render_ms_median']} ms, sign {summary['sign_ms_median']} ms, "
        f"verify {summary['verify_ms_median']} ms (medians); {summary['size_kb']} KB each"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
