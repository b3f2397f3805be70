"""PostgreSQL: a transaction's BEGIN travels with its first statement and the reads queued to ride
with it (a request's token lookup), one network wait instead of three. psycopg sends BEGIN on its
own and waits for it before the first statement of a transaction, even in pipeline mode (it syncs
after it). A pipeline carrying the BEGIN alone costs more of psycopg's Python than the wait it saves
(in a loop: this process 30-70 us, the backend up to 20 us more per transaction; served, a start's
server CPU 0.3-0.9 ms higher in three runs), so it is used only when a rider comes along.

How: when SQLAlchemy begins a transaction, the driver's connection is put in autocommit (psycopg
then sends no BEGIN of its own) and the BEGIN is left pending on it. A statement run on the
driver's cursor (engine.store.driver_reads) while riders wait sends the pending BEGIN, the riders
and itself in one pipeline sync, queued in libpq and flushed once (`_in_one_flush`: psycopg's own
pipeline flushed and polled once per command, 16% of a served request's samples); any other first statement gives the connection back to psycopg first,
which then sends BEGIN as it always did (the riders, if any, go alone just before it). COMMIT and ROLLBACK are psycopg's own either way: it sends them while a
transaction is open (after BEGIN went out) and sends nothing when none is. The connection leaves
autocommit again when it goes back to the pool; one kept out of the pool between changes
(engine.store.database.KeptChangeSessions) stays in it until its next transaction's begin, each
transaction's commit or rollback having cleared what it left here (`between_transactions`).

Transactions that ask for more than a plain BEGIN (an isolation level, read only: a replica's
engine) keep psycopg's own BEGIN, as does a connection in autocommit on purpose (the lookups).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Generator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg._preparing import Prepare
from psycopg.generators import fetch_many
from psycopg.generators import send
from psycopg.pq import ConnStatus
from psycopg.pq import ExecStatus
from psycopg.pq import Format
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from engine.store import kept_cursors

#: In the pooled connection's info: a BEGIN not sent yet, and an autocommit set by this module.
_PENDING = "motcua_begin_pending"
_OURS = "motcua_autocommit_for_begin"
#: In the pooled connection's info: the transaction's COMMIT went with its one statement.
_COMMITTED = "motcua_committed_with_statement"
_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"
TEXT = Format.TEXT


def defer_begin(engine: Engine) -> None:
    """Send each transaction's BEGIN of `engine` (PostgreSQL) with its first driver statement."""
    if event.contains(engine, "begin", _leave_pending):
        return  # an engine shared by two Databases (the web app's) is prepared once
    event.listen(engine, "begin", _leave_pending)
    event.listen(engine, "commit", _forget_pending)
    event.listen(engine, "rollback", _forget_pending)
    event.listen(engine, "before_cursor_execute", _let_psycopg_begin)
    event.listen(engine.pool, "checkin", _give_back)


def take_pending_begin(connection: Connection, carrying: bool = False) -> bool:
    """Whether a BEGIN is pending on `connection` with riders waiting to go with it (or a rider's
    check `carrying` in the statement itself: `rider_to_carry`); the caller, about to run a
    statement on the driver's cursor, sends them with `execute_after_begin`. Without either the
    BEGIN stays pending, and psycopg sends its own before the statement."""
    return (carrying or bool(_RIDERS.get())) and bool(connection.connection.info.pop(_PENDING, False))


def take_pending_begin_to_commit(connection: Connection) -> bool:
    """Whether a BEGIN is pending on `connection` (nothing sent in its transaction yet), taken by
    a caller that sends the transaction's one statement with its BEGIN and its COMMIT
    (`execute_after_begin(..., commit=True)`), riders or not."""
    return bool(connection.connection.info.pop(_PENDING, False))


