"""inbox indexes: every tab, count and the procedure filter read an index, not the work items of
the whole table

The "mine" tab is an OR of the officer's own steps (assignee) and the steps they delegated out
(owner): without an index on owner the OR read all of work_item. The group tab and its count read
the commune's unassigned steps of the officer's roles from one index (unit, assignee, role, state,
due). The procedure filter's choices read (unit, definition) of the unit's dossiers only.

Revision ID: 0013
Revises: 0015
"""
from alembic import op

revision = '0013'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_work_item_owner', 'work_item', ['owner', 'state'])
    op.create_index('ix_work_item_group', 'work_item', ['unit_code', 'assignee', 'role', 'state', 'due_at'])
    op.create_index('ix_dossier_unit_definition', 'dossier', ['unit_code', 'definition_id'])


def downgrade() -> None:
    op.drop_index('ix_dossier_unit_definition', table_name='dossier')
    op.drop_index('ix_work_item_group', table_name='work_item')
    op.drop_index('ix_work_item_owner', table_name='work_item')
