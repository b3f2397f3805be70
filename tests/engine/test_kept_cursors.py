"""On PostgreSQL each statement run on the driver's cursor runs on the cursor it ran on last on
that connection (engine.store.kept_cursors): psycopg then keeps the statement's adapters instead of
looking them up again. psycopg is pinned: this fails if a kept cursor stops keeping them, and shows
that answers, failures and the statements that follow them are what a new cursor would give."""

from __future__ import annotations

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from engine.store import kept_cursors
from engine.store.driver_reads import DriverRead
from engine.store.driver_writes import DriverWrite
from engine.store.records import UTCDateTime
from tests.conftest import vn
from tests.factories import scratch_tables

pytestmark = pytest.mark.postgres

_METADATA = MetaData()
_NOTES = Table(
    "kept_cursor_note",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("body", String(40), unique=True),
    Column("at", UTCDateTime()),
)
_ADD = DriverWrite(insert(_NOTES).values(body=bindparam("body"), at=bindparam("at")).returning(_NOTES.c.id))
_READ = DriverRead(select(_NOTES.c.body, _NOTES.c.at).where(_NOTES.c.id == bindparam("pk")))


@pytest.fixture
def notes(postgres_runtime):
    with scratch_tables(_METADATA, postgres_runtime.db) as db:
        yield db


def _driver(connection):
    return connection.connection.dbapi_connection


def _kept(connection, statement):
    return kept_cursors.cursor_for(_driver(connection), statement._compiled(connection.dialect).sql)


def test_a_statement_runs_again_on_its_cursor_with_its_adapters_kept(notes):
    with notes.session() as s:
        connection = s.connection()
        first = _ADD.returned(connection, {"body": "một", "at": vn(2026, 3, 2, 8)})[0]
        cursor, adapters = _kept(connection, _ADD), _kept(connection, _ADD)._tx
        second = _ADD.returned(connection, {"body": "hai", "at": vn(2026, 3, 3, 9)})[0]
        read = [_READ.first(connection, {"pk": pk}) for pk in (first, second, second + 1)]

        assert _kept(connection, _ADD) is cursor and cursor._tx is adapters  # psycopg kept them
        assert kept_cursors.kept_count(_driver(connection)) == 2  # one per statement
    assert [tuple(row) if row else None for row in read] == [
        ("một", vn(2026, 3, 2, 8)),
        ("hai", vn(2026, 3, 3, 9)),
        None,
    ]


def test_a_failed_statement_leaves_its_cursor_and_runs_again_on_a_new_one(notes):
    with pytest.raises(DBAPIError), notes.session() as s:
        connection = s.connection()
        _ADD.returned(connection, {"body": "trùng", "at": None})
        failed = _kept(connection, _ADD)
        _ADD.returned(connection, {"body": "trùng", "at": None})  # the unique body refuses it
    assert failed.closed

    with notes.session() as s:
        connection = s.connection()
        pk = _ADD.returned(connection, {"body": "trùng", "at": None})[0]
        assert _kept(connection, _ADD) is not failed
        assert tuple(_READ.first(connection, {"pk": pk})) == ("trùng", None)


def test_a_connection_keeps_a_bounded_number_of_cursors(notes, monkeypatch):
    monkeypatch.setattr(kept_cursors, "MOST_KEPT", 3)
    with notes.session() as s:
        connection = s.connection()
        driver = _driver(connection)
        texts = [f"SELECT {n}" for n in range(5)]
        cursors = [kept_cursors.cursor_for(driver, text) for text in texts]

        assert kept_cursors.kept_count(driver) == 2  # the first three forgotten when the fourth came
        assert kept_cursors.cursor_for(driver, texts[4]) is cursors[4]
        assert kept_cursors.cursor_for(driver, texts[0]) is not cursors[0]
        cursors[0].execute(texts[0])  # a forgotten cursor still serves whoever holds it
        assert cursors[0].fetchone() == (0,)
