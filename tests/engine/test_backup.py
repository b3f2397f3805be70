"""`motcua backup` / `motcua restore`: a backup restored into a new database holds every dossier,
work item and audit row as it was (SQLite online backup; pg_dump / pg_restore on PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text

from engine.services import worker
from engine.services.delivery import default_channels
from engine.store.database import Database
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.engine.test_incidents import _dossiers_waiting_on_a_timer
from tests.factories import add_units
from web.cli import main


def _rows(db: Database) -> dict[str, list[tuple]]:
    with db.read_session() as s:
        return {
            model.__tablename__: [
                tuple(getattr(row, c.key) for c in model.__table__.columns)
                for row in s.scalars(select(model).order_by(model.id))
            ]
            for model in (DossierRecord, WorkItemRecord, AuditEventRecord)
        }


@pytest.fixture
def new_database_url(database, tmp_path):
    """A URL for a database that does not exist yet (SQLite) or is created empty (PostgreSQL)."""
    if database.engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"motcua_restore_{uuid.uuid4().hex[:8]}"
    admin_url = database.url.rsplit("/", 1)[0] + "/postgres"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield database.url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_backup_restores_every_dossier_work_item_and_audit_row(
    runtime, clock, tmp_path, new_database_url, monkeypatch
):
    add_units(runtime)
    _dossiers_waiting_on_a_timer(runtime, 4)
    clock.advance(timedelta(days=2))
    worker.run_once(runtime, default_channels())  # timers, SLA levels, notifications: audit rows of every kind
    before = _rows(runtime.db)
    assert all(before.values()) and len(before["audit_event"]) > 10

    cli = CliRunner()
    backup_file = tmp_path / "motcua.backup"
    monkeypatch.setenv("DATABASE_URL", runtime.db.url)
    made = cli.invoke(main, ["backup", str(backup_file)])
    assert made.exit_code == 0, made.output
    monkeypatch.setenv("DATABASE_URL", new_database_url)
    restored = cli.invoke(main, ["restore", str(backup_file)])
    assert restored.exit_code == 0, restored.output

    copy = Database(new_database_url)
    try:
        assert _rows(copy) == before
    finally:
        copy.dispose()
    again = cli.invoke(main, ["restore", str(backup_file)])  # never over a database in use
    assert again.exit_code != 0 and "empty database" in again.output
