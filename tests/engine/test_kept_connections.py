"""On PostgreSQL a change's connection and session are kept from one change to the next as on
SQLite (engine.store.database.KeptChangeSessions), checked out of the pool and counted against
its size: a change that fails (a refused statement, a serialization failure, a killed backend)
leaves the next change on the same thread a clean connection or a new one; no backend is left idle
in a transaction between changes; a burst of threads leaves no more connections open than the
pool alone keeps; a forked process never uses its parent's connection."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from engine.store import sequences
from engine.store.database import IDLE_BEFORE_PING_S
from engine.store.database import MOST_KEPT
from engine.store.database import Database
from tests.factories import scratch_tables

pytestmark = pytest.mark.postgres

_METADATA = MetaData()
_NOTES = Table(
    "kept_connection_note", _METADATA, Column("id", Integer, primary_key=True), Column("body", String(40), unique=True)
)
#: A serialization failure as PostgreSQL reports one (SQLSTATE 40001), without staging a race.
_SERIALIZATION_FAILURE = text(
    "DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = 'serialization_failure'; END $$"
)


@pytest.fixture
def app_name() -> str:
    """The application name this test's connections give PostgreSQL, to find them in pg_stat_activity."""
    return f"kept_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def notes(postgres_template, app_name):
    from tests.conftest import empty_all_tables

    empty_all_tables(postgres_template)
    db = Database(f"{postgres_template}?application_name={app_name}")
    with scratch_tables(_METADATA, db):
        yield db
    db.dispose()


