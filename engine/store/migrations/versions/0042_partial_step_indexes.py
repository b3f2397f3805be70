"""six indexes hold only the rows their queries can ask for: every INSERT, and every UPDATE that is
not heap-only (a claim's and a completion's never are: they change the step's state and assignee,
and a change of a dossier moves its indexed apology check), writes an entry into every full index
of its table and into each partial index whose condition the new row meets. Each condition is one
PostgreSQL (and SQLite) proves from the queries' own terms whatever their parameters (`x <= :now`
and `x = :name` imply `x IS NOT NULL`), so prepared generic plans keep using these indexes.

- ix_work_item_group (the inbox's group tab: `assignee IS NULL`): a claimed or closed step is no
  longer in it.
- ix_work_item_owner (the tab of steps delegated out: `owner = :me`): only delegated steps.
- ix_work_item_assignee (the inbox's own tabs, the absences' hand-over: `assignee = :me`,
  `assignee IN (...)`): not the unassigned ones.
- ix_work_item_sla (the SLA sweep: `next_sla_at <= :now`): not the closed steps.
- ix_dossier_lease (the timers: `next_timer_at <= :now`): only dossiers waiting on a timer.
- ix_dossier_apology_check_at (the forecasts due: `apology_check_at <= :now`): not the closed ones.
- ix_audit_event_at, on PostgreSQL: only the events the reports read by period (returns,
  hand-overs, apology letters, SLA levels; `records.PERIOD_ACTIONS`), which write their actions into
  the statement; not the starts, claims and completions, nearly every event. SQLite proves no IN
  list from `action = 'x'`: its index keeps every event.

Per step claimed and completed in `benchmarks/http.py`'s model, 15 index entries of its row
written instead of 22 (7 at its creation, 7 at its claim, 8 at its completion -> 5, 5, 5), one
fewer for its dossier's every change, one fewer for each of its ~3 audit events.

Revision ID: 0042
Revises: 0041
"""

from alembic import op
from sqlalchemy import text

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

#: (index, table, columns, the condition of its rows)
PARTIAL = (
    ("ix_work_item_group", "work_item", ["unit_code", "assignee", "role", "state", "due_at"], "assignee IS NULL"),
    ("ix_work_item_owner", "work_item", ["owner", "state"], "owner IS NOT NULL"),
    ("ix_work_item_assignee", "work_item", ["assignee", "state"], "assignee IS NOT NULL"),
    ("ix_work_item_sla", "work_item", ["next_sla_at"], "next_sla_at IS NOT NULL"),
    ("ix_dossier_lease", "dossier", ["next_timer_at", "lease_expires_at"], "next_timer_at IS NOT NULL"),
    ("ix_dossier_apology_check_at", "dossier", ["apology_check_at"], "apology_check_at IS NOT NULL"),
)


#: The actions of records.PERIOD_ACTIONS as they were at this revision.
EVENTS_AT_CONDITION = (
    "action IN ('apology_requested', 'reappoint', 'reassign', 'return', 'sla_breach', 'sla_escalation', 'sla_warning')"
)


def upgrade() -> None:
    for name, table, columns, condition in PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, postgresql_where=text(condition), sqlite_where=text(condition))
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_audit_event_at", table_name="audit_event")
        op.create_index("ix_audit_event_at", "audit_event", ["at"], postgresql_where=text(EVENTS_AT_CONDITION))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_audit_event_at", table_name="audit_event")
        op.create_index("ix_audit_event_at", "audit_event", ["at"])
    for name, table, columns, _condition in reversed(PARTIAL):
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