def execute_after_begin(connection: Connection, cursor: Any, sql: str, given: Any, *, commit: bool = False) -> None:
    """BEGIN, the reads riding with it (`ride_with_next_begin`) and `sql` on `cursor` in one
    pipeline sync: one network wait. Each rider then hears its answer before anything else runs
    in the transaction; one that raises leaves the transaction to its rollback.

    With `commit`, the transaction ends at the same sync, after `sql`: for a transaction of that
    one statement, whose every check is in the statement itself (a rider's refusal then must find
    that the statement wrote nothing). It is the sync's implicit transaction, BEGIN and COMMIT
    unsent (the driver is in autocommit here); an error of any statement aborts the rest of the
    pipeline and rolls the whole back, as a COMMIT skipped would.
    SQLAlchemy still ends the transaction as usual: psycopg sends nothing more, none being open
    (`committed`); a statement run after it on the connection is refused."""
    riders = _RIDERS.get()
    driver: Any = connection.connection.dbapi_connection  # psycopg's
    # A rider whose text another statement of this flush runs gets a cursor of its own: each
    # statement's results are set on its cursor before any is read.
    texts = [rider.sql for rider in riders]
    kept = [text != sql and texts.index(text) == at for at, text in enumerate(texts)]
    queued = [
        (_announced(connection, rider, kept=keep), rider.sql, rider.params)
        for rider, keep in zip(riders, kept, strict=True)
    ]
    queued.append((cursor, sql, given))
    try:
        with driver.lock:
            # With its COMMIT, the transaction is the pipeline's own: PostgreSQL runs what comes
            # before a sync in autocommit as one implicit transaction, committed at the sync and
            # rolled back whole on an error, so BEGIN and COMMIT go unsent.
            driver.wait(_in_one_flush(driver, queued, commit=False, begin=not commit))
        if commit:
            connection.connection.info[_COMMITTED] = True
        _heard(riders, [rider_cursor for rider_cursor, _sql, _params in queued[:-1]])
    except BaseException:
        for rider, keep in zip(riders, kept, strict=True):
            if keep:
                kept_cursors.drop(driver, rider.sql)
        raise


def may_commit_with_last(connection: Connection) -> bool:
    """Whether the open transaction on `connection` began with a BEGIN this module sent, no
    rider waiting: its last statement may then take its COMMIT along (`execute_then_commit`),
    psycopg, in the autocommit set here, knowing of no transaction to end."""
    info = connection.connection.info
    if not info.get(_OURS, False) or _PENDING in info or _COMMITTED in info or _RIDERS.get():
        return False
    driver: Any = connection.connection.dbapi_connection
    return driver.pgconn.transaction_status == TransactionStatus.INTRANS


def execute_then_commit(connection: Connection, cursor: Any, sql: str, given: Any) -> None:
    """`sql` on `cursor` and the transaction's COMMIT in one pipeline sync (`may_commit_with_last`
    said so): one network wait instead of two. An error skips the COMMIT and leaves the
    transaction to its rollback; after it, as after `execute_after_begin(..., commit=True)`,
    `committed` says so and a statement run on the connection is refused."""
    driver: Any = connection.connection.dbapi_connection  # psycopg's
    with driver.lock:
        driver.wait(_in_one_flush(driver, [(cursor, sql, given)], commit=True, begin=False))
    connection.connection.info[_COMMITTED] = True


def committed(connection: Connection) -> bool:
    """Whether the transaction on `connection` was committed with its one statement."""
    return bool(connection.connection.info.get(_COMMITTED, False))


@dataclass(frozen=True)
class Rider:
    """A read that travels with the next transaction's BEGIN on this thread (the token behind a
    request, checked with the change it asks for): `sql` and `params` as the driver takes them;
    `took(cursor)` hears its answer and may raise, refusing the change before it writes.
    `in_statement`: the parameters of the same check made inside a statement (engine.store.
    account_records.token_still_held), for a first statement that carries it instead of the rider
    (`rider_to_carry`); None when it can only ride."""

    sql: str
    params: Any
    took: Callable[[Any], None]
    in_statement: Any = None


#: The riders waiting on this thread (a request's), until they have heard their answer.
_RIDERS: ContextVar[tuple[Rider, ...]] = ContextVar("motcua_riders", default=())
#: Whether riders wait on this thread: the ContextVar's own get, a C call (a driver statement asks
#: before each statement; on SQLite none ever does).
riders_waiting = _RIDERS.get
#: In the pooled connection's info while a rider's statement is announced: it waits with the BEGIN.
_RIDING = "motcua_riding"


