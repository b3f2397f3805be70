"""Idempotency keys: the work runs once per key, a repeat gets the stored answer, another request
under the key is a conflict, a request still being answered is a conflict, and a key whose request
died unanswered is free again after a while."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.domain.errors import ConflictError
from engine.services import idempotency


def test_same_key_same_request_runs_once_and_answers_the_same(runtime):
    calls = []

    def work():
        calls.append(1)
        return 200, {"n": len(calls)}

    first = idempotency.once(runtime, "a:k", {"x": 1}, work)
    again = idempotency.once(runtime, "a:k", {"x": 1}, work)

    assert (first.status, first.body, first.repeated) == (200, {"n": 1}, False)
    assert (again.status, again.body, again.repeated) == (200, {"n": 1}, True) and calls == [1]
    with pytest.raises(ConflictError, match="another request"):
        idempotency.once(runtime, "a:k", {"x": 2}, work)
    assert idempotency.once(runtime, "b:k", {"x": 1}, work).body == {"n": 2}  # keys are per caller


def test_a_request_in_progress_conflicts_and_an_abandoned_one_is_taken_over(runtime, clock):
    def dies():
        raise KeyboardInterrupt  # stands for a process killed mid-request... but the key is freed

    with pytest.raises(KeyboardInterrupt):
        idempotency.once(runtime, "a:k", {"x": 1}, dies)
    assert idempotency.once(runtime, "a:k", {"x": 1}, lambda: (200, {"ok": True})).body == {"ok": True}

    def nested():  # a second request with the key while the first is being answered
        with pytest.raises(ConflictError, match="still being answered"):
            idempotency.once(runtime, "a:z", {"x": 1}, lambda: (200, {}))
        return 200, {"first": True}

    assert idempotency.once(runtime, "a:z", {"x": 1}, nested).body == {"first": True}

    from engine.store.portal_records import claim_key
    with runtime.db.session() as s:  # a process that died between taking the key and answering
        claim_key(s, "a:dead", idempotency.fingerprint({"x": 1}), clock.now())
    with pytest.raises(ConflictError, match="still being answered"):
        idempotency.once(runtime, "a:dead", {"x": 1}, lambda: (200, {}))
    clock.advance(idempotency.ABANDONED_AFTER + timedelta(seconds=1))
    assert idempotency.once(runtime, "a:dead", {"x": 1}, lambda: (201, {"again": True})).status == 201
