"""An event's canonical text, whole or cut around the values a database fills in as it writes the
row (a claim's event on PostgreSQL): joined with those values' JSON, the same text, so the same hash."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime

import pytest

from engine.domain.audit_chain import canonical
from engine.domain.audit_chain import canonical_around

EVENT = {
    "dossier_id": 12,
    "work_item_id": 7,
    "at": datetime(2026, 3, 2, 1, 0, 0, 123456, tzinfo=UTC),
    "action": "claim",
    "actor": 'cán_bộ "một"',
    "on_behalf_of": None,
    "giver": "mot_cua",
    "receiver": "cán_bộ \\ một",
    "element_id": "tiếp_nhận\n",
    "detail": {},
}
ROW_FIELDS = ("dossier_id", "element_id", "giver", "work_item_id")


@pytest.mark.parametrize("giver", ["mot_cua", None, "vai trò\t\x1f\u2028😀"])
def test_the_pieces_joined_with_the_rows_values_give_the_whole_text(giver):
    event = {**EVENT, "giver": giver}
    pieces = canonical_around({k: v for k, v in event.items() if k not in ROW_FIELDS}, ROW_FIELDS)
    values = [json.dumps(event[name], ensure_ascii=False) for name in ROW_FIELDS]
    assert pieces[0] + "".join(value + piece for value, piece in zip(values, pieces[1:], strict=True)) == canonical(
        event
    )


def test_a_field_the_hash_does_not_cover_cannot_be_left_to_the_row():
    with pytest.raises(ValueError, match="chain_hash"):
        canonical_around(EVENT, ("chain_hash",))


@pytest.mark.parametrize(
    "detail", [{}, {"z": 1, "a": [1.5, None, True], "ý_kiến": {"b": "đạt", "a": "\u2028"}}, {"n": 10**20}]
)
def test_the_canonical_text_is_sorted_compact_json_as_the_chains_stored_so_far(detail):
    """Stored chains verify only while the text stays the one they were hashed over."""
    event = {**EVENT, "detail": detail}
    as_written = {**event, "at": "2026-03-02T01:00:00.123456+00:00"}
    assert canonical(event) == json.dumps(as_written, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
