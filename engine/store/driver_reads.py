"""One-row reads run on the driver's own cursor, for the lookups every request makes (who a token
or a session cookie belongs to): SQLAlchemy's execution of a statement it has already compiled
(cache key, execution context, result metadata, events) cost three to four times what psycopg
itself spends on the same statement (about 0.3 against 0.1 ms of Python on PostgreSQL).

The statement is still written with SQLAlchemy and compiled by it, once per dialect; its
parameters and columns go through their types' own conversions (UTCDateTime included), and the
engine's `before_cursor_execute` listeners still see the statement (statement counts stay true).
"""

from __future__ import annotations

import functools
import operator
from collections import namedtuple
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import StatementError
from sqlalchemy.sql import Delete
from sqlalchemy.sql import Insert
from sqlalchemy.sql import Select
from sqlalchemy.sql import Update
from sqlalchemy.sql.elements import TextClause

from engine.store.deferred_begin import Rider
from engine.store.deferred_begin import execute_after_begin
from engine.store.deferred_begin import execute_then_commit
from engine.store.deferred_begin import may_commit_with_last
from engine.store.deferred_begin import riders_waiting
from engine.store.deferred_begin import take_pending_begin
from engine.store.deferred_begin import take_pending_begin_to_commit
from engine.store.kept_cursors import cursor_for
from engine.store.kept_cursors import drop

Convert = Callable[[Any], Any]
Statement = Select | Insert | Update | Delete | TextClause
ReadStatement = Select | Insert  # one whose columns are known: a SELECT, or a write with RETURNING
T = TypeVar("T")


@dataclass(frozen=True)
class _Compiled:
    """A statement as one dialect's driver takes it."""

    sql: str
    order: tuple[str, ...] | None  # parameter names in placeholder order; None for named placeholders
    defaults: dict[str, Any]
    to_driver: Mapping[str, Convert]
    from_driver: tuple[Convert | None, ...]

    def parameters(self, given: Mapping[str, Any]) -> tuple | dict:
        values = {**self.defaults, **given} if self.defaults else given
        if self.order is not None:  # positional: placed in C, then only the converting ones touched
            placed = self._placed(values)
            if not self._converting_parameters:
                return placed
            row = list(placed)
            for at, convert in self._converting_parameters:
                row[at] = convert(row[at])
            return tuple(row)
        named = dict(values)
        for name, convert in self.to_driver.items():
            named[name] = convert(named[name])
        return named

    def converted(self, row: tuple) -> tuple:
        """The row with each column converted by its type (a text() whose columns were not given:
        as the driver gives them); only the columns whose type converts are touched, and a NULL
        is None whatever the type (SQLAlchemy's result processors all give None for None, and so
        does engine.store.records.UTCDateTime: tests/engine/test_driver_writes.py checks every
        mapped column's): about half of a step's row, a Python call each."""
        converting = self._converting
        if not converting:
            return tuple(row)
        values = list(row)
        for at, convert in converting:
            value = values[at]
            if value is not None:
                values[at] = convert(value)
        return tuple(values)

    @functools.cached_property
    def _converting(self) -> tuple[tuple[int, Convert], ...]:
        return tuple((at, convert) for at, convert in enumerate(self.from_driver) if convert is not None)

    @functools.cached_property
    def _placed(self) -> Callable[[Mapping[str, Any]], tuple]:
        """The values in placeholder order, taken by one C call: a change's rows carry twenty to
        thirty columns, of which a handful convert (a generator step per column before: about a
        hundred per completion)."""
        order = self.order or ()
        if len(order) == 1:  # itemgetter of one name gives the value, not a tuple
            (name,) = order
            return lambda values: (values[name],)
        return operator.itemgetter(*order)

    @functools.cached_property
    def _converting_parameters(self) -> tuple[tuple[int, Convert], ...]:
        order = self.order or ()
        return tuple((at, self.to_driver[name]) for at, name in enumerate(order) if name in self.to_driver)


class DriverStatement:
    """A statement compiled once per dialect and run on the driver's own cursor (see the module's
    docstring); the subclasses say what they take from the cursor."""

    def __init__(self, statement: Statement):
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _run(
        self,
        connection: Connection,
        parameters: Mapping[str, Any],
        fetch: Callable[[Any], T],
        commit: bool = False,
        carrying: bool = False,
    ) -> T:
        """`fetch(cursor)` once the statement ran on `connection`'s driver connection (inside its
        transaction, when it has one; with `commit` or `carrying`, see `_on_driver_cursor`); the
        driver's error raised as SQLAlchemy's."""
        # The dict's own get first: a Python call less on every statement once it is compiled.
        compiled = self._by_dialect.get(connection.dialect.name) or self._compiled(connection.dialect)
        return _on_driver_cursor(
            connection, compiled.sql, compiled.parameters(parameters), False, fetch, commit, carrying
        )

    def _run_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per row of parameters, in one executemany."""
        compiled = self._compiled(connection.dialect)
        given: list[Any] = [compiled.parameters(row) for row in rows]
        _on_driver_cursor(connection, compiled.sql, given, True, _nothing)

    def _converted_first(self, connection: Connection, cursor) -> tuple | None:
        row = cursor.fetchone()
        if row is None:
            return None
        return (self._by_dialect.get(connection.dialect.name) or self._compiled(connection.dialect)).converted(row)

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:  # two threads may both build it: the same value, kept once
            compiled = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return compiled


class DriverRead(DriverStatement):
    """A statement answered by at most one row (a SELECT, or a write with RETURNING), as a named
    tuple of its columns' keys."""

    def __init__(self, statement: ReadStatement):
        super().__init__(statement)
        self.row_type = namedtuple("Row", [str(key) for key in statement.exported_columns.keys()])  # type: ignore[misc]  # fields known at run time

    def first(self, connection: Connection, parameters: Mapping[str, Any], *, carrying: bool = False):
        """The first row (None when there is none), on `connection`'s own driver connection: run
        as a statement of its own (an autocommit lookup connection, or SQLite's autocommit).
        `carrying`: the statement checks a rider's read itself (engine.store.deferred_begin.
        rider_to_carry) and goes with its transaction's pending BEGIN in one network wait."""
        # A partial, not a lambda: the row is fetched without a Python call of its own.
        row = self._run(connection, parameters, functools.partial(self._converted_first, connection), False, carrying)
        return None if row is None else self.row_type(*row)

    def rider(
        self, dialect: Dialect, parameters: Mapping[str, Any], heard: Callable[[Any], None], in_statement: Any = None
    ) -> Rider:
        """This read, to travel with the next transaction's BEGIN on this thread (engine.store.
        deferred_begin): `heard(row)` gets its first row (None when there is none);
        `in_statement` as the Rider's."""
        compiled = self._compiled(dialect)

        def took(cursor) -> None:
            row = cursor.fetchone()
            heard(None if row is None else self.row_type(*compiled.converted(row)))

        return Rider(compiled.sql, compiled.parameters(parameters), took, in_statement)


