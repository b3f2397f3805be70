"""A psycopg cursor kept per statement on each PostgreSQL driver connection, for the statements the
engine runs on the driver's own cursor (engine.store.driver_reads, driver_writes).

A new cursor per statement cost psycopg's Python each time: the cursor and a copy of the
connection's adapters map, then a new Transformer whose dumpers and loaders are looked up again
(`AdaptersMap.get_dumper` per parameter type, `get_loader` per column type: Python calls). A cursor
that runs the very query object it ran last keeps its Transformer (`BaseCursor._start_query`
compares `_last_query` by identity), and a compiled statement's text is one object for the life of
the process: each statement runs on the cursor it ran on before, on that connection, and only its
parameters are dumped anew (a statement rebuilt by a cache that had dropped it finds its cursor by
its text and makes a new Transformer once, as every run did before).

psycopg holds a statement's whole result in memory and nothing on the server, so a kept cursor
holds only its last result (one row, usually) until its next run. The cursors live in the driver
connection's own attribute and go with it (a connection SQLAlchemy invalidates or closes is a new
driver connection afterwards). A cursor whose statement failed is closed and dropped, so a
statement's next run starts from a fresh cursor, as before.

psycopg is pinned (pyproject.toml); tests/engine/test_kept_cursors.py fails if a kept cursor
stops keeping its Transformer.
"""

from __future__ import annotations

from typing import Any

#: The attribute of a psycopg connection holding its kept cursors, by statement text.
_KEPT = "_motcua_kept_cursors"
#: Most cursors a connection keeps. The engine's statements are a few dozen texts (those built per
#: shape come from bounded caches), but their shapes' texts are not bounded by construction: past
#: this, the kept ones are forgotten and keeping starts again.
MOST_KEPT = 256


def cursor_for(driver: Any, sql: str) -> Any:
    """The cursor `sql` ran on last on this psycopg connection, else a new one kept for it."""
    kept = driver.__dict__.get(_KEPT)
    if kept is None:
        kept = driver.__dict__[_KEPT] = {}
    cursor = kept.get(sql)
    if cursor is None:
        if len(kept) >= MOST_KEPT:
            kept.clear()  # forgotten, not closed: a caller may be about to run one (a BEGIN's rider)
        cursor = kept[sql] = driver.cursor()
    return cursor


def drop(driver: Any, sql: str) -> None:
    """Close and forget the cursor kept for `sql` (its statement failed)."""
    kept = driver.__dict__.get(_KEPT)
    cursor = kept.pop(sql, None) if kept is not None else None
    if cursor is not None:
        cursor.close()


def kept_count(driver: Any) -> int:
    """How many cursors this connection keeps (for the tests)."""
    return len(driver.__dict__.get(_KEPT) or {})
