"""The dossier as one record on the desk and in the API: reception in one pass with the checklist's
scans; the data every step entered shown to later steps (the leader's page led by the proposal);
a returned step comes back filled; files served only by their random key to those who may see the
dossier; the archive with its manifest."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from lxml import html
from sqlalchemy import func
from sqlalchemy import select

from configurator import steps
from engine.domain.assignment import Actor
from engine.store.attachment_records import AttachmentRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.desk_fixtures import publish_birth_registration
from web.cli import main
from web.demo_files import tiny_pdf
from web.demo_files import tiny_png

RECEPTION_FORM = "/ban-lam-viec/tiep-nhan"
PDF = tiny_pdf("To khai dang ky khai sinh")
PNG = tiny_png()
TU_PHAP_1 = Actor("tu_phap_1", frozenset({"tu_phap_ho_tich"}), "00070")
LANH_DAO_1 = Actor("lanh_dao_1", frozenset({"lanh_dao"}), "00070")
APPRAISED = {
    "ket_qua": "khong_dat",
    "y_kien": "Giấy chứng sinh bị tẩy xóa",
    "ho_ten_tre": "Nguyễn Bình An",
    "ngay_sinh": "2026-02-20",
    "noi_sinh": "Bệnh viện Phụ sản Hà Nội",
    "gioi_tinh": "nam",
}


@pytest.fixture
def birth(web_rt):
    return publish_birth_registration(web_rt)


def receive(client, definition, files: dict | None = None, **fields):
    token = csrf_token(client.get(RECEPTION_FORM).get_data(as_text=True))
    data = {
        "csrf_token": token,
        "definition_id": str(definition.id),
        "applicant_name": "Nguyễn Văn An",
        "id_number": "001090012345",
        "phone": "0912345678",
        "address": "12 Hàng Bạc, Hoàn Kiếm",
        "unit_code": "00070",
        "received_at": "",
        "documents": ["0", "1"],
        "fee_vnd": "8000",
        **fields,
    }
    for name, (filename, content, content_type) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename, content_type)
    return client.post(RECEPTION_FORM, data=data, content_type="multipart/form-data")


def dossier_of(rt) -> DossierRecord:
    with rt.db.read_session() as s:
        return s.scalars(select(DossierRecord)).one()


def open_item(rt, dossier_id: int) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        ).one()


def stored(app) -> list:
    from pathlib import Path

    return [p for p in Path(app.config["MOTCUA_DOCUMENTS_DIR"]).rglob("*") if p.is_file()]


def received_with_scans(client, rt, birth) -> DossierRecord:
    login(client, "mot_cua_1")
    done = receive(
        client,
        birth,
        files={"file_0": ("tờ khai.pdf", PDF, "application/pdf"), "file_1": ("giấy chứng sinh.png", PNG, "image/png")},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    return dossier_of(rt)


def test_one_save_receives_the_dossier_with_its_scans_and_hands_it_to_the_specialist(client, web_rt, birth, app):
    dossier = received_with_scans(client, web_rt, birth)
    assert open_item(web_rt, dossier.id).element_id == "tham_dinh"  # no second reception step to open
    assert dossier.applicant["fee_vnd"] == 8000
    assert [(d["index"], d["paper"], d["digitised"]) for d in dossier.applicant["documents"]] == [
        (0, True, True),
        (1, True, True),
    ]
    page = html.fromstring(client.get(f"/ban-lam-viec/ho-so/{dossier.id}").get_data(as_text=True))
    links = page.xpath('//ul[@id="checklist"]//a')
    assert [a.text_content() for a in links] == ["tờ khai.pdf", "giấy chứng sinh.png"]
    served = client.get(links[0].get("href"))
    assert served.status_code == 200 and served.data == PDF and served.mimetype == "application/pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "/tai-lieu/" in links[0].get("href") and not links[0].get("href").rsplit("/", 1)[-1].isdigit()
    history = page.xpath('string(//h2[text()="Lịch sử xử lý và bàn giao"]/following-sibling::table[1])')
    assert "Đính kèm tệp" in history and "tờ khai.pdf" in history
    assert len(stored(app)) == 2
    slip = client.get(f"/ban-lam-viec/in/{dossier.id}/tiep_nhan").get_data(as_text=True)
    assert "Tờ khai đăng ký khai sinh (theo mẫu) — 1 bản (bản chính); đã số hóa" in slip


def test_a_scan_that_is_not_what_it_says_is_refused_at_its_item_and_nothing_is_written(client, web_rt, birth, app):
    login(client, "mot_cua_1")
    refused = receive(
        client,
        birth,
        files={"file_0": ("to_khai.pdf", PDF, "application/pdf"), "file_1": ("anh.pdf", PNG, "application/pdf")},
    )
    assert refused.status_code == 422
    page = html.fromstring(refused.get_data(as_text=True))
    [message] = page.xpath('//*[@id="file_1-error"]')
    assert "anh.pdf" in message.text_content()
    assert "chọn lại các tệp số hóa" in page.xpath('string(//*[@id="reattach"])')
    with web_rt.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 0
        assert s.scalar(select(func.count()).select_from(AttachmentRecord)) == 0
    assert stored(app) == []


def test_a_missing_id_number_is_named_at_its_field_and_nothing_is_kept(client, web_rt, birth, app):
    login(client, "mot_cua_1")
    refused = receive(client, birth, id_number="", files={"file_0": ("to_khai.pdf", PDF, "application/pdf")})
    assert refused.status_code == 422
    assert html.fromstring(refused.get_data(as_text=True)).xpath('//*[@id="id_number-error"]')
    with web_rt.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 0
    assert stored(app) == []


def test_another_communes_officer_cannot_open_a_file_even_with_its_link(client, web_rt, birth):
    dossier = received_with_scans(client, web_rt, birth)
    with web_rt.db.read_session() as s:
        key = s.scalars(select(AttachmentRecord.key)).first()
    login(client, "tu_phap_x")
    assert client.get(f"/ban-lam-viec/tai-lieu/{key}").status_code == 404
    assert client.get(f"/ban-lam-viec/ho-so/{dossier.id}/luu-tru.zip").status_code == 404
    assert client.get("/ban-lam-viec/tai-lieu/1").status_code == 404


def test_the_leader_sees_the_specialists_proposal_first_and_every_earlier_entry(client, web_rt, birth):
    dossier = received_with_scans(client, web_rt, birth)
    steps.complete_step(web_rt, open_item(web_rt, dossier.id).id, TU_PHAP_1, APPRAISED)
    signing = open_item(web_rt, dossier.id)
    login(client, "lanh_dao_1")
    page = html.fromstring(client.get(f"/ban-lam-viec/buoc/{signing.id}").get_data(as_text=True))
    [proposal] = page.xpath('//*[@id="proposal"]')
    assert "Không đủ điều kiện, trình ký văn bản từ chối" in proposal.text_content()
    assert "Giấy chứng sinh bị tẩy xóa" in proposal.text_content() and "refuse" in proposal.get("class")
    body = html.tostring(page, encoding="unicode")
    assert body.index('id="proposal"') < body.index('id="step-form"') < body.index('id="record"')  # decision first
    appraisal = page.xpath('//section[@data-step="tham_dinh"]')[0]
    assert appraisal.xpath('string(.//dd[@data-field="ho_ten_tre"])') == "Nguyễn Bình An"
    assert appraisal.xpath('string(.//dd[@data-field="noi_sinh"])') == "Bệnh viện Phụ sản Hà Nội"
    assert "Trần Tư Pháp" in appraisal.text_content()  # who entered it
    reception = page.xpath('//section[@data-step="tiep_nhan"]')[0]
    assert reception.xpath('string(.//dd[@data-field="so_giay_to_tuy_than"])') == "001090012345"


def test_a_returned_step_comes_back_filled_with_what_was_entered_and_keeps_the_earlier_entry(client, web_rt, birth):
    dossier = received_with_scans(client, web_rt, birth)
    steps.complete_step(web_rt, open_item(web_rt, dossier.id).id, TU_PHAP_1, {**APPRAISED, "ket_qua": "dat"})
    signing = open_item(web_rt, dossier.id)
    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/buoc/{signing.id}"
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    assert client.post(f"{page_url}/tra-lai", data={"csrf_token": token, "reason": "Sai nơi sinh"}).status_code == 302

    reopened = open_item(web_rt, dossier.id)
    login(client, "tu_phap_1")
    page = html.fromstring(client.get(f"/ban-lam-viec/buoc/{reopened.id}").get_data(as_text=True))
    [form] = page.xpath('//form[@id="step-form"]')
    assert form.xpath('string(.//input[@name="ho_ten_tre"]/@value)') == "Nguyễn Bình An"
    assert form.xpath('string(.//input[@name="noi_sinh"]/@value)') == "Bệnh viện Phụ sản Hà Nội"
    assert form.xpath('.//input[@name="ket_qua"][@value="dat"]/@checked')
    signing_data = page.xpath('//section[@data-step="ky_duyet"]')[0].text_content()
    assert "Lý do trả lại" in signing_data and "Sai nơi sinh" in signing_data

    steps.complete_step(web_rt, reopened.id, TU_PHAP_1, {**APPRAISED, "ket_qua": "dat", "noi_sinh": "Hàng Bạc"})
    page = html.fromstring(client.get(f"/ban-lam-viec/ho-so/{dossier.id}").get_data(as_text=True))
    appraisal = page.xpath('//section[@data-step="tham_dinh"]')[0]
    assert appraisal.xpath('string(.//dl[1]/dd[@data-field="noi_sinh"])') == "Hàng Bạc"  # latest first
    assert "Bệnh viện Phụ sản Hà Nội" in appraisal.xpath("string(.//details)")  # the earlier one on demand


def test_a_result_file_is_attached_on_the_step_and_the_archive_holds_everything(client, web_rt, birth):
    dossier = received_with_scans(client, web_rt, birth)
    steps.complete_step(web_rt, open_item(web_rt, dossier.id).id, TU_PHAP_1, {**APPRAISED, "ket_qua": "dat"})
    signing = open_item(web_rt, dossier.id)
    login(client, "lanh_dao_1")
    page_url = f"/ban-lam-viec/buoc/{signing.id}"
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    wrong = client.post(
        f"/ban-lam-viec/ho-so/{dossier.id}/tai-lieu",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "item_id": str(signing.id),
            "kind": "result",
            "file": (io.BytesIO(b"MZ\x90\x00"), "virus.pdf", "application/pdf"),
        },
    )
    assert wrong.status_code == 422 and "virus.pdf" in wrong.get_data(as_text=True)
    result = tiny_pdf("Giay khai sinh - ban chinh")
    added = client.post(
        f"/ban-lam-viec/ho-so/{dossier.id}/tai-lieu",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "item_id": str(signing.id),
            "kind": "result",
            "file": (io.BytesIO(result), "giấy khai sinh.pdf", "application/pdf"),
        },
    )
    assert added.status_code == 302 and added.headers["Location"].endswith(page_url)

    archive = client.get(f"/ban-lam-viec/ho-so/{dossier.id}/luu-tru.zip")
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert [(f["name"], f["kind"]) for f in manifest["files"]] == [
            ("tờ khai.pdf", "reception"),
            ("giấy chứng sinh.png", "reception"),
            ("giấy khai sinh.pdf", "result"),
        ]
        assert manifest["files"][2]["step"] == "ky_duyet" and manifest["files"][2]["uploaded_by"] == "lanh_dao_1"
        for f in manifest["files"]:
            assert hashlib.sha256(zf.read(f["path"])).hexdigest() == f["sha256"]
        appraisal = next(s for s in manifest["data"] if s["step"] == "tham_dinh")
        assert {
            "name": "ho_ten_tre",
            "label": "Họ, chữ đệm, tên của trẻ",
            "value": "Nguyễn Bình An",
            "shown": "Nguyễn Bình An",
            "format": None,
        } in appraisal["entries"][0]["fields"]


def test_the_api_gives_the_data_the_files_and_the_archive_and_takes_a_file(client, web_rt, birth):
    from click.testing import CliRunner

    dossier = received_with_scans(client, web_rt, birth)
    steps.complete_step(web_rt, open_item(web_rt, dossier.id).id, TU_PHAP_1, {**APPRAISED, "ket_qua": "dat"})
    made = CliRunner().invoke(
        main, ["api-token", "create", "--user", "lanh_dao_1", "--name", "Lưu trữ"], env={"DATABASE_URL": web_rt.db.url}
    )
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    base = f"/api/v1/dossiers/{dossier.code}"

    data = client.get(f"{base}/data", headers=headers).json
    assert [s["step"] for s in data] == ["tiep_nhan", "tham_dinh"]
    assert data[1]["entries"][0]["completed_by"] == "tu_phap_1"

    refused = client.post(
        f"{base}/attachments",
        headers=headers,
        content_type="multipart/form-data",
        data={"kind": "result", "file": (io.BytesIO(b"hello"), "a.txt", "text/plain")},
    )
    assert refused.status_code == 422 and refused.json["field"] == "file"
    added = client.post(
        f"{base}/attachments",
        headers=headers,
        content_type="multipart/form-data",
        data={"kind": "result", "file": (io.BytesIO(PDF), "ket_qua.pdf", "application/pdf")},
    )
    assert added.status_code == 201 and added.json["sha256"] == hashlib.sha256(PDF).hexdigest()
    bad_item = client.post(
        f"{base}/attachments",
        headers=headers,
        content_type="multipart/form-data",
        data={"kind": "reception", "checklist_index": "-1", "file": (io.BytesIO(PDF), "x.pdf", "application/pdf")},
    )
    assert bad_item.status_code == 422 and bad_item.json["field"] == "checklist_index"
    listed = client.get(f"{base}/attachments", headers=headers).json
    assert [a["name"] for a in listed] == ["tờ khai.pdf", "giấy chứng sinh.png", "ket_qua.pdf"]
    assert client.get(listed[2]["url"], headers=headers).data == PDF
    assert client.get(f"{base}/attachments/not-a-key-of-this-dossier", headers=headers).status_code == 404
    archive = client.get(f"{base}/archive", headers=headers)
    assert archive.status_code == 200 and zipfile.ZipFile(io.BytesIO(archive.data)).namelist()[-1] == "manifest.json"
    spec = client.get("/api/v1/openapi.json").json
    assert {f"/api/v1/dossiers/{{code}}/{p}" for p in ("data", "attachments", "archive")} <= set(spec["paths"])


def test_an_online_dossiers_scans_sent_through_the_api_show_under_their_checklist_item(client, web_rt, birth):
    from click.testing import CliRunner

    made = CliRunner().invoke(
        main, ["api-token", "create", "--user", "mot_cua_1", "--name", "Cổng DVC"], env={"DATABASE_URL": web_rt.db.url}
    )
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    started = client.post(
        "/api/v1/dossiers",
        headers=headers,
        json={
            "template_key": "dang_ky_khai_sinh",
            "unit_code": "00070",
            "channel": "online",
            "applicant": {"name": "Nguyễn Văn An", "id_number": "001090012345"},
        },
    )
    code = started.json["code"]
    sent = client.post(
        f"/api/v1/dossiers/{code}/attachments",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "kind": "reception",
            "checklist_index": "1",
            "file": (io.BytesIO(PNG), "giay_chung_sinh.png", "image/png"),
        },
    )
    assert sent.status_code == 201 and sent.json["checklist_index"] == 1
    login(client, "mot_cua_1")
    page = html.fromstring(client.get(f"/ban-lam-viec/ho-so/{dossier_of(web_rt).id}").get_data(as_text=True))
    [item] = page.xpath('//ul[@id="checklist"]/li')
    assert item.text_content().strip().startswith("Giấy chứng sinh") and "bản số hóa" in item.text_content()
    assert item.xpath("string(.//a)") == "giay_chung_sinh.png"
