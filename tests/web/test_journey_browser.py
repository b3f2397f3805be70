"""The whole journey in a real browser, one workspace after another on the same live app and
the same frozen clock (the app's MOTCUA_CLOCK):

a. the modeller shortens a step of the birth registration in the editor's side panel, saves the
   draft, publishes it as version 2 and rolls it out to the communes;
b. the reception clerk of Hoàn Kiếm receives a dossier for it and prints the appointment slip
   with its code and QR code;
c. the officers of its steps work it through their inboxes to the result, the appraisal being
   delegated to a colleague and resolved back to its owner on the way;
d. a second dossier is left open: the supervisor sees it at risk, then, once the clock has passed
   its appointment, overdue on the dashboard;
e. a citizen, not signed in, looks the first dossier up by its code.

Every page visited is saved as a screenshot under test-artifacts/screenshots/journey-*.png, and
any script error or failed request fails the test."""

from __future__ import annotations

import re

import pytest

from engine.store import catalogue_records
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.desk_fixtures import add_officers
from tests.web.test_model import KEY
from tests.web.test_model import modelled  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

INBOX = "/ban-lam-viec/"
BIRTH_LABEL = "Đăng ký khai sinh (1.001193)"
FINAL_STATUS = "Đã trả kết quả"


@pytest.fixture
def journey_rt(modelled):  # noqa: F811
    """The library's birth registration published as version 1, and the officers of its roles."""
    add_officers(modelled)
    return modelled


@pytest.fixture
def server(app, journey_rt):
    with live_server(app) as url:
        yield url


class Shots:
    """Numbered screenshots, so the folder reads in the order of the journey."""

    def __init__(self):
        self.count = 0

    def __call__(self, page, name: str) -> None:
        self.count += 1
        screenshot(page, f"journey-{self.count:02d}-{name}")


def shape(element_id: str) -> str:
    return f'#canvas g.djs-element.djs-shape[data-element-id="{element_id}"]'


def version_row(page, version: int):
    return page.locator(f"#versions tbody tr:has(td:first-child a:text-is('{version}'))")


def no_problems(*pages) -> None:
    for page in pages:
        assert page.problems == [], page.url


# -- a. the modeller -------------------------------------------------------------------------------


def model_publish_and_roll_out(chromium, server, shot) -> None:  # noqa: F811
    page = open_browser(chromium, server, "mo_hinh", home="/mo-hinh/")
    shot(page, "model-procedures")
    page.click(f"a[href='/mo-hinh/{KEY}?phien-ban=1']")
    page.wait_for_selector('#diagram g.djs-element[data-element-id="ky_duyet"]')
    assert page.text_content("h1") == "Đăng ký khai sinh"
    shot(page, "model-template-v1")

    page.click("text=Sửa thành bản nháp mới")
    page.wait_for_selector('#editor[data-ready="true"]')
    page.click(shape("ky_duyet"))
    assert page.input_value("#step-form input[name=budget]") == "30m"
    page.fill("#step-form input[name=budget]", "15m")  # 15m + 1h + 15m + 15m: within the 2 h after the cut-off
    page.click("#save")
    page.wait_for_function("document.getElementById('save-status').textContent.startsWith('Đã lưu')")
    assert "Đã lưu bản nháp phiên bản 2 — hợp lệ." in page.text_content("#save-status")
    assert page.locator("#findings li").count() == 0
    shot(page, "model-editor-draft-saved")

    page.click("#save-status a:has-text('Về trang mẫu để công bố')")
    page.wait_for_selector("#versions")
    assert version_row(page, 2).locator(".badge").text_content() == "Bản nháp"
    shot(page, "model-template-draft")
    version_row(page, 2).locator("button:has-text('Công bố')").click()
    page.wait_for_selector(".flash:has-text('Đã công bố phiên bản 2')")
    assert version_row(page, 2).locator(".badge").text_content() == "Đã công bố"
    assert version_row(page, 1).locator(".badge").text_content() == "Đã công bố"
    page.wait_for_selector('#diagram g.djs-element[data-element-id="ky_duyet"]')
    shot(page, "model-template-v2-published")

    version_row(page, 2).locator("a:has-text('Triển khai cho các xã')").click()
    page.wait_for_selector("#rollout-progress button")
    assert page.text_content("#rollout-progress p").startswith("0/2")  # Hoàn Kiếm and Cửa Nam
    shot(page, "model-rollout")
    page.click("#rollout-progress button")
    page.wait_for_selector("#rollout-progress .badge.ok")
    assert page.text_content("#rollout-progress p").startswith("2/2")
    assert "phiên bản 2 (100%)" in page.text_content("#rollout-progress p")
    shot(page, "model-rollout-done")
    no_problems(page)


