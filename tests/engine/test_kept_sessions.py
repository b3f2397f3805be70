"""On SQLite a change session and its writer connection are kept from one change to the next
(engine.store.database.KeptChangeSessions): each change still begins, commits or rolls back and
releases the write lock; two changes at once, a change inside a change and a forked process never
share one; a thread started per request (Flask's development server) takes the one the last
request's thread left (PostgreSQL's kept connections: tests/engine/test_kept_connections.py)."""

from __future__ import annotations

import os
import sqlite3
import threading

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine.domain.errors import LostRace
from engine.store.database import MOST_KEPT
from engine.store.database import WAL_CHECKPOINT_PAGES
from engine.store.database import Connection
from engine.store.records import UnitRecord
from tests.factories import scratch_tables

_METADATA = MetaData()
_NOTES = Table("kept_session_note", _METADATA, Column("id", Integer, primary_key=True), Column("body", String(40)))


@pytest.fixture
def notes(sqlite_database):
    with scratch_tables(_METADATA, sqlite_database) as db:
        yield db


def _driver(session) -> sqlite3.Connection:
    return session.connection().connection.dbapi_connection  # (a detached connection has no driver_connection)


def _bodies(db) -> list[str]:
    with db.read_session() as s:
        return list(s.execute(select(_NOTES.c.body).order_by(_NOTES.c.id)).scalars())


def _file_of(db) -> str:
    return db.engine.url.database


def test_consecutive_changes_take_the_same_session_and_connection_and_each_commits(notes):
    with notes.session() as s:
        first, driver = s, _driver(s)
        s.connection().execute(_NOTES.insert().values(id=1, body="một"))
        s.info["left"] = "by the first change"
    with notes.session() as s:
        assert s is first and _driver(s) is driver  # the library left both usable after close
        assert "left" not in s.info  # nothing of the last change's bookkeeping
        s.connection().execute(_NOTES.insert().values(id=2, body="hai"))
    assert _bodies(notes) == ["một", "hai"]  # each committed, seen from another connection
    bind = first.get_bind()
    assert isinstance(bind, Connection) and not bind.closed
    assert notes.engine.pool.checkedout() == 0  # out of the pool: a thread's for its life, not a pool slot


def test_a_kept_connection_has_every_writers_pragma(notes):
    with notes.session() as s:
        driver = _driver(s)
        assert driver.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert driver.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert driver.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (WAL_CHECKPOINT_PAGES,)
        assert driver.in_transaction  # the change's BEGIN IMMEDIATE


def test_a_change_that_raises_leaves_nothing_and_releases_the_write_lock(notes):
    with pytest.raises(RuntimeError), notes.session() as s:
        s.connection().execute(_NOTES.insert().values(id=1, body="lost"))
        raise RuntimeError("the change fails after its write")
    other = sqlite3.connect(_file_of(notes), timeout=0)  # a second writer that would not wait
    try:
        other.execute("BEGIN IMMEDIATE")  # the lock is free at once
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert _bodies(notes) == []
    with notes.session() as s:  # the thread's next change works on the kept session
        s.connection().execute(_NOTES.insert().values(id=1, body="kept"))
    assert _bodies(notes) == ["kept"]


def test_a_change_whose_flush_fails_rolls_back_and_the_next_one_starts_clean(notes):
    with notes.session() as s:
        s.add(UnitRecord(code="01", name="Hà Nội", kind="province", parent_code=None, agency_code="01"))
    with pytest.raises(IntegrityError), notes.session() as s:
        s.connection().execute(_NOTES.insert().values(id=1, body="lost"))
        s.add(UnitRecord(code="01", name="trùng", kind="province", parent_code=None, agency_code="01"))
    with notes.session() as s:
        assert not s.new and not s.identity_map  # nothing of the failed change
        assert s.get(UnitRecord, "01").name == "Hà Nội"
    assert _bodies(notes) == []


