"""service calls: service tasks waiting for a worker, and the http connector's allowed hosts

Revision ID: 0016
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0016'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_call',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('element_id', sa.String(length=120), nullable=False),
        sa.Column('connector', sa.String(length=40), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('backoff_base', sa.Integer(), nullable=False),
        sa.Column('due_at', UTCDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('lease_owner', sa.String(length=80), nullable=True),
        sa.Column('lease_expires_at', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('completed_at', UTCDateTime(), nullable=True),
        sa.UniqueConstraint('dossier_id', 'task_id', name='ux_service_call_task'),
    )
    op.create_index('ix_service_call_dossier_id', 'service_call', ['dossier_id'])
    op.create_index('ix_service_call_due_at', 'service_call', ['due_at'])
    op.create_table(
        'connector_host',
        sa.Column('host', sa.String(length=253), primary_key=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('added_by', sa.String(length=80), nullable=False),
        sa.Column('added_at', UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('connector_host')
    op.drop_index('ix_service_call_due_at', table_name='service_call')
    op.drop_index('ix_service_call_dossier_id', table_name='service_call')
    op.drop_table('service_call')
