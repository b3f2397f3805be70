"""five indexes no query needs, dropped: every INSERT, and every UPDATE that cannot be heap-only
(HOT), writes an entry into each index of its table, and each claim and completion writes its
dossier and steps that way (a step's state and assignee, a dossier's apology check are indexed)
and appends an audit event. On PostgreSQL 15 such a dossier UPDATE cost 187-193 µs of backend
CPU with the three dossier indexes below gone against 203-257 µs with them (3,000 updates a
round, three alternated rounds); a HOT one 133 µs.

- ix_dossier_unit_status (unit_code, status): no query filters on a commune's statuses; those that
  read one commune's dossiers (the register, the portal's pages) have ix_dossier_unit_definition
  with the same first column.
- ix_dossier_definition_id: every query that narrows to a template version also narrows to
  communes (ix_dossier_unit_definition, ix_dossier_unfinished); no template version is ever deleted,
  so the foreign key needs no index for its checks.
- ix_dossier_variant_id: no query reads dossiers by variant, and variants are never deleted.
- ix_work_item_queue (unit_code, role, state): the group tab's unassigned steps of a commune's roles
  are read along ix_work_item_group (unit_code, assignee IS NULL, role, state) instead.
- ix_audit_event_work_item_id: events are joined to their step by the step's key, never looked up
  by it, and no step is ever deleted.

Revision ID: 0040
Revises: 0039
"""

from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossier") as batch_op:
        batch_op.drop_index("ix_dossier_unit_status")
        batch_op.drop_index("ix_dossier_definition_id")
        batch_op.drop_index("ix_dossier_variant_id")
    with op.batch_alter_table("work_item") as batch_op:
        batch_op.drop_index("ix_work_item_queue")
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.drop_index("ix_audit_event_work_item_id")


def downgrade() -> None:
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.create_index("ix_audit_event_work_item_id", ["work_item_id"], unique=False)
    with op.batch_alter_table("work_item") as batch_op:
        batch_op.create_index("ix_work_item_queue", ["unit_code", "role", "state"], unique=False)
    with op.batch_alter_table("dossier") as batch_op:
        batch_op.create_index("ix_dossier_variant_id", ["variant_id"], unique=False)
        batch_op.create_index("ix_dossier_definition_id", ["definition_id"], unique=False)
        batch_op.create_index("ix_dossier_unit_status", ["unit_code", "status"], unique=False)
