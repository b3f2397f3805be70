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
