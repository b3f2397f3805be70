"""The administrator manages accounts and calendar days; nobody else can, and bad input saves nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.store import calendar_records
from engine.store.calendar_records import CalendarOverrideRecord
from engine.store.records import AuditEventRecord
from engine.store.records import UserRecord
from tests.web.conftest import _HASH
from tests.web.conftest import csrf_token
from tests.web.conftest import login


@pytest.fixture
def admin(client, web_rt):
    with web_rt.db.session() as s:
        s.add(UserRecord(username="quan_tri", full_name="Quản trị", unit_code="01", roles="admin", password_hash=_HASH))
    login(client, "quan_tri")
    return client


def _post(client, url, data):
    token = csrf_token(client.get("/quan-tri/nguoi-dung").get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_the_admin_creates_an_officer_who_can_then_sign_in(admin, app, web_rt):
    answer = _post(
        admin,
        "/quan-tri/nguoi-dung/moi",
        {
            "username": "chuyen_vien_3",
            "full_name": "Trần Văn Ba",
            "unit_code": "00070",
            "roles": ["tu_phap_ho_tich"],
            "password": "mat-khau-dai-du",
            "active": "on",
        },
    )
    assert answer.status_code == 302
    with web_rt.db.read_session() as s:
        created = s.get(UserRecord, "chuyen_vien_3")
        audited = s.scalar(select(AuditEventRecord).where(AuditEventRecord.action == "user.create"))
    assert created.role_set == {"tu_phap_ho_tich"} and created.password_hash != "mat-khau-dai-du"
    assert audited.actor == "quan_tri" and audited.receiver == "chuyen_vien_3"
    assert login(app.test_client(), "chuyen_vien_3", "mat-khau-dai-du").status_code == 302


def test_a_bad_account_names_the_field_and_saves_nothing(admin, web_rt):
    taken = _post(
        admin,
        "/quan-tri/nguoi-dung/moi",
        {
            "username": "lanh_dao_1",
            "full_name": "X",
            "unit_code": "00070",
            "roles": ["lanh_dao"],
            "password": "mat-khau-dai-du",
        },
    )
    assert taken.status_code == 422 and "đã có" in taken.get_data(as_text=True)
    short = _post(
        admin,
        "/quan-tri/nguoi-dung/moi",
        {"username": "moi_1", "full_name": "Y", "unit_code": "00070", "roles": ["lanh_dao"], "password": "ngan"},
    )
    assert short.status_code == 422 and "ít nhất 10 ký tự" in short.get_data(as_text=True)
    with web_rt.db.read_session() as s:
        assert s.get(UserRecord, "moi_1") is None


def test_a_day_off_added_by_the_admin_moves_new_appointments_and_can_be_removed(admin, web_rt):
    answer = _post(
        admin,
        "/quan-tri/lich",
        {
            "ma": "00070",
            "date_from": "2026-03-03",
            "date_to": "2026-03-03",
            "kind": "off",
            "note": "Thông báo số 12/TB-UBND (thử)",
        },
    )
    assert answer.status_code == 302
    page = admin.get("/quan-tri/lich?ma=00070&thang=2026-03").get_data(as_text=True)
    assert "Thông báo số 12/TB-UBND (thử)" in page
    with web_rt.db.read_session() as s:
        assert not calendar_records.load_calendar(s, ["00070", "01", "VN"]).is_working_day(date(2026, 3, 3))
        record = s.scalar(select(CalendarOverrideRecord))
    bad = _post(
        admin,
        "/quan-tri/lich",
        {"ma": "00070", "date_from": "2026-03-05", "date_to": "2026-03-04", "kind": "off", "note": "ngược"},
    )
    assert bad.status_code == 422 and "trước ngày bắt đầu" in bad.get_data(as_text=True)
    assert _post(admin, f"/quan-tri/lich/{record.id}/xoa", {}).status_code == 302
    with web_rt.db.read_session() as s:
        assert s.scalar(select(CalendarOverrideRecord)) is None


def test_officers_and_supervisors_cannot_open_the_admin_pages(client):
    login(client, "lanh_dao_1")
    assert client.get("/quan-tri/nguoi-dung").status_code == 403
    assert client.get("/quan-tri/lich").status_code == 403
