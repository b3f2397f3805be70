"""The overview and the citizen's lookup: status and appointment, nothing that leaks other codes."""

from __future__ import annotations

import pytest

from engine.services import dossiers
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture
from web.app import create_app


@pytest.fixture
def client(sqlite_database, clock):
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": sqlite_database.url, "MOTCUA_CLOCK": clock, "SECRET_KEY": "test"}
    )
    return app.test_client()


@pytest.fixture
def received(client, sqlite_database, clock):
    from engine.services.runtime import Runtime

    rt = Runtime(db=sqlite_database, clock=clock)
    add_units(rt)
    definition = deploy_fixture(rt, "five_steps", name="Thủ tục thử")
    return dossiers.start_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn Bí Mật",
        actor=RECEPTION,
        applicant={"name": "Nguyễn Văn Bí Mật", "phone": "0912 345 678"},
    )


def look_up(client, code: str, digits: str = "5678") -> str:
    return client.get(f"/tra-cuu?ma={code}&so={digits}").get_data(as_text=True)


def test_lookup_shows_status_and_appointment_without_personal_data(client, received):
    page = look_up(client, received.code)
    assert received.code in page and "Thủ tục thử" in page and "Phường Hoàn Kiếm" in page
    assert "Được tiếp nhận" in page
    assert "17:00 ngày 04/03/2026" in page  # the appointment: 3 working days from Monday 08:00
    assert "Bí Mật" not in page


def test_unknown_and_malformed_codes_get_the_same_careful_answers(client, received):
    unknown = look_up(client, "01.00070-260302-9999")
    other_unit = look_up(client, "01.00073-260302-0001")
    assert "Không tìm thấy hồ sơ" in unknown and "Không tìm thấy hồ sơ" in other_unit
    assert "không đúng định dạng" in look_up(client, "<script>")


def test_overview_counts_dossiers_by_status(client, received):
    page = client.get("/").get_data(as_text=True)
    assert "Thủ tục thử" in page
    assert '2 · Được tiếp nhận</td><td class="num">1<' in page


def test_an_address_that_keeps_missing_is_made_to_wait_but_a_matching_lookup_is_always_answered(
    client, received, clock
):
    # Given strangers at the ward's shared computer who typed 30 unknown codes
    for n in range(30):
        assert "Không tìm thấy hồ sơ" in look_up(client, f"01.00070-260302-{n + 100:04d}")
    # the next miss is told to wait, but the family with its slip and phone digits is answered
    assert "quá nhiều lần" in look_up(client, "01.00070-260302-0200")
    assert "Được tiếp nhận" in look_up(client, received.code)
    # and the wait ends with the window: the misses have aged out
    clock.advance(minutes=11)
    assert "Không tìm thấy hồ sơ" in look_up(client, "01.00070-260302-0201")


def test_answered_lookups_do_not_count_against_the_address(client, received, clock):
    for _ in range(40):
        assert "Được tiếp nhận" in look_up(client, received.code)
    assert "Không tìm thấy hồ sơ" in look_up(client, "01.00070-260302-0300")


def test_a_code_whose_digits_were_walked_is_closed_to_typed_lookups_for_the_window(client, received, clock):
    for digits in range(1000, 1010):
        look_up(client, received.code, str(digits))
    assert "tra cứu sai nhiều lần" in look_up(client, received.code)
    clock.advance(minutes=11)
    assert "Được tiếp nhận" in look_up(client, received.code)


def test_a_finished_dossier_tells_the_citizen_where_to_collect_the_result(client, received, sqlite_database):
    from engine.domain.model import DossierStatus
    from engine.store.records import DossierRecord

    with sqlite_database.session() as s:
        s.get(DossierRecord, received.id).status = DossierStatus.PROCESSED.value
    page = look_up(client, received.code)
    assert "mang giấy hẹn đến Bộ phận Một cửa" in page
