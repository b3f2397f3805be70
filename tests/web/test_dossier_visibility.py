"""Who may see a dossier is one rule (engine.domain.assignment.Actor.may_see_dossier), and the desk
and the API answer it alike: the dossier's commune sees it, and so does the one-stop office that
received it for that commune (Decree 118: receipt regardless of the commune's boundary); another
commune's officers get the answer an unknown dossier gets."""

from __future__ import annotations

from engine.services import dossiers
from tests.factories import LEADER
from tests.factories import OTHER_COMMUNE
from tests.factories import RECEPTION
from tests.factories import deploy_fixture
from tests.web.conftest import login
from tests.web.test_api import bearer
from tests.web.test_api import token_for  # noqa: F401  (a fixture)


def _start(web_rt, definition, *, unit_code: str, received_by: str | None):
    applicant = {"name": "Phạm Thị Dung", **({"received_unit": received_by} if received_by else {})}
    return dossiers.start_dossier(
        web_rt,
        definition_id=definition.id,
        unit_code=unit_code,
        applicant_name=applicant["name"],
        applicant=applicant,
        actor=OTHER_COMMUNE if received_by is None else RECEPTION,
    )


def test_the_receiving_office_sees_the_dossier_it_received_for_another_commune_on_the_desk_and_the_api(
    client,
    web_rt,
    token_for,  # noqa: F811
):
    definition = deploy_fixture(web_rt, "five_steps")
    for_cua_nam = _start(web_rt, definition, unit_code="00073", received_by="00070")
    cua_nam_own = _start(web_rt, definition, unit_code="00073", received_by=None)
    hoan_kiem = token_for(RECEPTION.username)
    login(client, RECEPTION.username)

    def seen(dossier) -> tuple[int, int]:
        desk = client.get(f"/ban-lam-viec/ho-so/{dossier.id}").status_code
        api = client.get(f"/api/v1/dossiers/{dossier.code}", headers=bearer(hoan_kiem)).status_code
        return desk, api

    assert seen(for_cua_nam) == (200, 200)  # the API answered 404 here before the rule was shared
    assert seen(cua_nam_own) == (404, 404)


def test_the_dossiers_own_commune_sees_it_wherever_it_was_received(client, web_rt, token_for):  # noqa: F811
    definition = deploy_fixture(web_rt, "five_steps")
    received_elsewhere = _start(web_rt, definition, unit_code="00073", received_by="00070")
    login(client, OTHER_COMMUNE.username)
    token = token_for(OTHER_COMMUNE.username)
    assert client.get(f"/ban-lam-viec/ho-so/{received_elsewhere.id}").status_code == 200
    answer = client.get(f"/api/v1/dossiers/{received_elsewhere.code}", headers=bearer(token))
    assert answer.status_code == 200 and answer.json["unit_code"] == "00073"


def test_the_stop_is_offered_to_whom_the_engine_lets_stop_the_dossier(app, web_rt):
    """The desk asks the engine's rule (Actor.may_stop_dossier, FINISHED_RUN_STATES): the one-stop
    desk and the leaders of the dossier's unit, never a specialist, while the dossier is not over;
    a suspended dossier too (the desk offered the stop only for a running one before)."""
    definition = deploy_fixture(web_rt, "five_steps")
    dossier = _start(web_rt, definition, unit_code="00070", received_by="00070")

    def offered() -> dict[str, bool]:
        shown = {}
        for username in (RECEPTION.username, "chuyen_vien_1", LEADER.username):
            client = app.test_client()
            login(client, username)
            shown[username] = "Dừng xử lý hồ sơ" in client.get(f"/ban-lam-viec/ho-so/{dossier.id}").get_data(
                as_text=True
            )
        return shown

    may_stop = {RECEPTION.username: True, "chuyen_vien_1": False, LEADER.username: True}
    assert offered() == may_stop
    dossiers.suspend_dossier(web_rt, dossier.id, LEADER, "Chờ kết quả xác minh")
    assert offered() == may_stop
    dossiers.cancel_dossier(web_rt, dossier.id, RECEPTION, "Người nộp rút hồ sơ", withdrawn=True)
    assert set(offered().values()) == {False}
