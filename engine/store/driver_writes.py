"""Writes every change makes, run on the driver's own cursor like engine.store.driver_reads' reads:
the step's and dossier's rows, the officers' KPI upsert, the dashboard's counts. SQLAlchemy's
execution of a compiled statement (cache key, execution context, result metadata) costs several
times the driver's own work on these one-row statements; compiled once per dialect here, the
statement keeps its types' conversions, the engine's `before_cursor_execute` listeners (statement
counts) and SQLAlchemy's errors, and a dropped connection is invalidated.

Python-side constant column defaults are filled in as SQLAlchemy's execution would; a text()
statement with RETURNING must say its columns (`.columns()`) for their values to be converted.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from engine.store.driver_reads import DriverStatement


def _nothing(_cursor) -> None:
    return None


#: The cursor's rowcount, read in C: a lambda was a Python call more on every write.
_rowcount = operator.attrgetter("rowcount")


class DriverWrite(DriverStatement):
    """An INSERT, UPDATE, DELETE or upsert run in the caller's transaction."""

    def run(self, connection: Connection, parameters: Mapping[str, Any]) -> int:
        """The number of rows it wrote (the driver's rowcount)."""
        return self._run(connection, parameters, _rowcount)

    def run_many(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """The statement once per row, as one executemany (SQLite reuses its prepared statement)."""
        self._run_many(connection, rows)

    def run_last(self, connection: Connection, parameters: Mapping[str, Any]) -> None:
        """Run as its transaction's last statement: on PostgreSQL, when the transaction's BEGIN
        went with its first driver statement (engine.store.deferred_begin), its COMMIT goes with
        this one, one network wait less, and nothing may run after it (`committed` says whether
        it did); elsewhere it runs in the transaction as usual."""
        self._run(connection, parameters, _nothing, True)

    def returned(self, connection: Connection, parameters: Mapping[str, Any]) -> tuple | None:
        """The first row its RETURNING gave (converted by its columns' types), None when none."""
        return self._run(connection, parameters, functools.partial(self._converted_first, connection))

    def returned_committed(self, connection: Connection, parameters: Mapping[str, Any]) -> tuple | None:
        """As `returned`, for a transaction of this one statement: on PostgreSQL, as its first, it
        goes with the BEGIN and the COMMIT in one network wait (engine.store.deferred_begin.
        committed says whether it did); elsewhere the transaction is committed as usual."""
        return self._run(connection, parameters, functools.partial(self._converted_first, connection), True)
