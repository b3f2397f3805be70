"""apology due time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:40:58.294999
"""
from alembic import op
import sqlalchemy as sa



revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('apology_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_dossier_apology_due_at'), ['apology_due_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_apology_due_at'))
        batch_op.drop_column('apology_due_at')


