"""the open stock: the open dossiers counted per commune, template version, appointment day and
whether they wait for the applicant (engine.store.open_stock), filled from the dossiers already kept
(the same recount as `motcua rollups rebuild`)

Revision ID: 0033
Revises: 0030
"""
from alembic import op
import sqlalchemy as sa

from engine.store import open_stock

revision = '0033'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'open_stock',
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('appointment_day', sa.Date(), nullable=False),
        sa.Column('paused', sa.Integer(), nullable=False),
        sa.Column('dossiers', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('unit_code', 'definition_id', 'appointment_day', 'paused'),
    )
    open_stock.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table('open_stock')
