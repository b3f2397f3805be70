"""weekly rollups: the dashboard's figures per week (Monday to Sunday) beside the days and months

figure_rollup gains rows of grain 'w' keyed by their Monday (engine.store.rollups keeps them with the
day and month rows in the transaction of each receipt and closure), so that a month's trend by week
reads four or five week rows per commune and template version instead of thirty day rows; filled
here from the day rows already kept (as `motcua rollups rebuild` does), then the table analysed
(PostgreSQL), since its row count grew by about a seventh.

Revision ID: 0038
Revises: 0037
"""
from alembic import op

from engine.store import rollups

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.execute(f"DELETE FROM figure_rollup WHERE grain = '{rollups.WEEK}'")
    rollups.roll_up_days(bind, rollups.WEEK)
    if bind.dialect.name == 'postgresql':
        op.execute('ANALYZE figure_rollup')


def downgrade() -> None:
    op.execute(f"DELETE FROM figure_rollup WHERE grain = '{rollups.WEEK}'")
