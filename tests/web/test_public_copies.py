"""The citizen's copies on the lookup page: exactly the documents addressed to the applicant and the
result files, each behind a short-lived signed link bound to the dossier, every download logged."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs
from urllib.parse import urlparse

import pytest
from lxml import html
from sqlalchemy import select

from engine.services.runtime import Runtime
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import UserRecord
from tests.factories import add_units
from tests.hostile.web_fixtures import close_app
from tests.web.conftest import _HASH
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.desk_fixtures import publish_birth_registration
from tests.web.test_pdf_pages import pages_of
from tests.web.test_pdf_pages import tools  # noqa: F401  (autouse: poppler and zbar read the PDFs)
from web.app import create_app
from web.demo_files import tiny_pdf
from web.demo_files import tiny_png
from web.public.lookup_codes import qr_token

RECEIPT = "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
SUPPLEMENT = "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"
REFUSAL = "Phiếu từ chối tiếp nhận giải quyết hồ sơ"
APOLOGY = "Phiếu xin lỗi và hẹn lại ngày trả kết quả"
LINK = re.compile(r'<a href="(/tra-cuu/(?:giay-to|tep)/[^"]+)"[^>]*>([^<]+)</a>')


@pytest.fixture
def web_rt(database, clock) -> Runtime:
    """The desk's setup on SQLite and PostgreSQL: the copies write the audit log."""
    rt = Runtime(db=database, clock=clock)
    add_units(rt)
    with rt.db.session() as s:
        for user in s.query(UserRecord):
            user.password_hash = _HASH
    return rt


@pytest.fixture
def app(web_rt, clock, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": web_rt.db.url,
            "MOTCUA_CLOCK": clock,
            "SECRET_KEY": "test",
            "MOTCUA_DOCUMENTS_DIR": str(tmp_path / "documents"),
        }
    )
    yield app
    close_app(app)


@pytest.fixture
def birth(web_rt):
    return publish_birth_registration(web_rt)


def receive(client, definition, phone: str, **fields) -> DossierRecord:
    """A clerk receives a birth registration; the applicant's phone ends with `phone`'s digits."""
    login(client, "mot_cua_1")
    token = csrf_token(client.get("/ban-lam-viec/tiep-nhan").get_data(as_text=True))
    client.post(
        "/ban-lam-viec/tiep-nhan",
        data={
            "csrf_token": token,
            "definition_id": definition.id,
            "applicant_name": "Nguyễn Văn An",
            "id_number": "001090012345",
            "phone": f"091234{phone}",
            "address": "12 Hàng Bạc, Hoàn Kiếm",
            "unit_code": "00070",
            "received_at": "",
            "documents": ["0", "1"],
            "nguoi_nop": "Nguyễn Văn An",
            "so_giay_to_tuy_than": "001090012345",
            "hinh_thuc_nop": "truc_tiep",
            "ket_qua": "tiep_nhan",
            **fields,
        },
    )
    client.post("/dang-xuat", data={"csrf_token": csrf_token(client.get("/ban-lam-viec/").get_data(as_text=True))})
    return newest_dossier(client.application)


def newest_dossier(app) -> DossierRecord:
    from web.wiring import runtime

    with app.app_context(), runtime().db.read_session() as s:
        return s.scalars(select(DossierRecord).order_by(DossierRecord.id.desc()).limit(1)).one()


