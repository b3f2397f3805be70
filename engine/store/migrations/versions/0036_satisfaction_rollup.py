"""citizens' satisfaction per officer as daily figures: satisfaction_rollup holds per local day and
month of the rating, commune, officer ('' the commune's own) and template version (0 every
procedure) the ratings, satisfied answers and scores (engine.store.satisfaction_rollups keeps them
when a rating is given and when a step of a rated dossier is completed), so that the officers' KPI
page reads a year's satisfaction from a few rows instead of each rating with its steps; filled
from the ratings and steps already there (the same recount as `motcua rollups rebuild`).

Revision ID: 0036
Revises: 0035
"""
from alembic import op
import sqlalchemy as sa

from engine.store import satisfaction_rollups

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

COUNTED = ('ratings', 'satisfied_time', 'satisfied_attitude', 'satisfied_information', 'satisfied_result',
           'score_time', 'score_attitude', 'score_information', 'score_result')


def upgrade() -> None:
    op.create_table(
        'satisfaction_rollup',
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('grain', sa.String(length=1), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('unit_code', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default='0') for name in COUNTED),
        sa.PrimaryKeyConstraint('definition_id', 'grain', 'day', 'unit_code', 'username',
                                name=op.f('pk_satisfaction_rollup')),
    )
    satisfaction_rollups.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table('satisfaction_rollup')
