"""Every workspace page on an office desktop (1366×768) and a phone (390×844): nothing overflows
the screen sideways, axe-core finds no serious or critical accessibility violation, and a
screenshot of each is kept under test-artifacts/screenshots/ws-*.png. Then the leader's secondary
actions: one menu, each opening the one form needed, the stop with no choice made for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from configurator import steps
from engine.domain.assignment import Actor
from engine.services import actions
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

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CLERK = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")
SPECIALIST = Actor("tu_phap_1", frozenset({"tu_phap_ho_tich"}), "00070")
LEADER = Actor("lanh_dao_1", frozenset({"lanh_dao"}), "00070")
ACCEPT = {
    "nguoi_nop": "Nguyễn Văn An",
    "so_giay_to_tuy_than": "001090012345",
    "hinh_thuc_nop": "truc_tiep",
    "ket_qua": "tiep_nhan",
}
APPRAISED = {
    "ket_qua": "dat",
    "ho_ten_tre": "Nguyễn Bình An",
    "ngay_sinh": "2026-02-20",
    "y_kien": "Hồ sơ đủ điều kiện",
}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


def open_item_id(rt, dossier_id: int) -> int:
    from sqlalchemy import select

    from engine.store.records import WorkItemRecord

    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord.id).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        ).one()


@pytest.fixture
def desk(web_rt, clock):
    """Three dossiers of the birth registration at Hoàn Kiếm: one waiting at reception, one at
    the leader's signing with the appraisal's proposal, one the leader sent back to the appraisal."""
    birth = publish_birth_registration(web_rt)

    def start(name: str):
        clock.advance(minutes=7)
        return dossiers.start_dossier(
            web_rt,
            definition_id=birth.id,
            unit_code="00070",
            applicant_name=name,
            actor=RECEPTION,
            applicant={"name": name, "phone": "0912 345 678", "id_number": "001090012345"},
        )

    def to_signing(name: str) -> int:
        dossier = start(name)
        steps.complete_step(web_rt, open_item_id(web_rt, dossier.id), CLERK, {**ACCEPT, "nguoi_nop": name})
        steps.complete_step(web_rt, open_item_id(web_rt, dossier.id), SPECIALIST, APPRAISED)
        return dossier.id

    waiting = start("Đỗ Thị Hoa")
    signing = to_signing("Ông Văn Bình")
    sent_back = to_signing("Lê Thị Châu")
    actions.return_to_previous(web_rt, open_item_id(web_rt, sent_back), LEADER, "Ghi lại nơi sinh theo giấy chứng sinh")
    return {"waiting": waiting, "signing": open_item_id(web_rt, signing), "returned": open_item_id(web_rt, sent_back)}


@pytest.fixture
def server(app, desk):
    with live_server(app) as url:
        yield url


def check_page(page, name: str) -> None:
    """Screenshots (the whole page, and the first screen as the person sees it on opening it), no
    sideways scrolling, no serious or critical axe-core violation."""
    path = screenshot(page, f"ws-{name}")
    page.screenshot(path=str(path.with_name(f"ws-{name}-first-screen.png")))
    overflow = page.evaluate("""() => ({width: document.scrollingElement.scrollWidth, screen: window.innerWidth,
        wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
              .filter(e => !e.closest('table.grid:not(.cards)')).slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)})""")
    assert overflow["width"] <= overflow["screen"], (name, overflow)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))""")
    assert violations == [], (name, violations)


@pytest.mark.parametrize("size", SIZES)
def test_every_workspace_page_fits_the_screen_and_passes_axe(chromium, server, desk, size):  # noqa: F811
    viewport = SIZES[size]
    clerk = open_browser(chromium, server, "mot_cua_1", home="/ban-lam-viec/", viewport=viewport)
    clerk.goto(f"{server}/ban-lam-viec/?tab=nhom")
    check_page(clerk, f"{size}-clerk-inbox")
    clerk.goto(f"{server}/ban-lam-viec/tiep-nhan")
    clerk.select_option("select[name=definition_id]", label="Đăng ký khai sinh (1.001193)")
    clerk.wait_for_selector("#catalogue input[name=documents]")
    check_page(clerk, f"{size}-clerk-reception")
    clerk.goto(f"{server}/ban-lam-viec/ho-so/{desk['waiting'].id}")
    check_page(clerk, f"{size}-clerk-dossier")

    specialist = open_browser(chromium, server, "tu_phap_1", home="/ban-lam-viec/", viewport=viewport)
    assert specialist.locator("#inbox tr[data-returned] .badge.returned").count() == 1
    check_page(specialist, f"{size}-specialist-inbox-returned")
    specialist.goto(f"{server}/ban-lam-viec/buoc/{desk['returned']}")
    assert "Ghi lại nơi sinh theo giấy chứng sinh" in specialist.text_content("#tra-lai")
    check_page(specialist, f"{size}-specialist-returned-step")

    leader = open_browser(chromium, server, "lanh_dao_1", home="/ban-lam-viec/", viewport=viewport)
    check_page(leader, f"{size}-leader-inbox")
    leader.goto(f"{server}/ban-lam-viec/buoc/{desk['signing']}")
    check_page(leader, f"{size}-leader-step")

    supervisor = open_browser(chromium, server, "giam_sat", viewport=viewport)
    supervisor.goto(f"{server}/giam-sat/")
    supervisor.wait_for_selector("#theo-xa th button.sort")  # the page's script has run
    check_page(supervisor, f"{size}-supervisor-dashboard")

    citizen = open_browser(chromium, server, None, viewport=viewport)
    citizen.goto(f"{server}/tra-cuu?ma={desk['waiting'].code}&so=5678")
    assert desk["waiting"].code in citizen.text_content("main")
    check_page(citizen, f"{size}-citizen-lookup")
    for page in (clerk, specialist, leader, supervisor, citizen):
        assert page.problems == [], page.url


def test_the_leaders_other_actions_open_one_form_each_and_a_stop_needs_its_kind(chromium, server, desk):  # noqa: F811
    leader = open_browser(chromium, server, "lanh_dao_1", home="/ban-lam-viec/", viewport=PHONE)
    leader.goto(f"{server}/ban-lam-viec/buoc/{desk['signing']}")
    assert leader.locator(".action-form:visible").count() == 0
    assert leader.is_visible("#decision #step-form")
    leader.click("#thao-tac-khac summary")
    leader.click("#thao-tac-khac a[href='#tac-dung']")
    assert leader.locator(".action-form:visible").count() == 1 and leader.is_visible("#tac-dung")
    leader.screenshot(
        path=str(
            screenshot(leader, "ws-phone-leader-stop-form").with_name("ws-phone-leader-stop-form-first-screen.png")
        )
    )
    leader.fill("#tac-dung textarea[name=reason]", "Công dân xin rút")
    leader.click("#tac-dung button[type=submit]")  # no kind chosen: the browser asks for one, nothing is sent
    assert leader.evaluate("document.querySelector('#tac-dung input[name=kind]').validity.valueMissing")
    assert "/ban-lam-viec/buoc/" in leader.url
    leader.click("#thao-tac-khac a[href='#tac-giao-lai']")
    assert leader.is_visible("#tac-giao-lai") and not leader.is_visible("#tac-dung")
    assert leader.problems == []
