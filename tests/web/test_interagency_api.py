"""Another agency's system moves a waiting step of an interconnected procedure forward through the
API: a BPMN message to the dossier, with a token and an Idempotency-Key (the same key twice does
the work once and answers the same; another request under the key is a 409)."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from tests.portal.lien_thong import MESSAGE
from tests.portal.lien_thong import bring_to_police_step
from tests.portal.lien_thong import deploy_with_police_system
from tests.portal.lien_thong import open_step
from tests.web.test_api import bearer
from tests.web.test_api import token_for  # noqa: F401  (fixture)


@pytest.fixture
def waiting(web_rt):
    return bring_to_police_step(web_rt, deploy_with_police_system(web_rt))


def messages_received(rt, dossier_id) -> int:
    with rt.db.read_session() as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditEventRecord)
            .where(AuditEventRecord.dossier_id == dossier_id, AuditEventRecord.action == "message")
        )


def test_the_police_systems_message_moves_the_waiting_step_once_per_key(client, web_rt, waiting, token_for):
    token = token_for("lanh_dao_1")
    url = f"/api/v1/interagency/dossiers/{waiting.code}/events"
    body = {"message": MESSAGE, "payload": {"so_van_ban_cong_an": "123/CAX"}}
    headers = {**bearer(token), "Idempotency-Key": "ca-xa-2026-0001"}

    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)

    assert first.status_code == 200, first.get_json()
    assert [s["element_id"] for s in first.get_json()["current_steps"]] == ["tra_ket_qua"]
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert messages_received(web_rt, waiting.id) == 1
    assert open_step(web_rt, waiting.id).element_id == "tra_ket_qua"

    other = client.post(url, json={"message": MESSAGE, "payload": {"so_van_ban_cong_an": "999"}}, headers=headers)
    assert other.status_code == 409 and other.get_json()["field"] == "Idempotency-Key"


def test_a_message_nothing_waits_for_is_refused_and_the_same_refusal_repeats(client, web_rt, waiting, token_for):
    token = token_for("lanh_dao_1")
    url = f"/api/v1/interagency/dossiers/{waiting.code}/events"
    headers = {**bearer(token), "Idempotency-Key": "k-1"}

    first = client.post(url, json={"message": "khong_co"}, headers=headers)
    again = client.post(url, json={"message": "khong_co"}, headers=headers)

    assert first.status_code == 409 and again.status_code == 409 and again.get_json() == first.get_json()
    with web_rt.db.read_session() as s:
        assert s.get(DossierRecord, waiting.id).status == 4


def test_writes_need_a_token_and_a_visible_dossier(client, web_rt, waiting, token_for):
    url = f"/api/v1/interagency/dossiers/{waiting.code}/events"
    assert client.post(url, json={"message": MESSAGE}).status_code == 401
    other_commune = token_for("chuyen_vien_x")
    assert client.post(url, json={"message": MESSAGE}, headers=bearer(other_commune)).status_code == 404
    assert client.post(url, json={"message": MESSAGE, "signal": "x"}, headers=bearer(other_commune)).status_code == 422
