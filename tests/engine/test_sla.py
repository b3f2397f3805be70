"""Warnings, breaches and escalation levels fire once each, at the right working time."""

from __future__ import annotations

from sqlalchemy import select

from engine.services import definitions
from engine.services import dossiers
from engine.services import outbox
from engine.services import sla
from engine.services.delivery import default_channels
from engine.store.records import AuditEventRecord
from engine.store.records import NotificationRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.conftest import vn
from tests.factories import RECEPTION
from tests.factories import add_units

ESCALATING = (
    (BPMN_DIR / "five_steps.bpmn")
    .read_text(encoding="utf-8")
    .replace(
        '<motcua:escalation after="0h" action="notify" target="assignee"/>',
        '<motcua:escalation after="4h" action="notify" target="lanh_dao"/>'
        '<motcua:escalation after="1d" action="reassign" target="lanh_dao" priority="80"/>',
    )
)


def _item(rt, element_id):
    with rt.db.session() as s:
        return s.scalar(select(WorkItemRecord).where(WorkItemRecord.element_id == element_id))


def _audit(rt, prefix="sla_"):
    with rt.db.session() as s:
        return [
            (e.action, e.detail.get("level"))
            for e in s.scalars(
                select(AuditEventRecord).where(AuditEventRecord.action.like(f"{prefix}%")).order_by(AuditEventRecord.id)
            )
        ]


def test_levels_fire_once_each_in_order(runtime, clock):
    add_units(runtime)
    definition = definitions.deploy(runtime, {"esc.bpmn": ESCALATING.encode()})
    dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Trần Thị B", actor=RECEPTION
    )
    dossiers.complete_work_item(runtime, _item(runtime, "tiep_nhan").id, RECEPTION, {})
    item = _item(runtime, "tham_dinh")
    # tham_dinh: 1 working day from Monday 08:00 -> due Monday 17:00; the warning at 75% of the
    # budget (6 working hours, across the lunch break) is 15:00.
    assert (item.warn_at, item.due_at) == (vn(2026, 3, 2, 15, 0), vn(2026, 3, 2, 17, 0))

    clock.set(vn(2026, 3, 2, 14, 59))
    assert sla.sweep(runtime) == {"warning": 0, "breach": 0, "escalation": 0, "failed": 0, "apology": 0}
    clock.set(vn(2026, 3, 2, 15, 0))
    assert sla.sweep(runtime)["warning"] == 1
    assert sla.sweep(runtime)["warning"] == 0  # never twice
    clock.set(vn(2026, 3, 2, 17, 0))
    assert sla.sweep(runtime)["breach"] == 1
    # +4 working hours after Monday 17:00 is Tuesday 12:00: the leader is told.
    clock.set(vn(2026, 3, 3, 11, 59))
    assert sla.sweep(runtime)["escalation"] == 0
    clock.set(vn(2026, 3, 3, 12, 0))
    assert sla.sweep(runtime)["escalation"] == 1
    # +1 working day after the breach (Tuesday 17:00): reassigned to the leaders' pool, priority raised.
    clock.set(vn(2026, 3, 3, 17, 0))
    assert sla.sweep(runtime)["escalation"] == 1
    assert sla.sweep(runtime) == {"warning": 0, "breach": 0, "escalation": 0, "failed": 0, "apology": 0}

    item = _item(runtime, "tham_dinh")
    assert (item.role, item.assignee, item.priority, item.escalation_level, item.next_sla_at) == (
        "lanh_dao",
        None,
        80,
        4,
        None,
    )
    assert _audit(runtime) == [("sla_warning", 1), ("sla_breach", 2), ("sla_escalation", 3), ("sla_escalation", 4)]
    with runtime.db.session() as s:
        recipients = sorted((m.recipient, m.subject.split(":")[0]) for m in s.scalars(select(OutboxRecord)))
    assert ("lanh_dao_1", "Chuyển cấp xử lý") in recipients
    assert ("chuyen_vien_1", "Sắp đến hạn") in recipients and ("chuyen_vien_2", "Quá hạn") in recipients


def test_a_step_found_long_after_its_due_gets_every_level_in_order_in_one_sweep(runtime, clock):
    """A worker that was down for a day catches up at once, and still fires each level once."""
    add_units(runtime)
    definition = definitions.deploy(runtime, {"esc.bpmn": ESCALATING.encode()})
    dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Trần Thị B", actor=RECEPTION
    )
    dossiers.complete_work_item(runtime, _item(runtime, "tiep_nhan").id, RECEPTION, {})
    clock.set(vn(2026, 3, 4, 9, 0))  # Wednesday: due Monday 17:00, every level is past
    assert sla.sweep(runtime) == {"warning": 1, "breach": 1, "escalation": 2, "failed": 0, "apology": 1}
    assert _audit(runtime) == [("sla_warning", 1), ("sla_breach", 2), ("sla_escalation", 3), ("sla_escalation", 4)]
    assert sla.sweep(runtime) == {"warning": 0, "breach": 0, "escalation": 0, "failed": 0, "apology": 0}


def test_in_app_delivery_is_exactly_once_and_failures_end_in_dead_letter(runtime, clock):
    with runtime.db.session() as s:
        outbox.enqueue(s, key="k1", channel="in_app", recipient="chuyen_vien_1", subject="A", body="B", now=clock.now())
        outbox.enqueue(
            s, key="k1", channel="in_app", recipient="chuyen_vien_1", subject="A", body="B", now=clock.now()
        )  # the same effect twice is one message
        outbox.enqueue(s, key="k2", channel="fax", recipient="x@example.org", subject="A", body="B", now=clock.now())
    channels = default_channels()  # no fax channel: the message fails and must retry, then die
    assert outbox.deliver_due(runtime, channels) == {"sent": 1, "retry": 1, "dead": 0}
    assert outbox.deliver_due(runtime, channels) == {"sent": 0, "retry": 0, "dead": 0}  # backing off
    for _ in range(outbox.MAX_ATTEMPTS):
        clock.advance(hours=2)
        outbox.deliver_due(runtime, channels)
    with runtime.db.session() as s:
        assert s.scalar(select(OutboxRecord).where(OutboxRecord.dedupe_key == "k2")).status == "dead"
        assert "no 'fax' channel" in s.scalar(select(OutboxRecord.last_error).where(OutboxRecord.dedupe_key == "k2"))
        assert [n.username for n in s.scalars(select(NotificationRecord))] == ["chuyen_vien_1"]
