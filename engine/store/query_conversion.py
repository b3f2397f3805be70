"""psycopg's conversion of a query's text (named placeholders to PostgreSQL's $n) kept for the
statements a change of a step sends, which are longer than psycopg keeps by default.

psycopg converts a query anew on every execution when its text is over 4,096 characters or it
has over 50 parameters (so that an ORM's ever-different bulk INSERTs do not fill its cache of
128). The statement engine.store.change_rows writes a completed step's rows with (the dossier,
the step, the new step and the officers' KPI upsert as data-modifying WITHs: 4.4–5.4 KB, 51–66
parameters) is one of a few shapes sent on every completion; its conversion, a regular-expression
pass over the whole text, cost about 0.3 ms of Python per completion (benchmarks/engine.py on
PostgreSQL, 2026-12-03), some 6% of its CPU. The limits below keep statements of that size while
still leaving bulk writes (a rollout's batches, a sweep's events: thousands of parameters) out,
so the cache stays a few megabytes at most.

The limits are module constants of psycopg read at each conversion; psycopg is pinned
(pyproject.toml) and tests/engine/test_query_conversion.py checks that they still take effect.
"""

from __future__ import annotations

from psycopg import _queries

#: Longest query text and most parameters whose conversion psycopg keeps.
MAX_KEPT_LENGTH = 16_384
MAX_KEPT_PARAMETERS = 256


def keep_change_statements() -> None:
    """Raise psycopg's limits of kept conversions to fit a change's statements (never lowers them)."""
    _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, MAX_KEPT_LENGTH)
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS, MAX_KEPT_PARAMETERS)
