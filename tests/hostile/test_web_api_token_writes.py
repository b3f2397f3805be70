"""Attack: a token taken away between two writes over the API (revoked, or its user made
inactive) while its account is kept in memory for its next start, claim or completion. Outcome:
refused at the very next request, on SQLite and PostgreSQL, and that request writes nothing; an
account changed meanwhile is served as it is now; an answer kept for an Idempotency-Key is not
replayed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.services import api_tokens
from engine.services.runtime import Runtime
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from tests.factories import deploy_fixture
from tests.hostile.web_fixtures import APPLICANT
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import close_app
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.web.conftest import add_web_users
from tests.web.conftest import make_app


@pytest.fixture
def review(hostile_rt, hostile_client, desk_token):
    """A dossier's second step (tham_dinh, role chuyen_vien in 00070), open and unclaimed."""
    definition = deploy_fixture(hostile_rt, "five_steps")
    body = {"definition_id": definition.id, "unit_code": "00070", "applicant": APPLICANT}
    [first] = hostile_client.post("/api/v1/dossiers", json=body, headers=bearer(desk_token)).json["current_steps"]
    answer = hostile_client.post(
        f"/api/v1/work-items/{first['id']}/complete", json={"data": {}}, headers=bearer(desk_token)
    )
    [step] = answer.json["current_steps"]
    return step


def revoke(rt: Runtime, token_id: int) -> None:
    api_tokens.revoke(rt, token_id)


def deactivate(rt: Runtime, _token_id: int) -> None:
    with rt.db.session() as s:
        s.get(UserRecord, "chuyen_vien_1").active = False


def renamed(rt: Runtime, _token_id: int) -> None:
    with rt.db.session() as s:
        s.get(UserRecord, "chuyen_vien_1").full_name = "Chuyên viên đổi tên"


@pytest.mark.parametrize("take_away", [revoke, deactivate])
def test_a_token_taken_away_after_a_claim_cannot_complete_the_step(
    hostile_rt, hostile_client, clock, review, take_away
):
    record, token = api_tokens.issue(hostile_rt, username="chuyen_vien_1", name="Cổng DVC")
    assert hostile_client.post(f"/api/v1/work-items/{review['id']}/claim", headers=bearer(token)).status_code == 200
    events = _events(hostile_rt)

    clock.advance(timedelta(seconds=5))  # within the minute: the token's last use is not written again
    take_away(hostile_rt, record.id)
    refused = hostile_client.post(
        f"/api/v1/work-items/{review['id']}/complete", json={"data": {"hop_le": True}}, headers=bearer(token)
    )

    assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]
    with hostile_rt.db.read_session() as s:
        step = s.get(WorkItemRecord, review["id"])
        assert (step.state, step.assignee) == ("claimed", "chuyen_vien_1")
    assert _events(hostile_rt) == events


@pytest.mark.parametrize("take_away", [revoke, deactivate])
def test_a_token_taken_away_after_a_start_cannot_start_another_dossier(hostile_rt, hostile_client, clock, take_away):
    definition = deploy_fixture(hostile_rt, "five_steps")
    with hostile_rt.db.session() as s:  # a clerk of the desk, whose token may receive dossiers
        s.get(UserRecord, "chuyen_vien_1").roles = "mot_cua chuyen_vien"
    record, token = api_tokens.issue(hostile_rt, username="chuyen_vien_1", name="Cổng DVC")
    body = {"definition_id": definition.id, "unit_code": "00070", "applicant": APPLICANT}
    assert hostile_client.post("/api/v1/dossiers", json=body, headers=bearer(token)).status_code == 201
    events = _events(hostile_rt)

    clock.advance(timedelta(seconds=5))  # within the minute: the account is answered from memory
    take_away(hostile_rt, record.id)
    refused = hostile_client.post("/api/v1/dossiers", json=body, headers=bearer(token))

    assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]
    with hostile_rt.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(DossierRecord)) == 1
    assert _events(hostile_rt) == events


