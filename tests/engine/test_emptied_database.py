"""The PostgreSQL database each test starts from is as empty as a freshly migrated one, whatever the
test before it wrote (tests/conftest.py empties it by DELETE of the tables written to)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import engine.store.all_records  # noqa: F401
from engine.store.base import Base
from tests.conftest import empty_all_tables
from tests.factories import started_five_steps


@pytest.mark.postgres
def test_a_started_dossier_leaves_no_row_and_the_next_one_gets_the_first_ids(postgres_runtime, postgres_template):
    first = started_five_steps(postgres_runtime)  # units, a template, a dossier, its step and audit events
    empty_all_tables(postgres_template)
    reader = create_engine(postgres_template)
    try:
        with reader.connect() as conn:
            counts = {
                t.name: conn.scalar(text(f'SELECT count(*) FROM "{t.name}"')) for t in Base.metadata.sorted_tables
            }
        assert set(counts.values()) == {0}, {name: n for name, n in counts.items() if n}
        assert started_five_steps(postgres_runtime) == first  # every identity restarted
        with reader.connect() as conn:  # the append-only trigger is back on
            with pytest.raises(DBAPIError, match="refused"):
                conn.execute(text("DELETE FROM audit_event"))
    finally:
        reader.dispose()
