"""The printed forms and the result as PDF files, looked at as pages: each page rendered to PNG by
poppler's pdftoppm (installed by scripts/ensure_pdf.sh), its QR code read back by zbarimg and its
text by pdftotext: the official form number is printed and the QR opens the dossier's lookup page.
The PNGs are kept under test-artifacts/pdf/ to be looked at."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from lxml import html
from sqlalchemy import select

from engine import pki
from engine import signing
from engine.services import attachments
from engine.services import results
from engine.store.attachment_records import AttachmentRecord
from engine.store.records import DossierRecord
from tests.hostile.web_fixtures import close_app
from tests.web.conftest import login
from tests.web.desk_fixtures import publish_birth_registration
from tests.web.test_desk import post_on_page
from tests.web.test_desk import receive
from web.app import create_app
from web.public.lookup_codes import qr_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pdf"
TOOLS = ("pdftoppm", "pdftotext", "zbarimg")


@pytest.fixture(autouse=True)
def tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        message = f"{', '.join(missing)} missing (scripts/ensure_pdf.sh installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def pages_of(data: bytes, name: str) -> tuple[str, list[str]]:
    """(the PDF's text, the QR codes read from its first page's PNG, kept as test-artifacts/pdf/<name>.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(data)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    text = " ".join(text.split())  # a title may wrap
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", str(pdf), str(ARTIFACTS / name)], check=True)
    decoded = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(ARTIFACTS / f"{name}.png")], capture_output=True, text=True
    )
    return text, [line for line in decoded.stdout.splitlines() if line]


def dossiers_with_every_form(client, web_rt, birth):
    """Three dossiers that together have all seven forms: received (then re-appointed and withdrawn),
    asked for a supplement, refused."""
    login(client, "mot_cua_1")
    receive(client, birth)
    receive(client, birth, ket_qua="bo_sung", noi_dung_bo_sung="Bổ sung giấy chứng sinh bản chính")
    receive(client, birth, ket_qua="tu_choi", ly_do_tu_choi="Không thuộc thẩm quyền của phường")
    with web_rt.db.read_session() as s:
        received, supplement, refused = s.scalars(select(DossierRecord).order_by(DossierRecord.id)).all()
    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/ho-so/{received.id}"
    moved = post_on_page(
        client,
        page_url,
        f"{page_url}/hen-lai",
        {"new_appointment": "2026-03-04T10:00", "reason": "Chờ xác minh của cơ sở y tế"},
    )
    assert moved.status_code == 302
    stopped = post_on_page(client, page_url, f"{page_url}/dung", {"kind": "rut", "reason": "Công dân xin rút hồ sơ"})
    assert stopped.status_code == 302
    login(client, "mot_cua_1")
    return {
        "tiep_nhan": received,
        "kiem_soat": received,
        "so_theo_doi": received,
        "xin_loi": received,
        "dung": received,
        "bo_sung": supplement,
        "tu_choi": refused,
    }


NUMBERS = {
    "tiep_nhan": "Mẫu số 01",
    "bo_sung": "Mẫu số 02",
    "tu_choi": "Mẫu số 03",
    "xin_loi": "Mẫu số 04",
    "dung": "Mẫu số 05",
    "kiem_soat": "Mẫu số 06",
    "so_theo_doi": "Mẫu số 07",
}
TITLES = {
    "tiep_nhan": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "bo_sung": "PHIẾU YÊU CẦU BỔ SUNG",
    "tu_choi": "PHIẾU TỪ CHỐI TIẾP NHẬN",
    "xin_loi": "PHIẾU XIN LỖI VÀ HẸN LẠI",
    "kiem_soat": "PHIẾU KIỂM SOÁT",
    "so_theo_doi": "SỔ THEO DÕI HỒ SƠ",
    "dung": "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ",
}


