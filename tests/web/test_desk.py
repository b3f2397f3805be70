"""The clerk's desk: reception and the appointment slip, the inbox, a step's form and hand-overs,
unit scoping, absences and the printed forms, driven through the pages as a clerk would."""

from __future__ import annotations

import re

import pytest
from lxml import html
from sqlalchemy import select

from configurator import steps
from engine.domain.assignment import Actor
from engine.services import absences
from engine.services import dossiers
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.desk_fixtures import item_ids
from tests.web.desk_fixtures import publish_birth_registration
from tests.web.desk_fixtures import tab_count

RECEPTION_FORM = "/ban-lam-viec/tiep-nhan"
INBOX = "/ban-lam-viec/"
TU_PHAP_1 = Actor("tu_phap_1", frozenset({"tu_phap_ho_tich"}), "00070")
RECEPTIONIST = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")
ACCEPT = {
    "nguoi_nop": "Nguyễn Văn An",
    "so_giay_to_tuy_than": "001090012345",
    "hinh_thuc_nop": "truc_tiep",
    "ket_qua": "tiep_nhan",
}
APPRAISED = {"ket_qua": "dat", "ho_ten_tre": "Nguyễn Bình An", "ngay_sinh": "2026-02-20"}


@pytest.fixture
def birth(web_rt):
    return publish_birth_registration(web_rt)


def receive(client, definition, **fields):
    token = csrf_token(client.get(RECEPTION_FORM).get_data(as_text=True))
    data = {
        "csrf_token": token,
        "definition_id": definition.id,
        "applicant_name": "Nguyễn Văn An",
        "id_number": "001090012345",
        "phone": "0912345678",
        "address": "12 Hàng Bạc, Hoàn Kiếm",
        "unit_code": "00070",
        "received_at": "",
        "documents": ["0", "1"],
        **fields,
    }
    return client.post(RECEPTION_FORM, data=data)


def arrive(rt, birth, name: str = "Nguyễn Văn An", unit_code: str = "00070") -> DossierRecord:
    """A dossier submitted online, waiting in the desk's group inbox for its reception check."""
    return dossiers.start_dossier(
        rt,
        definition_id=birth.id,
        unit_code=unit_code,
        applicant_name=name,
        actor=RECEPTIONIST,
        channel="online",
        applicant={
            "name": name,
            "id_number": "001090012345",
            "phone": "0912345678",
            "address": "12 Hàng Bạc, Hoàn Kiếm",
        },
    )


def only_dossier(rt) -> DossierRecord:
    with rt.db.read_session() as s:
        return s.scalars(select(DossierRecord)).one()


def open_item(rt, dossier_id: int) -> WorkItemRecord:
    """The dossier's one open step (the birth registration has no parallel steps)."""
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        ).one()


def post_on_page(client, page_url: str, action_url: str, data: dict):
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={"csrf_token": token, **data})


def field_error(response, key: str) -> str | None:
    """The message shown next to an action's field ('stop.reason'), or None."""
    found = html.fromstring(response.get_data(as_text=True)).xpath(f'//*[@data-field-error="{key}"]')
    return found[0].text_content().strip() if found else None


def typed_value(response, form_action: str, name: str) -> str:
    """What a form of the page holds in its field `name` (an input's value or a textarea's text)."""
    [form] = html.fromstring(response.get_data(as_text=True)).xpath(f'//form[@action="{form_action}"]')
    [field] = form.xpath(f'.//*[@name="{name}"]')
    return field.get("value") if field.tag == "input" else field.text_content()


def received_and_accepted(rt, client, birth) -> int:
    """A dossier received at the desk whose reception step is done: appraisal is next."""
    login(client, "mot_cua_1")
    receive(client, birth)  # reception in one pass: the reception step is done on saving
    return only_dossier(rt).id


# -- reception --------------------------------------------------------------------------------------


