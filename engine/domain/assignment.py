"""Who may act on a work item: pure rules over plain values, the one place they are written.

The services raise what these return; the desk asks `offered_actions` which buttons to show, so a
button is offered exactly when the engine would accept the action."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from engine.domain.errors import EngineError
from engine.domain.errors import InvalidAction
from engine.domain.errors import PermissionDenied
from engine.domain.errors import Reason
from engine.domain.model import DelegationState

#: Roles that may act across their unit's work items (reassign, act for others).
SUPERVISING_ROLES = frozenset({"lanh_dao", "leader", "supervisor", "admin", "administrator"})
#: A delegated step's state, read once: an enum member's `.value` is two Python calls.
_PENDING = DelegationState.PENDING.value


@dataclass(frozen=True)
class Actor:
    """The person (or system) doing something, as the engine sees them."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    unit_code: str | None = None
    on_behalf_of: str | None = None
    supervised_units: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls) -> Actor:
        return cls("system", frozenset({"system"}))

    @property
    def is_system(self) -> bool:
        return self.username == "system"

    def works_in(self, unit_code: str) -> bool:
        return self.is_system or self.unit_code == unit_code or unit_code in self.supervised_units

    def is_supervising(self) -> bool:
        return bool(self.roles & SUPERVISING_ROLES)

    def leads(self, unit_code: str) -> bool:
        return self.is_supervising() and self.works_in(unit_code)

    def may_see_dossier(self, unit_code: str, received_unit: str | None) -> bool:
        """Officers and supervisors of the dossier's unit, and the one-stop office that received it
        for another commune of the province (Decree 118), which follows it up and returns its result."""
        return self.works_in(unit_code) or (received_unit is not None and received_unit == self.unit_code)

    def may_stop_dossier(self, unit_code: str) -> bool:
        """The one-stop desk or a leader of the dossier's unit (a stop notice is theirs to sign)."""
        return self.is_system or (self.works_in(unit_code) and (self.is_supervising() or "mot_cua" in self.roles))


@dataclass(frozen=True)
class StepHolding:
    """Who holds a step now (a work item's columns) — what the rules below read."""

    unit_code: str
    role: str | None
    assignee: str | None
    owner: str | None = None
    delegation_state: str | None = None

    @classmethod
    def of(cls, item) -> StepHolding:
        return cls(item.unit_code, item.role, item.assignee, item.owner, item.delegation_state)

    @property
    def delegated(self) -> bool:
        return self.delegation_state == _PENDING


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
    return Reason.of(
        "the step needs role '%(role)s'; %(user)s has %(roles)s",
        role=role,
        user=actor.username,
        roles=", ".join(sorted(actor.roles)),
    )


def refusal_to_complete(actor: Actor, step: StepHolding) -> EngineError | None:
    """Completing (or returning) a step: its assignee, or anyone of its role while it is in the pool."""
    reason = refusal_to_work(actor, unit_code=step.unit_code, role=step.role, assignee=step.assignee)
    if reason:
        return PermissionDenied.because(reason)
    if step.delegated:
        return PermissionDenied(
            "the step is delegated to %(user)s; it must be resolved back to %(owner)s first",
            user=step.assignee,
            owner=step.owner,
        )
    return None


def refusal_to_claim(actor: Actor, step: StepHolding) -> EngineError | None:
    if step.assignee is not None:
        return InvalidAction("already claimed by %(user)s", user=step.assignee)
    reason = refusal_to_work(actor, unit_code=step.unit_code, role=step.role, assignee=None)
    return PermissionDenied.because(reason) if reason else None


def refusal_to_release(actor: Actor, step: StepHolding) -> EngineError | None:
    """Putting a claimed step back in its role's pool: its assignee or a leader of its unit."""
    if step.assignee is None:
        return InvalidAction("the step is not claimed")
    if step.delegated:
        return InvalidAction(
            "the step is delegated to %(user)s; it must be resolved back to %(owner)s first",
            user=step.assignee,
            owner=step.owner,
        )
    if step.assignee != actor.username and not actor.leads(step.unit_code):
        return PermissionDenied("only %(user)s or a leader may release this step", user=step.assignee)
    return None


def refusal_to_delegate(actor: Actor, step: StepHolding) -> EngineError | None:
    if step.assignee is None:
        return InvalidAction("the step is not assigned to anyone; claim it before delegating")
    if step.delegated:
        return InvalidAction("the step is already delegated to %(user)s; it must be resolved first", user=step.assignee)
    if actor.username != step.assignee and not actor.leads(step.unit_code):
        return PermissionDenied(
            "only %(user)s or a leader of unit %(unit)s may delegate this step", user=step.assignee, unit=step.unit_code
        )
    return None


def refusal_to_resolve(actor: Actor, step: StepHolding) -> EngineError | None:
    """Handing a delegated step back to its owner: only the delegate."""
    if not step.delegated or not step.owner:
        return InvalidAction("the step is not delegated; there is nothing to resolve")
    if actor.username != step.assignee:
        return PermissionDenied("only the delegate %(user)s may resolve this step", user=step.assignee)
    return None


def refusal_to_reassign(actor: Actor, step: StepHolding) -> EngineError | None:
    if not actor.leads(step.unit_code):
        return PermissionDenied("only a leader of unit %(unit)s may reassign this step", unit=step.unit_code)
    return None


_ACTIONS = {
    "complete": refusal_to_complete,
    "claim": refusal_to_claim,
    "unclaim": refusal_to_release,
    "delegate": refusal_to_delegate,
    "resolve": refusal_to_resolve,
    "reassign": refusal_to_reassign,
}


def offered_actions(actor: Actor, step: StepHolding) -> dict[str, bool]:
    """Which actions on an open step the engine would accept from `actor`."""
    return {name: rule(actor, step) is None for name, rule in _ACTIONS.items()}
