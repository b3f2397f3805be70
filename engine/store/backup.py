"""Backups and restores of the whole database. SQLite: the online backup API (a consistent copy
while the product keeps running). PostgreSQL: pg_dump's custom format and pg_restore, found on
PATH. A restore goes into a new, empty database and only inserts rows (COPY on PostgreSQL, page
copy on SQLite), so audit rows that refuse UPDATE and DELETE restore as they were."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from engine.store.database import make_engine
from engine.store.database import normalise_url


class BackupError(Exception):
    """A backup or restore that cannot be done, with what to do about it."""


def backup(url: str, target: Path) -> Path:
    """Write a backup of the database at `url` to `target`."""
    url = normalise_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        _sqlite_copy(_sqlite_path(url), target)
    else:
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq_url(url)])
    return target


def restore(source: Path, url: str) -> None:
    """Restore a backup into the database at `url`, which must be empty (no tables)."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    url = normalise_url(url)
    _require_empty(url)
    if url.startswith("sqlite"):
        _sqlite_copy(source, _sqlite_path(url))
    else:
        _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq_url(url)}", str(source)])


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _require_empty(url: str) -> None:
    engine = make_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"the target database already has {len(tables)} tables: restore into a new, empty database")


def _libpq_url(url: str) -> str:
    """pg_dump and pg_restore read libpq URLs, without SQLAlchemy's driver name."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not on PATH: install the PostgreSQL client of the server's version")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")
