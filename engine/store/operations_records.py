"""What the workers report about themselves: incidents (work that failed and is retried, then
parked for an administrator) and heartbeats (each worker's last pass), read by the health checks,
the administrator's page and `motcua incidents` / `motcua status`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Float
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import UTCDateTime
from engine.store.records import WorkItemRecord

UNRESOLVED = ("retrying", "open")


class IncidentRecord(Base):
    """One failing piece of background work: a dossier's timers, a step's SLA level, a dossier's
    apology forecast, a notification or an absence hand-over. While `retrying` the work is tried
    again at `retry_at`; once `open` it waits for an administrator (retry or resolve)."""

    __tablename__ = "incident"
    __table_args__ = (
        # At most one unresolved incident per piece of work: a repeated failure counts an attempt.
        Index(
            "ux_incident_unresolved",
            "kind",
            "subject_id",
            unique=True,
            sqlite_where=text("status <> 'resolved'"),
            postgresql_where=text("status <> 'resolved'"),
        ),
        Index("ix_incident_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # timer | sla | forecast | outbox | absence
    subject_id: Mapped[int] = mapped_column(Integer)  # dossier, work item or outbox id, by kind
    dossier_id: Mapped[int | None] = mapped_column(Integer, index=True)
    work_item_id: Mapped[int | None] = mapped_column(Integer)
    element_id: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))  # retrying | open | resolved
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(12))  # succeeded | retried | resolved


class WorkerHeartbeatRecord(Base):
    """Each worker's last finished pass: readiness asks whether some worker beat recently."""

    __tablename__ = "worker_heartbeat"

    worker_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    pass_seconds: Mapped[float] = mapped_column(Float)
    passes: Mapped[int] = mapped_column(Integer, default=0)
    last_counts: Mapped[dict] = mapped_column(JSON, default=dict)
    # Everything this worker did since it started (timers, SLA levels, apologies, messages...):
    # summed over workers, the counters /metrics reports.
    totals: Mapped[dict] = mapped_column(JSON, default=dict)
    busy_seconds: Mapped[float] = mapped_column(Float, default=0.0)


# -- incidents ----------------------------------------------------------------------------------


def unresolved(session: Session, kind: str, subject_id: int) -> IncidentRecord | None:
    return session.scalar(
        select(IncidentRecord).where(
            IncidentRecord.kind == kind, IncidentRecord.subject_id == subject_id, IncidentRecord.status.in_(UNRESOLVED)
        )
    )


def unresolved_subjects(session: Session, kind: str, subject_ids) -> set[int]:
    """Which of these subjects have an unresolved incident (one query for a whole batch)."""
    ids = list(subject_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(IncidentRecord.subject_id).where(
                IncidentRecord.kind == kind, IncidentRecord.subject_id.in_(ids), IncidentRecord.status.in_(UNRESOLVED)
            )
        )
    )


def parked_subjects(session: Session, kind: str, now: datetime) -> set[int]:
    """Subjects not to touch now: open incidents, and retrying ones whose retry time is ahead."""
    return set(
        session.scalars(
            select(IncidentRecord.subject_id).where(
                IncidentRecord.kind == kind,
                (IncidentRecord.status == "open")
                | ((IncidentRecord.status == "retrying") & (IncidentRecord.retry_at > now)),
            )
        )
    )


def add(session: Session, **values) -> IncidentRecord:
    incident = IncidentRecord(**values)
    session.add(incident)
    session.flush()
    return incident


def get(session: Session, incident_id: int) -> IncidentRecord | None:
    return session.get(IncidentRecord, incident_id)


def listing(session: Session, statuses=UNRESOLVED, limit: int = 200) -> list[IncidentRecord]:
    return list(
        session.scalars(
            select(IncidentRecord)
            .where(IncidentRecord.status.in_(statuses))
            .order_by(IncidentRecord.last_failed_at.desc(), IncidentRecord.id.desc())
            .limit(limit)
        )
    )


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(IncidentRecord.status, func.count()).group_by(IncidentRecord.status))
    return {status: n for status, n in rows}


