"""A claim written as one guarded UPDATE ... RETURNING instead of a read and then a write.

The UPDATE takes the step only while nobody holds it, it is still open, its deadline is already set
and its dossier is running; it returns what the claim's answer shows, the dossier's code and the
dossier's audit chain head (read without a lock, as a change's first read reads it). Who may take
it (the unit, the role, who may see it) is checked by the caller on the returned row, before the
commit: a refusal then rolls the claim back. When no row comes back, the caller reads the step
the usual way, which names the reason (unknown, closed, already claimed, dossier stopped) or, for
a step whose deadline starts at its claim, claims it the long way.

Run on the driver's cursor (engine.store.driver_writes), inside the claim's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from typing import cast

from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import Connection

from engine.domain.model import RunState
from engine.domain.model import WorkItemState
from engine.store.driver_writes import DriverWrite
from engine.store.records import AuditChainRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

_ITEM = cast(Table, WorkItemRecord.__table__)
_DOSSIER = DossierRecord.__table__
_HEADS = AuditChainRecord.__table__


class ClaimedStep(NamedTuple):
    """A step as its claim left it: the columns the claim's answer shows, with its dossier's code."""

    id: int
    dossier_id: int
    dossier_code: str
    element_id: str
    name: str
    role: str | None
    unit_code: str
    state: str
    assignee: str | None
    owner: str | None
    delegation_state: str | None
    priority: int
    form_key: str | None
    created_at: datetime
    claimed_at: datetime | None
    warn_at: datetime | None
    due_at: datetime | None
    version: int

    @classmethod
    def of(cls, item: WorkItemRecord, dossier_code: str) -> ClaimedStep:
        """The same from a work item's row (a claim written through the ORM)."""
        return cls(
            **{name: getattr(item, name) for name in cls._fields if name != "dossier_code"},
            dossier_code=dossier_code,
        )


class Claim(NamedTuple):
    """What a guarded claim wrote, and the dossier's audit chain head when it has one."""

    step: ClaimedStep
    head: tuple[str, int] | None


def _dossier(column):
    return select(column).where(_DOSSIER.c.id == _ITEM.c.dossier_id).scalar_subquery()


def _head(column):
    return select(column).where(_HEADS.c.chain_key == _ITEM.c.dossier_id).scalar_subquery()


_RETURNED_NAMES = [name for name in ClaimedStep._fields if name != "dossier_code"]
_RETURNED = [_ITEM.c[name] for name in _RETURNED_NAMES]
_GUARDED_CLAIM = DriverWrite(
    update(_ITEM)
    .where(
        _ITEM.c.id == bindparam("item_id"),
        _ITEM.c.assignee.is_(None),
        _ITEM.c.state == WorkItemState.OPEN.value,
        _ITEM.c.due_at.is_not(None),  # a step whose deadline starts at its claim: set the long way
        # Its dossier's state read by its key: written as EXISTS, PostgreSQL made it a semi-join
        # and, without statistics (no ANALYZE yet), scanned every running dossier's entry of the
        # open-appointment index for the one it needed.
        _dossier(_DOSSIER.c.run_state) == RunState.RUNNING.value,
    )
    .values(
        assignee=bindparam("username"),
        state=WorkItemState.CLAIMED.value,
        claimed_at=bindparam("now", type_=_ITEM.c.claimed_at.type),
        version=_ITEM.c.version + 1,
    )
    .returning(
        *_RETURNED,
        _dossier(_DOSSIER.c.code).label("dossier_code"),
        _head(_HEADS.c.last_hash).label("head_hash"),
        _head(_HEADS.c.length).label("head_length"),
    )
)


def claim_if_free(connection: Connection, item_id: int, username: str, now: datetime) -> Claim | None:
    """Claim the step for `username` at `now` if it is open, unheld, has its deadline and its
    dossier runs; None (nothing written) otherwise."""
    row = _GUARDED_CLAIM.returned(connection, {"item_id": item_id, "username": username, "now": now})
    if row is None:
        return None
    *columns, dossier_code, head_hash, head_length = row
    fields = dict(zip(_RETURNED_NAMES, columns, strict=True))
    # `now` as given rather than as the database gives it back: the answer shows the instant the
    # clock gave, as a claim written through the ORM did.
    step = ClaimedStep(**fields, dossier_code=dossier_code)._replace(claimed_at=now)
    return Claim(step, None if head_length is None else (head_hash, head_length))
