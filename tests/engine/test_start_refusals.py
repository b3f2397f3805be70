"""A start reads what it checks in one statement (the template version, the unit, the unit's
variant, a retired catalogue entry, the portal settings): each refusal still names what was wrong,
and a refused start writes nothing; a start that passes gets its code, its first step and an audit
chain of its own that verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.errors import InvalidAction
from engine.domain.errors import NotFound
from engine.services import audit
from engine.services import definitions
from engine.services import dossiers
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


@pytest.fixture
def five(runtime):
    add_units(runtime)
    return deploy_fixture(runtime, "five_steps")


def start(rt, definition_id: int, unit_code: str = "00070"):
    return dossiers.start_dossier(
        rt, definition_id=definition_id, unit_code=unit_code, applicant_name="Lê Thị Bình", actor=RECEPTION
    )


def written(rt) -> tuple[int, int]:
    with rt.db.read_session() as s:
        return (
            s.scalar(select(func.count()).select_from(DossierRecord)),
            s.scalar(select(func.count()).select_from(AuditEventRecord)),
        )


def test_an_unknown_template_version_is_refused_naming_the_field(runtime, five):
    before = written(runtime)
    with pytest.raises(NotFound) as refused:
        start(runtime, five.id + 1000)
    assert refused.value.field == "definition_id" and written(runtime) == before


def test_an_unknown_unit_is_refused_naming_the_field(runtime, five):
    before = written(runtime)
    with pytest.raises(NotFound) as refused:
        start(runtime, five.id, unit_code="99999")
    assert refused.value.field == "unit_code" and "99999" in refused.value.message
    assert written(runtime) == before


def test_a_retired_version_is_refused_with_its_state(runtime, five):
    definitions.retire(runtime, five.id)
    before = written(runtime)
    with pytest.raises(InvalidAction) as refused:
        start(runtime, five.id)
    assert "retired" in refused.value.message and written(runtime) == before


def open_steps(rt, dossier_id: int) -> list[WorkItemRecord]:
    with rt.db.read_session() as s:
        return list(
            s.scalars(
                select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
            )
        )


def test_started_dossiers_have_their_code_their_first_step_and_chains_that_verify(runtime, five):
    first, second = start(runtime, five.id), start(runtime, five.id)
    assert first.code.endswith("-0001") and second.code.endswith("-0002")
    for dossier in (first, second):
        assert [step.element_id for step in open_steps(runtime, dossier.id)] == ["tiep_nhan"]
    dossiers.complete_work_item(runtime, open_steps(runtime, first.id)[0].id, RECEPTION, {})
    with runtime.db.read_session() as s:
        assert audit.verify(s) == (2, [])
