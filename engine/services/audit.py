"""Appends to the audit log and verifies it; nothing ever updates or deletes an audit row.

Events are collected during a change and written in one multi-row INSERT just before it
commits (`write_pending`), so a step's hand-overs cost one statement, not one per event.
Each event is hash-chained to the previous event of its dossier (engine.domain.audit_chain):
the chain's head row is locked, the events are linked from it, and the head moves on, all in
the change's transaction, so concurrent writers of one dossier (a clerk and the worker's SLA
pass) queue on the head instead of forking the chain or failing. A change of a step reads the
head with the step instead (engine.services.dossiers.open_item) and moves it, writing its
events, only if it is still as read; if another writer moved it meanwhile, nothing was written
and the events are linked from the locked head as above. The database itself refuses
UPDATE and DELETE on audit_event (migration 0009's triggers).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from engine.domain.assignment import Actor
from engine.domain.audit_chain import BrokenLink
from engine.domain.audit_chain import ChainHead
from engine.domain.audit_chain import chain_key
from engine.domain.audit_chain import first_broken_link
from engine.domain.errors import NotFound
from engine.store import audit_chains
from engine.store import change_rows
from engine.store.database import Session

PENDING_KEY = "motcua_audit_pending"
WRITTEN_KEY = "motcua_audit_written"  # this transaction's events, once written


def record(
    session: Session,
    *,
    at,
    action: str,
    actor: Actor | str,
    dossier_id: int | None = None,
    work_item_id: int | None = None,
    element_id: str | None = None,
    giver: str | None = None,
    receiver: str | None = None,
    work_item=None,
    **detail,
) -> dict:
    """Queue an event; `work_item` may be a row created in this change (its id is read at write)."""
    event = {
        "dossier_id": dossier_id,
        "work_item_id": work_item_id,
        "at": at,
        "action": action,
        "actor": actor if isinstance(actor, str) else actor.username,
        "on_behalf_of": None if isinstance(actor, str) else actor.on_behalf_of,
        "giver": giver,
        "receiver": receiver,
        "element_id": element_id,
        "detail": {k: v for k, v in detail.items() if v is not None},
    }
    session.info.setdefault(PENDING_KEY, []).append((event, work_item))
    return event


def seen_head(session: Session, dossier_id: int, head: tuple[str, int] | None) -> None:
    """The dossier's chain head (last hash, length) as this change read it, without a lock, with
    what it acts on: its events are linked from it and appended only if it has not moved."""
    if head is not None:
        audit_chains.remember_seen_head(session, chain_key(dossier_id), ChainHead(*head))


def new_chain(session: Session, dossier_id: int) -> None:
    """The dossier was inserted by this transaction: its chain starts here, and its head is
    created along with its first events, without the locking read an existing chain needs."""
    audit_chains.remember_new_chain(session, chain_key(dossier_id))


def write_pending(session: Session) -> bool:
    """Write the change's pending events, after everything else it changed (its rows through
    `change_rows.write`, then the session's flush); whether there were any, and so whether that
    write and flush were made."""
    pending = session.info.pop(PENDING_KEY, [])
    if not pending:
        return False
    riding = _with_rows(session, pending)
    # Everything else the change writes goes first: the chain heads are then the last locks it
    # takes, held only until the commit that follows, so writers of one dossier cannot deadlock.
    change_rows.write(session)
    session.flush()
    if riding is not None:
        rows, keys = riding
        if not audit_chains.appended_with_rows(session):  # another writer appended since the read
            audit_chains.append_events(session, _chain(session, rows, keys), rows)
        session.info.setdefault(WRITTEN_KEY, []).extend(rows)
        return True
    rows = _rows(pending)
    keys = sorted({chain_key(row["dossier_id"]) for row in rows})
    if audit_chains.is_new_chain(session, keys):
        audit_chains.start_chain(session, _link(rows, {keys[0]: ChainHead()}), rows)
    else:
        _append(session, rows, keys)
    # What else the commit writes may say who did it (the portal sync's handler) without a query.
    session.info.setdefault(WRITTEN_KEY, []).extend(rows)
    return True


def _rows(pending: list) -> list[dict]:
    return [
        {**event, "work_item_id": item.id if item is not None else event["work_item_id"]} for event, item in pending
    ]


#: At most this many events ride in the rows' statement (a step's change writes two or three).
_RIDING_EVENTS = 16


def _with_rows(session: Session, pending: list) -> tuple[list[dict], list[int]] | None:
    """On PostgreSQL, link the events from the chain's head read with the step (or from nothing,
    for the chain a start begins) and queue them to be written in the change's rows' statement
    (one round trip less), when their hashes can be known before it: every step they name has
    its id, a new one the id its read reserved (engine.store.repositories). The (rows, chain
    keys) queued, or None, nothing queued."""
    if (
        session.connection().dialect.name != "postgresql"
        or len(pending) > _RIDING_EVENTS
        # Only when nothing is flushed after the rows: the chain's head stays the last row locked.
        or not change_rows.writes_rows_alone(session)
    ):
        return None
    unsaved = {id(item): item for _event, item in pending if item is not None and item.id is None}
    if unsaved:
        new = change_rows.new_steps(session)
        if len(new) != 1 or set(unsaved) != {id(new[0])} or not change_rows.give_reserved_id(session, new[0]):
            return None
    rows = _rows(pending)
    keys = sorted({chain_key(row["dossier_id"]) for row in rows})
    if audit_chains.is_new_chain(session, keys):  # a start's: nobody else can have written it
        audit_chains.start_with_rows(session, _link(rows, {keys[0]: ChainHead()}), rows)
        return rows, keys
    seen = audit_chains.seen_heads(session, keys)
    if seen is None:
        return None
    audit_chains.append_with_rows(session, seen, _link(rows, seen), rows)
    return rows, keys


def _append(session: Session, rows: list[dict], keys: list[int]) -> None:
    seen = audit_chains.seen_heads(session, keys)
    if seen is None or not audit_chains.append_after_seen(session, seen, _link(rows, seen), rows):
        # No head read with the change, or another writer appended since: link from the locked heads.
        audit_chains.append_events(session, _chain(session, rows, keys), rows)


def _chain(session: Session, rows: list[dict], keys: list[int]) -> dict[int, ChainHead]:
    """Give each row its chain hash, lock the chains' heads until commit and create the new ones;
    returns the existing heads to move on, which `audit_chains.append_events` updates with the
    events' insert (one statement on PostgreSQL, the common case: a dossier's chain already there)."""
    heads = audit_chains.lock_heads(session, keys)
    new = [key for key in keys if key not in heads]
    linked = _link(rows, {**{key: ChainHead() for key in new}, **heads})
    ours = audit_chains.create_heads(session, {key: linked[key] for key in new}) if new else set()
    if len(ours) < len(new):
        # Another change created one of these chains meanwhile (only a chain's first events can
        # race so; the insert waited for it and skipped): link again from the heads as they are.
        linked = _link(rows, {**audit_chains.lock_heads(session, keys), **{key: ChainHead() for key in ours}})
        return {key: head for key, head in linked.items() if key not in ours}
    return {key: linked[key] for key in heads}


def _link(rows: list[dict], heads: dict[int, ChainHead]) -> dict[int, ChainHead]:
    heads = dict(heads)
    for row in rows:
        key = chain_key(row["dossier_id"])
        heads[key], row["chain_hash"] = heads[key].after(row)
    return heads


@dataclass(frozen=True)
class ChainReport:
    """A broken chain as an operator reads it: the dossier's code (None for the chain of events
    without a dossier), the first event that does not verify, and why."""

    dossier_code: str | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        chain = f"dossier {self.dossier_code}" if self.dossier_code else "events without a dossier"
        where = f"event {self.event_id}" if self.event_id is not None else "end of chain"
        return f"{chain}: {where}: {self.reason}"


def verify(session: Session, dossier_code: str | None = None) -> tuple[int, list[ChainReport]]:
    """Walk the chains (all, or one dossier's) and return how many were checked and, for each
    broken one, its first broken link."""
    key = None
    if dossier_code is not None:
        key = audit_chains.dossier_id_by_code(session, dossier_code)
        if key is None:
            raise NotFound("unknown dossier '%(code)s'", field="dossier", code=dossier_code)
    heads = audit_chains.heads(session, None if key is None else [key])
    broken: list[BrokenLink] = []
    seen: set[int] = set()
    for chain, events in groupby(audit_chains.chain_events(session, key), key=lambda e: e[0]):
        seen.add(chain)
        found = first_broken_link(chain, ((e[1], e[2], e[3]) for e in events), heads.get(chain))
        if found is not None:
            broken.append(found)
    for chain in sorted(set(heads) - seen):  # a head whose events are all gone
        found = first_broken_link(chain, (), heads[chain])
        if found is not None:
            broken.append(found)
    codes = audit_chains.dossier_codes(session, [link.key for link in broken])
    return len(seen | set(heads)), [ChainReport(codes.get(link.key), link.event_id, link.reason) for link in broken]
