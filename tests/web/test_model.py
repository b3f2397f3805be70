"""The modeller's pages: procedures, templates, saving drafts with findings, publishing, rollout
to the communes, version diff, simulation and step-table authoring."""

from __future__ import annotations

import html
import re

import pytest

from configurator import catalogue
from configurator import drafts
from configurator import library
from configurator.variants import with_budgets
from engine.services import definitions
from engine.store import catalogue_records
from engine.store.records import UnitRecord
from engine.store.variant_records import VariantRecord
from tests.web.conftest import csrf_token
from tests.web.conftest import login

KEY = "dang_ky_khai_sinh"


@pytest.fixture
def modelled(web_rt):
    """Two library procedures in the catalogue, each with its published version 1."""
    procedures = [p for p in library.procedures() if p.key in (KEY, "chung_thuc_chu_ky")]
    catalogue.import_json(web_rt, [p.catalogue for p in procedures])
    for procedure in procedures:
        library.load_one(web_rt, procedure)
    return web_rt


@pytest.fixture
def modeller(client, modelled):
    login(client, "mo_hinh")
    return client


def save(client, xml: bytes, base: int = 1, key: str = KEY):
    token = csrf_token(client.get(f"/mo-hinh/{key}/v{base}/sua").get_data(as_text=True))
    return client.post(
        f"/mo-hinh/{key}/ban-nhap?tu-phien-ban={base}",
        data=xml,
        headers={"X-CSRFToken": token, "Content-Type": "application/xml"},
    )


def versions_of(rt, key: str = KEY) -> list[tuple[int, str]]:
    with rt.db.read_session() as s:
        return [(d.version, d.status) for d in catalogue_records.definitions_of(s, key)]


def published_xml(rt) -> bytes:
    return drafts.version_bpmn(rt, KEY, 1).encode("utf-8")


# -- lists ----------------------------------------------------------------------------------------


def test_procedure_list_searches_without_accents_and_links_to_the_templates(modeller):
    page = modeller.get("/mo-hinh/?q=khai sinh").get_data(as_text=True)
    assert "Đăng ký khai sinh" in page and "Chứng thực chữ ký" not in page
    assert f'href="/mo-hinh/{KEY}?phien-ban=1"' in page and "Đã công bố" in page
    by_code = modeller.get("/mo-hinh/?q=1.001193").get_data(as_text=True)
    assert "Đăng ký khai sinh" in by_code
    every = modeller.get("/mo-hinh/").get_data(as_text=True)
    assert "Chứng thực chữ ký" in every and "2 thủ tục" in every
    assert "0 thủ tục" in modeller.get("/mo-hinh/?cap=province").get_data(as_text=True)


def test_a_same_day_limit_reads_trong_ngay_and_same_day_in_english(modeller):
    listed = modeller.get("/mo-hinh/?q=khai sinh").get_data(as_text=True)
    assert re.search(r'<td class="num">\s*Trong ngày\s*</td>', listed)
    template = modeller.get(f"/mo-hinh/{KEY}").get_data(as_text=True)
    assert "<dd>Trong ngày</dd>" in template  # the catalogue's limit
    assert re.search(r"<td>\s*Trong ngày\s*</td>", template)  # version 1's limit
    modeller.get("/ngon-ngu/en?next=/")
    assert "<dd>Same day</dd>" in modeller.get(f"/mo-hinh/{KEY}").get_data(as_text=True)


def test_only_modellers_open_the_modelling_pages(client, modelled):
    login(client, "chuyen_vien_1")
    assert client.get("/mo-hinh/").status_code == 403
    assert client.get(f"/mo-hinh/{KEY}/v1/sua").status_code == 403


def test_template_page_lists_versions_with_status_and_the_diagram(modeller, modelled):
    save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "15m"}))
    page = modeller.get(f"/mo-hinh/{KEY}").get_data(as_text=True)
    rows = re.findall(
        r'<tr(?: aria-current="true")?>\s*<td><a href="[^"]+">(\d+)</a></td>\s*'
        r'<td><span class="badge[^"]*">([^<]+)<',
        page,
    )
    assert rows == [("2", "Bản nháp"), ("1", "Đã công bố")]
    assert f'data-xml-url="/mo-hinh/{KEY}/v2.bpmn"' in page
    assert modeller.get(f"/mo-hinh/{KEY}/v2.bpmn").get_data(as_text=True).count('role="lanh_dao" budget="15m"') == 1


