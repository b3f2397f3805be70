"""officers' KPIs: each completed step's working time, and the KPIs per day and month, commune and
officer (engine.store.officer_rollups), filled from the steps and the audit log already kept

Steps completed before this revision get their working time where it follows from what they
kept (a budget counted from the step's arrival, outside a shared budget: budget - margin); the
others stay without one (counted as steps, not in the working-time figures).

Revision ID: 0022
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from engine.domain import kpi

revision = '0022'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('work_item', sa.Column('working_minutes', sa.Integer(), nullable=True))
    op.create_table(
        'officer_rollup',
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default='0') for name in kpi.COLUMNS),
        sa.PrimaryKeyConstraint('grain', 'day', 'unit_code', 'username'),
    )
    op.execute("UPDATE work_item SET working_minutes = budget_minutes - margin_minutes "
                "WHERE state = 'completed' AND budget_minutes IS NOT NULL AND margin_minutes IS NOT NULL "
                "AND budget_group IS NULL AND budget_minutes >= margin_minutes")
    # Filled by 0034, which gives the rows their template version (the recount is today's code).


def downgrade() -> None:
    op.drop_table('officer_rollup')
    # ALTER TABLE, not a batch copy: SQLite (3.35+) drops the column in place, where copying the
    # table would trip the audit log's foreign keys to it.
    op.execute("ALTER TABLE work_item DROP COLUMN working_minutes")
