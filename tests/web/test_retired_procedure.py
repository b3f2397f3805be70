"""A retired procedure is no longer offered at reception: the desk's procedure choice leaves it out
and refuses it, the API's start and the portal's submissions are refused naming its code, and an
online submission already waiting can only be refused (its card says why)."""

from __future__ import annotations

from sqlalchemy import select

from engine.store import queries
from engine.store.records import DossierRecord
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.test_api import bearer
from tests.web.test_api import start
from tests.web.test_api import token_for  # noqa: F401  (fixture)
from tests.web.test_online_intake import connected  # noqa: F401  (fixture)
from tests.web.test_online_intake import submission

KEY = "dang_ky_khai_sinh"


REFUSAL = "Thủ tục 1.001193 (Đăng ký khai sinh) đã ngừng áp dụng trong danh mục: không tiếp nhận hồ sơ mới."


def logout(client) -> None:
    page = client.get("/").get_data(as_text=True)
    client.post("/dang-xuat", data={"csrf_token": csrf_token(page)})


def retire(client) -> None:
    """The modeller retires the entry on the catalogue's web page."""
    login(client, "mo_hinh")
    page = client.get(f"/mo-hinh/danh-muc/{KEY}").get_data(as_text=True)
    answer = client.post(f"/mo-hinh/danh-muc/{KEY}/ngung-ap-dung", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 302
    logout(client)


def birth_definition_id(web_rt) -> int:
    with web_rt.db.read_session() as s:
        return queries.latest_published(s, KEY).id


def test_the_desk_no_longer_offers_a_retired_procedure_and_refuses_it(client, web_rt, connected):  # noqa: F811
    definition_id = birth_definition_id(web_rt)
    login(client, "mot_cua_1")
    assert f'value="{definition_id}"' in client.get("/ban-lam-viec/tiep-nhan").get_data(as_text=True)
    logout(client)
    retire(client)

    login(client, "mot_cua_1")
    page = client.get("/ban-lam-viec/tiep-nhan").get_data(as_text=True)
    assert f'value="{definition_id}"' not in page
    answer = client.post(
        "/ban-lam-viec/tiep-nhan",
        data={
            "csrf_token": csrf_token(page),
            "definition_id": str(definition_id),
            "applicant_name": "Lê Thị Cúc",
            "unit_code": "00070",
            "channel": "counter",
            "ket_qua": "tiep_nhan",
        },
    )
    assert answer.status_code == 422
    with web_rt.db.read_session() as s:
        assert s.scalars(select(DossierRecord)).all() == []


def test_the_api_and_the_portal_are_refused_naming_the_procedure_code(client, web_rt, connected, token_for):  # noqa: F811
    token = token_for("mot_cua_1")
    running = start(client, token)
    waiting = client.post("/api/v1/portal/submissions", json=submission("G22-DVC-0001"), headers=bearer(token))
    assert running.status_code == 201 and waiting.status_code == 201
    retire(client)

    refused = start(client, token)
    assert refused.status_code == 422 and refused.json["message"] == REFUSAL, refused.json
    pushed = client.post("/api/v1/portal/submissions", json=submission("G22-DVC-0002"), headers=bearer(token))
    assert pushed.status_code == 422 and pushed.json["field"] == "MaTTHC" and pushed.json["message"] == REFUSAL
    # The dossier started before still answers, running.
    assert client.get(f"/api/v1/dossiers/{running.json['code']}", headers=bearer(token)).status_code == 200

    login(client, "mot_cua_1")
    page = client.get("/ban-lam-viec/truc-tuyen").get_data(as_text=True)
    assert "G22-DVC-0001" in page and "đã ngừng áp dụng" in page
    assert f"/truc-tuyen/{waiting.json['id']}/tiep-nhan" not in page  # no accept button: only a refusal
    accepted = client.post(
        f"/ban-lam-viec/truc-tuyen/{waiting.json['id']}/tiep-nhan",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=True,
    )
    assert REFUSAL in accepted.get_data(as_text=True)
    with web_rt.db.read_session() as s:
        assert len(s.scalars(select(DossierRecord)).all()) == 1
