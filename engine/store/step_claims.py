"""A claim written as one guarded UPDATE ... RETURNING instead of a read and then a write.

The UPDATE takes the step only while nobody holds it, it is still open, its deadline is already set
and its dossier is running; it returns what the claim's answer shows and the dossier's code. When
no row comes back, the caller reads the step the usual way, which names the reason (unknown, closed,
already claimed, dossier stopped, not theirs to take) or, for a step whose deadline starts at its
claim, claims it the long way.

On PostgreSQL the same statement checks who may take the step (`Taker`: the units the person works
in, a role they hold) and, given, that the request's token still acts as the account it was let in
as (engine.store.account_records.token_still_held), and writes the claim's audit event, linked to
the dossier's chain head, which it locks and moves on; the event's hash is made by the database
from the event's canonical text cut around the four values only the row knows
(engine.domain.audit_chain.canonical_around). Every check being the statement's, a claim whose
answer writes nothing more sends its COMMIT with it: one network wait (engine.store.deferred_begin).
On SQLite the statement returns the head as read, the caller links the event from it and checks who
may take the step on the returned row, before the commit: a refusal then rolls the claim back.

Run on the driver's cursor (engine.store.driver_writes), inside the claim's transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from typing import NamedTuple
from typing import cast

from sqlalchemy import Boolean
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import cast as sql_cast
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import null
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql import Update

from engine.domain.audit_chain import canonical_around
from engine.domain.model import OPEN_STATES
from engine.domain.model import DelegationState
from engine.domain.model import RunState
from engine.domain.model import WorkItemState
from engine.store import deferred_begin
from engine.store.account_records import token_still_held
from engine.store.driver_writes import DriverWrite
from engine.store.records import AuditChainRecord
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord

_ITEM = cast(Table, WorkItemRecord.__table__)
_DOSSIER = DossierRecord.__table__
_HEADS = cast(Table, AuditChainRecord.__table__)
_EVENTS = cast(Table, AuditEventRecord.__table__)


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
    """What a guarded claim wrote: the step; on SQLite the dossier's audit chain head as read
    (None when it has none); on PostgreSQL the audit event written with it (None when not)."""

    step: ClaimedStep
    head: tuple[str, int] | None
    logged: dict | None = None


def _dossier(col):
    return select(col).where(_DOSSIER.c.id == _ITEM.c.dossier_id).scalar_subquery()


def _head(col):
    return select(col).where(_HEADS.c.chain_key == _ITEM.c.dossier_id).scalar_subquery()


_RETURNED_NAMES = [name for name in ClaimedStep._fields if name != "dossier_code"]
_DOSSIER_CODE_AT = ClaimedStep._fields.index("dossier_code")
_CLAIMED_AT = _RETURNED_NAMES.index("claimed_at")
_RETURNED = [_ITEM.c[name] for name in _RETURNED_NAMES]
_GUARDED = (
    update(_ITEM)
    .where(
        _ITEM.c.id == bindparam("item_id"),
        # Asked so that no index can answer it (`IS TRUE` hides `assignee IS NULL` from the
        # planner): statistics taken when every step was held (a quiet night's ANALYZE) make the
        # index of unheld steps look empty, and PostgreSQL then walks all of it for the one row
        # its primary key would find, custom plans included.
        _ITEM.c.assignee.is_(None).is_(true()),
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
)
_GUARDED_CLAIM = DriverWrite(
    _GUARDED.returning(
        *_RETURNED,
        _dossier(_DOSSIER.c.code).label("dossier_code"),
        _head(_HEADS.c.last_hash).label("head_hash"),
        _head(_HEADS.c.length).label("head_length"),
    )
)

#: The claim's event fields that only its row knows, filled in by the statement, in name order.
_FROM_THE_ROW = ("dossier_id", "element_id", "giver", "work_item_id")
#: The release's: the step goes back to its role, the event's receiver.
_RELEASE_FROM_THE_ROW = ("dossier_id", "element_id", "receiver", "work_item_id")
_EVENT = {"action": "claim", "detail": {}}
#: The parameters of the event's canonical text's pieces (`canonical_around`: one more than the fields).
_PIECES = tuple(f"piece_{n}" for n in range(len(_FROM_THE_ROW) + 1))
#: A tuple of texts as a JSON array's text, kept: a clerk claims step after step with the same
#: units and roles (json.dumps cost a claim about fifteen Python calls for the two).
_json_array = functools.lru_cache(maxsize=4096)(json.dumps)


class Taker(NamedTuple):
    """Who may take the step, checked by the statement itself (PostgreSQL): a step of one of
    `units` whose role is one of `roles` or none."""

    units: tuple[str, ...]
    roles: tuple[str, ...]


def _claim_logged(token_checked: bool) -> DriverWrite:
    """PostgreSQL: the guarded claim, checked in the statement (who may take it: `Taker`, or
    anyone; its dossier's chain head exists; with `token_checked`, the request's token still
    acts as the account it was let in as: account_records.token_still_held), then its audit event
    linked from the chain's head, which the statement locks and moves on (the step's row locked
    first, the head last, as every change locks them; a head another writer moved meanwhile is
    read again as that writer left it, so the event always goes with the claim); the step's
    columns, its dossier's code and the event's hash."""
    # The units and roles as JSON arrays' text, asked with jsonb's `?` (psycopg dumps a list as an
    # array with a few dozen Python calls; json.dumps is C).
    units, roles = (sql_cast(bindparam(name, type_=String), JSONB) for name in ("units", "roles"))
    may_take = or_(
        bindparam("anyone", type_=Boolean),
        and_(units.has_key(_ITEM.c.unit_code), or_(_ITEM.c.role.is_(None), roles.has_key(_ITEM.c.role))),
    )
    guarded = _GUARDED.where(may_take)
    return _logged(guarded, token_checked, "claimed", giver=lambda row: row.role, receiver=None)


def _logged(
    guarded: Update,
    token_checked: bool,
    name: str,
    *,
    giver: Callable[[Any], ColumnElement] | None,
    receiver: Callable[[Any], ColumnElement] | None,
) -> DriverWrite:
    """`guarded` (an UPDATE of one step) with its audit event linked from its dossier's chain
    head, which must exist, in one statement (see `_claim_logged`); the event's `giver` or
    `receiver` is the changed row's column given (else a parameter of that name); with
    `token_checked`, only while the request's token still holds (`token_still_held`)."""
    guarded = guarded.where(exists().where(_HEADS.c.chain_key == _ITEM.c.dossier_id))
    if token_checked:
        guarded = guarded.where(token_still_held())
    changed = guarded.returning(
        *_RETURNED, _dossier(_DOSSIER.c.code).label("dossier_code"), _ITEM.c.dossier_id.label("chain_key")
    ).cte(name)
    from_the_row = {
        "dossier_id": sql_cast(changed.c.dossier_id, Text),
        "element_id": _json_text(changed.c.element_id),
        "work_item_id": sql_cast(changed.c.id, Text),
    }
    if giver is not None:
        from_the_row["giver"] = _json_text(giver(changed.c))
    if receiver is not None:
        from_the_row["receiver"] = _json_text(receiver(changed.c))
    # The event's canonical text: Python's pieces with the JSON text of each value the row gives
    # between them, in the order of their names (`filled_in_by_row`).
    pieces = [bindparam(f"piece_{n}", type_=Text) for n in range(len(from_the_row) + 1)]
    canonical: ColumnElement[str] = pieces[0]
    for n, field in enumerate(sorted(from_the_row)):
        canonical = canonical + from_the_row[field] + pieces[n + 1]
    # Hashed from the head as the UPDATE finds it: under a concurrent writer's lock, PostgreSQL
    # evaluates it again on the row that writer committed (READ COMMITTED's recheck).
    hashed = func.encode(func.sha256(func.convert_to(_HEADS.c.last_hash + func.chr(10) + canonical, "UTF8")), "hex")
    moved = (
        update(_HEADS)
        .where(_HEADS.c.chain_key == changed.c.chain_key)
        .values(last_hash=hashed, length=_HEADS.c.length + 1)
        .returning(_HEADS.c.last_hash)
        .cte("moved")
    )
    event = {
        "dossier_id": changed.c.dossier_id,
        "work_item_id": changed.c.id,
        "at": bindparam("at", type_=_EVENTS.c.at.type),
        "action": bindparam("action", type_=_EVENTS.c.action.type),
        "actor": bindparam("actor", type_=_EVENTS.c.actor.type),
        "on_behalf_of": bindparam("on_behalf_of", type_=_EVENTS.c.on_behalf_of.type),
        "giver": bindparam("giver", type_=_EVENTS.c.giver.type) if giver is None else giver(changed.c),
        "receiver": bindparam("receiver", type_=_EVENTS.c.receiver.type) if receiver is None else receiver(changed.c),
        "element_id": changed.c.element_id,
        "detail": bindparam("detail", type_=_EVENTS.c.detail.type),
        "chain_hash": moved.c.last_hash,
    }
    logged = (
        insert(_EVENTS)
        .from_select(list(event), select(*event.values()).select_from(changed).join(moved, true()))
        .returning(_EVENTS.c.chain_hash)
        .cte("logged")
    )
    logged_hash = select(logged.c.chain_hash).scalar_subquery().label("logged_hash")
    return DriverWrite(
        select(*(changed.c[name] for name in _RETURNED_NAMES), changed.c.dossier_code, logged_hash).add_cte(
            moved, logged
        )
    )


