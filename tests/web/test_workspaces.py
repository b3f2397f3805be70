"""Issue 17's desk: the step page leads with the decision and folds the other actions behind one
menu, a stop needs its kind chosen, a sent-back step is marked in the inbox and says why at the top,
the worker is named as the system, numbers and lists follow Vietnamese conventions, the favicon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import html

from configurator import steps
from configurator.forms import FormError
from configurator.forms import validate_submission
from engine.domain.assignment import Actor
from engine.services import audit
from tests.web.conftest import login
from tests.web.test_desk import APPRAISED
from tests.web.test_desk import INBOX
from tests.web.test_desk import TU_PHAP_1
from tests.web.test_desk import birth  # noqa: F401  (fixture)
from tests.web.test_desk import field_error
from tests.web.test_desk import only_dossier
from tests.web.test_desk import open_item
from tests.web.test_desk import post_on_page
from tests.web.test_desk import received_and_accepted
from web import formatting

ROOT = Path(__file__).resolve().parents[2]


def sent_back(client, web_rt, birth):  # noqa: F811
    """A dossier whose leader returned the signing step to the appraisal: (dossier id, item)."""
    dossier_id = received_and_accepted(web_rt, client, birth)
    steps.complete_step(web_rt, open_item(web_rt, dossier_id).id, TU_PHAP_1, APPRAISED)
    signing = open_item(web_rt, dossier_id)
    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/buoc/{signing.id}"
    assert post_on_page(client, page_url, f"{page_url}/tra-lai", {"reason": "Sai ngày sinh của trẻ"}).status_code == 302
    return dossier_id, open_item(web_rt, dossier_id)


def test_the_leaders_step_leads_with_the_decision_and_folds_the_rest_behind_one_menu(client, web_rt, birth):  # noqa: F811
    dossier_id = received_and_accepted(web_rt, client, birth)
    steps.complete_step(web_rt, open_item(web_rt, dossier_id).id, TU_PHAP_1, APPRAISED)
    signing = open_item(web_rt, dossier_id)
    login(client, "lanh_dao_1")
    page = html.fromstring(client.get(f"/ban-lam-viec/buoc/{signing.id}").get_data(as_text=True))
    [decision] = page.xpath('//*[@id="decision"]')
    assert decision.xpath('.//form[@id="step-form"]') and decision.xpath('.//details[@class="return"]')
    menu = [a.get("href") for a in page.xpath('//details[@id="thao-tac-khac"]//a')]
    assert "#tac-dung" in menu and "#tac-giao-lai" in menu
    # every secondary form is folded until the menu points at it: no reason box shows by default
    assert all("open" not in s.get("class") for s in page.xpath('//section[contains(@class, "action-form")]'))
    stop_choices = page.xpath('//section[@id="tac-dung"]//input[@name="kind"]')
    assert len(stop_choices) == 2 and not any(c.get("checked") is not None for c in stop_choices)


def test_a_stop_without_its_kind_chosen_is_refused_and_nothing_is_stopped(client, web_rt, birth):  # noqa: F811
    dossier_id = received_and_accepted(web_rt, client, birth)
    page_url = f"/ban-lam-viec/ho-so/{dossier_id}"
    refused = post_on_page(client, page_url, f"{page_url}/dung", {"reason": "Không rõ"})
    assert refused.status_code == 422 and field_error(refused, "stop.kind").startswith("Chọn công dân đề nghị rút")
    [form] = html.fromstring(refused.get_data(as_text=True)).xpath('//section[@id="tac-dung"]')
    assert "open" in form.get("class")  # the refused form stays open with its message
    assert only_dossier(web_rt).run_state == "running"


def test_a_returned_step_is_marked_in_the_inbox_and_its_reason_leads_its_page(client, web_rt, birth):  # noqa: F811
    _, reopened = sent_back(client, web_rt, birth)
    login(client, "tu_phap_1")
    inbox = html.fromstring(client.get(INBOX).get_data(as_text=True))
    [row] = inbox.xpath("//tr[@data-returned]")
    badge = row.xpath('.//span[contains(@class, "returned")]')[0]
    assert badge.text_content() == "bị trả lại" and badge.get("title") == "Sai ngày sinh của trẻ"
    body = client.get(f"/ban-lam-viec/buoc/{reopened.id}").get_data(as_text=True)
    page = html.fromstring(body)
    [note] = page.xpath('//*[@id="tra-lai"]')
    assert "Sai ngày sinh của trẻ" in note.text_content() and "Thẩm định" in note.text_content() or note.text_content()
    assert body.index('id="tra-lai"') < body.index('id="step-form"')


def test_the_history_names_the_worker_as_the_system(client, web_rt, birth):  # noqa: F811
    dossier_id = received_and_accepted(web_rt, client, birth)
    with web_rt.db.session() as s:
        audit.record(s, at=web_rt.clock.now(), action="timer", actor="system", dossier_id=dossier_id)
        audit.write_pending(s)
    page = client.get(f"/ban-lam-viec/ho-so/{dossier_id}").get_data(as_text=True)
    assert "Hệ thống (tự động)" in page and ">system<" not in page


def test_numbers_and_sizes_are_written_with_vietnamese_separators(app):
    with app.test_request_context("/"):
        assert formatting.number(8.0) == "8" and formatting.number(8.5) == "8,5"
        assert formatting.money(1234567) == "1.234.567"
        assert formatting.rate(2 / 3) == "66,7%"
        assert formatting.file_size(8 * 1024) == "8,0 KB"


def test_whole_numbers_are_written_as_babel_writes_them_in_both_languages(app):
    """formatting.number writes whole numbers without Babel's pattern machinery: the same text."""
    from flask_babel import force_locale
    from flask_babel import format_decimal

    whole = [0, 7, -7, 999, 1000, -1234, 12345, 1234567, -98765432, 10**12]
    with app.test_request_context("/"):
        for language in ("vi", "en"):
            with force_locale(language):
                assert [formatting.number(n) for n in whole] == [format_decimal(n) for n in whole], language
        assert formatting.number(1234567) == "1.234.567"


