"""A claim whose answer writes nothing, on PostgreSQL: who may take the step and the request's token
checked in its one statement, its COMMIT sent with it (engine.store.deferred_begin): one network
wait. A refusal still names the reason the claim written the long way names, and writes nothing;
so does a token taken away, or an account changed, while its check rode with the claim."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.services import api_tokens
from engine.services import audit
from engine.services import dossiers
from engine.services import idempotency
from engine.store import deferred_begin
from engine.store import idempotency_records
from engine.store.records import AuditEventRecord
from engine.store.records import UserRecord
from engine.store.records import WorkItemRecord
from tests.factories import OTHER_COMMUNE
from tests.factories import RECEPTION
from tests.factories import SPECIALIST

pytestmark = pytest.mark.postgres

OTHER_CLERK = type(RECEPTION)("mot_cua_2", RECEPTION.roles, RECEPTION.unit_code)


def _may_see(actor):
    """What the API and the desk pass: the units the person works in."""
    return lambda unit: unit == actor.unit_code or unit in actor.supervised_units


def _claim(rt, item_id: int, actor, *, answer_writes: bool = False):
    return dossiers.claim_work_item(rt, item_id, actor, seen_by=_may_see(actor), answer_writes=answer_writes)


def _written(rt, item_id: int) -> tuple:
    with rt.db.read_session() as s:
        item = s.get(WorkItemRecord, item_id)
        events = s.scalars(select(AuditEventRecord.id).where(AuditEventRecord.dossier_id == item.dossier_id)).all()
        assert audit.verify(s)[1] == []
        return item.assignee, item.state, item.version, len(events)


def test_a_claim_that_succeeds_is_one_network_wait_with_its_event(postgres_runtime, open_step):
    rt, item_id = postgres_runtime, open_step
    statements, waits = [], []
    rt.db.on_round_trip(lambda: statements.append(1))
    rt.db.on_wait(lambda: waits.append(1))

    step = _claim(rt, item_id, RECEPTION)

    assert (step.assignee, step.state) == (RECEPTION.username, "claimed")
    assert (len(statements), len(waits)) == (3, 1)  # BEGIN, the claim with its event, COMMIT: one wait
    with rt.db.read_session() as s:
        item = s.get(WorkItemRecord, item_id)
        assert (item.assignee, item.state, item.claimed_at) == (RECEPTION.username, "claimed", step.claimed_at)
        last = s.scalars(
            select(AuditEventRecord).where(AuditEventRecord.dossier_id == item.dossier_id).order_by(AuditEventRecord.id)
        ).all()[-1]
        assert (last.action, last.work_item_id, last.actor, last.giver) == ("claim", item_id, "mot_cua_1", "mot_cua")
        assert audit.verify(s)[1] == []


def test_a_claim_with_its_kept_tokens_check_is_one_network_wait(postgres_runtime, open_step):
    rt, item_id = postgres_runtime, open_step
    _, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)  # looked up: kept
    statements, waits = [], []
    rt.db.on_round_trip(lambda: statements.append(1))
    rt.db.on_wait(lambda: waits.append(1))

    assert api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True) is not None  # from memory
    _claim(rt, item_id, RECEPTION)
    api_tokens.settle(rt)  # nothing left to check: it rode with the claim

    # BEGIN, the claim checking the token itself, COMMIT; the token's lookup is not needed.
    assert (len(statements), len(waits)) == (3, 1)
    assert _written(rt, item_id)[:2] == (RECEPTION.username, "claimed")


def _someone_else_holds_it(rt, item_id: int) -> None:
    _claim(rt, item_id, OTHER_CLERK)


@pytest.mark.parametrize(
    ("actor", "before"),
    [
        (SPECIALIST, None),  # another role of the unit
        (OTHER_COMMUNE, None),  # another commune: the step is unknown to them
        (RECEPTION, _someone_else_holds_it),  # already claimed
    ],
)
def test_a_refused_claim_names_the_reason_the_long_way_names_and_writes_nothing(
    postgres_runtime, open_step, actor, before
):
    rt, item_id = postgres_runtime, open_step
    if before is not None:
        before(rt, item_id)
    written = _written(rt, item_id)

    with pytest.raises(EngineError) as one_wait:
        _claim(rt, item_id, actor)
    with pytest.raises(EngineError) as long_way:
        _claim(rt, item_id, actor, answer_writes=True)

    assert (type(one_wait.value), str(one_wait.value)) == (type(long_way.value), str(long_way.value))
    assert _written(rt, item_id) == written


@pytest.mark.parametrize("change", ["claim", "release"])
def test_a_claim_or_release_whose_kept_token_was_revoked_meanwhile_writes_nothing(postgres_runtime, open_step, change):
    rt, item_id = postgres_runtime, open_step
    if change == "release":
        _claim(rt, item_id, RECEPTION)
    record, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)  # looked up: kept
    api_tokens.revoke(rt, record.id)
    written = _written(rt, item_id)

    assert api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True) is not None  # from memory
    with pytest.raises(api_tokens.TokenChanged) as changed:
        (_claim if change == "claim" else _release)(rt, item_id, RECEPTION)

    assert changed.value.refused
    api_tokens.forget_unchecked()  # what the request's end does
    assert _written(rt, item_id) == written


def test_a_claim_whose_tokens_account_changed_meanwhile_writes_nothing_and_may_be_made_again(
    postgres_runtime, open_step
):
    rt, item_id = postgres_runtime, open_step
    _, token = api_tokens.issue(rt, username=RECEPTION.username, name="Cổng DVC")
    api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True)  # looked up: kept
    with rt.db.session() as s:
        s.execute(update(UserRecord).where(UserRecord.username == RECEPTION.username).values(full_name="Tên mới"))
    written = _written(rt, item_id)

    assert api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True) is not None  # from memory
    with pytest.raises(api_tokens.TokenChanged) as changed:
        _claim(rt, item_id, RECEPTION)

    assert not changed.value.refused  # the request is made again as the account now is
    api_tokens.forget_unchecked()
    assert _written(rt, item_id) == written
    assert api_tokens.authenticate(rt, token, checked_with_change=lambda _account: True) is not None
    _claim(rt, item_id, RECEPTION)
    api_tokens.settle(rt)
    assert _written(rt, item_id)[:2] == (RECEPTION.username, "claimed")


def test_a_statement_after_a_claim_that_committed_with_its_statement_is_refused(postgres_runtime, open_step):
    """An answer that writes must say so (`answer_writes`): run after the COMMIT, in the driver's
    autocommit, it would not be part of the claim's transaction."""
    rt, item_id = postgres_runtime, open_step

    with pytest.raises(RuntimeError, match="after its transaction's COMMIT"):
        dossiers.claim_work_item(
            rt,
            item_id,
            RECEPTION,
            answer=lambda connection, _step: connection.execute(text("SELECT 1")),
            answer_writes=False,
        )


