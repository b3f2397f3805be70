"""A procedure retired from the catalogue takes no new dossier, however one would start (the desk's
reception, the API, an online submission), with a refusal naming its code; the dossiers already
running on it finish, and restoring the entry lets new ones start again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from configurator import catalogue
from configurator import catalogue_edits
from engine.domain.errors import InvalidAction
from engine.domain.model import RunState
from engine.services import dossiers
from engine.services import online_intake
from engine.services import portal_admin
from engine.store import queries
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units
from tests.factories import deploy_fixture

BY_ROLE = {"mot_cua": RECEPTION, "chuyen_vien": SPECIALIST, "lanh_dao": LEADER}


@pytest.fixture
def five(runtime):
    add_units(runtime)
    catalogue.import_json(
        runtime,
        {"key": "five_steps", "code": "1.000001", "name": "Năm bước", "level": "commune", "legal_limit_days": 5},
    )
    return deploy_fixture(runtime, "five_steps")


def start(rt, definition):
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Trần Văn Đến", actor=RECEPTION
    )


def open_item(rt, dossier_id) -> WorkItemRecord | None:
    with rt.db.read_session() as s:
        return s.scalars(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        ).first()


def offered_keys(rt) -> set[str]:
    with rt.db.read_session() as s:
        return {d.key for d in queries.newest_published_per_template(s)}


def test_a_retired_procedure_starts_no_dossier_and_the_refusal_names_its_code(runtime, five):
    catalogue_edits.retire(runtime, "five_steps", "mo_hinh")

    assert "five_steps" not in offered_keys(runtime)  # the desk's procedure choice
    with pytest.raises(InvalidAction) as refused:
        start(runtime, five)
    assert refused.value.field == "definition_id"
    assert "1.000001 (Năm bước) is retired from the catalogue" in refused.value.message
    with runtime.db.read_session() as s:
        assert s.scalars(select(DossierRecord)).all() == []

    catalogue_edits.restore(runtime, "five_steps", "mo_hinh")
    assert "five_steps" in offered_keys(runtime) and start(runtime, five).code


def test_a_dossier_running_when_its_procedure_is_retired_finishes(runtime, five):
    dossier = start(runtime, five)
    catalogue_edits.retire(runtime, "five_steps", "mo_hinh")

    steps = []
    while (item := open_item(runtime, dossier.id)) is not None:
        actor = BY_ROLE[item.role]
        dossiers.claim_work_item(runtime, item.id, actor)
        dossiers.complete_work_item(runtime, item.id, actor, {"hop_le": True})
        steps.append(item.element_id)

    assert steps == ["tiep_nhan", "tham_dinh", "du_thao", "ky_duyet", "tra_ket_qua"]
    with runtime.db.read_session() as s:
        assert s.get(DossierRecord, dossier.id).run_state == RunState.COMPLETED.value


def test_the_portal_cannot_submit_for_a_retired_procedure(runtime, five):
    portal_admin.configure(runtime, "01", endpoint="http://127.0.0.1:9", token="t")
    catalogue_edits.retire(runtime, "five_steps", "mo_hinh")

    with pytest.raises(InvalidAction) as refused:
        online_intake.take_submission(
            runtime, {"MaHoSoCong": "G22-DVC-0009", "MaTTHC": "1.000001", "MaDonVi": "01.00070", "ChuHoSo": "Lê Văn B"}
        )
    assert refused.value.field == "MaTTHC" and "1.000001" in refused.value.message
