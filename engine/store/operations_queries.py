"""What operators read of the running service: the figures /metrics reports at scrape time and
how far a report replica lags; reads only."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.domain.model import OPEN_STATES
from engine.store.operations_records import UNRESOLVED
from engine.store.operations_records import IncidentRecord
from engine.store.operations_records import heartbeats
from engine.store.operations_records import latest_beat
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord


def gauges(session: Session, now: datetime) -> dict[str, list[tuple[tuple[str, ...], float]]]:
    """What /metrics reports from the database at scrape time, as {name: [(labels, value)]}."""
    items = session.execute(
        select(WorkItemRecord.state, func.count())
        .where(WorkItemRecord.state.in_(OPEN_STATES))
        .group_by(WorkItemRecord.state)
    ).all()
    outbox = session.execute(
        select(OutboxRecord.channel, OutboxRecord.status, func.count())
        .where(OutboxRecord.status.in_(("pending", "dead")))
        .group_by(OutboxRecord.channel, OutboxRecord.status)
    ).all()
    incidents = session.execute(
        select(IncidentRecord.kind, IncidentRecord.status, func.count())
        .where(IncidentRecord.status.in_(UNRESOLVED))
        .group_by(IncidentRecord.kind, IncidentRecord.status)
    ).all()
    due_timers, oldest = session.execute(
        select(func.count(), func.min(DossierRecord.next_timer_at)).where(DossierRecord.next_timer_at <= now)
    ).one()
    if oldest is not None and oldest.tzinfo is None:  # func.min() skips the column type on SQLite
        oldest = oldest.replace(tzinfo=UTC)
    beat = latest_beat(session)
    workers = heartbeats(session)
    done: dict[str, float] = {}
    for row in workers:
        for key, value in (row.totals or {}).items():
            done[key] = done.get(key, 0) + value
    started, completed = session.execute(select(func.count(), func.count(DossierRecord.completed_at))).one()
    return {
        "dossiers_started": [((), started)],
        "dossiers_completed": [((), completed)],
        "worker_done": [((kind,), n) for kind, n in sorted(done.items()) if kind != "cut_short"],
        "worker_passes": [((), sum(row.passes for row in workers))],
        "worker_busy_seconds": [((), sum(row.busy_seconds or 0.0 for row in workers))],
        "worker_passes_cut_short": [((), done.get("cut_short", 0))],
        "open_work_items": [((state,), n) for state, n in items],
        "outbox_messages": [((channel, status), n) for channel, status, n in outbox],
        "incidents": [((kind, status), n) for kind, status, n in incidents],
        "due_timers": [((), due_timers or 0)],
        "timer_lag_seconds": [((), (now - oldest).total_seconds() if oldest else 0.0)],
        "worker_heartbeat_age_seconds": [((), (now - beat.beat_at).total_seconds() if beat else -1.0)],
        "worker_last_pass_seconds": [((), beat.pass_seconds if beat else 0.0)],
    }


def replica_lag_seconds(session: Session) -> float:
    """How far the report database (a PostgreSQL replica) is behind its primary: 0 when it has
    replayed all it received (an idle primary sends nothing, which is no lag) or is no replica."""
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    return float(
        session.execute(
            text(
                "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
                " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
                " ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
            )
        ).scalar()
        or 0
    )
