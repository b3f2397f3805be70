"""`motcua db`: schema migrations."""

from __future__ import annotations

import click

from engine.store import migrate
from engine.store.database import Database


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations; DATABASE_URL or instance/motcua.sqlite3)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def upgrade(revision: str) -> None:
    """Create or upgrade the schema to the newest (or the given) revision."""
    db = Database.from_env()
    migrate.upgrade(db.engine, revision)
    click.echo(f"schema at {migrate.current(db.engine)} ({db.engine.url.render_as_string(hide_password=True)})")


@db_group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. base)."""
    db = Database.from_env()
    migrate.downgrade(db.engine, revision)
    click.echo(f"schema at {migrate.current(db.engine)}")


@db_group.command("current")
def current() -> None:
    """Print the schema revision of the database."""
    click.echo(migrate.current(Database.from_env().engine) or "empty")