def attach(client, dossier_id: int, kind: str, name: str, data: bytes, content_type: str) -> None:
    login(client, "mot_cua_1")
    page = client.get(f"/ban-lam-viec/ho-so/{dossier_id}").get_data(as_text=True)
    response = client.post(
        f"/ban-lam-viec/ho-so/{dossier_id}/tai-lieu",
        data={"csrf_token": csrf_token(page), "kind": kind, "file": (io.BytesIO(data), name, content_type)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.post("/dang-xuat", data={"csrf_token": csrf_token(client.get("/ban-lam-viec/").get_data(as_text=True))})


def listed(client, code: str, digits: str) -> dict[str, str]:
    """The copies the lookup lists: title -> link."""
    page = client.get(f"/tra-cuu?ma={code}&so={digits}").get_data(as_text=True)
    return {title.strip(): href.replace("&amp;", "&") for href, title in LINK.findall(page)}


def refusal_text(response) -> str:
    """The error page's message (the page also carries its own request id)."""
    return html.fromstring(response.get_data(as_text=True)).xpath("string(//main)").strip()


def pdf_text(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return pages_of(response.data, "citizen-copy")[0]


def token_of(link: str) -> str:
    return parse_qs(urlparse(link).query)["t"][0]


def test_the_lookup_lists_the_receipt_and_the_result_never_records_or_scans(client, birth, web_rt):
    dossier = receive(client, birth, "1111")
    attach(client, dossier.id, "reception", "cccd-nguoi-lam-chung.png", tiny_png(), "image/png")
    attach(client, dossier.id, "processing", "bien-ban-tham-dinh.pdf", tiny_pdf("Bien ban"), "application/pdf")
    attach(client, dossier.id, "result", "trich-luc-khai-sinh.pdf", tiny_pdf("Trich luc"), "application/pdf")

    copies = listed(client, dossier.code, "1111")
    assert set(copies) == {RECEIPT, "trich-luc-khai-sinh.pdf"}
    receipt = client.get(copies[RECEIPT])
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    text, codes = pages_of(receipt.data, "citizen-receipt")  # the desk's PDF: title, form number, QR
    assert RECEIPT.upper() in text and "Mẫu số 01" in text and dossier.code in text
    assert codes == [f"http://localhost/tra-cuu?ma={dossier.code}&k={qr_token(dossier.code, 'test')}"]
    # the lookup's 4 digits must not open the whole ID number, phone and address
    assert "001090012345" not in text and "•••••••••345" in text
    assert "0912341111" not in text and "12 Hàng Bạc" not in text
    result = client.get(copies["trich-luc-khai-sinh.pdf"])
    assert result.status_code == 200 and result.data == tiny_pdf("Trich luc")
    assert result.headers["Content-Disposition"].startswith("attachment;")


def test_a_supplement_request_at_reception_is_listed_instead_of_a_receipt(client, birth):
    dossier = receive(client, birth, "2222", ket_qua="bo_sung", noi_dung_bo_sung="Bổ sung giấy chứng sinh bản chính")
    copies = listed(client, dossier.code, "2222")
    assert set(copies) == {SUPPLEMENT}
    assert "Bổ sung giấy chứng sinh bản chính" in pdf_text(client.get(copies[SUPPLEMENT]))


def test_a_refusal_at_reception_is_listed_alone(client, birth):
    dossier = receive(client, birth, "3333", ket_qua="tu_choi", ly_do_tu_choi="Không thuộc thẩm quyền đăng ký của xã")
    copies = listed(client, dossier.code, "3333")
    assert set(copies) == {REFUSAL}
    assert "Không thuộc thẩm quyền đăng ký của xã" in pdf_text(client.get(copies[REFUSAL]))


def test_an_apology_letter_joins_the_receipt_once_the_leader_issues_it(client, birth, clock):
    dossier = receive(client, birth, "4444")
    assert set(listed(client, dossier.code, "4444")) == {RECEIPT}
    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/ho-so/{dossier.id}"
    client.post(
        f"{page_url}/hen-lai",
        data={
            "csrf_token": csrf_token(client.get(page_url).get_data(as_text=True)),
            "new_appointment": "2026-03-05T17:00",
            "reason": "Chờ xác minh nơi sinh",
        },
    )
    copies = listed(client, dossier.code, "4444")
    assert set(copies) == {RECEIPT, APOLOGY}
    assert "Chờ xác minh nơi sinh" in pdf_text(client.get(copies[APOLOGY]))


def test_links_without_a_token_or_with_a_forged_or_expired_one_get_the_same_refusal(client, birth, clock):
    dossier = receive(client, birth, "5555")
    attach(client, dossier.id, "result", "quyet-dinh.pdf", tiny_pdf("Quyet dinh"), "application/pdf")
    copies = listed(client, dossier.code, "5555")
    receipt, result = copies[RECEIPT], copies["quyet-dinh.pdf"]
    token = token_of(receipt)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = [
        client.get(receipt.split("?")[0]),
        client.get(receipt.replace(token, forged)),
        client.get(result.split("?")[0]),
        client.get("/tra-cuu/giay-to/tiep_nhan?t=khong-hop-le"),
    ]
    assert {r.status_code for r in refused} == {404}
    assert len({refusal_text(r) for r in refused}) == 1  # one answer, nothing to tell them apart
    assert "đường dẫn không đúng hoặc đã hết hạn" in refusal_text(refused[0])
    assert client.get(receipt).status_code == 200

    clock.advance(minutes=31)
    assert client.get(receipt).status_code == 404 and client.get(result).status_code == 404
    assert client.get(listed(client, dossier.code, "5555")[RECEIPT]).status_code == 200  # a new lookup, new links


def test_a_token_opens_nothing_of_another_dossier(client, birth):
    mine = receive(client, birth, "6666")
    theirs = receive(client, birth, "7777")
    attach(client, theirs.id, "result", "cua-nguoi-khac.pdf", tiny_pdf("Nguoi khac"), "application/pdf")
    my_token = token_of(listed(client, mine.code, "6666")[RECEIPT])
    their_file = listed(client, theirs.code, "7777")["cua-nguoi-khac.pdf"]
    assert client.get(their_file.replace(token_of(their_file), my_token)).status_code == 404
    assert client.get(their_file).status_code == 200  # the file is there: only the other dossier's link opens it


def test_each_download_is_logged_as_the_citizen_with_the_address(client, birth):
    dossier = receive(client, birth, "8888")
    attach(client, dossier.id, "result", "giay-chung-nhan.pdf", tiny_pdf("Giay"), "application/pdf")
    copies = listed(client, dossier.code, "8888")
    client.get(copies[RECEIPT], environ_base={"REMOTE_ADDR": "203.0.113.7"})
    client.get(copies["giay-chung-nhan.pdf"], environ_base={"REMOTE_ADDR": "203.0.113.7"})
    with client.application.app_context():
        from web.wiring import runtime

        with runtime().db.read_session() as s:
            events = s.scalars(
                select(AuditEventRecord)
                .where(AuditEventRecord.dossier_id == dossier.id, AuditEventRecord.action == "citizen_download")
                .order_by(AuditEventRecord.id)
            ).all()
    assert [(e.actor, e.detail) for e in events] == [
        ("citizen", {"document": "tiep_nhan", "address": "203.0.113.7"}),
        ("citizen", {"document": "giay-chung-nhan.pdf", "address": "203.0.113.7"}),
    ]


def test_strangers_misses_do_not_lock_a_citizen_out_of_the_page_or_its_links(client, birth, clock):
    dossier = receive(client, birth, "9999")
    receipt = listed(client, dossier.code, "9999")[RECEIPT]
    for n in range(30):
        client.get(f"/tra-cuu?ma=01.00070-260302-{n + 100:04d}&so=0000")
    assert "quá nhiều lần" in client.get("/tra-cuu?ma=01.00070-260302-0200&so=0000").get_data(as_text=True)
    assert RECEIPT in listed(client, dossier.code, "9999")
    assert client.get(receipt).status_code == 200


def test_the_copies_are_listed_in_english_in_the_english_interface(client, birth):
    dossier = receive(client, birth, "1212")
    client.get("/ngon-ngu/en?next=/")
    page = client.get(f"/tra-cuu?ma={dossier.code}&so=1212").get_data(as_text=True)
    assert "Documents of the dossier" in page and "Receipt and result appointment slip" in page
    assert "Every download is recorded" in page and "Giấy tờ của hồ sơ" not in page
