"""Incidents, not outages: background work that fails (a dossier's timers, a step's SLA level, an
apology forecast, a notification, an absence hand-over) is retried with backoff, then parked as an
open incident with its error and element for an administrator to retry or resolve. The failing
piece is set aside; every other dossier's work goes on.

Failures are recorded in the session of the batch that met them (after its savepoint was rolled
back): on PostgreSQL that batch holds the failing row locked, so another transaction could not park it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from engine.domain.assignment import Actor
from engine.domain.errors import EngineError
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services import audit
from engine.services.runtime import Runtime
from engine.services.watchdog import StopRequested
from engine.store import citizen_records
from engine.store import operations_records as records
from engine.store import service_call_records
from engine.store.database import Session
from engine.store.operations_records import IncidentRecord

#: Tries before an incident opens (the first run and two retries).
MAX_ATTEMPTS = 3
KINDS = ("timer", "sla", "forecast", "outbox", "absence", "service", "signing")


@dataclass(frozen=True)
class Subject:
    """The piece of work that failed: its kind and id (dossier, work item or message by kind)."""

    kind: str
    subject_id: int
    dossier_id: int | None = None
    work_item_id: int | None = None
    element_id: str | None = None


def backoff(attempts: int) -> timedelta:
    """1, 2, 4... minutes after the n-th failure, capped at an hour."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def error_text(exc: BaseException) -> str:
    message = exc.message if isinstance(exc, EngineError) else str(exc)
    return f"{type(exc).__name__}: {message}"[:2000]


def element_of(exc: BaseException, default: str | None) -> str | None:
    return getattr(exc, "element_id", None) or default


@contextmanager
def isolated(session: Session) -> Iterator[None]:
    """Run one item of a batch in its own savepoint: when it fails, its writes and its queued
    audit events are undone and the batch's other items keep theirs."""
    pending = list(session.info.get(audit.PENDING_KEY, []))
    savepoint = session.begin_nested()
    try:
        yield
        savepoint.commit()
    except BaseException:
        savepoint.rollback()
        session.info[audit.PENDING_KEY] = pending
        raise


def record_failure(session: Session, subject: Subject, exc: BaseException, now: datetime) -> IncidentRecord:
    """Count a failed attempt; the work is tried again after a backoff, or the incident opens and
    the work waits for an administrator. Either way the subject is parked until then."""
    incident = _unresolved_or_new(session, subject, "retrying", now)
    incident.attempts += 1
    incident.error, incident.last_failed_at = error_text(exc), now
    incident.element_id = element_of(exc, subject.element_id)
    if incident.attempts >= MAX_ATTEMPTS:
        incident.status, incident.retry_at = "open", None
        audit.record(
            session,
            at=now,
            action="incident",
            actor=Actor.system(),
            dossier_id=subject.dossier_id,
            element_id=incident.element_id,
            kind=subject.kind,
            message=incident.error,
        )
    else:
        incident.status, incident.retry_at = "retrying", now + backoff(incident.attempts)
    _park(session, incident)
    session.flush()
    return incident


def _unresolved_or_new(session: Session, subject: Subject, status: str, now: datetime) -> IncidentRecord:
    """The subject's incident not yet resolved, or a new one with no attempt counted yet."""
    return records.unresolved(session, subject.kind, subject.subject_id) or records.add(
        session,
        kind=subject.kind,
        subject_id=subject.subject_id,
        dossier_id=subject.dossier_id,
        work_item_id=subject.work_item_id,
        element_id=subject.element_id,
        error="",
        attempts=0,
        status=status,
        first_failed_at=now,
        last_failed_at=now,
    )


def open_now(session: Session, subject: Subject, error: str, attempts: int, now: datetime) -> IncidentRecord:
    """An incident for work that already spent its own retries (a dead notification); one that
    was retried by an administrator and failed again opens again."""
    incident = _unresolved_or_new(session, subject, "open", now)
    incident.status, incident.retry_at, incident.error = "open", None, error[:2000]
    incident.attempts, incident.last_failed_at = attempts, now
    return incident


def succeeded(session: Session, kind: str, subject_ids, now: datetime) -> None:
    """Work that ran through after failing before: its incident is closed by the system."""
    for subject_id in records.unresolved_subjects(session, kind, subject_ids):
        _close(records.unresolved(session, kind, subject_id), now, "system", "succeeded")


