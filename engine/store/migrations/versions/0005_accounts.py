"""throttle hits (failed log-ins, unknown-code lookups) and API tokens

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'throttle_hit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.String(length=160), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_throttle_hit_bucket_at', 'throttle_hit', ['bucket', 'at'])
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('revoked', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['username'], ['app_user.username']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_sha256'),
    )
    op.create_index('ix_api_token_username', 'api_token', ['username'])


def downgrade() -> None:
    op.drop_index('ix_api_token_username', table_name='api_token')
    op.drop_table('api_token')
    op.drop_index('ix_throttle_hit_bucket_at', table_name='throttle_hit')
    op.drop_table('throttle_hit')
