"""A step's completion that moves its dossier's status queues the portal's event with the
portal settings of the unit's province, read in the same statement as the step itself (they
used to cost a read of their own at the commit)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy import select

from engine.services import dossiers
from engine.services import portal_admin
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


def test_a_status_change_reads_the_portal_settings_with_the_step_and_queues_its_event(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    portal_admin.configure(
        runtime, "01", endpoint="http://127.0.0.1:9/portal", token="t", agency_ids={"00070": "G22.100.70"}
    )
    dossier = dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    with runtime.db.read_session() as s:
        item_id = s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id))
    dossiers.claim_work_item(runtime, item_id, RECEPTION)
    sent: list[str] = []
    event.listen(runtime.db.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))

    dossiers.complete_work_item(runtime, item_id, RECEPTION, {})  # received -> being processed

    reads_of_settings = [sql for sql in sent if "portal_setting" in sql and "outbox" not in sql]
    # Every read of them is the step's read (on SQLite a step followed by template code is read
    # twice: a snapshot for the code, then under the write lock).
    assert reads_of_settings and all("FROM work_item" in sql for sql in reads_of_settings)
    with runtime.db.read_session() as s:
        queued = list(s.scalars(select(OutboxRecord).where(OutboxRecord.channel == "portal")))
    assert len(queued) == 2  # the start's event and the status change's
