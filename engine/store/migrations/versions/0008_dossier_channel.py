"""dossier channel: how each dossier was received (counter, online, post)

Revision ID: 0008
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every dossier received before this column existed came through the desk.
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), nullable=False, server_default='counter'))


def downgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('channel')
