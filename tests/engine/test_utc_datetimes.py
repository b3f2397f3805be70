"""UTCDateTime: an instant goes in and comes back as the same instant in UTC on either database;
on SQLite the stored text is the one SQLAlchemy's DATETIME writes, so rows written before the
engine made that text itself still compare and sort with new ones."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.types import TypeDecorator

from engine.store.records import UTCDateTime
from tests.conftest import vn
from tests.factories import scratch_tables

_METADATA = MetaData()
_EVENTS = Table("utc_datetime_event", _METADATA, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))

INSTANTS = [
    vn(2026, 3, 2, 8),  # Vietnam time: stored as 01:00 UTC
    datetime(2026, 3, 2, 1, 0, 0, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # a three-digit year, zero-padded
]


@pytest.fixture
def events(database):
    with scratch_tables(_METADATA, database) as db:
        yield db


def test_an_instant_comes_back_as_the_same_instant_in_utc(events):
    with events.session() as s:
        s.execute(insert(_EVENTS), [{"id": n, "at": at} for n, at in enumerate(INSTANTS)])
    with events.session() as s:
        found = {n: at for n, at in s.execute(select(_EVENTS.c.id, _EVENTS.c.at))}

    assert [found[n] for n in range(len(INSTANTS))] == INSTANTS
    assert all(at.utcoffset() is not None and at.utcoffset().total_seconds() == 0 for at in found.values())


def test_a_naive_datetime_is_refused(events):
    with pytest.raises(StatementError, match="naive datetime"), events.session() as s:
        s.execute(insert(_EVENTS), {"id": 1, "at": datetime(2026, 3, 2, 8)})


def test_sqlite_stores_sqlalchemys_own_text_and_old_rows_sort_and_compare_with_new_ones(sqlite_database):
    _METADATA.create_all(sqlite_database.engine)
    dialect = sqlite_database.engine.dialect
    sqlalchemys_text = DateTime().dialect_impl(dialect).bind_processor(dialect)
    with sqlite_database.session() as s:
        # A row as SQLAlchemy's own DATETIME wrote it, before UTCDateTime made the text itself.
        old = sqlalchemys_text(datetime(2026, 3, 2, 1, 30))
        s.execute(text("INSERT INTO utc_datetime_event (id, at) VALUES (0, :at)"), {"at": old})
        s.execute(insert(_EVENTS), [{"id": n + 1, "at": at} for n, at in enumerate(INSTANTS)])
    with sqlite_database.session() as s:
        stored = s.execute(text("SELECT at FROM utc_datetime_event WHERE id > 0 ORDER BY id")).scalars().all()
        before_two = s.execute(
            select(_EVENTS.c.id).where(_EVENTS.c.at < datetime(2026, 3, 2, 2, tzinfo=UTC)).order_by(_EVENTS.c.at)
        ).scalars()
        order = list(before_two)

    assert stored == [sqlalchemys_text(at.astimezone(UTC).replace(tzinfo=None)) for at in INSTANTS]
    assert order == [3, 1, 2, 0]  # year 999, 01:00 (from 08:00 in Vietnam), 01:00:00.000001, the old 01:30


def test_on_postgresql_its_own_conversions_give_what_the_decorators_would():
    """On psycopg (which takes and gives datetimes as they are) UTCDateTime converts in one Python
    call each way instead of going through TypeDecorator's wrappers: the same values."""
    from sqlalchemy.dialects.postgresql import psycopg

    dialect = psycopg.dialect()
    utc = UTCDateTime().dialect_impl(dialect)
    bind, read = utc.bind_processor(dialect), utc.result_processor(dialect, None)
    decorators_bind = TypeDecorator.bind_processor(utc, dialect)
    decorators_read = TypeDecorator.result_processor(utc, dialect, None)

    for at in [*INSTANTS, None]:
        assert bind(at) == decorators_bind(at) and (at is None or bind(at).tzinfo is UTC)
    for at in [*INSTANTS, datetime(2026, 3, 2, 1), None]:  # a naive value read back is taken as UTC
        assert read(at) == decorators_read(at) and (at is None or read(at).tzinfo is UTC)
    with pytest.raises(ValueError, match="naive datetime"):
        bind(datetime(2026, 3, 2, 8))
