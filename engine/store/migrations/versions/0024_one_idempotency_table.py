"""one idempotency mechanism: `idempotency_key` keeps, per caller and key, the request's hash and
its answer, written in the change's own transaction; `idempotent_request` (answers stored after
the change committed) is dropped. Neither table held production data, so both are rebuilt empty.

Revision ID: 0024
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0024'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('idempotent_request')
    op.drop_table('idempotency_key')
    op.create_table(
        'idempotency_key',
        sa.Column('caller', sa.String(length=80), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('caller', 'key'),
    )


def downgrade() -> None:
    op.drop_table('idempotency_key')
    op.create_table(
        'idempotency_key',
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.PrimaryKeyConstraint('username', 'key'),
    )
    op.create_table(
        'idempotent_request',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
