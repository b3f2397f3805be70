"""idempotency keys of API starts: a start whose answer was lost (its web process died) is sent
again with the same key and answered with the dossier it started, never a second one

Revision ID: 0023
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0023'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'idempotency_key',
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.PrimaryKeyConstraint('username', 'key'),
    )


def downgrade() -> None:
    op.drop_table('idempotency_key')
