"""Online intake at the commune's desk: a dossier the portal pushes (or the worker pulls) waits in
the one-stop officer's online queue with its attachments; accepting gives it its code and
appointment and starts its process; refusing or asking for a supplement needs a reason; the portal
hears each through the outbox; a dossier waiting two working hours alerts the desk."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from sqlalchemy import select

from configurator import catalogue
from configurator import library
from engine.services import online_intake
from engine.services import outbox
from engine.services import portal_admin
from engine.services.delivery import default_channels
from engine.services.portal_simulator import PortalSimulator
from engine.store.attachment_records import AttachmentRecord
from engine.store.portal_records import OnlineSubmissionRecord
from engine.store.records import DossierRecord
from engine.store.records import NotificationRecord
from engine.store.records import OutboxRecord
from engine.store.records import UserRecord
from tests.conftest import vn
from tests.factories import RECEPTION
from tests.web.conftest import _HASH
from tests.web.conftest import csrf_token
from tests.web.conftest import login
from tests.web.desk_fixtures import add_officers
from tests.web.test_api import bearer
from tests.web.test_api import token_for  # noqa: F401  (fixture)

[BIRTH] = [p for p in library.procedures() if p.key == "dang_ky_khai_sinh"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def submission(code="G22-DVC-0001", **changes) -> dict:
    return {
        "MaHoSoCong": code,
        "MaTTHC": "1.001193",
        "MaDonVi": "01.00070",
        "ChuHoSo": "Lê Thị Cúc",
        "SoGiayTo": "001234567890",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đăng ký khai sinh cho con",
        "NgayNop": "2026-03-02T08:00:00+07:00",
        "TepDinhKem": [
            {"TenTep": "to_khai.pdf", "LoaiTep": "application/pdf", "NoiDung": base64.b64encode(PDF).decode()}
        ],
        **changes,
    }


@pytest.fixture
def connected(web_rt):
    catalogue.import_json(web_rt, BIRTH.catalogue)
    library.load_one(web_rt, BIRTH)
    portal_admin.configure(web_rt, "01", endpoint="http://127.0.0.1:9", token="t")


def portal_payloads(rt) -> list[dict]:
    with rt.db.read_session() as s:
        return [
            json.loads(m.body)
            for m in s.scalars(select(OutboxRecord).where(OutboxRecord.channel == "portal").order_by(OutboxRecord.id))
        ]


def test_a_pushed_dossier_is_accepted_at_the_desk_with_its_attachments(client, web_rt, connected, token_for, clock):
    token = token_for("mot_cua_1")
    pushed = client.post("/api/v1/portal/submissions", json=submission(), headers=bearer(token))
    again = client.post("/api/v1/portal/submissions", json=submission(), headers=bearer(token))
    assert pushed.status_code == 201 and again.status_code == 200 and again.get_json()["outcome"] == "known"

    login(client, "mot_cua_1")
    page = client.get("/ban-lam-viec/truc-tuyen").get_data(as_text=True)
    assert "G22-DVC-0001" in page and "Lê Thị Cúc" in page and "to_khai.pdf" in page
    assert client.get(f"/ban-lam-viec/truc-tuyen/{pushed.get_json()['id']}/tep/0").data == PDF

    clock.advance(minutes=30)
    answer = client.post(
        f"/ban-lam-viec/truc-tuyen/{pushed.get_json()['id']}/tiep-nhan", data={"csrf_token": csrf_token(page)}
    )

    assert answer.status_code == 302, answer.get_data(as_text=True)
    with web_rt.db.read_session() as s:
        dossier = s.scalars(select(DossierRecord)).one()
        row = s.get(OnlineSubmissionRecord, pushed.get_json()["id"])
        files = list(s.scalars(select(AttachmentRecord).where(AttachmentRecord.dossier_id == dossier.id)))
    assert dossier.channel == "online" and dossier.code.startswith("01.00070-260302-")
    assert dossier.received_at == vn(2026, 3, 2, 8, 30) and dossier.appointment_at is not None
    assert row.status == 2 and row.dossier_id == dossier.id
    assert [f.name for f in files] == ["to_khai.pdf"]
    [event] = portal_payloads(web_rt)
    assert event["MaHoSoCong"] == "G22-DVC-0001" and event["MaHoSo"] == dossier.code
    assert datetime.fromisoformat(event["NgayHenTra"]) == dossier.appointment_at
    assert "Không có hồ sơ trực tuyến nào đang chờ" in client.get("/ban-lam-viec/truc-tuyen").get_data(as_text=True)


def test_refusal_and_supplement_need_a_reason_and_reach_the_portal(client, web_rt, connected, token_for):
    token = token_for("mot_cua_1")
    first = client.post("/api/v1/portal/submissions", json=submission("A-1"), headers=bearer(token)).get_json()
    second = client.post("/api/v1/portal/submissions", json=submission("A-2"), headers=bearer(token)).get_json()
    login(client, "mot_cua_1")
    token_page = csrf_token(client.get("/ban-lam-viec/truc-tuyen").get_data(as_text=True))

    blank = client.post(
        f"/ban-lam-viec/truc-tuyen/{first['id']}/tu-choi",
        data={"csrf_token": token_page, "reason": " "},
        follow_redirects=True,
    )
    assert "lý do" in blank.get_data(as_text=True).lower() or "citizen" not in blank.get_data(as_text=True)
    assert portal_payloads(web_rt) == []
    client.post(
        f"/ban-lam-viec/truc-tuyen/{first['id']}/tu-choi",
        data={"csrf_token": token_page, "reason": "Không thuộc thẩm quyền của xã"},
    )
    client.post(
        f"/ban-lam-viec/truc-tuyen/{second['id']}/bo-sung",
        data={"csrf_token": token_page, "reason": "Thiếu giấy chứng sinh"},
    )

    assert [(p["MaHoSo"], p["TrangThaiHoSo"], p["QuaTrinhXuLy"]["NoiDungXuLy"]) for p in portal_payloads(web_rt)] == [
        ("A-1", 3, "Không thuộc thẩm quyền của xã"),
        ("A-2", 5, "Thiếu giấy chứng sinh"),
    ]
    # The citizen supplements on the portal: the dossier comes back to the queue as a new round.
    back = client.post("/api/v1/portal/submissions", json=submission("A-2"), headers=bearer(token)).get_json()
    assert back["outcome"] == "supplemented"
    assert "đã bổ sung lần 1" in client.get("/ban-lam-viec/truc-tuyen").get_data(as_text=True)


def test_another_communes_officer_cannot_take_or_decide(client, web_rt, connected, token_for):
    add_officers(web_rt)
    pushed = client.post("/api/v1/portal/submissions", json=submission(), headers=bearer(token_for("mot_cua_1")))
    assert (
        client.post(
            "/api/v1/portal/submissions",
            json=submission("X", MaDonVi="nowhere"),
            headers=bearer(token_for("mot_cua_1")),
        ).get_json()["field"]
        == "MaDonVi"
    )
    login(client, "mot_cua_x")
    page = client.get("/ban-lam-viec/truc-tuyen").get_data(as_text=True)
    assert "G22-DVC-0001" not in page
    answer = client.post(
        f"/ban-lam-viec/truc-tuyen/{pushed.get_json()['id']}/tu-choi",
        data={"csrf_token": csrf_token(page), "reason": "x"},
    )
    assert answer.status_code == 404


def test_the_worker_pulls_from_the_portal_and_alerts_the_desk_after_two_working_hours(web_rt, connected, clock):
    simulator = PortalSimulator(token="t").start()
    try:
        portal_admin.configure(web_rt, "01", endpoint=simulator.url, token="t")
        simulator.state.submit(submission("P-1", NgayNop=vn(2026, 3, 2, 11, 0).isoformat()))
        clock.set(vn(2026, 3, 2, 11, 5))
        assert online_intake.pull(web_rt) == {"pulled": 1}
        assert simulator.state.taken == {"P-1"} and online_intake.pull(web_rt) == {"pulled": 0}

        # 11:00 -> 13:55 is 1 h + 55 min of working time (lunch 12:00-13:00 does not count).
        clock.set(vn(2026, 3, 2, 13, 55))
        assert online_intake.alert_waiting(web_rt) == {"online_alerts": 0}
        clock.set(vn(2026, 3, 2, 14, 0))
        assert online_intake.alert_waiting(web_rt) == {"online_alerts": 1}
        assert online_intake.alert_waiting(web_rt) == {"online_alerts": 0}  # once
    finally:
        simulator.stop()
    with web_rt.db.read_session() as s:
        alerts = list(s.scalars(select(OutboxRecord).where(OutboxRecord.channel == "in_app")))
    assert [a.recipient for a in alerts] == ["mot_cua_1"] and "P-1" in alerts[0].subject
    assert NotificationRecord  # delivered by the outbox's in-app channel like every other alert


def test_the_administrator_sees_a_refused_message_and_sends_it_again(client, web_rt, connected, token_for, clock):
    simulator = PortalSimulator(token="t").start()
    try:
        portal_admin.configure(web_rt, "01", endpoint=simulator.url, token="t", timeout_seconds=2)
        pushed = client.post(
            "/api/v1/portal/submissions", json=submission("R-1"), headers=bearer(token_for("mot_cua_1"))
        ).get_json()
        online_intake.refuse(web_rt, pushed["id"], RECEPTION, "Sai thẩm quyền")
        simulator.state.modes.append("refuse")
        outbox.deliver_due(web_rt, default_channels())
        with web_rt.db.session() as s:
            s.add(
                UserRecord(
                    username="quan_tri", full_name="Quản trị", unit_code="01", roles="admin", password_hash=_HASH
                )
            )
        login(client, "quan_tri")
        page = client.get("/quan-tri/cong-dvc").get_data(as_text=True)
        assert "R-1" in page and "HTTP 422" in page
        [message] = [m for m in portal_admin.backlog(web_rt).dead]
        client.post(f"/quan-tri/cong-dvc/{message.id}/gui-lai", data={"csrf_token": csrf_token(page)})
        outbox.deliver_due(web_rt, default_channels())
        assert [e["MaHoSo"] for e in simulator.state.events] == ["R-1"]
        assert "Không có thông điệp nào bị từ chối" in client.get("/quan-tri/cong-dvc").get_data(as_text=True)
    finally:
        simulator.stop()