# -- b. reception ----------------------------------------------------------------------------------


def receive(page, definition_id: int, name: str, shot, label: str) -> tuple[str, str]:
    """Receive a dossier at the desk; answers (its code, its appointment) from the printed slip."""
    page.click("header nav a:has-text('Tiếp nhận')")
    page.wait_for_url("**/ban-lam-viec/tiep-nhan")
    # Versions 1 and 2 are both published and both offered, under the same name: take version 2.
    assert page.locator(f"select[name=definition_id] option[value='{definition_id}']").text_content() == BIRTH_LABEL
    page.select_option("select[name=definition_id]", value=str(definition_id))
    page.wait_for_selector("#catalogue input[name=documents]")
    page.check("#catalogue input[name=documents][value='0']")
    page.check("#catalogue input[name=documents][value='1']")
    page.fill("input[name=applicant_name]", name)
    page.fill("input[name=id_number]", "001090012345")
    page.fill("input[name=phone]", "0912345678")
    page.fill("input[name=address]", "12 Hàng Bạc, Hoàn Kiếm")
    shot(page, f"{label}-reception-form")
    page.click("main button[type=submit]")
    page.wait_for_url("**/ban-lam-viec/in/*/tiep_nhan")
    code = page.text_content("article.paper .sub strong")
    appointment = page.text_content("article.paper [data-field=appointment_at]")
    assert re.fullmatch(r"01\.00070-260302-\d{4}", code)
    assert page.locator(".flash").text_content() == f"Đã tiếp nhận hồ sơ {code}."
    assert name in page.text_content("article.paper")
    return code, appointment


def reception(chromium, server, definition_id: int, shot):  # noqa: F811
    page = open_browser(chromium, server, "mot_cua_1", home=INBOX)
    shot(page, "reception-inbox-empty")
    code, appointment = receive(page, definition_id, "Trần Thị Bích", shot, "first")
    assert appointment == "17 giờ 00, ngày 02 tháng 03 năm 2026"  # received 08:00, one working day
    assert page.locator("article.paper .qr svg.segno").count() == 1  # the QR code, drawn as SVG
    assert re.search(rf"/tra-cuu\?ma={re.escape(code)}&k=[\w-]{{16}}", page.text_content("article.paper .qr"))
    slip = page.text_content("article.paper")
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in slip
    assert "Tờ khai đăng ký khai sinh (theo mẫu)" in slip and "Giấy chứng sinh" in slip
    assert "Nguyễn Tiếp Nhận" in slip  # the receiving officer signs
    shot(page, "first-receipt-slip")

    page.click("a:has-text('Về hồ sơ')")  # the dossier's page, then the printable slip from there
    page.wait_for_url("**/ban-lam-viec/ho-so/*")
    dossier_url = page.url
    assert page.text_content("h1") == code
    shot(page, "first-dossier")
    page.click("aside a:has-text('Giấy tiếp nhận và hẹn trả kết quả')")
    page.wait_for_url("**/ban-lam-viec/in/*/tiep_nhan")
    assert page.locator("article.paper svg.segno").count() == 1
    assert page.text_content("article.paper .sub strong") == code
    assert page.locator("button:has-text('In phiếu')").count() == 1
    shot(page, "first-printable-slip")
    return page, code, appointment, dossier_url


