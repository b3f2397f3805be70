"""`motcua backup FILE` and `motcua restore FILE`: the database, whole (DATABASE_URL or the
embedded SQLite file)."""

from __future__ import annotations

from pathlib import Path

import click

from engine.store import backup as backups
from engine.store.database import default_database_url


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Write a consistent backup while the product runs (SQLite online backup, or pg_dump)."""
    try:
        backups.backup(default_database_url(), target)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written to {target} ({target.stat().st_size} bytes)")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(source: Path) -> None:
    """Restore a backup into DATABASE_URL, which must be a new, empty database."""
    try:
        backups.restore(source, default_database_url())
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {source}")
