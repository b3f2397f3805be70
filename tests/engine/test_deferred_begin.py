"""A transaction's BEGIN sent with its first statement and a request's token lookup on PostgreSQL
(engine.store.deferred_begin): two network waits less per change, and still one transaction, all
or nothing. A claim's audit event written by its own statement, its chain whole however it races."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import StatementError

from engine.domain.errors import InvalidAction
from engine.services import api_tokens
from engine.services import audit
from engine.services import dossiers
from engine.store import deferred_begin
from engine.store.driver_writes import DriverWrite
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture
from tests.factories import scratch_tables

pytestmark = pytest.mark.postgres

_METADATA = MetaData()
_NOTES = Table(
    "deferred_begin_note", _METADATA, Column("id", Integer, primary_key=True), Column("body", String(40), unique=True)
)
_ADD = DriverWrite(insert(_NOTES).values(body=bindparam("body")).returning(_NOTES.c.id))
OTHER_CLERK = type(RECEPTION)("mot_cua_2", RECEPTION.roles, RECEPTION.unit_code)


@pytest.fixture
def notes(postgres_runtime):
    with scratch_tables(_METADATA, postgres_runtime.db) as db:
        yield db


def _bodies(db) -> list[str]:
    with db.read_session() as s:
        return list(s.scalars(select(_NOTES.c.body).order_by(_NOTES.c.id)))


def _with_a_rider() -> None:
    """A read to travel with the next BEGIN, as a kept token's lookup does."""
    deferred_begin.ride_with_next_begin(deferred_begin.Rider("SELECT 1", None, lambda cursor: None))


def test_a_failing_write_after_the_first_statement_leaves_nothing_written(notes):
    _with_a_rider()
    with pytest.raises(IntegrityError), notes.session() as s:
        _ADD.returned(s.connection(), {"body": "một"})  # sent with the transaction's BEGIN
        s.execute(insert(_NOTES).values(body="hai"))
        s.execute(insert(_NOTES).values(body="một"))  # a unique violation: the change fails
    assert _bodies(notes) == []


def test_a_failing_first_statement_fails_alone_and_the_connection_serves_the_next_change(notes):
    with notes.session() as s:
        _ADD.returned(s.connection(), {"body": "một"})
    _with_a_rider()
    with pytest.raises(IntegrityError), notes.session() as s:
        _ADD.returned(s.connection(), {"body": "một"})  # fails in the BEGIN's own pipeline sync
    deferred_begin.drop_riders()  # what a request's end does with a rider that heard nothing
    _with_a_rider()
    with pytest.raises(RuntimeError), notes.session() as s:
        _ADD.returned(s.connection(), {"body": "hai"})
        raise RuntimeError("the change fails after its write")
    with notes.session() as s:  # a statement SQLAlchemy runs itself, first: psycopg's own BEGIN
        s.execute(insert(_NOTES).values(body="ba"))
    assert _bodies(notes) == ["một", "ba"]


def test_statements_sent_with_the_begin_keep_their_answers_once_prepared_and_fail_alone(notes):
    """psycopg prepares a statement on its sixth execution on a connection: the rider's and the
    first statement's answers stay theirs before, at and after it, and a failure of a prepared
    statement still leaves nothing written and the connection serving the next change."""
    heard: list[int] = []
    rider_sql = "SELECT %(n)s::int + 1000"
    for n in range(8):
        deferred_begin.ride_with_next_begin(
            deferred_begin.Rider(rider_sql, {"n": n}, lambda cursor: heard.append(cursor.fetchone()[0]))
        )
        with notes.session() as s:
            (added,) = _ADD.returned(s.connection(), {"body": f"ghi chú {n}"})
            assert s.scalar(select(_NOTES.c.body).where(_NOTES.c.id == added)) == f"ghi chú {n}"
    assert heard == [1000 + n for n in range(8)]
    with notes.session() as s:  # the same pooled connection (the pool hands out the last one returned)
        prepared = s.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    assert any(statement.startswith("INSERT INTO deferred_begin_note") for statement in prepared)
    assert any(statement.startswith("SELECT $1::int + 1000") for statement in prepared)

    _with_a_rider()
    with pytest.raises(IntegrityError), notes.session() as s:
        _ADD.returned(s.connection(), {"body": "ghi chú 3"})  # prepared, and a unique violation
    deferred_begin.drop_riders()
    _with_a_rider()
    with notes.session() as s:
        _ADD.returned(s.connection(), {"body": "ghi chú 8"})
    assert _bodies(notes) == [f"ghi chú {n}" for n in range(9)]


