"""Service-task calls waiting for a worker, and the hosts the `http` connector may call.

A row is written in the transaction that leaves a dossier at a service task (one per task,
whatever retries the change makes) and leased by workers through its due time, like timers and
the outbox. The allow-list is the administrator's: the `http` connector refuses any other host.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from engine.store.base import Base
from engine.store.records import UTCDateTime


class ServiceCallRecord(Base):
    __tablename__ = "service_call"
    __table_args__ = (UniqueConstraint("dossier_id", "task_id", name="ux_service_call_task"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(Integer, index=True)
    task_id: Mapped[str] = mapped_column(String(36))  # the STARTED SpiffWorkflow task
    element_id: Mapped[str] = mapped_column(String(120))
    connector: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12))  # pending | done | failed (an incident is open)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    backoff_base: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConnectorHostRecord(Base):
    """A host the `http` connector may call (exact name, lower case; a port is not part of it)."""

    __tablename__ = "connector_host"

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    note: Mapped[str | None] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(80))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


def record_pending(session: Session, dossier_id: int, calls, now: datetime) -> None:
    """A call row for every service task a change left waiting (engine.bpmn.service_tasks.PendingCall)."""
    for call in calls:
        add_call_once(
            session,
            dossier_id=dossier_id,
            task_id=call.task_id,
            element_id=call.element_id,
            connector=call.connector,
            params=json.loads(json.dumps(call.params, default=str)),
            status="pending",
            attempts=0,
            max_attempts=call.retries + 1,
            backoff_base=call.backoff_base,
            due_at=now,
            created_at=now,
        )


def add_call_once(session: Session, **values) -> None:
    """Insert the call unless its task already has one (a change retried after a lost race)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(ServiceCallRecord).values(**values).on_conflict_do_nothing(index_elements=["dossier_id", "task_id"])
    )


def set_due(session: Session, call_id: int, at: datetime | None) -> None:
    """Park a call until `at` (None: until an administrator retries it)."""
    status = "pending" if at is not None else "failed"
    session.execute(
        update(ServiceCallRecord)
        .where(ServiceCallRecord.id == call_id)
        .values(due_at=at, status=status)
        .execution_options(synchronize_session=False)
    )


def allowed_hosts(session: Session) -> list[ConnectorHostRecord]:
    return list(session.scalars(select(ConnectorHostRecord).order_by(ConnectorHostRecord.host)))


def is_allowed(session: Session, host: str) -> bool:
    return session.get(ConnectorHostRecord, host.lower()) is not None