# -- saving a draft -------------------------------------------------------------------------------


def test_saving_stores_a_draft_and_answers_the_findings_with_their_element_ids(modeller, modelled):
    answer = save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "3 ngày"}))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["version"] == 2 and body["ok"] is False
    assert [(f["element_id"], f["code"], f["severity_label"]) for f in body["findings"]] == [
        ("ky_duyet", "duration", "Lỗi")
    ]
    assert versions_of(modelled) == [(1, "published"), (2, "draft")]
    assert 'budget="3 ngày"' in drafts.version_bpmn(modelled, KEY, 2)
    assert 'budget="3 ngày"' not in drafts.version_bpmn(modelled, KEY, 1)  # published stays as it was
    # The forms of the version the draft came from travel with it.
    assert "forms/ky_duyet.json" in drafts.version_files(modelled, KEY, 2)


def test_saving_again_replaces_the_open_draft_instead_of_adding_versions(modeller, modelled):
    save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "3 ngày"}))
    again = save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "15m"}), base=2).get_json()
    assert again["version"] == 2 and again["ok"] is True and again["findings"] == []
    assert versions_of(modelled) == [(1, "published"), (2, "draft")]
    assert 'budget="15m"' in drafts.version_bpmn(modelled, KEY, 2)


def test_a_document_that_is_not_this_template_is_refused_and_nothing_is_written(modeller, modelled):
    not_xml = save(modeller, b"<bpmn:definitions")
    assert not_xml.status_code == 400 and not_xml.get_json()["field"] == "bpmn"
    other = save(modeller, published_xml(modelled).replace(b'id="dang_ky_khai_sinh"', b'id="khac"'))
    assert other.status_code == 400 and "dang_ky_khai_sinh" in other.get_json()["error"]
    token = csrf_token(modeller.get(f"/mo-hinh/{KEY}").get_data(as_text=True))
    unknown = modeller.post(
        "/mo-hinh/khac/ban-nhap",
        headers={"X-CSRFToken": token},
        data=published_xml(modelled).replace(b'id="dang_ky_khai_sinh"', b'id="khac"'),
    )
    assert unknown.status_code == 400 and unknown.get_json()["field"] == "key"
    assert versions_of(modelled) == [(1, "published")] and versions_of(modelled, "khac") == []


def test_saving_without_the_csrf_header_is_refused(modeller, modelled):
    answer = modeller.post(
        f"/mo-hinh/{KEY}/ban-nhap", data=published_xml(modelled), headers={"Content-Type": "application/xml"}
    )
    assert answer.status_code == 400
    assert versions_of(modelled) == [(1, "published")]


def test_editor_page_carries_the_stored_findings_and_the_save_address(modeller, modelled):
    save(modeller, with_budgets(published_xml(modelled), {"tham_dinh": "abc"}))
    page = modeller.get(f"/mo-hinh/{KEY}/v2/sua?phan-tu=tham_dinh").get_data(as_text=True)
    assert f'data-save-url="/mo-hinh/{KEY}/ban-nhap?tu-phien-ban=2"' in page
    assert 'data-select="tham_dinh"' in page
    assert '"element_id": "tham_dinh"' in page and "bản nháp phiên bản" in page


# -- publishing -----------------------------------------------------------------------------------


def publish(client, version: int):
    token = csrf_token(client.get(f"/mo-hinh/{KEY}").get_data(as_text=True))
    return client.post(f"/mo-hinh/{KEY}/v{version}/cong-bo", data={"csrf_token": token})


def test_publishing_an_invalid_draft_is_refused_with_its_errors(modeller, modelled):
    save(modeller, with_budgets(published_xml(modelled), {"tham_dinh": "3d"}))  # over the same-day limit
    refused = publish(modeller, 2)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Không công bố được" in page and "legal-limit" in page
    # The finding opens the editor on the first step of the path too long, named by step names.
    assert f'href="/mo-hinh/{KEY}/v2/sua?phan-tu=tiep_nhan"' in page
    assert "Tiếp nhận, kiểm tra hồ sơ → " in html.unescape(page) and "ngày làm việc" not in page
    assert versions_of(modelled) == [(1, "published"), (2, "draft")]


