"""The desk's citizen side: reception asks how the applicant wants to be told and which fee cases
apply; a dossier of a procedure paid first waits at status 6 until the payment recorded on its page;
the receipt prints; a channel without provider shows the applicant was not told."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy import update

from engine.domain.model import DossierStatus
from engine.services import outbox
from engine.services.delivery import default_channels
from engine.store.catalogue_records import ProcedureRecord
from engine.store.records import DossierRecord
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.desk_fixtures import BIRTH
from tests.web.desk_fixtures import publish_birth_registration
from tests.web.test_desk import receive


@pytest.fixture
def birth(web_rt):
    definition = publish_birth_registration(web_rt)
    with web_rt.db.session() as s:  # this province collects the late-registration fee before processing
        s.execute(update(ProcedureRecord).where(ProcedureRecord.key == BIRTH).values(fees_before_processing=True))
    return definition


def only_dossier(rt) -> DossierRecord:
    with rt.db.read_session() as s:
        return s.scalars(select(DossierRecord)).one()


def test_unpaid_fee_waits_then_payment_goes_on_and_prints_its_receipt(client, web_rt, birth):
    login(client, "mot_cua_1")
    form = client.get(f"/ban-lam-viec/tiep-nhan/thu-tuc?definition_id={birth.id}").get_data(as_text=True)
    assert 'name="fee_case" value="1"' in form and "nộp phí, lệ phí trước khi giải quyết" in form
    answer = receive(client, birth, fee_case=["1"], notify=["sms", "email"], email="an@example.vn")
    assert answer.status_code == 302
    dossier = only_dossier(web_rt)
    assert dossier.status == DossierStatus.FINANCIAL_OBLIGATION
    assert dossier.applicant["fees"] == [{"name": "Lệ phí đăng ký khai sinh không đúng hạn", "amount_vnd": 8000}]
    assert dossier.applicant["notify"] == ["sms", "email"]

    outbox.deliver_due(web_rt, default_channels())  # no provider configured anywhere
    page = client.get(f"/ban-lam-viec/ho-so/{dossier.id}").get_data(as_text=True)
    assert 'id="chua-bao"' in page and "chưa gửi: kênh chưa được cấu hình cho đơn vị" in page
    assert 'data-outstanding="8000"' in page and "chờ nộp phí: tạm dừng tính thời hạn" in page

    answer = client.post(
        f"/ban-lam-viec/ho-so/{dossier.id}/nop-phi",
        data={"csrf_token": csrf_token(page), "amount_vnd": "8000", "method": "bank"},
    )
    assert answer.status_code == 422
    assert "cần ghi mã giao dịch" in answer.get_data(as_text=True)
    answer = client.post(
        f"/ban-lam-viec/ho-so/{dossier.id}/nop-phi",
        follow_redirects=True,
        data={"csrf_token": csrf_token(page), "amount_vnd": "8.000", "method": "bank", "reference": "FT2606112345"},
    )
    page = answer.get_data(as_text=True)
    assert "Đã ghi nhận khoản nộp 8.000 đồng." in page and 'data-outstanding="0"' in page
    assert only_dossier(web_rt).status != DossierStatus.FINANCIAL_OBLIGATION

    receipt = client.get(f"/ban-lam-viec/in/{dossier.id}/bien_lai").get_data(as_text=True)
    assert "Biên lai thu phí, lệ phí" in receipt and "FT2606112345" in receipt
    assert re.search(r'data-field="paid"><strong>8\.000<', receipt)


def test_paid_at_the_counter_never_waits(client, web_rt, birth):
    login(client, "mot_cua_1")
    assert receive(client, birth, fee_case=["1"], fee_vnd="8000").status_code == 302
    dossier = only_dossier(web_rt)
    assert dossier.status != DossierStatus.FINANCIAL_OBLIGATION
    assert "Biên lai thu phí, lệ phí" in client.get(f"/ban-lam-viec/in/{dossier.id}/bien_lai").get_data(as_text=True)


def test_channels_need_their_address(client, web_rt, birth):
    login(client, "mot_cua_1")
    answer = receive(client, birth, notify=["email"], email="")
    assert answer.status_code == 422
    assert "qua thư điện tử cần địa chỉ thư điện tử" in answer.get_data(as_text=True)
    answer = receive(client, birth, email="khong-phai-thu")
    assert "Địa chỉ thư điện tử không hợp lệ." in answer.get_data(as_text=True)


def test_no_receipt_before_any_payment(client, web_rt, birth):
    login(client, "mot_cua_1")
    receive(client, birth)
    dossier = only_dossier(web_rt)
    assert client.get(f"/ban-lam-viec/in/{dossier.id}/bien_lai").status_code == 404
    page = client.get(f"/ban-lam-viec/ho-so/{dossier.id}").get_data(as_text=True)
    assert "Người nộp không đăng ký nhận thông báo" in page


def test_the_lookup_shows_the_fees(client, web_rt, birth):
    login(client, "mot_cua_1")
    receive(client, birth, fee_case=["1"], fee_vnd="3000")
    dossier = only_dossier(web_rt)
    client.post("/dang-xuat", data={"csrf_token": csrf_token(client.get("/ban-lam-viec/").get_data(as_text=True))})
    page = client.get(f"/tra-cuu?ma={dossier.code}&so=5678").get_data(as_text=True)
    assert "Lệ phí đăng ký khai sinh không đúng hạn: 8.000 đồng" in page
    assert 'data-outstanding="5000"' in page and "đã nộp 3.000 đồng, còn 5.000 đồng" in page
