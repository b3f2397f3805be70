"""The REST API as another system uses it: a token from the command line, then JSON calls."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlalchemy import select

from configurator import catalogue
from configurator import library
from configurator.steps import complete_step
from engine.domain.assignment import Actor
from engine.store.account_records import ApiTokenRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import deploy_fixture
from tests.web.conftest import login
from web.cli import main

[BIRTH] = [p for p in library.procedures() if p.key == "dang_ky_khai_sinh"]
RECEPTION_DATA = {
    "nguoi_nop": "Nguyễn Văn An",
    "so_giay_to_tuy_than": "001234567890",
    "hinh_thuc_nop": "truc_tiep",
    "ket_qua": "tiep_nhan",
}
APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001234567890", "phone": "0912345678"}
CODE = re.compile(r"^01\.00070-\d{6}-\d{4}$")
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


@pytest.fixture
def birth(web_rt):
    catalogue.import_json(web_rt, BIRTH.catalogue)
    return library.load_one(web_rt, BIRTH)


@pytest.fixture
def token_for(web_rt):
    """Create a token through `motcua api-token create`, as an operator would."""

    def create(username: str) -> str:
        result = CliRunner().invoke(
            main, ["api-token", "create", "--user", username, "--name", "Cổng DVC"], env={"DATABASE_URL": web_rt.db.url}
        )
        assert result.exit_code == 0, result.output
        return result.stdout.strip().splitlines()[-1]

    return create


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def start(client, token: str, **changes):
    body = {"template_key": "dang_ky_khai_sinh", "unit_code": "00070", "applicant": APPLICANT, **changes}
    return client.post("/api/v1/dossiers", json=body, headers=bearer(token))


def count(web_rt, record) -> int:
    with web_rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(record))


def test_a_token_made_on_the_command_line_reads_the_catalogue(client, birth, token_for, web_rt):
    token = token_for("mot_cua_1")
    with web_rt.db.read_session() as s:
        stored = s.scalar(select(ApiTokenRecord))
    assert stored.username == "mot_cua_1" and token not in stored.token_sha256 and len(stored.token_sha256) == 64

    found = client.get("/api/v1/procedures?q=KHAI SINH&level=xa", headers=bearer(token))
    assert found.status_code == 200
    assert [p["key"] for p in found.json] == ["dang_ky_khai_sinh"]
    assert (found.json[0]["legal_limit_days"], found.json[0]["same_day"]) == (0, True)  # "giải quyết trong ngày"
    assert '"total": 1' in found.headers["X-Pagination"]

    detail = client.get("/api/v1/procedures/1.001193", headers=bearer(token)).json
    assert detail["name"] == BIRTH.catalogue["name"]
    assert [(v["version"], v["status"]) for v in detail["versions"]] == [(1, "published")]

    templates = client.get("/api/v1/templates", headers=bearer(token)).json
    assert [(t["key"], t["version"], t["status"]) for t in templates] == [("dang_ky_khai_sinh", 1, "published")]
    version = client.get("/api/v1/templates/dang_ky_khai_sinh/versions/1", headers=bearer(token)).json
    assert "dang_ky_khai_sinh.bpmn" in version["files"] and "forms/tiep_nhan.json" in version["files"]
    assert "<bpmn:definitions" in version["files"]["dang_ky_khai_sinh.bpmn"]


def test_bad_query_parameters_are_named(client, birth, token_for):
    answer = client.get("/api/v1/procedures?level=huyen", headers=bearer(token_for("mot_cua_1")))
    assert answer.status_code == 422 and answer.json["field"] == "level"


def test_no_token_a_wrong_one_or_a_revoked_one_is_refused(client, birth, token_for, web_rt):
    missing = client.get("/api/v1/procedures")
    assert missing.status_code == 401 and missing.json["error"] and "Bearer" in missing.headers["WWW-Authenticate"]
    assert client.get("/api/v1/procedures", headers=bearer("khong-phai-ma")).status_code == 401
    assert client.get("/api/v1/procedures", headers={"Authorization": "Basic bW90OmN1YQ=="}).status_code == 401

    token = token_for("mot_cua_1")
    assert client.get("/api/v1/procedures", headers=bearer(token)).status_code == 200
    env = {"DATABASE_URL": web_rt.db.url}
    listed = CliRunner().invoke(main, ["api-token", "list"], env=env)
    token_id = listed.stdout.split("\t")[0]
    assert "mot_cua_1" in listed.stdout and token not in listed.stdout
    assert CliRunner().invoke(main, ["api-token", "revoke", token_id], env=env).exit_code == 0
    refused = client.get("/api/v1/procedures", headers=bearer(token))
    assert refused.status_code == 401 and "thu hồi" in refused.json["message"]


def test_a_token_for_an_unknown_user_is_not_made(web_rt):
    result = CliRunner().invoke(
        main, ["api-token", "create", "--user", "khong_co", "--name", "x"], env={"DATABASE_URL": web_rt.db.url}
    )
    assert result.exit_code != 0 and "unknown user" in result.output
    assert count(web_rt, ApiTokenRecord) == 0


def test_start_a_dossier_then_read_its_status_and_history(client, birth, token_for):
    token = token_for("mot_cua_1")
    started = start(client, token)
    assert started.status_code == 201, started.json
    code = started.json["code"]
    assert CODE.match(code) and started.headers["Location"].endswith(f"/api/v1/dossiers/{code}")
    assert started.json["status"] == 2 and started.json["appointment_at"]
    assert started.json["original_appointment_at"] == started.json["appointment_at"]

    status = client.get(f"/api/v1/dossiers/{code}", headers=bearer(token)).json
    assert status["template"]["key"] == "dang_ky_khai_sinh" and status["applicant"]["id_number"] == "001234567890"
    assert [(s["element_id"], s["role"]) for s in status["current_steps"]] == [("tiep_nhan", "mot_cua")]

    history = client.get(f"/api/v1/dossiers/{code}/history", headers=bearer(token)).json
    assert history[0]["action"] == "start" and history[0]["actor"] == "mot_cua_1"
    assert {"at", "on_behalf_of", "step"} <= set(history[0])


def test_a_bad_start_names_the_field_and_creates_nothing(client, birth, token_for, web_rt):
    token = token_for("mot_cua_1")
    no_name = start(client, token, applicant={"phone": "0912345678"})
    assert no_name.status_code == 422 and no_name.json["field"] == "applicant.name"
    unknown_unit = start(client, token, unit_code="99999")
    assert unknown_unit.status_code == 403 and unknown_unit.json["field"] == "unit_code"
    both = start(client, token, definition_id=birth.id)
    assert both.status_code == 422 and both.json["field"] == "template_key"
    typo = start(client, token, applicant={**APPLICANT, "ten": "x"})
    assert typo.status_code == 422 and typo.json["field"] == "applicant.ten"
    not_json = client.post("/api/v1/dossiers", data="{", content_type="application/json", headers=bearer(token))
    assert not_json.status_code == 400 and not_json.json["field"] is None and "JSON" in not_json.json["message"]
    fax = start(client, token, channel="fax")
    assert fax.status_code == 422 and fax.json["field"] == "channel"
    assert count(web_rt, DossierRecord) == 0


def test_a_dossier_received_online_says_so(client, birth, token_for, web_rt):
    answer = start(client, token_for("mot_cua_1"), channel="online")
    assert answer.status_code == 201 and answer.json["channel"] == "online"
    assert (
        client.get(f"/api/v1/dossiers/{answer.json['code']}", headers=bearer(token_for("mot_cua_1"))).json["channel"]
        == "online"
    )


def test_completing_with_a_bad_field_names_it_and_saves_nothing(client, birth, token_for, web_rt):
    token = token_for("mot_cua_1")
    code = start(client, token).json["code"]
    [item] = client.get("/api/v1/work-items?filter=group", headers=bearer(token)).json
    assert item["dossier_code"] == code and item["assignee"] is None
    claimed = client.post(f"/api/v1/work-items/{item['id']}/claim", headers=bearer(token))
    assert claimed.status_code == 200 and claimed.json["assignee"] == "mot_cua_1"
    stale = client.post(
        f"/api/v1/work-items/{item['id']}/complete",
        headers=bearer(token),
        json={"data": RECEPTION_DATA, "version": item["version"]},
    )
    assert stale.status_code == 409  # read before the claim: the caller must reload first
    assert [i["id"] for i in client.get("/api/v1/work-items?filter=mine", headers=bearer(token)).json] == [item["id"]]
    events_before = count(web_rt, AuditEventRecord)

    bad = client.post(
        f"/api/v1/work-items/{item['id']}/complete",
        headers=bearer(token),
        json={"data": {**RECEPTION_DATA, "so_giay_to_tuy_than": "12ab"}},
    )
    assert bad.status_code == 422
    assert bad.json["field"] == "data.so_giay_to_tuy_than" and "data.so_giay_to_tuy_than" in bad.json["errors"]
    with web_rt.db.read_session() as s:
        assert s.get(WorkItemRecord, item["id"]).state == "claimed"
    assert count(web_rt, AuditEventRecord) == events_before

    done = client.post(
        f"/api/v1/work-items/{item['id']}/complete", headers=bearer(token), json={"data": RECEPTION_DATA}
    )
    assert done.status_code == 200
    assert "tiep_nhan" not in [s["element_id"] for s in done.json["current_steps"]]
    again = client.post(
        f"/api/v1/work-items/{item['id']}/complete", headers=bearer(token), json={"data": RECEPTION_DATA}
    )
    assert again.status_code == 409
    assert again.json["message"].startswith("Bước “") and "đã hoàn thành bởi mot_cua_1" in again.json["message"]


def test_a_refusal_without_its_reason_names_the_field_and_saves_nothing(client, birth, token_for, web_rt):
    token = token_for("mot_cua_1")
    start(client, token)
    [item] = client.get("/api/v1/work-items?filter=group", headers=bearer(token)).json
    events_before = count(web_rt, AuditEventRecord)
    refused = client.post(
        f"/api/v1/work-items/{item['id']}/complete",
        headers=bearer(token),
        json={"data": {**RECEPTION_DATA, "ket_qua": "tu_choi", "ly_do_tu_choi": " "}},
    )
    assert refused.status_code == 422 and refused.json["field"] == "data.ly_do_tu_choi"
    assert refused.json["message"].startswith("Từ chối cần ghi lý do")
    assert count(web_rt, AuditEventRecord) == events_before
    with web_rt.db.read_session() as s:
        assert s.get(WorkItemRecord, item["id"]).state == "open"


def test_an_apology_moves_the_appointment_only_ahead_and_with_a_reason(client, birth, token_for, web_rt, clock):
    code = start(client, token_for("mot_cua_1")).json["code"]  # Monday 08:00, appointment Monday 17:00
    leader = token_for("lanh_dao_1")
    clock.advance(hours=2)
    url = f"/api/v1/dossiers/{code}/reappoint"
    for body, field in (
        ({"new_appointment": "2026-03-02T09:00:00+07:00", "reason": "Chờ xác minh"}, "new_appointment"),
        ({"new_appointment": "2026-03-02T17:00:00+07:00", "reason": "Chờ xác minh"}, "new_appointment"),
        ({"new_appointment": "2026-03-04T17:00:00+07:00", "reason": "   "}, "reason"),
        ({"new_appointment": "2026-03-04T17:00:00+07:00", "reason": ""}, "reason"),
        ({"reason": "Chờ xác minh"}, "new_appointment"),
    ):
        refused = client.post(url, headers=bearer(leader), json=body)
        assert (refused.status_code, refused.json["field"]) == (422, field), body
    assert client.get(f"/api/v1/dossiers/{code}", headers=bearer(leader)).json["re_appointment_reason"] is None
    assert (
        client.post(
            url,
            headers=bearer(token_for("mot_cua_1")),
            json={"new_appointment": "2026-03-04T17:00:00+07:00", "reason": "x"},
        ).status_code
        == 403
    )
    moved = client.post(
        url, headers=bearer(leader), json={"new_appointment": "2026-03-04T17:00", "reason": "Chờ xác minh"}
    )
    assert moved.status_code == 200
    assert (moved.json["appointment_at"], moved.json["original_appointment_at"]) == (
        "2026-03-04T10:00:00+00:00",
        "2026-03-02T10:00:00+00:00",
    )
    again = client.post(url, headers=bearer(leader), json={"new_appointment": "2026-03-05T17:00", "reason": "Lần hai"})
    assert again.status_code == 409


@pytest.mark.parametrize("withdrawn", [True, False])
def test_stopping_or_withdrawing_a_dossier_needs_a_reason(client, birth, token_for, web_rt, withdrawn):
    token = token_for("mot_cua_1")
    code = start(client, token).json["code"]
    url = f"/api/v1/dossiers/{code}/stop"
    blank = client.post(url, headers=bearer(token), json={"reason": " \n", "withdrawn": withdrawn})
    assert (blank.status_code, blank.json["field"]) == (422, "reason")
    assert client.get(f"/api/v1/dossiers/{code}", headers=bearer(token)).json["run_state"] == "running"
    stopped = client.post(url, headers=bearer(token), json={"reason": "Công dân xin rút", "withdrawn": withdrawn})
    assert stopped.status_code == 200 and (stopped.json["run_state"], stopped.json["status"]) == ("cancelled", 8)
    history = client.get(f"/api/v1/dossiers/{code}/history", headers=bearer(token)).json
    assert history[-1]["action"] == ("withdraw" if withdrawn else "cancel")


def test_a_return_with_a_blank_reason_names_the_field(client, birth, token_for, web_rt):
    token = token_for("mot_cua_1")
    code = start(client, token).json["code"]
    with web_rt.db.read_session() as s:
        dossier = s.scalar(select(DossierRecord).where(DossierRecord.code == code))
    reception, appraisal = (
        Actor("mot_cua_1", frozenset({"mot_cua"}), "00070"),
        Actor("tu_phap_1", frozenset({"tu_phap_ho_tich"}), "00070"),
    )
    complete_step(web_rt, open_step(web_rt, dossier.id).id, reception, RECEPTION_DATA)
    complete_step(
        web_rt,
        open_step(web_rt, dossier.id).id,
        appraisal,
        {"ket_qua": "dat", "ho_ten_tre": "Nguyễn Bình An", "ngay_sinh": "2026-02-20"},
    )
    signing = open_step(web_rt, dossier.id)
    refused = client.post(
        f"/api/v1/work-items/{signing.id}/return", headers=bearer(token_for("lanh_dao_1")), json={"reason": "   "}
    )
    assert (refused.status_code, refused.json["field"]) == (422, "reason")
    assert open_step(web_rt, dossier.id).id == signing.id


def open_step(rt, dossier_id) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        ).one()


def test_another_communes_user_cannot_see_or_touch_a_dossier(client, birth, token_for):
    code = start(client, token_for("mot_cua_1")).json["code"]
    other = token_for("chuyen_vien_x")  # unit 00073
    assert client.get(f"/api/v1/dossiers/{code}", headers=bearer(other)).status_code == 404
    assert client.get(f"/api/v1/dossiers/{code}/history", headers=bearer(other)).status_code == 404
    assert client.get("/api/v1/work-items", headers=bearer(other)).json == []
    leader = token_for("giam_sat")  # supervises the province's communes
    [step] = client.get(f"/api/v1/dossiers/{code}", headers=bearer(leader)).json["current_steps"]
    assert client.post(f"/api/v1/work-items/{step['id']}/claim", headers=bearer(other)).status_code == 404
    refused = start(client, other)
    assert refused.status_code == 403 and refused.json["field"] == "unit_code"


def test_delegate_and_resolve_a_step(client, web_rt, token_for):
    definition = deploy_fixture(web_rt, "five_steps")
    reception, first, second = token_for("mot_cua_1"), token_for("chuyen_vien_1"), token_for("chuyen_vien_2")
    body = {"definition_id": definition.id, "unit_code": "00070", "applicant": APPLICANT}
    code = client.post("/api/v1/dossiers", json=body, headers=bearer(reception)).json["code"]
    [step] = client.get("/api/v1/work-items", headers=bearer(reception)).json
    client.post(f"/api/v1/work-items/{step['id']}/complete", headers=bearer(reception), json={"data": {}})
    [review] = client.get("/api/v1/work-items?filter=group", headers=bearer(first)).json
    assert review["dossier_code"] == code and review["element_id"] == "tham_dinh"
    client.post(f"/api/v1/work-items/{review['id']}/claim", headers=bearer(first))

    wrong = client.post(f"/api/v1/work-items/{review['id']}/delegate", headers=bearer(first), json={"to": "lanh_dao_1"})
    assert wrong.status_code == 422 and wrong.json["field"] == "to"
    handed = client.post(
        f"/api/v1/work-items/{review['id']}/delegate",
        headers=bearer(first),
        json={"to": "chuyen_vien_2", "note": "Nhờ kiểm tra"},
    )
    assert handed.json["assignee"] == "chuyen_vien_2" and handed.json["owner"] == "chuyen_vien_1"

    def listed(which: str, token: str) -> list[int]:
        return [i["id"] for i in client.get(f"/api/v1/work-items?filter={which}", headers=bearer(token)).json]

    # Each side of a delegation has its own list; `delegated`, the older name, stays the owner's.
    assert listed("delegated_out", first) == listed("delegated", first) == [review["id"]]
    assert listed("delegated_to_me", second) == [review["id"]] and listed("delegated_to_me", first) == []
    assert listed("delegated_out", second) == [] and listed("own", first) == [review["id"]]
    not_yet = client.post(
        f"/api/v1/work-items/{review['id']}/complete", headers=bearer(second), json={"data": {"hop_le": True}}
    )
    assert not_yet.status_code == 403
    back = client.post(
        f"/api/v1/work-items/{review['id']}/resolve", headers=bearer(second), json={"data": {"hop_le": True}}
    )
    assert back.json["assignee"] == "chuyen_vien_1" and back.json["delegation_state"] == "resolved"
    no_return = client.post(
        f"/api/v1/work-items/{review['id']}/return", headers=bearer(first), json={"reason": "Thiếu giấy tờ"}
    )
    assert no_return.status_code == 409
    history = client.get(f"/api/v1/dossiers/{code}/history", headers=bearer(first)).json
    delegation = next(e for e in history if e["action"] == "delegate")
    assert (delegation["giver"], delegation["receiver"], delegation["step"]) == (
        "chuyen_vien_1",
        "chuyen_vien_2",
        "tham_dinh",
    )


def test_a_browser_session_may_read_but_not_write(client, birth, token_for, web_rt):
    code = start(client, token_for("mot_cua_1")).json["code"]
    login(client, "mot_cua_1")
    assert client.get(f"/api/v1/dossiers/{code}").status_code == 200
    refused = client.post(
        "/api/v1/dossiers", json={"template_key": "dang_ky_khai_sinh", "unit_code": "00070", "applicant": APPLICANT}
    )
    assert refused.status_code == 401 and "Bearer" in refused.json["message"]
    [item] = client.get("/api/v1/work-items").json
    assert client.post(f"/api/v1/work-items/{item['id']}/claim").status_code == 401
    assert count(web_rt, DossierRecord) == 1
    with web_rt.db.read_session() as s:
        assert s.get(WorkItemRecord, item["id"]).assignee is None


def test_the_openapi_document_lists_every_path_with_schemas_and_the_bearer_scheme(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.is_json
    spec = answer.json
    assert spec["openapi"] == "3.0.3"
    assert {
        "/api/v1/dossiers",
        "/api/v1/dossiers/{code}",
        "/api/v1/dossiers/{code}/history",
        "/api/v1/procedures",
        "/api/v1/procedures/{code}",
        "/api/v1/templates",
        "/api/v1/templates/{key}/versions/{version}",
        "/api/v1/work-items",
        "/api/v1/work-items/{item_id}/complete",
        "/api/v1/work-items/{item_id}/delegate",
        "/api/v1/dossiers/{code}/reappoint",
        "/api/v1/dossiers/{code}/stop",
    } <= set(spec["paths"])
    assert {"StartDossier", "Dossier", "Applicant", "WorkItem", "Complete", "Error"} <= set(
        spec["components"]["schemas"]
    )
    bearer_scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer_scheme["type"], bearer_scheme["scheme"]) == ("http", "bearer")
    assert {"bearerAuth": []} in spec["security"]
    post = spec["paths"]["/api/v1/dossiers"]["post"]
    assert "201" in post["responses"] and "422" in post["responses"]
    assert post["security"] == [{"bearerAuth": []}]  # a write never takes the browser session
    assert all(resolves(spec, ref) for ref in refs(spec)), "a $ref points nowhere"


def test_each_write_documents_its_refusals_and_takes_a_token_only(client):
    """The documentation decorators no longer wrap the views at run time (web.api.base.
    documentation_only); what they document is still in the API's document."""
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/work-items/{item_id}/complete", "/api/v1/work-items/{item_id}/claim"):
        post = spec["paths"][path]["post"]
        assert {"200", "401", "403", "404", "409"} <= set(post["responses"])
        assert post["security"] == [{"bearerAuth": []}]
        assert [p["name"] for p in post["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    read = spec["paths"]["/api/v1/dossiers/{code}"]["get"]
    assert {"200", "401", "404"} <= set(read["responses"]) and "security" not in read


def refs(node):
    if isinstance(node, dict):
        yield from ([node["$ref"]] if "$ref" in node else [])
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolves(spec: dict, ref: str) -> bool:
    node = spec
    for part in ref.removeprefix("#/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_other_pages_keep_their_html_errors_and_unknown_api_paths_answer_json(client):
    page = client.get("/khong-co-trang-nay")
    assert page.status_code == 404 and page.mimetype == "text/html"
    api = client.get("/api/v1/khong-co")
    assert api.status_code == 404 and api.is_json


def test_a_start_sent_again_with_its_idempotency_key_answers_with_the_same_dossier(client, birth, token_for, web_rt):
    """An integration whose answer was lost (the web process died with it in hand) sends the start
    again: with the same Idempotency-Key it gets the dossier it started, not a second one."""
    token = token_for("mot_cua_1")
    headers = {**bearer(token), "Idempotency-Key": "cong-dvc-000123"}
    body = {"template_key": "dang_ky_khai_sinh", "unit_code": "00070", "applicant": APPLICANT}
    first = client.post("/api/v1/dossiers", json=body, headers=headers)
    again = client.post("/api/v1/dossiers", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["code"] == first.json["code"] and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers and count(web_rt, DossierRecord) == 1
    too_long = client.post("/api/v1/dossiers", json=body, headers={**bearer(token), "Idempotency-Key": "x" * 201})
    assert too_long.status_code == 422 and too_long.json["field"] == "Idempotency-Key"
    assert count(web_rt, DossierRecord) == 1


def test_the_applicant_chooses_the_channels_to_be_told_on_as_at_the_desk(client, birth, token_for, web_rt):
    token = token_for("mot_cua_1")
    no_email = start(client, token, applicant={**APPLICANT, "notify": ["sms", "email"]})
    assert no_email.status_code == 422 and no_email.json["field"] == "applicant.notify"
    assert "email" in no_email.json["message"]
    fax = start(client, token, applicant={**APPLICANT, "notify": ["fax"]})
    assert fax.status_code == 422 and fax.json["field"].startswith("applicant.notify")
    assert count(web_rt, DossierRecord) == 0

    told = {**APPLICANT, "email": "an@example.vn", "notify": ["sms", "email", "sms"]}
    started = start(client, token, applicant=told)
    assert started.status_code == 201, started.json
    status = client.get(f"/api/v1/dossiers/{started.json['code']}", headers=bearer(token)).json
    assert status["applicant"]["notify"] == ["sms", "email"]

    applicant = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Applicant"]
    assert applicant["properties"]["notify"]["items"]["enum"] == ["sms", "zalo", "email"]


def header_names(answer) -> list[str]:
    return [name for name, _ in answer.headers]


def instants(value):
    """An answer with its times as instants: a change answers in the offset it computed them in,
    a read in the database's (the same instant)."""
    if isinstance(value, dict):
        return {key: instants(item) for key, item in value.items()}
    if isinstance(value, list):
        return [instants(item) for item in value]
    if isinstance(value, str) and ISO_TIME.match(value):
        return dt.datetime.fromisoformat(value)
    return value


def flask_json_bytes(value) -> bytes:
    """A body as Flask's JSON provider writes one outside debug: sorted keys, no spaces, ASCII, a newline."""
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


def test_the_changes_answer_what_the_reads_show_in_flasks_json_with_the_same_headers(client, birth, token_for):
    """A start, a claim and a completion build their answers themselves, inside the change's
    transaction: each is what the reads answer for the same dossier or step, written as Flask
    writes JSON, with the headers every API answer has."""
    token = token_for("mot_cua_1")
    started = start(client, token)
    dossier = started.headers["Location"]
    assert started.status_code == 201
    assert instants(started.json) == instants(client.get(dossier, headers=bearer(token)).json)
    [item] = client.get("/api/v1/work-items?filter=group", headers=bearer(token)).json

    claimed = client.post(f"/api/v1/work-items/{item['id']}/claim", headers=bearer(token))
    assert claimed.status_code == 200
    assert instants([claimed.json]) == instants(
        client.get("/api/v1/work-items?filter=mine", headers=bearer(token)).json
    )

    done = client.post(
        f"/api/v1/work-items/{item['id']}/complete", headers=bearer(token), json={"data": RECEPTION_DATA}
    )
    assert done.status_code == 200
    assert instants(done.json) == instants(client.get(dossier, headers=bearer(token)).json)

    for answer in (started, claimed, done):
        assert answer.get_data() == flask_json_bytes(answer.json)
        assert answer.headers["Content-Type"] == "application/json" and answer.headers["Vary"] == "Cookie"
        assert answer.headers["Content-Length"] == str(len(answer.get_data()))
    assert header_names(started) == ["Content-Type", "Content-Length", "Location", "X-Request-ID", "Vary"]
    assert header_names(claimed) == header_names(done) == ["Content-Type", "Content-Length", "X-Request-ID", "Vary"]
