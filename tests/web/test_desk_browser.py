"""The inbox in a real browser, on a desktop and on a phone (where nothing may push the page
sideways): tabs, the search box and claiming swap the list in place through htmx (the page is never
reloaded), and the tab counts follow."""

from __future__ import annotations

import pytest

from engine.services import dossiers
from tests.factories import RECEPTION
from tests.web.browser import DESKTOP
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.desk_fixtures import publish_birth_registration

pytestmark = pytest.mark.browser


@pytest.fixture
def two_dossiers(web_rt, clock):
    birth = publish_birth_registration(web_rt)
    for name in ("Trần Thị Bích", "Lê Văn Cường"):
        dossiers.start_dossier(web_rt, definition_id=birth.id, unit_code="00070", applicant_name=name, actor=RECEPTION)
        clock.advance(minutes=10)


@pytest.fixture
def server(app, two_dossiers):
    with live_server(app) as url:
        yield url


@pytest.fixture(params=["desktop", "phone"])
def page(chromium, server, request):  # noqa: F811
    """The clerk's tab (a clerk's home is the inbox), on an office desktop and on a phone."""
    tab = open_browser(
        chromium,
        server,
        "mot_cua_1",
        home="/ban-lam-viec/",
        viewport={"desktop": DESKTOP, "phone": PHONE}[request.param],
    )
    tab.size = request.param
    return tab


def shot(page, name: str) -> None:
    screenshot(page, f"{name}-{page.size}")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), name


def count(page, tab: str) -> str:
    return page.text_content(f'#inbox [data-count="{tab}"]')


def rows(page) -> int:
    return page.locator("#inbox tbody tr").count()


def test_tabs_search_and_claim_update_the_list_in_place(page):
    page.evaluate("window.notReloaded = true")
    shot(page, "desk-inbox")
    assert count(page, "nhom") == "2" and count(page, "cua_toi") == "0"

    page.click("#inbox .tabs a:has-text('Nhóm')")
    page.wait_for_selector("#inbox .tabs a[aria-current]:has-text('Nhóm')")
    assert rows(page) == 2 and page.input_value("#tab-input") == "nhom"

    page.fill("#q", "Cường")
    page.wait_for_function("document.querySelectorAll('#inbox tbody tr').length === 1")
    assert "Lê Văn Cường" in page.text_content("#inbox tbody")
    shot(page, "desk-inbox-group-searched")

    page.click("#inbox tbody button:has-text('Nhận xử lý')")  # posted by htmx with the CSRF header
    page.wait_for_function("document.querySelector('#inbox [data-count=\"cua_toi\"]').textContent === '1'")
    assert count(page, "nhom") == "0"  # under the same search
    shot(page, "desk-inbox-claimed")
    assert page.evaluate("window.notReloaded") is True
    assert page.problems == []


def test_choosing_a_procedure_brings_its_checklist_and_receiving_prints_the_slip(page, server):
    page.goto(f"{server}/ban-lam-viec/tiep-nhan")
    page.select_option("select[name=definition_id]", label="Đăng ký khai sinh (1.001193)")
    page.wait_for_selector("#catalogue input[name=documents]")
    shot(page, "desk-reception-checklist")
    page.check("#catalogue input[name=documents][value='0']")
    page.fill("input[name=applicant_name]", "Đỗ Thị Hoa")
    page.fill("input[name=id_number]", "001090012345")  # the reception step's form requires it
    page.click("main button[type=submit]")
    page.wait_for_url("**/in/*/tiep_nhan")
    shot(page, "desk-reception-slip")
    assert page.locator("article.paper svg.segno").count() == 1
    assert "Đỗ Thị Hoa" in page.text_content("article.paper")
    assert "Tờ khai đăng ký khai sinh (theo mẫu)" in page.text_content("article.paper ol")
    assert page.problems == []
