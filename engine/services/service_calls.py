"""Runs service tasks in the worker, never in a web request.

A change that leaves a dossier at a service task records the call (projection.sync, through
service_call_records.record_pending) in the same transaction. A worker pass leases due calls; each one runs its
connector with no transaction open, then completes the task and moves the dossier on in one
transaction (work items, audit, the connector's queued message). A failing call is retried with
exponential backoff (the task's spiffworkflow:retry, by default 3 retries, 2 s base), then an
incident opens through engine/services/incidents.py; a refused call (host off the allow-list, bad
parameter) opens one at once. An administrator's retry runs it once more.
"""

from __future__ import annotations

from datetime import timedelta

from engine.bpmn import runner
from engine.domain.assignment import Actor
from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.domain.errors import InvalidAction
from engine.services import audit
from engine.services import connectors
from engine.services import incidents
from engine.services import projection
from engine.services.runtime import Runtime
from engine.services.scripting import script_engine_for
from engine.services.unit_of_work import transaction
from engine.services.watchdog import StopRequested
from engine.services.watchdog import Watchdog
from engine.store import leases
from engine.store import service_call_records as records
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.service_call_records import ServiceCallRecord

LEASE_TTL = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)
KIND = "service"


def run_due(rt: Runtime, limit: int = 20, watchdog: Watchdog | None = None) -> int:
    """Lease due calls and run each on its own; returns how many completed their task."""
    watchdog = watchdog or Watchdog.unbounded()
    with rt.db.session() as s:
        ids = leases.lease(
            s,
            ServiceCallRecord,
            due_column=ServiceCallRecord.due_at,
            ready_filter=ServiceCallRecord.status == "pending",
            owner=rt.worker_id,
            now=rt.clock.now(),
            ttl=LEASE_TTL,
            limit=limit,
        )
    done = 0
    for index, call_id in enumerate(ids):
        if watchdog.should_stop():
            _release(rt, ids[index:])
            break
        try:
            with watchdog.item():
                done += run_one(rt, call_id)
        except StopRequested:
            _release(rt, ids[index:])
            break
        except ConflictError:
            continue  # a clerk changed the dossier meanwhile: the lease expires, the next pass retries
        except Exception as exc:  # noqa: BLE001 - one call's failure never stops the others
            _failed(rt, call_id, exc)
    return done


def run_one(rt: Runtime, call_id: int) -> bool:
    """Run one leased call's connector, then complete its task; False when it no longer waits."""
    call = _prepare(rt, call_id)
    if call is None:
        return False
    outcome = connectors.run(rt, call)
    return _complete(rt, call_id, outcome)


def _prepare(rt: Runtime, call_id: int) -> connectors.Call | None:
    with rt.db.read_session() as s:
        row = s.get(ServiceCallRecord, call_id)
        if row is None or row.status != "pending" or not leases.holds_lease(row, rt.worker_id, rt.clock.now()):
            return None
        dossier = s.get(DossierRecord, row.dossier_id)
        definition = s.get(ProcessDefinitionRecord, dossier.definition_id)
        bundle = rt.bundle_for_definition(s, dossier.definition_id)
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        run = runner.load(bundle, dossier.state, rt.clock, script_engine_for(calendar, rt.clock))
        task = run.waiting_service_task(row.task_id)
        return connectors.Call(
            call_id=row.id,
            dossier_id=dossier.id,
            dossier_code=dossier.code,
            element_id=row.element_id,
            connector=row.connector,
            params=dict(row.params or {}),
            procedure_key=definition.key,
            applicant_name=dossier.applicant_name,
            applicant=dict(dossier.applicant or {}),
            task=task,
            decisions=bundle.decisions,
        )


