"""Attack: NUL bytes in text (PostgreSQL refuses them in a string and the request ended in a 5xx).
Outcome: 422 naming the field wherever the NUL is (JSON value or key, query string, path, form),
and nothing is written; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json

from sqlalchemy import func
from sqlalchemy import select

from engine.store.records import DossierRecord
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import csrf_token
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import start_body


def test_a_nul_in_a_json_value_or_key_is_named_and_nothing_is_stored(hostile_client, desk_token, hostile_rt):
    value = hostile_client.post(
        "/api/v1/dossiers", json=start_body(applicant={"name": "Nguyễn\x00Văn An"}), headers=bearer(desk_token)
    )
    assert value.status_code == 422 and value.json["field"] == "applicant.name" and "NUL" in value.json["message"]
    key = hostile_client.post(
        "/api/v1/work-items/1/complete", json={"data": {"ly\x00do": "x"}}, headers=bearer(desk_token)
    )
    assert key.status_code == 422 and key.json["field"] == "data.ly\\0do"
    with hostile_rt.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 0


def test_a_json_body_named_with_options_or_a_json_suffix_is_checked_as_plain_json_is(hostile_client, desk_token):
    # web.guards compares the plain `application/json` as the server passed it; any other way of
    # naming JSON goes through werkzeug's parse of the header, as before.
    for content_type in ("application/json; charset=utf-8", "Application/JSON", "application/problem+json"):
        answer = hostile_client.post(
            "/api/v1/dossiers",
            data=json.dumps(start_body(applicant={"name": "Nguyễn\x00Văn An"})),
            content_type=content_type,
            headers=bearer(desk_token),
        )
        assert answer.status_code == 422 and answer.json["field"] == "applicant.name", content_type
        assert "NUL" in answer.json["message"], content_type


def test_a_nul_in_the_query_string_or_the_path_is_named(hostile_client, desk_token):
    query = hostile_client.get("/api/v1/procedures?q=khai%00sinh", headers=bearer(desk_token))
    assert query.status_code == 422 and query.json["field"] == "q"
    path = hostile_client.get("/api/v1/dossiers/01.00070-260302-0001%00", headers=bearer(desk_token))
    assert path.status_code == 422 and path.json["field"] == "code"
    page = hostile_client.get("/tra-cuu?ma=01.00070%00&so=5678")
    assert page.status_code == 422 and "ma" in page.get_data(as_text=True) and "<html" in page.get_data(as_text=True)


def test_a_nul_in_a_form_is_refused_before_the_sign_in_is_tried(hostile_client):
    token = csrf_token(hostile_client.get("/dang-nhap").get_data(as_text=True))
    answer = hostile_client.post("/dang-nhap", data={"username": "mot_cua_1\x00", "password": "x", "csrf_token": token})
    assert answer.status_code == 422 and "username" in answer.get_data(as_text=True)
