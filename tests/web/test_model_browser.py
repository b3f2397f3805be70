"""The template editor in a real browser: bpmn-js draws the template, the side panel edits a
step's budget through the moddle, saving stores a draft, and a finding selects its element."""

from __future__ import annotations

import pytest

from configurator import drafts
from engine.store.records import UnitRecord
from engine.store.variant_records import VariantRecord
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.test_model import KEY
from tests.web.test_model import modelled  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def server(app, modelled):  # noqa: F811
    with live_server(app) as url:
        yield url


@pytest.fixture
def page(chromium, server):  # noqa: F811
    return open_browser(chromium, server, "mo_hinh", home="/mo-hinh/")


def shape(element_id: str) -> str:
    return f'#canvas g.djs-element.djs-shape[data-element-id="{element_id}"]'


def save_and_wait(page) -> None:
    saves = int(page.get_attribute("#editor", "data-saves") or 0)
    page.click("#save")
    page.wait_for_function(f"Number(document.getElementById('editor').dataset.saves || 0) > {saves}")


def test_edit_a_step_budget_save_and_select_the_element_of_a_finding(page, server, modelled):  # noqa: F811
    screenshot(page, "model-procedures")  # the modeller's home
    page.goto(f"{server}/mo-hinh/{KEY}")  # the template page shows the diagram read-only
    page.wait_for_selector('#diagram g.djs-element[data-element-id="ky_duyet"]')
    screenshot(page, "model-template")
    page.click("text=Sửa thành bản nháp mới")
    page.wait_for_selector('#editor[data-ready="true"]')
    screenshot(page, "model-editor")
    for task in ("tiep_nhan", "tham_dinh", "ky_duyet", "tra_ket_qua"):
        assert page.locator(f"{shape(task)} rect").count() >= 1  # the user tasks are drawn as SVG

    page.click(shape("ky_duyet"))
    assert page.locator("#step-id").text_content() == "ky_duyet"
    assert page.input_value("#step-form input[name=budget]") == "30m"
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
    # Over the legal limit: the finding marks every step of the longest path, named by step names.
    too_long = page.locator('#findings button[data-element-ids="tiep_nhan tham_dinh ky_duyet tra_ket_qua"]')
    assert too_long.count() == 1 and "Tiếp nhận" in too_long.text_content()
    assert "3 ngày 1 giờ 30 phút làm việc" in too_long.text_content()
    assert page.locator(f"{shape('tiep_nhan')}.finding-error").count() == 1
    screenshot(page, "model-editor-saved-with-findings")

    page.click(shape("tham_dinh"))
    page.fill("#step-form input[name=budget]", "")
    save_and_wait(page)
    stored = drafts.version_bpmn(modelled, KEY, 2)
    assert 'role="tu_phap_ho_tich" form="tham_dinh"' in stored and 'budget="3d"' in stored

    page.click(shape("tiep_nhan"))
    assert page.locator(f"{shape('tham_dinh')}.selected").count() == 0
    page.click('#findings button[data-element-id="tham_dinh"]')
    page.wait_for_selector(f"{shape('tham_dinh')}.selected")
    assert page.locator("#step-id").text_content() == "tham_dinh"
    assert page.locator(f"{shape('tham_dinh')}.finding-error").count() == 1  # marked on the diagram
    screenshot(page, "model-editor-finding-selected")
    assert page.problems == []


def test_rollout_runs_chunk_after_chunk_until_every_commune_has_the_version(page, server, modelled):  # noqa: F811
    with modelled.db.session() as s:
        s.add_all(
            UnitRecord(
                code=f"9{n:04d}", name=f"Xã thử {n}", kind="commune", parent_code="01", agency_code=f"01.9{n:04d}"
            )
            for n in range(58)
        )
    page.goto(f"{server}/mo-hinh/{KEY}/v1/trien-khai")
    assert page.locator("#rollout-progress p").text_content().startswith("0/60")
    screenshot(page, "model-rollout")
    page.click("#rollout-progress button")
    page.wait_for_selector("#rollout-progress .badge.ok")  # three chunks of 25, 25 and 10 communes
    assert page.locator("#rollout-progress p").text_content().startswith("60/60")
    screenshot(page, "model-rollout-done")
    with modelled.db.read_session() as s:
        assert s.query(VariantRecord).filter_by(template_key=KEY).count() == 60