def count_open_in_units(session: Session, unit_codes) -> int:
    """Open incidents on dossiers of these units (None: every unit), for the supervisor."""
    query = (
        select(func.count())
        .select_from(IncidentRecord)
        .join(DossierRecord, DossierRecord.id == IncidentRecord.dossier_id)
        .where(IncidentRecord.status == "open")
    )
    if unit_codes is not None:
        query = query.where(DossierRecord.unit_code.in_(list(unit_codes)))
    return session.scalar(query) or 0


# -- parking and releasing the work an incident is about -----------------------------------------
# Core UPDATEs: this is the workers' bookkeeping, kept beside the rows' optimistic versions.


def set_timer_due(session: Session, dossier_id: int, at: datetime | None) -> None:
    table = DossierRecord.__table__
    session.execute(
        update(table).where(table.c.id == dossier_id).values(next_timer_at=at, lease_owner=None, lease_expires_at=None)
    )


def set_sla_due(session: Session, work_item_id: int, at: datetime | None) -> None:
    table = WorkItemRecord.__table__
    session.execute(update(table).where(table.c.id == work_item_id).values(next_sla_at=at))


def set_forecast_due(session: Session, dossier_id: int, at: datetime | None) -> None:
    table = DossierRecord.__table__
    session.execute(update(table).where(table.c.id == dossier_id).values(apology_check_at=at))


def requeue_message(session: Session, message_id: int, at: datetime) -> None:
    table = OutboxRecord.__table__
    session.execute(
        update(table)
        .where(table.c.id == message_id)
        .values(status="pending", attempts=0, available_at=at, lease_owner=None, lease_expires_at=None)
    )


def dead_messages_without_incident(session: Session, limit: int = 200) -> list[OutboxRecord]:
    known = select(IncidentRecord.subject_id).where(
        IncidentRecord.kind == "outbox", IncidentRecord.status.in_(UNRESOLVED)
    )
    return list(
        session.scalars(
            select(OutboxRecord).where(OutboxRecord.status == "dead", OutboxRecord.id.not_in(known)).limit(limit)
        )
    )


# -- heartbeats ----------------------------------------------------------------------------------


def beat(session: Session, worker_id: str, at: datetime, pass_seconds: float, counts: dict) -> None:
    row = session.get(WorkerHeartbeatRecord, worker_id)
    if row is None:
        row = WorkerHeartbeatRecord(worker_id=worker_id, passes=0)
        session.add(row)
    row.beat_at, row.pass_seconds, row.last_counts = at, pass_seconds, counts
    row.passes = (row.passes or 0) + 1
    row.busy_seconds = (row.busy_seconds or 0.0) + pass_seconds
    totals = dict(row.totals or {})
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value
    row.totals = totals  # a new dict: the JSON column sees the change


def heartbeats(session: Session) -> list[WorkerHeartbeatRecord]:
    return list(session.scalars(select(WorkerHeartbeatRecord).order_by(WorkerHeartbeatRecord.beat_at.desc())))


# -- what the health checks read -----------------------------------------------------------------


def ping(session: Session) -> None:
    session.execute(select(1))


def outbox_backlog(session: Session, now: datetime) -> dict[str, int]:
    """Messages due and not yet sent, and dead letters."""
    due = (
        session.scalar(
            select(func.count())
            .select_from(OutboxRecord)
            .where(OutboxRecord.status == "pending", OutboxRecord.available_at <= now)
        )
        or 0
    )
    dead = session.scalar(select(func.count()).select_from(OutboxRecord).where(OutboxRecord.status == "dead")) or 0
    return {"due": due, "dead": dead}


def latest_beat(session: Session) -> WorkerHeartbeatRecord | None:
    return session.scalar(select(WorkerHeartbeatRecord).order_by(WorkerHeartbeatRecord.beat_at.desc()).limit(1))
