"""SQLite changes a table's constraints only by building the table again: the migrations that add or
drop one (0045, 0046) build it here."""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import text


def rebuild_table(table: str, dropped: str, added: str, drop_index: str = "", add_index: str = "") -> None:
    """Build `table` again without the `dropped` constraint clause and with the `added` one,
    keeping its rows, indexes and triggers.

    Alembic's batch mode copies the rows into a new table, then drops the old one: with foreign
    keys on (every connection, engine.store.database) dropping work_item orphans the audit events,
    attachments and signed results that name a step, and nothing afterwards counts them found
    again. Here the rows are put aside first, the table dropped, created again under its own name
    from its own CREATE statement less the `dropped` clause and with the `added` one, and the rows
    put back: with the foreign keys checked at the commit (defer_foreign_keys, for this transaction
    only) every row they name is back. Its indexes (less `drop_index`, plus `add_index`) and
    triggers (audit_event's append-only ones) are created again after the rows."""
    bind = op.get_bind()
    table_sql: str = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    if dropped:
        # The clauses' order and spacing depend on the migrations that built the table before.
        clause = r",\s*" + r"\s*".join(re.escape(word) for word in dropped.replace("(", " (").split())
        table_sql, found = re.subn(clause, "", table_sql)
        if found != 1:
            raise RuntimeError(f"{table}'s CREATE statement has no {dropped!r}: {table_sql}")
    if added:
        table_sql = table_sql.rstrip()[:-1].rstrip() + f", \n\t{added}\n)"
    others: list[str] = list(
        bind.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE tbl_name = :t AND type IN ('index', 'trigger')"
                " AND sql IS NOT NULL AND name != :dropped"
            ),
            {"t": table, "dropped": drop_index},
        ).scalars()
    )
    recreated = [*others, *([add_index] if add_index else [])]
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f"CREATE TEMP TABLE {table}_kept AS SELECT * FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(table_sql)
    op.execute(f"INSERT INTO {table} SELECT * FROM {table}_kept")
    op.execute(f"DROP TABLE {table}_kept")
    for statement in recreated:
        op.execute(statement)
