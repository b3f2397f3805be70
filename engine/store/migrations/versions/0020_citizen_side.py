"""the citizen side: notification providers per province or unit, fee payments, satisfaction
ratings (Decision 766/QĐ-TTg), and whether a procedure's fees are paid before it is processed

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0020'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notification_provider',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_code'], ['unit.code'], name=op.f('fk_notification_provider_unit_code_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_provider')),
        sa.UniqueConstraint('unit_code', 'channel', name=op.f('uq_notification_provider_unit_code')),
    )
    op.create_table(
        'payment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('amount_vnd', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=True),
        sa.Column('paid_at', UTCDateTime(), nullable=False),
        sa.Column('recorded_by', sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_payment_dossier_id_dossier')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    )
    op.create_index(op.f('ix_payment_dossier_id'), 'payment', ['dossier_id'])
    op.create_table(
        'satisfaction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('procedure_code', sa.String(length=40), nullable=True),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('time_score', sa.Integer(), nullable=False),
        sa.Column('attitude_score', sa.Integer(), nullable=False),
        sa.Column('information_score', sa.Integer(), nullable=False),
        sa.Column('result_score', sa.Integer(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('rated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_satisfaction_dossier_id_dossier')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction')),
        sa.UniqueConstraint('dossier_id', name=op.f('uq_satisfaction_dossier_id')),
    )
    op.create_index(op.f('ix_satisfaction_unit_code'), 'satisfaction', ['unit_code'])
    op.create_index(op.f('ix_satisfaction_rated_at'), 'satisfaction', ['rated_at'])
    with op.batch_alter_table('procedure') as batch_op:
        batch_op.add_column(sa.Column('fees_before_processing', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('procedure') as batch_op:
        batch_op.drop_column('fees_before_processing')
    op.drop_table('satisfaction')
    op.drop_table('payment')
    op.drop_table('notification_provider')
