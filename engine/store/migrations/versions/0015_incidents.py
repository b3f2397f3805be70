"""incidents and worker heartbeats: failing background work is retried, then parked for an
administrator instead of stopping the worker; each worker records its last pass for /readyz;
a notification keeps the id of the web request that queued it (for the logs)

Revision ID: 0015
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=True),
        sa.Column('work_item_id', sa.Integer(), nullable=True),
        sa.Column('element_id', sa.String(length=120), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('first_failed_at', UTCDateTime(), nullable=False),
        sa.Column('last_failed_at', UTCDateTime(), nullable=False),
        sa.Column('retry_at', UTCDateTime(), nullable=True),
        sa.Column('resolved_at', UTCDateTime(), nullable=True),
        sa.Column('resolved_by', sa.String(length=80), nullable=True),
        sa.Column('resolution', sa.String(length=12), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_incident_dossier_id', 'incident', ['dossier_id'])
    op.create_index('ix_incident_status', 'incident', ['status'])
    op.create_index('ux_incident_unresolved', 'incident', ['kind', 'subject_id'], unique=True,
                    sqlite_where=sa.text("status <> 'resolved'"),
                    postgresql_where=sa.text("status <> 'resolved'"))
    op.create_table(
        'worker_heartbeat',
        sa.Column('worker_id', sa.String(length=80), nullable=False),
        sa.Column('beat_at', UTCDateTime(), nullable=False),
        sa.Column('pass_seconds', sa.Float(), nullable=False),
        sa.Column('passes', sa.Integer(), nullable=False),
        sa.Column('last_counts', sa.JSON(), nullable=False),
        sa.Column('totals', sa.JSON(), nullable=False),
        sa.Column('busy_seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('worker_id'),
    )
    op.create_index('ix_worker_heartbeat_beat_at', 'worker_heartbeat', ['beat_at'])
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('request_id')
    op.drop_table('worker_heartbeat')
    op.drop_index('ux_incident_unresolved', table_name='incident')
    op.drop_index('ix_incident_status', table_name='incident')
    op.drop_index('ix_incident_dossier_id', table_name='incident')
    op.drop_table('incident')
