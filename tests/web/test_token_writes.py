"""A token taken away between two writes over the API (revoked, or its user made inactive) is
refused at the very next one, on SQLite and PostgreSQL, and that request writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.services import api_tokens
from engine.services.runtime import Runtime
from engine.store.records import AuditEventRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from tests.factories import deploy_fixture
from tests.hostile.web_fixtures import close_app
from tests.web.conftest import add_web_users
from tests.web.conftest import make_app

APPLICANT = {"name": "Nguyễn Văn An", "id_number": "001234567890", "phone": "0912345678"}


@pytest.fixture
def any_rt(database, clock) -> Runtime:
    rt = Runtime(db=database, clock=clock)
    add_web_users(rt)
    return rt


@pytest.fixture
def client(any_rt, clock, tmp_path):
    app = make_app(any_rt, clock, MOTCUA_DOCUMENTS_DIR=str(tmp_path / "documents"))
    yield app.test_client()
    close_app(app)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def revoke(rt: Runtime, token_id: int) -> None:
    api_tokens.revoke(rt, token_id)


def deactivate(rt: Runtime, _token_id: int) -> None:
    with rt.db.session() as s:
        s.get(UserRecord, "chuyen_vien_1").active = False


@pytest.mark.parametrize("take_away", [revoke, deactivate])
def test_a_token_taken_away_after_a_claim_cannot_complete_the_step(any_rt, client, clock, take_away):
    definition = deploy_fixture(any_rt, "five_steps")
    _, reception = api_tokens.issue(any_rt, username="mot_cua_1", name="Cổng DVC")
    body = {"definition_id": definition.id, "unit_code": "00070", "applicant": APPLICANT}
    [first] = client.post("/api/v1/dossiers", json=body, headers=bearer(reception)).json["current_steps"]
    [review] = client.post(
        f"/api/v1/work-items/{first['id']}/complete", json={"data": {}}, headers=bearer(reception)
    ).json["current_steps"]
    record, token = api_tokens.issue(any_rt, username="chuyen_vien_1", name="Cổng DVC")
    assert client.post(f"/api/v1/work-items/{review['id']}/claim", headers=bearer(token)).status_code == 200
    events = _events(any_rt)

    clock.advance(timedelta(seconds=5))  # within the minute: the token's last use is not written again
    take_away(any_rt, record.id)
    refused = client.post(
        f"/api/v1/work-items/{review['id']}/complete", json={"data": {"hop_le": True}}, headers=bearer(token)
    )

    assert refused.status_code == 401 and "invalid_token" in refused.headers["WWW-Authenticate"]
    with any_rt.db.read_session() as s:
        step = s.get(WorkItemRecord, review["id"])
        assert (step.state, step.assignee) == ("claimed", "chuyen_vien_1")
    assert _events(any_rt) == events


def _events(rt: Runtime) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AuditEventRecord))
