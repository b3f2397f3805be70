"""portal: each province's portal settings, online submissions waiting at the desk, the answers kept
for interconnection requests' idempotency keys, and an index that keeps the portal channel's
in-order check (an earlier message of the same dossier still unsent) off a scan of the outbox

Revision ID: 0019
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'portal_setting',
        sa.Column('province_code', sa.String(length=16), nullable=False),
        sa.Column('endpoint', sa.String(length=400), nullable=False),
        sa.Column('token', sa.String(length=400), nullable=False),
        sa.Column('agency_ids', sa.JSON(), nullable=False),
        sa.Column('platform_code', sa.String(length=2), nullable=True),
        sa.Column('status_map', sa.JSON(), nullable=False),
        sa.Column('timeout_seconds', sa.Integer(), nullable=False),
        sa.Column('pull_every_seconds', sa.Integer(), nullable=False),
        sa.Column('last_pulled_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('province_code'),
    )
    op.create_table(
        'online_submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('portal_code', sa.String(length=80), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('procedure_code', sa.String(length=40), nullable=False),
        sa.Column('applicant_name', sa.String(length=200), nullable=False),
        sa.Column('applicant', sa.JSON(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=True),
        sa.Column('attachments', sa.JSON(), nullable=False),
        sa.Column('submitted_at', UTCDateTime(), nullable=False),
        sa.Column('arrived_at', UTCDateTime(), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=80), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('dossier_id', sa.Integer(), nullable=True),
        sa.Column('alerted_at', UTCDateTime(), nullable=True),
        sa.Column('rounds', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('portal_code'),
    )
    op.create_index('ix_online_submission_queue', 'online_submission', ['unit_code', 'status', 'arrived_at'])
    op.create_table(
        'idempotent_request',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_outbox_channel_recipient', 'outbox', ['channel', 'recipient', 'id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_channel_recipient', table_name='outbox')
    op.drop_table('idempotent_request')
    op.drop_index('ix_online_submission_queue', table_name='online_submission')
    op.drop_table('online_submission')
    op.drop_table('portal_setting')
