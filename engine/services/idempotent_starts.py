"""API starts that may be sent twice: with an idempotency key, the second request (a retry after a
lost answer, or the same request racing itself) gets the dossier the first one started."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from engine.services.runtime import Runtime
from engine.store import idempotency_records
from engine.store.database import Session

T = TypeVar("T")
Remember = Callable[[Session, object], None]


def start_once(rt: Runtime, *, username: str, key: str | None, start: Callable[[Remember | None], T],
               replay: Callable[[int], T]) -> tuple[T, bool]:
    """`start(remember)` starts a dossier and calls `remember(session, dossier)` inside its
    transaction; `replay(dossier_id)` answers for a dossier already started with `key`. Returns
    the answer and whether this call started the dossier."""
    if key is None:
        return start(None), True
    earlier = _started_with(rt, username, key)
    if earlier is not None:
        return replay(earlier), False

    def remember(session: Session, dossier) -> None:
        idempotency_records.remember(session, username, key, dossier.id, rt.clock.now())

    try:
        return start(remember), True
    except Exception as exc:
        if not idempotency_records.is_key_taken(exc):
            raise
    # The same key committed first in a request running beside this one: its dossier is the answer.
    return replay(_started_with(rt, username, key)), False


def _started_with(rt: Runtime, username: str, key: str) -> int | None:
    with rt.db.read_session() as s:
        return idempotency_records.dossier_for(s, username, key)