def test_short_decimals_are_written_as_babel_writes_them_in_both_languages(app):
    """formatting.number writes a number of at most three decimals (a mean score per officer)
    without Babel's pattern machinery: the same text, for the page's locale given or looked up."""
    from flask_babel import force_locale
    from flask_babel import format_decimal

    values = [0.0, 1.0, 2.0, 0.5, 1.75, 1.005, 0.125, 0.7, 1234.5, 1234567.125, 0.001, 999.999]
    values += [n / 100 for n in range(0, 201)] + [n / 1000 for n in range(0, 3001, 37)]
    with app.test_request_context("/"):
        for language in ("vi", "en"):
            with force_locale(language):
                expected = [format_decimal(v) for v in values]
                assert [formatting.number(v) for v in values] == expected, language
                assert [formatting.number(v, locale=formatting.page_locale()) for v in values] == expected
        assert formatting.number(1.75) == "1,75" and formatting.number(1234.5) == "1.234,5"


def test_rates_are_written_as_babel_writes_them_in_both_languages(app):
    """formatting.rate writes "#,##0.0%" without Babel's pattern machinery: the same text, ties included."""
    from flask_babel import force_locale
    from flask_babel import format_percent

    rates = [0, 1, 2 / 3, 1 / 3, 0.5, 0.00049, 0.00051, 0.12345, 0.12355, 0.99949, 0.99951, 12.3456, -0.25, 1 / 7]
    rates += [n / 1000 for n in range(0, 1001, 7)] + [n / 2000 for n in range(1, 2000, 2)]
    with app.test_request_context("/"):
        for language in ("vi", "en"):
            with force_locale(language):
                assert [formatting.rate(r) for r in rates] == [format_percent(r, format="#,##0.0%") for r in rates]
        assert formatting.rate(2 / 3) == "66,7%" and formatting.rate(12.3456) == "1.234,6%"


def test_names_sort_the_vietnamese_way_not_by_code_point():
    names = ["Ô Chợ Dừa", "Đống Đa", "Ba Đình", "Dịch Vọng", "Ông Ích Khiêm", "Cầu Giấy", "Ơn", "Zê"]
    assert formatting.collated(names) == [
        "Ba Đình",
        "Cầu Giấy",
        "Dịch Vọng",
        "Đống Đa",
        "Ô Chợ Dừa",
        "Ông Ích Khiêm",
        "Ơn",
        "Zê",
    ]


def test_every_page_has_its_icon(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200 and response.mimetype == "image/svg+xml" and b"<svg" in response.data
    assert 'rel="icon"' in client.get("/tra-cuu").get_data(as_text=True)


def test_a_supplement_request_is_sent_without_the_childs_name_and_birth_date(client, web_rt, birth):  # noqa: F811
    dossier_id = received_and_accepted(web_rt, client, birth)
    appraisal = open_item(web_rt, dossier_id)
    login(client, "tu_phap_1")
    page_url = f"/ban-lam-viec/buoc/{appraisal.id}"
    post_on_page(client, page_url, f"{page_url}/nhan", {})
    sent = post_on_page(
        client,
        page_url,
        f"{page_url}/hoan-thanh",
        {
            "version": str(open_item(web_rt, dossier_id).version),
            "ket_qua": "bo_sung",
            "y_kien": "Bổ sung giấy chứng sinh bản chính",
        },
    )
    assert sent.status_code == 302
    assert open_item(web_rt, dossier_id).element_id != "tham_dinh"
    # going forward still needs them
    form = json.loads((ROOT / "processes/dang_ky_khai_sinh/v1/forms/tham_dinh.json").read_text())
    with pytest.raises(FormError) as refused:
        validate_submission(form, {"ket_qua": "dat"})
    assert set(refused.value.errors) == {"ho_ten_tre", "ngay_sinh"}


def test_a_step_sent_back_by_the_leaders_own_choice_is_marked_too(client, web_rt, birth):  # noqa: F811
    dossier_id = received_and_accepted(web_rt, client, birth)
    steps.complete_step(web_rt, open_item(web_rt, dossier_id).id, TU_PHAP_1, APPRAISED)
    leader = Actor("lanh_dao_1", frozenset({"lanh_dao"}), "00070")
    steps.complete_step(
        web_rt, open_item(web_rt, dossier_id).id, leader, {"ket_qua": "tra_lai", "y_kien": "Kiểm tra lại nơi sinh"}
    )
    reopened = open_item(web_rt, dossier_id)
    login(client, "tu_phap_1")
    tab = "cua_toi" if reopened.assignee == "tu_phap_1" else "nhom"
    listed = html.fromstring(client.get(f"{INBOX}?tab={tab}").get_data(as_text=True))
    [badge] = listed.xpath('//tr[@data-returned]//span[contains(@class, "returned")]')
    assert badge.get("title") == "Kiểm tra lại nơi sinh"
    step_page = html.fromstring(client.get(f"/ban-lam-viec/buoc/{reopened.id}").get_data(as_text=True))
    [note] = step_page.xpath('//*[@id="tra-lai"]')
    assert "Kiểm tra lại nơi sinh" in note.text_content()
