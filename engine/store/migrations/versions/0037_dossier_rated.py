"""a dossier says whether it was rated (dossier.rated): completing a step of a rated dossier counts
the rating for the step's officer (engine.store.satisfaction_rollups), and every completion read the
ratings to find out, one statement per completion for the few dossiers ever rated; the flag is read
with the dossier instead. Set by the rating's own change; filled here from the ratings already there.

Revision ID: 0037
Revises: 0036
"""
from alembic import op
import sqlalchemy as sa

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added and dropped in place (SQLite 3.35+ drops a column itself): a batch copy of the table
    # would drop the old one under the foreign keys of its steps.
    op.add_column('dossier', sa.Column('rated', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        sa.text('UPDATE dossier SET rated = :rated WHERE id IN (SELECT dossier_id FROM satisfaction)')
        .bindparams(rated=True)
    )


def downgrade() -> None:
    op.drop_column('dossier', 'rated')
