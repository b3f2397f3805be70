"""The sweeps, the timers and the inbox's tabs read the partial indexes of migration 0042 in the
plans PostgreSQL keeps for a prepared statement (generic plans, which see parameters, not their
values): each index's condition must follow from the query's own terms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from psycopg import sql

from engine.domain.model import RunState
from engine.store import kpi_queries
from engine.store import leases
from engine.store import queries
from engine.store import repositories
from engine.store import statistics
from engine.store import worklist_queries
from engine.store.database import Database
from engine.store.records import PERIOD_ACTIONS
from engine.store.records import DossierRecord
from engine.store.statistics import Scope
from engine.store.worklist_queries import WorklistFilter
from tests.conftest import empty_all_tables
from tests.factories import RECEPTION
from tests.factories import select_statements
from tests.factories import sent_statements

pytestmark = pytest.mark.postgres


def _generic_plan(conn, statement: str, parameters: dict, kept: tuple[str, ...]) -> str:
    """EXPLAIN of the statement prepared with its parameters as $n, planned generically, with
    the other indexes of the kept ones' table dropped for the while (an empty table's plan is
    any index's: whether these can serve is the question)."""
    names: list[str] = []

    def numbered(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", numbered, statement)
    transaction, deallocate = conn.begin(), False
    try:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        others = conn.exec_driver_sql(
            "SELECT o.indexname FROM pg_indexes i JOIN pg_indexes o ON o.tablename = i.tablename"
            " WHERE i.indexname = %(index)s AND o.indexname LIKE 'ix%%' AND o.indexname <> ALL(%(kept)s)",
            {"index": kept[0], "kept": list(kept)},
        ).scalars()
        for other in list(others):
            conn.exec_driver_sql(f'DROP INDEX "{other}"')
        conn.exec_driver_sql(f"PREPARE partial_index_check AS {prepared}")
        deallocate = True
        driver = conn.connection.driver_connection
        arguments = ", ".join(sql.Literal(parameters[name]).as_string(driver) for name in names)
        plan = conn.exec_driver_sql(f"EXPLAIN EXECUTE partial_index_check{f'({arguments})' if names else ''}")
        text_plan = "\n".join(row[0] for row in plan)
    finally:
        transaction.rollback()
        if deallocate:  # a prepared statement outlives the transaction
            with conn.begin():
                conn.exec_driver_sql("DEALLOCATE partial_index_check")
    return text_plan


def test_sweeps_timers_and_tabs_read_their_partial_indexes(postgres_template, clock):
    empty_all_tables(postgres_template)
    db = Database(postgres_template)
    now = clock.now()
    who = WorklistFilter(RECEPTION.username, RECEPTION.roles, "00070")
    scope = Scope(frozenset({"00070"}), now - timedelta(days=30), now)
    reads = {
        "ix_work_item_sla": lambda s: repositories.due_sla_items(s, now, 10),
        "ix_dossier_apology_check_at": lambda s: repositories.dossiers_to_forecast(s, now, 10),
        "ix_dossier_lease": lambda s: leases.lease(
            s,
            DossierRecord,
            due_column=DossierRecord.next_timer_at,
            ready_filter=DossierRecord.run_state == RunState.RUNNING.value,
            owner="w",
            now=now,
            ttl=timedelta(minutes=2),
            limit=10,
        ),
        "ix_work_item_assignee": lambda s: worklist_queries.inbox(s, who, "cua_toi"),
        "ix_work_item_group": lambda s: worklist_queries.inbox(s, who, "nhom"),
        "ix_work_item_owner": lambda s: worklist_queries.tab_counts(s, who),
        # The open dossiers of some communes (migration 0046 dropped the full index they read).
        "ix_dossier_unfinished": lambda s: queries.dossiers_on_version(s, 1, ["00070"], 10),
        "ix_dossier_open_by_appointment": lambda s: statistics.open_dossiers(s, scope, now),
    }
    audit = (
        lambda s: statistics.escalations(s, scope),
        lambda s: kpi_queries.officer_events(s, scope, RECEPTION.username, "returns_caused"),
    )
    # The tabs' counts read every tab's steps: an OR of the three indexes' conditions.
    kept = {"ix_work_item_owner": ("ix_work_item_owner", "ix_work_item_assignee", "ix_work_item_group")}
    try:
        with db.engine.connect() as conn:
            for index, read in reads.items():
                plans = [_generic_plan(conn, *captured, kept.get(index, (index,))) for captured in _selects(db, read)]
                assert any(index in plan for plan in plans), (index, plans)
            for read in audit:
                plans = [_generic_plan(conn, *captured, ("ix_audit_event_at",)) for captured in _selects(db, read)]
                assert any("ix_audit_event_at" in plan for plan in plans), plans
    finally:
        db.dispose()


def test_forecasts_asked_again_after_a_calendar_change_read_the_open_dossiers_index(postgres_template, clock):
    """The update that asks the SLA sweep to forecast a commune's running dossiers again (a
    calendar gained or lost a day) finds them along the open dossiers' index."""
    empty_all_tables(postgres_template)
    db = Database(postgres_template)
    try:
        [update] = _updates(db, lambda s: repositories.forecast_again(s, clock.now(), ["00070"]))
        with db.engine.connect() as conn:
            plan = _generic_plan(conn, *update, ("ix_dossier_unfinished",))
        assert "ix_dossier_unfinished" in plan, plan
    finally:
        db.dispose()


def _updates(db: Database, write) -> list[tuple[str, dict]]:
    """The UPDATE statements `write(session)` sends, with their parameters."""
    return [(statement, dict(parameters or {})) for statement, parameters in sent_statements(db, write, "UPDATE")]


def test_reports_by_period_ask_only_for_the_indexed_actions():
    """ix_audit_event_at holds these actions' events only, on PostgreSQL: a report asking for
    another by period would read the whole table."""
    asked = {*statistics.SLA_ACTIONS, *kpi_queries.EVENT_FIGURES.values(), "return", "reassign", "reappoint"}
    assert asked <= set(PERIOD_ACTIONS)


def _selects(db: Database, read) -> list[tuple[str, dict]]:
    return [(statement, dict(parameters or {})) for statement, parameters in select_statements(db, read)]
