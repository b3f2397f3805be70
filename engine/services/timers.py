"""Fires due BPMN timers: found through the indexed next_timer_at column, never by a scan."""

from __future__ import annotations

from datetime import timedelta

from engine.bpmn import runner
from engine.domain.assignment import Actor
from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.domain.model import RunState
from engine.services import audit
from engine.services import projection
from engine.services.dossiers import transaction
from engine.services.runtime import Runtime
from engine.services.scripting import script_engine_for
from engine.store import leases
from engine.store.records import DossierRecord

LEASE_TTL = timedelta(minutes=2)


def lease_due_dossiers(rt: Runtime, limit: int = 50, ttl: timedelta = LEASE_TTL) -> list[int]:
    with rt.db.session() as s:
        return leases.lease(
            s, DossierRecord, due_column=DossierRecord.next_timer_at,
            ready_filter=DossierRecord.run_state == RunState.RUNNING.value,
            owner=rt.worker_id, now=rt.clock.now(), ttl=ttl, limit=limit,
        )


def fire_dossier_timers(rt: Runtime, dossier_id: int) -> bool:
    """Fire what is due on one leased dossier, in one transaction; False if nothing was done."""
    system = Actor.system()
    with transaction(rt) as s:
        dossier = s.get(DossierRecord, dossier_id)
        now = rt.clock.now()
        if dossier is None or not leases.holds_lease(dossier, rt.worker_id, now):
            return False
        dossier.lease_owner, dossier.lease_expires_at = None, None
        if dossier.run_state != RunState.RUNNING.value or dossier.next_timer_at is None \
                or dossier.next_timer_at > now:
            return False
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        run = runner.load(rt.bundle_for_definition(s, dossier.definition_id), dossier.state, rt.clock,
                          script_engine_for(calendar, rt.clock))
        due_before = run.next_timer_at()
        ready_before = run.ready_task_ids()
        run.fire_timers()
        audit.record(s, at=now, action="timer", actor=system, dossier_id=dossier.id,
                     due_at=due_before.isoformat() if due_before else None)
        projection.sync(s, dossier, run, calendar, system, now, ready_before, handed_over_by="system")
        return True


def fire_due_timers(rt: Runtime, limit: int = 50) -> int:
    """Lease a batch of due dossiers and fire each; returns how many moved."""
    moved = 0
    for dossier_id in lease_due_dossiers(rt, limit):
        try:
            moved += fire_dossier_timers(rt, dossier_id)
        except ConflictError:
            continue  # a clerk changed it meanwhile; its lease expires and the next pass retries
        except EngineError as exc:
            _record_incident(rt, dossier_id, exc)
    return moved


def _record_incident(rt: Runtime, dossier_id: int, exc: EngineError) -> None:
    """A template error stops this dossier (not the worker) and is visible in its history."""
    with transaction(rt) as s:
        dossier = s.get(DossierRecord, dossier_id)
        now = rt.clock.now()
        dossier.run_state, dossier.lease_owner, dossier.lease_expires_at = RunState.ERROR.value, None, None
        dossier.updated_at = now
        audit.record(s, at=now, action="incident", actor=Actor.system(), dossier_id=dossier.id,
                     element_id=exc.element_id, message=exc.message)
