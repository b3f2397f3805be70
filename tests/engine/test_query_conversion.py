"""On PostgreSQL a completed step's rows go in one long statement (engine.store.change_rows);
psycopg keeps its conversion of that text once made (engine.store.query_conversion) instead of
converting it anew on every completion. psycopg is pinned: this fails if an upgrade stops
honouring the limits the engine raises."""

from __future__ import annotations

import pytest
from psycopg import _queries
from sqlalchemy import select

from engine.services import dossiers
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

pytestmark = pytest.mark.postgres


def _open_step_id(rt, dossier_id: int) -> int:
    with rt.db.session() as s:
        return s.scalar(
            select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        )


def _complete_first_step(rt, definition_id: int) -> tuple[int, int]:
    """Start a dossier and complete its first step: (dossier id, that step's id)."""
    dossier = dossiers.start_dossier(
        rt, definition_id=definition_id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    first = _open_step_id(rt, dossier.id)
    dossiers.complete_work_item(rt, first, RECEPTION, {})
    return dossier.id, first


def test_a_completions_long_statement_is_converted_once_and_kept(postgres_runtime, monkeypatch):
    rt = postgres_runtime
    add_units(rt)
    definition = deploy_fixture(rt, "five_steps")
    _complete_first_step(rt, definition.id)  # the statement's shape converted and kept here

    converted_anew: list[int] = []
    uncached = _queries._query2pg_nocache  # what psycopg calls for a text it does not keep
    monkeypatch.setattr(
        _queries,
        "_query2pg_nocache",
        lambda query, encoding: converted_anew.append(len(query)) or uncached(query, encoding),
    )
    dossier_id, first = _complete_first_step(rt, definition.id)

    assert converted_anew == []
    assert _open_step_id(rt, dossier_id) not in (None, first)  # the dossier moved on to its next step