@pytest.fixture
def observer(postgres_template):
    """A connection of its own that reads pg_stat_activity."""
    engine = create_engine(postgres_template, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _backends(observer, app_name: str) -> dict[int, str]:
    """The backends of the test's database connections: pid -> state."""
    rows = observer.execute(
        text("SELECT pid, state FROM pg_stat_activity WHERE application_name = :name"), {"name": app_name}
    )
    return dict(rows.all())


def _backend_pid(connection) -> int:
    return connection.connection.dbapi_connection.info.backend_pid


def _add(db, id_: int, body: str) -> None:
    with db.change() as connection:
        connection.execute(_NOTES.insert().values(id=id_, body=body))


def _bodies(db) -> list[str]:
    with db.read_session() as s:
        return list(s.scalars(select(_NOTES.c.body).order_by(_NOTES.c.id)))


def test_consecutive_changes_reuse_one_connection_and_each_commits(notes):
    with notes.change() as connection:
        first = connection
        pid = _backend_pid(connection)
        connection.execute(_NOTES.insert().values(id=1, body="một"))
    with notes.session() as s:
        assert s.connection() is first and _backend_pid(first) == pid  # no pool round trip, no new session
        s.connection().execute(_NOTES.insert().values(id=2, body="hai"))
    assert _bodies(notes) == ["một", "hai"]  # each committed, seen from another connection
    assert notes.engine.pool.checkedout() == 1  # the kept one counts against the pool's size


@pytest.mark.parametrize(
    "failing",
    [
        pytest.param(lambda c: c.execute(_NOTES.insert().values(id=9, body="một")), id="refused-statement"),
        pytest.param(lambda c: c.execute(_SERIALIZATION_FAILURE), id="serialization-failure"),
    ],
)
def test_a_failed_change_leaves_the_next_one_on_the_thread_a_clean_connection(notes, observer, app_name, failing):
    _add(notes, 1, "một")
    with pytest.raises(DBAPIError), notes.change() as connection:
        pid = _backend_pid(connection)
        connection.execute(_NOTES.insert().values(id=2, body="mất"))  # written, then undone
        failing(connection)
    assert _backends(observer, app_name) == {pid: "idle"}  # rolled back, not idle in transaction
    with notes.change() as connection:
        assert _backend_pid(connection) == pid  # kept: the failure left it clean
        connection.execute(_NOTES.insert().values(id=2, body="hai"))
    assert _bodies(notes) == ["một", "hai"]


def test_a_failed_flush_of_a_session_change_leaves_the_next_one_clean(notes, observer, app_name):
    _add(notes, 1, "một")
    with pytest.raises(IntegrityError), notes.session() as s:
        s.connection().execute(_NOTES.insert().values(id=2, body="mất"))
        s.connection().execute(_NOTES.insert().values(id=3, body="một"))
    assert set(_backends(observer, app_name).values()) == {"idle"}
    with notes.session() as s:
        s.connection().execute(_NOTES.insert().values(id=2, body="hai"))
    assert _bodies(notes) == ["một", "hai"]


def test_a_transaction_left_open_on_a_kept_connection_is_rolled_back_not_kept(notes, observer, app_name):
    kept = notes.kept_sessions
    session = kept.take()
    connection = session.get_bind()
    connection.begin()  # as code using a change's connection after its block would
    connection.execute(_NOTES.insert().values(id=1, body="half a change"))
    kept.give_back(session)
    assert "idle in transaction" not in _backends(observer, app_name).values()
    assert _bodies(notes) == []  # a reader never sees it
    with notes.lookup_connection() as lookup:  # nor a lookup, which takes a kept connection
        assert lookup.execute(select(_NOTES.c.body)).all() == []
    with notes.change() as again:
        assert again is not connection  # the session went back to the pool, whose reset rolled it back
        again.execute(_NOTES.insert().values(id=1, body="whole"))
    assert _bodies(notes) == ["whole"]


def test_no_backend_is_left_idle_in_a_transaction_after_served_requests(notes, observer, app_name, clock):
    from engine.services import api_tokens
    from engine.services.runtime import Runtime
    from tests.factories import deploy_fixture
    from tests.web.conftest import add_web_users
    from tests.web.conftest import make_app

    rt = Runtime(db=notes, clock=clock)
    add_web_users(rt)
    definition = deploy_fixture(rt, "five_steps")
    app = make_app(rt, clock)
    client = app.test_client()
    reception = {"Authorization": f"Bearer {api_tokens.issue(rt, username='mot_cua_1', name='Cổng DVC')[1]}"}
    other = {"Authorization": f"Bearer {api_tokens.issue(rt, username='chuyen_vien_x', name='Cổng DVC')[1]}"}
    applicant = {"name": "Nguyễn Văn An", "id_number": "001234567890", "phone": "0912345678"}
    body = {"definition_id": definition.id, "unit_code": "00070", "applicant": applicant}
    try:
        assert client.post("/api/v1/dossiers", json=body, headers=reception).status_code == 201
        [step] = client.get("/api/v1/work-items", headers=reception).json
        assert client.post(f"/api/v1/work-items/{step['id']}/claim", headers=reception).status_code == 200
        assert client.post(f"/api/v1/work-items/{step['id']}/claim", headers=other).status_code in (
            403,
            404,
            409,
        )  # refused
        done = client.post(f"/api/v1/work-items/{step['id']}/complete", headers=reception, json={"data": {}})
        assert done.status_code == 200
        backends = _backends(observer, app_name)
        assert backends and set(backends.values()) == {"idle"}  # none idle in a transaction
    finally:
        app.extensions["motcua_runtime"].db.dispose()  # its kept connections and its number's pool


def test_a_killed_backend_fails_one_change_and_the_next_gets_a_new_connection(notes, observer):
    _add(notes, 1, "một")
    with notes.change() as connection:
        killed = _backend_pid(connection)
    observer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
    with pytest.raises(OperationalError), notes.change() as connection:  # as from the pool within its ping's idle time
        connection.execute(_NOTES.insert().values(id=2, body="mất"))
    with notes.change() as connection:
        assert _backend_pid(connection) != killed
        connection.execute(_NOTES.insert().values(id=2, body="hai"))
    assert _bodies(notes) == ["một", "hai"]


def test_a_dropped_connection_takes_the_other_kept_ones_with_it(notes, observer, app_name):
    both_inside = threading.Barrier(2, timeout=30)

    def change() -> None:
        with notes.change() as connection:
            connection.execute(text("SELECT 1"))
            both_inside.wait()

    threads = [threading.Thread(target=change) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(notes.kept_sessions._free) == 2
    observer.execute(
        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"), {"n": app_name}
    )
    with pytest.raises(OperationalError), notes.change() as connection:  # a server restarted, say
        connection.execute(text("SELECT 1"))
    assert notes.kept_sessions._free == []  # the other one is not tried by the next change
    _add(notes, 1, "sau")
    assert _bodies(notes) == ["sau"]


def test_a_kept_connection_idle_for_long_is_checked_and_replaced_when_dead(notes, observer):
    with notes.change() as connection:
        killed = _backend_pid(connection)
    observer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
    record = connection.connection.info
    record["idle_since"] -= IDLE_BEFORE_PING_S + 1  # as if given back half a minute ago
    with notes.change() as connection:  # the ping finds it dead: no error for the change
        assert _backend_pid(connection) != killed
        connection.execute(_NOTES.insert().values(id=1, body="một"))
    assert _bodies(notes) == ["một"]


def test_a_burst_of_threads_leaves_no_more_connections_open_than_the_pool_keeps(notes, observer, app_name):
    pool_size = notes.engine.pool.size()
    many = pool_size + 4  # past the pool's size, into its overflow
    all_inside = threading.Barrier(many, timeout=30)
    drivers = []

    def change(n: int) -> None:
        with notes.change() as connection:
            drivers.append(connection.connection.dbapi_connection)
            connection.execute(_NOTES.insert().values(id=n, body=f"thread {n}"))
            all_inside.wait()  # all at once, each holding a connection

    threads = [threading.Thread(target=change, args=(n,)) for n in range(many)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_bodies(notes)) == many and len(set(map(id, drivers))) == many
    assert sum(not driver.closed for driver in drivers) <= pool_size  # as many as the pool alone keeps
    assert "idle in transaction" not in _backends(observer, app_name).values()
    assert len(notes.kept_sessions._free) <= min(MOST_KEPT, pool_size - 1)
    for n in range(3):  # the next changes keep one again
        _add(notes, many + n, f"after {n}")
    assert sum(not driver.closed for driver in drivers) <= pool_size
    assert len(notes.kept_sessions._free) == 1


def test_the_kept_leave_room_in_the_pool_for_the_reads_beside_them(postgres_template):
    db = Database(postgres_template)
    try:
        assert db.kept_sessions is not None and db.kept_sessions.most_kept < db.engine.pool.size()
    finally:
        db.dispose()
    tiny = Database(postgres_template, engine=create_engine(postgres_template, pool_size=1, max_overflow=0))
    try:
        assert tiny.kept_sessions is None  # one slot: nothing kept, a read would wait for it
        with tiny.change() as connection:
            connection.execute(text("SELECT 1"))
        with tiny.read_session() as s:
            s.execute(text("SELECT 1"))
    finally:
        tiny.dispose()


def test_a_forked_process_does_not_use_its_parents_connection(notes, monkeypatch):
    with notes.change() as connection:
        parent, parents_pid = connection, _backend_pid(connection)
    real_pid = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: real_pid + 1)  # as in a child after fork
    with notes.change() as connection:
        assert connection is not parent and _backend_pid(connection) != parents_pid
        connection.execute(_NOTES.insert().values(id=1, body="child"))
    monkeypatch.setattr(os, "getpid", lambda: real_pid)
    assert not parent.closed and parent.exec_driver_sql("SELECT 1").scalar() == 1  # left alone
    parent.rollback()
    assert _bodies(notes) == ["child"]


def test_disposing_the_engine_closes_the_kept_connections(notes):
    with notes.change() as connection:
        driver = connection.connection.dbapi_connection
        connection.execute(_NOTES.insert().values(id=1, body="một"))
    notes.engine.dispose()  # as the tests' apps and the benchmarks do
    assert driver.closed
    _add(notes, 2, "hai")
    assert _bodies(notes) == ["một", "hai"]


def test_a_dossier_codes_numbers_are_taken_on_one_kept_counter_connection_each_committed(notes, observer):
    day = date(2026, 3, 2)
    with notes.session() as s:
        taken = [sequences.next_value(notes, s, "H38", day) for _ in range(3)]
        with notes.counter_connection() as connection:
            pid = _backend_pid(connection)
        s.rollback()  # the numbers were taken on their own connection: the change's rollback keeps them
    assert taken == [1, 2, 3]
    with notes.counter_connection() as connection:
        assert _backend_pid(connection) == pid  # the same backend each time, no pool round trip
    assert notes.counter_engine.pool.checkedout() == 1
    seen = observer.execute(text("SELECT last_value FROM dossier_sequence WHERE agency_code = 'H38'")).scalar_one()
    assert seen == 3


def test_a_killed_counter_backend_fails_one_number_and_the_next_gets_a_new_connection(notes, observer):
    day = date(2026, 3, 2)
    with notes.session() as s:
        assert sequences.next_value(notes, s, "H38", day) == 1
    with notes.counter_connection() as connection:
        killed = _backend_pid(connection)
    observer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
    with pytest.raises(OperationalError), notes.session() as s:  # as from the pool within its ping's idle time
        sequences.next_value(notes, s, "H38", day)
    with notes.session() as s:
        assert sequences.next_value(notes, s, "H38", day) == 2
    with notes.counter_connection() as connection:
        assert _backend_pid(connection) != killed


def test_a_step_before_commit_that_fails_after_writing_leaves_nothing_on_postgresql(notes, observer, app_name):
    def before_commit(session) -> None:
        session.connection().execute(_NOTES.insert().values(id=2, body="mất"))
        raise RuntimeError("the audit write failed")

    with pytest.raises(RuntimeError), notes.session(before_commit=before_commit) as s:
        s.connection().execute(_NOTES.insert().values(id=1, body="cũng mất"))
    assert _bodies(notes) == []  # neither the block's write nor the step's
    assert "idle in transaction" not in _backends(observer, app_name).values()
    with notes.session(before_commit=lambda s: s.connection().execute(_NOTES.insert().values(id=2, body="hai"))) as s:
        s.connection().execute(_NOTES.insert().values(id=1, body="một"))
    assert _bodies(notes) == ["một", "hai"]  # the next change, on the kept connection, commits both
