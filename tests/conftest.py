"""Shared fixtures: databases (SQLite file and PostgreSQL), a frozen clock, an engine runtime."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
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
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    import engine.store.all_records  # noqa: F401
    from engine.store.base import Base

    db_engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with db_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db_engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path) -> Database:
    """A migrated, empty database: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "motcua.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("postgres_template")
        _truncate_all(url)
        db = Database(url)
    yield db
    db.dispose()


@pytest.fixture
def postgres_runtime(postgres_template, clock) -> Runtime:
    """A runtime on an empty PostgreSQL database only: for races SQLite's single writer cannot have."""
    _truncate_all(postgres_template)
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
