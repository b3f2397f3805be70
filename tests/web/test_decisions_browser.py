"""Issue 16 end to end in a real browser: a modeller adds the decision table a template's business
rule task calls (dmn-js), fixes the cell the findings mark, publishes and rolls the template out;
a dossier then runs through the table and the service task (the worker's pass in-process, the
clock moved), and the applicant's message is queued."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from configurator import catalogue
from configurator import drafts
from engine.domain.assignment import Actor
from engine.services import dossiers
from engine.services import service_calls
from engine.store import catalogue_records
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.web.browser import DESKTOP
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot

pytestmark = pytest.mark.browser
KEY = "phi_va_thong_bao"
BPMN = (Path(__file__).resolve().parents[1] / "bpmn" / "fee_and_notice.bpmn").read_bytes()
CLERK = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")


@pytest.fixture
def drafted(web_rt):
    """The procedure in the catalogue and its diagram saved as a draft: its table is still missing."""
    catalogue.import_json(
        web_rt,
        {
            "key": KEY,
            "code": "1.000998",
            "name": "Thu phí theo bảng và báo người nộp",
            "level": "commune",
            "legal_limit_days": 2,
        },
    )
    saved = drafts.save_draft(web_rt, KEY, BPMN)
    assert {f.element_id for f in saved.report.errors} == {"tinh_phi"}
    return web_rt


@pytest.fixture
def server(app, drafted):
    with live_server(app) as url:
        yield url


def _real(problems: list[str]) -> list[str]:
    """dmn-js 17's production bundle carries Inferno's own console notice about its build; it is no error."""
    return [
        p
        for p in problems
        if not p.startswith("It looks like you're using a minified copy of the development build of Inferno")
    ]


def _open_items(rt, dossier_id):
    with rt.db.read_session() as s:
        return list(
            s.scalars(
                select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
            )
        )


def test_a_modeller_adds_the_table_publishes_rolls_out_and_a_dossier_runs_through_table_and_service(
    chromium, server, drafted, clock
):  # noqa: F811
    page = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/", viewport=DESKTOP)
    page.goto(f"{server}/mo-hinh/{KEY}?phien-ban=1")
    page.fill("#decision-tables input[name=decision]", "le_phi")
    page.fill("#decision-tables input[name=name]", "Lệ phí")
    page.click("#decision-tables button[type=submit]")
    page.wait_for_selector('#decision-editor[data-ready="true"]')
    page.wait_for_selector(".tjs-table")

    # A first save with an unsafe output cell: the finding is listed and its cell marked.
    cell = page.locator('td[data-element-id="OutputEntry_le_phi_1"]')
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("open('x')")
    page.click("#save-table")
    page.wait_for_function("document.getElementById('table-status').textContent.startsWith('Đã lưu')")
    assert "OutputEntry_le_phi_1" in page.locator("#table-findings").text_content()
    page.wait_for_selector('td[data-element-id="OutputEntry_le_phi_1"].finding-error')
    screenshot(page, "decision-table-finding")

    cell = page.locator('td[data-element-id="OutputEntry_le_phi_1"]')
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("12000")
    page.click("#save-table")
    page.wait_for_function("document.getElementById('table-status').textContent.includes('hợp lệ')")
    assert page.locator(".finding-error").count() == 0
    screenshot(page, "decision-table-saved")
    phone = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/", viewport=PHONE)
    phone.goto(f"{server}/mo-hinh/{KEY}/v1/bang-quyet-dinh/le_phi.dmn")
    phone.wait_for_selector('#decision-editor[data-ready="true"]')
    screenshot(phone, "decision-table-phone")

    page.goto(f"{server}/mo-hinh/{KEY}?phien-ban=1")
    page.click("#versions button:has-text('Công bố')")
    page.wait_for_selector("#versions .badge.ok")
    page.goto(f"{server}/mo-hinh/{KEY}/v1/trien-khai")
    page.click("#rollout-progress button")
    page.wait_for_selector("#rollout-progress .badge.ok")
    screenshot(page, "decision-table-rolled-out")
    assert _real(page.problems) == [] and _real(phone.problems) == []

    rt = drafted
    with rt.db.read_session() as s:
        [definition] = catalogue_records.definitions_of(s, KEY)
    assert definition.status == "published"
    dossier = dossiers.start_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Lê Văn Nộp",
        actor=CLERK,
        applicant={"phone": "0987654321"},
    )
    [reception] = _open_items(rt, dossier.id)
    dossiers.complete_work_item(rt, reception.id, CLERK, {"ket_qua": "truc_tiep"})
    assert _open_items(rt, dossier.id) == []  # the service task waits for the worker
    clock.advance(minutes=1)
    assert service_calls.run_due(rt) == 1  # the worker's pass, in-process
    [result_step] = _open_items(rt, dossier.id)
    assert result_step.element_id == "tra_ket_qua"
    with rt.db.read_session() as s:
        [message] = s.scalars(
            select(OutboxRecord).where(OutboxRecord.dossier_id == dossier.id, OutboxRecord.channel == "sms")
        ).all()
    assert message.recipient == "0987654321" and message.body == "Lệ phí hồ sơ: 12000 đồng"


def test_the_editor_panel_sets_a_service_tasks_connector_and_parameters(chromium, server, drafted):  # noqa: F811
    page = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/", viewport=DESKTOP)
    page.goto(f"{server}/mo-hinh/{KEY}/v1/sua")
    page.wait_for_selector('#editor[data-ready="true"]')
    page.click('#canvas g.djs-element.djs-shape[data-element-id="bao_nguoi_nop"]')
    panel = page.locator("#connector-panel")
    panel.wait_for(state="visible")
    assert page.input_value("#connector-panel select[name=connector]") == "notify_applicant"
    assert "Lệ phí hồ sơ" in page.input_value("#connector-panel input[name=message]")
    page.fill("#connector-panel input[name=message]", "")
    assert page.get_attribute("#connector-panel input[name=message]", "aria-invalid") == "true"
    page.fill("#connector-panel input[name=message]", "'Hồ sơ ' + dossier_code + ' đã có kết quả'")
    page.fill("#connector-panel input[name=channel]", "'sms'")
    screenshot(page, "editor-connector-panel")
    page.click("#save")
    page.wait_for_function("document.getElementById('save-status').textContent.startsWith('Đã lưu')")
    assert _real(page.problems) == []
    saved = drafts.version_bpmn(drafted, KEY, 1)
    from lxml import etree

    params = {
        p.get("id"): p.get("value")
        for p in etree.fromstring(saved.encode()).iter("{http://spiffworkflow.org/bpmn/schema/1.0/core}parameter")
    }
    assert params == {"message": "'Hồ sơ ' + dossier_code + ' đã có kết quả'", "channel": "'sms'"}
    assert "<spiffworkflow:calledDecisionId>le_phi</spiffworkflow:calledDecisionId>" in saved  # untouched


def test_the_decision_table_editor_speaks_vietnamese(chromium, server):  # noqa: F811
    page = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/", viewport=DESKTOP)
    page.goto(f"{server}/mo-hinh/{KEY}?phien-ban=1")
    page.fill("#decision-tables input[name=decision]", "le_phi")
    page.fill("#decision-tables input[name=name]", "Lệ phí")
    page.click("#decision-tables button[type=submit]")
    page.wait_for_selector('#decision-editor[data-ready="true"]')
    table = page.locator("#table-canvas")

    # The head: the hit policy and its choices, the condition and result columns.
    assert "Cách chọn quy tắc:" in page.locator(".hit-policy").text_content()
    page.click(".hit-policy .dms-input-select")
    choices = page.locator(".dms-select-options").text_content()
    assert "Duy nhất (Unique)" in choices and "Gom tất cả (Collect)" in choices and "Rule order" not in choices
    page.keyboard.press("Escape")
    assert "Khi" in table.locator("th.input-cell").first.text_content()

    # A rule's context menu, and a condition column's.
    page.click("tbody td.input-cell >> nth=0", button="right")
    menu = page.locator(".context-menu").text_content()
    assert "Thêm quy tắc phía trên" in menu and "Xoá quy tắc" in menu and "Add rule" not in menu
    page.keyboard.press("Escape")
    page.click("th.input-cell >> nth=0", button="right")
    menu = page.locator(".context-menu").text_content()
    assert "Thêm cột điều kiện bên trái" in menu and "Xoá cột điều kiện" in menu and "input" not in menu.lower()
    page.keyboard.press("Escape")

    # The popup that edits a condition column's expression and type.
    page.dblclick("th.input-cell >> nth=0")
    popup = page.locator(".context-menu").text_content()
    assert "Biểu thức" in popup and "Kiểu dữ liệu" in popup and "Expression" not in popup
    screenshot(page, "decision-table-vietnamese")
    assert _real(page.problems) == []