def _json_text(column: ColumnElement) -> ColumnElement:
    """A text column's value as JSON text, `null` when none (json.dumps' text for it)."""
    return func.coalesce(sql_cast(func.to_json(column), Text), "null")


#: By whether the request's token is checked in the statement.
_CLAIM_LOGGED = {checked: _claim_logged(checked) for checked in (False, True)}


def _release_logged(token_checked: bool) -> DriverWrite:
    """PostgreSQL: a step its holder puts back in its role's pool (engine.domain.assignment's
    rule for the holder; a leader's release of another's step is left to the long way), checked
    in the statement: held by `username`, open, not delegated out, of one of `units`, its
    dossier running; its audit event linked as a claim's is (`_logged`)."""
    units = sql_cast(bindparam("units", type_=String), JSONB)
    guarded = (
        update(_ITEM)
        .where(
            _ITEM.c.id == bindparam("item_id"),
            # `IS TRUE`, as the claim's guard: no index of held steps may look like the way in.
            (_ITEM.c.assignee == bindparam("username")).is_(true()),
            or_(*(_ITEM.c.state == state for state in OPEN_STATES)),  # no IN: its list is expanded per call
            _ITEM.c.delegation_state.is_distinct_from(DelegationState.PENDING.value),
            units.has_key(_ITEM.c.unit_code),
            _dossier(_DOSSIER.c.run_state) == RunState.RUNNING.value,
        )
        .values(assignee=null(), state=WorkItemState.OPEN.value, on_behalf_of=null(), version=_ITEM.c.version + 1)
    )
    return _logged(guarded, token_checked, "released", giver=None, receiver=lambda row: row.role)