def test_a_rider_failing_as_the_first_statement_is_prepared_fails_alone(notes):
    """The sync in which psycopg prepares the first statement (its sixth execution) carries a
    rider that fails: every answer of the sync is still read, so the client hears the rider's own
    error (not libpq's "pipeline busy"), nothing is written and the connection serves on."""
    for n in range(5):
        _with_a_rider()
        with notes.session() as s:
            _ADD.returned(s.connection(), {"body": f"ghi chú {n}"})
    deferred_begin.ride_with_next_begin(deferred_begin.Rider("SELECT 1 / 0", None, lambda cursor: None))
    with pytest.raises(Exception, match="division by zero"), notes.session() as s:
        _ADD.returned(s.connection(), {"body": "ghi chú 5"})
    deferred_begin.drop_riders()
    _with_a_rider()
    with notes.session() as s:
        _ADD.returned(s.connection(), {"body": "ghi chú 6"})
    assert _bodies(notes) == [f"ghi chú {n}" for n in (0, 1, 2, 3, 4, 6)]


# Two notes in one statement: the second's unique violation must undo the first.
_ADD_TWO = DriverWrite(
    text(
        "WITH first AS (INSERT INTO deferred_begin_note (body) VALUES (:one) RETURNING id) "
        "INSERT INTO deferred_begin_note (body) SELECT :two FROM first RETURNING id"
    ).columns(_NOTES.c.id)
)


@pytest.mark.parametrize("riding", [False, True])
def test_a_transaction_of_one_statement_sent_with_its_end_is_all_or_nothing(notes, riding):
    """Its BEGIN and COMMIT go unsent (the pipeline's sync ends it): what it wrote is committed
    when it succeeds, and none of it when it fails, riders or not; the connection serves on."""
    with notes.session() as s:
        _ADD.returned(s.connection(), {"body": "một"})
    if riding:
        _with_a_rider()
    with pytest.raises(IntegrityError), notes.session() as s:
        _ADD_TWO.returned_committed(s.connection(), {"one": "hai", "two": "một"})
    deferred_begin.drop_riders()
    assert _bodies(notes) == ["một"]
    if riding:
        _with_a_rider()
    with notes.session() as s:
        connection = s.connection()
        assert _ADD_TWO.returned_committed(connection, {"one": "hai", "two": "ba"}) is not None
        assert deferred_begin.committed(connection)
        assert _bodies(notes) == ["một", "hai", "ba"]  # seen by another connection before the session ends
    with notes.session() as s:
        s.execute(insert(_NOTES).values(body="bốn"))
    assert _bodies(notes) == ["một", "hai", "ba", "bốn"]


def test_a_first_statement_whose_value_cannot_be_sent_fails_alone(notes):
    """A parameter psycopg cannot adapt is refused before anything is sent: nothing is written and
    the pooled connection serves the next change."""
    with notes.session() as s:
        backend = s.connection().connection.dbapi_connection.info.backend_pid
    _with_a_rider()
    with pytest.raises(StatementError), notes.session() as s:
        _ADD.returned(s.connection(), {"body": object()})
    deferred_begin.drop_riders()
    _with_a_rider()
    with notes.session() as s:
        _ADD.returned(s.connection(), {"body": "một"})
        assert s.connection().connection.dbapi_connection.info.backend_pid == backend  # not replaced
    assert _bodies(notes) == ["một"]


def _token_reads(rt) -> list[str]:
    """The statements that read a token by its digest, as they are sent from now on."""
    sent: list[str] = []
    event.listen(
        rt.db.engine,
        "before_cursor_execute",
        lambda _c, _cursor, statement, *_rest: sent.append(statement) if "token_sha256" in statement else None,
    )
    return sent


