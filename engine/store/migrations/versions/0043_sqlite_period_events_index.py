"""ix_audit_event_at holds only the events reports read by period on SQLite too (PostgreSQL's since
0042): the returns, hand-overs, apology letters and SLA levels (records.PERIOD_ACTIONS), not the
starts, claims and completions that are nearly every event. Each event SQLite wrote an entry into
it, and each completion's commit a page of it (1.3 of 17 WAL frames of 4 KB in
benchmarks/engine.py's use case). The reports that read it (engine.store.statistics.escalations,
kpi_queries.officer_events) carry the index's condition word for word, which is what SQLite needs
to use a partial index.

Revision ID: 0043
Revises: 0042
"""

from alembic import op
from sqlalchemy import text

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

#: records.PERIOD_EVENTS as it was at this revision (the same condition as 0042's on PostgreSQL).
EVENTS_AT_CONDITION = (
    "action IN ('apology_requested', 'reappoint', 'reassign', 'return', 'sla_breach', 'sla_escalation', 'sla_warning')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_audit_event_at", table_name="audit_event")
        op.create_index("ix_audit_event_at", "audit_event", ["at"], sqlite_where=text(EVENTS_AT_CONDITION))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_audit_event_at", table_name="audit_event")
        op.create_index("ix_audit_event_at", "audit_event", ["at"])