# -- c. through the inbox to the result -----------------------------------------------------------


def open_from_inbox(page, server, tab: str, code: str, shot, name: str) -> None:
    """From the inbox's tab, search the dossier's code and open its step."""
    page.goto(f"{server}{INBOX}")
    page.click(f"#inbox .tabs a[href*='tab={tab}']")
    page.wait_for_selector(f"#inbox .tabs a[aria-current][href*='tab={tab}']")
    page.fill("#q", code)
    page.wait_for_function(
        "(code) => { const rows = document.querySelectorAll('#inbox tbody tr');"
        " return rows.length === 1 && rows[0].textContent.includes(code); }",
        arg=code,
    )
    shot(page, f"{name}-inbox")
    page.click(f"#inbox tbody a:text-is('{code}')")
    page.wait_for_url("**/ban-lam-viec/buoc/*")


def claim(page, shot, name: str) -> None:
    page.click("#decision form[action$='/nhan'] button")
    page.wait_for_selector(".flash:has-text('Đã nhận xử lý.')")
    shot(page, f"{name}-claimed")


def complete(page, shot, name: str) -> None:
    shot(page, f"{name}-form-filled")
    page.click("#step-form button[type=submit]")
    page.wait_for_url(f"**{INBOX}")
    assert page.locator(".flash").text_content() == "Đã hoàn thành bước và chuyển hồ sơ sang bước tiếp theo."


def step_name(page) -> str:
    return page.text_content("h1").split(" · ")[0]


