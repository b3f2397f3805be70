"""The dossier as one record in a real browser, on an office desktop (1366x768) and a phone (390x844):

a. the reception clerk receives a birth registration in one pass with scans of its checklist;
b. the specialist sees the scans, appraises, attaches the appraisal minutes;
c. the leader's page leads with the specialist's proposal, shows every entry and file, takes the
   signed result file and the signature;
d. the dossier's archive (ZIP with a manifest) is downloaded from its page;
and, apart, a step returned by the leader comes back to the specialist filled with what was entered.

Screenshots: test-artifacts/screenshots/record-*.png (desktop and phone)."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest

from configurator import steps
from engine.domain.assignment import Actor
from tests.web.browser import DESKTOP
from tests.web.browser import PHONE
from tests.web.browser import chromium  # noqa: F401  (fixture)
from tests.web.browser import live_server
from tests.web.browser import open_browser
from tests.web.browser import screenshot
from tests.web.desk_fixtures import publish_birth_registration
from web.demo_files import tiny_pdf
from web.demo_files import tiny_png

pytestmark = pytest.mark.browser

INBOX = "/ban-lam-viec/"
PDF = tiny_pdf("To khai dang ky khai sinh")
PNG = tiny_png()
MINUTES = tiny_pdf("Bien ban xac minh noi sinh")
RESULT = tiny_pdf("Giay khai sinh - ban chinh da ky")
RECEPTIONIST = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")
TU_PHAP_1 = Actor("tu_phap_1", frozenset({"tu_phap_ho_tich"}), "00070")
RECEIVED = {
    "nguoi_nop": "Trần Thị Bích",
    "so_giay_to_tuy_than": "001090012345",
    "hinh_thuc_nop": "truc_tiep",
    "ket_qua": "tiep_nhan",
}
APPRAISED = {
    "ket_qua": "dat",
    "y_kien": "Giấy tờ hợp lệ",
    "ho_ten_tre": "Nguyễn Bình An",
    "ngay_sinh": "2026-02-20",
    "noi_sinh": "Bệnh viện Phụ sản Hà Nội",
    "gioi_tinh": "nam",
}


@pytest.fixture
def birth(web_rt):
    return publish_birth_registration(web_rt)


@pytest.fixture
def server(app, birth):
    with live_server(app) as url:
        yield url


def both_screens(
    chromium,
    server,
    username: str,
    path: str,
    name: str,
    desktop,  # noqa: F811
    prepare=None,
) -> None:
    """The desktop tab's screenshot, and the same page on a phone (`prepare` sets it up there)."""
    screenshot(desktop, f"record-{name}-desktop")
    phone = open_browser(chromium, server, username, viewport=PHONE)
    phone.goto(f"{server}{path}")
    if prepare is not None:
        prepare(phone)
    screenshot(phone, f"record-{name}-phone")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        f"{name}: the phone has to scroll sideways"
    )
    assert phone.problems == []
    phone.context.close()


def choose_birth_registration(page) -> None:
    page.select_option("select[name=definition_id]", label="Đăng ký khai sinh (1.001193)")
    page.wait_for_selector("#catalogue input[name=file_0]")


def open_step(page, server, tab: str, code: str) -> None:
    page.goto(f"{server}{INBOX}?tab={tab}")
    page.click(f"#inbox tbody a:text-is('{code}')")
    page.wait_for_url("**/ban-lam-viec/buoc/*")


def claim(page) -> None:
    page.click("#decision form[action$='/nhan'] button")
    page.wait_for_selector(".flash:has-text('Đã nhận xử lý.')")


def attach(page, kind: str, name: str, data: bytes) -> None:
    page.select_option("#attach-form select[name=kind]", kind)
    page.set_input_files(
        "#attach-form input[name=file]", files=[{"name": name, "mimeType": "application/pdf", "buffer": data}]
    )
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector(f".flash:has-text('Đã đính kèm tệp {name}.')")


