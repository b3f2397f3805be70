"""What an administrator changes: accounts (who works where, with which roles) and the days of
a calendar. Every change is checked first, written whole or not at all, and audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from engine.calendars import OVERRIDE_KINDS
from engine.domain.assignment import Actor
from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.domain.errors import PermissionDenied
from engine.services import audit
from engine.services.runtime import Runtime
from engine.services.unit_of_work import transaction
from engine.store import calendar_records
from engine.store.calendar_records import CalendarOverrideRecord
from engine.store.records import UnitRecord
from engine.store.records import UserRecord

USERNAME = re.compile(r"^[a-z0-9_.]{3,80}$")
ROLE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
ADMIN_ROLES = frozenset({"admin"})


@dataclass(frozen=True)
class Account:
    username: str
    full_name: str
    unit_code: str | None
    roles: tuple[str, ...]
    email: str | None = None
    phone: str | None = None
    active: bool = True


def create_user(rt: Runtime, actor: Actor, account: Account, password_hash: str) -> UserRecord:
    _check_admin(actor)
    if not USERNAME.match(account.username):
        raise InvalidAction(
            "a user name is 3 to 80 lower-case letters without accents, digits, dots or underscores", field="username"
        )
    with transaction(rt) as s:
        if s.get(UserRecord, account.username) is not None:
            raise InvalidAction("the user name %(user)s is taken", field="username", user=account.username)
        _check_account(s, account)
        user = UserRecord(username=account.username, password_hash=password_hash)
        _apply(user, account)
        s.add(user)
        audit.record(
            s,
            at=rt.clock.now(),
            action="user.create",
            actor=actor,
            receiver=account.username,
            unit_code=account.unit_code,
            roles=" ".join(account.roles),
        )
        return user


def update_user(rt: Runtime, actor: Actor, account: Account, password_hash: str | None = None) -> UserRecord:
    _check_admin(actor)
    with transaction(rt) as s:
        user = s.get(UserRecord, account.username)
        if user is None:
            raise NotFound("unknown user '%(user)s'", field="username", user=account.username)
        _check_account(s, account)
        if actor.username == user.username and not (set(account.roles) & ADMIN_ROLES and account.active):
            raise InvalidAction("you cannot remove your own administrator role or lock your own account", field="roles")
        _apply(user, account)
        if password_hash:
            user.password_hash = password_hash
        if password_hash or not account.active:
            user.auth_epoch = (user.auth_epoch or 0) + 1  # sessions signed in with the old password end
        audit.record(
            s,
            at=rt.clock.now(),
            action="user.update",
            actor=actor,
            receiver=account.username,
            unit_code=account.unit_code,
            roles=" ".join(account.roles),
            active=account.active,
            password_changed=bool(password_hash) or None,
        )
        return user


def add_calendar_days(
    rt: Runtime, actor: Actor, *, calendar_code: str, date_from: date, date_to: date, kind: str, note: str
) -> CalendarOverrideRecord:
    """Days off or make-up working days for a calendar ('VN', a province or a unit); a swap is
    one of each. Appointments computed from now on use them."""
    _check_admin(actor)
    with transaction(rt) as s:
        if calendar_code != "VN" and s.get(UnitRecord, calendar_code) is None:
            raise NotFound("unknown unit '%(unit)s'", field="calendar_code", unit=calendar_code)
        _check_calendar_days(date_from, date_to, kind, note)
        record = calendar_records.add_override(
            s,
            calendar_code=calendar_code,
            date_from=date_from,
            date_to=date_to,
            kind=kind,
            note=note,
            created_by=actor.username,
            now=rt.clock.now(),
        )
        audit.record(
            s,
            at=rt.clock.now(),
            action="calendar.add",
            actor=actor,
            calendar_code=calendar_code,
            date_from=date_from.isoformat(),
            date_to=date_to.isoformat(),
            kind=kind,
            note=note,
        )
    rt.calendars.invalidate()
    return record


def remove_calendar_day(rt: Runtime, actor: Actor, override_id: int) -> CalendarOverrideRecord:
    _check_admin(actor)
    with transaction(rt) as s:
        try:
            record = calendar_records.delete_override(s, override_id, rt.clock.now())
        except LookupError:
            raise NotFound("no calendar change with id %(id)s", id=override_id) from None
        audit.record(
            s,
            at=rt.clock.now(),
            action="calendar.remove",
            actor=actor,
            calendar_code=record.calendar_code,
            date_from=record.date_from.isoformat(),
            date_to=record.date_to.isoformat(),
            kind=record.kind,
            note=record.note,
        )
    rt.calendars.invalidate()
    return record


def _check_admin(actor: Actor) -> None:
    if not actor.roles & ADMIN_ROLES:
        raise PermissionDenied("%(user)s is not an administrator", user=actor.username)


def _check_calendar_days(date_from: date, date_to: date, kind: str, note: str) -> None:
    if kind not in OVERRIDE_KINDS:
        raise InvalidAction(
            "the kind of day must be one of %(kinds)s, not '%(kind)s'",
            field="kind",
            kinds=", ".join(OVERRIDE_KINDS),
            kind=kind,
        )
    if date_to < date_from:
        raise InvalidAction(
            "the period ends (%(end)s) before it starts (%(start)s)", field="date_to", end=date_to, start=date_from
        )
    if not note.strip():
        raise InvalidAction("say why (the announcement or decision), so the appointment can be explained", field="note")


#: The longest value each account column holds (PostgreSQL refuses longer ones with an error).
ACCOUNT_LIMITS = {"full_name": 200, "email": 200, "phone": 40}


def _check_account(s, account: Account) -> None:
    for name, limit in ACCOUNT_LIMITS.items():
        if len(getattr(account, name) or "") > limit:
            raise InvalidAction("%(name)s is longer than %(limit)s characters", field=name, name=name, limit=limit)
    if not account.full_name.strip():
        raise InvalidAction("enter the full name", field="full_name")
    if not account.roles:
        raise InvalidAction("choose at least one role", field="roles")
    bad = [r for r in account.roles if not ROLE.match(r)]
    if bad:
        raise InvalidAction("not a valid role: %(roles)s", field="roles", roles=", ".join(bad))
    if account.unit_code and s.get(UnitRecord, account.unit_code) is None:
        raise NotFound("unknown unit '%(unit)s'", field="unit_code", unit=account.unit_code)


def _apply(user: UserRecord, account: Account) -> None:
    user.full_name = account.full_name.strip()
    user.unit_code = account.unit_code or None
    user.roles = " ".join(sorted(set(account.roles)))
    user.email = account.email or None
    user.phone = account.phone or None
    user.active = account.active
