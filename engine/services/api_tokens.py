"""API tokens for other systems: issued once, stored as a SHA-256, revoked by id, refused once
expired; the last time each was used is kept to the minute (a write per call would make every
read a write).

A token acts as an existing, active user: with that user's roles and unit, nothing more.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services.runtime import Runtime
from engine.store import account_records
from engine.store.account_records import ApiTokenRecord
from engine.store.database import Connection
from engine.store.people_queries import Account
from engine.store.records import UserRecord

T = TypeVar("T")

TOKEN_BYTES = 32  # 256 bits of randomness; secrets.token_urlsafe makes ~43 characters of it
DEFAULT_LIFETIME = "90d"
MAX_LIFETIME = timedelta(days=730)
#: A use is recorded when the last recorded one is older than this.
USE_RESOLUTION = timedelta(minutes=1)
_LIFETIME = re.compile(r"^\s*(\d{1,6})\s*([dh])\s*$")


def lifetime(text: str) -> timedelta:
    """`90d` or `12h`: how long a new token stays valid (at most two years)."""
    match = _LIFETIME.match(text or "")
    if match is None:
        raise InvalidAction(
            "a token's lifetime is a number of days or hours, e.g. 90d or 12h, not '%(value)s'",
            field="expires_in",
            value=text,
        )
    amount, unit = int(match.group(1)), match.group(2)
    span = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
    if not timedelta(0) < span <= MAX_LIFETIME:
        raise InvalidAction(
            "a token's lifetime is between 1 hour and %(days)s days", field="expires_in", days=MAX_LIFETIME.days
        )
    return span


def authenticate(
    rt: Runtime, token: str, load: Callable[[Connection, Account], T] = lambda _c, account: account
) -> T | None:
    """Who a valid token acts as, recording its use; None when it is unknown, revoked or expired,
    or its user is inactive. `load(connection, account)` turns the account into the caller's
    view of it on the same connection (a supervisor's communes are one more read)."""
    now = rt.clock.now()
    with rt.db.lookup_connection() as connection:  # one statement: the token with its user and unit
        found = account_records.token_holder(connection, token, now)
        if found is None:
            return None
        user = load(connection, found.account)
    if found.last_used_at is None or now - found.last_used_at >= USE_RESOLUTION:
        with rt.db.session() as s:
            account_records.mark_used(s, found.token_id, now, not_since=now - USE_RESOLUTION)
    return user


def issue(rt: Runtime, *, username: str, name: str, expires_in: str = DEFAULT_LIFETIME) -> tuple[ApiTokenRecord, str]:
    """A new token for `username`, valid for `expires_in`; the clear text is returned once and never stored."""
    span = lifetime(expires_in)
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
        now = rt.clock.now()
        record = account_records.add_token(s, name=name, token=token, username=username, at=now, expires_at=now + span)
        s.flush()
        return record, token


def all_tokens(rt: Runtime) -> list[ApiTokenRecord]:
    with rt.db.read_session() as s:
        return account_records.api_tokens(s)


def revoke(rt: Runtime, token_id: int) -> None:
    with rt.db.session() as s:
        if not account_records.revoke_token(s, token_id):
            raise NotFound("no API token with id %(id)s", field="id", id=token_id)
