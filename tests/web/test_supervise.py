"""The supervisor's dashboard as a supervisor uses it: counts, rate and tables for March 2026,
filters through htmx, the dossiers behind a number, the at-risk list, the escalation log, the
XLSX/CSV report, and that nobody sees a commune they do not supervise."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from lxml import html
from openpyxl import load_workbook
from sqlalchemy import select

from engine.domain import figures
from engine.services import sla
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import UserRecord
from tests.conftest import vn
from tests.engine.test_statistics import build_month
from tests.engine.test_statistics import start
from tests.engine.test_statistics import work
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.conftest import login

HEADERS = [
    "Kỳ trước chuyển qua",
    "Mới tiếp nhận",
    "Đang xử lý: chưa đến hạn",
    "Đang xử lý: quá hạn",
    "Tạm dừng",
    "Đã giải quyết",
    "Giải quyết trước hạn",
    "Giải quyết đúng hạn",
    "Giải quyết quá hạn",
    "Rút, dừng, từ chối",
    "Tỷ lệ đúng hạn",
]
# carried over, received, not yet due, overdue, paused, done, early, on time, late, withdrawn / stopped, rate
HOAN_KIEM = ["0", "5", "1", "1", "0", "2", "1", "1", "0", "1", "100,0%"]
CUA_NAM = ["0", "1", "0", "0", "0", "1", "0", "0", "1", "0", "0,0%"]
HANOI = ["0", "6", "1", "1", "0", "3", "1", "1", "1", "1", "66,7%"]


@pytest.fixture
def month(web_rt, clock):
    """March 2026 as tests/engine/test_statistics.py builds it; now is Thursday 5 March, 09:00.
    Plus a supervisor of Hồ Chí Minh City (province 79), whose commune Sài Gòn has one dossier."""
    built = build_month(web_rt, clock)
    with web_rt.db.session() as s:
        password_hash = s.get(UserRecord, "giam_sat").password_hash
        s.add(
            UserRecord(
                username="giam_sat_79",
                full_name="Giám sát TP.HCM",
                unit_code="79",
                roles="supervisor",
                password_hash=password_hash,
            )
        )
    return built


def page(client, url, status=200, **headers) -> str:
    answer = client.get(url, headers=headers)
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


def table(text: str, table_id: str) -> dict[str, list[str]]:
    """A table's rows as {first cell (or data-key): other cells' text}."""
    tree = html.fromstring(text)
    rows = {}
    for tr in tree.xpath(f'//table[@id="{table_id}"]/tbody/tr'):
        cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        rows[cells[0]] = cells[1:]
    return rows


def test_the_dashboard_counts_march_with_rate_per_commune_procedure_and_officer(client, month):
    login(client, "giam_sat")
    text = page(client, "/giam-sat/")

    assert "từ ngày 01/03/2026 đến ngày 31/03/2026" in text
    tree = html.fromstring(text)
    headers = [" ".join(th.text_content().split()) for th in tree.xpath('//table[@id="tong-hop"]/thead/tr/th')]
    assert headers == HEADERS
    [summary] = [
        [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        for tr in tree.xpath('//table[@id="tong-hop"]/tbody/tr')
    ]
    assert summary == HANOI
    assert tree.xpath('string(//*[@id="ty-le"])') == "66,7%"
    assert table(text, "theo-xa") == {"Phường Hoàn Kiếm": HOAN_KIEM, "Phường Cửa Nam": CUA_NAM}
    assert table(text, "theo-thu-tuc") == {"Five steps": HANOI}
    officers = table(text, "theo-can-bo")  # full names; an account without one shows its user name
    assert officers["mot_cua_1"] == ["5", "0", "4", "1", "0", "80,0%"]
    assert officers["Lê Văn X"] == ["5", "1", "3", "1", "0", "80,0%"]
    assert set(officers) == {"mot_cua_1", "chuyen_vien_1", "lanh_dao_1", "Lê Văn X"}
    # The charts are drawn from the same figures, embedded in the page.
    chart = json.loads(tree.xpath('string(//script[@id="supervise-chart-data"])'))
    assert chart["results"]["values"] == [1, 1, 1]
    assert dict(zip(chart["by_commune"]["labels"], chart["by_commune"]["late"])) == {
        "Phường Cửa Nam": 1,
        "Phường Hoàn Kiếm": 0,
    }
    assert "/vendor/chart.js/chart.umd.min.js" in text


def test_filters_swap_the_tables_through_htmx_and_bad_input_names_the_field(client, month):
    login(client, "giam_sat")
    partial = page(client, "/giam-sat/?xa=00073&tu=2026-03-01&den=2026-03-31", **{"HX-Request": "true"})
    assert "<html" not in partial and "<table" in partial
    assert table(partial, "theo-xa") == {"Phường Cửa Nam": CUA_NAM}
    assert table(partial, "tong-hop") == {"0": CUA_NAM[1:]}

    # Monday 2 to Tuesday 3 March: five received, the early one and the rejection finished.
    early_week = page(client, "/giam-sat/?tu=02/03/2026&den=03/03/2026")
    assert table(early_week, "tong-hop") == {"0": ["5", "3", "0", "0", "1", "1", "0", "0", "1", "100,0%"]}

    wrong = page(client, "/giam-sat/?tu=31-02-2026", status=400)
    assert "Từ ngày: “31-02-2026” không phải ngày hợp lệ" in wrong and 'id="tong-hop"' not in wrong
    assert "Đến ngày phải bằng hoặc sau Từ ngày" in page(client, "/giam-sat/?tu=2026-03-10&den=2026-03-01", status=400)
    assert "không thuộc phạm vi giám sát" in page(client, "/giam-sat/?xa=26734", status=400, **{"HX-Request": "true"})
    assert "Thủ tục: không có quy trình" in page(client, "/giam-sat/?thu_tuc=khong_co", status=400)


def test_a_number_opens_the_dossiers_behind_it_with_links(client, month):
    login(client, "giam_sat")
    dashboard = html.fromstring(page(client, "/giam-sat/"))
    [late_link] = dashboard.xpath('//table[@id="theo-xa"]//tr[@data-key="00073"]//a[@data-bucket="late"]')
    listing = page(client, late_link.get("href"))

    assert "Giải quyết quá hạn" in listing
    rows = table(listing, "ho-so")
    assert list(rows) == [month.late.code]
    procedure, commune, received, appointment, status, result = rows[month.late.code]
    assert (procedure, commune, received, appointment, status) == (
        "Five steps",
        "Phường Cửa Nam",
        "08:00 ngày 02/03/2026",
        "17:00 ngày 04/03/2026",
        "Đã xử lý xong",
    )
    assert result.startswith("Quá hạn")

    overdue = table(page(client, "/giam-sat/ho-so?nhom=overdue"), "ho-so")
    assert list(overdue) == [month.overdue.code] and overdue[month.overdue.code][-1] == "—"
    assert len(table(page(client, "/giam-sat/ho-so?nhom=received"), "ho-so")) == 6

    detail = page(client, f"/giam-sat/ho-so/{month.late.code}")
    assert html.fromstring(detail).xpath('string(//*[@id="kenh-tiep-nhan"])') == "Trực tiếp"
    steps = table(detail, "cac-buoc")
    assert list(steps) == ["Tiếp nhận", "Thẩm định", "Dự thảo kết quả", "Ký duyệt", "Trả kết quả"]
    assert steps["Tiếp nhận"][1] == "can_bo_x" and steps["Tiếp nhận"][-1].startswith("Quá hạn")
    assert "không phải một nhóm" in page(client, "/giam-sat/ho-so?nhom=tat_ca", status=400)


def test_every_figure_lists_exactly_as_many_dossiers_as_it_counts(client, month):
    login(client, "giam_sat")
    summary = client.get("/giam-sat/so-lieu.json").get_json()["summary"]
    for key in figures.LISTABLE:
        rows = table(page(client, f"/giam-sat/ho-so?nhom={key}"), "ho-so")
        listed = [code for code in rows if not code.startswith("Không có hồ sơ")]
        assert len(listed) == summary[key], key
    assert summary["carried_over"] + summary["received"] == (
        summary["done"] + summary["withdrawn_stopped"] + summary["in_progress"] + summary["paused"]
    )


def test_the_page_says_what_each_figure_means_in_vietnamese_and_english(client, month):
    login(client, "giam_sat")
    tree = html.fromstring(page(client, "/giam-sat/"))
    legend = {dt.get("data-figure"): dt.getnext().text_content() for dt in tree.xpath('//*[@id="dinh-nghia"]//dt')}
    assert set(legend) == {figure.key for figure in figures.FIGURES}
    assert legend["carried_over"] == "Tiếp nhận trước kỳ và chưa kết thúc vào đầu kỳ."
    assert "không bao giờ tính là quá hạn" in legend["paused"]
    [paused_header] = tree.xpath('//table[@id="tong-hop"]//th[@data-figure="paused"]')
    assert paused_header.text_content() == "Tạm dừng" and paused_header.get("title") == legend["paused"]
    assert tree.xpath('string(//*[@id="dinh-nghia-can-bo"]//dt[@data-figure="steps_done"])') == "Bước đã xử lý"
    listing = html.fromstring(page(client, "/giam-sat/ho-so?nhom=overdue"))
    assert listing.xpath('string(//*[@id="dinh-nghia"])').startswith("Đang xử lý, hạn trả đã qua trước cuối kỳ")

    client.get("/ngon-ngu/en?next=/giam-sat/")
    english = html.fromstring(page(client, "/giam-sat/"))
    assert english.xpath('string(//table[@id="tong-hop"]//th[@data-figure="carried_over"])') == "Carried over"
    assert english.xpath('string(//*[@id="dinh-nghia"]//dt[@data-figure="paused"]/following-sibling::dd[1])') == (
        figures.BY_KEY["paused"].meaning
    )


def test_officer_page_lists_the_steps_they_completed(client, month):
    login(client, "giam_sat")
    steps = table(page(client, "/giam-sat/can-bo/lanh_dao_1"), "buoc")
    assert sorted(steps) == sorted([month.early.code, month.on_time.code])
    assert all(cells[1] == "Ký duyệt" and cells[-1].startswith("Đúng hạn") for cells in steps.values())


def test_a_supervisor_of_another_province_sees_nothing_of_hanoi(client, month):
    login(client, "giam_sat_79")
    text = page(client, "/giam-sat/")
    assert table(text, "theo-xa") == {"Phường Sài Gòn": ["0", "1", "0", "0", "0", "1", "1", "0", "0", "0", "100,0%"]}
    assert "Hoàn Kiếm" not in text and "Cửa Nam" not in text
    assert list(table(page(client, "/giam-sat/ho-so?nhom=received"), "ho-so")) == [month.elsewhere.code]
    assert "không thuộc phạm vi giám sát" in page(client, "/giam-sat/?xa=00070", status=400)
    page(client, f"/giam-sat/ho-so/{month.late.code}", status=404)
    assert table(page(client, "/giam-sat/can-bo/mot_cua_1"), "buoc") == {
        "Không có bước nào trong kỳ ở các xã/phường bạn giám sát.": []
    }
    assert "Không có hồ sơ nào có nguy cơ" in page(client, "/giam-sat/nguy-co")
    export = client.get("/giam-sat/bao-cao.csv").get_data().decode("utf-8-sig")
    assert "Hoàn Kiếm" not in export and "Phường Sài Gòn" in export


def test_only_supervisors_open_the_dashboard(client, month):
    assert client.get("/giam-sat/").status_code == 302  # to the log-in page
    login(client, "chuyen_vien_1")
    assert client.get("/giam-sat/").status_code == 403
    assert client.get("/giam-sat/bao-cao.xlsx").status_code == 403


def test_at_risk_lists_open_dossiers_projected_to_miss_their_appointment(client, month):
    """Thursday 09:00: the dossier received Wednesday 10:00 is still at reception; its later steps
    need 2.5 working days, past its appointment on Monday 10:00. The untouched Monday dossier has
    already missed its appointment: it is overdue, not at risk."""
    login(client, "giam_sat")
    text = page(client, "/giam-sat/nguy-co")
    rows = table(text, "nguy-co")
    assert list(rows) == [month.not_due.code]
    cells = rows[month.not_due.code]
    assert cells[3] == "10:00 ngày 09/03/2026" and cells[5] == "Tiếp nhận"
    assert "Cần phiếu xin lỗi và hẹn lại" in cells[6]
    assert cells[7:] == ["14:00 ngày 09/03/2026", "3 giờ"]
    assert table(page(client, "/giam-sat/nguy-co?xa=00073"), "nguy-co") == {
        "Không có hồ sơ nào có nguy cơ trễ hẹn.": []
    }
    assert "nguy-co-con-nua" not in text


def test_the_at_risk_list_shows_the_nearest_appointments_and_says_when_more_follow(client, month, monkeypatch):
    from web.supervise import views

    login(client, "giam_sat")
    monkeypatch.setattr(views, "AT_RISK_SHOWN", 0)  # one at risk: more than the page shows
    text = page(client, "/giam-sat/nguy-co")
    assert "(0 hồ sơ mỗi trang, theo hạn trả)" in text and month.not_due.code not in text
    after = html.fromstring(text).get_element_by_id("trang-sau").get("href")
    assert "trang-dau" in page(client, after)


def test_the_at_risk_list_goes_on_page_by_page_in_appointment_order(client, month, web_rt, clock, monkeypatch):
    """Six dossiers at risk, two a page: following "next page" gives each once, by appointment
    (received at the same minute: by number), whether the sweep has forecast them or not yet."""
    from web.supervise import views

    now = clock.now()
    with web_rt.db.read_session() as s:
        five = s.scalar(select(ProcessDefinitionRecord).where(ProcessDefinitionRecord.key == "five_steps"))
    clock.set(vn(2026, 3, 4, 10, 0))  # with the month's "Em": three received at once, two later
    same_minute = [start(web_rt, five, name=f"Cùng giờ {n}") for n in range(2)]
    clock.set(vn(2026, 3, 4, 11, 0))
    later = [start(web_rt, five, name=f"Sau {n}") for n in range(3)]
    clock.set(now)
    sla.ask_for_apologies(web_rt)  # these five forecast by the worker, stored; one changed since:
    clock.set(now + timedelta(minutes=5))
    work(web_rt, later[-1], steps=1)
    expected = [month.not_due.code] + [d.code for d in same_minute] + [d.code for d in later]

    login(client, "giam_sat")
    monkeypatch.setattr(views, "AT_RISK_SHOWN", 2)
    pages, link = [], "/giam-sat/nguy-co"
    while link:
        text = page(client, link)
        pages.append(list(table(text, "nguy-co")))
        found = html.fromstring(text).xpath('//a[@id="trang-sau"]/@href')
        link = found[0] if found else None
    assert pages == [expected[0:2], expected[2:4], expected[4:6]]
    stored = table(page(client, "/giam-sat/nguy-co"), "nguy-co")[month.not_due.code]
    assert "Dự báo lúc 09:00 ngày 05/03/2026." in stored[6]
    last = table(text, "nguy-co")[later[-1].code]
    assert "Dự báo lúc" not in last[6] and last[5] == "Thẩm định"  # projected now, at its new step


def test_a_drill_down_list_goes_on_page_by_page_from_the_last_one_shown(client, month, monkeypatch):
    """A page a dossier: following "next page" from the first gives the whole list, in its order,
    each dossier once; a position that is not one is refused."""
    from web.supervise import views

    login(client, "giam_sat")
    whole = list(table(page(client, "/giam-sat/ho-so?nhom=received"), "ho-so"))
    monkeypatch.setattr(views, "DOSSIERS_SHOWN", 1)
    seen, link = [], "/giam-sat/ho-so?nhom=received"
    while link:
        text = page(client, link)
        seen += list(table(text, "ho-so"))
        found = html.fromstring(text).xpath('//a[@id="trang-sau"]/@href')
        link = found[0] if found else None
    assert seen == whole and len(whole) >= 3
    assert client.get("/giam-sat/ho-so?nhom=received&sau=x~y").status_code == 400
    # An id beyond the database's integers names no dossier: the field is named, nothing fails.
    for listing in ("/giam-sat/ho-so?nhom=received&", "/giam-sat/nguy-co?"):
        assert "Trang: 2147483648" in page(client, f"{listing}sau=2147483648", status=400)


def test_the_escalation_log_shows_the_levels_fired_in_the_range(client, month, web_rt):
    sla.sweep(web_rt)
    login(client, "giam_sat")
    rows = page(client, "/giam-sat/leo-thang")
    tree = html.fromstring(rows)
    lines = [
        [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        for tr in tree.xpath('//table[@id="leo-thang"]/tbody/tr')
    ]
    assert sorted((line[1], line[3], line[4], line[5]) for line in lines) == sorted(
        [
            (month.overdue.code, "Tiếp nhận", "Cảnh báo sắp đến hạn", "1"),
            (month.overdue.code, "Tiếp nhận", "Quá hạn bước", "2"),
            (month.overdue.code, "—", "Yêu cầu xin lỗi, hẹn lại", "—"),
            (month.not_due.code, "Tiếp nhận", "Cảnh báo sắp đến hạn", "1"),
            (month.not_due.code, "Tiếp nhận", "Quá hạn bước", "2"),
            (month.not_due.code, "—", "Yêu cầu xin lỗi, hẹn lại", "—"),
        ]
    )
    assert all(line[0] == "09:00 ngày 05/03/2026" for line in lines)
    assert table(page(client, "/giam-sat/leo-thang?tu=2026-02-01&den=2026-02-28"), "leo-thang") == {
        "Không có cảnh báo hay chuyển cấp nào.": []
    }
    detail = html.fromstring(page(client, f"/giam-sat/ho-so/{month.overdue.code}"))
    assert len(detail.xpath('//table[@id="leo-thang"]/tbody/tr')) == 3


REPORT_HEADER = [
    "Kỳ trước chuyển qua",
    "Mới tiếp nhận",
    "Tiếp nhận trực tiếp",
    "Tiếp nhận trực tuyến",
    "Tiếp nhận qua bưu chính",
    "Đang xử lý: chưa đến hạn",
    "Đang xử lý: quá hạn",
    "Tạm dừng",
    "Đã giải quyết",
    "Giải quyết trước hạn",
    "Giải quyết đúng hạn",
    "Giải quyết quá hạn",
    "Rút, dừng, từ chối",
    "Tỷ lệ đúng hạn (%)",
]


def as_report(page_cells: list[str], counter: str, online: str = "0", post: str = "0") -> list[str]:
    """A table row of the page as the report writes it: receipts split by channel, the rate as a number."""
    carried, received, *rest = [v.replace(",", ".").rstrip("%") for v in page_cells]
    return [carried, received, counter, online, post, *rest]


def test_the_report_exports_the_same_numbers_as_xlsx_and_csv(client, month):
    login(client, "giam_sat")
    xlsx = client.get("/giam-sat/bao-cao.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="thong-ke-20260301-20260331.xlsx"' in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    from_xlsx = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    # The title, the tables' headings and totals in bold; the names' column wide enough to read.
    assert sheet.title == "Thống kê" and sheet["A1"].font.bold and sheet.column_dimensions["B"].width == 48
    assert all(row[1].font.bold for row in sheet.iter_rows() if row[1].value == "Tổng cộng")
    assert sheet["B5"].font.bold and not sheet["B6"].font.bold  # the header of the communes, then a commune

    raw = client.get("/giam-sat/bao-cao.csv").get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    from_csv = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))

    def same_shape(rows):  # numbers as numbers (Excel keeps 0.0 as 0), rows padded to one width
        return [[_number(cell) for cell in row] + [""] * (16 - len(row)) for row in rows]

    assert same_shape(from_xlsx) == same_shape(from_csv)
    header = from_csv[1]
    assert header[0] == "Kỳ báo cáo: từ ngày 01/03/2026 đến ngày 31/03/2026"
    assert header[1] == "Lập lúc: 09:00 ngày 05/03/2026"
    assert ["Mã", "Tên", *REPORT_HEADER] in from_csv and ["Mã thủ tục", "Tên", *REPORT_HEADER] in from_csv
    by_name = {row[1]: row for row in from_csv if len(row) > 2}
    assert by_name["Phường Hoàn Kiếm"] == ["00070", "Phường Hoàn Kiếm", *as_report(HOAN_KIEM, counter="5")]
    assert by_name["Phường Cửa Nam"] == ["00073", "Phường Cửa Nam", *as_report(CUA_NAM, counter="1")]
    # The procedure by its code in the national catalogue and its name, not the template's key.
    assert by_name["Five steps"] == ["1.000001", "Five steps", *as_report(HANOI, counter="6")]
    totals = [row[2:] for row in from_csv if row[1:2] == ["Tổng cộng"]]
    assert totals == [as_report(HANOI, counter="6")] * 2
    # Officers by full name (the user name when the account has none), with their steps.
    officers = {
        row[0]: row[1:] for row in from_csv[from_csv.index(["Theo cán bộ (các bước đã xử lý)"]) + 2 :] if len(row) == 8
    }
    assert officers["can_bo_x"] == ["Lê Văn X", "5", "1", "3", "1", "0", "80.0"]
    assert officers["mot_cua_1"][0] == "mot_cua_1"
    legend = dict(row for row in from_csv[from_csv.index(["Cách tính các số liệu"]) + 1 :])
    assert (
        legend["Tạm dừng"].startswith("Chưa kết thúc vào cuối kỳ")
        and "không bao giờ tính là quá hạn" in legend["Tạm dừng"]
    )

    filtered = client.get("/giam-sat/bao-cao.csv?xa=00073").get_data().decode("utf-8-sig")
    assert "Phường Hoàn Kiếm" not in filtered and "Phạm vi: Phường Cửa Nam; mọi thủ tục" in filtered
    assert client.get("/giam-sat/bao-cao.xlsx?den=hom-qua").status_code == 400


def _number(cell: str):
    try:
        return float(cell)
    except ValueError:
        return cell


def test_the_json_figures_match_the_page(client, month):
    login(client, "giam_sat")
    data = client.get("/giam-sat/so-lieu.json").get_json()
    assert data["summary"]["received"] == 6 and data["summary"]["on_time_rate"] == pytest.approx(2 / 3)
    assert {c["code"]: c["late"] for c in data["communes"]} == {"00070": 0, "00073": 1}
    assert client.get("/giam-sat/so-lieu.json?tu=x").status_code == 400


def test_the_api_answers_the_same_figures_as_the_page_for_the_same_scope(client, month):
    login(client, "giam_sat")
    for query in ("", "?tu=2026-03-02&den=2026-03-03", "?xa=00073", "?thu_tuc=five_steps"):
        page_data = client.get(f"/giam-sat/so-lieu.json{query}").get_json()
        api_query = (
            query.replace("tu=", "from=")
            .replace("den=", "to=")
            .replace("xa=", "commune=")
            .replace("thu_tuc=", "procedure=")
        )
        answer = client.get(f"/api/v1/statistics{api_query}")
        assert answer.status_code == 200, answer.get_json()
        api = answer.get_json()
        assert api["summary"] == page_data["summary"], query
        assert {c["code"]: c["figures"] for c in api["communes"]} == {
            c["code"]: {k: v for k, v in c.items() if k not in ("code", "name")} for c in page_data["communes"]
        }
    whole = client.get("/api/v1/statistics?from=2026-03-01&to=2026-03-31").get_json()
    assert whole["period"] == {"from": "2026-03-01", "to": "2026-03-31", "as_of": "2026-03-05T02:00:00+00:00"}
    assert whole["communes_in_scope"] == ["00070", "00073"]
    [five] = whole["procedures"]
    assert (five["key"], five["code"], five["name"]) == ("five_steps", "1.000001", "Five steps")
    officers = {o["username"]: o for o in whole["officers"]}
    assert officers["can_bo_x"]["full_name"] == "Lê Văn X"
    assert officers["can_bo_x"]["figures"] == {
        "steps_done": 5,
        "step_early": 1,
        "step_on_time": 3,
        "step_late": 1,
        "steps_without_deadline": 0,
        "step_on_time_rate": 0.8,
    }
    paused = next(d for d in whole["definitions"] if d["key"] == "paused")
    assert (paused["name"], paused["name_en"]) == ("Tạm dừng", "Paused")
    page_summary = [
        " ".join(td.text_content().split())
        for td in html.fromstring(page(client, "/giam-sat/")).xpath('//table[@id="tong-hop"]/tbody/tr/td')
    ]
    assert page_summary[:2] == [str(whole["summary"]["carried_over"]), str(whole["summary"]["received"])]


def test_an_officer_reads_the_figures_of_their_own_commune_only(client, month):
    login(client, "mot_cua_1")
    answer = client.get("/api/v1/statistics").get_json()
    assert answer["communes_in_scope"] == ["00070"]
    assert [c["code"] for c in answer["communes"]] == ["00070"]
    assert answer["summary"]["received"] == 5 and answer["summary"]["late"] == 0
    refused = client.get("/api/v1/statistics?commune=00073")
    assert refused.status_code == 422 and refused.get_json()["field"] == "commune"


def test_the_api_names_a_bad_filter(client, month):
    login(client, "giam_sat")
    for query, field in (
        ("from=2026-03-10&to=2026-03-01", "to"),
        ("from=hom-qua", "from"),
        ("procedure=khong_co", "procedure"),
        ("commune=26734", "commune"),
    ):
        answer = client.get(f"/api/v1/statistics?{query}")
        assert answer.status_code == 422 and answer.get_json()["field"] == field, query
    document = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/statistics" in document["paths"]
    described = document["components"]["schemas"]["Figures"]["properties"]["paused"]["description"]
    assert described.startswith("Paused: Open at the period's end")


@pytest.fixture
def browser_page(app, month, chromium):  # noqa: F811
    """Headless Chromium signed in as the Hanoi supervisor (MOTCUA_CHROMIUM names the binary)."""
    with live_server(app) as server:
        yield open_browser(chromium, server, "giam_sat", home="/giam-sat/"), server


@pytest.mark.browser
def test_in_a_browser_the_charts_draw_and_a_filter_swaps_the_tables(browser_page):
    tab, server = browser_page
    drawn = "(id) => { const c = Chart.getChart(document.getElementById(id)); return c ? c.data.labels : null; }"
    tab.wait_for_function(f"({drawn})('chart-late-communes') !== null")
    # the communes with late dossiers, the most first; every bar opens the dossiers behind it
    assert tab.evaluate(drawn, "chart-late-communes") == [["Phường Cửa Nam"], ["Phường Hoàn Kiếm"]]  # lines
    assert tab.evaluate(drawn, "chart-results") == ["Trước hạn", "Đúng hạn", "Quá hạn"]
    assert tab.evaluate(drawn, "chart-trend")[0].startswith("Tuần từ")

    tab.select_option("select[name=xa]", "00073")
    tab.wait_for_function("document.querySelectorAll('#theo-xa tbody tr').length === 1")
    assert tab.locator("#theo-xa tbody tr td").first.text_content() == "Phường Cửa Nam"
    assert "xa=00073" in tab.url
    tab.wait_for_function(f"JSON.stringify(({drawn})('chart-late-communes')) === '[[\"Phường Cửa Nam\"]]'")
    screenshot(tab, "supervise-filtered")
    tab.goto(f"{server}/giam-sat/")
    tab.wait_for_function(f"({drawn})('chart-late-communes') !== null")
    screenshot(tab, "supervise")
    # a click on a column header sorts the table (here: most overdue first, then fewest)
    tab.click("#theo-xa th[data-figure=overdue] button.sort")
    tab.click("#theo-xa th[data-figure=overdue] button.sort")
    assert tab.locator("#theo-xa tbody tr td").first.text_content() == "Phường Hoàn Kiếm"
    assert tab.get_attribute("#theo-xa th[data-figure=overdue]", "aria-sort") == "descending"
    tab.click("#chart-late-communes", position={"x": 300, "y": 40})  # the first bar: Cửa Nam's late dossiers
    tab.wait_for_url("**/giam-sat/ho-so?*nhom=late*")
    assert "xa=00073" in tab.url
    tab.goto(f"{server}/giam-sat/nguy-co")
    screenshot(tab, "supervise-at-risk")


def test_the_charts_answer_which_communes_and_procedures_are_late_week_by_week_and_link_their_dossiers(client, month):
    login(client, "giam_sat")
    tree = html.fromstring(page(client, "/giam-sat/?tu=2026-03-01&den=2026-03-31"))
    chart = json.loads(tree.xpath('string(//script[@id="supervise-chart-data"])'))
    late = chart["late_communes"]
    # communes with dossiers finished late or overdue now, the most first (ties in Vietnamese order)
    assert (late["labels"], late["late"], late["overdue"]) == (["Phường Cửa Nam", "Phường Hoàn Kiếm"], [1, 0], [0, 1])
    assert "nhom=late" in late["late_links"][0] and "xa=00073" in late["late_links"][0]
    assert chart["late_procedures"]["labels"] == ["Five steps"]
    # March 2026 from Sunday 1st: the 1st alone, then four Monday-to-Sunday weeks and Monday the 30th on
    assert chart["trend"]["labels"] == [
        "Tuần từ 01/03",
        "Tuần từ 02/03",
        "Tuần từ 09/03",
        "Tuần từ 16/03",
        "Tuần từ 23/03",
        "Tuần từ 30/03",
    ]
    assert sum(chart["trend"]["in_time"]) == 2 and sum(chart["trend"]["late"]) == 1
    assert set(chart["officers"]["labels"]) == {"mot_cua_1", "chuyen_vien_1", "lanh_dao_1", "Lê Văn X"}
    a_year = json.loads(
        html.fromstring(page(client, "/giam-sat/?tu=2026-01-01&den=2026-12-31")).xpath(
            'string(//script[@id="supervise-chart-data"])'
        )
    )
    assert a_year["trend"]["by_month"] and len(a_year["trend"]["labels"]) == 12


def test_the_officer_filter_narrows_the_officers_table_and_is_kept_in_the_links(client, month):
    login(client, "giam_sat")
    text = page(client, "/giam-sat/?tu=2026-03-01&den=2026-03-31&can_bo=can_bo_x")
    tree = html.fromstring(text)
    assert list(table(text, "theo-can-bo")) == ["Lê Văn X"]
    [chosen] = tree.xpath('//select[@name="can_bo"]/option[@selected]')
    assert chosen.text_content() == "Lê Văn X"
    assert "can_bo=can_bo_x" in tree.xpath('string(//a[contains(@href, "bao-cao.xlsx")]/@href)')
    assert page(client, "/giam-sat/?can_bo=<b>", status=400)


def test_each_row_of_the_commune_and_procedure_tables_links_its_dossiers_with_every_filter_in_place(client, month):
    """The tables' rows (written in Python, web/supervise/cells.py) give each number the address
    url_for gives, the row's commune or procedure in its place among the page's filters."""
    login(client, "giam_sat")
    query = "tu=2026-03-01&den=2026-03-31&thu_tuc=five_steps&can_bo=can_bo_x"
    tree = html.fromstring(page(client, f"/giam-sat/?{query}"))
    communes = tree.xpath('//table[@id="theo-xa"]/tbody/tr')
    assert [tr.get("data-key") for tr in communes] == ["00073", "00070"]  # Cửa Nam, Hoàn Kiếm
    [late] = communes[0].xpath('.//a[@data-bucket="late"]')
    assert (
        late.get("href")
        == "/giam-sat/ho-so?tu=2026-03-01&den=2026-03-31&xa=00073&thu_tuc=five_steps&can_bo=can_bo_x&nhom=late"
    )
    [procedure] = tree.xpath('//table[@id="theo-thu-tuc"]/tbody/tr')
    [received] = procedure.xpath('.//a[@data-bucket="received"]')
    assert received.get("href") == f"/giam-sat/ho-so?{query}&nhom=received"
    assert procedure.get("data-key") == "five_steps" and received.text == "6"