def _complete(rt: Runtime, call_id: int, outcome: connectors.Outcome) -> bool:
    system = Actor.system()
    with transaction(rt) as s:
        row = s.get(ServiceCallRecord, call_id)
        now = rt.clock.now()
        dossier = s.get(DossierRecord, row.dossier_id)
        calendar = rt.calendars.for_unit(s, dossier.unit_code)
        run = runner.load(
            rt.bundle_for_definition(s, dossier.definition_id),
            dossier.state,
            rt.clock,
            script_engine_for(calendar, rt.clock),
        )
        ready_before = run.ready_task_ids()
        try:
            run.finish_service_call(row.task_id, outcome.result)
        except InvalidAction:
            _close(row, now, "the task no longer waits (the dossier moved on or was cancelled)")
            return False
        if outcome.effect is not None:
            outcome.effect(s, now)
        audit.record(
            s,
            at=now,
            action="service_call",
            actor=system,
            dossier_id=dossier.id,
            element_id=row.element_id,
            connector=row.connector,
            attempts=row.attempts + 1,
        )
        _close(row, now, None)
        incidents.succeeded(s, KIND, [row.id], now)
        projection.sync(s, dossier, run, calendar, system, now, ready_before, handed_over_by="system")
        return True


def _close(row: ServiceCallRecord, now, error: str | None) -> None:
    row.status, row.completed_at, row.due_at, row.last_error = "done", now, None, error
    row.lease_owner, row.lease_expires_at = None, None


def _failed(rt: Runtime, call_id: int, exc: Exception) -> None:
    """Count the attempt: retry after base**attempts seconds, or open the incident (at once for a
    call that can never succeed)."""
    with rt.db.session() as s:
        row = s.get(ServiceCallRecord, call_id)
        now = rt.clock.now()
        row.attempts += 1
        row.last_error = incidents.error_text(exc)
        row.lease_owner, row.lease_expires_at = None, None
        subject = incidents.Subject(KIND, row.id, dossier_id=row.dossier_id, element_id=row.element_id)
        refused = isinstance(exc, connectors.ConnectorRefused) or (
            isinstance(exc, EngineError) and not isinstance(exc, connectors.ConnectorFailed)
        )
        if refused or row.attempts >= row.max_attempts:
            row.status, row.due_at = "failed", None
            incident = incidents.open_now(s, subject, row.last_error, row.attempts, now)
            incident.element_id = incidents.element_of(exc, row.element_id)
            audit.record(
                s,
                at=now,
                action="incident",
                actor=Actor.system(),
                dossier_id=row.dossier_id,
                element_id=incident.element_id,
                kind=KIND,
                message=incident.error,
            )
            audit.write_pending(s)
        else:
            row.due_at = now + min(MAX_BACKOFF, timedelta(seconds=row.backoff_base**row.attempts))


def _release(rt: Runtime, ids: list[int]) -> None:
    with rt.db.session() as s:
        leases.release(s, ServiceCallRecord, ids, rt.worker_id)


# -- the http connector's allow-list (administrator) ------------------------------------------------


def allowed_hosts(rt: Runtime) -> list[records.ConnectorHostRecord]:
    with rt.db.read_session() as s:
        return records.allowed_hosts(s)


def allow_host(rt: Runtime, host: str, actor: Actor, note: str | None = None) -> records.ConnectorHostRecord:
    """Let the http connector call `host` (a name or address, no scheme, port or path)."""
    host = (host or "").strip().lower()
    if not host or any(c in host for c in "/:@ ?#") or len(host) > 253:
        raise InvalidAction(
            "'%(host)s' is not a host name (write it without http://, port or path)", field="host", host=host[:100]
        )
    with rt.db.session() as s:
        existing = s.get(records.ConnectorHostRecord, host)
        if existing is not None:
            return existing
        now = rt.clock.now()
        row = records.ConnectorHostRecord(
            host=host, note=(note or "")[:200] or None, added_by=actor.username, added_at=now
        )
        s.add(row)
        audit.record(s, at=now, action="connector_host_allowed", actor=actor, host=host)
        audit.write_pending(s)
        return row


def forbid_host(rt: Runtime, host: str, actor: Actor) -> None:
    host = (host or "").strip().lower()
    with rt.db.session() as s:
        row = s.get(records.ConnectorHostRecord, host)
        if row is None:
            raise InvalidAction("host %(host)s is not on the allow-list", field="host", host=host[:100])
        s.delete(row)
        audit.record(s, at=rt.clock.now(), action="connector_host_removed", actor=actor, host=host)
        audit.write_pending(s)
