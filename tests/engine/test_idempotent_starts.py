"""A start sent twice with one idempotency key starts one dossier: the retry after a lost answer
(the start committed, the answer never reached the caller) and two copies of the request racing
each other all get the first one's answer, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.errors import ConflictError
from engine.services import dossiers
from engine.services import idempotency
from engine.store.records import DossierRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


class AnswerLost(BaseException):
    """The web process died after the change committed, with the answer in hand."""


def _starter(rt, definition, applicant="Nguyễn Văn A"):
    def start(keep):
        return dossiers.start_dossier(
            rt,
            definition_id=definition.id,
            unit_code="00070",
            applicant_name=applicant,
            actor=RECEPTION,
            answer=keep(201, lambda s, d: {"id": d.id, "code": d.code}),
        )

    return start


def _request(username="mot_cua_1", key="portal-42", applicant="Nguyễn Văn A"):
    return idempotency.Request.of(username, key, {"route": "POST /api/v1/dossiers", "applicant": applicant})


def _dossiers(rt) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(func.count()).select_from(DossierRecord))


@pytest.fixture
def definition(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "five_steps")


def test_a_retry_with_the_same_key_gets_the_dossier_the_first_request_started(runtime, definition):
    start = _starter(runtime, definition)
    first = idempotency.once(runtime, _request(), start)
    again = idempotency.once(runtime, _request(), start)
    assert (first.status, first.replayed) == (201, False)
    assert (again.status, again.body, again.replayed) == (201, first.body, True) and _dossiers(runtime) == 1
    # Keys are per account, and no key means no replay.
    other = idempotency.once(runtime, _request(username="mot_cua_2"), start)
    assert other.body != first.body
    idempotency.once(runtime, None, start)
    assert _dossiers(runtime) == 3


def test_the_same_key_for_another_request_is_a_conflict_naming_the_header(runtime, definition):
    idempotency.once(runtime, _request(), _starter(runtime, definition))
    with pytest.raises(ConflictError, match="another request") as refused:
        idempotency.once(runtime, _request(applicant="Lê Văn C"), _starter(runtime, definition, "Lê Văn C"))
    assert refused.value.field == "Idempotency-Key" and _dossiers(runtime) == 1


def test_the_answer_lost_after_the_commit_is_replayed_and_the_dossier_is_not_started_again(runtime, definition):
    """The crash window of a key stored after the change: here the key commits with the dossier."""
    start = _starter(runtime, definition)

    def start_then_die(keep):
        start(keep)
        raise AnswerLost

    with pytest.raises(AnswerLost):
        idempotency.once(runtime, _request(), start_then_die)
    assert _dossiers(runtime) == 1
    retry = idempotency.once(runtime, _request(), start)
    assert retry.replayed and retry.status == 201 and _dossiers(runtime) == 1


#: A web process that starts a dossier with a key and is killed the moment the start commits.
_DIES_AFTER_THE_COMMIT = """
import os, sys
sys.path.insert(0, sys.argv[3])
from engine.clock import FrozenClock
from engine.services import dossiers, idempotency
from engine.services.runtime import Runtime
from engine.store.database import Database
from tests.conftest import vn
from tests.engine.test_idempotent_starts import _request, _starter

class Definition:
    id = int(sys.argv[2])

rt = Runtime(db=Database(sys.argv[1]), clock=FrozenClock(vn(2026, 3, 2, 8, 0)), worker_id="doomed")
idempotency.once(rt, _request(), lambda keep: (_starter(rt, Definition)(keep), os._exit(9)))
"""


def test_a_process_killed_right_after_the_start_commits_leaves_a_retry_the_same_dossier(runtime, definition):
    """The crash window for real: the process exits (no cleanup, no answer) after the commit."""
    root = Path(__file__).resolve().parents[2]
    died = subprocess.run(
        [sys.executable, "-c", _DIES_AFTER_THE_COMMIT, runtime.db.url, str(definition.id), str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert died.returncode == 9, died.stderr
    assert _dossiers(runtime) == 1
    retry = idempotency.once(runtime, _request(), _starter(runtime, definition))
    assert retry.replayed and retry.status == 201 and _dossiers(runtime) == 1


def test_a_start_that_fails_keeps_no_key(runtime, definition):
    def start_and_fail(keep):
        _starter(runtime, definition)(lambda status, reply: keep(status, lambda s, d: 1 / 0))

    with pytest.raises(ZeroDivisionError):
        idempotency.once(runtime, _request(), start_and_fail)
    assert _dossiers(runtime) == 0
    assert not idempotency.once(runtime, _request(), _starter(runtime, definition)).replayed


def test_a_copy_that_missed_the_key_has_its_start_undone_and_gets_the_first_answer(runtime, definition, monkeypatch):
    """The second copy looked before the first committed (it saw no key), started, and its commit
    was refused by the key: it answers with the first copy's dossier, and its own start is gone."""
    start = _starter(runtime, definition)
    first = idempotency.once(runtime, _request(), start)
    real_lookup, looks = idempotency.kept_answer, []

    def late_lookup(rt, request):
        looks.append(request.key)
        return None if len(looks) == 1 else real_lookup(rt, request)

    monkeypatch.setattr(idempotency, "kept_answer", late_lookup)
    second = idempotency.once(runtime, _request(), start)
    assert second.replayed and second.body == first.body and _dossiers(runtime) == 1


def test_copies_sent_at_the_same_moment_start_one_dossier(runtime, definition):
    start, answers, errors = _starter(runtime, definition), [], []
    barrier = threading.Barrier(3)

    def send():
        barrier.wait()
        try:
            answers.append(idempotency.once(runtime, _request(), start))
        except Exception as exc:  # noqa: BLE001  (asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and _dossiers(runtime) == 1
    assert len({a.body["code"] for a in answers}) == 1 and sorted(a.replayed for a in answers) == [False, True, True]
