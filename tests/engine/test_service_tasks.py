"""Service tasks run by the worker, never inside the request that reaches them: the http connector
against a stand-in server on loopback (started here, http.server in a thread), its allow-list,
retries with backoff, incidents an administrator retries; compute_fee and notify_applicant."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from configurator import catalogue
from engine.domain.assignment import Actor
from engine.services import definitions
from engine.services import dossiers
from engine.services import incidents
from engine.services import service_calls
from engine.store.operations_records import IncidentRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from engine.store.service_call_records import ServiceCallRecord
from tests import loopback
from tests.factories import add_units
from tests.loopback import JsonHandler

BPMN = (Path(__file__).resolve().parents[1] / "bpmn" / "service_steps.bpmn").read_bytes()
CLERK = Actor("mot_cua_1", frozenset({"mot_cua"}), "00070")
ADMIN = Actor("quan_tri", frozenset({"quan_tri"}), None)


class StandIn:
    """A loopback HTTP server answering JSON; fails the first `failures` requests with 500."""

    def __init__(self):
        self.failures = 0
        self.requests: list[str] = []
        stand_in = self

        class Handler(JsonHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                stand_in.requests.append(self.path)
                if stand_in.failures > 0:
                    stand_in.failures -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                self.answer_json(200, {"status": "ok", "ket_qua": {"ma": "HS-42"}})

        self.server = loopback.start(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/tra-cuu"

    def close(self):
        loopback.stop(self.server)


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


@pytest.fixture
def rt(runtime):
    add_units(runtime)
    return runtime


def _items(rt, dossier_id) -> list[WorkItemRecord]:
    with rt.db.read_session() as s:
        return list(
            s.scalars(
                select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
            )
        )


def _reach_service_task(rt, url: str, bpmn: bytes = BPMN, applicant: dict | None = None):
    definition = definitions.deploy(rt, {"service_steps.bpmn": bpmn})
    dossier = dossiers.start_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Phạm Văn Gọi",
        actor=CLERK,
        applicant=applicant,
    )
    [reception] = _items(rt, dossier.id)
    dossiers.complete_work_item(rt, reception.id, CLERK, {"dia_chi_dich_vu": url})
    return dossier


def _call(rt, dossier_id) -> ServiceCallRecord:
    with rt.db.read_session() as s:
        return s.scalar(select(ServiceCallRecord).where(ServiceCallRecord.dossier_id == dossier_id))


def _incident(rt, call_id) -> IncidentRecord | None:
    with rt.db.read_session() as s:
        return s.scalar(
            select(IncidentRecord).where(IncidentRecord.kind == "service", IncidentRecord.subject_id == call_id)
        )


def test_the_step_waits_for_the_worker_which_calls_and_moves_the_dossier_on(rt, stand_in):
    service_calls.allow_host(rt, "127.0.0.1", ADMIN)
    dossier = _reach_service_task(rt, stand_in.url)
    assert stand_in.requests == []  # nothing was called inside the clerk's request
    assert _items(rt, dossier.id) == []
    assert _call(rt, dossier.id).status == "pending"

    assert service_calls.run_due(rt) == 1

    assert stand_in.requests == ["/tra-cuu"]
    [result_step] = _items(rt, dossier.id)
    assert result_step.element_id == "tra_ket_qua"
    from tests.processes.test_library_decisions import _workflow_data

    assert _workflow_data(rt, dossier.id)["tra_cuu"] == {"ma_so": "HS-42", "trang_thai": "ok"}
    assert _call(rt, dossier.id).status == "done"
    assert service_calls.run_due(rt) == 0  # done once


def test_a_host_off_the_allow_list_is_refused_with_an_incident_naming_the_step(rt, stand_in):
    dossier = _reach_service_task(rt, stand_in.url)
    service_calls.run_due(rt)
    assert stand_in.requests == []
    call = _call(rt, dossier.id)
    incident = _incident(rt, call.id)
    assert call.status == "failed" and incident.status == "open"
    assert incident.element_id == "goi_dich_vu" and incident.dossier_id == dossier.id
    assert "127.0.0.1 is not on the administrator's allow-list" in incident.error
    assert _items(rt, dossier.id) == []  # the dossier still waits at the step


def test_a_connector_failing_three_times_then_succeeding_completes_without_incident(rt, clock, stand_in):
    service_calls.allow_host(rt, "127.0.0.1", ADMIN)
    stand_in.failures = 3
    dossier = _reach_service_task(rt, stand_in.url)
    waits = []
    for _ in range(3):
        assert service_calls.run_due(rt) == 0
        call = _call(rt, dossier.id)
        waits.append(call.due_at - clock.now())
        assert service_calls.run_due(rt) == 0  # not due again before its backoff
        clock.set(call.due_at)
    assert waits == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert service_calls.run_due(rt) == 1
    assert len(stand_in.requests) == 4
    assert _incident(rt, _call(rt, dossier.id).id) is None
    assert [i.element_id for i in _items(rt, dossier.id)] == ["tra_ket_qua"]


def test_a_connector_failing_for_good_opens_an_incident_the_administrator_retries(rt, clock, stand_in):
    service_calls.allow_host(rt, "127.0.0.1", ADMIN)
    stand_in.failures = 100
    dossier = _reach_service_task(rt, stand_in.url)
    for _ in range(4):
        service_calls.run_due(rt)
        call = _call(rt, dossier.id)
        if call.due_at:
            clock.set(call.due_at)
    call = _call(rt, dossier.id)
    incident = _incident(rt, call.id)
    assert (call.status, call.attempts, incident.status) == ("failed", 4, "open")
    assert "answered HTTP 500" in incident.error and incident.element_id == "goi_dich_vu"
    assert incident in incidents.listing(rt) or incident.id in {i.id for i in incidents.listing(rt)}

    stand_in.failures = 0
    incidents.retry(rt, incident.id, ADMIN)
    assert service_calls.run_due(rt) == 1
    assert _incident(rt, call.id).status == "resolved"
    assert [i.element_id for i in _items(rt, dossier.id)] == ["tra_ket_qua"]


COMPUTE_FEE = b"""<spiffworkflow:serviceTaskOperator id="compute_fee" resultVariable="phi">
          <spiffworkflow:parameters/>
        </spiffworkflow:serviceTaskOperator>"""
NOTIFY = b"""<spiffworkflow:serviceTaskOperator id="notify_applicant" resultVariable="da_bao">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="message" type="str" value="'H\xe1\xbb\x93 s\xc6\xa1 ' + dia_chi_dich_vu + ' \xc4\x91\xc3\xa3 c\xc3\xb3 k\xe1\xba\xbft qu\xe1\xba\xa3'"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>"""


def _with_operator(operator: bytes) -> bytes:
    start = BPMN.index(b"<spiffworkflow:serviceTaskOperator")
    end = BPMN.index(b"</spiffworkflow:serviceTaskOperator>") + len(b"</spiffworkflow:serviceTaskOperator>")
    return BPMN[:start] + operator + BPMN[end:]


def test_compute_fee_adds_the_catalogue_fees_into_the_task_data(rt):
    catalogue.import_json(
        rt,
        {
            "key": "service_steps",
            "code": "1.000003",
            "name": "Thử tính phí",
            "level": "commune",
            "legal_limit_days": 2,
            "fees": [
                {"name": "Lệ phí", "amount_vnd": 8000, "note": "bản chính"},
                {"name": "Phí sao", "amount_vnd": 3000, "note": None},
            ],
        },
    )
    dossier = _reach_service_task(rt, "x", _with_operator(COMPUTE_FEE))
    assert service_calls.run_due(rt) == 1
    from tests.processes.test_library_decisions import _workflow_data

    fee = _workflow_data(rt, dossier.id)["phi"]
    assert fee["total_vnd"] == 11000 and [f["name"] for f in fee["fees"]] == ["Lệ phí", "Phí sao"]


def test_notify_applicant_queues_on_the_applicants_channel_with_the_step(rt):
    dossier = _reach_service_task(rt, "BN-1", _with_operator(NOTIFY), applicant={"phone": "0912345678"})
    with rt.db.read_session() as s:
        assert (
            s.scalars(
                select(OutboxRecord).where(OutboxRecord.dossier_id == dossier.id, OutboxRecord.channel == "sms")
            ).all()
            == []
        )
    assert service_calls.run_due(rt) == 1
    with rt.db.read_session() as s:
        [message] = s.scalars(
            select(OutboxRecord).where(OutboxRecord.dossier_id == dossier.id, OutboxRecord.channel == "sms")
        ).all()
    assert message.recipient == "0912345678" and "BN-1 đã có kết quả" in message.body
    assert service_calls.run_due(rt) == 0


def test_an_administrator_keeps_the_allow_list(rt):
    service_calls.allow_host(rt, "API.Cong-Thong-Tin.vn", ADMIN, note="cổng dịch vụ công")
    assert [h.host for h in service_calls.allowed_hosts(rt)] == ["api.cong-thong-tin.vn"]
    from engine.domain.errors import InvalidAction

    with pytest.raises(InvalidAction, match="not a host name"):
        service_calls.allow_host(rt, "https://evil.example/x", ADMIN)
    service_calls.forbid_host(rt, "api.cong-thong-tin.vn", ADMIN)
    assert service_calls.allowed_hosts(rt) == []