def test_a_claim_reads_its_step_by_its_key_when_statistics_say_every_step_is_held(postgres_runtime, open_step):
    """After a quiet spell every step is held and ANALYZE records it: the index of unheld steps
    looks empty, and a claim whose guard that index could answer walked all of it (a morning's
    every new step) for the one row its key finds. The claim's plan must read the key."""
    rt = postgres_runtime
    seen: list[tuple[str, dict]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "UPDATE work_item" in statement:
            seen.append((statement, dict(parameters)))

    with rt.db.engine.begin() as conn:
        columns = [c for c in WorkItemRecord.__table__.columns.keys() if c != "id"]
        listed = ", ".join(columns)
        fresh = {"task_id": "gen_random_uuid()::text"}
        held = ", ".join({**fresh, "assignee": "'someone'", "state": "'completed'"}.get(c, c) for c in columns)
        conn.execute(text(f"INSERT INTO work_item ({listed}) SELECT {held} FROM work_item, generate_series(1, 3000)"))
        conn.execute(text("ANALYZE work_item"))
        unheld = ", ".join(fresh.get(c, c) for c in columns)
        conn.execute(
            text(
                f"INSERT INTO work_item ({listed}) SELECT {unheld} FROM work_item, generate_series(1, 300)"
                " WHERE assignee IS NULL"
            )
        )
    event.listen(rt.db.engine, "before_cursor_execute", capture)
    try:
        assert _claim(rt, open_step, RECEPTION).assignee == RECEPTION.username
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)
    statement, parameters = seen[0]
    with rt.db.engine.begin() as conn:
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
        conn.rollback()
    scans = [line for line in plan.splitlines() if " on work_item" in line and "Scan" in line]
    assert scans and all("pk_work_item" in line for line in scans), plan


