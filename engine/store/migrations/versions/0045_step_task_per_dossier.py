"""a step's task is unique within its dossier, and that one index also finds a dossier's steps: it
replaces uq_work_item_task_id (task_id) and ix_work_item_dossier_id (dossier_id). No query looks a
step up by its task alone (the engine completes a task of the dossier it has read), so the
uniqueness a projection relies on, a ready task projected once, is its dossier's; every query and
foreign-key check that reads a dossier's steps has the new index's first column. A step is written
with no HOT update (a claim and a completion change its indexed state and assignee), so each
INSERT and UPDATE of a step wrote an entry into both indexes: one entry fewer per write, and one
index fewer for each statement that writes steps to open, on both databases.

And on PostgreSQL ix_work_item_assignee (the inbox's own tabs, the absences' hand-over) holds only
the open steps someone holds: a completed step keeps its assignee, so its completion wrote one more
entry there, and the index kept every step ever claimed. Those queries ask for the open states
written into the statement (records.open_steps), from which generic plans prove the condition.
SQLite keeps every held step there: inside the own tab's OR it proves no condition of the outer
query, and read the whole table for the tab with this one.

And audit_event.work_item_id loses its foreign key (both databases): PostgreSQL checked it for every
event with a query of its own and a row lock on the step, about 8% of the backend's CPU per claim
and per completion (alternated in-process runs). Every writer takes the id from the step its change
writes, no step is ever deleted (migration 0040 relies on that too), and the event's chain hash
covers the id, so `motcua audit verify` finds a link changed afterwards. The event's dossier keeps
its foreign key: a dossier with a history cannot be deleted.

Revision ID: 0045
Revises: 0044
"""

from alembic import op
from sqlalchemy import text

from engine.store.sqlite_rebuild import rebuild_table

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

TASK_UNIQUE = "CONSTRAINT uq_work_item_task_id UNIQUE (task_id)"
DOSSIER_TASK_UNIQUE = "CONSTRAINT uq_work_item_dossier_task UNIQUE (dossier_id, task_id)"
DOSSIER_INDEX = "CREATE INDEX ix_work_item_dossier_id ON work_item (dossier_id)"
STEP_REFERENCE = "CONSTRAINT fk_audit_event_work_item_id_work_item FOREIGN KEY(work_item_id) REFERENCES work_item (id)"
#: ix_work_item_assignee's condition before (migration 0042) and after (records.OPEN_STEPS as it was).
HELD = "assignee IS NOT NULL"
HELD_OPEN = "assignee IS NOT NULL AND state IN ('claimed', 'open')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        rebuild_table("work_item", TASK_UNIQUE, DOSSIER_TASK_UNIQUE, drop_index="ix_work_item_dossier_id")
        rebuild_table("audit_event", STEP_REFERENCE, "")
    else:
        op.drop_constraint("fk_audit_event_work_item_id_work_item", "audit_event", type_="foreignkey")
        op.create_unique_constraint("uq_work_item_dossier_task", "work_item", ["dossier_id", "task_id"])
        op.drop_constraint("uq_work_item_task_id", "work_item", type_="unique")
        op.drop_index("ix_work_item_dossier_id", table_name="work_item")
        _held_steps_where(HELD_OPEN)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        rebuild_table("audit_event", "", STEP_REFERENCE)
        rebuild_table("work_item", DOSSIER_TASK_UNIQUE, TASK_UNIQUE, add_index=DOSSIER_INDEX)
        return
    op.create_foreign_key("fk_audit_event_work_item_id_work_item", "audit_event", "work_item", ["work_item_id"], ["id"])
    _held_steps_where(HELD)
    op.create_index("ix_work_item_dossier_id", "work_item", ["dossier_id"])
    op.create_unique_constraint("uq_work_item_task_id", "work_item", ["task_id"])
    op.drop_constraint("uq_work_item_dossier_task", "work_item", type_="unique")


def _held_steps_where(condition: str) -> None:
    op.drop_index("ix_work_item_assignee", table_name="work_item")
    op.create_index("ix_work_item_assignee", "work_item", ["assignee", "state"], postgresql_where=text(condition))
