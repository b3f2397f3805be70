"""A transaction's BEGIN sent with its first statement and a request's token lookup on PostgreSQL
(engine.store.deferred_begin): two network waits less per change, and still one transaction, all
or nothing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

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


@pytest.fixture
def open_step(postgres_runtime) -> int:
    """The first step of a new dossier, open and unclaimed."""
    add_units(postgres_runtime)
    definition = deploy_fixture(postgres_runtime, "five_steps")
    dossier = dossiers.start_dossier(
        postgres_runtime, definition_id=definition.id, unit_code="00070", applicant_name="A", actor=RECEPTION
    )
    with postgres_runtime.db.read_session() as s:
        return s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id))


@pytest.mark.parametrize("token_kept", [False, True])
def test_a_completion_with_its_kept_tokens_lookup_waits_twice_less(postgres_runtime, open_step, token_kept):
    rt, item_id = postgres_runtime, open_step
    _, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    if token_kept:  # looked up once: kept for the next change within the minute
        api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)
    round_trips, waits = [], []
    rt.db.on_round_trip(lambda: round_trips.append(1))
    rt.db.on_wait(lambda: waits.append(1))

    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)
    dossiers.complete_work_item(rt, item_id, RECEPTION, {})
    api_tokens.settle(rt)

    # Kept: the lookup and BEGIN ride with the step's read; else each waits alone, as before.
    assert len(waits) == len(round_trips) - (2 if token_kept else 0)
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


def test_a_start_with_its_kept_tokens_lookup_waits_four_times_with_its_events_in_its_rows(postgres_runtime, five_steps):
    rt = postgres_runtime
    _, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)  # looked up: kept
    _start(rt, five_steps)  # the unit's calendar read once, kept for the next starts
    waits: list[int] = []
    rt.db.on_wait(lambda: waits.append(1))

    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)
    dossier = _start(rt, five_steps)
    api_tokens.settle(rt)

    # The lookup and BEGIN with the template's read; the dossier's row; the first step's row with
    # the audit chain's head and events; COMMIT (the day's number goes on a connection of its own).
    assert len(waits) == 4
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
