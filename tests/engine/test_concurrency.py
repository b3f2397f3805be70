"""Two clerks completing the same step at the same moment: one wins, the other gets a conflict."""

from __future__ import annotations

import threading

from sqlalchemy import func
from sqlalchemy import select

from engine.domain.errors import ConflictError
from engine.services import dossiers
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

CLERK_A = RECEPTION
CLERK_B = type(RECEPTION)("mot_cua_2", RECEPTION.roles, RECEPTION.unit_code)


def test_simultaneous_completions_exactly_one_succeeds(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    for attempt in range(5):
        dossier = dossiers.start_dossier(runtime, definition_id=definition.id, unit_code="00070",
                                         applicant_name=f"Người {attempt}", actor=RECEPTION)
        with runtime.db.session() as s:
            item_id = s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id))
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def complete(actor):
            barrier.wait()
            try:
                dossiers.complete_work_item(runtime, item_id, actor, {"by": actor.username})
                outcomes.append("ok")
            except ConflictError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=complete, args=(a,)) for a in (CLERK_A, CLERK_B)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert sorted(outcomes) == ["conflict", "ok"]
        with runtime.db.session() as s:
            items = list(s.scalars(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id)
                                   .order_by(WorkItemRecord.id)))
            completions = s.scalar(select(func.count()).select_from(AuditEventRecord).where(
                AuditEventRecord.dossier_id == dossier.id, AuditEventRecord.action == "complete"))
        assert [(i.element_id, i.state) for i in items] == [("tiep_nhan", "completed"), ("tham_dinh", "open")]
        assert completions == 1
        assert items[0].outcome == {"by": items[0].completed_by}
