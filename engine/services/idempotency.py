"""Idempotency keys of the API's changes (a start, a step claimed or completed, another agency's
message or signal): the key, a hash of the request and the answer are written in the transaction
of the change they guard. A key therefore exists exactly when its change committed: a retry after
a lost answer gets that answer again and the change is never made twice; the same key with
another request is a conflict."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.domain.errors import ConflictError
from engine.services.runtime import Runtime
from engine.store import deferred_begin
from engine.store import idempotency_records
from engine.store.database import Connection
from engine.store.database import Session
from engine.store.database import is_postgres

KEY_MAX = idempotency_records.KEY_MAX

#: Builds the JSON body of the caller's answer from the changed row, inside the change's transaction.
#: The change's session, or the connection of a change run without one (a claim: engine.services.dossiers).
Reply = Callable[[Any, object], dict]


@dataclass(frozen=True)
class Request:
    """A request sent with an Idempotency-Key: whose key it is, and a hash of what was asked."""

    caller: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, caller: str, key: str, asked: Mapping) -> Request:
        """`asked` holds everything that makes two requests the same (route, target, body)."""
        text = json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)
        return cls(caller, key, hashlib.sha256(text.encode()).hexdigest())


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool = False


#: Given to a change: keep(status, reply) is the `answer=` a dossier service builds its reply with.
Keep = Callable[[int, Reply], Callable[[Any, object], Answer]]


def once(
    rt: Runtime, request: Request | None, change: Callable[[Keep], Answer], *, lookup_rides: bool = False
) -> Answer:
    """Make `change(keep)` once per request: it passes `keep(status, reply)` as the `answer` of a
    dossier service (engine.services.dossiers), which then returns the Answer and, with a key,
    writes the key in the change's own transaction. A request whose key is kept gets the kept
    answer, replayed, and changes nothing.

    `lookup_rides`: the change's first word to the database is a statement (a claim's), whatever
    the request: on PostgreSQL the key's lookup travels with its BEGIN instead of alone before
    it (one network wait less), and a kept key rolls the change back before its answer."""

    def keep(status: int, reply: Reply) -> Callable[[Any, object], Answer]:
        def answer(where: Session | Connection, changed) -> Answer:
            body = reply(where, changed)
            if request is not None:
                idempotency_records.remember(
                    where,
                    caller=request.caller,
                    key=request.key,
                    fingerprint=request.fingerprint,
                    status_code=status,
                    answer=body,
                    now=rt.clock.now(),
                )
            return Answer(status, body)

        return answer

    if request is None:
        return change(keep)
    rider = _lookup_riding(rt, request) if lookup_rides and is_postgres(rt.db.engine) else None
    if rider is None:
        earlier = kept_answer(rt, request)
        if earlier is not None:
            return earlier
    try:
        return change(keep)
    except _Replayed as replayed:
        return replayed.answer
    except Exception:
        # A copy of this request running beside it committed first: this change was rolled back
        # (its key collided, or the copy's change made it impossible) and the copy's answer is ours.
        earlier = kept_answer(rt, request)
        if earlier is None:
            raise
        return earlier
    finally:
        if rider is not None:
            deferred_begin.drop_rider(rider)  # not heard when the change failed before its first statement


def kept_answer(rt: Runtime, request: Request) -> Answer | None:
    """The answer kept for the request's key (None when no change committed under it); the key
    kept for another request is a ConflictError naming the Idempotency-Key."""
    with rt.db.lookup_connection() as connection:  # one statement, no transaction around it
        return _answer_kept(idempotency_records.kept(connection, request.caller, request.key), request)


def _answer_kept(row, request: Request) -> Answer | None:
    if row is None:
        return None
    if row.fingerprint != request.fingerprint:
        raise ConflictError(
            "idempotency key %(key)s was used for another request", field="Idempotency-Key", key=request.key
        )
    return Answer(row.status_code, dict(row.answer), replayed=True)


class _Replayed(Exception):
    """The key's lookup, heard inside the change, found its answer kept: the change rolls back."""

    def __init__(self, answer: Answer):
        super().__init__("the request's Idempotency-Key is kept")
        self.answer = answer


def _lookup_riding(rt: Runtime, request: Request) -> deferred_begin.Rider:
    def heard(row) -> None:
        answer = _answer_kept(row, request)  # the key kept for another request: its ConflictError
        if answer is not None:
            raise _Replayed(answer)

    rider = idempotency_records.kept_rider(rt.db.engine.dialect, request.caller, request.key, heard)
    deferred_begin.ride_with_next_begin(rider)
    return rider