def test_receiving_a_dossier_prints_the_slip_with_code_appointment_and_qr(client, web_rt, birth):
    login(client, "mot_cua_1")
    form = client.get(RECEPTION_FORM).get_data(as_text=True)
    assert "Đăng ký khai sinh" in form and 'value="2026-03-02T08:00"' in form  # received now, by the clock

    response = receive(client, birth)

    assert response.status_code == 302
    slip = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in slip
    assert "01.00070-260302-0001" in slip
    assert "08 giờ 00, ngày 02 tháng 03 năm 2026" in slip  # received
    assert "17 giờ 00, ngày 02 tháng 03 năm 2026" in slip  # settled the same day: the day's close
    assert "Phường Hoàn Kiếm, ngày 02 tháng 03 năm 2026" in slip  # dated the day it was received
    assert "Thời gian giải quyết hồ sơ theo quy định: trong ngày (hồ sơ nhận sau 15:00" in slip
    assert "Tờ khai đăng ký khai sinh (theo mẫu)" in slip and "Giấy chứng sinh" in slip
    assert "Văn bản của cơ sở y tế" not in slip  # not ticked, not received
    assert "<svg" in slip and 'class="segno"' in slip
    assert "http://localhost/tra-cuu?ma=01.00070-260302-0001" in slip
    assert "Nguyễn Tiếp Nhận" in slip  # the receiving officer signs


def test_the_desk_shows_a_same_day_limit_in_the_reader_s_language(client, web_rt, birth):
    login(client, "mot_cua_1")
    checklist = f"/ban-lam-viec/tiep-nhan/thu-tuc?definition_id={birth.id}"
    assert "Thời hạn giải quyết:\n  Trong ngày" in client.get(checklist).get_data(as_text=True)
    client.get("/ngon-ngu/en?next=/")
    assert "Same day" in client.get(checklist).get_data(as_text=True)


def test_reception_refuses_a_missing_name_and_writes_nothing(client, web_rt, birth):
    login(client, "mot_cua_1")
    response = receive(client, birth, applicant_name="  ", phone="0987654321")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nhập họ tên người nộp hồ sơ." in page and 'value="0987654321"' in page
    with web_rt.db.read_session() as s:
        assert s.scalars(select(DossierRecord)).all() == []


def test_reception_names_a_malformed_id_number(client, web_rt, birth):
    login(client, "mot_cua_1")
    response = receive(client, birth, id_number="12-34")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Số định danh cá nhân / CCCD gồm 9 đến 12 chữ số." in page
    assert 'value="Nguyễn Văn An"' in page and 'name="documents" value="0" checked' in page
    with web_rt.db.read_session() as s:
        assert s.scalars(select(DossierRecord)).all() == []


def test_the_desk_records_how_the_dossier_came_and_shows_it_on_the_dossier_page(client, web_rt, birth):
    login(client, "mot_cua_1")
    form = html.fromstring(client.get(RECEPTION_FORM).get_data(as_text=True))
    assert form.xpath('//input[@name="channel"][@checked]/@value') == ["counter"]
    assert form.xpath('//input[@name="channel"]/@value') == ["counter", "online", "post"]

    refused = receive(client, birth, channel="fax")
    assert refused.status_code == 422
    assert "Chọn kênh tiếp nhận: trực tiếp, trực tuyến hoặc bưu chính." in refused.get_data(as_text=True)
    with web_rt.db.read_session() as s:
        assert s.scalars(select(DossierRecord)).all() == []

    assert receive(client, birth, channel="online").status_code == 302
    dossier = only_dossier(web_rt)
    assert dossier.channel == "online"
    page = html.fromstring(client.get(f"/ban-lam-viec/ho-so/{dossier.id}").get_data(as_text=True))
    assert page.xpath('string(//*[@id="kenh-tiep-nhan"])') == "Trực tuyến"


def test_only_reception_officers_open_the_reception_desk(client, birth):
    login(client, "tu_phap_1")
    assert client.get(RECEPTION_FORM).status_code == 403


def test_a_dossier_for_another_commune_lands_in_that_communes_inbox(client, web_rt, birth):
    login(client, "mot_cua_1")
    response = receive(client, birth, unit_code="00073")
    dossier = only_dossier(web_rt)
    assert dossier.unit_code == "00073" and dossier.code.startswith("01.00073-260302-")
    slip = client.get(response.headers["Location"]).get_data(as_text=True)  # the receiver still prints it
    assert dossier.code in slip and "Phường Cửa Nam" in slip

    mine = client.get(INBOX + "?tab=nhom").get_data(as_text=True)
    assert dossier.code not in mine and tab_count(mine, "nhom") == 0

    client.post("/dang-xuat", data={"csrf_token": csrf_token(mine)})
    login(client, "tu_phap_x")  # received in one pass: that commune's appraisal is next
    theirs = client.get(INBOX + "?tab=nhom").get_data(as_text=True)
    assert dossier.code in theirs and tab_count(theirs, "nhom") == 1