def ride_with_next_begin(rider: Rider) -> None:
    _RIDERS.set((*_RIDERS.get(), rider))


def waiting_riders() -> tuple[Rider, ...]:
    """The riders that have not heard their answer yet (none ran, or one refused)."""
    return _RIDERS.get()


def drop_riders() -> None:
    _RIDERS.set(())


def drop_rider(rider: Rider) -> None:
    """`rider` no longer waits (it was heard, or what it was for is over); the others still do."""
    _RIDERS.set(tuple(waiting for waiting in _RIDERS.get() if waiting is not rider))


def rider_to_carry(connection: Connection) -> Rider | None:
    """The one rider waiting, taken off the BEGIN, when the statement about to run on `connection`
    is its transaction's first (a BEGIN pending) and can check it itself (`in_statement`): one
    statement less on the wire and in psycopg. The caller runs its statement with the BEGIN
    (`take_pending_begin(..., carrying=True)`), writes nothing before it has read the check's
    answer, and calls `hear_now` when that answer is no or was not given (no row); on a failure
    before the answer it gives the rider back (`ride_with_next_begin`)."""
    riders = _RIDERS.get()
    if len(riders) != 1 or riders[0].in_statement is None or _PENDING not in connection.connection.info:
        return None
    _RIDERS.set(())
    return riders[0]


def hear_now(connection: Connection, rider: Rider) -> None:
    """`rider`'s read run alone on `connection`, in its open transaction, and heard (it may raise):
    a carried check said no, and only the rider's own answer says why."""
    _RIDERS.set((rider,))
    run_riders(connection)


def is_riding(connection: Connection) -> bool:
    """Whether the statement being announced rides in another's wait (engine.store.database.on_wait)."""
    return bool(connection.connection.info.get(_RIDING, False))


def run_riders(connection: Connection) -> None:
    """The waiting riders run on `connection` now, each alone, and hear their answers."""
    riders = _RIDERS.get()
    _heard(riders, [_sent(connection, rider, riding=False) for rider in riders])


def _sent(connection: Connection, rider: Rider, *, riding: bool = True) -> Any:
    cursor = _announced(connection, rider, riding=riding)
    cursor.execute(rider.sql, rider.params)
    return cursor


def _announced(connection: Connection, rider: Rider, *, riding: bool = True, kept: bool = False) -> Any:
    """A cursor for `rider` (`kept`: the one its text ran on last, engine.store.kept_cursors), its
    statement announced to the engine's listeners (counted as the statement it is; `riding`: in
    another statement's wait)."""
    fairy = connection.connection  # a property: read once
    cursor = kept_cursors.cursor_for(fairy.dbapi_connection, rider.sql) if kept else fairy.cursor()
    # The engine's listeners, unless some were set on this connection itself (as
    # engine.store.driver_reads runs its statements): the connection's own dispatch joins the two,
    # three Python calls for each check of an event.
    dispatch = connection.dispatch if connection._has_events else connection.engine.dispatch
    if dispatch.before_cursor_execute:
        info = fairy.info
        info[_RIDING] = riding
        try:
            dispatch.before_cursor_execute(connection, cursor, rider.sql, rider.params, None, False)
        finally:
            info.pop(_RIDING, None)
    return cursor


