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
from sqlalchemy import text

from engine.store import rollups

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.execute(f"DELETE FROM figure_rollup WHERE grain = '{rollups.WEEK}'")
    rollups.roll_up_days(bind, rollups.WEEK)
    # Only a table that holds rows is analysed: statistics taken of an empty table (a new
    # database) tell the planner it stays empty until autovacuum analyses it again, and where
    # autovacuum is off a step's rollup statements were planned for an empty table as it grew
    # (benchmarks/http.py: PostgreSQL's CPU per completion 1.0 ms rising to 3.4 ms in five turns).
    if bind.dialect.name == "postgresql" and week_rows_written(bind):
        op.execute("ANALYZE figure_rollup")


def week_rows_written(bind) -> bool:
    return bind.execute(text(f"SELECT EXISTS (SELECT 1 FROM figure_rollup WHERE grain = '{rollups.WEEK}')")).scalar()


def downgrade() -> None:
    op.execute(f"DELETE FROM figure_rollup WHERE grain = '{rollups.WEEK}'")
