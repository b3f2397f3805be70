"""Claiming and releasing a step over the API: the answer shows the step as claimed (its instants
written as before), each conflicting claim gets the same clear answer as before and writes
nothing, and a release is checked, written and answered in one transaction."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.services import api_tokens
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from tests.factories import deploy_fixture

APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001234567890", "phone": "0912345678"}
INSTANTS = ("created_at", "claimed_at", "warn_at", "due_at")


@pytest.fixture
def tokens(web_rt):
    def token(username: str) -> dict:
        return {"Authorization": f"Bearer {api_tokens.issue(web_rt, username=username, name='Cổng DVC')[1]}"}

    return token


@pytest.fixture
def review(client, web_rt, tokens, clock):
    """The dossier's second step (tham_dinh, role chuyen_vien in 00070), open and unclaimed."""
    definition = deploy_fixture(web_rt, "five_steps")
    reception = tokens("mot_cua_1")
    body = {"definition_id": definition.id, "unit_code": "00070", "applicant": APPLICANT}
    assert client.post("/api/v1/dossiers", json=body, headers=reception).status_code == 201
    [step] = client.get("/api/v1/work-items", headers=reception).json
    client.post(f"/api/v1/work-items/{step['id']}/complete", headers=reception, json={"data": {}})
    [step] = client.get("/api/v1/work-items?filter=group", headers=tokens("chuyen_vien_1")).json
    assert (step["element_id"], step["assignee"]) == ("tham_dinh", None)
    clock.advance(timedelta(minutes=5))
    return step


def post(client, headers, item_id: int, action: str):
    return client.post(f"/api/v1/work-items/{item_id}/{action}", headers=headers)


def written(rt, item_id: int) -> tuple:
    with rt.db.read_session() as s:
        item = s.get(WorkItemRecord, item_id)
        return item.assignee, item.state, item.version, s.scalar(select(func.count()).select_from(AuditEventRecord))


def same_instants(a: dict, b: dict) -> bool:
    def instant(text):
        return None if text is None else datetime.fromisoformat(text)

    return all(instant(a[name]) == instant(b[name]) for name in INSTANTS)


def test_a_claim_answers_the_step_as_claimed(client, web_rt, tokens, review):
    specialist = tokens("chuyen_vien_1")
    claimed = post(client, specialist, review["id"], "claim")
    assert claimed.status_code == 200
    answer = claimed.json
    assert {**answer, "assignee": None, "state": "open", "claimed_at": None, "version": review["version"]} == review
    assert (answer["assignee"], answer["state"], answer["version"]) == (
        "chuyen_vien_1",
        "claimed",
        review["version"] + 1,
    )
    # The clock's instant, written as the answer wrote it before the claim became one UPDATE.
    assert answer["claimed_at"] == "2026-03-02T01:05:00+00:00"
    [listed] = client.get("/api/v1/work-items?filter=mine", headers=specialist).json
    assert {k: v for k, v in listed.items() if k not in INSTANTS} == {
        k: v for k, v in answer.items() if k not in INSTANTS
    }
    assert same_instants(listed, answer)


def test_a_claim_whose_client_names_json_without_a_body_is_a_claim(client, web_rt, tokens, review):
    """Some clients send `Content-Type: application/json` on every request, a claim's empty body too."""
    claimed = client.post(
        f"/api/v1/work-items/{review['id']}/claim", headers=tokens("chuyen_vien_1"), content_type="application/json"
    )
    assert claimed.status_code == 200 and claimed.json["assignee"] == "chuyen_vien_1"
    assert written(web_rt, review["id"])[:2] == ("chuyen_vien_1", "claimed")


@pytest.mark.parametrize(
    ("who", "status", "words"),
    [
        ("chuyen_vien_x", 404, "Không tìm thấy bước xử lý"),  # another commune: not even seen
        ("mot_cua_1", 403, "chuyen_vien"),  # not the step's role
    ],
)
def test_a_claim_by_someone_who_may_not_take_the_step_writes_nothing(
    client, web_rt, tokens, review, who, status, words
):
    before = written(web_rt, review["id"])
    refused = post(client, tokens(who), review["id"], "claim")
    assert refused.status_code == status and words in refused.json["message"]
    assert written(web_rt, review["id"]) == before


def test_a_step_someone_else_holds_is_refused_with_their_name(client, web_rt, tokens, review):
    assert post(client, tokens("chuyen_vien_1"), review["id"], "claim").status_code == 200
    before = written(web_rt, review["id"])
    for who in ("chuyen_vien_2", "chuyen_vien_1"):
        refused = post(client, tokens(who), review["id"], "claim")
        assert refused.status_code == 409 and "chuyen_vien_1" in refused.json["message"]
    assert written(web_rt, review["id"]) == before


def test_a_closed_step_and_an_unknown_one_are_refused(client, web_rt, tokens, review):
    specialist = tokens("chuyen_vien_1")
    post(client, specialist, review["id"], "claim")
    done = client.post(
        f"/api/v1/work-items/{review['id']}/complete", headers=specialist, json={"data": {"hop_le": True}}
    )
    assert done.status_code == 200
    before = written(web_rt, review["id"])
    closed = post(client, tokens("chuyen_vien_2"), review["id"], "claim")
    assert closed.status_code == 409 and "chuyen_vien_1" in closed.json["message"]
    assert written(web_rt, review["id"]) == before
    assert post(client, specialist, 10**6, "claim").status_code == 404


def test_a_release_answers_the_step_back_in_its_pool(client, web_rt, tokens, review):
    specialist = tokens("chuyen_vien_1")
    claimed = post(client, specialist, review["id"], "claim").json
    assert post(client, tokens("chuyen_vien_2"), review["id"], "unclaim").status_code == 403
    assert post(client, tokens("chuyen_vien_x"), review["id"], "unclaim").status_code == 404
    assert written(web_rt, review["id"])[:3] == ("chuyen_vien_1", "claimed", claimed["version"])

    released = post(client, specialist, review["id"], "unclaim")
    assert released.status_code == 200
    answer = released.json
    assert (answer["assignee"], answer["state"], answer["version"]) == (None, "open", claimed["version"] + 1)
    assert written(web_rt, review["id"])[:3] == (None, "open", claimed["version"] + 1)
    [listed] = client.get("/api/v1/work-items?filter=group", headers=specialist).json
    assert listed == answer
    again = post(client, specialist, review["id"], "unclaim")
    assert again.status_code == 409