_RELEASE_LOGGED = {checked: _release_logged(checked) for checked in (False, True)}


def release_if_held(
    connection: Connection,
    item_id: int,
    username: str,
    now: datetime,
    on_behalf_of: str | None,
    *,
    units: tuple[str, ...],
    token_check: dict | None = None,
) -> ClaimedStep | None:
    """PostgreSQL: put the step `username` holds back in its role's pool at `now`, with its audit
    event, as the first statement of its transaction and with its COMMIT (one network wait:
    `committed` says whether it went so); None, nothing written, when it is not theirs to release
    this way (not held by them, delegated, closed, not of `units`, its dossier stopped, the token
    no longer valid: `token_check` as for `claim_if_free`). The step as released."""
    event = {
        **_EVENT,
        "action": "unclaim",
        "at": now,
        "actor": username,
        "on_behalf_of": on_behalf_of,
        "giver": username,
    }
    params = {**event, "item_id": item_id, "username": username, "units": _json_array(units)}
    params.update(zip(_PIECES, canonical_around(event, _RELEASE_FROM_THE_ROW), strict=True))
    if token_check is not None:
        params.update(token_check)
    row = _RELEASE_LOGGED[token_check is not None].returned_committed(connection, params)
    if row is None:
        return None
    *columns, dossier_code, _logged_hash = row
    return _claimed_step(columns, dossier_code)