def test_a_claim_after_an_idempotency_keys_lookup_is_still_one_network_wait(postgres_runtime, open_step):
    """The key's lookup runs on the pooled connection the claim takes next: it must leave it as
    it found it (an isolation level set back by SQLAlchemy made every later BEGIN psycopg's own)."""
    rt, item_id = postgres_runtime, open_step
    asked = idempotency.Request.of(RECEPTION.username, "khoa-1", {"route": "POST /claim", "body": {}})
    assert idempotency.kept_answer(rt, asked) is None
    statements, waits = [], []
    rt.db.on_round_trip(lambda: statements.append(1))
    rt.db.on_wait(lambda: waits.append(1))

    _claim(rt, item_id, RECEPTION)

    assert (len(statements), len(waits)) == (3, 1)


def _keyed_claim(rt, item_id: int, asked: idempotency.Request, reply=None):
    """A claim with an Idempotency-Key as the API makes it (web.api.work_items.claim)."""
    reply = reply or (lambda _where, step: {"id": step.id, "assignee": step.assignee, "version": step.version})

    def claim_it(keep):
        answer = keep(200, reply)
        return dossiers.claim_work_item(rt, item_id, RECEPTION, seen_by=_may_see(RECEPTION), answer=answer)

    return idempotency.once(rt, asked, claim_it, lookup_rides=True)


def _asked(key: str = "khoa-claim", body: dict | None = None) -> idempotency.Request:
    return idempotency.Request.of(RECEPTION.username, key, {"route": "POST /claim", "body": body or {}})


def test_a_keyed_claim_is_two_network_waits_and_its_replay_changes_nothing(postgres_runtime, open_step):
    """The key's lookup goes with the claim's BEGIN, the key's row with its COMMIT (four waits
    before: the lookup, the claim, the key, the COMMIT). A replay gets the first answer and its
    claim is rolled back; the key for another request is the Idempotency-Key's conflict."""
    rt, item_id = postgres_runtime, open_step
    statements, waits = [], []
    rt.db.on_round_trip(lambda: statements.append(1))
    rt.db.on_wait(lambda: waits.append(1))

    first = _keyed_claim(rt, item_id, _asked())

    assert (len(statements), len(waits)) == (5, 2)  # BEGIN, lookup, claim | key, COMMIT
    assert first.body == {"id": item_id, "assignee": RECEPTION.username, "version": first.body["version"]}
    assert not first.replayed and idempotency.kept_answer(rt, _asked()) == dataclasses.replace(first, replayed=True)
    written = _written(rt, item_id)
    statements.clear(), waits.clear()

    again = _keyed_claim(rt, item_id, _asked())

    assert (again.status, again.body, again.replayed) == (200, first.body, True)
    assert len(waits) == 2  # BEGIN, lookup, claim (nothing taken) | ROLLBACK: as the lookup and the token's before
    assert _written(rt, item_id) == written
    with pytest.raises(ConflictError) as conflict:
        _keyed_claim(rt, item_id, _asked(body={"other": 1}))
    assert conflict.value.field == "Idempotency-Key" and _written(rt, item_id) == written
    assert deferred_begin.waiting_riders() == ()