def test_a_published_version_cannot_be_published_again(modeller, modelled):
    answer = publish(modeller, 1)
    assert answer.status_code == 422 and "không phải bản nháp" in answer.get_data(as_text=True)


def test_a_draft_overtaken_by_a_newer_version_is_not_published(modeller, modelled):
    save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "15m"}))
    definitions.deploy(
        modelled,
        {f"{KEY}.bpmn": with_budgets(published_xml(modelled), {"tiep_nhan": "2h"})},
        process_id=KEY,
        legal_limit="1d",
    )
    answer = publish(modeller, 2)
    assert answer.status_code == 422 and "Đã có phiên bản 3 mới hơn" in answer.get_data(as_text=True)
    assert versions_of(modelled) == [(1, "published"), (2, "draft"), (3, "published")]


def test_publish_then_roll_out_to_126_communes_with_visible_progress(modeller, modelled):
    with modelled.db.session() as s:  # Hà Nội has 126 communes: 2 from the fixture and 124 more
        s.add_all(
            UnitRecord(
                code=f"9{n:04d}", name=f"Xã thử {n}", kind="commune", parent_code="01", agency_code=f"01.9{n:04d}"
            )
            for n in range(124)
        )
    save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "15m"}))
    published = publish(modeller, 2)
    assert published.status_code == 302
    assert versions_of(modelled) == [(1, "published"), (2, "published")]
    assert "Đã công bố phiên bản 2" in modeller.get(published.location).get_data(as_text=True)

    start = modeller.get(f"/mo-hinh/{KEY}/v2/trien-khai").get_data(as_text=True)
    assert '<strong class="done">0</strong>/<span class="total">126</span>' in start and "Bắt đầu triển khai" in start
    token = csrf_token(start)
    seen = []
    for _ in range(10):
        fragment = modeller.post(f"/mo-hinh/{KEY}/v2/trien-khai", headers={"X-CSRFToken": token, "HX-Request": "true"})
        html = fragment.get_data(as_text=True)
        seen.append(int(re.search(r'<strong class="done">(\d+)</strong>', html).group(1)))
        if "Hoàn tất" in html:
            break
        assert 'hx-trigger="load' in html  # the fragment asks for the next chunk itself
    assert seen == [25, 50, 75, 100, 125, 126]
    with modelled.db.read_session() as s:
        on_v2 = s.query(VariantRecord).filter_by(template_key=KEY).all()
    assert len(on_v2) == 126 and {v.definition_id for v in on_v2} == {drafts_definition_id(modelled, 2)}


def drafts_definition_id(rt, version: int) -> int:
    with rt.db.read_session() as s:
        return catalogue_records.definition_by_version(s, KEY, version).id


def test_a_draft_cannot_be_rolled_out(modeller, modelled):
    save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "15m"}))
    assert modeller.get(f"/mo-hinh/{KEY}/v2/trien-khai").status_code == 422


# -- diff and simulation ----------------------------------------------------------------------------


def test_diff_shows_the_changed_budget_between_two_versions(modeller, modelled):
    save(modeller, with_budgets(published_xml(modelled), {"ky_duyet": "15m"}))
    page = modeller.get(f"/mo-hinh/{KEY}/so-sanh?tu=1&den=2").get_data(as_text=True)
    assert re.search(r"<td><code>ky_duyet</code></td><td>budget</td><td>30m</td><td>15m</td>", page)
    same = modeller.get(f"/mo-hinh/{KEY}/so-sanh?tu=1&den=1")
    assert same.status_code == 400 and "hai phiên bản khác nhau" in same.get_data(as_text=True)


