"""Who a token acts as is read on every API request: one statement on its own (no transaction
around it), which the statement count still sees, and the same answer as the ORM's."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.services import api_tokens
from engine.store import account_records
from engine.store import database
from tests.factories import RECEPTION
from tests.factories import add_units


def test_a_token_is_looked_up_in_one_round_trip_that_is_counted(runtime, clock):
    add_units(runtime)
    _record, token = api_tokens.issue(runtime, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(runtime, token)  # records the use, to the minute
    clock.advance(seconds=30)
    round_trips: list[int] = []
    runtime.db.on_round_trip(lambda: round_trips.append(1))

    account = api_tokens.authenticate(runtime, token)

    assert account is not None and account.username == RECEPTION.username and account.unit_name == "Phường Hoàn Kiếm"
    assert len(round_trips) == 1  # the lookup alone: its use was recorded less than a minute ago


def test_a_token_used_a_minute_ago_records_its_new_use(runtime, clock):
    """The last use comes back as an aware UTC time on both databases (SQLite keeps it naive)."""
    add_units(runtime)
    record, token = api_tokens.issue(runtime, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(runtime, token)
    clock.advance(minutes=1)
    api_tokens.authenticate(runtime, token)
    (used,) = [t for t in api_tokens.all_tokens(runtime) if t.id == record.id]
    assert used.last_used_at == clock.now()
    assert api_tokens.authenticate(runtime, token + "x") is None
    clock.advance(days=90)
    assert api_tokens.authenticate(runtime, token) is None  # expired: the default lifetime is 90 days


@pytest.mark.postgres
def test_a_lookup_on_a_connection_the_server_dropped_fails_once_and_the_next_gets_a_new_one(
    postgres_runtime, monkeypatch
):
    """Run on the driver's cursor, the lookup still fails as SQLAlchemy's execution would, and
    the dropped connection is not handed out again."""
    rt = postgres_runtime
    add_units(rt)
    _record, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token)
    with rt.db.lookup_connection() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = create_engine(rt.db.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # the server (or a firewall) drops the pooled connection
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    monkeypatch.setattr(database, "IDLE_BEFORE_PING_S", 3600.0)  # not idle long enough to be pinged

    with pytest.raises(DBAPIError) as failed:
        api_tokens.authenticate(rt, token)

    assert failed.value.connection_invalidated
    assert api_tokens.authenticate(rt, token) is not None


@pytest.mark.postgres
def test_a_change_on_the_connection_a_lookup_just_used_is_still_all_or_nothing(postgres_runtime):
    """The lookup puts its connection in autocommit only while it runs: the change handed the
    same connection next writes in one transaction, which a failure rolls back whole."""
    rt = postgres_runtime
    add_units(rt)
    record, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    with rt.db.lookup_connection() as connection:
        looked_up_on = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    with pytest.raises(RuntimeError), rt.db.session() as s:
        assert s.execute(text("SELECT pg_backend_pid()")).scalar() == looked_up_on
        account_records.revoke_token(s, record.id)
        s.flush()
        raise RuntimeError("the change fails after its write")

    assert api_tokens.authenticate(rt, token) is not None  # the revocation was rolled back


@pytest.mark.postgres
def test_a_lookup_run_by_sqlalchemy_counts_its_statements_and_no_transaction(postgres_runtime):
    """A supervisor's communes are read on the lookup's connection by SQLAlchemy's own execution:
    no BEGIN or ROLLBACK is sent there, and none is counted."""
    rt = postgres_runtime
    round_trips: list[int] = []
    rt.db.on_round_trip(lambda: round_trips.append(1))

    with rt.db.lookup_connection() as connection:
        connection.execute(text("SELECT 1"))
        connection.execute(text("SELECT 2"))

    assert len(round_trips) == 2
