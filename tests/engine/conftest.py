"""Fixtures the engine's PostgreSQL tests of a claim and a completion share."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.services import dossiers
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


@pytest.fixture
def open_step(postgres_runtime) -> int:
    """The first step of a new dossier (role mot_cua, unit 00070), open and unclaimed."""
    add_units(postgres_runtime)
    definition = deploy_fixture(postgres_runtime, "five_steps")
    dossier = dossiers.start_dossier(
        postgres_runtime, definition_id=definition.id, unit_code="00070", applicant_name="A", actor=RECEPTION
    )
    with postgres_runtime.db.read_session() as s:
        return s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id))