def _in_one_flush(
    driver: Any, queued: list[tuple[Any, str, Any]], commit: bool = False, begin: bool = True
) -> Generator[Any, Any, None]:
    """BEGIN (unless `begin` is false: a transaction already open, or the sync's implicit one
    wanted) and each (cursor, sql, params)
    of `queued`, then COMMIT with `commit`, sent in libpq's pipeline mode with one sync
    and one flush, then their results read back, each statement's set on its cursor as psycopg's
    execute sets them. psycopg's own pipeline (`connection.pipeline()`) flushes each command as it
    is queued, with a poll before each: on loopback that cost more CPU than the waits it saved.

    Each statement is adapted by its cursor (`_convert_query`: psycopg's types, server-side
    parameters) and prepared as psycopg's execute would prepare it (its prepare threshold, its
    cache of names). The first error is raised once every result is read; those after it are
    PostgreSQL's "pipeline aborted", and the transaction, in error, is left to its rollback. This
    uses psycopg's cursor internals, read from its 3.3 source (psycopg is pinned: pyproject.toml);
    tests/engine/test_deferred_begin.py runs it on PostgreSQL."""
    pgconn = driver.pgconn
    prepared = driver._prepared
    converted = []
    for cursor, sql, params in queued:  # a value psycopg cannot adapt is refused before anything is sent
        yield from cursor._start_query(sql)
        converted.append((cursor, sql, cursor._convert_query(sql, params)))
    sent: list[tuple[Any, Prepare, bytes, Any]] = []
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(_BEGIN, None)
        for cursor, sql, query in converted:
            cursor._query = query
            prepare, name = cursor._get_prepared(query, None)
            if prepare is Prepare.NO:
                pgconn.send_query_params(
                    query.query, query.params, param_formats=query.formats, param_types=query.types, result_format=TEXT
                )
            else:
                if prepare is Prepare.SHOULD:
                    pgconn.send_prepare(name, query.query, param_types=query.types)
                pgconn.send_query_prepared(name, query.params, param_formats=query.formats, result_format=TEXT)
            sent.append((cursor, prepare, name, prepared.maybe_add_to_cache(query, prepare, name)))
            cursor._last_query = sql
        if commit:
            pgconn.send_query_params(_COMMIT, None)
        pgconn.pipeline_sync()
        yield from send(pgconn)
        first_error = _failure((yield from fetch_many(pgconn)), pgconn._encoding) if begin else None
        for cursor, prepare, name, key in sent:
            # Each answer is read whatever came before it (`or` would skip the read after an
            # error, and the sync's answer would then be left unread: libpq's "busy").
            if prepare is Prepare.SHOULD:
                prepared_as = _failure((yield from fetch_many(pgconn)), pgconn._encoding)
                first_error = first_error or prepared_as
            results = yield from fetch_many(pgconn)
            if key is not None:
                prepared.validate(key, prepare, name, results)
            try:
                cursor._check_results(results)
                cursor._set_results(results)
            except psycopg.Error as exc:
                first_error = first_error or exc
        if commit:
            committed_as = _failure((yield from fetch_many(pgconn)), pgconn._encoding)
            first_error = first_error or committed_as
        yield from fetch_many(pgconn)  # the sync's own result
    except BaseException:
        _leave_pipeline_mode(pgconn, failed=True)
        raise
    _leave_pipeline_mode(pgconn, failed=False)
    if first_error is not None:
        raise first_error
    yield from prepared.maintain_gen(driver)


def _failure(results: list[Any], encoding: str) -> psycopg.Error | None:
    """The error a command that returns no rows (BEGIN, a statement's preparation) answered."""
    for result in results:
        if result.status == ExecStatus.FATAL_ERROR:
            return psycopg.errors.error_from_result(result, encoding=encoding)
        if result.status == ExecStatus.PIPELINE_ABORTED:
            return psycopg.errors.PipelineAborted("pipeline aborted")
    return None


def _leave_pipeline_mode(pgconn: Any, *, failed: bool) -> None:
    """Out of pipeline mode. After a failure that left results unread, libpq refuses: the
    connection is closed (the pool replaces it; it would refuse every statement after) and the
    failure, not libpq's refusal, is what the caller is told."""
    if pgconn.status == ConnStatus.BAD:
        return
    try:
        pgconn.exit_pipeline_mode()
    except psycopg.OperationalError:
        if not failed:
            raise
        pgconn.finish()


def _heard(riders: tuple[Rider, ...], cursors: list[Any]) -> None:
    for done, (rider, cursor) in enumerate(zip(riders, cursors, strict=True)):
        try:
            rider.took(cursor)
        except BaseException:
            _RIDERS.set(riders[done:])  # the refusing rider and those after it still wait; the heard do not
            raise
    _RIDERS.set(())


