"""Who is signed in, what they may see, and the decorators views use to say so.

Roles: the product roles `modeller`, `supervisor`, `admin`; every other role is a process role
held in a unit (`mot_cua` reception, `chuyen_vien` specialist, `lanh_dao` leader, ...). A
supervisor or administrator whose unit is a province supervises every commune of it."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from functools import wraps

from flask import abort
from flask import request
from flask_login import current_user

from engine import logs
from engine.domain.assignment import Actor
from engine.store import people_queries
from engine.store import queries
from engine.store.people_queries import Account
from web.extensions import login_manager
from web.wiring import runtime

PRODUCT_ROLES = frozenset({"modeller", "supervisor", "admin"})
SUPERVISORS = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class SignedInUser:
    """The Flask-Login user: a snapshot of the account taken when the request began."""

    username: str
    full_name: str
    roles: frozenset[str]
    unit_code: str | None
    unit_name: str | None = None
    supervised_units: frozenset[str] = field(default_factory=frozenset)
    auth_epoch: int = 0

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        """What the session keeps: the user name and the account's epoch when it signed in."""
        return f"{self.username}:{self.auth_epoch}"

    @property
    def process_roles(self) -> frozenset[str]:
        return self.roles - PRODUCT_ROLES

    @property
    def is_clerk(self) -> bool:
        return bool(self.process_roles) and self.unit_code is not None

    @property
    def is_supervisor(self) -> bool:
        return bool(self.roles & SUPERVISORS)

    @property
    def is_modeller(self) -> bool:
        return bool(self.roles & {"modeller", "admin"})

    def may_see_unit(self, unit_code: str) -> bool:
        return unit_code == self.unit_code or unit_code in self.supervised_units

    def actor(self, on_behalf_of: str | None = None) -> Actor:
        return Actor(
            self.username, self.roles, self.unit_code, on_behalf_of=on_behalf_of, supervised_units=self.supervised_units
        )


def load_user(connection, username: str) -> SignedInUser | None:
    account = people_queries.active_account(connection, username)
    return user_of(connection, account) if account is not None else None


def user_of(connection, account: Account) -> SignedInUser:
    """The signed-in view of an active account; a supervisor's communes are read with it (a Core
    connection answers `scalars` as a session does)."""
    roles = frozenset(account.roles.split())
    supervised: frozenset[str] = frozenset()
    if roles & SUPERVISORS and account.unit_code is not None:
        supervised = frozenset(queries.commune_codes(connection, account.unit_code))
    return SignedInUser(
        account.username,
        account.full_name,
        roles,
        account.unit_code,
        account.unit_name,
        supervised,
        account.auth_epoch,
    )


def load_signed_in_user(username: str) -> SignedInUser | None:
    with runtime().db.lookup_connection() as connection:
        user = load_user(connection, username)
    if user is not None:  # the request's log lines name who acted, and in which unit
        logs.user.set(user.username)
        logs.unit.set(user.unit_code)
    return user


@login_manager.user_loader
def _load_session_user(session_id: str) -> SignedInUser | None:
    """The session's user, unless the account signed out or changed its password since (a copied
    cookie dies with the session it was copied from)."""
    username, _, epoch = session_id.rpartition(":")
    user = load_signed_in_user(username) if username and epoch.isdigit() else None
    return user if user is not None and user.auth_epoch == int(epoch) else None


def roles_required(check):
    """Views for signed-in users for whom `check(user)` holds; others get 403 with the reason."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not check(current_user):
                abort(403, description="Tài khoản của bạn không có quyền dùng chức năng này.")
            return view(*args, **kwargs)

        return guarded

    return decorate


clerk_required = roles_required(lambda u: u.is_clerk)
supervisor_required = roles_required(lambda u: u.is_supervisor)
modeller_required = roles_required(lambda u: u.is_modeller)
admin_required = roles_required(lambda u: "admin" in u.roles)


def client_address() -> str:
    """The caller's address; behind a proxy set MOTCUA_TRUSTED_PROXY so X-Forwarded-For counts."""
    return request.remote_addr or "unknown"
