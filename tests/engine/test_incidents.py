"""Incidents, not outages: a dossier, step or message that fails is retried with backoff, then
parked as an incident for an administrator; the others' timers, SLA levels and notifications go on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy import update

from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.services import dossiers
from engine.services import incidents
from engine.services import sla
from engine.services import timers
from engine.services import worker
from engine.services.delivery import default_channels
from engine.services.watchdog import Watchdog
from engine.store.operations_records import IncidentRecord
from engine.store.operations_records import WorkerHeartbeatRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

ADMIN = Actor("quan_tri", frozenset({"quan_tri"}))


def _dossiers_waiting_on_a_timer(rt, n: int) -> list[int]:
    definition = deploy_fixture(rt, "five_steps")
    ids = []
    for k in range(n):
        d = dossiers.start_dossier(
            rt, definition_id=definition.id, unit_code="00070", applicant_name=f"Công dân {k}", actor=RECEPTION
        )
        with rt.db.session() as s:
            item_id = s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == d.id))
        dossiers.complete_work_item(rt, item_id, RECEPTION, {})
        ids.append(d.id)
    return ids


def _break_state(rt, dossier_id: int) -> str:
    with rt.db.session() as s:
        good = s.get(DossierRecord, dossier_id).state
        s.execute(
            update(DossierRecord.__table__).where(DossierRecord.__table__.c.id == dossier_id).values(state="{not json")
        )
    return good


def _incident(rt, kind: str) -> IncidentRecord | None:
    with rt.db.read_session() as s:
        return s.scalar(select(IncidentRecord).where(IncidentRecord.kind == kind).order_by(IncidentRecord.id.desc()))


def _timer_fired(rt, dossier_id: int) -> bool:
    with rt.db.read_session() as s:
        return (
            s.scalar(
                select(AuditEventRecord.id).where(
                    AuditEventRecord.action == "timer", AuditEventRecord.dossier_id == dossier_id
                )
            )
            is not None
        )


def test_a_dossier_that_cannot_load_is_retried_then_parked_while_the_others_fire(runtime, clock):
    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 6)
    good_state = _break_state(runtime, ids[2])
    clock.advance(timedelta(days=1))

    # A batch of 3: the broken dossier is in the first one and must not hold up the second.
    worker.run_once(runtime, default_channels(), batch=3)
    assert [_timer_fired(runtime, i) for i in ids] == [True, True, False, True, True, True]
    first = _incident(runtime, "timer")
    assert (first.status, first.attempts, first.dossier_id) == ("retrying", 1, ids[2])
    assert "JSON" in first.error or "Expecting" in first.error

    for _ in range(incidents.MAX_ATTEMPTS - 1):  # the retries come after their backoff
        clock.advance(timedelta(hours=1))
        worker.run_once(runtime, default_channels(), batch=3)
    opened = _incident(runtime, "timer")
    assert (opened.status, opened.attempts, opened.retry_at) == ("open", incidents.MAX_ATTEMPTS, None)
    with runtime.db.read_session() as s:
        assert s.get(DossierRecord, ids[2]).next_timer_at is None  # parked: no pass touches it
        assert s.scalar(
            select(AuditEventRecord.action).where(
                AuditEventRecord.dossier_id == ids[2], AuditEventRecord.action == "incident"
            )
        )

    # The administrator repairs the state and retries: the next pass fires it and closes the incident.
    with runtime.db.session() as s:
        s.execute(
            update(DossierRecord.__table__).where(DossierRecord.__table__.c.id == ids[2]).values(state=good_state)
        )
    incidents.retry(runtime, opened.id, ADMIN)
    worker.run_once(runtime, default_channels(), batch=3)
    assert _timer_fired(runtime, ids[2])
    closed = _incident(runtime, "timer")
    assert (closed.status, closed.resolution, closed.resolved_by) == ("resolved", "succeeded", "system")
    with pytest.raises(InvalidAction):
        incidents.resolve(runtime, closed.id, ADMIN)


def test_a_failing_step_does_not_stop_the_sla_levels_of_the_others(runtime, clock, monkeypatch):
    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 3)
    clock.advance(timedelta(days=1))
    timers.fire_due_timers(runtime)  # every dossier now waits at tham_dinh, late a day later
    clock.advance(timedelta(days=5))
    with runtime.db.read_session() as s:
        bad_item = s.scalar(
            select(WorkItemRecord.id).where(
                WorkItemRecord.dossier_id == ids[1], WorkItemRecord.state.in_(("open", "claimed"))
            )
        )
    real = sla._fire_next_level

    def fails_for_one(rt, s, item, now):
        kind = real(rt, s, item, now)  # its notification and audit event are written...
        if item.id == bad_item:
            raise ZeroDivisionError("budget arithmetic broke")  # ...and must be undone with it
        return kind

    monkeypatch.setattr(sla, "_fire_next_level", fails_for_one)
    counts = sla.sweep(runtime)
    # Its warning failed; the other two steps got every level (warning, breach, the escalation).
    assert (counts["failed"], counts["warning"], counts["breach"], counts["escalation"]) == (1, 2, 2, 2)
    incident = _incident(runtime, "sla")
    assert (incident.status, incident.work_item_id, incident.element_id) == ("retrying", bad_item, "tham_dinh")
    with runtime.db.read_session() as s:
        breached = set(s.scalars(select(AuditEventRecord.dossier_id).where(AuditEventRecord.action == "sla_breach")))
    assert breached == {ids[0], ids[2]}
    with runtime.db.read_session() as s:
        assert (
            s.scalars(
                select(AuditEventRecord.id).where(
                    AuditEventRecord.work_item_id == bad_item, AuditEventRecord.action.like("sla_%")
                )
            ).all()
            == []
        )
        assert s.scalars(select(OutboxRecord.id).where(OutboxRecord.dedupe_key.like(f"sla:{bad_item}:%"))).all() == []
        assert s.get(WorkItemRecord, bad_item).escalation_level == 0


def test_a_forecast_that_fails_for_one_dossier_leaves_the_others_forecast(runtime, clock, monkeypatch):
    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 3)
    real = sla._forecast_one

    def fails_for_one(rt, s, forecaster, dossier, open_dossier, now):
        if dossier.id == ids[1]:
            raise KeyError("a step the template no longer has")
        return real(rt, s, forecaster, dossier, open_dossier, now)

    monkeypatch.setattr(sla, "_forecast_one", fails_for_one)
    sla.ask_for_apologies(runtime)
    with runtime.db.read_session() as s:
        checks = {d.id: d.apology_check_at for d in s.scalars(select(DossierRecord))}
    assert all(checks[i] is None or checks[i] > clock.now() for i in (ids[0], ids[2]))
    incident = _incident(runtime, "forecast")
    assert (incident.subject_id, incident.status) == (ids[1], "retrying")
    assert checks[ids[1]] == incident.retry_at == clock.now() + timedelta(minutes=1)


def test_the_watchdog_turns_a_stuck_dossier_into_a_failure_and_moves_on(runtime, clock, monkeypatch):
    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 3)
    clock.advance(timedelta(days=1))
    real = timers.fire_dossier_timers

    def spins_for_one(rt, dossier_id):
        while dossier_id == ids[0]:
            pass  # a calendar computation that never ends
        return real(rt, dossier_id)

    monkeypatch.setattr(timers, "fire_dossier_timers", spins_for_one)
    # A real alarm: long enough that a loaded machine's real firings (GC, two test processes)
    # never reach it, short enough to keep the test quick.
    moved = timers.fire_due_timers(runtime, 10, Watchdog(item_seconds=1.0))
    assert moved == 2 and not _timer_fired(runtime, ids[0])
    incident = _incident(runtime, "timer")
    assert incident.subject_id == ids[0] and "watchdog" in incident.error


def test_a_pass_past_its_deadline_releases_the_rest_of_its_batch(runtime, clock):
    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 5)
    clock.advance(timedelta(days=1))
    ticks = iter(range(1000))  # a fake monotonic clock: each look at it is one second later
    watchdog = Watchdog(pass_seconds=2.5, item_seconds=None, monotonic=lambda: next(ticks))
    done = worker.run_once(runtime, default_channels(), batch=5, watchdog=watchdog)
    assert done["cut_short"] == 1 and 0 < done["timers"] < 5
    with runtime.db.read_session() as s:
        waiting = s.scalars(select(DossierRecord).where(DossierRecord.next_timer_at.is_not(None))).all()
        assert waiting and all(d.lease_owner is None for d in waiting)  # free for the next pass at once
        beat = s.get(WorkerHeartbeatRecord, runtime.worker_id)
        assert beat.beat_at == clock.now() and beat.last_counts["cut_short"] == 1
    worker.run_once(runtime, default_channels(), batch=5)
    assert all(_timer_fired(runtime, i) for i in ids)


def test_a_failing_absence_hand_over_is_parked_and_the_others_are_routed(runtime, clock, monkeypatch):
    from engine.services import absences

    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 2)
    real = absences._route_one
    calls = []

    def fails_for_one(rt, s, item, key, days, now):
        calls.append(item.id)
        if item.dossier_id == ids[0]:
            raise RuntimeError("substitute's unit has no calendar")
        return real(rt, s, item, key, days, now)

    monkeypatch.setattr(absences, "_route_one", fails_for_one)
    monkeypatch.setattr(
        absences.absence_records,
        "open_items_assigned_to",
        lambda s, users: [
            (item, None)
            for item in s.scalars(select(WorkItemRecord).where(WorkItemRecord.state.in_(("open", "claimed"))))
        ],
    )
    absences.route_to_substitutes(runtime)
    assert len(calls) == 2
    incident = _incident(runtime, "absence")
    assert (incident.dossier_id, incident.status, incident.attempts) == (ids[0], "retrying", 1)
    absences.route_to_substitutes(runtime)  # within the backoff: the failing step is left alone
    assert len(calls) == 3


def test_a_dead_notification_opens_an_incident_and_a_retry_delivers_it(runtime, clock):
    from engine.services import outbox

    class DownSmtp:
        up = False

        def deliver(self, session, message, now):
            if not self.up:
                raise ConnectionRefusedError("smtp.example.vn:25 refused the connection")

    smtp = DownSmtp()
    with runtime.db.session() as s:
        outbox.enqueue(
            s,
            key="mail:1",
            channel="email",
            recipient="cong.dan@example.vn",
            subject="Hẹn trả",
            body="...",
            now=clock.now(),
        )
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.deliver_due(runtime, {"email": smtp})
        clock.advance(timedelta(hours=1))
    incident = _incident(runtime, "outbox")
    assert (incident.status, incident.attempts) == ("open", outbox.MAX_ATTEMPTS)
    assert "refused the connection" in incident.error

    smtp.up = True
    incidents.retry(runtime, incident.id, ADMIN)
    assert outbox.deliver_due(runtime, {"email": smtp})["sent"] == 1
    closed = _incident(runtime, "outbox")
    assert (closed.status, closed.resolution) == ("resolved", "succeeded")
