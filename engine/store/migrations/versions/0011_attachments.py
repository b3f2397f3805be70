"""attachments: the files of a dossier (reception scans, processing records, results)

Only what a file is (name, type, size, SHA-256, who and when, its random key); the bytes live in
the document store (a local folder or an S3-compatible bucket, engine.documents).

Revision ID: 0011
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'attachment',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('key', sa.String(64), nullable=False),
        sa.Column('dossier_id', sa.Integer(), sa.ForeignKey('dossier.id'), nullable=False),
        sa.Column('work_item_id', sa.Integer(), sa.ForeignKey('work_item.id'), nullable=True),
        sa.Column('checklist_index', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(12), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('content_type', sa.String(100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('storage_key', sa.String(200), nullable=False),
        sa.Column('uploaded_by', sa.String(80), nullable=False),
        sa.Column('on_behalf_of', sa.String(80), nullable=True),
        sa.Column('uploaded_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('key'),
    )
    op.create_index('ix_attachment_dossier', 'attachment', ['dossier_id', 'uploaded_at'])
    op.create_index('ix_attachment_work_item_id', 'attachment', ['work_item_id'])


def downgrade() -> None:
    op.drop_index('ix_attachment_work_item_id', table_name='attachment')
    op.drop_index('ix_attachment_dossier', table_name='attachment')
    op.drop_table('attachment')
