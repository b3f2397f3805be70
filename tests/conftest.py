"""Shared fixtures: databases (SQLite file and PostgreSQL), a frozen clock, an engine runtime."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import text

from engine.clock import FrozenClock
from engine.services.runtime import Runtime
from engine.store import migrate
from engine.store.database import Database
from engine.store.database import make_engine

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parents[1]
BPMN_DIR = Path(__file__).with_name("bpmn")
POSTGRES_URL = os.environ.get("MOTCUA_TEST_POSTGRES_URL")


class _TemplatesCompiledOnce(BytecodeCache):
    """Jinja's compiled templates, kept for every app the session builds: each test builds its own
    app, whose environment would otherwise compile again every page it renders (a third of a web
    test's time). A bucket holds its template source's checksum, so an edited template is compiled
    anew; every app compiles with the same settings (`web.app.create_app`)."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _TemplatesCompiledOnce()}


def vn(*args) -> datetime:
    """A Vietnam-local instant, e.g. vn(2026, 2, 13, 15, 30)."""
    return datetime(*args, tzinfo=VN)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    db_engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(db_engine)
    db_engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required in CI (MOTCUA_TEST_POSTGRES_URL is not set)")
        pytest.skip("no PostgreSQL reachable (set MOTCUA_TEST_POSTGRES_URL)")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url):
    """A fresh PostgreSQL database for this test session, migrated once, dropped at the end."""
    name = f"motcua_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server_url.rsplit("/", 1)[0] + f"/{name}"
    db_engine = make_engine(url)
    migrate.upgrade(db_engine)
    db_engine.dispose()
    yield url
    _forget_emptier(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_EMPTIERS: dict[str, Engine] = {}


def empty_all_tables(url: str) -> None:
    """Every table of the records empty and every sequence back at its start, as TRUNCATE ...
    RESTART IDENTITY CASCADE of all of them would leave it, but by DELETE of the few tables the
    last test wrote to: TRUNCATE gives each of the 38 tables and their indexes new files, fsynced at
    commit (~0.4 s a test, most of the suite's PostgreSQL time). audit_event's append-only trigger
    is switched off for the DELETE only, inside the same transaction."""
    import engine.store.all_records  # noqa: F401
    from engine.store.base import Base

    db_engine = _EMPTIERS.get(url) or _EMPTIERS.setdefault(url, make_engine(url))
    tables = [table.name for table in Base.metadata.sorted_tables]
    written = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT FROM \"{name}\")" for name in tables)
    with db_engine.begin() as conn:
        conn.execute(text("SET LOCAL synchronous_commit = off"))  # a test's next read sees it all the same
        filled = set(conn.execute(text(written)).scalars())
        guarded = set(
            conn.execute(text("SELECT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal")).scalars()
        )
        for name in reversed(tables):  # the rows that refer to others first
            if name not in filled:
                continue
            if name in guarded:
                conn.execute(text(f'ALTER TABLE "{name}" DISABLE TRIGGER USER'))
            conn.execute(text(f'DELETE FROM "{name}"'))
            if name in guarded:
                conn.execute(text(f'ALTER TABLE "{name}" ENABLE TRIGGER USER'))
        conn.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false)"
                " FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        )


def _forget_emptier(url: str) -> None:
    emptier = _EMPTIERS.pop(url, None)
    if emptier is not None:
        emptier.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path) -> Database:
    """A migrated, empty database: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "motcua.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("postgres_template")
        empty_all_tables(url)
        db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def postgres_runtime(postgres_template, clock) -> Runtime:
    """A runtime on an empty PostgreSQL database only: for races SQLite's single writer cannot have."""
    empty_all_tables(postgres_template)
    db = Database(postgres_template)
    yield Runtime(db=db, clock=clock, worker_id="test-worker")
    db.dispose()


@pytest.fixture
def sqlite_database(tmp_path, sqlite_template) -> Database:
    path = tmp_path / "motcua.sqlite3"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(vn(2026, 3, 2, 8, 0))  # a Monday morning, no holiday near


@pytest.fixture
def runtime(database, clock) -> Runtime:
    return Runtime(db=database, clock=clock, worker_id="test-worker")
