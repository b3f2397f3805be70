"""A throw-away PostgreSQL database for one benchmark run, on the server the tests use."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine
from sqlalchemy import text


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
