"""Fees: a procedure paid before it is processed waits at status 6, its clock stopped, until the
amount due is paid; the appointment then moves by the working time it waited (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator import catalogue
from configurator import steps
from engine.domain.errors import InvalidAction
from engine.domain.errors import PermissionDenied
from engine.domain.model import DossierStatus
from engine.services import fees
from engine.services import sla
from engine.services.payments import Payment
from engine.services.payments import account
from engine.store.records import DossierPauseRecord
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.factories import OTHER_COMMUNE
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

LINES = [{"name": "Lệ phí cấp bản sao", "amount_vnd": 8000}, {"name": "Phí chứng thực", "amount_vnd": 2000}]


@pytest.fixture
def five(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    catalogue.import_json(
        runtime,
        [
            {
                "key": "five_steps",
                "name": "Thủ tục năm bước",
                "level": "commune",
                "legal_limit_days": 3,
                "fees_before_processing": True,
                "fees": [{"name": line["name"], "amount_vnd": line["amount_vnd"], "note": None} for line in LINES],
            }
        ],
    )
    return definition


def receive(rt, definition, payment=None, lines=LINES):
    dossier, _ = steps.receive_dossier(
        rt,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        actor=RECEPTION,
        reception={},
        payment=payment,
        applicant={"fees": lines, "phone": "0912345678", "notify": ["sms"]},
    )
    return dossier


def reload(rt, dossier_id):
    with rt.db.session() as s:
        dossier = s.get(DossierRecord, dossier_id)
        return (
            dossier,
            account(s, dossier),
            list(s.scalars(select(DossierPauseRecord).where(DossierPauseRecord.dossier_id == dossier_id))),
        )


def test_unpaid_fees_hold_the_dossier_at_status_6_with_its_clock_stopped(runtime, five, clock):
    dossier = receive(runtime, five)
    held, fee_account, pauses = reload(runtime, dossier.id)
    assert held.status == DossierStatus.FINANCIAL_OBLIGATION and fee_account.outstanding_vnd == 10000
    assert [(p.kind, p.ended_at) for p in pauses] == [("financial_obligation", None)]
    assert held.appointment_at == vn(2026, 3, 4, 17, 0)
    with runtime.db.session() as s:  # the applicant is told what to pay (and that the dossier was received)
        assert sorted(s.scalars(select(OutboxRecord.subject).where(OutboxRecord.channel == "sms"))) == [
            f"Hồ sơ {dossier.code} chờ nộp phí, lệ phí",
            f"Hồ sơ {dossier.code} đã được tiếp nhận",
        ]

    clock.advance(hours=6)  # paid at 14:00 the same day: 6 working hours (lunch break aside) waited
    fees.record_payment(runtime, dossier.id, RECEPTION, Payment(5000, "cash"))
    assert reload(runtime, dossier.id)[0].status == DossierStatus.FINANCIAL_OBLIGATION  # still 5,000 short
    fees.record_payment(runtime, dossier.id, RECEPTION, Payment(5000, "bank", "FT26061123456"))
    paid, fee_account, pauses = reload(runtime, dossier.id)
    assert paid.status == DossierStatus.IN_PROCESSING and fee_account.outstanding_vnd == 0 and not fee_account.waiting
    assert pauses[0].ended_at == clock.now()
    assert paid.appointment_at > vn(2026, 3, 4, 17, 0)  # moved by the working time the dossier waited
    assert [(p.method, p.reference) for p in fee_account.payments] == [("cash", None), ("bank", "FT26061123456")]


def test_paid_at_the_counter_goes_on_at_once(runtime, five, clock):
    dossier = receive(runtime, five, payment=Payment(10000, "cash"))
    held, fee_account, pauses = reload(runtime, dossier.id)
    assert held.status == DossierStatus.IN_PROCESSING and pauses == [] and fee_account.paid_vnd == 10000


def test_a_procedure_paid_afterwards_never_waits(runtime, five, clock):
    catalogue.import_json(
        runtime,
        [
            {
                "key": "five_steps",
                "name": "Thủ tục năm bước",
                "level": "commune",
                "legal_limit_days": 3,
                "fees_before_processing": False,
            }
        ],
    )
    dossier = receive(runtime, five)
    assert reload(runtime, dossier.id)[0].status == DossierStatus.IN_PROCESSING


def test_bad_payments_are_refused_naming_the_field(runtime, five, clock):
    dossier = receive(runtime, five)
    for payment, field in (
        (Payment(0, "cash"), "amount_vnd"),
        (Payment(1000, "bank"), "reference"),
        (Payment(1000, "cheque"), "method"),
    ):
        with pytest.raises(InvalidAction) as refused:
            fees.record_payment(runtime, dossier.id, RECEPTION, payment)
        assert refused.value.field == field
    with pytest.raises(PermissionDenied):
        fees.record_payment(runtime, dossier.id, OTHER_COMMUNE, Payment(10000, "cash"))
    assert reload(runtime, dossier.id)[1].payments == []


def test_a_process_finished_while_unpaid_is_processed_and_its_pause_ends(runtime, five, clock):
    from engine.services import dossiers
    from engine.store.records import WorkItemRecord
    from tests.factories import LEADER
    from tests.factories import SPECIALIST

    dossier = receive(runtime, five)
    for actor, data in ((SPECIALIST, {"hop_le": True}), (SPECIALIST, {}), (LEADER, {}), (RECEPTION, {})):
        assert reload(runtime, dossier.id)[0].status == DossierStatus.FINANCIAL_OBLIGATION
        with runtime.db.session() as s:
            item = s.scalars(
                select(WorkItemRecord).where(
                    WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state.in_(["open", "claimed"])
                )
            ).first()
        dossiers.complete_work_item(runtime, item.id, actor, data)
    done, _, pauses = reload(runtime, dossier.id)
    assert done.status == DossierStatus.PROCESSED and pauses[0].ended_at is not None


def _open_step(rt, dossier_id) -> WorkItemRecord:
    with rt.db.session() as s:
        return s.scalars(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        ).one()


def _officers_alerted(rt) -> list[str]:
    with rt.db.session() as s:
        return list(s.scalars(select(OutboxRecord.subject).where(OutboxRecord.channel == "in_app")))


def test_no_step_alert_nor_apology_while_the_dossier_waits_for_its_fees(runtime, five, clock):
    dossier = receive(runtime, five)  # Monday 08:00, fees unpaid: status 6
    step = _open_step(runtime, dossier.id)
    assert (step.element_id, step.due_at) == ("tham_dinh", vn(2026, 3, 2, 17, 0))

    clock.advance(days=2)  # Wednesday 08:00: the step would be two days late if its clock ran
    counts = sla.sweep(runtime)
    assert (counts["warning"], counts["breach"], counts["escalation"], counts["apology"]) == (0, 0, 0, 0)
    assert _officers_alerted(runtime) == []

    fees.record_payment(runtime, dossier.id, RECEPTION, Payment(10000, "cash"))
    resumed = _open_step(runtime, dossier.id)  # its clock moved by the two working days it waited
    assert resumed.due_at == vn(2026, 3, 4, 17, 0) and resumed.warn_at > clock.now()
    assert sla.sweep(runtime)["warning"] == 0 and _officers_alerted(runtime) == []

    clock.advance(hours=9, minutes=1)  # Wednesday 17:01: now it is late, and the alerts fire once
    counts = sla.sweep(runtime)
    assert (counts["warning"], counts["breach"]) == (1, 1)
    assert sla.sweep(runtime)["breach"] == 0
    assert any(subject.startswith("Quá hạn: Thẩm định") for subject in _officers_alerted(runtime))
