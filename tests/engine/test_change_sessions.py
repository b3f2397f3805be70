"""A change's session (engine.store.database.ChangeSession) hands back its transaction's
connection when asked again, and otherwise answers as SQLAlchemy's Session does: a new
transaction gets its own, a transaction a failed flush left inactive still refuses, a savepoint
shares its transaction's connection."""

from __future__ import annotations

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import PendingRollbackError
from sqlalchemy.orm import Session

from engine.store.database import ChangeSession
from engine.store.records import UnitRecord
from tests.factories import scratch_tables

_METADATA = MetaData()
_NOTES = Table("change_session_note", _METADATA, Column("id", Integer, primary_key=True), Column("body", String(40)))


@pytest.fixture
def notes(database):
    with scratch_tables(_METADATA, database) as db:
        yield db


def test_a_change_asking_again_gets_the_connection_its_transaction_holds(notes):
    with notes.session() as s:
        assert isinstance(s, ChangeSession)
        first = s.connection()
        first.execute(_NOTES.insert().values(id=1, body="một"))
        assert s.connection() is first
        assert s.connection() is s.get_transaction().connection(None)  # the Session's own answer
    with notes.session() as s:
        assert s.connection().execute(select(_NOTES.c.body)).scalar() == "một"  # committed


def test_the_next_transaction_of_the_same_session_asks_sqlalchemy_again(notes):
    s = notes.session_factory()
    try:
        first = s.connection()
        s.commit()
        second = s.connection()
        assert second is not first  # a connection of the new transaction, not the closed one
        assert not first.in_transaction() and second.in_transaction()
        s.rollback()
    finally:
        s.close()


def test_a_transaction_a_failed_flush_left_inactive_still_refuses(notes):
    with notes.session() as s:
        s.connection()
        s.add(UnitRecord(code="01", name="Hà Nội", kind="province", parent_code=None, agency_code="01"))
        s.flush()
    s = notes.session_factory()
    try:
        s.connection()
        s.add(UnitRecord(code="01", name="trùng", kind="province", parent_code=None, agency_code="01"))
        with pytest.raises(IntegrityError):
            s.flush()
        with pytest.raises(PendingRollbackError):
            s.connection()  # as Session.connection: the transaction must be rolled back first
    finally:
        s.close()


def test_a_savepoint_shares_its_transactions_connection(notes):
    with notes.session() as s:
        outer = s.connection()
        with s.begin_nested():
            assert s.connection() is outer
            s.connection().execute(_NOTES.insert().values(id=2, body="hai"))
        assert s.connection() is outer
        assert s.connection().execute(text("SELECT count(*) FROM change_session_note")).scalar() == 1


def test_sqlalchemy_keeps_the_innermost_transaction_where_the_session_looks():
    """ChangeSession compares the transaction it handed a connection for with
    Session._transaction: the innermost one, which Session.connection() itself asks."""
    session = Session()
    assert session._transaction is None and session.get_transaction() is None
    root = session.begin()
    assert session._transaction is root is session.get_transaction()
    session.close()
    assert session._transaction is None
