"""Who may act on a work item: pure predicates over plain values."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from engine.domain.errors import Reason

#: Roles that may act across their unit's work items (reassign, act for others).
SUPERVISING_ROLES = frozenset({"lanh_dao", "leader", "supervisor", "admin", "administrator"})


@dataclass(frozen=True)
class Actor:
    """The person (or system) doing something, as the engine sees them."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    unit_code: str | None = None
    on_behalf_of: str | None = None
    supervised_units: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls) -> "Actor":
        return cls("system", frozenset({"system"}))

    @property
    def is_system(self) -> bool:
        return self.username == "system"

    def works_in(self, unit_code: str) -> bool:
        return self.is_system or self.unit_code == unit_code or unit_code in self.supervised_units

    def is_supervising(self) -> bool:
        return bool(self.roles & SUPERVISING_ROLES)


def refusal_to_work(actor: Actor, *, unit_code: str, role: str | None, assignee: str | None) -> Reason | None:
    """Why `actor` may not complete this item, or None when they may."""
    if actor.is_system:
        return None
    if not actor.works_in(unit_code):
        return Reason.of("%(user)s does not work in unit %(unit)s", user=actor.username, unit=unit_code)
    if assignee is not None:
        if assignee == actor.username or (actor.on_behalf_of and assignee == actor.on_behalf_of):
            return None
        return Reason.of("the step is assigned to %(user)s", user=assignee)
    if role is None or role in actor.roles:
        return None
    if not actor.roles:
        return Reason.of("the step needs role '%(role)s'; %(user)s has no role", role=role, user=actor.username)
    return Reason.of("the step needs role '%(role)s'; %(user)s has %(roles)s",
                     role=role, user=actor.username, roles=", ".join(sorted(actor.roles)))


def refusal_to_claim(actor: Actor, *, unit_code: str, role: str | None, assignee: str | None) -> Reason | None:
    if assignee is not None:
        return Reason.of("already claimed by %(user)s", user=assignee)
    return refusal_to_work(actor, unit_code=unit_code, role=role, assignee=None)
