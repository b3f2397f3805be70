"""On SQLite the reports that read audit events by period use ix_audit_event_at, which holds only
their actions (migration 0043): SQLite uses a partial index only for a query that holds the
index's condition word for word, so each report carries it (statistics.IN_PERIOD_INDEX)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.dialects import sqlite

from engine.store import kpi_queries
from engine.store import statistics
from engine.store.database import Database
from engine.store.records import PERIOD_EVENTS_SQLITE
from engine.store.statistics import IN_PERIOD_INDEX
from engine.store.statistics import Scope
from tests.factories import RECEPTION
from tests.factories import select_statements


def test_reports_by_period_read_the_period_index(sqlite_database, clock):
    now = clock.now()
    scope = Scope(frozenset({"00070"}), now - timedelta(days=30), now)
    reads = (
        lambda s: statistics.escalations(s, scope),
        lambda s: kpi_queries.officer_events(s, scope, RECEPTION.username, "returns_caused"),
    )
    for read in reads:
        plans = [_plan(sqlite_database, *captured) for captured in _selects(sqlite_database, read)]
        assert any("USING INDEX ix_audit_event_at" in plan for plan in plans), plans


def test_the_reports_term_is_the_index_condition():
    """SQLite compares the expressions node by node: the term must be the index's condition."""
    written = IN_PERIOD_INDEX.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    assert str(written).replace("audit_event.", "") == PERIOD_EVENTS_SQLITE


def _plan(db: Database, statement: str, parameters: tuple) -> str:
    """The statement's plan with the events' other index dropped for the while (an empty table's
    plan is any index's: whether this one can serve is the question)."""
    with db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.exec_driver_sql("DROP INDEX ix_audit_event_dossier_id")
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        finally:
            transaction.rollback()
    return "\n".join(str(row[-1]) for row in rows)


def _selects(db: Database, read) -> list[tuple[str, tuple]]:
    return [(statement, tuple(parameters or ())) for statement, parameters in select_statements(db, read)]
