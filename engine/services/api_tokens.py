"""API tokens for other systems: issued once, stored as a SHA-256, revoked by id, refused once
expired; the last time each was used is kept to the minute (a write per call would make every
read a write).

A token acts as an existing, active user: with that user's roles and unit, nothing more.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from weakref import WeakKeyDictionary

from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services.runtime import Runtime
from engine.store import account_records
from engine.store import deferred_begin
from engine.store.account_records import ApiTokenRecord
from engine.store.database import Connection
from engine.store.database import Database
from engine.store.database import is_postgres
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
    rt: Runtime,
    token: str,
    load: Callable[[Connection, Account], T] = lambda _c, account: account,
    *,
    checked_with_change: Callable[[T], bool] | None = None,
) -> T | None:
    """Who a valid token acts as, recording its use; None when it is unknown, revoked or expired,
    or its user is inactive. `load(connection, account)` turns the account into the caller's
    view of it on the same connection (a supervisor's communes are one more read).

    `checked_with_change(user)`, for a request that makes a change: whether that user may be
    kept in memory. A kept token's next such request (on PostgreSQL, its use recorded within the
    minute) is answered from memory while its lookup travels with the change's BEGIN, or is
    checked inside the change's first statement (a claim's, a start's, a completion's): one
    network wait less. The change hears it before it writes anything (TokenChanged when the token was
    taken away or its account changed meanwhile), and `settle` checks it when no change ran."""
    now = rt.clock.now()
    digest = account_records.token_digest(token)
    if checked_with_change is not None:
        kept = _kept(rt).get(digest)
        if kept is not None and not _use_to_record(kept.holder, now):
            _check_with_change(rt, now, digest, kept)
            return kept.user
    with rt.db.lookup_connection() as connection:  # one statement: the token with its user and unit
        found = account_records.token_holder(connection, token, now)
        if found is None:
            return None
        user = load(connection, found.account)
    if _use_to_record(found, now):
        with rt.db.session() as s:
            account_records.mark_used(s, found.token_id, now, not_since=now - USE_RESOLUTION)
        found = found._replace(last_used_at=now)
    if checked_with_change is not None and checked_with_change(user) and is_postgres(rt.db.engine):
        _keep(rt, digest, _Kept(found, user))
    return user


class TokenChanged(Exception):
    """The token a request was let in with, checked with its change, was taken away (`refused`:
    revoked, expired, its user inactive) or now acts as a changed account; nothing was written."""

    def __init__(self, refused: bool):
        super().__init__("the token was taken away" if refused else "the token's account changed")
        self.refused = refused


def settle(rt: Runtime | Callable[[], Runtime]) -> None:
    """Check now a kept token whose lookup has not travelled with a change (the request made
    none, or it failed first); raises TokenChanged. `rt` may be a function that gives the
    runtime, asked only when there is something to check (the web app's, behind its proxies)."""
    if deferred_begin.waiting_riders():
        runtime = rt if isinstance(rt, Runtime) else rt()
        with runtime.db.lookup_connection() as connection:
            deferred_begin.run_riders(connection)


def forget_unchecked() -> None:
    """A new request: nothing left of an earlier one's on this thread."""
    deferred_begin.drop_riders()


@dataclass(frozen=True)
class StatementCheck:
    """A kept token's check, taken off the change's BEGIN by a change of one statement that checks
    the token itself (`parameters`: account_records.token_still_held's) and sends its COMMIT with
    it (a claim): it writes nothing unless the token acts as the very account it was let in as."""

    parameters: dict
    riders: tuple[deferred_begin.Rider, ...]


def check_in_statement() -> StatementCheck | None:
    """This request's kept token's check, for the one statement of its change to make (None when
    none rides): the lookup no longer goes with the BEGIN. A statement that wrote nothing gives it
    back to `settle_unwritten`, which says whether the token is why."""
    riders = deferred_begin.waiting_riders()
    if len(riders) != 1 or riders[0].in_statement is None:  # the token's lookup is the one rider there is
        return None
    deferred_begin.drop_riders()
    return StatementCheck(riders[0].in_statement, riders)


def settle_unwritten(rt: Runtime, check: StatementCheck) -> None:
    """The statement that checked the token wrote nothing: the token's lookup, run now, raises
    TokenChanged when the token was taken away or its account changed (then that is the answer)."""
    for rider in check.riders:
        deferred_begin.ride_with_next_begin(rider)
    settle(rt)


@dataclass(frozen=True)
class _Kept:
    holder: account_records.TokenHolder
    user: object


#: Tokens kept per database (each process's web app has one): bounded, emptied when full.
_KEPT: WeakKeyDictionary[Database, dict[str, _Kept]] = WeakKeyDictionary()
KEPT_TOKENS = 4096


def _kept(rt: Runtime) -> dict[str, _Kept]:
    return _KEPT.setdefault(rt.db, {})


def _keep(rt: Runtime, digest: str, kept: _Kept) -> None:
    tokens = _kept(rt)
    if len(tokens) >= KEPT_TOKENS:
        tokens.clear()
    tokens[digest] = kept


def _use_to_record(holder: account_records.TokenHolder, now) -> bool:
    return holder.last_used_at is None or now - holder.last_used_at >= USE_RESOLUTION


def _check_with_change(rt: Runtime, now, digest: str, kept: _Kept) -> None:
    def heard(found: account_records.TokenHolder | None) -> None:
        if found is None or (found.token_id, found.account) != (kept.holder.token_id, kept.holder.account):
            _kept(rt).pop(digest, None)
            raise TokenChanged(refused=found is None)

    rider = account_records.token_holder_rider(rt.db.engine.dialect, digest, now, kept.holder, heard)
    deferred_begin.ride_with_next_begin(rider)


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