def test_a_keyed_claim_whose_key_a_copy_committed_meanwhile_is_rolled_back_and_gets_the_copys_answer(
    postgres_runtime, open_step
):
    rt, item_id = postgres_runtime, open_step
    written = _written(rt, item_id)
    copys = {"id": item_id, "assignee": RECEPTION.username, "version": 99}

    def copy_commits_first(_where, step):
        with rt.db.session() as s:  # the copy's own transaction commits the key before this one's COMMIT
            idempotency_records.remember(
                s, caller=RECEPTION.username, key="khoa-claim", fingerprint=_asked().fingerprint,
                status_code=200, answer=copys, now=rt.clock.now(),
            )  # fmt: skip
        return {"id": step.id}

    answer = _keyed_claim(rt, item_id, _asked(), reply=copy_commits_first)

    assert (answer.body, answer.replayed) == (copys, True)
    assert _written(rt, item_id) == written  # the claim went with the failed COMMIT's rollback
    assert deferred_begin.waiting_riders() == ()


def _release(rt, item_id: int, actor):
    return dossiers.unclaim_work_item(rt, item_id, actor, seen_by=_may_see(actor))


def _the_long_way(monkeypatch) -> None:
    """The release as it is written through the step's read (what the one statement stands for)."""
    monkeypatch.setattr(dossiers.step_claims, "release_if_held", lambda *_args, **_kwargs: None)


def _event(rt, item_id: int) -> tuple:
    with rt.db.read_session() as s:
        last = s.scalars(
            select(AuditEventRecord).where(AuditEventRecord.work_item_id == item_id).order_by(AuditEventRecord.id)
        ).all()[-1]
        return last.action, last.actor, last.on_behalf_of, last.giver, last.receiver, last.element_id, last.detail


@pytest.mark.parametrize("one_statement", [True, False], ids=["one statement", "the long way"])
def test_a_holder_releases_a_step_in_one_network_wait_as_the_long_way_does(
    postgres_runtime, open_step, monkeypatch, one_statement
):
    rt, item_id = postgres_runtime, open_step
    claimed = _claim(rt, item_id, RECEPTION)
    if not one_statement:
        _the_long_way(monkeypatch)
    statements, waits = [], []
    rt.db.on_round_trip(lambda: statements.append(1))
    rt.db.on_wait(lambda: waits.append(1))

    released = _release(rt, item_id, RECEPTION)

    if one_statement:
        assert (len(statements), len(waits)) == (3, 1)  # BEGIN, the release with its event, COMMIT
    expected = claimed._replace(assignee=None, state="open", version=claimed.version + 1)
    assert released == expected
    assert _written(rt, item_id)[:3] == (None, "open", claimed.version + 1)  # the chain verified too
    assert _event(rt, item_id) == ("unclaim", "mot_cua_1", None, "mot_cua_1", "mot_cua", released.element_id, {})


def test_a_release_the_statement_may_not_make_names_the_long_ways_reason_or_is_made_the_long_way(
    postgres_runtime, open_step, monkeypatch
):
    rt, item_id = postgres_runtime, open_step
    leader = type(RECEPTION)("lanh_dao_1", frozenset({"lanh_dao"}), RECEPTION.unit_code)
    with pytest.raises(EngineError) as not_claimed:
        _release(rt, item_id, RECEPTION)
    _claim(rt, item_id, RECEPTION)
    refusals = []
    for actor in (OTHER_CLERK, OTHER_COMMUNE):  # not theirs; a step another commune cannot see
        with pytest.raises(EngineError) as refused:
            _release(rt, item_id, actor)
        refusals.append(refused.value)
    written = _written(rt, item_id)
    _the_long_way(monkeypatch)
    for actor, refusal in zip((OTHER_CLERK, OTHER_COMMUNE), refusals, strict=True):
        with pytest.raises(EngineError) as long_way:
            _release(rt, item_id, actor)
        assert (type(refusal), str(refusal)) == (type(long_way.value), str(long_way.value))
    assert "not claimed" in str(not_claimed.value) and _written(rt, item_id) == written
    monkeypatch.undo()

    released = _release(rt, item_id, leader)  # a leader releases another's step: the long way

    assert (released.assignee, released.state) == (None, "open")
    assert _event(rt, item_id)[:5] == ("unclaim", "lanh_dao_1", None, "mot_cua_1", "mot_cua")
    assert _written(rt, item_id)[:2] == (None, "open")
