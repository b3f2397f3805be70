"""Another agency's system moves a waiting step of an interconnected procedure forward through the
API: a BPMN message to the dossier, with a token and an Idempotency-Key (the same key twice does
the work once and answers the same; another request under the key is a 409)."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.services import dossiers
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from tests.portal.lien_thong import ANSWER
from tests.portal.lien_thong import BIRTH_KEY
from tests.portal.lien_thong import MESSAGE
from tests.portal.lien_thong import SYSTEM
from tests.portal.lien_thong import bring_to_police_step
from tests.portal.lien_thong import deploy_library
from tests.portal.lien_thong import deploy_with_police_system
from tests.portal.lien_thong import open_step
from tests.portal.lien_thong import work_until_waiting
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
    body = {"message": MESSAGE, "payload": ANSWER}
    headers = {**bearer(token), "Idempotency-Key": "ca-xa-2026-0001"}
    waiting_now = client.get(f"/api/v1/dossiers/{waiting.code}", headers=bearer(token)).get_json()
    assert waiting_now["current_steps"] == [] and waiting_now["status"] == 4

    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)

    assert first.status_code == 200, first.get_json()
    assert [s["element_id"] for s in first.get_json()["current_steps"]] == ["tra_ket_qua"]
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert messages_received(web_rt, waiting.id) == 1
    assert open_step(web_rt, waiting.id).element_id == "tra_ket_qua"

    other = client.post(url, json={"message": MESSAGE, "payload": {**ANSWER, "so_van_ban": "999"}}, headers=headers)
    assert other.status_code == 409 and other.get_json()["field"] == "Idempotency-Key"

    # What the police answered is the dossier's data, under the step that waited for it.
    data = client.get(f"/api/v1/dossiers/{waiting.code}/data", headers=bearer(token)).get_json()
    [answered] = [step for step in data if step["step"] == "xoa_thuong_tru"]
    [entry] = answered["entries"]
    assert entry["work_item_id"] is None and entry["completed_by"] == "lanh_dao_1"
    assert {f["label"]: f["shown"] for f in entry["fields"]}["Số văn bản / mã hồ sơ bên phối hợp"] == "123/CAX"


def test_an_answer_that_does_not_fit_the_steps_form_is_refused_naming_the_field(client, web_rt, waiting, token_for):
    url = f"/api/v1/interagency/dossiers/{waiting.code}/events"
    wrong = client.post(
        url, json={"message": MESSAGE, "payload": {"ket_qua": "xong"}}, headers=bearer(token_for("lanh_dao_1"))
    )
    assert wrong.status_code == 422 and wrong.get_json()["field"] == "payload.ket_qua"
    assert messages_received(web_rt, waiting.id) == 0


def test_the_answer_to_a_dossier_not_yet_waiting_for_it_is_refused(client, web_rt, token_for):
    definition = deploy_with_police_system(web_rt)
    early = dossiers.start_dossier(
        web_rt, definition_id=definition.id, unit_code="00070", applicant_name="Lê Văn C", actor=SYSTEM
    )
    answer = client.post(
        f"/api/v1/interagency/dossiers/{early.code}/events",
        json={"message": MESSAGE, "payload": ANSWER},
        headers={**bearer(token_for("lanh_dao_1")), "Idempotency-Key": "early-1"},
    )
    assert answer.status_code == 409 and MESSAGE in answer.get_json()["message"]
    assert open_step(web_rt, early.id).element_id == "tiep_nhan" and messages_received(web_rt, early.id) == 0


def test_a_birth_waits_for_the_police_then_for_social_insurance(client, web_rt, token_for):
    definition = deploy_library(web_rt, BIRTH_KEY)
    birth = dossiers.start_dossier(
        web_rt, definition_id=definition.id, unit_code="00070", applicant_name="Phạm Thị D", actor=SYSTEM
    )
    work_until_waiting(web_rt, birth, [{"ket_qua": "tiep_nhan"}, {"ket_qua": "dat"}, {"ket_qua": "duyet"}])
    url = f"/api/v1/interagency/dossiers/{birth.code}/events"
    headers = bearer(token_for("lanh_dao_1"))

    too_soon = client.post(
        url, json={"message": "da_cap_the_bhyt", "payload": {"ket_qua": "hoan_thanh"}}, headers=headers
    )
    assert too_soon.status_code == 409  # social insurance answers after the police
    police = {"ket_qua": "hoan_thanh", "so_van_ban": "TT-2026-77"}
    assert (
        client.post(url, json={"message": "da_dang_ky_thuong_tru", "payload": police}, headers=headers).status_code
        == 200
    )
    assert open_step(web_rt, birth.id) is None  # waits for social insurance now
    card = {"ket_qua": "hoan_thanh", "ma_the_bhyt": "TE1010123456789"}
    done = client.post(url, json={"message": "da_cap_the_bhyt", "payload": card}, headers=headers)
    assert done.status_code == 200 and [s["element_id"] for s in done.get_json()["current_steps"]] == ["tra_ket_qua"]
    data = client.get(f"/api/v1/dossiers/{birth.code}/data", headers=headers).get_json()
    shown = {f["name"]: f["shown"] for step in data for entry in step["entries"] for f in entry["fields"]}
    assert shown["ma_the_bhyt"] == "TE1010123456789" and shown["so_van_ban"] == "TT-2026-77"


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


def test_the_desk_shows_what_the_dossier_waits_for_then_the_answer(client, web_rt, waiting, token_for):
    from tests.web.conftest import login

    token = token_for("lanh_dao_1")
    login(client, "mot_cua_1")
    page = f"/ban-lam-viec/ho-so/{waiting.id}"
    before = client.get(page).get_data(as_text=True)
    assert "Đang chờ cơ quan phối hợp trả lời" in before and "Chờ Công an xã xóa đăng ký thường trú" in before
    url = f"/api/v1/interagency/dossiers/{waiting.code}/events"
    assert client.post(url, json={"message": MESSAGE, "payload": ANSWER}, headers=bearer(token)).status_code == 200
    after = client.get(page).get_data(as_text=True)
    assert "Đang chờ cơ quan phối hợp trả lời" not in after and "123/CAX" in after
