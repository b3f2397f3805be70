"""PostgreSQL's json columns are parsed to the values json.loads gives, whatever the text stored
(a json column keeps it as written: blanks, escapes, any number), and text that is not JSON is
refused with json's own error."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from engine.store.database import Database
from engine.store.json_columns import json_of

TEXTS = [
    '{"ket_qua": "đạt", "y_kien": ["một", 2, 3.5, -0.25e-3, 10000000000000000000000, true, false, null]}',
    '{"a": {"b": {"c": []}}, "b": {}}',
    '"\\ud83d\\ude00 \\u0000 \\" \\\\ \\n"',
    "null",
    "12",
    ' \n {"blanks": "around"} \t ',
    '{"a": 1}   ',
    '{"twice": 1, "twice": 2}',
]


@pytest.mark.parametrize("stored", TEXTS)
def test_a_json_text_parses_to_what_json_loads_gives(stored):
    parsed = json_of(stored.encode())
    assert parsed == json.loads(stored)
    assert json.dumps(parsed) == json.dumps(json.loads(stored))  # the same types and key order too


@pytest.mark.parametrize("stored", ['{"a": 1} x', "", "{'a': 1}", '{"a": 1,}', "NaNa"])
def test_text_that_is_not_json_is_refused_as_json_loads_refuses_it(stored):
    with pytest.raises(json.JSONDecodeError) as ours:
        json_of(stored.encode())
    with pytest.raises(json.JSONDecodeError) as theirs:
        json.loads(stored)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.postgres
def test_json_columns_read_from_postgresql_are_what_json_loads_gives(postgres_template):
    db = Database(postgres_template)
    try:
        with db.lookup_connection() as connection:
            for stored in TEXTS:
                read = connection.execute(text("SELECT CAST(:stored AS json)"), {"stored": stored}).scalar_one()
                assert read == json.loads(stored)
    finally:
        db.dispose()
