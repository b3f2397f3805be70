"""Attack: a token keeps working after what it acts as has changed: revoked, its user locked, or
their roles or unit taken away. Outcome: each change is honoured at the very next request, on
SQLite and PostgreSQL, wherever the last use was recorded (the token's holder is read with every
request, in one statement; a claim's or completion's on PostgreSQL with the change's first
statement, its account kept in memory only until that read says otherwise)."""

from __future__ import annotations

from dataclasses import replace

from engine.domain.assignment import Actor
from engine.services import administration
from engine.services import api_tokens
from engine.services.administration import Account
from tests.hostile.web_fixtures import bearer
from tests.hostile.web_fixtures import desk_token  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_app  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_client  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import hostile_rt  # noqa: F401  (fixture)
from tests.hostile.web_fixtures import start_body

ADMIN = Actor("quan_tri", frozenset({"admin"}), "01")
DESK = Account("mot_cua_1", "mot_cua_1", "00070", ("mot_cua",))


def change(rt, account: Account) -> None:
    administration.update_user(rt, ADMIN, account)


def test_a_revoked_token_is_refused_at_the_next_request(hostile_client, hostile_rt, clock):
    record, token = api_tokens.issue(hostile_rt, username="mot_cua_1", name="Cổng DVC")
    assert hostile_client.get("/api/v1/procedures", headers=bearer(token)).status_code == 200
    clock.advance(seconds=5)  # within the minute: its last use is not written again
    api_tokens.revoke(hostile_rt, record.id)
    assert hostile_client.get("/api/v1/procedures", headers=bearer(token)).status_code == 401
    clock.advance(minutes=2)
    assert hostile_client.get("/api/v1/procedures", headers=bearer(token)).status_code == 401


def test_a_locked_users_token_is_refused_and_works_again_once_unlocked(hostile_client, hostile_rt, clock, desk_token):
    assert hostile_client.get("/api/v1/procedures", headers=bearer(desk_token)).status_code == 200
    clock.advance(seconds=5)
    change(hostile_rt, replace(DESK, active=False))
    refused = hostile_client.get("/api/v1/procedures", headers=bearer(desk_token))
    assert refused.status_code == 401
    clock.advance(minutes=2)
    change(hostile_rt, DESK)
    assert hostile_client.get("/api/v1/procedures", headers=bearer(desk_token)).status_code == 200


def test_roles_taken_away_are_taken_from_the_token_at_once(hostile_client, hostile_rt, clock, desk_token):
    first, second = (
        hostile_client.post("/api/v1/dossiers", json=start_body(), headers=bearer(desk_token)).json["current_steps"][0]
        for _ in range(2)
    )
    assert first["role"] == "mot_cua"
    claimed = hostile_client.post(f"/api/v1/work-items/{first['id']}/claim", headers=bearer(desk_token))
    assert claimed.status_code == 200
    clock.advance(seconds=5)
    change(hostile_rt, replace(DESK, roles=("chuyen_vien",)))
    refused = hostile_client.post(f"/api/v1/work-items/{second['id']}/claim", headers=bearer(desk_token))
    assert refused.status_code == 403


def test_a_user_moved_to_another_unit_no_longer_sees_the_old_ones_dossiers(
    hostile_client, hostile_rt, clock, desk_token
):
    started = hostile_client.post("/api/v1/dossiers", json=start_body(), headers=bearer(desk_token))
    code = started.json["code"]
    assert hostile_client.get(f"/api/v1/dossiers/{code}", headers=bearer(desk_token)).status_code == 200
    clock.advance(seconds=5)
    change(hostile_rt, replace(DESK, unit_code="00073"))
    assert hostile_client.get(f"/api/v1/dossiers/{code}", headers=bearer(desk_token)).status_code == 404
