"""Alembic environment: runs with the engine's own metadata, with or without Flask."""

from __future__ import annotations

from alembic import context

import engine.store.all_records  # noqa: F401  (registers every table on the metadata)
from engine.store.base import Base
from engine.store.database import make_engine

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    db_engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with db_engine.connect() as conn:
        _run(conn)
    db_engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