def test_the_seven_forms_print_as_pdf_with_their_number_and_a_qr_that_opens_the_lookup(client, web_rt):
    birth = publish_birth_registration(web_rt)
    by_kind = dossiers_with_every_form(client, web_rt, birth)
    for kind, dossier in by_kind.items():
        answer = client.get(f"/ban-lam-viec/in/{dossier.id}/{kind}.pdf")
        assert answer.status_code == 200 and answer.mimetype == "application/pdf", kind
        text, codes = pages_of(answer.data, f"form-{kind}")
        assert NUMBERS[kind] in text and "Thông tư 03/2025/TT-VPCP" in text and TITLES[kind] in text, kind
        assert dossier.code in text, kind
        assert codes == [f"http://localhost/tra-cuu?ma={dossier.code}&k={qr_token(dossier.code, 'test')}"], kind
    assert client.get(f"/ban-lam-viec/in/{by_kind['bo_sung'].id}/xin_loi.pdf").status_code == 404
    login(client, "tu_phap_x")  # another commune's officer does not print this commune's dossier
    assert client.get(f"/ban-lam-viec/in/{by_kind['tiep_nhan'].id}/tiep_nhan.pdf").status_code in (403, 404)


def test_the_signed_result_prints_its_qr_and_keeps_its_signature(web_rt, clock, tmp_path, monkeypatch):
    from configurator import catalogue
    from configurator import library
    from engine.documents import FolderStore
    from tests.engine.test_citizen_store import first_dossier

    web_rt.documents = FolderStore(tmp_path / "documents")
    procedures = {p.key: p for p in library.procedures()}
    procedure = procedures["cap_giay_xac_nhan_tinh_trang_hon_nhan"]
    catalogue.import_json(web_rt, procedure.catalogue)
    loaded = {procedure.key: (procedure, library.load_one(web_rt, procedure))}
    monkeypatch.setenv("MOTCUA_TEST_PW", "pw")
    monkeypatch.setenv(
        signing.CONFIG_VARIABLE,
        str(
            pki.write_demo_settings(
                tmp_path / "pki",
                {"00070": "UBND Phường Hoàn Kiếm"},
                clock.now(),
                password_env="MOTCUA_TEST_PW",
                password=b"pw",
            )
        ),
    )
    monkeypatch.setenv(results.PUBLIC_URL_VARIABLE, "https://dichvucong.example.vn")
    _procedure, dossier = first_dossier(web_rt, clock, loaded)
    assert results.issue_due(web_rt) == {"results_signed": 1}
    with web_rt.db.read_session() as s:
        row = s.scalars(
            select(AttachmentRecord).where(AttachmentRecord.dossier_id == dossier.id, AttachmentRecord.kind == "result")
        ).one()
    data = attachments.content(web_rt, row)
    text, codes = pages_of(data, "result")
    assert "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN" in text and dossier.code in text and "Trần Thị Bình" in text
    [url] = codes
    assert url.startswith(f"https://dichvucong.example.vn/tra-cuu?ma={dossier.code}&k=")
    assert "001099012345" not in url  # the citizen's ID number is never in the code
    assert signing.verify_pdf(data, signing.settings_from_environment().trust_roots, clock.now()).valid

    # Scanned, the code opens the dossier and its signed result: no digits to type.
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": web_rt.db.url,
            "MOTCUA_CLOCK": clock,
            "SECRET_KEY": "test",
            "MOTCUA_DOCUMENTS_DIR": str(tmp_path / "documents"),
        }
    )
    try:
        client = app.test_client()
        scanned = urlsplit(url)
        opened = client.get(scanned.path, query_string=scanned.query)
        page = opened.get_data(as_text=True)
        assert opened.status_code == 200 and "UBND Phường Hoàn Kiếm" in page
        tree = html.fromstring(page)
        assert tree.xpath('string(//dl[@class="card"]/dd[1])') == dossier.code
        assert tree.xpath('//li[@data-signature="valid"]') and not tree.xpath('//p[@class="error"]')
        # An altered token (or another dossier's code with it) opens nothing: the form, and why.
        token = parse_qs(scanned.query)["k"][0]
        altered = token[:-1] + ("A" if token[-1] != "A" else "B")
        for code, k in ((dossier.code, altered), (dossier.code.replace("-0001", "-0002"), token)):
            refused = html.fromstring(client.get("/tra-cuu", query_string={"ma": code, "k": k}).get_data(as_text=True))
            assert "Mã QR này không mở được hồ sơ" in refused.xpath('string(//p[@class="error"])')
            assert refused.xpath('//form[@class="lookup"]//input[@id="so"]/@autofocus') and not refused.xpath("//dl")
            assert refused.xpath('string(//input[@id="ma"]/@value)') == code
    finally:
        close_app(app)
