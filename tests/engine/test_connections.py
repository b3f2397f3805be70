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
def test_a_request_lookup_and_its_change_share_the_connection_used_last(postgres_template):
    """A request's lookup (autocommit) and the change after it get the connection handed back
    last, not the one idle longest: each backend woken costs PostgreSQL CPU of its own, so a
    pool grown by a busy moment must not make every request wake two cold ones."""
    db = Database(postgres_template)
    held = [db.engine.connect() for _ in range(3)]  # a busy moment: the pool holds three
    for connection in held:
        connection.execute(text("SELECT 1"))
    for connection in held:
        connection.close()
    pids = []
    for _ in range(3):
        with db.lookup_connection() as connection:
            pids.append(connection.execute(text("SELECT pg_backend_pid()")).scalar())
        with db.session() as s:
            pids.append(s.execute(text("SELECT pg_backend_pid()")).scalar())
    assert len(set(pids)) == 1
    db.dispose()
