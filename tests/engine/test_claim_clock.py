"""A claim as one guarded write (engine.store.step_claims): its time is the injected clock's, it
bumps the step's version once, its audit event links into the dossier's chain, and every refusal
says what it said before and writes nothing. A step whose deadline starts at its claim still gets
that deadline. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import cast as sql_cast
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select

from engine.domain.errors import ConflictError
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.services import audit
from engine.services import definitions
from engine.services import dossiers
from engine.services import idempotency
from engine.store import step_claims
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from engine.store.step_claims import ClaimedStep
from tests.conftest import BPMN_DIR
from tests.conftest import vn
from tests.factories import LEADER
from tests.factories import OTHER_COMMUNE
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import SPECIALIST_2
from tests.factories import add_units
from tests.factories import deploy_fixture


@pytest.fixture
def five(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "five_steps")


def start(rt, definition):
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    return dossier, step_of(rt, dossier.id)


def step_of(rt, dossier_id) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id).order_by(WorkItemRecord.id.desc())
        ).first()


def step(rt, item_id) -> WorkItemRecord:
    with rt.db.read_session() as s:
        return s.get(WorkItemRecord, item_id)


def events(rt, dossier_id) -> list[AuditEventRecord]:
    with rt.db.read_session() as s:
        return list(
            s.scalars(
                select(AuditEventRecord).where(AuditEventRecord.dossier_id == dossier_id).order_by(AuditEventRecord.id)
            )
        )


def test_a_claim_takes_its_time_from_the_clock_and_answers_the_step(runtime, five, clock):
    dossier, item = start(runtime, five)
    clock.advance(timedelta(minutes=17))
    claimed = dossiers.claim_work_item(runtime, item.id, RECEPTION)

    assert isinstance(claimed, ClaimedStep)
    assert claimed.claimed_at == vn(2026, 3, 2, 8, 17)
    assert (claimed.assignee, claimed.state, claimed.version) == ("mot_cua_1", "claimed", item.version + 1)
    assert (claimed.dossier_code, claimed.dossier_id, claimed.due_at) == (dossier.code, dossier.id, item.due_at)
    stored = step(runtime, item.id)
    assert (stored.assignee, stored.state, stored.claimed_at, stored.version) == (
        "mot_cua_1",
        "claimed",
        vn(2026, 3, 2, 8, 17),
        item.version + 1,
    )
    claim = events(runtime, dossier.id)[-1]
    assert (claim.action, claim.actor, claim.at, claim.giver, claim.receiver) == (
        "claim",
        "mot_cua_1",
        vn(2026, 3, 2, 8, 17),
        "mot_cua",
        "mot_cua_1",
    )
    assert chain_whole(runtime, dossier.code)


def test_the_answer_is_built_in_the_claims_transaction(runtime, five):
    _, item = start(runtime, five)
    answered = dossiers.claim_work_item(runtime, item.id, RECEPTION, answer=lambda s, claimed: claimed.version)
    assert answered == item.version + 1


def refused(rt, item_id, actor, error, match, **kw):
    before = step(rt, item_id)
    written = len(events(rt, before.dossier_id))
    with pytest.raises(error, match=match):
        dossiers.claim_work_item(rt, item_id, actor, **kw)
    after = step(rt, item_id)
    assert (after.assignee, after.state, after.version) == (before.assignee, before.state, before.version)
    assert len(events(rt, before.dossier_id)) == written


def test_refusals_name_their_reason_and_write_nothing(runtime, five):
    dossier, item = start(runtime, five)
    refused(runtime, item.id, SPECIALIST, PermissionDenied, "needs role 'mot_cua'")
    refused(runtime, item.id, OTHER_COMMUNE, PermissionDenied, "does not work in unit 00070")
    refused(runtime, item.id, RECEPTION, NotFound, "unknown work item", seen_by=lambda unit: unit != "00070")
    with pytest.raises(NotFound, match="unknown work item"):
        dossiers.claim_work_item(runtime, 10**9, RECEPTION)

    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    refused(runtime, item.id, RECEPTION, ConflictError, "already completed by mot_cua_1")

    appraisal = step_of(runtime, dossier.id)
    dossiers.claim_work_item(runtime, appraisal.id, SPECIALIST)
    refused(runtime, appraisal.id, SPECIALIST_2, InvalidAction, "already claimed by chuyen_vien_1")
    refused(runtime, appraisal.id, SPECIALIST, InvalidAction, "already claimed by chuyen_vien_1")

    dossiers.unclaim_work_item(runtime, appraisal.id, SPECIALIST)
    dossiers.cancel_dossier(runtime, dossier.id, LEADER, "Công dân rút hồ sơ")
    refused(runtime, appraisal.id, SPECIALIST, (ConflictError, InvalidAction), "cancelled")


def test_a_deadline_that_starts_at_the_claim_is_set_by_it(runtime, clock):
    add_units(runtime)
    xml = (BPMN_DIR / "five_steps.bpmn").read_text()
    at_claim = xml.replace('<motcua:step role="mot_cua" budget="4h" status="2"/>', _AT_CLAIM, 1)
    assert at_claim != xml
    definition = definitions.deploy(runtime, {"five_steps.bpmn": at_claim.encode()})
    _, item = start(runtime, definition)
    assert item.due_at is None
    clock.advance(timedelta(hours=1))
    claimed = dossiers.claim_work_item(runtime, item.id, RECEPTION)
    assert claimed.claimed_at == vn(2026, 3, 2, 9, 0)
    assert (
        claimed.due_at == step(runtime, item.id).due_at == vn(2026, 3, 2, 14, 0)
    )  # 4 working hours from the claim (lunch 12:00-13:00)


_AT_CLAIM = '<motcua:step role="mot_cua" budget="4h" status="2" clockStart="claimed"/>'


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_chain_head_that_moved_after_the_claims_read_is_linked_from_the_locked_head(runtime, five, monkeypatch):
    """Another writer appended to the dossier's chain between the claim's UPDATE and its events:
    the claim links them from the head as it is then, and the chain stays whole. (On PostgreSQL
    the event goes in the claim's own statement: tests/engine/test_deferred_begin.py.)"""
    dossier, item = start(runtime, five)
    claim_if_free = step_claims.claim_if_free

    def read_before_another_writer(*args, **kwargs):
        claim = claim_if_free(*args, **kwargs)
        last_hash, length = claim.head
        return claim._replace(head=("0" * len(last_hash), length - 1))

    monkeypatch.setattr(step_claims, "claim_if_free", read_before_another_writer)
    dossiers.claim_work_item(runtime, item.id, RECEPTION)
    assert events(runtime, dossier.id)[-1].action == "claim"
    assert chain_whole(runtime, dossier.code)


def chain_whole(rt, code: str) -> bool:
    with rt.db.read_session() as s:
        return audit.verify(s, code)[1] == []


@pytest.mark.postgres
@pytest.mark.parametrize(
    "value", ["tiep_nhan", "tiếp nhận", 'a"b\\c/d', "tab\tline\nnul\x01\x1f\x7f", "\u2028😀", None]
)
def test_postgresql_writes_a_value_of_the_row_as_python_writes_it_in_the_events_text(postgres_runtime, value):
    """The claim's statement renders the step's element and role into the event's hashed text with
    to_json: the same text as Python's json.dumps, or `audit verify` would refuse the chain."""
    with postgres_runtime.db.read_session() as s:
        rendered = s.scalar(
            select(func.coalesce(sql_cast(func.to_json(sql_cast(literal(value), String)), Text), "null"))
        )
    assert rendered == json.dumps(value, ensure_ascii=False)


def _keyed_claim(rt, item_id, actor, key: str):
    request = idempotency.Request.of(actor.username, key, {"claim": item_id})

    def claim_it(keep):
        return dossiers.claim_work_item(rt, item_id, actor, answer=keep(200, lambda _where, step: {"id": step.id}))

    return request, idempotency.once(rt, request, claim_it)


@pytest.mark.parametrize("deadline_at_claim", [False, True])
def test_a_keyed_claim_keeps_its_answer_in_its_transaction_and_a_refused_one_keeps_no_key(
    runtime, clock, deadline_at_claim
):
    """The key is written with the claim, on its connection, whether the claim took the step in one
    statement or through its read (a deadline that starts at the claim)."""
    add_units(runtime)
    xml = (BPMN_DIR / "five_steps.bpmn").read_text()
    if deadline_at_claim:
        xml = xml.replace('<motcua:step role="mot_cua" budget="4h" status="2"/>', _AT_CLAIM, 1)
    _, item = start(runtime, definitions.deploy(runtime, {"five_steps.bpmn": xml.encode()}))
    assert (item.due_at is None) == deadline_at_claim

    with pytest.raises(PermissionDenied):
        _keyed_claim(runtime, item.id, SPECIALIST, "k-refused")
    refused = idempotency.Request.of(SPECIALIST.username, "k-refused", {"claim": item.id})
    assert idempotency.kept_answer(runtime, refused) is None

    request, answer = _keyed_claim(runtime, item.id, RECEPTION, "k-1")
    _, again = _keyed_claim(runtime, item.id, RECEPTION, "k-1")

    assert (answer.status, answer.body, answer.replayed) == (200, {"id": item.id}, False)
    assert (again.status, again.body, again.replayed) == (200, {"id": item.id}, True)
    assert idempotency.kept_answer(runtime, request) == again
    assert step(runtime, item.id).assignee == "mot_cua_1"
    assert [event.action for event in events(runtime, item.dossier_id)].count("claim") == 1
    with runtime.db.read_session() as s:
        assert audit.verify(s)[1] == []
