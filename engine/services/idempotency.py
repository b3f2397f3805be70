"""Idempotency keys for requests other systems send (an agency's system moving a dossier on):
the same key with the same request does the work once and gets the same answer again; the same
key with another request is a conflict; a request still being answered is a conflict too."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from engine.domain.errors import ConflictError
from engine.services.runtime import Runtime
from engine.store import portal_records
from engine.store.portal_records import IdempotentRequestRecord

#: A key taken by a request that never stored its answer (its process died) is free again after this.
ABANDONED_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    repeated: bool = False


def fingerprint(request: Mapping) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def once(rt: Runtime, key: str, request: Mapping, work: Callable[[], tuple[int, dict]]) -> Answer:
    """Run `work` (which answers (status, body)) once for `key`, and answer repeats from the record."""
    digest = fingerprint(request)
    with rt.db.session() as s:
        claimed = portal_records.claim_key(s, key, digest, rt.clock.now())
        if not claimed:
            kept = s.get(IdempotentRequestRecord, key)
            if kept.fingerprint != digest:
                raise ConflictError("idempotency key %(key)s was used for another request", field="Idempotency-Key",
                                    key=key.split(":", 1)[-1])
            abandoned = kept.status_code == 0 and rt.clock.now() - kept.created_at > ABANDONED_AFTER
            if abandoned and portal_records.reclaim_key(s, key, kept.created_at, rt.clock.now()):
                pass  # ours now: answered below
            elif kept.status_code == 0:
                raise ConflictError("the request with idempotency key %(key)s is still being answered",
                                    field="Idempotency-Key", key=key.split(":", 1)[-1])
            else:
                return Answer(kept.status_code, dict(kept.answer), repeated=True)
    try:
        status, body = work()
    except BaseException:
        with rt.db.session() as s:  # not answered: the key is free for the caller to try again
            row = s.get(IdempotentRequestRecord, key)
            if row is not None:
                s.delete(row)
        raise
    with rt.db.session() as s:
        row = s.get(IdempotentRequestRecord, key)
        row.status_code, row.answer = status, body
    return Answer(status, body)
