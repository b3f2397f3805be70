"""The portal connector over real HTTP against the shipped simulator: every dossier and status
event reaches the portal once, in order per dossier, through a portal that is down, slow, answers
500, acknowledges twice or refuses a payload (dead letter, resent by an administrator)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.domain.assignment import Actor
from engine.services import dossiers
from engine.services import outbox
from engine.services import portal_admin
from engine.services import portal_reconcile
from engine.services.delivery import default_channels
from engine.services.portal_client import PortalUnavailable
from engine.services.portal_simulator import PortalSimulator
from engine.store.records import OutboxRecord
from tests.conftest import VN
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units
from tests.factories import deploy_fixture

ADMIN = Actor("quan_tri", frozenset({"admin"}), "01")


@pytest.fixture
def simulator():
    sim = PortalSimulator(token="secret-token").start()
    sim.state.slow_seconds = 1.5
    yield sim
    sim.stop()


@pytest.fixture
def connected(runtime, simulator):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    portal_admin.configure(
        runtime,
        "01",
        endpoint=simulator.url,
        token="secret-token",
        timeout_seconds=1,
        agency_ids={"00070": "G22.100.70"},
        platform_code="05",
    )
    return definition


def start(rt, definition):
    return dossiers.start_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        applicant={"phone": "0912345678"},
        actor=RECEPTION,
    )


def deliver(rt, clock, passes: int = 1):
    channels = default_channels()
    for _ in range(passes):
        outbox.deliver_due(rt, channels)
        clock.advance(hours=2)  # past any backoff


def portal_messages(rt):
    with rt.db.read_session() as s:
        return list(s.scalars(select(OutboxRecord).where(OutboxRecord.channel == "portal").order_by(OutboxRecord.id)))


def complete_first_step(rt, dossier_id):
    from engine.store.records import WorkItemRecord

    with rt.db.read_session() as s:
        item = s.scalars(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        ).first()
    dossiers.claim_work_item(rt, item.id, RECEPTION if item.role == "mot_cua" else SPECIALIST)
    dossiers.complete_work_item(rt, item.id, RECEPTION if item.role == "mot_cua" else SPECIALIST, {})


def test_each_dossier_event_reaches_the_portal_once_with_the_circular_4_code(runtime, clock, connected, simulator):
    dossier = start(runtime, connected)
    complete_first_step(runtime, dossier.id)

    deliver(runtime, clock)

    events = simulator.state.events
    assert len(events) == 2 and [m.status for m in portal_messages(runtime)] == ["sent", "sent"]
    first = events[0]
    # 01.00070-260302-0001 -> the portal agency id, the day, the platform's two digits, the sequence.
    assert first["MaHoSo"] == "G22.100.70-260302-050001" and first["MaHoSoNoiBo"] == dossier.code
    assert first["ChuHoSo"] == "Nguyễn Văn A" and first["SoDienThoai"] == "0912345678"
    assert first["NgayHenTra"] == "2026-03-04T17:00:00+07:00" == dossier.appointment_at.astimezone(VN).isoformat()
    assert first["QuaTrinhXuLy"]["NguoiXuLy"] == "mot_cua_1"
    assert events[1]["QuaTrinhXuLy"]["TrangThai"] == events[1]["TrangThaiHoSo"]


def test_down_slow_500_and_duplicate_acks_lose_nothing_and_count_once(runtime, clock, connected, simulator):
    dossier = start(runtime, connected)
    simulator.state.modes.extend(["error500", "slow"])
    deliver(runtime, clock)  # 500: retried later
    assert simulator.state.events == []
    deliver(runtime, clock)  # slow: the portal took it, our timeout did not wait for the answer
    assert len(simulator.state.events) == 1 and portal_messages(runtime)[0].status == "pending"
    complete_first_step(runtime, dossier.id)
    deliver(runtime, clock, passes=3)  # sent again: acknowledged as a duplicate; then the next event

    assert simulator.state.duplicates == 1
    assert [e["event_id"] for e in simulator.state.events] == [m.dedupe_key for m in portal_messages(runtime)]
    assert {m.status for m in portal_messages(runtime)} == {"sent"}


def test_a_portal_that_is_down_gets_everything_in_order_when_it_is_back(runtime, clock, connected, simulator):
    simulator.stop()
    dossier = start(runtime, connected)
    complete_first_step(runtime, dossier.id)
    deliver(runtime, clock, passes=2)
    assert {m.status for m in portal_messages(runtime)} == {"pending"}
    assert all(m.attempts <= 2 for m in portal_messages(runtime))

    back = PortalSimulator(port=int(simulator.url.rsplit(":", 1)[1]), token="secret-token").start()
    try:
        deliver(runtime, clock, passes=2)
        assert [e["event_id"] for e in back.state.events] == [m.dedupe_key for m in portal_messages(runtime)]
    finally:
        back.stop()


def test_a_refused_payload_is_a_dead_letter_that_holds_back_its_dossier_until_resent(
    runtime, clock, connected, simulator
):
    dossier = start(runtime, connected)
    simulator.state.modes.append("refuse")
    deliver(runtime, clock)
    complete_first_step(runtime, dossier.id)
    deliver(runtime, clock, passes=2)

    first, second = portal_messages(runtime)
    assert first.status == "dead" and "HTTP 422" in first.last_error and first.attempts == 1
    assert second.status == "pending" and second.attempts == 0  # waits behind the dead one, uses no attempt
    assert simulator.state.events == []
    assert [m.id for m in portal_admin.backlog(runtime).dead] == [first.id]

    portal_admin.resend(runtime, first.id, ADMIN)
    deliver(runtime, clock, passes=2)
    assert [e["event_id"] for e in simulator.state.events] == [first.dedupe_key, second.dedupe_key]


def test_reconciliation_lists_what_the_portal_lacks_or_holds_otherwise(runtime, clock, connected, simulator):
    synced, unsent = start(runtime, connected), None
    deliver(runtime, clock)
    simulator.state.modes.append("refuse")
    unsent = start(runtime, connected)
    deliver(runtime, clock)
    # The portal's copy of the synced one drifts (changed there by hand, say).
    code = simulator.state.events[0]["MaHoSo"]
    simulator.state.holdings[code] = {**simulator.state.holdings[code], "TrangThaiHoSo": 9}

    [report] = portal_reconcile.reconcile(runtime)

    assert report.ours == 2 and report.portal == 1
    assert [(d.code, d.what, d.ours, d.portal) for d in report.differences] == [
        (code, "status", str(synced.status), "9"),
        ("G22.100.70-260302-050002", "missing_at_portal", str(unsent.status), None),
    ]


def test_reconciliation_reads_both_sides_a_page_at_a_time(runtime, clock, connected, simulator):
    simulator.state.modes.append("refuse")
    unsent = start(runtime, connected)
    deliver(runtime, clock)
    for _ in range(4):
        start(runtime, connected)
    deliver(runtime, clock)
    held = sorted(simulator.state.holdings)
    assert len(held) == 4
    drifted = held[3]
    simulator.state.holdings[drifted] = {**simulator.state.holdings[drifted], "TrangThaiHoSo": 9}
    stranger = "G22.100.70-260301-059999"  # entered at the portal by hand, never ours
    simulator.state.holdings[stranger] = {"MaDonVi": "G22.100.70", "TrangThaiHoSo": 2}

    [report] = portal_reconcile.reconcile(runtime, page_size=2)

    assert simulator.state.held_pages >= 3  # 5 codes of this commune at the portal, 2 a page
    assert (report.ours, report.portal) == (5, 5)
    assert [(d.code, d.what) for d in report.differences] == [
        (stranger, "unknown_to_us"),
        ("G22.100.70-260302-050001", "missing_at_portal"),
        (drifted, "status"),
    ]
    assert unsent.code.endswith("-0001")
    assert [(d.code, d.what) for d in portal_reconcile.reconcile(runtime)[0].differences] == [
        (d.code, d.what) for d in report.differences
    ]  # the same in one page


def test_a_portal_listing_out_of_order_is_refused_not_misread(runtime, connected):
    class Unsorted:
        def dossier_page(self, agency_id, after, limit):
            return [{"MaHoSo": "G22.100.70-260302-050002"}, {"MaHoSo": "G22.100.70-260302-050001"}], None

    with pytest.raises(PortalUnavailable, match="ascending code order"):
        portal_reconcile.reconcile(runtime, client_for=lambda setting: Unsorted())


def test_bad_settings_are_refused_naming_the_setting(runtime, connected):
    from engine.domain.errors import InvalidAction

    with pytest.raises(InvalidAction, match="platform_code"):
        portal_admin.configure(runtime, "01", endpoint="http://x", token="t", platform_code="5")
    with pytest.raises(InvalidAction, match="status_map: 11 -> 4"):
        portal_admin.configure(runtime, "01", endpoint="http://x", token="t", status_map={"11": 4})
    with runtime.db.read_session() as s:
        from engine.store.portal_records import PortalSettingRecord

        assert s.get(PortalSettingRecord, "01").platform_code == "05"


def test_the_apology_sends_old_and_new_appointment_and_the_mapping_table_applies(runtime, clock, connected, simulator):
    from tests.conftest import vn
    from tests.factories import LEADER

    portal_admin.configure(
        runtime, "01", endpoint=simulator.url, token="secret-token", timeout_seconds=1, status_map={"2": 4}
    )  # this portal wants 'in processing' for a received dossier
    dossier = start(runtime, connected)
    clock.advance(hours=1)
    dossiers.reappoint_dossier(runtime, dossier.id, LEADER, vn(2026, 3, 6, 17, 0), "Chờ xác minh của Công an")
    deliver(runtime, clock)

    received, apology = simulator.state.events
    assert dossier.status == 2 and received["TrangThaiHoSo"] == 4 and received["DanhSachHoSoBoSung"] == []
    assert apology["DanhSachHoSoBoSung"] == [
        {
            "NgayHenTraTruoc": "2026-03-04T17:00:00+07:00",
            "NgayHenTraMoi": "2026-03-06T17:00:00+07:00",
            "LyDo": "Chờ xác minh của Công an",
        }
    ]
    assert apology["NgayHenTra"] == "2026-03-06T17:00:00+07:00"
    assert apology["QuaTrinhXuLy"]["NguoiXuLy"] == "lanh_dao_1"
    assert apology["QuaTrinhXuLy"]["NoiDungXuLy"] == "Chờ xác minh của Công an"