def work_through(chromium, server, clerk, code: str, dossier_url: str, clock, shot):  # noqa: F811
    # Reception checked the dossier in the same save: nothing is left for the desk to open.
    clerk.goto(f"{server}{INBOX}?tab=nhom")
    assert code not in clerk.text_content("#inbox")
    clock.advance(minutes=20)

    # The appraiser takes the step, delegates it to a colleague, who hands it back.
    owner = open_browser(chromium, server, "tu_phap_1", home=INBOX)
    open_from_inbox(owner, server, "nhom", code, shot, "step2-tu-phap-1")
    assert step_name(owner) == "Thẩm định hồ sơ, dự thảo kết quả"
    claim(owner, shot, "step2-tu-phap-1")
    step_url = owner.url
    owner.click("#thao-tac-khac summary")  # the other actions sit behind one menu
    owner.click("#thao-tac-khac a[href='#tac-uy-quyen']")
    owner.select_option("#tac-uy-quyen select[name=to_username]", "tu_phap_2")
    owner.fill("#tac-uy-quyen input[name=note]", "Kiểm tra giúp giấy chứng sinh")
    owner.click("#tac-uy-quyen button")
    owner.wait_for_selector(".flash:has-text('Đã ủy quyền cho tu_phap_2.')")
    assert owner.locator("#step-form").count() == 0  # the owner waits for the colleague
    shot(owner, "step2-tu-phap-1-delegated")

    clock.advance(minutes=20)
    colleague = open_browser(chromium, server, "tu_phap_2", home=INBOX)
    open_from_inbox(colleague, server, "duoc_uy_quyen", code, shot, "step2-tu-phap-2")
    assert colleague.url == step_url
    assert colleague.locator("#step-form").count() == 0  # a delegate checks, the owner decides
    colleague.click("#thao-tac-khac summary")
    colleague.click("#thao-tac-khac a:has-text('Chuyển lại cho Trần Tư Pháp')")
    colleague.fill("#tac-chuyen-lai textarea[name=note]", "Đã kiểm tra, giấy tờ hợp lệ")
    shot(colleague, "step2-tu-phap-2-resolve")
    colleague.click("#tac-chuyen-lai button")
    colleague.wait_for_url(f"**{INBOX}")
    assert colleague.locator(".flash").text_content() == "Đã chuyển lại cho người ủy quyền."
    shot(colleague, "step2-tu-phap-2-resolved")

    clock.advance(minutes=20)
    open_from_inbox(owner, server, "cua_toi", code, shot, "step2-tu-phap-1-back")
    assert "ủy quyền" not in owner.text_content("main h2:has-text('Bước hiện tại') + p")
    owner.check("#step-form input[name=ket_qua][value=dat]")
    owner.fill("#step-form input[name=ho_ten_tre]", "Nguyễn Bình An")
    owner.fill("#step-form input[name=ngay_sinh]", "2026-02-20")
    owner.select_option("#step-form select[name=gioi_tinh]", "nam")
    complete(owner, shot, "step2-tu-phap-1")

    # The leader signs.
    clock.advance(minutes=20)
    leader = open_browser(chromium, server, "lanh_dao_1", home=INBOX)
    open_from_inbox(leader, server, "nhom", code, shot, "step3-lanh-dao")
    assert step_name(leader) == "Lãnh đạo UBND xã ký duyệt"
    claim(leader, shot, "step3-lanh-dao")
    leader.check("#step-form input[name=ket_qua][value=duyet]")
    leader.fill("#step-form textarea[name=y_kien]", "Đồng ý")
    complete(leader, shot, "step3-lanh-dao")

    # Reception hands the result over.
    clock.advance(minutes=20)
    open_from_inbox(clerk, server, "nhom", code, shot, "step4-mot-cua")
    assert step_name(clerk) == "Trả kết quả"
    claim(clerk, shot, "step4-mot-cua")
    clerk.select_option("#step-form select[name=hinh_thuc_tra]", "tai_quay")
    clerk.fill("#step-form input[name=nguoi_nhan]", "Trần Thị Bích")
    complete(clerk, shot, "step4-mot-cua")

    clerk.fill("#q", code)  # nothing is left to do on it
    clerk.wait_for_function("document.querySelectorAll('#inbox tbody tr').length === 0")
    clerk.goto(dossier_url)
    history = clerk.text_content("main")
    assert "Ủy quyền" in history and "Chuyển lại sau ủy quyền" in history
    dossier_status = clerk.text_content("dl.card dt:text-is('Trạng thái') + dd")
    assert dossier_status == FINAL_STATUS
    signing = clerk.locator("table.grid tbody tr:has(td:text-is('Lãnh đạo UBND xã ký duyệt'))")
    received, due = signing.locator("td").all_text_contents()[2:4]
    assert (received, due) == ("09:00 ngày 02/03/2026", "09:15 ngày 02/03/2026")  # version 2's 15m, not 30m
    shot(clerk, "result-returned")
    no_problems(clerk, owner, colleague, leader)


# -- d. a late dossier and the supervisor ---------------------------------------------------------


