"""Engines and sessions for SQLite (embedded, WAL) and PostgreSQL (scale-out)."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from psycopg.errors import QueryCanceled
from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import QueuePool

from engine.domain.errors import LostRace
from engine.store import deferred_begin
from engine.store import json_columns
from engine.store import query_conversion
from engine.store.driver_writes import DriverWrite

__all__ = [
    "Connection",
    "Database",
    "OperationalError",
    "Session",
    "default_database_url",
    "engine_options",
    "make_engine",
    "normalise_url",
]

DEFAULT_SQLITE_PATH = Path("instance") / "motcua.sqlite3"


def default_database_url() -> str:
    """`DATABASE_URL` when set, else the embedded SQLite file under instance/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return normalise_url(url)
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH.resolve()}"


def normalise_url(url: str) -> str:
    """Accept the usual postgres:// spellings and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


#: How long the web app lets one PostgreSQL statement run (MOTCUA_STATEMENT_TIMEOUT_MS; 0: no limit).
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000


def engine_options(url: str, *, statement_timeout_ms: int = 0) -> dict:
    """What an engine for `url` needs besides it (Flask-SQLAlchemy's SQLALCHEMY_ENGINE_OPTIONS take
    the same): on SQLite a busy timeout, and no reset-on-return ROLLBACK, since sessions always end
    their transaction themselves and it would be a wasted statement per change. On PostgreSQL the
    pool hands out the connection returned last: a request's token lookup and its change then run
    on one backend, warm, where the pool's default (the one idle longest) woke two cold ones per
    request once a busy moment had grown the pool (in process, 15 dossiers per turn, ten turns
    alternated: PostgreSQL CPU per completion 2.6 -> 2.1 ms, this process's 6.5 -> 5.4 ms).

    `statement_timeout_ms` (PostgreSQL, above 0): the server cancels a statement of these
    connections that runs longer (`statement_cancelled` says so of the error), set once at connect
    through libpq's options: no statement per request."""
    if normalise_url(url).startswith("sqlite"):
        return {"connect_args": {"timeout": 30}, "pool_reset_on_return": None}
    if statement_timeout_ms > 0:
        return {"pool_use_lifo": True, "connect_args": {"options": f"-c statement_timeout={int(statement_timeout_ms)}"}}
    return {"pool_use_lifo": True}


def statement_cancelled(error: BaseException) -> bool:
    """Whether `error` is PostgreSQL's cancellation of a statement (its statement_timeout, or an
    operator's pg_cancel_backend): the transaction it ran in is rolled back, nothing written."""
    return isinstance(error, OperationalError) and isinstance(error.orig, QueryCanceled)


def make_engine(url: str, *, read_only: bool = False, **kwargs) -> Engine:
    url = normalise_url(url)
    return prepare_engine(create_engine(url, **(engine_options(url) | kwargs)), read_only=read_only)


def prepare_engine(engine: Engine, *, read_only: bool = False) -> Engine:
    """What every process needs of an engine, whoever created it: on SQLite, writers take the write
    lock at BEGIN (BEGIN IMMEDIATE) so that two writers queue instead of failing on lock upgrade,
    while read-only engines BEGIN deferred and read a WAL snapshot without waiting for writers; on
    PostgreSQL, idle connections are checked before reuse and a reader refuses writes."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # On the driver's cursor: SQLAlchemy's execution of it was a fifth of a step's read.
        begin = DriverWrite(text("BEGIN" if read_only else "BEGIN IMMEDIATE"))
        event.listen(engine, "begin", lambda conn: begin.run(conn, {}))
        return engine
    _ping_when_idle(engine)
    query_conversion.keep_change_statements()
    event.listen(engine, "connect", _parse_json_columns)
    if not read_only:
        deferred_begin.defer_begin(engine)
    # A reader (a replica) refuses writes at the server, whatever a query tries.
    return engine.execution_options(postgresql_readonly=True) if read_only else engine


def _parse_json_columns(driver_connection, _record) -> None:
    json_columns.parse_on(driver_connection)


#: A pooled connection unused for longer than this is checked before it is handed out again.
IDLE_BEFORE_PING_S = 30.0
#: In a pooled connection's record: when it was last given back (to the pool, or to the kept
#: change sessions).
_IDLE_SINCE = "idle_since"


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection only when it has sat idle for a while: the server or a firewall
    may have dropped it then, while one handed back a moment ago is alive (SQLAlchemy's
    pool_pre_ping checks every check-out, a round trip on every request)."""
    event.listen(engine.pool, "checkin", _mark_idle)
    event.listen(engine.pool, "checkout", _ping_if_idle_long)


def _mark_idle(_dbapi_connection, record) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle_long(dbapi_connection, record, _proxy) -> None:
    idle_since = record.info.get(_IDLE_SINCE)
    if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # the pool replaces the connection and tries again
        raise DisconnectionError(f"idle connection found dead: {exc}") from exc


#: The WAL's size, in 4 KB pages, at which a commit copies it back into the database file (SQLite's
#: default is 1,000). Each such checkpoint waits for two fsyncs and copies the latest version of
#: every page the WAL holds: at 1,000 pages a completion (about 16 pages) paid a checkpoint every
#: ~60 commits, 0.15–0.19 ms of waiting per completion (wall clock less CPU) against 0.07 at 4,000,
#: where hot pages (the step's indexes, the chain head, the KPI rows) are copied once for four
#: times as many commits. The WAL then stays under about 16 MB; a reader holding a snapshot
#: delays a checkpoint whatever the threshold.
WAL_CHECKPOINT_PAGES = 4000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.close()


class ChangeSession(Session):
    """The sessions of `Database`: `connection()` asked again in the same transaction hands back
    the connection it gave, without walking SQLAlchemy's transaction machinery (seven Python calls
    each time; a completion asks five times: its read, the officers' KPI upsert, the rows' write,
    the audit events' chain and rows). Anything else (bind or execution options given, another
    transaction, a transaction no longer active) is the Session's own answer."""

    #: (the transaction, its connection) as last handed out; the transaction weakly, since it
    #: holds the session: a strong reference here made a cycle only the garbage collector freed,
    #: which cost more than the calls saved (the first connection() of each change 23 -> 29 us).
    _handed: tuple[weakref.ref, Connection] | None = None

    #: The connection a kept session is bound to (`KeptChangeSessions`), for its keeper's checks
    #: at each take and give back without asking the session's bind and checking its type (two
    #: Python calls each time, ten a change).
    kept_on: Connection

    def connection(self, bind_arguments=None, execution_options=None) -> Connection:
        handed = self._handed
        # Session._transaction is the innermost transaction `connection()` itself would ask
        # (a flush's or a savepoint's too): any other transaction than the one handed out for is
        # asked again (tests/engine/test_change_sessions.py fails if SQLAlchemy changes it).
        transaction = self._transaction
        if (
            handed is not None
            and handed[0]() is transaction
            and transaction is not None
            and bind_arguments is None
            and execution_options is None
            and transaction.is_active
        ):
            return handed[1]
        connection = super().connection(bind_arguments, execution_options)
        if bind_arguments is None and execution_options is None and self._transaction is not None:
            self._handed = (weakref.ref(self._transaction), connection)
        return connection


#: Kept change sessions at most (on PostgreSQL also fewer than the pool's size,
#: `kept_change_sessions`): a served worker runs 4 threads, and SQLite writes one change at a
#: time, so more kept connections would only hold file descriptors, page caches or backends.
MOST_KEPT = 4


class KeptChangeSessions:
    """Change sessions kept from one change to the next, each bound to a connection of its own
    that it keeps between changes: a change is then its transaction's begin, statements and
    commit, without a new session, the pool's check-out and check-in and a new `Connection`
    (`Session.close()` leaves a session reusable, and a session bound to a `Connection` it did not
    begin a transaction on begins and ends one there each time, and never closes it). On SQLite an
    empty change through a new session cost 120 µs of CPU, two thirds of it that set-up; on
    PostgreSQL it was ~200 of a served claim's 684 Python calls.

    A change takes a free one (the one given back last: its pages are the warmest) and gives it
    back at its end, so no two changes share one at a time; a change begun inside another takes
    another. They are not tied to a thread: Flask's development server starts a thread per
    request, and a connection per thread cost each request a new connection (a change in a new
    thread 1.5 ms against 0.57 with a kept one) and left it open until the garbage collector
    found it. At most `most_kept` are kept, and one given back beyond that is closed (a burst of
    concurrent changes would otherwise keep its connections open for the process's life);
    `Database.dispose` and the engine's `dispose()` close them. A process forked after its parent
    kept some starts with none (the parent's connections must not be used, nor closed, by the
    child: they stay referenced, untouched, for the child's life).

    On SQLite the connections are out of the pool (`detach`: SQLite's connections may move
    between threads, `check_same_thread` is off for files), so they never count against its size.
    On PostgreSQL they stay checked out of the pool and count against its size: the pool's limits
    (`pool_size`, `max_overflow`) still bound every connection the process opens, and fewer are
    kept than the pool's size, so that the reads beside them (lookups, read sessions) always find
    room. What the pool did at each check-out and check-in is done here instead: a connection
    given back while anything is open on it (a failure that left a transaction, a pending BEGIN
    or a COMMIT sent with its statement not yet forgotten) goes back to the pool, whose reset rolls
    it back, so that no backend is left idle in a transaction between changes; one idle longer
    than `IDLE_BEFORE_PING_S` is checked before it is used again, as the pool checks its own; one
    a dropped connection invalidated takes every free one with it, as the pool invalidates all its
    connections when one is found dropped (a restarted server dropped them all)."""

    def __init__(self, engine: Engine, factory: sessionmaker, most_kept: int = MOST_KEPT) -> None:
        self.engine, self.factory, self.most_kept = engine, factory, most_kept
        self.in_pool = is_postgres(engine)
        self._free: list[ChangeSession] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._inherited: list[ChangeSession] = []
        event.listen(engine, "engine_disposed", self._engine_disposed)

    def take(self) -> ChangeSession:
        """A session for a change, ready to begin."""
        if self._pid != os.getpid():  # a forked child: its parent's sessions are not its own
            self._inherited.extend(self._free)
            self._free, self._lock, self._pid = [], threading.Lock(), os.getpid()
        with self._lock:
            session = self._free.pop() if self._free else None
        if session is not None and not self._usable(session):
            _close(session)
            session = None
        if session is None:
            session = self._new_session()
        session.info.clear()  # the last change's, kept until now for whoever read them after it
        return session

    def give_back(self, session: ChangeSession) -> None:
        connection = session.kept_on
        if connection.invalidated:  # dropped: the others may be too (a restarted server)
            self.close()
        kept = _ready_for_a_change(session) and self._pool_within_its_size()
        if kept:
            if self.in_pool:
                connection.connection.info[_IDLE_SINCE] = time.monotonic()
            with self._lock:
                kept = len(self._free) < self.most_kept and self._pid == os.getpid()
                if kept:
                    self._free.append(session)
        if not kept:
            _close(session)

    def close(self, *, drop: bool = False) -> None:
        """Close the kept sessions' connections (a forked child's inherited ones are left alone);
        with `drop`, their database connections too, not given back to the pool."""
        with self._lock:
            free, self._free = self._free, []
        if self._pid == os.getpid():
            for session in free:
                if drop:
                    session.kept_on.invalidate()
                _close(session)

    def _pool_within_its_size(self) -> bool:
        """Whether the pool holds no more connections than its size (`pool_size`), the kept ones
        counted as checked out: when a burst grew it past that, a session given back goes back to
        the pool, which closes the connections beyond its size as they return, so that no more
        stay open after the burst than the pool alone would keep."""
        pool = self.engine.pool
        return not self.in_pool or (isinstance(pool, QueuePool) and pool.overflow() <= 0)

    def _engine_disposed(self, _engine: Engine) -> None:
        """The pool the kept connections came from is closed: theirs are closed with it."""
        self.close(drop=True)

    def _new_session(self) -> ChangeSession:
        connection = self.engine.connect()
        if not self.in_pool:
            connection.detach()
        session = self.factory(bind=connection)
        session.kept_on = connection
        return session

    def _usable(self, session: ChangeSession) -> bool:
        """Whether a free session's connection may serve the next change: on PostgreSQL, one idle
        for a while is checked first (`_ping_if_idle_long`, as at the pool's check-out). Its state
        is not checked again: `give_back` keeps only a session ready for a change, and a free one
        is nobody's until taken (the check at both ends was ten Python calls of every change)."""
        if not self.in_pool:
            return True
        connection = session.kept_on
        fairy = connection.connection
        try:
            _ping_if_idle_long(fairy.dbapi_connection, fairy, None)
        except DisconnectionError as exc:
            connection.invalidate(exc)
            return False
        return True


def _close(session: ChangeSession) -> None:
    session.close()
    session.kept_on.close()


def _ready_for_a_change(session: ChangeSession) -> bool:
    """Whether a kept session can start the next change: closed, on a usable connection that no
    transaction holds (a failure that left one open makes the next change start afresh); on
    PostgreSQL, nothing open on the driver's connection either, nor pending of a BEGIN."""
    connection = session.kept_on
    if (
        session.get_transaction() is not None
        or connection.closed
        or connection.invalidated
        or connection.in_transaction()
    ):
        return False
    return connection.dialect.name == "sqlite" or deferred_begin.between_transactions(connection)


def kept_change_sessions(engine: Engine, factory: sessionmaker) -> KeptChangeSessions | None:
    """The kept change sessions of `engine`: on SQLite `MOST_KEPT`; on PostgreSQL as many, but
    fewer than the pool's size, so that the reads beside them never wait for a slot the kept
    hold (none for a pool without a size: one per connection, say, for which nothing is kept)."""
    if engine.dialect.name == "sqlite":
        return KeptChangeSessions(engine, factory)
    pool = engine.pool
    if not isinstance(pool, QueuePool) or pool.size() < 2:
        return None
    return KeptChangeSessions(engine, factory, most_kept=min(MOST_KEPT, pool.size() - 1))


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


#: For the transaction it runs in only (SET LOCAL): the pooled connection forgets it at the end.
_NO_PARALLEL_WORKERS = text("SET LOCAL max_parallel_workers_per_gather = 0")


def _in_autocommit(connection: Connection) -> bool:
    """Whether `connection` runs each statement on its own (no BEGIN, COMMIT or ROLLBACK sent):
    by SQLAlchemy's isolation level, or on PostgreSQL by its driver's (`lookup_connection`)."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return True
    if connection.dialect.name == "sqlite" or connection.invalidated:
        return False
    driver: Any = connection.connection.dbapi_connection  # psycopg's, which has `autocommit`
    return bool(driver.autocommit) and not deferred_begin.is_ours(connection)


def _psycopg_sends_begin_first(connection: Connection) -> bool:
    """Whether psycopg sends a BEGIN of its own, and waits for it, before the statement about to run."""
    if connection.dialect.name == "sqlite":
        return False
    driver: Any = connection.connection.dbapi_connection
    return not driver.autocommit and driver.pgconn.transaction_status == TransactionStatus.IDLE


def _transaction_open(connection: Connection) -> bool:
    """Whether a COMMIT or ROLLBACK about to be asked for goes to the database (on SQLite, always)."""
    if connection.dialect.name == "sqlite":
        return True
    if connection.invalidated:  # nothing is sent on a dropped connection
        return False
    driver: Any = connection.connection.dbapi_connection
    return driver is not None and driver.pgconn.transaction_status != TransactionStatus.IDLE


@contextmanager
def _in_autocommit_for_lookups(connection: Connection) -> Iterator[None]:
    """PostgreSQL: the driver's connection in autocommit for the block (`Database.lookup_connection`)."""
    driver: Any = connection.connection.dbapi_connection  # psycopg's, which has `autocommit`
    driver.autocommit = True
    try:
        yield
    finally:
        if not connection.invalidated:  # a dropped connection is discarded, not reset
            if connection.in_transaction():  # a lookup run by SQLAlchemy's execution
                connection.rollback()  # nothing to undo: ends its bookkeeping, no round trip
            driver.autocommit = False


class Database:
    """An engine plus its session factory; what the CLI, workers and the web app share."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, report_url: str | None = None):
        """`report_url`: a read-only database (a PostgreSQL replica) for the supervisors' reports
        (`report_session`); without it they read the main database like every other reader."""
        # An engine created elsewhere (the web app's, by Flask-SQLAlchemy) gets what every process needs.
        self.engine = prepare_engine(engine) if engine is not None else make_engine(url or default_database_url())
        # No autoflush: a change is flushed once, at commit; queries inside a change never depend
        # on its own unflushed rows (the services keep that rule).
        self.session_factory = sessionmaker(self.engine, class_=ChangeSession, expire_on_commit=False, autoflush=False)
        self.kept_sessions = kept_change_sessions(self.engine, self.session_factory)
        if self.engine.dialect.name == "sqlite":
            self.read_engine = make_engine(self.url, read_only=True)
        else:
            self.read_engine = self.engine
        self.read_session_factory = sessionmaker(self.read_engine, expire_on_commit=False)
        self.report_engine = make_engine(report_url, read_only=True) if report_url else self.read_engine
        self.report_session_factory = sessionmaker(self.report_engine, expire_on_commit=False)

    @classmethod
    def from_env(cls) -> Database:
        """`DATABASE_URL` (see default_database_url), reports on `MOTCUA_READ_DATABASE_URL` when set."""
        return cls(default_database_url(), report_url=os.environ.get("MOTCUA_READ_DATABASE_URL") or None)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only (list screens, lookups, reports): never waits for writers."""
        session = self.read_session_factory()
        try:
            yield session
        finally:
            session.close()  # ends the snapshot; loaded objects stay readable (detached)

    @contextmanager
    def lookup_connection(self) -> Iterator[Connection]:
        """A Core connection for lookups answered by plain columns (who a token or a session
        cookie belongs to, an Idempotency-Key's answer): on PostgreSQL each statement runs on its
        own, without the BEGIN and ROLLBACK round trips a transaction costs; on SQLite, the read
        engine's. No ORM session around it: on every request, its bookkeeping cost more Python
        than the statement.

        On PostgreSQL the driver's connection is put in autocommit for the lookup and back after
        it, by hand: SQLAlchemy's isolation level (AUTOCOMMIT as an execution option) sets and
        resets it through its connection characteristics on each checkout, 88 -> 74 us per lookup
        in a loop, and its reset leaves psycopg an explicit READ COMMITTED, after which every
        transaction on that pooled connection kept psycopg's own BEGIN and its wait
        (engine.store.deferred_begin sends only a plain one). A pool of
        its own kept in autocommit (68 us) would wake a second backend on each request, where the
        lookup and the change now share the one returned last (`engine_options`); with kept
        change sessions (`KeptChangeSessions`) the lookup takes a kept one's connection, which the
        change after it takes again."""
        kept_sessions = self.kept_sessions if self.read_engine is self.engine else None
        if kept_sessions is None or not is_postgres(self.engine):
            with self.read_engine.connect() as connection:
                if not is_postgres(self.read_engine):
                    yield connection
                    return
                with _in_autocommit_for_lookups(connection):
                    yield connection
            return
        kept = kept_sessions.take()
        try:
            connection = kept.kept_on
            deferred_begin.settle(connection)  # psycopg's own autocommit, as the pool's check-in leaves it
            with _in_autocommit_for_lookups(connection):
                yield connection
        finally:
            kept_sessions.give_back(kept)

    @cached_property
    def counter_engine(self) -> Engine | None:
        """PostgreSQL: autocommit connections for one-statement writes that must not wait for the
        caller's transaction (a dossier code's daily number, engine.store.sequences); None on SQLite.

        A pool apart, so that a caller already holding a connection never waits for its own pool.
        Its commits need no flush of their own (synchronous_commit off): the transaction that uses
        the number commits after it, and flushing the log up to that commit flushes this one too;
        a crash in between loses only a number nobody used."""
        if not is_postgres(self.engine):
            return None
        return make_engine(
            self.url,
            isolation_level="AUTOCOMMIT",
            pool_size=2,
            max_overflow=8,
            connect_args={"options": "-c synchronous_commit=off"},
        )

    @cached_property
    def _kept_counters(self) -> KeptChangeSessions | None:
        """`counter_engine`'s connections kept between statements, as the change sessions' are
        (fewer than its pool's size): a start's number through the pool's check-out and check-in
        cost about eighty Python calls, half of them the pool's events and its reset on return."""
        counter_engine = self.counter_engine
        if counter_engine is None:
            return None
        return kept_change_sessions(counter_engine, sessionmaker(counter_engine, class_=ChangeSession))

    @contextmanager
    def counter_connection(self) -> Iterator[Connection]:
        """A connection of `counter_engine` (PostgreSQL) for one-statement writes: each statement
        commits on its own; a kept one where there are some."""
        kept_counters = self._kept_counters
        if kept_counters is None:
            counter_engine = self.counter_engine
            if counter_engine is None:
                raise RuntimeError("counter connections are PostgreSQL's only")
            with counter_engine.connect() as connection:
                yield connection
            return
        kept = kept_counters.take()
        try:
            yield kept.kept_on
        finally:
            kept_counters.give_back(kept)

    @contextmanager
    def report_session(self) -> Iterator[Session]:
        """A session for the supervisors' reports (dashboard, drill-downs, exports, at-risk list,
        statistics API): on the read-only report database when one is given. Only reports go
        there: a replica may lag, and a clerk must see the change they just made.

        On PostgreSQL its transaction plans no parallel workers: a report's statements read tens
        of thousands of rollup rows at most, and starting a worker cost 30-46 ms on the loaded
        2-core machine, more than the statement it served (benchmarks/dashboard.py)."""
        session = self.report_session_factory()
        try:
            if is_postgres(self.report_engine):
                session.execute(_NO_PARALLEL_WORKERS)
            yield session
        finally:
            session.close()

    def on_round_trip(self, callback: Callable[[], None]) -> None:
        """Call `callback` for every round trip to the database: each statement, and each
        transaction's BEGIN (which PostgreSQL's driver sends on its own; SQLite's is one of our
        statements), COMMIT or ROLLBACK; an autocommit connection (`lookup_connection` on
        PostgreSQL) sends none of those three."""

        def statement(*_args) -> None:
            callback()

        def transaction_end(connection, *_args) -> None:
            if not _in_autocommit(connection):
                callback()

        for engine in {self.engine, self.read_engine, self.report_engine}:
            event.listen(engine, "before_cursor_execute", statement)
            if engine.dialect.name != "sqlite":
                event.listen(engine, "begin", transaction_end)
            event.listen(engine, "commit", transaction_end)
            event.listen(engine, "rollback", transaction_end)

    def on_wait(self, callback: Callable[[], None]) -> None:
        """Call `callback` for every network wait on the database: a statement sent alone (with
        the BEGIN psycopg sends and waits for before it, a second wait), a statement that took
        its transaction's BEGIN along in one pipeline sync (engine.store.deferred_begin: one),
        and a COMMIT or ROLLBACK that psycopg sends (none when no transaction was open). On
        SQLite, where there is no network, each statement and COMMIT counts as one."""

        def statement(connection, *_args) -> None:
            if deferred_begin.is_riding(connection):
                return
            callback()
            if _psycopg_sends_begin_first(connection):
                callback()

        def transaction_end(connection, *_args) -> None:
            if _transaction_open(connection):
                callback()

        for engine in {self.engine, self.read_engine, self.report_engine}:
            event.listen(engine, "before_cursor_execute", statement)
            event.listen(engine, "commit", transaction_end)
            event.listen(engine, "rollback", transaction_end)

    def dispose(self) -> None:
        if self.kept_sessions is not None:
            self.kept_sessions.close()
        self.engine.dispose()
        if "counter_engine" in self.__dict__ and self.counter_engine is not None:
            self.counter_engine.dispose()
        for other in {self.read_engine, self.report_engine}:
            if other is not self.engine:
                other.dispose()

    @contextmanager
    def change(self) -> Iterator[Connection]:
        """A change's transaction on a Core connection of the write engine, without an ORM session
        (a claim's one statement): it commits on success and rolls back on any error. Its BEGIN is
        the engine's, as a session's (BEGIN IMMEDIATE on SQLite; on PostgreSQL sent with its first
        driver statement, engine.store.deferred_begin). A served claim through a session paid its
        begin, commit and close though it loaded no object: 1,426 Python calls against 1,306.
        The connection is a kept change session's (`KeptChangeSessions`) where there are some."""
        kept_sessions = self.kept_sessions
        if kept_sessions is None:
            with self.engine.begin() as connection:
                yield connection
            return
        kept = kept_sessions.take()
        try:
            connection = kept.kept_on
            with connection.begin():
                yield connection
        finally:
            kept_sessions.give_back(kept)

    @contextmanager
    def session_on(self, connection: Connection) -> Iterator[Session]:
        """A session joined to `connection`'s transaction (`change`), for what needs one inside it:
        its flush and before-commit work run at the end of the block, the commit stays the
        connection's. Nothing done through it: no flush, no commit hooks. A lost optimistic-lock
        race becomes LostRace, as in `session`."""
        # join_transaction_mode's default (conservative_savepoint) leaves the connection's
        # transaction to it: the session's commit flushes and does not commit it, while its
        # rollback does roll it back.
        session = self.session_factory(bind=connection)
        try:
            yield session
            if session.in_transaction() or session.new:  # a loaded object (dirty, deleted) began one
                session.commit()
        except StaleDataError:
            raise LostRace("someone else changed this dossier at the same moment; reload and try again") from None
        finally:
            session.close()

    @contextmanager
    def session(self, before_commit: Callable[[Session], object] | None = None) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error; a lost optimistic-lock
        race (another transaction changed the same row first) becomes LostRace (a ConflictError).
        A kept session (`KeptChangeSessions`) where there are some. `before_commit(session)`, when
        given, runs once the block has ended without an error, before the commit (a change's
        pending writes: engine.services.unit_of_work; given here rather than wrapped around this
        block, whose generator's every step is a few Python calls of each change)."""
        kept_sessions = self.kept_sessions
        kept = kept_sessions.take() if kept_sessions is not None else None
        session = kept if kept is not None else self.session_factory()
        try:
            yield session
            if before_commit is not None:
                before_commit(session)
            session.commit()
        except StaleDataError:
            session.rollback()
            raise LostRace("someone else changed this dossier at the same moment; reload and try again") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            try:
                session.close()
            finally:
                if kept is not None and kept_sessions is not None:
                    kept_sessions.give_back(kept)
