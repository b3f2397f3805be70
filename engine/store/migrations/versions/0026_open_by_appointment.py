"""the at-risk list's index: the open dossiers by appointment (engine.store.statistics.at_risk_candidates
reads them a page at a time from the nearest appointment, instead of every open dossier of a province)

Revision ID: 0026
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa

revision = '0026'
down_revision = '0024'
branch_labels = None
depends_on = None

OPEN = sa.text('completed_at IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.create_index('ix_dossier_open_by_appointment', ['appointment_at', 'id'],
                              postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.drop_index('ix_dossier_open_by_appointment')