def _park(session: Session, incident: IncidentRecord) -> None:
    """Hold the failing work until its retry time (or, once open, until an administrator acts)."""
    _set_due(session, incident, incident.retry_at)


def _set_due(session: Session, incident: IncidentRecord, at: datetime | None) -> None:
    if incident.kind == "timer":
        records.set_timer_due(session, incident.subject_id, at)
    elif incident.kind == "sla":
        records.set_sla_due(session, incident.subject_id, at)
    elif incident.kind == "forecast":
        records.set_forecast_due(session, incident.subject_id, at)
    elif incident.kind == "signing":
        citizen_records.set_signing_due(session, incident.subject_id, at)
    elif incident.kind == "outbox" and at is not None:
        records.requeue_message(session, incident.subject_id, at)
    elif incident.kind == "service":
        service_call_records.set_due(session, incident.subject_id, at)
    # absence hand-overs are found again by every pass; parked_subjects() holds them back


def _close(incident: IncidentRecord, now: datetime, by: str, resolution: str) -> None:
    incident.status, incident.retry_at = "resolved", None
    incident.resolved_at, incident.resolved_by, incident.resolution = now, by, resolution


# -- what an administrator does ------------------------------------------------------------------


def retry(rt: Runtime, incident_id: int, actor: Actor) -> IncidentRecord:
    """Try the work again on the next worker pass. One more failure opens the incident again."""
    with rt.db.session() as s:
        incident = _unresolved(s, incident_id)
        now = rt.clock.now()
        incident.status, incident.retry_at = "retrying", now
        incident.attempts = MAX_ATTEMPTS - 1
        _set_due(s, incident, now)
        audit.record(
            s,
            at=now,
            action="incident_retry",
            actor=actor,
            dossier_id=incident.dossier_id,
            element_id=incident.element_id,
            kind=incident.kind,
            incident=incident.id,
        )
        audit.write_pending(s)
        return incident


def resolve(rt: Runtime, incident_id: int, actor: Actor) -> IncidentRecord:
    """Close the incident without running the work again (the administrator dealt with it)."""
    with rt.db.session() as s:
        incident = _unresolved(s, incident_id)
        now = rt.clock.now()
        _close(incident, now, actor.username, "resolved")
        audit.record(
            s,
            at=now,
            action="incident_resolved",
            actor=actor,
            dossier_id=incident.dossier_id,
            element_id=incident.element_id,
            kind=incident.kind,
            incident=incident.id,
        )
        audit.write_pending(s)
        return incident


def _unresolved(s: Session, incident_id: int) -> IncidentRecord:
    incident = records.get(s, incident_id)
    if incident is None:
        raise NotFound("unknown incident %(incident)s", field="incident", incident=incident_id)
    if incident.status == "resolved":
        raise InvalidAction("incident %(incident)s is already resolved", field="incident", incident=incident_id)
    return incident


def listing(rt: Runtime, *, include_resolved: bool = False, limit: int = 200) -> list[IncidentRecord]:
    statuses = (*records.UNRESOLVED, "resolved") if include_resolved else records.UNRESOLVED
    with rt.db.read_session() as s:
        return records.listing(s, statuses, limit)


def counts(rt: Runtime) -> dict[str, int]:
    with rt.db.read_session() as s:
        found = records.count_by_status(s)
    return {status: found.get(status, 0) for status in ("retrying", "open", "resolved")}


class Outcome:
    """Whether a guarded item ran through (False when it failed and was recorded)."""

    ok = False


@contextmanager
def guarded(session: Session, subject: Subject, now: datetime, watchdog=None) -> Iterator[Outcome]:
    """Run one item of a batch isolated and bounded by the watchdog; a failure (any exception,
    the watchdog's included) is recorded against the item and does not reach the batch."""
    outcome = Outcome()
    try:
        with isolated(session), watchdog.item() if watchdog is not None else nullcontext():
            yield outcome
        outcome.ok = True
    except StopRequested:
        raise
    except Exception as exc:  # noqa: BLE001 - one item's failure must never stop the others
        record_failure(session, subject, exc, now)


def open_count(rt: Runtime, unit_codes) -> int:
    """Open incidents on dossiers of these units: the supervisor's dashboard shows them."""
    with rt.db.read_session() as s:
        return records.count_open_in_units(s, unit_codes)