def complete(page) -> None:
    page.click("#step-form button[type=submit]")
    page.wait_for_url(f"**{INBOX}")


def test_reception_with_scans_to_the_leader_then_the_result_and_the_archive(chromium, server, tmp_path):  # noqa: F811
    # a. Reception in one pass, with the checklist's scans.
    clerk = open_browser(chromium, server, "mot_cua_1", home=INBOX, viewport=DESKTOP)
    clerk.goto(f"{server}/ban-lam-viec/tiep-nhan")
    choose_birth_registration(clerk)
    clerk.check("#catalogue input[name=documents][value='0']")
    clerk.check("#catalogue input[name=documents][value='1']")
    clerk.set_input_files(
        "input[name=file_0]", files=[{"name": "tờ khai.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    clerk.set_input_files(
        "input[name=file_1]", files=[{"name": "giấy chứng sinh.png", "mimeType": "image/png", "buffer": PNG}]
    )
    clerk.fill("input[name=applicant_name]", "Trần Thị Bích")
    clerk.fill("input[name=id_number]", "001090012345")
    clerk.fill("input[name=phone]", "0912345678")
    clerk.fill("input[name=fee_vnd]", "0")
    assert clerk.is_checked("input[name=ket_qua][value=tiep_nhan]")  # receiving is the usual choice
    both_screens(
        chromium,
        server,
        "mot_cua_1",
        "/ban-lam-viec/tiep-nhan",
        "a-reception-form",
        clerk,
        prepare=choose_birth_registration,
    )
    clerk.click("#reception-form button[type=submit]")
    clerk.wait_for_url("**/ban-lam-viec/in/*/tiep_nhan")
    code = clerk.text_content("article.paper .sub strong")
    assert clerk.locator(".flash").text_content() == f"Đã tiếp nhận hồ sơ {code}."
    screenshot(clerk, "record-a-receipt-desktop")
    clerk.goto(f"{server}{INBOX}?tab=nhom")
    assert code not in clerk.text_content("#inbox")  # the reception step was completed by the save

    # b. The specialist sees the scans, appraises and attaches the minutes.
    specialist = open_browser(chromium, server, "tu_phap_1", home=INBOX, viewport=DESKTOP)
    open_step(specialist, server, "nhom", code)
    claim(specialist)
    assert specialist.locator("#checklist a").all_text_contents() == ["tờ khai.pdf", "giấy chứng sinh.png"]
    scan = specialist.request.get(server + specialist.get_attribute("#checklist a >> nth=1", "href"))
    assert scan.ok and scan.headers["content-type"] == "image/png" and scan.body() == PNG
    attach(specialist, "processing", "biên bản xác minh.pdf", MINUTES)
    specialist.check("#step-form input[name=ket_qua][value=dat]")
    specialist.fill("#step-form input[name=ho_ten_tre]", APPRAISED["ho_ten_tre"])
    specialist.fill("#step-form input[name=ngay_sinh]", APPRAISED["ngay_sinh"])
    specialist.select_option("#step-form select[name=gioi_tinh]", "nam")
    specialist.fill("#step-form input[name=noi_sinh]", APPRAISED["noi_sinh"])
    specialist.fill("#step-form textarea[name=y_kien]", APPRAISED["y_kien"])
    step_url = specialist.url
    both_screens(chromium, server, "tu_phap_1", step_url.removeprefix(server), "b-appraisal", specialist)
    complete(specialist)

    # c. The leader decides on the proposal, with every entry and file in view.
    leader = open_browser(chromium, server, "lanh_dao_1", home=INBOX, viewport=DESKTOP)
    open_step(leader, server, "nhom", code)
    claim(leader)
    proposal = leader.text_content("#proposal")
    assert "Đủ điều kiện, trình ký kết quả" in proposal and "Giấy tờ hợp lệ" in proposal
    appraisal = leader.locator("#record section[data-step='tham_dinh']")
    assert appraisal.locator("dd[data-field='ho_ten_tre']").text_content() == "Nguyễn Bình An"
    assert appraisal.locator("dd[data-field='noi_sinh']").text_content() == "Bệnh viện Phụ sản Hà Nội"
    assert leader.locator("#files tbody tr").count() == 3
    attach(leader, "result", "giấy khai sinh.pdf", RESULT)
    assert leader.locator("#files tbody tr[data-kind='result']").count() == 1
    leader.check("#step-form input[name=ket_qua][value=duyet]")
    both_screens(chromium, server, "lanh_dao_1", leader.url.removeprefix(server), "c-leader", leader)
    complete(leader)

    # d. The archive, from the dossier's page.
    open_step(clerk, server, "nhom", code)  # the result's return, at the desk
    clerk.click("a#archive-link")
    with clerk.expect_download() as download:
        clerk.click("a#archive-link")
    archive = tmp_path / "archive.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert [(f["name"], f["kind"]) for f in manifest["files"]] == [
            ("tờ khai.pdf", "reception"),
            ("giấy chứng sinh.png", "reception"),
            ("biên bản xác minh.pdf", "processing"),
            ("giấy khai sinh.pdf", "result"),
        ]
        assert all(hashlib.sha256(zf.read(f["path"])).hexdigest() == f["sha256"] for f in manifest["files"])
        assert [s["step"] for s in manifest["data"]] == ["tiep_nhan", "tham_dinh", "ky_duyet"]
    screenshot(clerk, "record-d-return-step-desktop")
    for page in (clerk, specialist, leader):
        assert page.problems == [], page.url


def test_a_step_returned_by_the_leader_comes_back_filled(chromium, server, web_rt, birth):  # noqa: F811
    dossier, _ = steps.receive_dossier(
        web_rt,
        definition_id=birth.id,
        unit_code="00070",
        applicant_name="Trần Thị Bích",
        actor=RECEPTIONIST,
        reception=RECEIVED,
        applicant={"name": "Trần Thị Bích", "id_number": "001090012345"},
    )
    with web_rt.db.read_session() as s:
        from engine.store import repositories

        [appraisal] = repositories.open_work_items(s, dossier.id)
    steps.complete_step(web_rt, appraisal.id, TU_PHAP_1, APPRAISED)

    leader = open_browser(chromium, server, "lanh_dao_1", home=INBOX, viewport=DESKTOP)
    open_step(leader, server, "nhom", dossier.code)
    claim(leader)
    leader.click("#decision details.return summary")
    leader.fill("#decision form[action$='/tra-lai'] textarea[name=reason]", "Ghi lại nơi sinh theo giấy chứng sinh")
    leader.click("#decision form[action$='/tra-lai'] button")
    leader.wait_for_url(f"**{INBOX}")

    specialist = open_browser(chromium, server, "tu_phap_1", home=INBOX, viewport=DESKTOP)
    open_step(specialist, server, "cua_toi", dossier.code)  # back to whoever appraised it
    form = specialist.locator("#step-form")
    assert form.locator("input[name=ho_ten_tre]").input_value() == "Nguyễn Bình An"
    assert form.locator("input[name=noi_sinh]").input_value() == "Bệnh viện Phụ sản Hà Nội"
    assert form.locator("input[name=ngay_sinh]").input_value() == "2026-02-20"
    assert form.locator("select[name=gioi_tinh]").input_value() == "nam"
    assert form.locator("input[name=ket_qua][value=dat]").is_checked()
    assert "Ghi lại nơi sinh theo giấy chứng sinh" in specialist.text_content("#record section[data-step='ky_duyet']")
    both_screens(chromium, server, "tu_phap_1", specialist.url.removeprefix(server), "e-returned-prefilled", specialist)
    assert leader.problems == [] and specialist.problems == []
