"""web hardening: API tokens expire and record their last use; accounts carry a session epoch

Tokens issued before this revision never expired; they are given 90 days from the upgrade, so the
systems using them keep working while their operators issue new ones (`motcua api-token list`
shows when each expires). The epoch ends every session of an account when it signs out or its
password changes.

Revision ID: 0012
Revises: 0011
"""
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from alembic import op
import sqlalchemy as sa

from engine.store.records import UTCDateTime

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

LEGACY_TOKEN_GRACE = timedelta(days=90)


def upgrade() -> None:
    with op.batch_alter_table('api_token') as batch_op:
        batch_op.add_column(sa.Column('expires_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.add_column(sa.Column('auth_epoch', sa.Integer(), nullable=False, server_default='0'))
    token = sa.table('api_token', sa.column('expires_at', UTCDateTime()))
    op.execute(token.update().where(token.c.expires_at.is_(None))
               .values(expires_at=datetime.now(timezone.utc) + LEGACY_TOKEN_GRACE))


def downgrade() -> None:
    with op.batch_alter_table('app_user') as batch_op:
        batch_op.drop_column('auth_epoch')
    with op.batch_alter_table('api_token') as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('expires_at')
