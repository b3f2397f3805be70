"""Pooled connections: checked only after sitting idle, and a dead one is replaced, not an error."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from engine.store import database
from engine.store.database import Database


@pytest.mark.postgres
def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use(postgres_template, monkeypatch):
    db = Database(postgres_template)
    with db.session() as s:
        first_pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(postgres_template, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # the server (or a firewall) drops the idle connection
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
    admin.dispose()
    monkeypatch.setattr(database, "IDLE_BEFORE_PING_S", 0.0)  # it has now been idle "long enough"
    with db.session() as s:
        second_pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
    assert second_pid != first_pid
    db.dispose()


@pytest.mark.postgres
def test_a_connection_handed_back_a_moment_ago_is_used_without_a_ping(postgres_template):
    db = Database(postgres_template)
    sent: list[str] = []
    with db.session() as s:
        s.execute(text("SELECT 1"))
    from sqlalchemy import event

    event.listen(db.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with db.session() as s:
        s.execute(text("SELECT 2"))
    assert sent == ["SELECT 2"]
    db.dispose()


@pytest.mark.postgres
def test_a_steps_statements_are_converted_for_the_driver_once_not_on_every_completion(postgres_runtime, monkeypatch):
    """psycopg re-parses a query text longer than its cache takes on every execution: a step's
    rows and KPI statement (5-6 KB) cost that on every completion until the limits were raised."""
    from psycopg import _queries as psycopg_queries

    from engine.domain.assignment import Actor
    from engine.services import dossiers
    from tests.factories import add_units
    from tests.factories import deploy_fixture

    rt = postgres_runtime
    add_units(rt)
    definition = deploy_fixture(rt, "five_steps")
    officer = Actor("mot_cua_1", frozenset({"mot_cua", "chuyen_vien", "lanh_dao"}), "00070")

    def complete_first_step() -> None:
        dossier = dossiers.start_dossier(
            rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=officer
        )
        with rt.db.read_session() as s:
            item_id = s.scalar(text("SELECT id FROM work_item WHERE dossier_id = :d"), {"d": dossier.id})
        dossiers.claim_work_item(rt, item_id, officer)
        dossiers.complete_work_item(rt, item_id, officer, {})

    complete_first_step()  # every statement's first use converts it
    parsed: list[int] = []
    uncached = psycopg_queries._query2pg_nocache

    def counted(query: bytes, encoding: str):
        parsed.append(len(query))
        return uncached(query, encoding)

    monkeypatch.setattr(psycopg_queries, "_query2pg_nocache", counted)
    complete_first_step()
    assert parsed == []
