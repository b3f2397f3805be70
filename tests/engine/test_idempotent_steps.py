"""A step's completion sent again with its idempotency key while the first copy is still
committing (its client timed out, or its web process died with the COMMIT sent) is answered with
the first copy's answer, replayed: the copy that finds no key yet runs, meets the first one's
write, and gives way. Reloading the dossier at that moment would show the step still open, and
the same completion sent without a key would be refused (a 409 to the client)."""

from __future__ import annotations

import threading

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from engine.domain.errors import ConflictError
from engine.services import audit
from engine.services import dossiers
from engine.services import idempotency
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


def _complete(rt, item_id: int):
    def change(keep):
        reply = keep(200, lambda s, dossier: {"code": dossier.code, "version": dossier.version})
        return dossiers.complete_work_item(rt, item_id, RECEPTION, {}, answer=reply)

    return change


def _first_step(rt, dossier_id: int) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier_id))


def _completions(rt) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(AuditEventRecord).where(AuditEventRecord.action == "complete"))


def _until_a_writer_waits(rt) -> None:
    """On PostgreSQL, until the copy queues on the first one's row lock (bounded); on SQLite the
    copy waits at BEGIN IMMEDIATE for the first one's commit, whatever the order."""
    if rt.db.engine.dialect.name != "postgresql":
        return
    pause = threading.Event()  # never set: a short wait between polls of another process's state
    with rt.db.engine.connect() as conn:
        for _ in range(500):
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar()
            if waiting:
                return
            pause.wait(0.01)


def _sent_twice(runtime, monkeypatch, request_of):
    """The step completed by a first request held just before its commit, and the same completion
    sent meanwhile; returns (the dossier, the answers or errors by sender, completions written)."""
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    dossier = dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Phạm Văn Chờ", actor=RECEPTION
    )
    item_id = _first_step(runtime, dossier.id)
    request = request_of(item_id)
    written, commit = threading.Event(), threading.Event()
    real_write = audit.write_pending

    def write_then_hold_the_commit(session):
        real_write(session)
        if threading.current_thread().name == "first":
            written.set()
            commit.wait(20)

    monkeypatch.setattr(audit, "write_pending", write_then_hold_the_commit)
    outcomes: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            outcomes[name] = idempotency.once(runtime, request, _complete(runtime, item_id))
        except Exception as exc:  # noqa: BLE001 - the outcome asserted
            outcomes[name] = exc
            written.set()

    sender = threading.Thread(target=send, args=("first",), name="first")
    sender.start()
    written.wait(20)
    copy = threading.Thread(target=send, args=("copy",), name="copy")
    copy.start()
    _until_a_writer_waits(runtime)
    commit.set()
    for thread in (sender, copy):
        thread.join(30)
    return dossier, outcomes, _completions(runtime)


def test_a_completion_sent_again_with_its_key_while_the_first_commits_gets_the_first_answer(runtime, monkeypatch):
    dossier, outcomes, completions = _sent_twice(
        runtime,
        monkeypatch,
        lambda item_id: idempotency.Request.of("mot_cua_1", "complete-7", {"route": f"complete {item_id}"}),
    )
    first, copy = outcomes["first"], outcomes["copy"]
    assert isinstance(first, idempotency.Answer) and isinstance(copy, idempotency.Answer), outcomes
    assert not first.replayed and copy.replayed and copy.body == first.body and first.body["code"] == dossier.code
    assert completions == 1


def test_the_same_completion_sent_again_without_a_key_while_the_first_commits_is_refused(runtime, monkeypatch):
    """Why a client must resend with its key: without one, the copy cannot be told from a second
    completion of a step already completed."""
    _dossier, outcomes, completions = _sent_twice(runtime, monkeypatch, lambda item_id: None)
    assert isinstance(outcomes["first"], idempotency.Answer)
    assert isinstance(outcomes["copy"], ConflictError) and "already completed" in outcomes["copy"].message
    assert completions == 1
