"""A process keeps the workflow it last saved for a dossier's next change (engine.bpmn.run_cache):
the change must behave exactly as if the state had been loaded from the dossier's row."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy import update

from engine.domain.errors import ExpressionError
from engine.domain.errors import LostRace
from engine.services import dossiers
from engine.services.runtime import Runtime
from engine.store import change_rows
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.factories import LEADER
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import started_five_steps


def _open_step(rt: Runtime, dossier_id: int) -> WorkItemRecord:
    with rt.db.session() as s:
        return s.scalar(
            select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state != "completed")
        )


def test_a_dossier_another_process_moved_goes_on_from_its_row(runtime, clock):
    """Process A saved the dossier and kept its workflow; process B moved it on since. A's next
    change must start from what B saved, not from what A remembers."""
    other = Runtime(db=runtime.db, clock=clock, worker_id="other-process")
    dossier_id = started_five_steps(runtime)
    dossiers.complete_work_item(runtime, _open_step(runtime, dossier_id).id, RECEPTION, {})
    dossiers.complete_work_item(other, _open_step(other, dossier_id).id, SPECIALIST, {"hop_le": True})

    step = _open_step(runtime, dossier_id)
    assert step.element_id == "du_thao"
    dossiers.complete_work_item(runtime, step.id, SPECIALIST, {})
    dossiers.complete_work_item(runtime, _open_step(runtime, dossier_id).id, LEADER, {})
    dossiers.complete_work_item(runtime, _open_step(runtime, dossier_id).id, RECEPTION, {})

    with runtime.db.session() as s:
        dossier = s.get(DossierRecord, dossier_id)
        steps = s.scalars(select(WorkItemRecord.element_id).where(WorkItemRecord.dossier_id == dossier_id)).all()
    assert (dossier.run_state, dossier.status) == ("completed", 9)
    assert sorted(steps) == sorted(["tiep_nhan", "tham_dinh", "du_thao", "ky_duyet", "tra_ket_qua"])


def test_a_step_refused_after_it_ran_leaves_nothing_behind_in_memory(runtime, monkeypatch):
    """The data ran through the workflow and was then refused (the state it would save is over
    the cap): the next attempt starts again from the saved state."""
    dossier_id = started_five_steps(runtime)
    step = _open_step(runtime, dossier_id)
    monkeypatch.setattr("engine.bpmn.state_size.MAX_STATE_CHARS", 20_000)
    with pytest.raises(ExpressionError):
        dossiers.complete_work_item(runtime, step.id, RECEPTION, {"ghi_chu": "x" * 30_000})
    monkeypatch.undo()

    dossiers.complete_work_item(runtime, step.id, RECEPTION, {"ghi_chu": "đủ giấy tờ"})

    with runtime.db.session() as s:
        dossier = s.get(DossierRecord, dossier_id)
    assert "x" * 100 not in dossier.state
    assert _open_step(runtime, dossier_id).element_id == "tham_dinh"


def test_a_row_changed_since_it_was_read_is_not_overwritten(runtime):
    """Another writer moved the dossier's row on between a change's read and its write: the
    write misses, the change fails as a lost race (run again from a fresh read) and overwrites
    nothing."""
    dossier_id = started_five_steps(runtime)
    table = DossierRecord.__table__
    with runtime.db.session() as s:
        dossier = s.get(DossierRecord, dossier_id)
        s.connection().execute(
            update(table)
            .where(table.c.id == dossier_id)
            .values(applicant_name="Trần Thị B", version=table.c.version + 1)
        )
        dossier.applicant_name = "Lê Văn C"
        with pytest.raises(LostRace):
            change_rows.write(s)
        assert s.connection().scalar(select(table.c.applicant_name).where(table.c.id == dossier_id)) == "Trần Thị B"
        s.rollback()
