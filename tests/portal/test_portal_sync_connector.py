"""The sync_portal connector: a service task that tells the national portal where the dossier is,
through the portal outbox, run by the worker (never inside the request that reached it) and
delivered by the worker to the shipped simulator over real HTTP; its parameters are checked at
publish like every connector's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator.validation import validate_template
from engine.services import dossiers
from engine.services import outbox
from engine.services import portal_admin
from engine.services import service_calls
from engine.services.delivery import default_channels
from engine.services.portal_simulator import PortalSimulator
from engine.store.operations_records import IncidentRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units
from tests.factories import deploy_fixture

BPMN = (BPMN_DIR / "portal_sync_step.bpmn").read_bytes()


@pytest.fixture
def simulator():
    sim = PortalSimulator(token="secret-token").start()
    yield sim
    sim.stop()


@pytest.fixture
def definition(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "portal_sync_step")


def connect(rt, simulator) -> None:
    portal_admin.configure(
        rt, "01", endpoint=simulator.url, token="secret-token", timeout_seconds=1, agency_ids={"00070": "G22.100.70"}
    )


def reach_the_service_task(rt, definition):
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    for actor, data in ((RECEPTION, {}), (SPECIALIST, {"y_kien": "đủ điều kiện"})):
        item = open_item(rt, dossier.id)
        dossiers.claim_work_item(rt, item.id, actor)
        dossiers.complete_work_item(rt, item.id, actor, data)
    return dossier


def open_item(rt, dossier_id) -> WorkItemRecord | None:
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        ).first()


def portal_messages(rt) -> list[OutboxRecord]:
    with rt.db.read_session() as s:
        return list(s.scalars(select(OutboxRecord).where(OutboxRecord.channel == "portal").order_by(OutboxRecord.id)))


def deliver(rt, clock) -> None:
    outbox.deliver_due(rt, default_channels())
    clock.advance(minutes=1)


def test_the_worker_tells_the_portal_where_the_dossier_is_with_the_steps_note(runtime, clock, definition, simulator):
    connect(runtime, simulator)
    dossier = reach_the_service_task(runtime, definition)
    deliver(runtime, clock)
    before = len(simulator.state.events)  # the reception's and the appraisal's own events
    assert open_item(runtime, dossier.id) is None  # the service task waits for the worker

    assert service_calls.run_due(runtime) == 1
    deliver(runtime, clock)

    [event] = simulator.state.events[before:]
    assert event["MaHoSoNoiBo"] == dossier.code and event["TrangThaiHoSo"] == 4
    assert event["QuaTrinhXuLy"]["BuocXuLy"] == "Báo Cổng kết quả thẩm định"
    assert event["QuaTrinhXuLy"]["NoiDungXuLy"] == "Đã thẩm định: đủ điều kiện"
    assert {m.status for m in portal_messages(runtime)} == {"sent"}
    assert open_item(runtime, dossier.id).element_id == "ky_duyet"  # the dossier moved on
    from tests.processes.test_library_decisions import _workflow_data

    assert _workflow_data(runtime, dossier.id)["dong_bo"] == {"queued": True, "portal_code": dossier.code}
    item = open_item(runtime, dossier.id)
    dossiers.claim_work_item(runtime, item.id, LEADER)
    dossiers.complete_work_item(runtime, item.id, LEADER, {})
    deliver(runtime, clock)
    assert simulator.state.events[-1]["TrangThaiHoSo"] == 9  # later events follow in order


def test_a_portal_that_fails_gets_the_sync_later_and_the_dossier_does_not_wait(runtime, clock, definition, simulator):
    connect(runtime, simulator)
    dossier = reach_the_service_task(runtime, definition)
    deliver(runtime, clock)
    simulator.state.modes.append("error500")

    assert service_calls.run_due(runtime) == 1  # the step completes: the message waits in the outbox
    assert open_item(runtime, dossier.id).element_id == "ky_duyet"
    deliver(runtime, clock)
    assert portal_messages(runtime)[-1].status == "pending" and portal_messages(runtime)[-1].attempts == 1

    clock.advance(minutes=5)  # past the retry's backoff
    deliver(runtime, clock)
    assert {m.status for m in portal_messages(runtime)} == {"sent"}
    assert simulator.state.events[-1]["QuaTrinhXuLy"]["NoiDungXuLy"] == "Đã thẩm định: đủ điều kiện"


def test_in_a_province_without_the_portal_the_step_passes_and_nothing_is_queued(runtime, definition):
    dossier = reach_the_service_task(runtime, definition)

    assert service_calls.run_due(runtime) == 1
    assert open_item(runtime, dossier.id).element_id == "ky_duyet"
    assert portal_messages(runtime) == []
    with runtime.db.read_session() as s:
        assert s.scalars(select(IncidentRecord)).all() == []


def test_publishing_checks_the_connectors_parameters():
    bad_note = BPMN.replace("value=\"'Đã thẩm định: ' + y_kien\"".encode(), b'value="42"')
    unknown = BPMN.replace(b'<spiffworkflow:parameter id="note"', b'<spiffworkflow:parameter id="trang_thai"')
    assert bad_note != BPMN and unknown != BPMN

    assert validate_template({"t.bpmn": BPMN}).ok
    for broken, expected in ((bad_note, "must be text"), (unknown, "has no parameter 'trang_thai'")):
        [finding] = validate_template({"t.bpmn": broken}).errors
        assert finding.element_id == "bao_cong" and expected in finding.message
