"""The migrations build exactly the schema the records describe, and go down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import engine.store.all_records  # noqa: F401
from engine.store import migrate
from engine.store.base import Base


def test_migrated_schema_matches_the_records(database):
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert migrate.current(database.engine) is not None


def test_downgrade_to_base_and_upgrade_again(sqlite_database):
    migrate.downgrade(sqlite_database.engine, "base")
    assert [t for t in inspect(sqlite_database.engine).get_table_names() if t != "alembic_version"] == []
    migrate.upgrade(sqlite_database.engine)
    assert set(inspect(sqlite_database.engine).get_table_names()) >= {"dossier", "work_item", "audit_event", "outbox"}
