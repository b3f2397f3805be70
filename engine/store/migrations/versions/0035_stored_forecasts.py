"""the at-risk list reads the SLA sweep's stored forecasts: dossier.missed_forecast holds the last
forecast of a dossier found to miss its appointment (engine.services.sla writes it,
engine.services.supervision.at_risk reads it along a partial index of those by appointment). The
open dossiers the sweep had set aside (apology_check_at empty: found to miss, or waiting) are made
due again, so that the worker stores their forecast; until it has, the at-risk list projects them
itself.

Revision ID: 0035
Revises: 0034
"""
from alembic import op
import sqlalchemy as sa

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


MISSED = sa.text('completed_at IS NULL AND apology_check_at IS NULL AND missed_forecast IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.add_column(sa.Column('missed_forecast', sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_index('ix_dossier_missed_by_appointment', ['appointment_at', 'id'],
                              postgresql_where=MISSED, sqlite_where=MISSED)
    # Due since they were received: earlier than any now, whatever the clock of the process.
    op.execute(
        "UPDATE dossier SET apology_check_at = received_at "
        "WHERE completed_at IS NULL AND apology_check_at IS NULL AND appointment_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index('ix_dossier_missed_by_appointment', table_name='dossier')
    # ALTER TABLE, not a batch copy: SQLite (3.35+) drops the column in place, where copying the
    # table would trip the foreign keys to it (as in 0022).
    op.execute("ALTER TABLE dossier DROP COLUMN missed_forecast")
