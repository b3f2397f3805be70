"""Issue 20 through the pages: typing a citizen's ID number at reception fills the form from the
population database (a local stand-in of the province's platform) and from their data store, marks
the checklist items the store holds and links them on saving; the lookup page and the citizen's
API show the signed result as valid and by whom, and the reuses of the citizen's documents."""

from __future__ import annotations

import json

import pytest
from lxml import html
from sqlalchemy import select

from configurator import catalogue
from configurator import library
from engine import pki
from engine import population
from engine import signing
from engine.documents import FolderStore
from engine.services import results
from engine.services.runtime import Runtime
from engine.store.attachment_records import AttachmentRecord
from engine.store.citizen_records import CitizenReuseRecord
from engine.store.records import DossierRecord
from engine.store.records import UserRecord
from tests import population_standin as standin
from tests.engine.test_citizen_store import CITIZEN
from tests.engine.test_citizen_store import first_dossier
from tests.engine.test_citizen_store import work_until
from tests.factories import add_units
from tests.hostile.web_fixtures import close_app
from tests.web.conftest import _HASH
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from web.app import create_app

RECEPTION_FORM = "/ban-lam-viec/tiep-nhan"
PASSWORD_ENV = "MOTCUA_TEST_SIGNING_PASSWORD"


@pytest.fixture
def web_rt(database, clock, tmp_path) -> Runtime:
    rt = Runtime(db=database, clock=clock, documents=FolderStore(tmp_path / "documents"))
    add_units(rt)
    with rt.db.session() as s:
        for user in s.query(UserRecord):
            user.password_hash = _HASH
        s.get(UserRecord, "mot_cua_1").full_name = "Nguyễn Tiếp Nhận"
    return rt


@pytest.fixture
def loaded(web_rt):
    procedures = {p.key: p for p in library.procedures()}
    found = {}
    for key in ("cap_giay_xac_nhan_tinh_trang_hon_nhan", "dang_ky_ket_hon"):
        catalogue.import_json(web_rt, procedures[key].catalogue)
        found[key] = (procedures[key], library.load_one(web_rt, procedures[key]))
    return found


@pytest.fixture
def configured(tmp_path, monkeypatch, clock):
    """The commune's certificate from a CA of the test's own, and the province's population platform."""
    monkeypatch.setenv(PASSWORD_ENV, "pw")
    monkeypatch.setenv(
        signing.CONFIG_VARIABLE,
        str(
            pki.write_demo_settings(
                tmp_path / "pki",
                {"00070": "UBND Phường Hoàn Kiếm"},
                clock.now(),
                password_env=PASSWORD_ENV,
                password=b"pw",
            )
        ),
    )
    monkeypatch.setenv("MOTCUA_TEST_LGSP_SECRET", standin.SECRET)
    with standin.running() as server:
        path = tmp_path / "population.json"
        path.write_text(json.dumps(standin.settings(server)), encoding="utf-8")
        monkeypatch.setenv(population.CONFIG_VARIABLE, str(path))
        yield server


@pytest.fixture
def app(web_rt, clock, tmp_path, configured):
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
def client(app):
    return app.test_client()


@pytest.fixture
def returned_first(web_rt, clock, loaded, configured):
    """The citizen's marital-status certificate: approved, signed by the worker, returned."""
    procedure, dossier = first_dossier(web_rt, clock, loaded)
    assert results.issue_due(web_rt) == {"results_signed": 1}
    work_until(web_rt, clock, procedure, dossier.id)
    return dossier


