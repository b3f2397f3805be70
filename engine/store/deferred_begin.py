"""PostgreSQL: a transaction's BEGIN travels with its first statement, one network wait instead of
two. psycopg sends BEGIN on its own and waits for it before the first statement of a transaction,
even in pipeline mode (it syncs after it). Every round trip wakes the backend and this thread, which
costs PostgreSQL several times what a statement costs it in a tight loop (issue 14), so the step's
read of a change, or a claim's guarded UPDATE, takes BEGIN along in one pipeline sync.

How: when SQLAlchemy begins a transaction, the driver's connection is put in autocommit (psycopg
then sends no BEGIN of its own) and the BEGIN is left pending on it. A statement run on the
driver's cursor (engine.store.driver_reads) sends the pending BEGIN and itself in one pipeline; a
statement SQLAlchemy runs itself gives the connection back to psycopg first, which then sends BEGIN
as it always did. COMMIT and ROLLBACK are psycopg's own either way: it sends them while a
transaction is open (after BEGIN went out) and sends nothing when none is. The connection leaves
autocommit again when it goes back to the pool.

Transactions that ask for more than a plain BEGIN (an isolation level, read only: a replica's
engine) keep psycopg's own BEGIN, as does a connection in autocommit on purpose (the lookups).
"""

from __future__ import annotations

from typing import Any

from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

#: In the pooled connection's info: a BEGIN not sent yet, and an autocommit set by this module.
_PENDING = "motcua_begin_pending"
_OURS = "motcua_autocommit_for_begin"
_BEGIN = b"BEGIN"


def defer_begin(engine: Engine) -> None:
    """Send each transaction's BEGIN of `engine` (PostgreSQL) with its first driver statement."""
    if event.contains(engine, "begin", _leave_pending):
        return  # an engine shared by two Databases (the web app's) is prepared once
    event.listen(engine, "begin", _leave_pending)
    event.listen(engine, "commit", _forget_pending)
    event.listen(engine, "rollback", _forget_pending)
    event.listen(engine, "before_cursor_execute", _let_psycopg_begin)
    event.listen(engine.pool, "checkin", _give_back)


def take_pending_begin(connection: Connection) -> bool:
    """Whether a BEGIN is pending on `connection`; the caller, about to run a statement on the
    driver's cursor, sends it with `execute_after_begin`."""
    return bool(connection.connection.info.pop(_PENDING, False))


def execute_after_begin(connection: Connection, cursor: Any, sql: str, given: Any) -> None:
    """BEGIN and `sql` on `cursor` in one pipeline sync: one network wait."""
    driver: Any = connection.connection.dbapi_connection  # psycopg's
    with driver.pipeline():
        driver.cursor().execute(_BEGIN)
        cursor.execute(sql, given)


def _leave_pending(connection: Connection) -> None:
    """At SQLAlchemy's begin: the driver in autocommit and the BEGIN pending, when psycopg's own
    would be a plain one on a connection with nothing open."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    fairy = connection.connection
    driver: Any = fairy.dbapi_connection
    ours = fairy.info.get(_OURS, False)
    if driver is None or (driver.autocommit and not ours):  # an autocommit lookup: no transaction
        return
    if driver.pgconn.transaction_status != TransactionStatus.IDLE or not _plain_begin(driver):
        _give_back(driver, fairy)
        return
    if not driver.autocommit:
        driver.autocommit = True
    fairy.info[_OURS] = True
    fairy.info[_PENDING] = True


def _plain_begin(driver: Any) -> bool:
    """Whether psycopg's BEGIN would be a plain one (no isolation level, read only, deferrable)."""
    return driver.isolation_level is None and driver.read_only is None and driver.deferrable is None


def _forget_pending(connection: Connection) -> None:
    """A transaction that sent nothing ends without a word: psycopg sees no transaction open."""
    if not connection.invalidated:  # a dropped connection's record starts afresh
        connection.connection.info.pop(_PENDING, None)


def _let_psycopg_begin(connection: Connection, *_args) -> None:
    """A statement SQLAlchemy runs itself: psycopg sends the BEGIN before it, as without this module."""
    fairy = connection.connection
    if fairy.info.pop(_PENDING, False):
        _give_back(fairy.dbapi_connection, fairy)


def _give_back(driver: Any, record: Any, *_args) -> None:
    """The driver's connection as psycopg runs it, out of the autocommit set here, once nothing is
    open on it (at check-in, or before the transaction's first statement); a closed one is
    replaced by a new connection, which starts out of autocommit."""
    if not record.info.get(_OURS, False):
        return
    record.info.pop(_PENDING, None)
    if driver is None or driver.closed:
        record.info.pop(_OURS)
    elif driver.pgconn.transaction_status == TransactionStatus.IDLE:
        driver.autocommit = False
        record.info.pop(_OURS)


def is_ours(connection: Connection) -> bool:
    """Whether the driver's autocommit is this module's (a transaction is still one)."""
    return bool(connection.connection.info.get(_OURS, False))