def _leave_pending(connection: Connection) -> None:
    """At SQLAlchemy's begin: the driver in autocommit and the BEGIN pending, when psycopg's own
    would be a plain one on a connection with nothing open."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    fairy = connection.connection
    driver: Any = fairy.dbapi_connection
    ours = fairy.info.get(_OURS, False)
    # psycopg's attributes behind its properties (a Python call each), read on every transaction.
    if driver is None or (driver._autocommit and not ours):  # an autocommit lookup: no transaction
        return
    if driver.pgconn.transaction_status != TransactionStatus.IDLE or not _plain_begin(driver):
        _give_back(driver, fairy)
        return
    if not driver._autocommit:
        _set_idle_autocommit(driver, True)
    fairy.info[_OURS] = True
    fairy.info[_PENDING] = True


def _plain_begin(driver: Any) -> bool:
    """Whether psycopg's BEGIN would be a plain one (no isolation level, read only, deferrable)."""
    return driver._isolation_level is None and driver._read_only is None and driver._deferrable is None


def _set_idle_autocommit(driver: Any, value: bool) -> None:
    """psycopg's `autocommit` set on a connection with no transaction open: its setter (five
    Python calls: the lock, a generator checking that none is open, the wait) only sets
    `_autocommit` then, unless psycopg's own pipeline is on, which the setter syncs first.
    tests/engine/test_deferred_begin.py fails if the setter starts doing more (psycopg is pinned)."""
    if driver._pipeline is None:
        driver._autocommit = value
    else:
        driver.autocommit = value


def _forget_pending(connection: Connection) -> None:
    """A transaction that sent nothing ends without a word: psycopg sees no transaction open (nor
    after a COMMIT sent with its statement)."""
    if not connection.invalidated:  # a dropped connection's record starts afresh
        info = connection.connection.info
        info.pop(_PENDING, None)
        info.pop(_COMMITTED, None)


def _let_psycopg_begin(connection: Connection, *_args) -> None:
    """A statement SQLAlchemy runs itself: psycopg sends the BEGIN before it, as without this module.
    After a COMMIT sent with the transaction's statement, any statement is refused: in the driver's
    autocommit it would run outside the transaction its code was written for."""
    # The pool's proxy the `connection` property gives, without the property's call while the
    # connection holds one (as engine.store.driver_reads reads it): this runs before every statement.
    proxy = connection._dbapi_connection
    fairy = proxy if proxy is not None else connection.connection
    info = fairy.info  # a property: read once
    if _COMMITTED in info:
        raise RuntimeError("a statement after its transaction's COMMIT was sent (execute_after_begin, commit=True)")
    if info.pop(_PENDING, False):
        _give_back(fairy.dbapi_connection, fairy)
        run_riders(connection)  # heard before the transaction's first statement, as with the BEGIN


def _give_back(driver: Any, record: Any, *_args) -> None:
    """The driver's connection as psycopg runs it, out of the autocommit set here, once nothing is
    open on it (at check-in, or before the transaction's first statement); a closed one is
    replaced by a new connection, which starts out of autocommit."""
    if not record.info.get(_OURS, False):
        return
    record.info.pop(_PENDING, None)
    record.info.pop(_COMMITTED, None)
    if driver is None or driver.closed:
        record.info.pop(_OURS)
    elif driver.pgconn.transaction_status == TransactionStatus.IDLE:
        _set_idle_autocommit(driver, False)
        record.info.pop(_OURS)


def settle(connection: Connection) -> None:
    """`connection`'s driver out of the autocommit set here, as at its return to the pool, for a
    kept connection about to run statements in an autocommit of its own (a lookup)."""
    fairy = connection.connection
    _give_back(fairy.dbapi_connection, fairy)


def between_transactions(connection: Connection) -> bool:
    """Whether nothing is open on `connection`'s driver (no transaction, none in error) and
    nothing of its last transaction is left here (a BEGIN pending, a COMMIT sent with its
    statement): what the pool's check-in leaves, for a connection kept out of it between changes
    (engine.store.database.KeptChangeSessions)."""
    fairy = connection.connection
    info = fairy.info
    if _PENDING in info or _COMMITTED in info:
        return False
    driver: Any = fairy.dbapi_connection
    return driver is not None and driver.pgconn.transaction_status == TransactionStatus.IDLE


def is_ours(connection: Connection) -> bool:
    """Whether the driver's autocommit is this module's (a transaction is still one)."""
    return bool(connection.connection.info.get(_OURS, False))