@pytest.mark.parametrize("take_away", [revoke, deactivate])
def test_a_token_taken_away_learns_nothing_of_a_step_that_does_not_exist(
    hostile_rt, hostile_client, clock, review, take_away
):
    """The token is refused before the step is looked for: its check rides in the step's read,
    which finds no row, so the token's own lookup answers."""
    record, token = api_tokens.issue(hostile_rt, username="chuyen_vien_1", name="Cổng DVC")
    assert hostile_client.post(f"/api/v1/work-items/{review['id']}/claim", headers=bearer(token)).status_code == 200

    clock.advance(timedelta(seconds=5))  # within the minute: the account is answered from memory
    take_away(hostile_rt, record.id)
    refused = hostile_client.post(
        f"/api/v1/work-items/{review['id'] + 1000}/complete", json={"data": {}}, headers=bearer(token)
    )

    assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]


def _events(rt: Runtime) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AuditEventRecord))


def test_a_revoked_token_gets_no_replay_of_an_answer_kept_for_its_key(hostile_rt, hostile_client, clock, review):
    record, token = api_tokens.issue(hostile_rt, username="chuyen_vien_1", name="Cổng DVC")
    keyed = {**bearer(token), "Idempotency-Key": "nhan-viec-1"}
    assert hostile_client.post(f"/api/v1/work-items/{review['id']}/claim", headers=keyed).status_code == 200

    clock.advance(timedelta(seconds=5))
    api_tokens.revoke(hostile_rt, record.id)
    replayed = hostile_client.post(f"/api/v1/work-items/{review['id']}/claim", headers=keyed)

    assert replayed.status_code == 401 and "Idempotent-Replayed" not in replayed.headers


def test_an_account_changed_since_its_last_request_is_served_as_it_is_now(hostile_rt, hostile_client, clock, review):
    record, token = api_tokens.issue(hostile_rt, username="chuyen_vien_1", name="Cổng DVC")
    assert hostile_client.post(f"/api/v1/work-items/{review['id']}/claim", headers=bearer(token)).status_code == 200
    events = _events(hostile_rt)

    clock.advance(timedelta(seconds=5))
    renamed(hostile_rt, record.id)
    done = hostile_client.post(
        f"/api/v1/work-items/{review['id']}/complete", json={"data": {"hop_le": True}}, headers=bearer(token)
    )

    assert done.status_code == 200, done.json
    with hostile_rt.db.read_session() as s:
        step = s.get(WorkItemRecord, review["id"])
        assert (step.state, step.completed_by) == ("completed", "chuyen_vien_1")
        completions = s.scalar(
            select(func.count()).select_from(AuditEventRecord).where(AuditEventRecord.action == "complete")
        )
    assert completions == 2 and _events(hostile_rt) > events  # the reception's and this one, written once


@pytest.mark.postgres
def test_a_kept_tokens_lookup_travels_with_the_changes_first_statement(postgres_runtime, clock, tmp_path):
    """On PostgreSQL the token is checked in the change's first statement, which the transaction's
    BEGIN goes with in one network wait, once the token's use is recorded within the minute."""
    rt = postgres_runtime
    add_web_users(rt)
    app = make_app(rt, clock, COUNT_SQL=True, MOTCUA_DOCUMENTS_DIR=str(tmp_path / "documents"))
    client = app.test_client()
    try:
        definition = deploy_fixture(rt, "five_steps")
        _, token = api_tokens.issue(rt, username="mot_cua_1", name="Cổng DVC")
        body = {"definition_id": definition.id, "unit_code": "00070", "applicant": APPLICANT}
        started = client.post("/api/v1/dossiers", json=body, headers=bearer(token))
        [first] = started.json["current_steps"]
        claimed = client.post(f"/api/v1/work-items/{first['id']}/claim", headers=bearer(token))
        completed = client.post(f"/api/v1/work-items/{first['id']}/complete", json={"data": {}}, headers=bearer(token))
        again = client.post("/api/v1/dossiers", json=body, headers=bearer(token))
        assert [a.status_code for a in (started, claimed, completed, again)] == [201, 200, 200, 201]
        # The first start looks the token up alone (its first use here), and psycopg sends its
        # BEGIN; then each change's first statement checks the token itself and waits with its
        # BEGIN (a start's: the template version's read; a completion's: the step's read; a
        # claim's: its guarded write, with its COMMIT too).
        assert [_travelling_together(a) for a in (started, claimed, completed, again)] == [0, 2, 1, 1]
    finally:
        close_app(app)


def _travelling_together(answer) -> int:
    """How many of a request's statements waited on the database with another one."""
    return int(answer.headers["X-Motcua-Statements"]) - int(answer.headers["X-Motcua-Waits"])