@pytest.mark.parametrize("token_kept", [False, True])
def test_a_completion_with_its_kept_token_checks_it_in_the_steps_read_sent_with_its_begin(
    postgres_runtime, open_step, token_kept
):
    rt, item_id = postgres_runtime, open_step
    _, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    if token_kept:  # looked up once: kept for the next change within the minute
        api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)
    round_trips, waits = [], []
    rt.db.on_round_trip(lambda: round_trips.append(1))
    rt.db.on_wait(lambda: waits.append(1))
    token_reads = _token_reads(rt)

    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)
    dossiers.complete_work_item(rt, item_id, RECEPTION, {})
    api_tokens.settle(rt)

    # Kept: the token is checked in the step's read, which BEGIN rides with; else the lookup and
    # BEGIN each wait alone, as before.
    assert len(waits) == len(round_trips) - (1 if token_kept else 0)
    assert len(token_reads) == 1 and ("work_item" in token_reads[0]) == token_kept
    with rt.db.read_session() as s:
        assert audit.verify(s)[1] == []


@pytest.fixture
def five_steps(postgres_runtime) -> int:
    add_units(postgres_runtime)
    return deploy_fixture(postgres_runtime, "five_steps").id


def _start(rt, definition_id: int):
    return dossiers.start_dossier(
        rt, definition_id=definition_id, unit_code="00070", applicant_name="A", actor=RECEPTION
    )


def test_a_start_with_its_kept_tokens_lookup_waits_three_times_with_its_events_in_its_rows(
    postgres_runtime, five_steps
):
    rt = postgres_runtime
    _, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)  # looked up: kept
    _start(rt, five_steps)  # the unit's calendar read once, kept for the next starts
    waits: list[int] = []
    rt.db.on_wait(lambda: waits.append(1))
    token_reads = _token_reads(rt)

    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)
    dossier = _start(rt, five_steps)
    api_tokens.settle(rt)

    assert len(token_reads) == 1 and "process_definition" in token_reads[0]  # checked in the template's read
    # BEGIN with the template's read; the dossier's row with its first step's, the
    # audit chain's head and events; COMMIT (the day's number goes on a connection of its own).
    assert len(waits) == 3
    with rt.db.read_session() as s:
        [step_id] = s.scalars(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id))
        events = s.execute(
            select(AuditEventRecord.action, AuditEventRecord.work_item_id).where(
                AuditEventRecord.dossier_id == dossier.id
            )
        ).all()
        assert ("start", None) in events and any(item == step_id for _action, item in events)
        assert audit.verify(s, dossier.code) == (1, [])


def test_a_start_whose_kept_token_was_revoked_meanwhile_writes_nothing(postgres_runtime, five_steps):
    rt = postgres_runtime
    record, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)  # looked up: kept
    api_tokens.revoke(rt, record.id)

    assert api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True) is not None  # from memory
    with pytest.raises(api_tokens.TokenChanged) as changed:
        _start(rt, five_steps)

    assert changed.value.refused
    api_tokens.forget_unchecked()  # what the request's end does
    with rt.db.read_session() as s:
        assert s.scalars(select(DossierRecord.id)).all() == []


def test_a_claim_whose_kept_token_was_revoked_meanwhile_writes_nothing(postgres_runtime, open_step):
    rt, item_id = postgres_runtime, open_step
    record, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)  # looked up: kept
    api_tokens.revoke(rt, record.id)
    with rt.db.read_session() as s:
        events_before = s.scalars(select(AuditEventRecord.id)).all()

    assert api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True) is not None  # from memory
    with pytest.raises(api_tokens.TokenChanged) as changed:
        dossiers.claim_work_item(rt, item_id, RECEPTION)

    assert changed.value.refused
    api_tokens.forget_unchecked()  # what the request's end does
    with rt.db.read_session() as s:
        item = s.get(WorkItemRecord, item_id)
        assert (item.assignee, item.state) == (None, "open")
        assert s.scalars(select(AuditEventRecord.id)).all() == events_before
        assert audit.verify(s)[1] == []