def test_reception_fills_the_form_and_links_what_the_store_holds_without_asking(
    client, web_rt, clock, loaded, returned_first, configured
):
    login(client, "mot_cua_1")
    _marriage, definition = loaded["dang_ky_ket_hon"]
    known = client.get(
        f"{RECEPTION_FORM}/cong-dan", query_string={"id_number": CITIZEN, "definition_id": definition.id}
    )
    page = html.fromstring(known.get_data(as_text=True))
    assert page.xpath('string(//input[@id="applicant_name"]/@value)') == "Trần Thị Bình"  # the population database
    assert page.xpath('string(//input[@id="address"]/@value)').startswith("12 Hàng Bài, Phường Hoàn Kiếm")
    assert page.xpath('string(//input[@id="phone"]/@value)') == "0912345678"  # the store: the last dossier
    marks = page.xpath('//label[contains(@class, "in-store")]')
    assert len(marks) == 2 and all("Đã có trong kho dữ liệu" in m.text_content() for m in marks)
    assert returned_first.code in marks[0].text_content()
    reuse = {i.get("name"): i.get("value") for i in page.xpath('//input[starts-with(@name, "reuse_")]')}
    assert set(reuse) == {"reuse_1", "reuse_2"}
    assert configured.calls == [{"soDinhDanh": CITIZEN}]

    clock.advance(days=1)
    token = csrf_token(client.get(RECEPTION_FORM).get_data(as_text=True))
    saved = client.post(
        RECEPTION_FORM,
        data={
            "csrf_token": token,
            "definition_id": definition.id,
            "applicant_name": "Trần Thị Bình",
            "id_number": CITIZEN,
            "phone": "0912345678",
            "unit_code": "00070",
            "received_at": "",
            "documents": ["0"],
            **reuse,
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with web_rt.db.read_session() as s:
        second = s.scalars(select(DossierRecord).where(DossierRecord.id != returned_first.id)).one()
        linked = list(s.scalars(select(AttachmentRecord).where(AttachmentRecord.dossier_id == second.id)))
        reuses = list(s.scalars(select(CitizenReuseRecord)))
    assert sorted(f.checklist_index for f in linked) == [1, 2]
    assert [(r.dossier_id, r.actor) for r in reuses] == [(second.id, "mot_cua_1")] * 2
    slip = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Giấy xác nhận tình trạng hôn nhân" in slip  # the receipt lists the item as received

    # The citizen sees the reuse on the lookup page of either dossier.
    lookup = client.get("/tra-cuu", query_string={"ma": returned_first.code, "so": "5678"}).get_data(as_text=True)
    table = html.fromstring(lookup).xpath('//table[@class="reuses"]')[0].text_content()
    assert second.code in table and "Nguyễn Tiếp Nhận" in table and "Giấy xác nhận tình trạng hôn nhân" in table


def test_an_id_number_short_of_12_digits_fills_nothing(client, loaded):
    login(client, "mot_cua_1")
    answer = client.get(f"{RECEPTION_FORM}/cong-dan", query_string={"id_number": "00109901"}).get_data(as_text=True)
    assert "12 chữ số" in answer and "applicant_name" not in answer


def test_only_the_reception_desk_reads_the_store(client, loaded):
    login(client, "lanh_dao_1")
    assert client.get(f"{RECEPTION_FORM}/cong-dan", query_string={"id_number": CITIZEN}).status_code == 403


def test_the_lookup_page_and_the_api_show_the_signed_result_valid_and_by_whom(client, web_rt, returned_first, clock):
    page = client.get("/tra-cuu", query_string={"ma": returned_first.code, "so": "5678"}).get_data(as_text=True)
    [line] = html.fromstring(page).xpath('//ul[@class="signatures"]/li')
    assert line.get("data-signature") == "valid"
    assert "Chữ ký số hợp lệ" in line.text_content() and "UBND Phường Hoàn Kiếm" in line.text_content()

    listed = client.get(f"/api/v1/tra-cuu/{returned_first.code}/ket-qua", query_string={"so": "5678"})
    assert listed.status_code == 200
    [result] = listed.get_json()["results"]
    assert result["signature"]["valid"] is True and result["signature"]["signer"] == "UBND Phường Hoàn Kiếm"
    download = client.get(result["download"])
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    assert signing.verify_pdf(download.data, signing.settings_from_environment().trust_roots, clock.now()).valid
    wrong = client.get(f"/api/v1/tra-cuu/{returned_first.code}/ket-qua", query_string={"so": "0000"})
    assert wrong.status_code == 404 and "results" not in wrong.get_json()
    assert client.get(f"/api/v1/tra-cuu/{returned_first.code}/ket-qua").status_code == 422


def test_a_result_altered_in_the_store_is_not_shown_as_valid(client, web_rt, returned_first, tmp_path):
    with web_rt.db.read_session() as s:
        row = s.scalars(
            select(AttachmentRecord).where(
                AttachmentRecord.dossier_id == returned_first.id, AttachmentRecord.kind == "result"
            )
        ).one()
    stored = tmp_path / "documents" / row.storage_key[:2] / row.storage_key
    data = bytearray(stored.read_bytes())
    data[len(data) // 3] ^= 1
    stored.write_bytes(bytes(data))
    page = client.get("/tra-cuu", query_string={"ma": returned_first.code, "so": "5678"}).get_data(as_text=True)
    [line] = html.fromstring(page).xpath('//ul[@class="signatures"]/li')
    assert line.get("data-signature") == "invalid"
