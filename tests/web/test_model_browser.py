"""The template editor in a real browser: bpmn-js draws the template, the side panel edits a
step's budget through the moddle, saving stores a draft, and a finding selects its element."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from configurator import drafts
from engine.store.records import UnitRecord
from engine.store.variant_records import VariantRecord
from tests.web.conftest import PASSWORD
from tests.web.test_model import KEY
from tests.web.test_model import modelled  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> str:
    path = os.environ.get("MOTCUA_CHROMIUM")
    if not path:
        if os.environ.get("CI") == "true":
            pytest.fail("MOTCUA_CHROMIUM must name a Chromium binary in CI")
        pytest.skip("set MOTCUA_CHROMIUM to a Chromium binary (e.g. /usr/bin/chromium)")
    return path


@pytest.fixture
def server(app, modelled):  # noqa: F811
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()


@pytest.fixture
def page(chromium, server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        tab = browser.new_page()
        tab.set_default_timeout(15_000)
        tab.console_errors = []  # script errors; failed loads are told apart below (the favicon is absent)
        tab.on("console", lambda message: message.type == "error" and not message.text.startswith(
            "Failed to load resource") and tab.console_errors.append(message.text))
        tab.on("response", lambda response: response.status >= 400 and not response.url.endswith(
            "/favicon.ico") and tab.console_errors.append(f"{response.status} {response.url}"))
        tab.goto(f"{server}/dang-nhap")
        tab.fill("input[name=username]", "mo_hinh")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("main button[type=submit]")
        tab.wait_for_url(f"{server}/mo-hinh/")
        yield tab
        browser.close()


def shape(element_id: str) -> str:
    return f'#canvas g.djs-element.djs-shape[data-element-id="{element_id}"]'


def save_and_wait(page) -> None:
    page.click("#save")
    page.wait_for_function("document.getElementById('save-status').textContent.startsWith('Đã lưu')")


def test_edit_a_step_budget_save_and_select_the_element_of_a_finding(page, server, modelled):  # noqa: F811
    page.goto(f"{server}/mo-hinh/{KEY}")  # the template page shows the diagram read-only
    page.wait_for_selector('#diagram g.djs-element[data-element-id="ky_duyet"]')
    page.click("text=Sửa thành bản nháp mới")
    page.wait_for_selector('#editor[data-ready="true"]')
    for task in ("tiep_nhan", "tham_dinh", "ky_duyet", "tra_ket_qua"):
        assert page.locator(f"{shape(task)} rect").count() >= 1  # the user tasks are drawn as SVG

    page.click(shape("ky_duyet"))
    assert page.locator("#step-id").text_content() == "ky_duyet"
    assert page.input_value("#step-form input[name=budget]") == "2h"
    assert page.input_value("#step-form input[name=role]") == "lanh_dao"
    page.fill("#step-form input[name=budget]", "3d")
    page.fill("#step-form input[name=warnAt]", "50%")
    page.click("#add-escalation")
    row = page.locator("#escalation-rows tr").last
    row.locator("input[name=after]").fill("4h")
    row.locator("select[name=action]").select_option("reassign")
    row.locator("input[name=target]").fill("lanh_dao")
    row.locator("input[name=priority]").fill("80")
    save_and_wait(page)
    stored = drafts.version_bpmn(modelled, KEY, 2)
    assert 'role="lanh_dao" budget="3d"' in stored and 'warnAt="50%"' in stored
    assert '<motcua:escalation after="4h" action="reassign" target="lanh_dao" priority="80" />' in stored
    assert page.locator(f'#findings button[data-element-id="{KEY}"]').count() == 1  # over the legal limit

    page.click(shape("tham_dinh"))
    page.fill("#step-form input[name=budget]", "")
    save_and_wait(page)
    stored = drafts.version_bpmn(modelled, KEY, 2)
    assert 'role="tu_phap_ho_tich" form="tham_dinh"' in stored and 'budget="3d"' in stored

    page.click(shape("tiep_nhan"))
    assert page.locator(f'{shape("tham_dinh")}.selected').count() == 0
    page.click('#findings button[data-element-id="tham_dinh"]')
    page.wait_for_selector(f'{shape("tham_dinh")}.selected')
    assert page.locator("#step-id").text_content() == "tham_dinh"
    assert page.locator(f'{shape("tham_dinh")}.finding-error').count() == 1  # marked on the diagram
    assert page.console_errors == []


def test_rollout_runs_chunk_after_chunk_until_every_commune_has_the_version(page, server, modelled):  # noqa: F811
    with modelled.db.session() as s:
        s.add_all(UnitRecord(code=f"9{n:04d}", name=f"Xã thử {n}", kind="commune", parent_code="01",
                             agency_code=f"01.9{n:04d}") for n in range(58))
    page.goto(f"{server}/mo-hinh/{KEY}/v1/trien-khai")
    assert page.locator("#rollout-progress p").text_content().startswith("0/60")
    page.click("#rollout-progress button")
    page.wait_for_selector("#rollout-progress .badge.ok")  # three chunks of 25, 25 and 10 communes
    assert page.locator("#rollout-progress p").text_content().startswith("60/60")
    with modelled.db.read_session() as s:
        assert s.query(VariantRecord).filter_by(template_key=KEY).count() == 60