def test_simulation_gives_the_appointment_and_each_steps_due_time(modeller):
    page = modeller.get(f"/mo-hinh/{KEY}/v1/mo-phong?don-vi=00070&tiep-nhan=2026-03-02T09:00").get_data(as_text=True)
    assert '<dd id="appointment">17:00 ngày 02/03/2026</dd>' in page  # same day: the day's close
    steps = re.findall(
        r"<code>(\w+)</code></td><td>\w+</td>\s*<td class=\"num\">[\d.]+</td>\s*"
        r"<td>([^<]+)</td><td>([^<]+)</td>",
        page,
    )
    assert steps == [
        ("tiep_nhan", "09:00 ngày 02/03/2026", "09:15 ngày 02/03/2026"),
        ("tham_dinh", "09:15 ngày 02/03/2026", "10:15 ngày 02/03/2026"),
        ("ky_duyet", "10:15 ngày 02/03/2026", "10:45 ngày 02/03/2026"),
        ("tra_ket_qua", "10:45 ngày 02/03/2026", "11:00 ngày 02/03/2026"),
    ]
    late = modeller.get(f"/mo-hinh/{KEY}/v1/mo-phong?don-vi=00070&tiep-nhan=2026-03-02T15:30").get_data(as_text=True)
    assert "Bắt đầu tính thời hạn</dt><dd>08:00 ngày 03/03/2026" in late  # after the 15:00 cut-off
    assert '<dd id="appointment">17:00 ngày 03/03/2026</dd>' in late


def test_simulation_names_the_bad_field(modeller):
    bad_time = modeller.get(f"/mo-hinh/{KEY}/v1/mo-phong?don-vi=00070&tiep-nhan=hôm-nay")
    assert bad_time.status_code == 400 and "tiep-nhan" in bad_time.get_data(as_text=True)
    bad_unit = modeller.get(f"/mo-hinh/{KEY}/v1/mo-phong?don-vi=99999&tiep-nhan=2026-03-02T09:00")
    assert bad_unit.status_code == 400 and "don-vi" in bad_unit.get_data(as_text=True)


# -- step-table authoring ---------------------------------------------------------------------------


def test_step_table_page_reads_the_template_into_rows(modeller):
    page = modeller.get(f"/mo-hinh/{KEY}/bang-buoc").get_data(as_text=True)
    assert 'name="row-0-step_id" value="tiep_nhan"' in page
    assert 'name="row-0-next" value="yeu_cau_bo_sung"' in page and "ket_qua == &#39;bo_sung&#39;" in page


NEW_KEY = "xac_nhan_thu"


def new_procedure(rt) -> None:
    catalogue.import_json(
        rt,
        {"key": NEW_KEY, "code": "1.000999", "name": "Xác nhận thử nghiệm", "level": "commune", "legal_limit_days": 2},
    )


def grid_form(token: str, rows: list[tuple]) -> dict:
    form = {
        "csrf_token": token,
        "rows": str(len(rows)),
        "action": "tao-so-do",
        "name": "Xác nhận thử nghiệm",
        "legal_limit": "2d",
        "roles": '{"mot_cua": "Bộ phận Một cửa"}',
    }
    columns = ("step_id", "name", "role", "budget", "next", "condition", "default", "end")
    for n, row in enumerate(rows):
        form.update({f"row-{n}-{c}": v for c, v in zip(columns, row) if v})
    return form


