"""officers' KPIs per procedure: officer_rollup's rows kept for every procedure (definition_id 0) and
for each template version (engine.store.officer_rollups), so that one procedure's KPI page reads
daily rows like the rest; the table is rebuilt with the version first in its key and filled again
(the same recount as `motcua rollups rebuild`).

Revision ID: 0034
Revises: 0033
"""
from alembic import op
import sqlalchemy as sa

from engine.domain import kpi
from engine.store import officer_rollups

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None



def counts() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False, server_default='0') for name in kpi.COLUMNS]


def upgrade() -> None:
    op.drop_table('officer_rollup')
    op.create_table(
        'officer_rollup',
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        *counts(),
        sa.PrimaryKeyConstraint('definition_id', 'grain', 'day', 'unit_code', 'username'),
    )
    officer_rollups.rebuild(op.get_bind())


def downgrade() -> None:
    op.create_table(
        'officer_rollup_every_procedure',
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        *counts(),
        sa.PrimaryKeyConstraint('grain', 'day', 'unit_code', 'username'),
    )
    columns = ', '.join(['grain', 'day', 'unit_code', 'username', *kpi.COLUMNS])
    op.execute(f"INSERT INTO officer_rollup_every_procedure ({columns}) "
               f"SELECT {columns} FROM officer_rollup WHERE definition_id = 0")
    op.drop_table('officer_rollup')
    op.rename_table('officer_rollup_every_procedure', 'officer_rollup')