# -- inbox ------------------------------------------------------------------------------------------


def test_inbox_tabs_and_badges_follow_the_clock(client, web_rt, birth, clock):
    login(client, "mot_cua_1")
    arrive(web_rt, birth)
    group = client.get("/ban-lam-viec/danh-sach?tab=nhom", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert tab_count(group, "nhom") == 1 and tab_count(group, "cua_toi") == 0
    assert "sắp đến hạn" not in group and "quá hạn" not in group  # due 08:15, warned at 08:11

    clock.advance(minutes=12)
    assert "sắp đến hạn" in client.get("/ban-lam-viec/danh-sach?tab=nhom").get_data(as_text=True)
    clock.advance(minutes=5)
    late = client.get("/ban-lam-viec/danh-sach?tab=nhom").get_data(as_text=True)
    assert "quá hạn" in late and "sắp đến hạn" not in late

    [item_id] = item_ids(late)
    token = csrf_token(client.get(INBOX).get_data(as_text=True))
    claimed = client.post(
        f"/ban-lam-viec/buoc/{item_id}/nhan", data={"tab": "nhom"}, headers={"HX-Request": "true", "X-CSRFToken": token}
    ).get_data(as_text=True)
    assert tab_count(claimed, "nhom") == 0 and tab_count(claimed, "cua_toi") == 1
    assert 'hx-swap-oob="true"' in claimed  # the list came back as a partial, not a page
    mine = client.get(INBOX + "?tab=cua_toi").get_data(as_text=True)
    assert item_ids(mine) == [item_id] and 'hx-trigger="every 60s"' in mine


def test_inbox_filters_by_text_and_sorts_by_due_time(client, web_rt, birth, clock):
    login(client, "mot_cua_1")
    arrive(web_rt, birth, "Trần Thị Bích")
    clock.advance(minutes=10)
    arrive(web_rt, birth, "Lê Văn Cường")
    both = client.get(INBOX + "?tab=nhom").get_data(as_text=True)
    assert both.index("Trần Thị Bích") < both.index("Lê Văn Cường")  # the earlier one is due first
    found = client.get("/ban-lam-viec/danh-sach?tab=nhom&q=cường").get_data(as_text=True)
    assert "Lê Văn Cường" in found and "Trần Thị Bích" not in found and tab_count(found, "nhom") == 1
    by_code = client.get("/ban-lam-viec/danh-sach?tab=nhom&q=260302-0001").get_data(as_text=True)
    assert "Trần Thị Bích" in by_code and "Lê Văn Cường" not in by_code


# -- a step's page ----------------------------------------------------------------------------------


def test_a_form_error_names_the_field_keeps_the_input_and_saves_nothing(client, web_rt, birth):
    login(client, "mot_cua_1")
    arrive(web_rt, birth)
    item = open_item(web_rt, only_dossier(web_rt).id)
    page_url = f"/ban-lam-viec/buoc/{item.id}"
    page = client.get(page_url).get_data(as_text=True)
    assert 'value="Nguyễn Văn An"' in page  # reception's data prefills the step's form
    assert "Yêu cầu bổ sung, hoàn thiện hồ sơ" in page and "Từ chối tiếp nhận" in page  # the decisions

    bad = post_on_page(
        client, page_url, f"{page_url}/hoan-thanh", {**ACCEPT, "so_giay_to_tuy_than": "12ab", "version": item.version}
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="field-so_giay_to_tuy_than-error"' in text and "Không đúng định dạng." in text
    assert 'value="12ab"' in text and 'value="tiep_nhan" checked' in text
    assert open_item(web_rt, item.dossier_id).id == item.id  # still open: nothing was saved

    good = post_on_page(client, page_url, f"{page_url}/hoan-thanh", {**ACCEPT, "version": item.version})
    assert good.status_code == 302
    nxt = open_item(web_rt, item.dossier_id)
    assert nxt.element_id == "tham_dinh" and nxt.role == "tu_phap_ho_tich"


def test_asking_for_a_supplement_is_a_choice_of_the_reception_page_and_prints_form_02(client, web_rt, birth):
    login(client, "mot_cua_1")
    response = receive(client, birth, ket_qua="bo_sung", noi_dung_bo_sung="Bổ sung giấy chứng sinh bản chính")
    dossier = only_dossier(web_rt)
    assert response.headers["Location"].endswith(f"/in/{dossier.id}/bo_sung")
    waiting = open_item(web_rt, dossier.id)
    assert waiting.element_id == "yeu_cau_bo_sung" and dossier.status == 5
    request_form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Phiếu yêu cầu bổ sung" in request_form and "Bổ sung giấy chứng sinh bản chính" in request_form
    assert client.get(f"/ban-lam-viec/in/{dossier.id}/tu_choi").status_code == 404  # nothing refused


def test_refusing_at_reception_is_a_choice_of_the_reception_page_and_prints_form_03(client, web_rt, birth):
    login(client, "mot_cua_1")
    blank = receive(client, birth, ket_qua="tu_choi", ly_do_tu_choi=" ")
    assert blank.status_code == 422
    [message] = html.fromstring(blank.get_data(as_text=True)).xpath('//*[@id="ly_do_tu_choi-error"]')
    assert message.text_content().startswith("Từ chối cần ghi lý do")
    assert 'value="tu_choi" checked' in blank.get_data(as_text=True)
    with web_rt.db.read_session() as s:
        assert s.scalars(select(DossierRecord)).all() == []

    response = receive(client, birth, ket_qua="tu_choi", ly_do_tu_choi="Không thuộc thẩm quyền đăng ký của xã")
    dossier = only_dossier(web_rt)
    assert dossier.status == 3 and response.headers["Location"].endswith(f"/in/{dossier.id}/tu_choi")
    refusal = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Phiếu từ chối tiếp nhận giải quyết hồ sơ" in refusal
    assert "Không thuộc thẩm quyền đăng ký của xã" in refusal and "08 giờ 00, ngày 02 tháng 03 năm 2026" in refusal


def test_a_step_changed_by_someone_else_is_a_conflict_and_nothing_is_written(client, web_rt, birth):
    login(client, "mot_cua_1")
    arrive(web_rt, birth)
    item = open_item(web_rt, only_dossier(web_rt).id)
    page_url = f"/ban-lam-viec/buoc/{item.id}"
    token = csrf_token(client.get(page_url).get_data(as_text=True))  # the clerk opens the step...
    post_on_page(client, page_url, f"{page_url}/nhan", {})  # ...and it changes (claimed) meanwhile
    stale = client.post(f"{page_url}/hoan-thanh", data={"csrf_token": token, **ACCEPT, "version": item.version})
    text = stale.get_data(as_text=True)
    assert stale.status_code == 422 and "Xung đột: Bước “Tiếp nhận, kiểm tra hồ sơ” đã thay đổi" in text
    assert 'value="001090012345"' in text  # what was typed is still there
    assert open_item(web_rt, item.dossier_id).state == "claimed"


def test_return_to_the_previous_step_needs_a_reason_and_goes_back_to_its_handler(client, web_rt, birth):
    dossier_id = received_and_accepted(web_rt, client, birth)
    appraisal = open_item(web_rt, dossier_id)
    steps.complete_step(web_rt, appraisal.id, TU_PHAP_1, APPRAISED)
    signing = open_item(web_rt, dossier_id)
    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/buoc/{signing.id}"

    refused = post_on_page(client, page_url, f"{page_url}/tra-lai", {"reason": " "})
    assert refused.status_code == 422
    assert field_error(refused, "return.reason") == "Trả lại cần ghi lý do."
    assert open_item(web_rt, dossier_id).id == signing.id

    done = post_on_page(client, page_url, f"{page_url}/tra-lai", {"reason": "Sai ngày sinh của trẻ"})
    assert done.status_code == 302
    reopened = open_item(web_rt, dossier_id)
    assert reopened.element_id == "tham_dinh" and reopened.assignee == "tu_phap_1"
    history = client.get(f"/ban-lam-viec/ho-so/{dossier_id}").get_data(as_text=True)
    assert "Trả lại bước trước" in history and "Sai ngày sinh của trẻ" in history


def test_delegate_then_resolve_back_to_the_owner(client, web_rt, birth):
    dossier_id = received_and_accepted(web_rt, client, birth)
    item = open_item(web_rt, dossier_id)
    page_url = f"/ban-lam-viec/buoc/{item.id}"
    login(client, "tu_phap_1")
    post_on_page(client, page_url, f"/ban-lam-viec/buoc/{item.id}/nhan", {})
    delegated = post_on_page(
        client, page_url, f"{page_url}/uy-quyen", {"to_username": "tu_phap_2", "note": "Kiểm tra giúp giấy chứng sinh"}
    )
    assert delegated.status_code == 302
    owner_inbox = client.get(INBOX + "?tab=cua_toi").get_data(as_text=True)
    assert item_ids(owner_inbox) == [item.id] and "ủy quyền bởi" in owner_inbox  # still responsible

    login(client, "tu_phap_2")
    inbox = client.get(INBOX + "?tab=duoc_uy_quyen").get_data(as_text=True)
    assert tab_count(inbox, "duoc_uy_quyen") == 1 and item_ids(inbox) == [item.id]
    older_address = client.get(INBOX + "?tab=uy_quyen").get_data(as_text=True)  # before the tab was renamed
    assert item_ids(older_address) == [item.id]
    page = client.get(page_url).get_data(as_text=True)
    assert 'id="step-form"' not in page and "Chuyển lại cho Trần Tư Pháp" in page
    refused = post_on_page(client, page_url, f"{page_url}/hoan-thanh", APPRAISED)
    assert refused.status_code == 422
    assert "Không được phép: Bước đang được ủy quyền cho tu_phap_2" in refused.get_data(as_text=True)

    assert post_on_page(client, page_url, f"{page_url}/chuyen-lai", {"note": "Đã kiểm tra"}).status_code == 302
    login(client, "tu_phap_1")
    back = client.get(INBOX + "?tab=cua_toi").get_data(as_text=True)
    assert item_ids(back) == [item.id] and "ủy quyền bởi" not in back
    assert 'id="step-form"' in client.get(page_url).get_data(as_text=True)


def test_a_leader_reassigns_a_step_and_a_clerk_may_not(client, web_rt, birth):
    dossier_id = received_and_accepted(web_rt, client, birth)
    item = open_item(web_rt, dossier_id)
    page_url = f"/ban-lam-viec/buoc/{item.id}"
    login(client, "tu_phap_1")
    refused = post_on_page(client, page_url, f"{page_url}/giao-lai", {"target": "tu_phap_2", "reason": "bận"})
    assert refused.status_code == 422 and "Không được phép" in refused.get_data(as_text=True)
    login(client, "lanh_dao_1")
    assert (
        post_on_page(
            client, page_url, f"{page_url}/giao-lai", {"target": "tu_phap_2", "reason": "Cân đối công việc"}
        ).status_code
        == 302
    )
    assert open_item(web_rt, dossier_id).assignee == "tu_phap_2"


def test_an_officer_of_another_commune_gets_not_found(client, web_rt, birth):
    dossier_id = received_and_accepted(web_rt, client, birth)
    item = open_item(web_rt, dossier_id)
    login(client, "chuyen_vien_x")
    assert client.get(f"/ban-lam-viec/buoc/{item.id}").status_code == 404
    assert client.get(f"/ban-lam-viec/ho-so/{dossier_id}").status_code == 404
    assert client.get(f"/ban-lam-viec/in/{dossier_id}/kiem_soat").status_code == 404
    token = csrf_token(client.get(INBOX).get_data(as_text=True))
    assert client.post(f"/ban-lam-viec/buoc/{item.id}/nhan", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/ban-lam-viec/buoc/{item.id}/tra-nhom", data={"csrf_token": token}).status_code == 404
    assert client.post("/ban-lam-viec/buoc/999999/nhan", data={"csrf_token": token}).status_code == 404
    assert open_item(web_rt, dossier_id).assignee is None


# -- absences ---------------------------------------------------------------------------------------


def test_an_absence_routes_work_to_the_substitute_and_a_circular_one_is_refused(client, web_rt, birth, clock):
    dossier_id = received_and_accepted(web_rt, client, birth)
    item = open_item(web_rt, dossier_id)
    login(client, "tu_phap_1")
    post_on_page(client, f"/ban-lam-viec/buoc/{item.id}", f"/ban-lam-viec/buoc/{item.id}/nhan", {})
    declared = post_on_page(
        client,
        "/ban-lam-viec/vang-mat",
        "/ban-lam-viec/vang-mat",
        {"substitute": "tu_phap_2", "date_from": "2026-03-02", "date_to": "2026-03-04", "note": "Đi tập huấn"},
    )
    assert declared.status_code == 302
    assert "Lê Hộ Tịch" in client.get("/ban-lam-viec/vang-mat").get_data(as_text=True)
    overlapping = post_on_page(
        client,
        "/ban-lam-viec/vang-mat",
        "/ban-lam-viec/vang-mat",
        {"substitute": "tu_phap_2", "date_from": "2026-03-04", "date_to": "2026-03-06"},
    )
    assert overlapping.status_code == 422
    assert "tu_phap_1 đã đăng ký vắng mặt từ 02/03/2026 đến 04/03/2026" in overlapping.get_data(as_text=True)

    absences.route_to_substitutes(web_rt)  # the worker's tick

    login(client, "tu_phap_2")
    covering = client.get(INBOX + "?tab=thay_nguoi_vang").get_data(as_text=True)
    assert item_ids(covering) == [item.id] and "thay Trần Tư Pháp" in covering
    circular = post_on_page(
        client,
        "/ban-lam-viec/vang-mat",
        "/ban-lam-viec/vang-mat",
        {"substitute": "tu_phap_1", "date_from": "2026-03-03", "date_to": "2026-03-03"},
    )
    text = circular.get_data(as_text=True)
    assert circular.status_code == 422 and 'value="2026-03-03"' in text
    assert "Ủy quyền vòng tròn: tu_phap_2 → tu_phap_1 → tu_phap_2" in text

    login(client, "tu_phap_1")  # back early: ending the absence gives the step back
    listing = client.get("/ban-lam-viec/vang-mat").get_data(as_text=True)
    [end_url] = re.findall(r'action="(/ban-lam-viec/vang-mat/\d+/ket-thuc)"', listing)
    assert post_on_page(client, "/ban-lam-viec/vang-mat", end_url, {}).status_code == 302
    assert open_item(web_rt, dossier_id).assignee == "tu_phap_1"
    assert "Đã kết thúc" in client.get("/ban-lam-viec/vang-mat").get_data(as_text=True)


# -- printed forms ----------------------------------------------------------------------------------


def test_apology_once_with_both_appointments_and_a_control_slip_with_late_steps(client, web_rt, birth, clock):
    login(client, "mot_cua_1")
    arrive(web_rt, birth)
    dossier = only_dossier(web_rt)
    clock.advance(hours=8)  # 16:00: the reception step (due 08:15) is done late
    steps.complete_step(web_rt, open_item(web_rt, dossier.id).id, RECEPTIONIST, ACCEPT)

    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/ho-so/{dossier.id}"
    page = client.get(page_url).get_data(as_text=True)
    assert "Lập phiếu xin lỗi" in page  # 1h45 of steps left cannot end by today's 17:00
    moved = post_on_page(
        client,
        page_url,
        f"/ban-lam-viec/ho-so/{dossier.id}/hen-lai",
        {"new_appointment": "2026-03-03T17:00", "reason": "Chờ xác minh nơi sinh"},
    )
    assert moved.status_code == 302
    letter = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "Phiếu xin lỗi và hẹn lại ngày trả kết quả" in letter
    assert "Ngày 02 tháng 03 năm 2026, Phường Hoàn Kiếm tiếp nhận giải quyết hồ sơ" in letter
    assert "17 giờ 00, ngày 02 tháng 03 năm 2026" in letter  # the original appointment
    assert "17 giờ 00, ngày 03 tháng 03 năm 2026" in letter  # the new one
    assert "Phường Hoàn Kiếm, ngày 02 tháng 03 năm 2026" in letter  # the place-and-date line
    assert "Chờ xác minh nơi sinh" in letter
    assert "ngày 02/03/2026" not in letter and "Ngày 08:00" not in letter

    again = post_on_page(
        client,
        page_url,
        f"/ban-lam-viec/ho-so/{dossier.id}/hen-lai",
        {"new_appointment": "2026-03-04T17:00", "reason": "Lần nữa"},
    )
    assert again.status_code == 422 and "chỉ được hẹn lại một lần" in again.get_data(as_text=True)
    assert only_dossier(web_rt).appointment_at.isoformat().startswith("2026-03-03T10:00")  # 17:00 in Hà Nội

    slip = client.get(f"/ban-lam-viec/in/{dossier.id}/kiem_soat").get_data(as_text=True)
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in slip
    assert "08:15 ngày 02/03/2026" in slip and "16:00 ngày 02/03/2026" in slip  # due, then handed over
    assert "Quá hạn" in slip and "Nguyễn Tiếp Nhận" in slip
    log = client.get(f"/ban-lam-viec/in/{dossier.id}/so_theo_doi").get_data(as_text=True)
    assert "Sổ theo dõi hồ sơ" in log and "Xin lỗi và hẹn lại" in log and "12 Hàng Bạc" in log


def test_a_new_appointment_not_ahead_or_not_after_the_original_is_refused_at_its_field(client, web_rt, birth, clock):
    login(client, "mot_cua_1")
    receive(client, birth)
    dossier = only_dossier(web_rt)  # received Monday 08:00, appointment Monday 17:00
    clock.advance(hours=2)  # 10:00
    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/ho-so/{dossier.id}"
    action = f"{page_url}/hen-lai"
    for typed, message in (
        ("2026-03-02T09:00", "Ngày hẹn mới phải sau thời điểm hiện tại"),
        ("2026-03-02T17:00", "Ngày hẹn mới phải sau ngày hẹn ban đầu"),
    ):
        refused = post_on_page(client, page_url, action, {"new_appointment": typed, "reason": "Chờ xác minh"})
        assert refused.status_code == 422
        assert field_error(refused, "reappoint.new_appointment").startswith(message)
        assert typed_value(refused, action, "new_appointment") == typed  # what the leader typed stays
        assert typed_value(refused, action, "reason") == "Chờ xác minh"
    blank = post_on_page(client, page_url, action, {"new_appointment": "2026-03-04T17:00", "reason": "  "})
    assert blank.status_code == 422 and field_error(blank, "reappoint.reason") == "Phiếu xin lỗi cần ghi lý do."
    assert field_error(blank, "reappoint.new_appointment") is None
    unchanged = only_dossier(web_rt)
    assert (unchanged.appointment_at, unchanged.re_appointment_reason) == (dossier.appointment_at, None)
    assert client.get(f"/ban-lam-viec/in/{dossier.id}/xin_loi").status_code == 404  # no letter was issued


def test_the_printed_letter_stays_vietnamese_in_the_english_interface(client, web_rt, birth, clock):
    login(client, "mot_cua_1")
    receive(client, birth)
    dossier = only_dossier(web_rt)
    clock.advance(days=1)  # Tuesday: the appointment was missed; the letter is dated today
    login(client, "lanh_dao_1")
    client.get("/ngon-ngu/en?next=/")
    page_url = f"/ban-lam-viec/ho-so/{dossier.id}"
    moved = post_on_page(
        client, page_url, f"{page_url}/hen-lai", {"new_appointment": "2026-03-04T10:00", "reason": "Chờ xác minh"}
    )
    assert moved.status_code == 302
    letter = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "10 giờ 00, ngày 04 tháng 03 năm 2026" in letter
    assert "Phường Hoàn Kiếm, ngày 03 tháng 03 năm 2026" in letter
    assert "Ngày 02 tháng 03 năm 2026, Phường Hoàn Kiếm tiếp nhận" in letter


def test_a_refusal_without_its_reason_is_refused_at_the_field_and_nothing_is_written(client, web_rt, birth):
    login(client, "mot_cua_1")
    arrive(web_rt, birth)
    item = open_item(web_rt, only_dossier(web_rt).id)
    page_url = f"/ban-lam-viec/buoc/{item.id}"
    refused = post_on_page(
        client, page_url, f"{page_url}/hoan-thanh", {**ACCEPT, "ket_qua": "tu_choi", "ly_do_tu_choi": "  "}
    )
    assert refused.status_code == 422
    [message] = html.fromstring(refused.get_data(as_text=True)).xpath('//*[@id="field-ly_do_tu_choi-error"]')
    assert message.text_content().startswith("Từ chối cần ghi lý do")
    assert 'value="tu_choi" checked' in refused.get_data(as_text=True)  # the decision stays chosen
    assert only_dossier(web_rt).status == 2 and open_item(web_rt, item.dossier_id).id == item.id


def test_stopping_a_dossier_without_a_reason_is_refused_at_the_field(client, web_rt, birth):
    login(client, "mot_cua_1")
    receive(client, birth)
    dossier = only_dossier(web_rt)
    page_url = f"/ban-lam-viec/ho-so/{dossier.id}"
    refused = post_on_page(client, page_url, f"{page_url}/dung", {"kind": "dung", "reason": ""})
    assert refused.status_code == 422 and field_error(refused, "stop.reason").startswith("Cần ghi lý do dừng xử lý")
    assert 'value="dung" checked' in refused.get_data(as_text=True)  # still the unit's stop, not a withdrawal
    assert only_dossier(web_rt).run_state == "running"


def test_a_clerk_who_is_not_a_leader_cannot_reappoint(client, web_rt, birth):
    login(client, "mot_cua_1")
    receive(client, birth)
    dossier = only_dossier(web_rt)
    page_url = f"/ban-lam-viec/ho-so/{dossier.id}"
    refused = post_on_page(
        client, page_url, f"{page_url}/hen-lai", {"new_appointment": "2026-03-03T17:00", "reason": "x"}
    )
    assert refused.status_code == 403
    assert only_dossier(web_rt).re_appointment_reason is None


def test_the_receiving_communes_leader_does_not_reappoint_another_communes_dossier(client, web_rt, birth):
    login(client, "mot_cua_1")
    receive(client, birth, unit_code="00073")
    dossier = only_dossier(web_rt)
    login(client, "lanh_dao_1")
    token = csrf_token(client.get(INBOX).get_data(as_text=True))
    refused = client.post(
        f"/ban-lam-viec/ho-so/{dossier.id}/hen-lai",
        data={"csrf_token": token, "new_appointment": "2026-03-03T17:00", "reason": "x"},
    )
    assert refused.status_code == 403
    assert only_dossier(web_rt).re_appointment_reason is None


def test_an_applicant_withdraws_the_dossier_and_gets_a_stop_notice(client, web_rt, birth):
    login(client, "mot_cua_1")
    receive(client, birth)
    dossier = only_dossier(web_rt)
    page_url = f"/ban-lam-viec/ho-so/{dossier.id}"
    no_reason = post_on_page(client, page_url, f"{page_url}/dung", {"kind": "rut", "reason": " "})
    assert no_reason.status_code == 422
    assert field_error(no_reason, "stop.reason").startswith("Rút hồ sơ theo đề nghị của công dân cần ghi lý do")
    assert only_dossier(web_rt).run_state == "running"

    login(client, "tu_phap_1")  # a specialist may not stop a dossier
    refused = post_on_page(client, page_url, f"{page_url}/dung", {"kind": "dung", "reason": "x"})
    assert refused.status_code == 422 and "Chỉ bộ phận một cửa hoặc lãnh đạo" in refused.get_data(as_text=True)

    login(client, "mot_cua_1")
    done = post_on_page(
        client, page_url, f"{page_url}/dung", {"kind": "rut", "reason": "Công dân xin rút để bổ sung sau"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/in/{dossier.id}/dung")
    stopped = only_dossier(web_rt)
    assert (stopped.run_state, stopped.status) == ("cancelled", 8)
    notice = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Theo đề nghị của Ông/Bà" in notice and "Công dân xin rút để bổ sung sau" in notice
    assert "Nguyễn Tiếp Nhận" in notice  # who issued it


def test_the_units_register_lists_its_dossiers_of_the_period_and_nothing_else(client, web_rt, birth, clock):
    login(client, "mot_cua_1")
    receive(client, birth, applicant_name="Người Nộp Một")
    receive(client, birth, applicant_name="Người Nộp Xã Khác", unit_code="00073")  # handled by 00073
    clock.advance(days=40)
    receive(client, birth, applicant_name="Người Nộp Tháng Sau")
    page = client.get("/ban-lam-viec/so-theo-doi?tu=2026-03-01&den=2026-03-31").get_data(as_text=True)
    assert "Người Nộp Một" in page and "1 hồ sơ" in page
    assert "Người Nộp Xã Khác" not in page and "Người Nộp Tháng Sau" not in page
    assert client.get("/ban-lam-viec/so-theo-doi?tu=2026-03-31&den=2026-03-01").status_code == 400


def test_sla_levels_show_on_the_step_and_in_its_history(client, web_rt, birth, clock):
    from engine.services import sla

    login(client, "mot_cua_1")
    arrive(web_rt, birth)
    item = open_item(web_rt, only_dossier(web_rt).id)
    clock.advance(days=2)  # well past the reception step's due time
    sla.sweep(web_rt)  # one sweep fires every level now due: the warning and the breach
    page = client.get(f"/ban-lam-viec/buoc/{item.id}").get_data(as_text=True)
    assert "Cảnh báo đã gửi" in page and "Quá hạn xử lý" in page and "Cảnh báo sắp đến hạn" in page
