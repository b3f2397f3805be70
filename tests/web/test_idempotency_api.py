"""One Idempotency-Key mechanism on every API change that accepts it (start, claim, complete,
another agency's event): a retry after a lost answer gets the first answer, replayed, and the
change is made once; the key for another request is a 409 naming the header; a bad key is a 422;
the OpenAPI document states the header on each route."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.services import idempotency
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from tests.web.test_api import APPLICANT
from tests.web.test_api import RECEPTION_DATA
from tests.web.test_api import bearer
from tests.web.test_api import birth  # noqa: F401  (fixture)
from tests.web.test_api import count
from tests.web.test_api import token_for  # noqa: F401  (fixture)
from web.api import dossiers as dossiers_api
from web.api import work_items as work_items_api

START = {"template_key": "dang_ky_khai_sinh", "unit_code": "00070", "applicant": APPLICANT}
KEYED_ROUTES = [
    ("/dossiers", "post"),
    ("/work-items/{item_id}/claim", "post"),
    ("/work-items/{item_id}/complete", "post"),
    ("/interagency/dossiers/{code}/events", "post"),
]


class AnswerLost(BaseException):
    """The web process died after the change committed, before its answer left."""


def lose_the_first_answer(monkeypatch, module):
    real, calls = module.respond, []

    def respond(answer, headers=None):
        calls.append(answer)
        if len(calls) == 1:
            raise AnswerLost
        return real(answer, headers)

    monkeypatch.setattr(module, "respond", respond)


def actions(web_rt, action: str) -> int:
    with web_rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AuditEventRecord).where(AuditEventRecord.action == action))


def test_a_start_whose_answer_was_lost_is_answered_again_without_a_second_dossier(
    client, birth, token_for, web_rt, monkeypatch
):
    headers = {**bearer(token_for("mot_cua_1")), "Idempotency-Key": "cong-dvc-7"}
    lose_the_first_answer(monkeypatch, dossiers_api)
    with pytest.raises(AnswerLost):
        client.post("/api/v1/dossiers", json=START, headers=headers)
    assert count(web_rt, DossierRecord) == 1  # the start committed with its key

    retry = client.post("/api/v1/dossiers", json=START, headers=headers)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["Location"].endswith(retry.json["code"]) and count(web_rt, DossierRecord) == 1
    other = client.post("/api/v1/dossiers", json={**START, "channel": "online"}, headers=headers)
    assert other.status_code == 409 and other.json["field"] == "Idempotency-Key"
    assert "cong-dvc-7" in other.json["message"] and count(web_rt, DossierRecord) == 1


def test_claim_and_complete_with_a_key_are_made_once_and_answered_the_same(
    client, birth, token_for, web_rt, monkeypatch
):
    token = token_for("mot_cua_1")
    client.post("/api/v1/dossiers", json=START, headers=bearer(token))
    [item] = client.get("/api/v1/work-items?filter=group", headers=bearer(token)).json
    claim_url, complete_url = (f"/api/v1/work-items/{item['id']}/{action}" for action in ("claim", "complete"))

    claimed = client.post(claim_url, headers={**bearer(token), "Idempotency-Key": "claim-1"})
    claimed_again = client.post(claim_url, headers={**bearer(token), "Idempotency-Key": "claim-1"})
    assert claimed.status_code == claimed_again.status_code == 200 and claimed_again.json == claimed.json
    assert claimed_again.headers["Idempotent-Replayed"] == "true" and actions(web_rt, "claim") == 1

    keyed = {**bearer(token), "Idempotency-Key": "complete-1"}
    lose_the_first_answer(monkeypatch, work_items_api)
    with pytest.raises(AnswerLost):
        client.post(complete_url, json={"data": RECEPTION_DATA}, headers=keyed)
    retry = client.post(complete_url, json={"data": RECEPTION_DATA}, headers=keyed)
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert "tiep_nhan" not in [s["element_id"] for s in retry.json["current_steps"]]
    assert actions(web_rt, "complete") == 1
    changed = client.post(complete_url, json={"data": {**RECEPTION_DATA, "nguoi_nop": "Khác"}}, headers=keyed)
    assert changed.status_code == 409 and changed.json["field"] == "Idempotency-Key"


def copies_look_too_early(monkeypatch, looks: int):
    """The next `looks` copies look for their key before the first copy's commit shows it (the
    first one is still committing when its client, timed out or cut off, sends it again)."""
    real, early = idempotency.kept_answer, [looks]

    def kept_answer(rt, request):
        if early[0] > 0:
            early[0] -= 1
            return None
        return real(rt, request)

    monkeypatch.setattr(idempotency, "kept_answer", kept_answer)


def test_a_step_sent_again_while_its_first_copy_commits_gets_the_first_answer(
    client, birth, token_for, web_rt, monkeypatch
):
    """The copy that finds no key yet runs, collides with the first copy's commit, and answers with
    what the first copy was answered: the step is claimed and completed once, and no error reaches
    the client that only wanted its answer."""
    token = token_for("mot_cua_1")
    client.post("/api/v1/dossiers", json=START, headers=bearer(token))
    [item] = client.get("/api/v1/work-items?filter=group", headers=bearer(token)).json
    for action, body in (("claim", None), ("complete", {"data": RECEPTION_DATA})):
        url, keyed = f"/api/v1/work-items/{item['id']}/{action}", {**bearer(token), "Idempotency-Key": f"{action}-3"}
        first = client.post(url, json=body, headers=keyed)
        copies_look_too_early(monkeypatch, looks=1)
        again = client.post(url, json=body, headers=keyed)
        assert first.status_code == again.status_code == 200 and again.json == first.json, again.json
        assert again.headers["Idempotent-Replayed"] == "true" and actions(web_rt, action) == 1


def test_a_refused_change_keeps_no_key(client, birth, token_for, web_rt):
    token = token_for("mot_cua_1")
    client.post("/api/v1/dossiers", json=START, headers=bearer(token))
    [item] = client.get("/api/v1/work-items?filter=group", headers=bearer(token)).json
    keyed = {**bearer(token), "Idempotency-Key": "complete-2"}
    url = f"/api/v1/work-items/{item['id']}/complete"
    bad = client.post(url, json={"data": {**RECEPTION_DATA, "so_giay_to_tuy_than": "12ab"}}, headers=keyed)
    assert bad.status_code == 422 and bad.json["field"] == "data.so_giay_to_tuy_than"
    fixed = client.post(url, json={"data": RECEPTION_DATA}, headers=keyed)  # same key, corrected body
    assert fixed.status_code == 200 and "Idempotent-Replayed" not in fixed.headers


@pytest.mark.parametrize("key", ["", "   ", "x" * 201])
def test_a_bad_key_is_refused_naming_the_header(client, birth, token_for, web_rt, key):
    answer = client.post(
        "/api/v1/dossiers", json=START, headers={**bearer(token_for("mot_cua_1")), "Idempotency-Key": key}
    )
    assert answer.status_code == 422 and answer.json["field"] == "Idempotency-Key"
    assert count(web_rt, DossierRecord) == 0


def test_the_openapi_document_states_the_header_on_each_keyed_route(client):
    spec = client.get("/api/v1/openapi.json").json
    for path, method in KEYED_ROUTES:
        parameters = spec["paths"]["/api/v1" + path][method].get("parameters", [])
        [header] = [p for p in parameters if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert header["schema"]["maxLength"] == 200 and "Idempotent-Replayed" in header["description"]


def test_an_answer_is_handed_to_the_server_as_its_json_bytes_and_its_replay_the_same(app):
    """A change's answer goes to the WSGI server as the list holding its bytes (nothing to close
    with it), with the status and headers a replay adds; a HEAD would still get no body."""
    from werkzeug.test import EnvironBuilder

    from web.api.idempotency import respond

    body = {"code": "HS-1", "tên": "Nguyễn Văn A"}
    with app.test_request_context():
        first = respond(idempotency.Answer(201, body), {"Location": "/api/v1/dossiers/HS-1"})
        replay = respond(idempotency.Answer(201, body, replayed=True), {"Location": "/api/v1/dossiers/HS-1"})
        expected = app.json.response(body).get_data()  # Flask's JSON answer's bytes
    for answer in (first, replay):
        app_iter, status, headers = answer.get_wsgi_response(EnvironBuilder("/", method="POST").get_environ())
        assert (app_iter, status) == ([expected], "201 CREATED")
        assert dict(headers)["Content-Length"] == str(len(expected))
        assert list(answer.get_app_iter(EnvironBuilder("/", method="HEAD").get_environ())) == []
    assert dict(replay.headers)["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