def test_a_step_table_becomes_a_draft_with_lanes_opened_in_the_editor(modeller, modelled):
    new_procedure(modelled)
    token = csrf_token(modeller.get(f"/mo-hinh/{NEW_KEY}/bang-buoc").get_data(as_text=True))
    answer = modeller.post(
        f"/mo-hinh/{NEW_KEY}/bang-buoc",
        data=grid_form(
            token,
            [
                ("tiep_nhan", "Tiếp nhận", "mot_cua", "2h", "xu_ly", "", "", ""),
                ("xu_ly", "Xử lý", "cong_chuc", "1d", "ket_thuc", "", "x", ""),
                ("", "", "", "", "tiep_nhan", "ket_qua == 'bo_sung'", "", ""),
                ("ket_thuc", "Kết thúc", "", "", "", "", "", "x"),
            ],
        ),
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert answer.location.endswith(f"/mo-hinh/{NEW_KEY}/v1/sua")
    assert versions_of(modelled, NEW_KEY) == [(1, "draft")]
    xml = drafts.version_bpmn(modelled, NEW_KEY, 1)
    assert 'name="Bộ phận Một cửa"' in xml and 'id="Lane_cong_chuc"' in xml
    assert '<motcua:step role="cong_chuc" budget="1d"/>' in xml
    assert "ket_qua == 'bo_sung'" in xml and "<bpmndi:BPMNShape" in xml


def test_a_same_day_procedure_from_the_catalogue_is_modelled_within_the_time_after_its_cut_off(modeller, modelled):
    catalogue.import_json(
        modelled,
        {
            "key": NEW_KEY,
            "name": "Xác nhận thử nghiệm",
            "level": "commune",
            "legal_limit_days": "trong ngày",
            "clock_start": {"cutoff": "15:00"},
        },
    )
    page = modeller.get(f"/mo-hinh/{NEW_KEY}/bang-buoc").get_data(as_text=True)
    assert form_of(page)["legal_limit"] == "same day"
    rows = [
        ("tiep_nhan", "Tiếp nhận", "mot_cua", "1h", "xu_ly", "", "", ""),
        ("xu_ly", "Xử lý", "cong_chuc", "2h", "ket_thuc", "", "", ""),
        ("ket_thuc", "Kết thúc", "", "", "", "", "", "x"),
    ]

    answer = modeller.post(
        f"/mo-hinh/{NEW_KEY}/bang-buoc", data={**grid_form(csrf_token(page), rows), "legal_limit": "same day"}
    )

    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert 'legalLimit="same day"' in drafts.version_bpmn(modelled, NEW_KEY, 1)
    report = drafts.validate_version(modelled, NEW_KEY, 1)
    assert [(f.code, str(f.params.get("left"))) for f in report.errors] == [
        ("legal-limit-same-day", "2 hours of working time")
    ]


def test_a_bad_step_table_lists_its_problems_and_writes_nothing(modeller, modelled):
    new_procedure(modelled)
    token = csrf_token(modeller.get(f"/mo-hinh/{NEW_KEY}/bang-buoc").get_data(as_text=True))
    answer = modeller.post(
        f"/mo-hinh/{NEW_KEY}/bang-buoc",
        data=grid_form(
            token,
            [
                ("tiep_nhan", "Tiếp nhận", "", "2h", "khong_co", "", "", ""),
            ],
        ),
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "Bước “tiep_nhan”: chưa có vai trò." in page  # the modeller reads the problem in Vietnamese
    assert "bước tiếp theo “khong_co” không tồn tại" in page
    assert versions_of(modelled, NEW_KEY) == []


def form_of(page: str) -> dict:
    """What a browser would post: every input's value, checkboxes only when checked."""
    form = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name is None or ('type="checkbox"' in tag and " checked" not in tag):
            continue
        form[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return form


def test_a_template_read_into_the_grid_and_built_again_keeps_its_steps(modeller, modelled):
    form = form_of(modeller.get(f"/mo-hinh/{KEY}/bang-buoc").get_data(as_text=True))
    assert form["legal_limit"] == "same day"
    answer = modeller.post(f"/mo-hinh/{KEY}/bang-buoc", data={**form, "action": "tao-so-do"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert drafts.validate_version(modelled, KEY, 2).ok
    page = modeller.get(f"/mo-hinh/{KEY}/so-sanh?tu=1&den=2").get_data(as_text=True)
    assert "giống nhau về các bước, luồng và thời hạn" in page  # forms, statuses and budgets kept
    assert 'legalLimit="same day"' in drafts.version_bpmn(modelled, KEY, 2)


def test_more_rows_can_be_added_to_the_grid_without_saving(modeller, modelled):
    form = form_of(modeller.get(f"/mo-hinh/{KEY}/bang-buoc").get_data(as_text=True))
    page = modeller.post(f"/mo-hinh/{KEY}/bang-buoc", data={**form, "action": "them-dong"}).get_data(as_text=True)
    assert f'name="row-{int(form["rows"]) + 3}-step_id"' in page and 'value="tiep_nhan"' in page
    assert versions_of(modelled) == [(1, "published")]