def test_of_two_claims_of_one_step_at_the_same_moment_exactly_one_wins(postgres_runtime, open_step):
    rt, item_id = postgres_runtime, open_step
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(actor) -> None:
        barrier.wait()
        try:
            dossiers.claim_work_item(rt, item_id, actor)
            outcomes.append(actor.username)
        except InvalidAction as refused:
            outcomes.append(str(refused))

    threads = [threading.Thread(target=claim, args=(actor,)) for actor in (RECEPTION, OTHER_CLERK)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [outcome for outcome in outcomes if outcome in (RECEPTION.username, OTHER_CLERK.username)]
    assert len(winners) == 1 and len(outcomes) == 2
    winner = winners[0]
    assert outcomes == [winner, f"already claimed by {winner}"] or outcomes == [f"already claimed by {winner}", winner]
    with rt.db.read_session() as s:
        assert s.get(WorkItemRecord, item_id).assignee == winner
        assert audit.verify(s)[1] == []


def test_a_claim_writes_its_event_in_its_own_statement(postgres_runtime, open_step):
    rt, item_id = postgres_runtime, open_step
    waits: list[int] = []
    rt.db.on_wait(lambda: waits.append(1))

    dossiers.claim_work_item(rt, item_id, RECEPTION)

    assert len(waits) == 3  # BEGIN (alone here: no token rides), the claim with its event, COMMIT
    with rt.db.read_session() as s:
        dossier_id = s.get(WorkItemRecord, item_id).dossier_id
        last = s.scalars(select(AuditEventRecord).where(AuditEventRecord.dossier_id == dossier_id)).all()[-1]
        assert (last.action, last.work_item_id, last.actor, last.receiver) == (
            "claim",
            item_id,
            "mot_cua_1",
            "mot_cua_1",
        )
        assert audit.verify(s)[1] == []


def test_a_chain_head_moved_while_the_claim_waited_for_it_is_linked_from_where_it_moved(postgres_runtime, open_step):
    """Another writer holds the dossier's chain head, moving it, when the claim reaches it: the
    claim's statement links its event from the head as that writer moved it."""
    rt, item_id = postgres_runtime, open_step
    with rt.db.read_session() as s:
        dossier_id = s.get(WorkItemRecord, item_id).dossier_id
    head_held, claim_waits = threading.Event(), threading.Event()

    def another_writer() -> None:
        with rt.db.session() as s:
            audit.record(s, at=rt.clock.now(), action="note", actor="he_thong", dossier_id=dossier_id)
            audit.write_pending(s)  # the head locked and moved, until this commits
            head_held.set()
            claim_waits.wait(timeout=30)

    writer = threading.Thread(target=another_writer)
    writer.start()
    head_held.wait(timeout=30)
    claimer = threading.Thread(target=dossiers.claim_work_item, args=(rt, item_id, RECEPTION))
    claimer.start()
    _until_a_lock_is_awaited(rt)
    claim_waits.set()
    writer.join()
    claimer.join()

    with rt.db.read_session() as s:
        actions = s.scalars(
            select(AuditEventRecord.action)
            .where(AuditEventRecord.dossier_id == dossier_id)
            .order_by(AuditEventRecord.id)
        ).all()
        assert actions[-2:] == ["note", "claim"]
        assert s.get(WorkItemRecord, item_id).assignee == RECEPTION.username
        assert audit.verify(s)[1] == []


def _until_a_lock_is_awaited(rt) -> None:
    """Ask PostgreSQL until a statement waits for a lock (the claimer's, on the chain's head)."""
    with rt.db.engine.connect() as connection:
        for _ in range(10_000):
            if connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
                return
            connection.rollback()
    raise AssertionError("the claim never waited for the chain's head")


def test_psycopgs_autocommit_setter_on_an_idle_connection_only_sets_the_attribute_set_directly(postgres_runtime):
    """deferred_begin sets `_autocommit` itself on a connection with nothing open (psycopg's
    setter is five Python calls around it): the setter must still do nothing else there, and the
    flag set so must still rule whether psycopg sends a BEGIN of its own."""
    pooled = postgres_runtime.db.engine.raw_connection()
    driver = pooled.dbapi_connection
    try:
        for value in (True, False, True):
            before = dict(vars(driver))
            driver.autocommit = value
            after = dict(vars(driver))
            assert {key for key in after if after[key] is not before.get(key)} <= {"_autocommit"}
            assert driver._autocommit is value and driver.autocommit is value

        deferred_begin._set_idle_autocommit(driver, False)
        driver.execute("SELECT 1")
        assert driver.pgconn.transaction_status == deferred_begin.TransactionStatus.INTRANS  # psycopg's BEGIN
        driver.rollback()
        deferred_begin._set_idle_autocommit(driver, True)
        driver.execute("SELECT 1")
        assert driver.pgconn.transaction_status == deferred_begin.TransactionStatus.IDLE
    finally:
        pooled.invalidate()  # not given back to the pool in the state this test left it
