"""A completion reads with its step whether the dossier's province is connected to the portal: a
status change in a province that is not sends the portal nothing and reads nothing more for it,
while one in a connected province still queues its event in the same transaction. Whether the
dossier was rated comes with it too: a dossier nobody rated asks the ratings nothing."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy import select

from engine.services import dossiers
from engine.services import portal_admin
from engine.store.records import DossierRecord
from engine.store.records import OutboxRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture


def _started(rt) -> int:
    definition = deploy_fixture(rt, "five_steps")
    return dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    ).id


def _first_step(rt, dossier_id: int) -> int:
    with rt.db.read_session() as s:
        return s.scalar(
            select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state == "open")
        )


def _status(rt, dossier_id: int) -> int:
    with rt.db.read_session() as s:
        return s.scalar(select(DossierRecord.status).where(DossierRecord.id == dossier_id))


def _portal_messages(rt, dossier_id: int) -> int:
    with rt.db.read_session() as s:
        rows = s.scalars(
            select(OutboxRecord.id).where(OutboxRecord.channel == "portal", OutboxRecord.dossier_id == dossier_id)
        )
        return len(list(rows))


def _statements_of(rt, change) -> list[str]:
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", note)
    try:
        change()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", note)
    return sent


def test_a_status_change_in_a_province_off_the_portal_reads_nothing_more_for_it(runtime):
    add_units(runtime)
    dossier_id = _started(runtime)
    step, status_before = _first_step(runtime, dossier_id), _status(runtime, dossier_id)

    sent = _statements_of(runtime, lambda: dossiers.complete_work_item(runtime, step, RECEPTION, {}))

    assert _status(runtime, dossier_id) != status_before
    assert [s for s in sent if "portal_setting" in s and "work_item" not in s] == []
    assert _portal_messages(runtime, dossier_id) == 0


def test_a_status_change_in_a_connected_province_still_queues_its_portal_event(runtime):
    add_units(runtime)
    portal_admin.configure(
        runtime,
        "01",
        endpoint="http://127.0.0.1:9/",
        token="secret-token",
        timeout_seconds=1,
        agency_ids={"00070": "G22.100.70"},
        platform_code="05",
    )
    dossier_id = _started(runtime)
    queued_at_start = _portal_messages(runtime, dossier_id)

    dossiers.complete_work_item(runtime, _first_step(runtime, dossier_id), RECEPTION, {})

    assert _portal_messages(runtime, dossier_id) == queued_at_start + 1


def test_a_step_of_a_dossier_nobody_rated_asks_the_ratings_nothing(runtime):
    add_units(runtime)
    dossier_id = _started(runtime)
    step = _first_step(runtime, dossier_id)

    sent = _statements_of(runtime, lambda: dossiers.complete_work_item(runtime, step, RECEPTION, {}))

    assert sent and [s for s in sent if "satisfaction" in s] == []
