"""daily rollups: the dashboard's figures per day and month, commune and template version

Adds figure_rollup (engine.store.rollups), fills it from the dossiers already kept (the same recount
as `motcua rollups rebuild`), and the indexes that keep the open stock, the pauses going on at an
instant, the officers' completed steps and the at-risk list off full scans.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

from engine.store import rollups

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COUNTS = ('received', 'received_counter', 'received_online', 'received_post', 'early', 'on_time', 'late',
          'withdrawn_stopped', 'closed_by_appointment', 'closed_by_later_day')
OPEN = sa.text('completed_at IS NULL')
COMPLETED = sa.text("state = 'completed'")


def upgrade() -> None:
    op.create_table(
        'figure_rollup',
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default='0') for name in COUNTS),
        sa.PrimaryKeyConstraint('grain', 'day', 'unit_code', 'definition_id'),
    )
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.create_index('ix_dossier_open_appointment', ['run_state', 'unit_code', 'appointment_at'])
        batch_op.create_index('ix_dossier_unfinished',
                              ['unit_code', 'definition_id', 'appointment_at', 'received_at', 'id'],
                              postgresql_where=OPEN, sqlite_where=OPEN)
    with op.batch_alter_table('dossier_pause') as batch_op:
        batch_op.create_index('ix_dossier_pause_ended_at', ['ended_at'])
    with op.batch_alter_table('work_item') as batch_op:
        batch_op.create_index('ix_work_item_completed', ['completed_at', 'unit_code', 'completed_by', 'classification'],
                              postgresql_where=COMPLETED, sqlite_where=COMPLETED)
    rollups.rebuild(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('work_item') as batch_op:
        batch_op.drop_index('ix_work_item_completed')
    with op.batch_alter_table('dossier_pause') as batch_op:
        batch_op.drop_index('ix_dossier_pause_ended_at')
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.drop_index('ix_dossier_unfinished')
        batch_op.drop_index('ix_dossier_open_appointment')
    op.drop_table('figure_rollup')