def test_two_threads_never_share_a_session_or_a_connection(notes):
    both_inside = threading.Barrier(2, timeout=30)
    seen: dict[str, tuple] = {}

    def change(name: str) -> None:
        with notes.session() as s:
            seen[name] = (s, s.get_bind())
            both_inside.wait()  # neither has begun its transaction: no write lock held yet

    threads = [threading.Thread(target=change, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (session_a, connection_a), (session_b, connection_b) = seen["a"], seen["b"]
    assert session_a is not session_b and connection_a is not connection_b


def test_a_thread_per_request_takes_the_session_the_last_one_left(notes):
    seen: list[tuple] = []

    def request(n: int) -> None:  # as Flask's development server runs each request
        with notes.session() as s:
            seen.append((s, s.get_bind()))
            s.connection().execute(_NOTES.insert().values(id=n, body=f"request {n}"))

    for n in (1, 2, 3):
        thread = threading.Thread(target=request, args=(n,))
        thread.start()
        thread.join()
    assert len({id(session) for session, _ in seen}) == 1  # no new connection per request
    assert len({id(connection) for _, connection in seen}) == 1
    assert _bodies(notes) == ["request 1", "request 2", "request 3"]


def test_a_burst_of_concurrent_changes_leaves_only_a_few_connections_open(notes):
    many = MOST_KEPT + 3
    all_inside = threading.Barrier(many, timeout=30)
    drivers: list[sqlite3.Connection] = []

    def change() -> None:
        with notes.session() as s:
            drivers.append(s.get_bind().connection.dbapi_connection)  # without beginning a transaction
            all_inside.wait()  # all at once

    threads = [threading.Thread(target=change) for _ in range(many)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    still_open = []
    for driver in drivers:
        try:
            driver.execute("SELECT 1")
            still_open.append(driver)
        except sqlite3.ProgrammingError:  # closed
            pass
    assert len(still_open) == MOST_KEPT
    with notes.session() as s:
        assert _driver(s) in still_open  # a kept one is taken again
        s.connection().execute(_NOTES.insert().values(id=1, body="after the burst"))
    assert _bodies(notes) == ["after the burst"]


def test_a_change_inside_a_change_gets_a_session_of_its_own(notes):
    with notes.session() as outer:
        with notes.session() as inner:
            assert inner is not outer
            inner.connection().execute(_NOTES.insert().values(id=1, body="inner"))
        outer.connection().execute(_NOTES.insert().values(id=2, body="outer"))
    assert _bodies(notes) == ["inner", "outer"]
    with notes.session() as again:
        assert again is outer  # given back last, taken first


def test_a_forked_process_does_not_use_its_parents_connection(notes, monkeypatch):
    with notes.session() as s:
        parent, parents_driver = s, _driver(s)
    real_pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real_pid + 1)  # as in a child after fork
    with notes.session() as s:
        assert s is not parent and _driver(s) is not parents_driver
        s.connection().execute(_NOTES.insert().values(id=1, body="child"))
    parents_driver.execute("SELECT 1")  # left open: the child never closes its parent's
    assert _bodies(notes) == ["child"]


def test_dispose_closes_the_kept_connections(sqlite_database):
    with sqlite_database.session() as s:
        driver = _driver(s)
    sqlite_database.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        driver.execute("SELECT 1")


def _write_then(body: str, failure: BaseException | None = None):
    """A before-commit step that writes a note, then raises `failure` when given."""
    heard = []

    def before_commit(session) -> None:
        heard.append(_bodies_in(session))
        session.connection().execute(_NOTES.insert().values(id=2, body=body))
        if failure is not None:
            raise failure

    return before_commit, heard


def _bodies_in(session) -> list[str]:
    return list(session.execute(select(_NOTES.c.body).order_by(_NOTES.c.id)).scalars())


def test_the_step_before_commit_runs_once_after_the_block_and_commits_with_it(notes):
    before_commit, heard = _write_then("trước khi ghi")
    with notes.session(before_commit=before_commit) as s:
        s.connection().execute(_NOTES.insert().values(id=1, body="khối"))
        assert heard == []  # not while the block runs
    assert heard == [["khối"]]  # once, seeing what the block wrote
    assert _bodies(notes) == ["khối", "trước khi ghi"]


@pytest.mark.parametrize(
    "failure, raised",
    [(RuntimeError("the audit write failed"), RuntimeError), (StaleDataError("version moved"), LostRace)],
)
def test_a_step_before_commit_that_fails_after_writing_leaves_nothing(notes, failure, raised):
    before_commit, heard = _write_then("mất", failure)
    with pytest.raises(raised), notes.session(before_commit=before_commit) as s:
        s.connection().execute(_NOTES.insert().values(id=1, body="cũng mất"))
    assert heard == [["cũng mất"]]
    assert _bodies(notes) == []  # neither the block's write nor its own
    with notes.session() as s:  # the next change starts clean on the kept session
        assert not s.new and not s.identity_map
        s.connection().execute(_NOTES.insert().values(id=1, body="sau"))
    assert _bodies(notes) == ["sau"]


def test_a_block_that_raises_skips_the_step_before_commit(notes):
    before_commit, heard = _write_then("không chạy")
    with pytest.raises(RuntimeError), notes.session(before_commit=before_commit) as s:
        s.connection().execute(_NOTES.insert().values(id=1, body="mất"))
        raise RuntimeError("the change fails")
    assert heard == [] and _bodies(notes) == []
