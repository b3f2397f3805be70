"""apology forecast: when to look again, and for which appointment the leaders were asked

The apology request used to fire at a fixed offset (one working day before the appointment); it now
follows the forecast of the remaining work (engine.domain.forecast). Running dossiers are looked at
again by the next SLA sweep.

Revision ID: 0010
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.drop_index('ix_dossier_apology_due_at')
        batch_op.alter_column('apology_due_at', new_column_name='apology_check_at')
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.add_column(sa.Column('apology_requested_for', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_dossier_apology_check_at', ['apology_check_at'], unique=False)
    op.execute("UPDATE dossier SET apology_check_at = received_at "
               "WHERE run_state = 'running' AND appointment_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.drop_index('ix_dossier_apology_check_at')
        batch_op.drop_column('apology_requested_for')
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.alter_column('apology_check_at', new_column_name='apology_due_at')
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.create_index('ix_dossier_apology_due_at', ['apology_due_at'], unique=False)
