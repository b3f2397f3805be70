"""Attack: rewrite history in the audit log (edit who did a step, delete an event, slip in a
forged one). Outcome: the database refuses UPDATE and DELETE on audit_event, naming the rule;
with the trigger disabled (an operator with DDL rights), `motcua audit verify` finds the first
broken link (dossier code, event id) and exits 1. Concurrent writers of one dossier neither fork
its chain nor fail."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from engine.services import audit
from engine.services import dossiers
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units
from tests.factories import deploy_fixture
from web import cli


@pytest.fixture
def dossier(runtime):
    """A dossier three events into its history: started, then its first step done."""
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    started = dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )

    return started


def events(rt, dossier_id) -> list[AuditEventRecord]:
    with rt.db.session() as s:
        return list(
            s.scalars(
                select(AuditEventRecord)
                .where(
                    AuditEventRecord.dossier_id.is_(dossier_id)
                    if dossier_id is None
                    else AuditEventRecord.dossier_id == dossier_id
                )
                .order_by(AuditEventRecord.id)
            )
        )


def add_events(rt, dossier_id, *actions, actor="system"):
    with rt.db.session() as s:
        for action in actions:
            audit.record(s, at=rt.clock.now(), action=action, actor=actor, dossier_id=dossier_id, note="ghi chú")
        audit.write_pending(s)


def verify(rt, code=None):
    with rt.db.read_session() as s:
        return audit.verify(s, code)


def without_trigger(rt, sql: str, **params) -> None:
    """What an operator with DDL rights could do: switch the trigger off, tamper, switch it on."""
    with rt.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_append_only_update"))
            conn.execute(text("DROP TRIGGER audit_event_append_only_delete"))
            conn.execute(text(sql), params)


@pytest.mark.parametrize(
    "sql", ["UPDATE audit_event SET actor = 'someone_else' WHERE id = :id", "DELETE FROM audit_event WHERE id = :id"]
)
def test_the_database_refuses_to_change_or_delete_an_event(runtime, dossier, sql):
    first = events(runtime, dossier.id)[0]
    with pytest.raises(DatabaseError, match="audit_event is append-only"):
        with runtime.db.engine.begin() as conn:
            conn.execute(text(sql), {"id": first.id})
    assert [(e.id, e.actor) for e in events(runtime, dossier.id)][0] == (first.id, first.actor)


def test_an_untouched_log_verifies(runtime, dossier):
    add_events(runtime, dossier.id, "note", "sla_warning")
    add_events(runtime, None, "account_created")
    checked, broken = verify(runtime)
    assert (checked, broken) == (2, [])  # the dossier's chain and the chain of events without a dossier


def test_an_edited_event_is_found_with_its_dossier_and_id(runtime, dossier):
    add_events(runtime, dossier.id, "note", "sla_warning", "note")
    edited = events(runtime, dossier.id)[2]
    without_trigger(runtime, "UPDATE audit_event SET actor = 'someone_else' WHERE id = :id", id=edited.id)

    _, [report] = verify(runtime)
    assert (report.dossier_code, report.event_id) == (dossier.code, edited.id)

    answer = CliRunner().invoke(
        cli.main, ["audit", "verify", "--dossier", dossier.code], env={"DATABASE_URL": runtime.db.url}
    )
    assert answer.exit_code == 1
    assert f"dossier {dossier.code}: event {edited.id}:" in answer.output


def test_a_deleted_event_breaks_the_link_of_the_next_one(runtime, dossier):
    add_events(runtime, dossier.id, "note", "sla_warning", "note")
    history = events(runtime, dossier.id)
    without_trigger(runtime, "DELETE FROM audit_event WHERE id = :id", id=history[1].id)
    _, [report] = verify(runtime, dossier.code)
    assert report.event_id == history[2].id


def test_events_cut_from_the_end_are_found_by_the_chain_head(runtime, dossier):
    add_events(runtime, dossier.id, "note", "sla_warning")
    last = events(runtime, dossier.id)[-1]
    without_trigger(runtime, "DELETE FROM audit_event WHERE id = :id", id=last.id)
    _, [report] = verify(runtime, dossier.code)
    assert report.event_id is None and "missing at the end" in report.reason


def test_a_forged_event_inserted_without_the_chain_is_found(runtime, dossier):
    with runtime.db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_event (dossier_id, at, action, actor, detail, chain_hash) "
                "VALUES (:d, :at, 'complete', 'lanh_dao_1', '{}', :h)"
            ),
            {"d": dossier.id, "at": vn(2026, 3, 2, 9, 0).replace(tzinfo=None), "h": "0" * 64},
        )
    forged = events(runtime, dossier.id)[-1]
    _, [report] = verify(runtime)
    assert (report.dossier_code, report.event_id) == (dossier.code, forged.id)


def test_events_without_a_dossier_have_their_own_chain(runtime):
    add_events(runtime, None, "account_created", "calendar_day_added")
    with runtime.db.session() as s:
        first = s.scalar(select(AuditEventRecord).order_by(AuditEventRecord.id))
    without_trigger(runtime, "UPDATE audit_event SET action = 'nothing' WHERE id = :id", id=first.id)
    _, [report] = verify(runtime)
    assert (report.dossier_code, report.event_id) == (None, first.id)
    assert str(report).startswith("events without a dossier")


def test_a_clean_log_exits_0_from_the_command(runtime, dossier):
    answer = CliRunner().invoke(cli.main, ["audit", "verify"], env={"DATABASE_URL": runtime.db.url})
    assert answer.exit_code == 0 and "1 chains verified" in answer.output


@pytest.mark.parametrize("chain", ["the dossier's", "a new chain"])
def test_two_writers_of_one_chain_at_once_both_succeed_on_one_chain(runtime, dossier, chain):
    """A clerk's change holds the chain's head until it commits; the worker's change for the same
    chain queues behind it and links from its last event. For a chain's first events (here the
    chain of events without a dossier) the second writer's insert of the head waits, skips, and
    it links from the head the first one created."""
    dossier_id = dossier.id if chain == "the dossier's" else None
    first_holds_the_head, release_first = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def clerk():
        try:
            with runtime.db.session() as s:
                audit.record(s, at=runtime.clock.now(), action="complete", actor=SPECIALIST, dossier_id=dossier_id)
                audit.write_pending(s)
                first_holds_the_head.set()
                release_first.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
            first_holds_the_head.set()

    def worker():
        try:
            add_events(runtime, dossier_id, "sla_warning")
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=clerk), threading.Thread(target=worker)]
    threads[0].start()
    first_holds_the_head.wait(10)
    threads[1].start()
    _wait_until_blocked(runtime)
    release_first.set()
    for thread in threads:
        thread.join(20)

    assert failures == []
    written = [e.action for e in events(runtime, dossier_id)]
    assert written.count("complete") == 1 and written.count("sla_warning") == 1
    assert verify(runtime) == (1 if dossier_id else 2, [])


def test_a_step_whose_chain_moved_after_it_was_read_is_run_again_and_links_after_the_move(
    runtime, dossier, monkeypatch
):
    """A completion reads its dossier's chain head with the step, without a lock. When another
    writer (the worker's SLA pass) appended to that chain after the read, nothing is linked from
    the stale head: the completion links its events from the locked head instead, succeeds at
    once, and the chain holds both writers' events in order and verifies. (The worker writes
    first and the completion's read is given the head as it was before: SQLite's write lock
    would keep a truly concurrent writer out until the completion ends.)"""
    from engine.store import audit_chains
    from engine.store import repositories

    with runtime.db.read_session() as s:
        item_id = s.scalar(
            select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state == "open")
        )
        before = repositories.work_item_with_dossier_and_head(s, item_id)[2]
    add_events(runtime, dossier.id, "sla_warning")
    read, lock = repositories.work_item_with_dossier_and_head, audit_chains.lock_heads
    locked: list[list[int]] = []

    def read_as_before_the_worker_wrote(session, work_item_id, **options):
        item, found_dossier, _ = read(session, work_item_id, **options)
        return item, found_dossier, before

    def lock_noting_it(session, keys):
        locked.append(keys)
        return lock(session, keys)

    monkeypatch.setattr(repositories, "work_item_with_dossier_and_head", read_as_before_the_worker_wrote)
    monkeypatch.setattr(audit_chains, "lock_heads", lock_noting_it)
    dossiers.complete_work_item(runtime, item_id, RECEPTION, {})

    # The stale head was refused, nothing was written from it, and the events were linked again
    # from the head locked (on PostgreSQL the refusal came inside the rows' statement).
    assert len(locked) == 1
    written = [e.action for e in events(runtime, dossier.id)]
    assert written[-3:] == ["sla_warning", "complete", "handover"]
    assert verify(runtime, dossier.code) == (1, [])


def _wait_until_blocked(rt) -> None:
    """On PostgreSQL, give the second writer time to queue on the chain head's row lock (seen in
    pg_stat_activity; bounded). The outcome asserted does not depend on it: whichever order the
    two end up in, the chain must verify and hold both events."""
    if rt.db.engine.dialect.name != "postgresql":
        return  # SQLite: the second writer waits at BEGIN IMMEDIATE for the first to commit
    pause = threading.Event()  # never set: a short wait between polls of another process's state
    with rt.db.engine.connect() as conn:
        for _ in range(300):
            if conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar():
                return
            pause.wait(0.01)


def test_the_migration_hashes_events_written_before_it_exactly_as_the_write_path_does(runtime, dossier):
    from engine.store import migrate

    add_events(runtime, dossier.id, "note", "sla_warning")
    add_events(runtime, None, "account_created")
    written = [(e.id, e.chain_hash) for e in events(runtime, dossier.id)]

    migrate.downgrade(runtime.db.engine, "0009-1")  # the log as it was before chains existed
    migrate.upgrade(runtime.db.engine)

    assert [(e.id, e.chain_hash) for e in events(runtime, dossier.id)] == written
    assert verify(runtime) == (2, [])
    add_events(runtime, dossier.id, "note")  # and the chain goes on from the migrated head
    assert verify(runtime) == (2, [])


def test_every_event_names_a_step_that_exists_and_a_step_moved_is_found(runtime, dossier):
    """audit_event.work_item_id has no foreign key (migration 0045): the writers take it from the
    step they change, and the chain's hash covers it. A dossier's steps claimed and completed
    through both kinds of writer (the guarded claim's statement, the ORM's completion, a step
    created in the same flush as its event) leave no event naming a missing step; an event moved
    to another step by an operator is found by `audit verify`."""
    for _ in range(2):
        with runtime.db.read_session() as s:
            step = s.scalars(
                select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id, WorkItemRecord.state == "open")
            ).one()
        actor = next(a for a in (RECEPTION, SPECIALIST, LEADER) if step.role in a.roles)
        dossiers.claim_work_item(runtime, step.id, actor)
        dossiers.complete_work_item(runtime, step.id, actor, {"hop_le": True})
    with runtime.db.engine.connect() as conn:
        named = conn.execute(text("SELECT COUNT(*) FROM audit_event WHERE work_item_id IS NOT NULL")).scalar_one()
        missing = conn.execute(
            text(
                "SELECT COUNT(*) FROM audit_event e LEFT JOIN work_item w ON w.id = e.work_item_id"
                " WHERE e.work_item_id IS NOT NULL AND w.id IS NULL"
            )
        ).scalar_one()
    assert named >= 4 and missing == 0

    moved = next(e for e in events(runtime, dossier.id) if e.work_item_id is not None)
    without_trigger(runtime, "UPDATE audit_event SET work_item_id = work_item_id + 1 WHERE id = :id", id=moved.id)
    _, [report] = verify(runtime, dossier.code)
    assert report.event_id == moved.id
