"""Fires due BPMN timers: found through the indexed next_timer_at column, never by a scan.

On SQLite a timer whose firing runs template code fires first on a read snapshot (as a person's
change does, engine.services.dossiers), so a slow script never holds the database's write lock."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from engine.bpmn import runner
from engine.domain.assignment import Actor
from engine.domain.errors import ConflictError
from engine.domain.model import RunState
from engine.services import audit
from engine.services import incidents
from engine.services import projection
from engine.services.dossiers import Moved
from engine.services.dossiers import code_first
from engine.services.dossiers import moved
from engine.services.dossiers import moved_on_snapshot
from engine.services.runtime import Runtime
from engine.services.unit_of_work import transaction
from engine.services.watchdog import StopRequested
from engine.services.watchdog import Watchdog
from engine.store import leases
from engine.store.records import DossierRecord

LEASE_TTL = timedelta(minutes=2)


def lease_due_dossiers(rt: Runtime, limit: int = 50, ttl: timedelta = LEASE_TTL) -> list[int]:
    with rt.db.session() as s:
        return leases.lease(
            s,
            DossierRecord,
            due_column=DossierRecord.next_timer_at,
            ready_filter=DossierRecord.run_state == RunState.RUNNING.value,
            owner=rt.worker_id,
            now=rt.clock.now(),
            ttl=ttl,
            limit=limit,
        )


def fire_dossier_timers(rt: Runtime, dossier_id: int) -> bool:
    """Fire what is due on one leased dossier, in one transaction; False if nothing was done."""
    system = Actor.system()

    def change(snapshot: Moved | None, may_defer: bool) -> bool:
        with transaction(rt) as s:
            dossier = s.get(DossierRecord, dossier_id)
            now = rt.clock.now()
            if dossier is None or not leases.holds_lease(dossier, rt.worker_id, now):
                return False
            dossier.lease_owner, dossier.lease_expires_at = None, None
            if not _due_and_leased(rt, dossier, now, lease_checked=True):
                return False
            calendar = rt.calendars.for_unit(s, dossier.unit_code)
            done = moved(
                rt, s, dossier, calendar, _fire, snapshot, (lambda paths: paths.after_timers()) if may_defer else None
            )
            audit.record(
                s,
                at=now,
                action="timer",
                actor=system,
                dossier_id=dossier.id,
                due_at=done.result.isoformat() if isinstance(done.result, datetime) else None,
            )
            projection.sync(s, dossier, done.run, calendar, system, now, done.ready_before, handed_over_by="system")
            return True

    return code_first(
        change,
        lambda: moved_on_snapshot(
            rt, dossier_id, _fire, admits=lambda dossier: _due_and_leased(rt, dossier, rt.clock.now())
        ),
    )


def _fire(run: runner.Run):
    """Fire the run's due timers; returns when the first of them was due (for the audit)."""
    due_before = run.next_timer_at()
    run.fire_timers()
    return due_before


def _due_and_leased(rt: Runtime, dossier: DossierRecord, now, *, lease_checked: bool = False) -> bool:
    if not lease_checked and not leases.holds_lease(dossier, rt.worker_id, now):
        return False
    return (
        dossier.run_state == RunState.RUNNING.value
        and dossier.next_timer_at is not None
        and dossier.next_timer_at <= now
    )


def fire_due_timers(rt: Runtime, limit: int = 50, watchdog: Watchdog | None = None) -> int:
    """Lease a batch of due dossiers and fire each; returns how many moved."""
    return fire_due_batch(rt, limit, watchdog)[0]


def fire_due_batch(rt: Runtime, limit: int = 50, watchdog: Watchdog | None = None) -> tuple[int, int]:
    """Lease a batch of due dossiers and fire each in its own transaction; returns how many moved
    and how many were leased. A dossier that fails is retried with backoff, then becomes an
    incident; it never holds up the others. When the watchdog ends the pass, the rest of the
    batch is released at once."""
    watchdog = watchdog or Watchdog.unbounded()
    ids = lease_due_dossiers(rt, limit)
    moved, fired = 0, []
    for index, dossier_id in enumerate(ids):
        if watchdog.should_stop():
            release_leases(rt, ids[index:])
            break
        try:
            with watchdog.item():
                if fire_dossier_timers(rt, dossier_id):
                    moved += 1
                    fired.append(dossier_id)
        except ConflictError:
            continue  # a clerk changed it meanwhile; its lease expires and the next pass retries
        except StopRequested:
            release_leases(rt, ids[index:])
            break
        except Exception as exc:  # noqa: BLE001 - one dossier's failure must never stop the others
            _record_failure(rt, dossier_id, exc)
    _close_recovered(rt, fired)
    return moved, len(ids)


def release_leases(rt: Runtime, dossier_ids: list[int]) -> None:
    """Give back leases this worker will not use (it is stopping), so another worker takes them now."""
    with rt.db.session() as s:
        leases.release(s, DossierRecord, dossier_ids, rt.worker_id)


def _record_failure(rt: Runtime, dossier_id: int, exc: Exception) -> None:
    """The failed transaction was rolled back; count the attempt and park the dossier's timers
    until the retry (or, once the incident opens, until an administrator acts)."""
    with transaction(rt) as s:
        incidents.record_failure(s, incidents.Subject("timer", dossier_id, dossier_id=dossier_id), exc, rt.clock.now())


def _close_recovered(rt: Runtime, dossier_ids: list[int]) -> None:
    if dossier_ids:
        with rt.db.session() as s:
            incidents.succeeded(s, "timer", dossier_ids, rt.clock.now())
