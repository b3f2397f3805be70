"""the signed result's lookup token: the SHA-256 of the random token its QR code carries
(engine.domain.lookup_tokens); results signed before carry none (their QR asks for the digits).

Revision ID: 0030
Revises: 0026
"""
from alembic import op
import sqlalchemy as sa

revision = '0030'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('result_signing', sa.Column('lookup_token_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE, not a batch copy: SQLite (3.35+) drops the column in place.
    op.execute("ALTER TABLE result_signing DROP COLUMN lookup_token_sha256")
