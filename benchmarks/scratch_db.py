"""Throw-away databases for one benchmark run: a migrated SQLite file in the run's temporary
folder, or a new PostgreSQL database on the server the tests use."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text

from engine.clock import FrozenClock
from engine.services.runtime import Runtime
from engine.store import migrate
from engine.store.database import Database
from tests.conftest import vn
from tests.factories import add_units


def sqlite_runtime(folder: Path, name: str) -> Runtime:
    """A runtime on a new migrated SQLite database in `folder`, its clock frozen on Monday
    2 March 2026 at 08:00 in Hanoi, with the test factory's units and officers."""
    db = Database(f"sqlite:///{folder / name}.sqlite3")
    migrate.upgrade(db.engine)
    rt = Runtime(db=db, clock=FrozenClock(vn(2026, 3, 2, 8, 0)), worker_id="bench")
    add_units(rt)
    return rt


def postgres_url(without: str) -> str | None:
    """A new empty database's URL (MOTCUA_BENCH_POSTGRES_URL, else MOTCUA_TEST_POSTGRES_URL, else
    the local server), or None, saying what the run does `without` it, when none is reachable."""
    url = (
        os.environ.get("MOTCUA_BENCH_POSTGRES_URL")
        or os.environ.get("MOTCUA_TEST_POSTGRES_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        name = f"motcua_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return url.rsplit("/", 1)[0] + f"/{name}"
    except Exception as exc:  # noqa: BLE001 - report and carry on without PostgreSQL
        print(f"PostgreSQL not reachable ({type(exc).__name__}); {without}")
        return None


def drop_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
