"""The administrator keeps the http connector's allow-list on the web; a modeller downloads a
version's whole bundle (BPMN with its decision tables) and sees decision-table changes in the diff."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from engine.services import definitions
from engine.services import service_calls
from engine.store.records import UserRecord
from tests.web.conftest import _HASH
from tests.web.conftest import csrf_token
from tests.web.conftest import login

HERE = Path(__file__).resolve().parents[1] / "bpmn"


@pytest.fixture
def admin(client, web_rt):
    with web_rt.db.session() as s:
        s.add(UserRecord(username="quan_tri", full_name="Quản trị", unit_code="01", roles="admin", password_hash=_HASH))
    login(client, "quan_tri")
    return client


@pytest.fixture
def modeller(client):
    login(client, "mo_hinh")  # the web fixtures' modeller
    return client


def test_the_administrator_allows_and_removes_a_host(admin, web_rt):
    page = admin.get("/quan-tri/may-chu-ket-noi")
    assert page.status_code == 200 and "notify_applicant" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    answer = admin.post(
        "/quan-tri/may-chu-ket-noi", data={"host": "Api.DichVuCong.gov.vn", "csrf_token": token}, follow_redirects=True
    )
    assert "api.dichvucong.gov.vn" in answer.get_data(as_text=True)
    assert [h.host for h in service_calls.allowed_hosts(web_rt)] == ["api.dichvucong.gov.vn"]
    refused = admin.post(
        "/quan-tri/may-chu-ket-noi", data={"host": "https://x.vn/a", "csrf_token": token}, follow_redirects=True
    )
    assert "không phải tên máy chủ" in refused.get_data(as_text=True)
    admin.post("/quan-tri/may-chu-ket-noi/api.dichvucong.gov.vn/xoa", data={"csrf_token": token})
    assert service_calls.allowed_hosts(web_rt) == []


def test_a_modeller_cannot_touch_the_allow_list(modeller):
    assert modeller.get("/quan-tri/may-chu-ket-noi").status_code in (302, 403)


def test_a_version_downloads_with_its_decision_table(modeller, web_rt):
    files = {
        "fee_decision.bpmn": (HERE / "fee_decision.bpmn").read_bytes(),
        "le_phi.dmn": (HERE / "le_phi.dmn").read_bytes(),
    }
    first = definitions.deploy(web_rt, files)
    answer = modeller.get(f"/mo-hinh/fee_decision/v{first.version}.zip")
    assert answer.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(answer.data)).namelist()
    assert sorted(names) == ["fee_decision.bpmn", "le_phi.dmn"]
    changed = files["le_phi.dmn"].replace(b"<text>8000</text>", b"<text>9000</text>")
    second = definitions.deploy(web_rt, {**files, "le_phi.dmn": changed})
    diff = modeller.get(f"/mo-hinh/fee_decision/so-sanh?tu={first.version}&den={second.version}")
    text = diff.get_data(as_text=True)
    assert diff.status_code == 200 and "rule_mac_dinh" in text and "9000" in text


def _csrf(client, url):
    return csrf_token(client.get(url).get_data(as_text=True))


def test_a_modeller_saves_a_decision_table_into_the_draft_and_gets_its_findings(modeller, web_rt):
    files = {
        "fee_decision.bpmn": (HERE / "fee_decision.bpmn").read_bytes(),
        "le_phi.dmn": (HERE / "le_phi.dmn").read_bytes(),
    }
    first = definitions.deploy(web_rt, files)
    page = modeller.get(f"/mo-hinh/fee_decision/v{first.version}/bang-quyet-dinh/le_phi.dmn")
    assert page.status_code == 200 and "dmn-modeler.production.min.js" in page.get_data(as_text=True)
    template_page = modeller.get(f"/mo-hinh/fee_decision?phien-ban={first.version}").get_data(as_text=True)
    assert "le_phi.dmn" in template_page
    token = csrf_token(page.get_data(as_text=True))
    bad = files["le_phi.dmn"].replace(b"<text>8000</text>", b"<text>open('x')</text>")
    answer = modeller.post(
        f"/mo-hinh/fee_decision/ban-nhap/bang-quyet-dinh/le_phi.dmn?tu-phien-ban={first.version}",
        data=bad,
        headers={"X-CSRFToken": token, "Content-Type": "application/xml"},
    )
    saved = answer.get_json()
    assert answer.status_code == 200 and saved["ok"] is False
    assert [f["element_id"] for f in saved["findings"]] == ["out_mac_dinh"]
    fixed = files["le_phi.dmn"].replace(b"<text>8000</text>", b"<text>9000</text>")
    again = modeller.post(
        f"/mo-hinh/fee_decision/ban-nhap/bang-quyet-dinh/le_phi.dmn?tu-phien-ban={saved['version']}",
        data=fixed,
        headers={"X-CSRFToken": token, "Content-Type": "application/xml"},
    ).get_json()
    assert again["ok"] is True and again["version"] == saved["version"] == first.version + 1
    from configurator import drafts

    published = drafts.publish(web_rt, "fee_decision", again["version"])
    assert "9000" in definitions.template_files(web_rt, published.id)["le_phi.dmn"]


def test_a_table_that_is_not_dmn_is_refused_and_nothing_is_written(modeller, web_rt):
    files = {
        "fee_decision.bpmn": (HERE / "fee_decision.bpmn").read_bytes(),
        "le_phi.dmn": (HERE / "le_phi.dmn").read_bytes(),
    }
    first = definitions.deploy(web_rt, files)
    token = _csrf(modeller, f"/mo-hinh/fee_decision/v{first.version}/bang-quyet-dinh/le_phi.dmn")
    answer = modeller.post(
        "/mo-hinh/fee_decision/ban-nhap/bang-quyet-dinh/le_phi.dmn",
        data=files["fee_decision.bpmn"],
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 400 and answer.get_json()["field"] == "dmn"
    bad_name = modeller.post(
        "/mo-hinh/fee_decision/ban-nhap/bang-quyet-dinh/..evil.txt",
        data=files["le_phi.dmn"],
        headers={"X-CSRFToken": token},
    )
    assert bad_name.status_code in (400, 404)
    from configurator import templates

    assert [v.version for v in templates.overview(web_rt, "fee_decision").versions] == [first.version]
