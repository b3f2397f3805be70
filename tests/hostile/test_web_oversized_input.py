"""Attack: bodies and values far larger than any honest request (a 50 MB JSON body used to be
stored twice). Outcome: 413 for the body, 422 naming the field for one overlong value, nothing stored."""

from __future__ import annotations

import json

from sqlalchemy import func
from sqlalchemy import select

from engine.store.records import DossierRecord
from engine.store.records import UserRecord
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import csrf_token
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import login
from tests.hostile.web_fixtures import start_body


def dossiers(rt) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(DossierRecord))


def test_a_body_beyond_the_request_limit_is_refused_with_413_and_nothing_is_stored(
    hostile_client, desk_token, hostile_rt
):
    body = start_body(applicant={"name": "Nguyễn Văn An", "address": "x" * (3 * 1024 * 1024)})
    answer = hostile_client.post(
        "/api/v1/dossiers", data=json.dumps(body), content_type="application/json", headers=bearer(desk_token)
    )
    assert answer.status_code == 413, answer.json
    assert answer.is_json and answer.json["error"]
    assert dossiers(hostile_rt) == 0


def test_a_value_longer_than_its_field_is_named(hostile_client, desk_token, hostile_rt):
    overlong = hostile_client.post(
        "/api/v1/dossiers",
        json=start_body(applicant={"name": "Nguyễn Văn An", "address": "x" * 501}),
        headers=bearer(desk_token),
    )
    assert overlong.status_code == 422 and overlong.json["field"] == "applicant.address"
    email = hostile_client.post(
        "/api/v1/dossiers",
        json=start_body(applicant={"name": "Nguyễn Văn An", "email": "a" * 200 + "@x.vn"}),
        headers=bearer(desk_token),
    )
    assert email.status_code == 422 and email.json["field"] == "applicant.email"
    assert dossiers(hostile_rt) == 0


def test_any_text_beyond_the_field_limit_is_refused_before_a_view_sees_it(hostile_client, desk_token):
    answer = hostile_client.get(
        "/api/v1/procedures", query_string={"q": "khai sinh " * 3000}, headers=bearer(desk_token)
    )
    assert answer.status_code == 422 and answer.json["field"] == "q"
    step = hostile_client.post(
        "/api/v1/work-items/1/complete", json={"data": {"ghi_chu": "x" * 20_001}}, headers=bearer(desk_token)
    )
    assert step.status_code == 422 and step.json["field"] == "data.ghi_chu"


def test_the_administrators_form_refuses_an_overlong_name_naming_the_field(hostile_client, hostile_rt):
    login(hostile_client, "quan_tri")
    token = csrf_token(hostile_client.get("/quan-tri/nguoi-dung/moi").get_data(as_text=True))
    answer = hostile_client.post(
        "/quan-tri/nguoi-dung/moi",
        data={
            "csrf_token": token,
            "username": "can_bo_moi",
            "full_name": "Nguyễn " * 40,
            "unit_code": "00070",
            "roles": "mot_cua",
            "password": "mat-khau-du-dai",
            "active": "on",
        },
    )
    assert answer.status_code == 422
    assert "full_name" in answer.get_data(as_text=True) and "200" in answer.get_data(as_text=True)
    with hostile_rt.db.read_session() as s:
        assert s.get(UserRecord, "can_bo_moi") is None


def test_a_reason_longer_than_a_slip_holds_is_refused_at_the_desk_and_by_the_api(
    hostile_client, desk_token, hostile_rt
):
    started = hostile_client.post("/api/v1/dossiers", json=start_body(), headers=bearer(desk_token)).json
    login(hostile_client, "mot_cua_1")
    page = hostile_client.get(f"/ban-lam-viec/ho-so/{_dossier_id(hostile_rt)}").get_data(as_text=True)
    answer = hostile_client.post(
        f"/ban-lam-viec/ho-so/{_dossier_id(hostile_rt)}/dung",
        data={"csrf_token": csrf_token(page), "kind": "dung", "reason": "x" * 2001},
    )
    assert answer.status_code == 422 and "2000" in answer.get_data(as_text=True)
    api = hostile_client.post(
        f"/api/v1/dossiers/{started['code']}/stop", json={"reason": "x" * 2001}, headers=bearer(desk_token)
    )
    assert api.status_code == 422 and api.json["field"] == "reason"
    with hostile_rt.db.read_session() as s:
        assert s.scalar(select(DossierRecord.run_state)) == "running"


def _dossier_id(rt) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(DossierRecord.id))
