"""citizen store: documents kept per personal identification number, their reuses, result signing

Adds citizen_document (a completed dossier's reception scans and results, per CCCD number),
citizen_reuse (each kept document linked to a later dossier: who, when, which dossier) and
result_signing (a leader's approval whose result PDF the worker renders and signs).

Revision ID: 0021
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0021'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'citizen_document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('id_number', sa.String(length=12), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('attachment_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('kept_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id']),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('id_number', 'attachment_id', name='uq_citizen_document_file'),
    )
    op.create_index('ix_citizen_document_holder', 'citizen_document', ['id_number', 'kept_at'])
    op.create_index('ix_citizen_document_dossier_id', 'citizen_document', ['dossier_id'])
    op.create_table(
        'citizen_reuse',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('attachment_id', sa.Integer(), nullable=False),
        sa.Column('checklist_index', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=80), nullable=False),
        sa.Column('on_behalf_of', sa.String(length=80), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id']),
        sa.ForeignKeyConstraint(['document_id'], ['citizen_document.id']),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_citizen_reuse_document_id', 'citizen_reuse', ['document_id'])
    op.create_index('ix_citizen_reuse_dossier_id', 'citizen_reuse', ['dossier_id'])
    op.create_table(
        'result_signing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('work_item_id', sa.Integer(), nullable=True),
        sa.Column('approved_by', sa.String(length=80), nullable=False),
        sa.Column('approved_at', UTCDateTime(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('due_at', UTCDateTime(), nullable=True),
        sa.Column('attachment_id', sa.Integer(), nullable=True),
        sa.Column('signer', sa.String(length=300), nullable=True),
        sa.Column('signed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id']),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.ForeignKeyConstraint(['work_item_id'], ['work_item.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dossier_id'),
    )
    op.create_index('ix_result_signing_due', 'result_signing', ['status', 'due_at'])


def downgrade() -> None:
    op.drop_table('result_signing')
    op.drop_table('citizen_reuse')
    op.drop_table('citizen_document')