def claim_if_free(
    connection: Connection,
    item_id: int,
    username: str,
    now: datetime,
    on_behalf_of: str | None = None,
    *,
    taker: Taker | None = None,
    token_check: dict | None = None,
    commit: bool = False,
) -> Claim | None:
    """Claim the step for `username` (acting for `on_behalf_of`) at `now` if it is open, unheld,
    has its deadline and its dossier runs; None (nothing written) otherwise. On PostgreSQL its
    audit event goes with it (`Claim.logged`), the statement also checks `taker` (else the caller
    checks who may take it on the returned step) and `token_check` (api_tokens.check_in_statement),
    and with `commit`, as its transaction's first statement, it goes with the BEGIN and the
    COMMIT in one network wait (`committed` says whether it did: then nothing more may run in
    that transaction, a None included)."""
    if connection.dialect.name == "postgresql":
        return _claimed_and_logged(connection, item_id, username, now, on_behalf_of, taker, token_check, commit)
    row = _GUARDED_CLAIM.returned(connection, {"item_id": item_id, "username": username, "now": now})
    if row is None:
        return None
    *columns, dossier_code, head_hash, head_length = row
    return Claim(_step(columns, dossier_code, now), None if head_length is None else (head_hash, head_length))


def committed(connection: Connection) -> bool:
    """Whether `claim_if_free` sent the transaction's COMMIT with the claim (engine.store.deferred_begin)."""
    return deferred_begin.committed(connection)


def _claimed_and_logged(
    connection: Connection,
    item_id: int,
    username: str,
    now: datetime,
    on_behalf_of: str | None,
    taker: Taker | None,
    token_check: dict | None,
    commit: bool,
) -> Claim | None:
    event = {**_EVENT, "at": now, "actor": username, "on_behalf_of": on_behalf_of, "receiver": username}
    params = {**event, "item_id": item_id, "username": username, "now": now}
    params.update(zip(_PIECES, canonical_around(event, _FROM_THE_ROW), strict=True))
    if taker is None:
        params.update(anyone=True, units="[]", roles="[]")
    else:
        params.update(anyone=False, units=_json_array(taker.units), roles=_json_array(taker.roles))
    if token_check is not None:
        params.update(token_check)
    statement = _CLAIM_LOGGED[token_check is not None]
    row = statement.returned_committed(connection, params) if commit else statement.returned(connection, params)
    if row is None:
        return None
    *columns, dossier_code, logged_hash = row
    step = _step(columns, dossier_code, now)
    if logged_hash is None:
        return Claim(step, None)
    row_values = {"dossier_id": step.dossier_id, "work_item_id": step.id, "giver": step.role}
    logged = {**event, **row_values, "element_id": step.element_id, "chain_hash": logged_hash}
    return Claim(step, None, logged)


def _step(columns: list, dossier_code: str, now: datetime) -> ClaimedStep:
    # `now` as given rather than as the database gives it back: the answer shows the instant the
    # clock gave, as a claim written through the ORM did.
    columns[_CLAIMED_AT] = now
    return _claimed_step(columns, dossier_code)


def _claimed_step(columns: list, dossier_code: str) -> ClaimedStep:
    """The step from the statement's returned columns (`_RETURNED_NAMES`, in `ClaimedStep`'s
    order without the dossier's code) and its dossier's code (`_make` refuses a count that differs)."""
    columns.insert(_DOSSIER_CODE_AT, dossier_code)
    return ClaimedStep._make(columns)
