"""The audit log's hash chains: what an event's hash covers, how it links to the one before, and
how a chain is checked.

Each event's hash is SHA-256 over the previous event's hash in the same chain and the event's
fields in a canonical form (sorted-key JSON, times in ISO UTC with microseconds), so changing,
removing or slipping in an event breaks the link at that event. There is one chain per dossier;
events without a dossier form one chain of their own (key NO_DOSSIER). The event's id is not
hashed: ids are assigned by the database at insert, and order within a chain is checked by the
links themselves. Standard library only.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

#: The "previous hash" of a chain's first event.
GENESIS = ""
#: The chain key of events that belong to no dossier (dossier ids start at 1).
NO_DOSSIER = 0
#: The fields an event's hash covers, i.e. everything an audit row says except its id.
FIELDS = (
    "dossier_id",
    "work_item_id",
    "at",
    "action",
    "actor",
    "on_behalf_of",
    "giver",
    "receiver",
    "element_id",
    "detail",
)


def chain_key(dossier_id: int | None) -> int:
    return NO_DOSSIER if dossier_id is None else dossier_id


#: json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False), its encoder made once
#: (json.dumps builds one per call for any argument but the defaults); it keeps nothing between
#: calls, so threads share it.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _iso_utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(event: Mapping) -> str:
    """The text an event's hash covers; the same for an event before it is stored and as read back."""
    values = dict(zip(FIELDS, map(event.get, FIELDS)))  # each field or None, without a Python call
    values["at"] = _iso_utc(event["at"])
    values["detail"] = values["detail"] or {}
    return _CANONICAL_JSON.encode(values)


def canonical_around(event: Mapping, filled_in: tuple[str, ...]) -> list[str]:
    """`canonical(event)` cut where the values of the fields `filled_in` go, for a writer that
    knows those values only as it writes the row (a database statement): joining the pieces with
    each field's JSON text between them, in the order of their names, gives `canonical` of the
    whole event. The format stays defined here only."""
    holes, marks = _holes_of(filled_in)
    rest = canonical({**event, **holes})
    pieces = []
    for name, mark in marks:
        before, found, rest = rest.partition(mark)
        if not found:
            raise ValueError(f"{name} is not a field an event's hash covers")
        pieces.append(before)
    return [*pieces, rest]


@functools.cache
def _holes_of(filled_in: tuple[str, ...]) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """The placeholder value of each field `filled_in`, and each field with its placeholder's JSON
    text in the order sort_keys gives them: made once per tuple of fields (a writer has one or
    two), where making them at each claim cost a claim about twenty Python calls."""
    holes = {name: f"\x00{n}" for n, name in enumerate(filled_in)}
    return holes, tuple((name, json.dumps(holes[name])) for name in sorted(filled_in))


def link(previous_hash: str, event: Mapping) -> str:
    return hashlib.sha256(f"{previous_hash}\n{canonical(event)}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    """The last hash of a chain and how many events it holds."""

    last_hash: str = GENESIS
    length: int = 0

    def after(self, event: Mapping) -> tuple[ChainHead, str]:
        """The head once `event` is appended, and the event's hash."""
        event_hash = link(self.last_hash, event)
        return ChainHead(event_hash, self.length + 1), event_hash


@dataclass(frozen=True)
class BrokenLink:
    """Where a chain stops verifying: the first event whose hash does not follow (or None when
    events are missing at the end), and why."""

    key: int
    event_id: int | None
    reason: str


def first_broken_link(
    key: int, events: Iterable[tuple[int, Mapping, str | None]], head: ChainHead | None
) -> BrokenLink | None:
    """Walk one chain's events (id, fields, stored hash; in id order) against its head."""
    running = ChainHead()
    for event_id, event, stored_hash in events:
        running, expected = running.after(event)
        if stored_hash != expected:
            return BrokenLink(
                key, event_id, "its hash does not follow from the events before it (changed, removed or inserted)"
            )
    if head is None:
        return BrokenLink(key, None, "the chain has events but no head") if running.length else None
    if running != head:
        return BrokenLink(
            key,
            None,
            f"the head records {head.length} events, {running.length} verify: "
            "events are missing at the end of the chain",
        )
    return None
