"""Leases on due rows, so any number of workers share the work without doing it twice.

On PostgreSQL the candidate rows are locked with FOR UPDATE SKIP LOCKED while the lease is
written, so concurrent workers take disjoint batches; a lease that expires (its worker died)
makes the row visible again. SQLite serialises writers, so one worker at a time leases.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session


def lease(
    session: Session, model, *, due_column, ready_filter, owner: str, now: datetime, ttl: timedelta, limit: int
) -> list[int]:
    """Lease up to `limit` due rows of `model` to `owner`; returns their ids, earliest due first."""
    query = (
        select(model.id)
        .where(due_column <= now, ready_filter, or_(model.lease_expires_at.is_(None), model.lease_expires_at < now))
        .order_by(due_column, model.id)  # rows due together in the order they were written
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        # A core UPDATE: the lease must not bump the row's optimistic-lock version.
        session.execute(
            update(model)
            .where(model.id.in_(ids))
            .values(lease_owner=owner, lease_expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        )
    return ids


def holds_lease(row, owner: str, now: datetime) -> bool:
    return row.lease_owner == owner and row.lease_expires_at is not None and row.lease_expires_at >= now


def release(session: Session, model, ids: list[int], owner: str) -> None:
    """Give back this owner's leases on these rows (a core UPDATE, like the lease itself)."""
    if ids:
        session.execute(
            update(model)
            .where(model.id.in_(ids), model.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
