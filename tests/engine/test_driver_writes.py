"""Writes run on the driver's cursor (engine.store.driver_writes) behave as SQLAlchemy's own
execution: constant column defaults written, types converted both ways, the statement counted,
a dropped connection invalidated."""

from __future__ import annotations

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import create_engine
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from engine.store import database as database_module
from engine.store.driver_writes import DriverWrite
from engine.store.records import UTCDateTime
from tests.conftest import vn
from tests.factories import scratch_tables

_METADATA = MetaData()
_NOTES = Table(
    "driver_write_note",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("body", String(40), unique=True),
    Column("kind", String(10), default="plain"),  # Python-side: SQLAlchemy's execution fills it in
    Column("at", UTCDateTime()),
)
_ADD = DriverWrite(
    insert(_NOTES).values(body=bindparam("body"), at=bindparam("at")).returning(_NOTES.c.id, _NOTES.c.at)
)
_RENAME = DriverWrite(update(_NOTES).where(_NOTES.c.id == bindparam("pk")).values(body=bindparam("new_body")))


@pytest.fixture
def notes(database):
    with scratch_tables(_METADATA, database) as db:
        yield db


def test_a_write_fills_constant_defaults_converts_types_and_is_counted(notes):
    round_trips: list[int] = []
    notes.on_round_trip(lambda: round_trips.append(1))
    with notes.session() as s:
        connection = s.connection()
        note_id, at = _ADD.returned(connection, {"body": "hồ sơ", "at": vn(2026, 3, 2, 8)})
        changed = _RENAME.run(connection, {"pk": note_id, "new_body": "đã sửa"})
        missed = _RENAME.run(connection, {"pk": note_id + 1, "new_body": "x"})

    assert (changed, missed) == (1, 0)
    assert at == vn(2026, 3, 2, 8) and at.utcoffset() is not None  # read back through UTCDateTime
    with notes.session() as s:
        row = s.execute(select(_NOTES.c.body, _NOTES.c.kind, _NOTES.c.at)).one()
    assert tuple(row) == ("đã sửa", "plain", vn(2026, 3, 2, 8))
    assert len(round_trips) >= 3  # BEGIN, the three statements, COMMIT: each seen by the counters


def test_a_write_that_fails_raises_sqlalchemys_error_and_rolls_back_with_its_change(notes):
    with pytest.raises(DBAPIError), notes.session() as s:
        connection = s.connection()
        _ADD.returned(connection, {"body": "đi trước", "at": None})
        _ADD.returned(connection, {"body": "đi trước", "at": None})  # the unique body refuses it
    with notes.session() as s:
        assert s.execute(select(_NOTES.c.id)).first() is None


@pytest.mark.postgres
def test_a_write_on_a_connection_the_server_dropped_fails_once_and_the_next_gets_a_new_one(
    postgres_runtime, monkeypatch
):
    with scratch_tables(_METADATA, postgres_runtime.db) as db:
        monkeypatch.setattr(database_module, "IDLE_BEFORE_PING_S", 3600.0)  # not idle long enough to be pinged
        with db.session() as s:
            s.connection()
        with db.session() as s:
            pid = s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
        admin = create_engine(db.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:  # the server (or a firewall) drops the pooled connection
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()

        with pytest.raises(DBAPIError) as failed, db.session() as s:
            _ADD.returned(s.connection(), {"body": "lost", "at": None})

        assert failed.value.connection_invalidated
        with db.session() as s:
            assert _ADD.returned(s.connection(), {"body": "kept", "at": None}) is not None


def test_a_null_read_back_is_none_for_every_mapped_columns_type():
    """engine.store.driver_reads leaves a NULL column as None without calling its type's result
    processor: every type the tables use must read NULL as None, on both dialects."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.dialects import sqlite

    from engine.store import all_records  # noqa: F401 - every table registered on Base
    from engine.store.base import Base

    checked = 0
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        for table in Base.metadata.tables.values():
            for column in table.columns:
                try:  # as driver_reads asks, without the driver's type code
                    convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
                except TypeError:  # PostgreSQL's NUMERIC needs the code: driver_reads cannot read it either
                    continue
                if convert is not None:
                    assert convert(None) is None, (dialect.name, table.name, column.key)
                    checked += 1
    assert checked > 50  # datetimes, dates, JSON, booleans
