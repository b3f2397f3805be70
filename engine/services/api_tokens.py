"""API tokens for other systems: issued once, stored as a SHA-256, revoked by id.

A token acts as an existing, active user: with that user's roles and unit, nothing more.
"""

from __future__ import annotations

import secrets

from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services.runtime import Runtime
from engine.store import account_records
from engine.store import api_queries
from engine.store.account_records import ApiTokenRecord
from engine.store.records import UserRecord

TOKEN_BYTES = 32  # 256 bits of randomness; secrets.token_urlsafe makes ~43 characters of it


def issue(rt: Runtime, *, username: str, name: str) -> tuple[ApiTokenRecord, str]:
    """A new token for `username`; the clear text is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise InvalidAction("a token needs a name saying which system uses it", field="name")
    if len(name) > 120:
        raise InvalidAction("the name is longer than 120 characters", field="name")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with rt.db.session() as s:
        user = s.get(UserRecord, username)
        if user is None:
            raise NotFound("unknown user '%(user)s'", field="user", user=username)
        if not user.active:
            raise InvalidAction("%(user)s is not an active user", field="user", user=username)
        record = account_records.add_token(s, name=name, token=token, username=username, at=rt.clock.now())
        s.flush()
        return record, token


def all_tokens(rt: Runtime) -> list[ApiTokenRecord]:
    with rt.db.read_session() as s:
        return api_queries.api_tokens(s)


def revoke(rt: Runtime, token_id: int) -> None:
    with rt.db.session() as s:
        if not api_queries.revoke_token(s, token_id):
            raise NotFound("no API token with id %(id)s", field="id", id=token_id)
