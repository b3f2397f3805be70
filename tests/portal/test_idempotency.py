"""Idempotency keys on another agency's message: the work runs once per key and a repeat gets the
first answer; another request under the key is a conflict; a message whose answer was lost after
it committed is never delivered twice (the key commits with it); a refused message keeps no key."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.errors import ConflictError
from engine.domain.errors import EngineError
from engine.services import dossiers
from engine.services import idempotency
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from tests.factories import add_units
from tests.portal.lien_thong import MESSAGE
from tests.portal.lien_thong import SYSTEM
from tests.portal.lien_thong import bring_to_police_step
from tests.portal.lien_thong import deploy_with_police_system
from tests.portal.lien_thong import open_step


class AnswerLost(BaseException):
    """The web process died after the message committed, with the answer in hand."""


@pytest.fixture
def waiting(runtime):
    add_units(runtime)
    return bring_to_police_step(runtime, deploy_with_police_system(runtime))


def _deliver(rt, dossier_id, name=MESSAGE, payload=None):
    def deliver(keep):
        return dossiers.send_message(
            rt,
            dossier_id,
            name,
            SYSTEM,
            payload or {"so": "123/CAX"},
            answer=keep(200, lambda s, d: {"code": d.code, "status": d.status}),
        )

    return deliver


def _request(caller="cong_an_xa", key="ca-2026-1", payload=None):
    return idempotency.Request.of(caller, key, {"message": MESSAGE, "payload": payload or {"so": "123/CAX"}})


def _messages(rt, dossier_id) -> int:
    with rt.db.read_session() as s:
        return s.scalar(
            select(func.count())
            .select_from(AuditEventRecord)
            .where(AuditEventRecord.dossier_id == dossier_id, AuditEventRecord.action == "message")
        )


def test_same_key_same_request_runs_once_and_answers_the_same(runtime, waiting):
    first = idempotency.once(runtime, _request(), _deliver(runtime, waiting.id))
    again = idempotency.once(runtime, _request(), _deliver(runtime, waiting.id))

    assert (first.status, first.replayed) == (200, False)
    assert (again.status, again.body, again.replayed) == (200, first.body, True)
    assert _messages(runtime, waiting.id) == 1 and open_step(runtime, waiting.id).element_id == "tra_ket_qua"
    with pytest.raises(ConflictError, match="another request"):
        idempotency.once(runtime, _request(payload={"so": "999"}), _deliver(runtime, waiting.id, payload={"so": "999"}))
    # Keys are per caller: another system's key of the same text is its own (and nothing waits now).
    with pytest.raises(EngineError):
        idempotency.once(runtime, _request(caller="he_thong_khac"), _deliver(runtime, waiting.id))
    assert _messages(runtime, waiting.id) == 1


def test_the_answer_lost_after_the_commit_is_replayed_and_the_message_not_delivered_twice(runtime, waiting):
    deliver = _deliver(runtime, waiting.id)

    def deliver_then_die(keep):
        deliver(keep)
        raise AnswerLost

    with pytest.raises(AnswerLost):
        idempotency.once(runtime, _request(), deliver_then_die)
    assert _messages(runtime, waiting.id) == 1  # the change committed; its answer never left

    retry = idempotency.once(runtime, _request(), deliver)
    assert retry.replayed and retry.status == 200 and retry.body["code"] == waiting.code
    assert _messages(runtime, waiting.id) == 1


def test_a_refused_message_keeps_no_key_and_changes_nothing(runtime, waiting):
    with pytest.raises(EngineError):
        idempotency.once(runtime, _request(), _deliver(runtime, waiting.id, name="khong_co"))
    assert idempotency.kept_answer(runtime, _request()) is None
    with runtime.db.read_session() as s:
        assert s.get(DossierRecord, waiting.id).status == 4
    # The key is free: the right message under it is delivered.
    assert not idempotency.once(runtime, _request(), _deliver(runtime, waiting.id)).replayed


def test_copies_sent_at_the_same_moment_deliver_the_message_once(runtime, waiting):
    """A copy that arrives while the first is running waits for it (the write lock on SQLite, the
    key's or the dossier's row on PostgreSQL) and answers with the first one's answer."""
    answers, errors, barrier = [], [], threading.Barrier(3)

    def send():
        barrier.wait()
        try:
            answers.append(idempotency.once(runtime, _request(), _deliver(runtime, waiting.id)))
        except Exception as exc:  # noqa: BLE001  (asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and _messages(runtime, waiting.id) == 1
    assert len({json.dumps(a.body, sort_keys=True) for a in answers}) == 1
    assert sorted(a.replayed for a in answers) == [False, True, True]
