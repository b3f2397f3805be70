"""The unit of work every write goes through: one change, one transaction. Audit events recorded
anywhere inside it are written before its commit (never lost, never written for a change that
rolled back), and a person's change that lost an optimistic-lock race is run again from a fresh
read (docs/architecture.md, "The transaction rule")."""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from typing import ParamSpec
from typing import TypeVar

from engine.domain.errors import LostRace
from engine.services import audit
from engine.services.runtime import Runtime
from engine.store.database import Connection
from engine.store.database import Session

P = ParamSpec("P")
R = TypeVar("R")


#: How many times a change that lost a race to a concurrent write is run again from a fresh read.
RACE_ATTEMPTS = 4


def transaction(rt: Runtime) -> AbstractContextManager[Session]:
    """One change, one transaction; optimistic-lock failures become LostRace (a ConflictError)."""
    return rt.db.session(before_commit=audit.write_pending)


@contextmanager
def session_in(rt: Runtime, connection: Connection) -> Iterator[Session]:
    """The unit of work of a change run on a connection (`rt.db.change()`) where it needs the ORM:
    a session joined to its transaction, whose audit events are written before its commit."""
    with rt.db.session_on(connection) as session:
        yield session
        audit.write_pending(session)


def retried_on_race(use_case: Callable[P, R]) -> Callable[P, R]:
    """Run a person's change again from a fresh read when its write lost a race (another
    transaction, often the worker firing a timer, changed the dossier between this change's read
    and its write). Each run re-checks what the person acted on (the step's version and state), so
    a real conflict between two people still ends in the clear 409, while writes that do not touch
    what they saw never refuse them."""

    @functools.wraps(use_case)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                return use_case(*args, **kwargs)
            except LostRace:
                if attempt == RACE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    return run