def _on_driver_cursor(
    connection: Connection,
    sql: str,
    given: Any,
    many: bool,
    fetch: Callable[[Any], T],
    commit: bool = False,
    carrying: bool = False,
) -> T:
    """`sql` executed (once, or once per parameter row when `many`) on a cursor of `connection`'s
    driver connection, with SQLAlchemy's cursor events around it, then `fetch(cursor)`. With
    `commit`, the transaction's first statement on PostgreSQL goes with its BEGIN and its COMMIT
    in one network wait, and its last one, when its BEGIN went so, with its COMMIT
    (engine.store.deferred_begin.committed then says so); with `carrying` (a statement that checks
    a rider's read itself), the transaction's first statement goes with its pending BEGIN alone;
    any other runs in its transaction as usual."""
    # The driver's own cursor method: the pool's proxy wraps it in a Python call of its own. The
    # proxy as the `connection` property gives it, without the property's call while the
    # connection holds one (without one, the property revalidates it or raises, as before).
    proxy = connection._dbapi_connection
    driver: Any = (proxy if proxy is not None else connection.connection).dbapi_connection
    # On PostgreSQL each statement runs on the cursor it ran on last (engine.store.kept_cursors).
    keeps = connection.dialect.name == "postgresql"
    cursor = cursor_for(driver, sql) if keeps else driver.cursor()
    ran = False
    # The engine's listeners, unless some were set on this connection itself: the connection's
    # own dispatch joins the two, three Python calls for each check of an event (eight a change).
    dispatch = connection.dispatch if connection._has_events else connection.engine.dispatch
    try:
        # The pending BEGIN is taken before the listeners (they would let psycopg send its own).
        with_commit = False
        if commit:
            with_begin = take_pending_begin_to_commit(connection)
            with_commit = not with_begin and may_commit_with_last(connection)
        else:
            with_begin = not many and (carrying or bool(riders_waiting())) and take_pending_begin(connection, carrying)
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, sql, given, None, many)
        if with_begin:
            execute_after_begin(connection, cursor, sql, given, commit=commit)
        elif with_commit:
            execute_then_commit(connection, cursor, sql, given)
        elif many:
            cursor.executemany(sql, given)
        else:
            cursor.execute(sql, given)
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, sql, given, None, many)
        fetched = fetch(cursor)
        ran = True
        return fetched
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _as_sqlalchemy_error(connection, cursor, sql, given, exc) from exc
    finally:
        if not keeps:
            cursor.close()
        elif not ran:  # whatever failed, the statement's next run starts from a new cursor
            drop(driver, sql)


def _nothing(cursor) -> None:
    return None


def _as_sqlalchemy_error(connection: Connection, cursor, sql: str, given, exc) -> StatementError:
    """The driver's error as SQLAlchemy's own execution raises it; a connection the server dropped
    is invalidated, so that the pool replaces it instead of handing it out again."""
    dialect = connection.dialect
    disconnected = dialect.is_disconnect(exc, connection.connection.dbapi_connection, cursor)
    if disconnected:
        connection.invalidate(exc)
    return DBAPIError.instance(
        sql, given, exc, dialect.loaded_dbapi.Error, connection_invalidated=disconnected, dialect=dialect
    )


def _compile(statement: Statement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    names = compiled.bind_names  # each parameter under the name the SQL text gives it
    to_driver = {
        name: convert
        for bind, name in names.items()
        if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    }
    from_driver = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for column in getattr(statement, "exported_columns", ())  # a text() without .columns() returns none
    )
    return _Compiled(
        sql=compiled.string,
        order=tuple(compiled.positiontup) if dialect.positional and compiled.positiontup else None,
        defaults={name: bind.value for bind, name in names.items() if bind.value is not None}
        | _column_defaults(compiled),
        to_driver=to_driver,
        from_driver=from_driver,
    )


def _column_defaults(compiled) -> dict[str, Any]:
    """The Python-side constant defaults of the columns an INSERT or UPDATE leaves out: SQLAlchemy's
    compiled statement names them as parameters and its execution fills them in; here they are
    filled in from the start. A default computed per row has no value to keep: refused."""
    found = {}
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if not default.is_scalar:
            raise ValueError(f"column {column.key} has a computed default: give it a value")
        found[column.key] = default.arg
    return found
