"""The officers' KPI page as a supervisor uses it: March 2026 per officer (full names) and per
commune, the quick periods, the drill-down from an officer's figure to the steps behind it, the
XLSX/CSV report, a bad filter named, and nobody seeing a commune they do not supervise."""

from __future__ import annotations

import csv
import io

import pytest
from lxml import html
from openpyxl import load_workbook

from engine.store.records import UserRecord
from tests.factories import deploy_fixture
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.conftest import login
from tests.web.test_supervise import month  # noqa: F401  (fixture)
from tests.web.test_supervise import page

MARCH = "tu=2026-03-01&den=2026-03-31"


def rows(text: str, table_id: str) -> dict[str, list[str]]:
    tree = html.fromstring(text)
    return {
        cells[0]: cells[1:]
        for cells in (
            [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
            for tr in tree.xpath(f'//table[@id="{table_id}"]/tbody/tr')
        )
    }


def test_the_kpi_page_shows_each_officer_by_full_name_and_each_commune(client, month):
    login(client, "giam_sat")
    text = page(client, f"/giam-sat/kpi?{MARCH}")
    officers = rows(text, "can-bo")
    # dossiers, early, on time, late, no deadline, rate, median, p90, returns, supplements, reassigned, letters
    x = officers["Lê Văn X"]
    assert x[0] == "Phường Cửa Nam" and x[1:6] == ["1", "1", "3", "1", "0"] and x[6] == "80,0%"
    assert x[7].startswith("≈") and x[9:] == ["0", "0", "0", "0"]
    assert "mot_cua_1" in officers and "Phạm Thị Y" not in officers  # Sài Gòn is not supervised here
    communes = rows(text, "xa")
    assert set(communes) == {"Phường Hoàn Kiếm", "Phường Cửa Nam"}
    assert communes["Phường Hoàn Kiếm"][0] == "3"  # early, on time, rejected: the two others wait untouched
    assert 'data-period="quarter"' in text and "tu=2026-01-01&amp;den=2026-03-31" in text
    assert "Mức hài lòng" not in text  # no ratings yet: no column


def test_an_officers_figure_opens_the_steps_behind_it(client, month):
    login(client, "giam_sat")
    text = page(client, f"/giam-sat/kpi/can-bo/can_bo_x?{MARCH}&chi_so=step_late")
    assert "Chỉ số của cán bộ Lê Văn X" in text
    lines = rows(text, "danh-sach")
    assert len(lines) == 1 and month.late.code in lines
    everything = rows(page(client, f"/giam-sat/kpi/can-bo/can_bo_x?{MARCH}"), "danh-sach")
    assert len(everything) == 1 and "Thời gian xử lý" in page(client, f"/giam-sat/kpi/can-bo/can_bo_x?{MARCH}")
    bad = page(client, f"/giam-sat/kpi/can-bo/can_bo_x?{MARCH}&chi_so=luong", status=400)
    assert 'data-field="chi_so"' in bad


def test_the_kpi_report_downloads_as_xlsx_and_csv_with_the_same_numbers(client, month):
    login(client, "giam_sat")
    answer = client.get(f"/giam-sat/kpi.csv?{MARCH}")
    assert answer.status_code == 200 and answer.headers["Content-Disposition"].endswith('20260331.csv"')
    lines = list(csv.reader(io.StringIO(answer.get_data().decode("utf-8-sig"))))
    assert lines[0] == ["BÁO CÁO CHỈ SỐ ĐÁNH GIÁ CÁN BỘ (KPI)"]
    x = next(line for line in lines if line[:1] == ["can_bo_x"])
    assert x[1:8] == ["Lê Văn X", "Phường Cửa Nam", "1", "1", "3", "1", "0"]
    book = load_workbook(io.BytesIO(client.get(f"/giam-sat/kpi.xlsx?{MARCH}").get_data()))
    sheet_rows = [[("" if c is None else str(c)) for c in row] for row in book.active.iter_rows(values_only=True)]
    assert next(row for row in sheet_rows if row[0] == "can_bo_x")[1:8] == x[1:8]


def test_the_procedure_filter_narrows_every_figure_the_drill_down_and_the_export(client, month, web_rt):
    deploy_fixture(web_rt, "escalate_to_leader")  # published, nothing received under it in March
    login(client, "giam_sat")
    everything = page(client, f"/giam-sat/kpi?{MARCH}")
    five = page(client, f"/giam-sat/kpi?{MARCH}&thu_tuc=five_steps")
    assert rows(five, "can-bo") == rows(everything, "can-bo") and rows(five, "xa") == rows(everything, "xa")
    assert '<option value="five_steps" selected>' in five
    other = page(client, f"/giam-sat/kpi?{MARCH}&thu_tuc=escalate_to_leader")
    assert "Không có cán bộ nào xử lý bước trong kỳ." in other
    assert all(cells[0] == "0" for cells in rows(other, "xa").values())  # no dossier handled
    assert "thu_tuc=escalate_to_leader" in html.fromstring(other).xpath('string(//a[text()="Tải CSV"]/@href)')
    lines = list(
        csv.reader(
            io.StringIO(
                client.get(f"/giam-sat/kpi.csv?{MARCH}&thu_tuc=escalate_to_leader").get_data().decode("utf-8-sig")
            )
        )
    )
    assert not any(line[:1] == ["can_bo_x"] for line in lines)
    assert "Escalate" in " ".join(lines[1])  # the report names the procedure it covers
    drill = page(client, f"/giam-sat/kpi/can-bo/can_bo_x?{MARCH}&chi_so=step_late&thu_tuc=escalate_to_leader")
    assert month.late.code not in drill and month.late.code in page(
        client, f"/giam-sat/kpi/can-bo/can_bo_x?{MARCH}&chi_so=step_late&thu_tuc=five_steps"
    )
    unknown = page(client, f"/giam-sat/kpi?{MARCH}&thu_tuc=khong_co", status=400)
    assert 'data-field="thu_tuc"' in unknown


def test_a_bad_period_is_named_and_other_provinces_stay_hidden(client, month):
    login(client, "giam_sat")
    assert 'data-field="den"' in page(client, "/giam-sat/kpi?tu=2026-03-10&den=2026-03-01", status=400)
    login(client, "giam_sat_79")
    text = page(client, f"/giam-sat/kpi?{MARCH}")
    assert "Lê Văn X" not in text and "Phạm Thị Y" in text


@pytest.mark.browser
def test_in_a_browser_the_kpi_tables_fit_a_desktop_and_scroll_on_a_phone(app, month, chromium, web_rt):  # noqa: F811
    with web_rt.db.session() as s:  # as long as the demo's officers' names
        s.get(UserRecord, "can_bo_x").full_name = "Bộ phận Một cửa (Trung tâm Phục vụ hành chính công xã) 1 (00073)"
    with live_server(app) as server:
        tab = open_browser(chromium, server, "giam_sat", home="/giam-sat/")
        tab.set_viewport_size({"width": 1280, "height": 800})
        tab.goto(f"{server}/giam-sat/kpi?{MARCH}")
        assert tab.locator("#can-bo tbody tr").count() == 4
        for table in ("#can-bo", "#xa"):  # every column in sight: nothing scrolls sideways
            box = tab.locator(f".table-scroll:has({table})")
            assert box.evaluate("b => b.scrollWidth <= b.clientWidth"), table
        header = tab.locator('#can-bo th[data-kpi="median_minutes"]')
        assert header.inner_text() == "TG trung vị" and "trung vị" in header.get_attribute("title")
        screenshot(tab, "supervise-kpi")
        tab.locator('#can-bo a[data-figure="step_late"]').first.click()
        tab.wait_for_selector("#danh-sach")
        assert "chi_so=step_late" in tab.url
        screenshot(tab, "supervise-kpi-officer")
        tab.set_viewport_size({"width": 390, "height": 844})
        tab.goto(f"{server}/giam-sat/kpi?{MARCH}")
        page_width = tab.evaluate("document.documentElement.scrollWidth")
        assert page_width <= 400  # the wide tables scroll inside their box, not the page
        screenshot(tab, "supervise-kpi-phone")
        assert tab.problems == []