def late_dossier_supervised(chromium, server, clerk, definition_id: int, clock, shot):  # noqa: F811
    clock.advance(minutes=10)
    code, appointment = receive(clerk, definition_id, "Lê Văn Cường", shot, "second")
    shot(clerk, "second-receipt-slip")
    # The slip writes the appointment as a document does, the supervisor's tables as a list does.
    assert appointment == "17 giờ 00, ngày 02 tháng 03 năm 2026"  # birth registration is settled the same day
    listed = "17:00 ngày 02/03/2026"

    # 16:40, nobody has taken its appraisal (received in one pass, late since 10:50): the 30 minutes of
    # signature and return after it cannot end by 17:00.
    clock.advance(minutes=410)
    supervisor = open_browser(chromium, server, "giam_sat", home="/giam-sat/")
    supervisor.wait_for_selector("#theo-xa th button.sort")  # the page's script has run
    shot(supervisor, "supervise-dashboard-before")
    supervisor.click("nav.tabs a:has-text('Nguy cơ trễ hẹn')")
    supervisor.wait_for_url("**/giam-sat/nguy-co*")
    risky = supervisor.locator(f"#nguy-co tbody tr[data-code='{code}']")
    assert risky.count() == 1
    assert listed in risky.text_content()
    assert "Cần phiếu xin lỗi và hẹn lại" in risky.text_content()
    shot(supervisor, "supervise-at-risk")

    clock.advance(days=2)  # Wednesday afternoon: the appointment has passed, the dossier still open
    supervisor.click("nav.tabs a:has-text('Thống kê')")
    supervisor.wait_for_url(re.compile(r"/giam-sat/(\?.*)?$"))
    supervisor.wait_for_selector("#theo-xa th button.sort")  # the page's script has run
    overdue = supervisor.locator("#tong-hop tbody a[data-bucket='overdue']")  # in progress, overdue
    assert overdue.text_content().strip() == "1"
    hoan_kiem = supervisor.locator("#theo-xa tbody tr[data-key='00070'] a[data-bucket='overdue']")
    assert hoan_kiem.text_content() == "1"
    assert supervisor.locator("#tong-hop tbody a[data-bucket='done']").text_content() == "1"
    shot(supervisor, "supervise-dashboard-overdue")
    hoan_kiem.click()
    supervisor.wait_for_url("**/giam-sat/ho-so?*nhom=overdue*")
    rows = supervisor.locator("#ho-so tbody tr")
    assert rows.count() == 1 and code in rows.first.text_content() and listed in rows.first.text_content()
    shot(supervisor, "supervise-overdue-dossiers")
    supervisor.click(f"#ho-so a:text-is('{code}')")
    supervisor.wait_for_url(f"**/giam-sat/ho-so/{code}")
    shot(supervisor, "supervise-late-dossier")
    # Past its appointment it is no longer "at risk" but overdue (see test_supervise).
    supervisor.goto(f"{server}/giam-sat/nguy-co")
    assert supervisor.locator(f"#nguy-co tbody tr[data-code='{code}']").count() == 0
    shot(supervisor, "supervise-at-risk-after")
    no_problems(clerk, supervisor)


# -- e. the citizen ---------------------------------------------------------------------------------


def citizen_looks_up(chromium, server, code: str, appointment: str, shot):  # noqa: F811
    citizen = open_browser(chromium, server, None, viewport=PHONE)  # a citizen looks it up on a phone
    citizen.goto(f"{server}/")
    shot(citizen, "public-home")
    citizen.click("header nav a:has-text('Tra cứu hồ sơ')")
    citizen.wait_for_url("**/tra-cuu")
    citizen.fill("#ma", code)
    citizen.fill("#so", "5678")  # the last digits of the phone given at the desk (0912345678)
    citizen.click("main button[type=submit]")
    citizen.wait_for_selector("dl.card")
    assert citizen.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    card = {
        dt.text_content(): dd.text_content().strip()
        for dt, dd in zip(citizen.locator("dl.card dt").all(), citizen.locator("dl.card dd").all())
    }
    assert card["Mã hồ sơ"] == code
    assert card["Trạng thái"] == FINAL_STATUS
    assert card["Ngày hẹn trả"] == appointment
    assert card["Nơi giải quyết"] == "Phường Hoàn Kiếm"
    assert card["Nhận kết quả"] == "Kết quả đã được trả cho người nộp hồ sơ."
    shot(citizen, "public-lookup")
    no_problems(citizen)


def test_model_receive_work_supervise_and_look_up(chromium, server, journey_rt, clock):  # noqa: F811
    shot = Shots()
    model_publish_and_roll_out(chromium, server, shot)
    with journey_rt.db.read_session() as s:
        version_2 = catalogue_records.definition_by_version(s, KEY, 2).id

    clerk, code, appointment, dossier_url = reception(chromium, server, version_2, shot)
    work_through(chromium, server, clerk, code, dossier_url, clock, shot)
    late_dossier_supervised(chromium, server, clerk, version_2, clock, shot)
    assert appointment == "17 giờ 00, ngày 02 tháng 03 năm 2026"  # as the slip writes it; the lookup page lists it
    citizen_looks_up(chromium, server, code, "17:00 ngày 02/03/2026", shot)
