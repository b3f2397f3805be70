"""Two clerks completing the same step at the same moment: one wins, the other gets a conflict."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func
from sqlalchemy import select

from engine.domain.errors import ConflictError
from engine.services import dossiers
from engine.services import worker as worker_loop
from engine.services.delivery import default_channels
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from tests.conftest import vn
from tests.factories import RECEPTION
from tests.factories import SPECIALIST
from tests.factories import add_units
from tests.factories import deploy_fixture

CLERK_A = RECEPTION
CLERK_B = type(RECEPTION)("mot_cua_2", RECEPTION.roles, RECEPTION.unit_code)


def test_simultaneous_completions_exactly_one_succeeds(runtime):
    add_units(runtime)
    definition = deploy_fixture(runtime, "five_steps")
    for attempt in range(5):
        dossier = dossiers.start_dossier(
            runtime, definition_id=definition.id, unit_code="00070", applicant_name=f"Người {attempt}", actor=RECEPTION
        )
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
            items = list(
                s.scalars(
                    select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id).order_by(WorkItemRecord.id)
                )
            )
            completions = s.scalar(
                select(func.count())
                .select_from(AuditEventRecord)
                .where(AuditEventRecord.dossier_id == dossier.id, AuditEventRecord.action == "complete")
            )
        assert [(i.element_id, i.state) for i in items] == [("tiep_nhan", "completed"), ("tham_dinh", "open")]
        assert completions == 1
        assert items[0].outcome == {"by": items[0].completed_by}


WORKER_RACE_ROUNDS = 150


@pytest.mark.postgres
def test_the_worker_never_makes_a_clerks_completion_fail(postgres_runtime, clock, monkeypatch):
    """Each round a clerk completes a late step (with the version the page showed) while a worker
    pass fires the same dossier's warning, breach, escalation, reminder timer and apology
    forecast. In every other round the pass runs exactly between the clerk's read and write (the
    worst case); in the others both run freely at once. The clerk never gets a refusal, and the
    worker's effects are all there."""
    rt = postgres_runtime
    add_units(rt)
    definition = deploy_fixture(rt, "five_steps")
    channels = default_channels()
    refusals: list[str] = []
    between = {"pending": False}
    load = dossiers.load_run

    def load_then_let_the_worker_in(*args):
        if between["pending"]:
            between["pending"] = False
            pass_thread = threading.Thread(target=worker_loop.run_once, args=(rt, channels))
            pass_thread.start()
            pass_thread.join()
        return load(*args)

    monkeypatch.setattr(dossiers, "load_run", load_then_let_the_worker_in)
    for round_no in range(WORKER_RACE_ROUNDS):
        clock.set(vn(2026, 3, 2, 8, 0))
        dossier = dossiers.start_dossier(
            rt, definition_id=definition.id, unit_code="00070", applicant_name=f"Người {round_no}", actor=RECEPTION
        )
        dossiers.complete_work_item(rt, _open_item_id(rt, dossier.id), RECEPTION, {})
        item_id = _open_item_id(rt, dossier.id)
        dossiers.claim_work_item(rt, item_id, SPECIALIST)
        with rt.db.read_session() as s:
            shown_version = s.get(WorkItemRecord, item_id).version
        clock.set(vn(2026, 3, 3, 10, 0))  # the step is late: every level, the timer and the forecast are due
        interleaved = round_no % 2 == 0
        between["pending"] = interleaved
        barrier = threading.Barrier(1 if interleaved else 2)

        def clerk():
            barrier.wait()
            try:
                dossiers.complete_work_item(rt, item_id, SPECIALIST, {"hop_le": True}, expected_version=shown_version)
            except ConflictError as refused:
                refusals.append(str(refused))

        def worker():
            barrier.wait()
            worker_loop.run_once(rt, channels)

        threads = [threading.Thread(target=clerk)] + ([] if interleaved else [threading.Thread(target=worker)])
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    worker_loop.run_once(rt, channels)

    assert refusals == []
    with rt.db.read_session() as s:
        done = s.scalar(
            select(func.count())
            .select_from(WorkItemRecord)
            .where(WorkItemRecord.element_id == "tham_dinh", WorkItemRecord.state == "completed")
        )
        timers = s.scalar(select(func.count()).select_from(AuditEventRecord).where(AuditEventRecord.action == "timer"))
        breaches = s.scalar(
            select(func.count()).select_from(AuditEventRecord).where(AuditEventRecord.action == "sla_breach")
        )
    assert done == WORKER_RACE_ROUNDS
    # At least every interleaved round had the worker's timer and levels land inside the clerk's change.
    assert timers >= WORKER_RACE_ROUNDS // 2 and breaches >= WORKER_RACE_ROUNDS // 2


@pytest.mark.postgres
def test_two_people_on_one_step_still_get_the_clear_conflict_with_the_worker_running(postgres_runtime, clock):
    rt = postgres_runtime
    add_units(rt)
    definition = deploy_fixture(rt, "five_steps")
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Hai người", actor=RECEPTION
    )
    item_id = _open_item_id(rt, dossier.id)
    clock.set(vn(2026, 3, 3, 10, 0))
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def complete(actor):
        barrier.wait()
        try:
            dossiers.complete_work_item(rt, item_id, actor, {"by": actor.username})
            outcomes.append("ok")
        except ConflictError as refused:
            outcomes.append(str(refused))

    def worker():
        barrier.wait()
        worker_loop.run_once(rt, default_channels())

    threads = [threading.Thread(target=complete, args=(a,)) for a in (CLERK_A, CLERK_B)]
    threads.append(threading.Thread(target=worker))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [outcome for outcome in outcomes if outcome != "ok"]
    assert outcomes.count("ok") == 1 and len(refused) == 1
    assert "already completed by" in refused[0]


def _open_item_id(rt, dossier_id: int) -> int:
    with rt.db.read_session() as s:
        return s.scalar(
            select(WorkItemRecord.id).where(
                WorkItemRecord.dossier_id == dossier_id, WorkItemRecord.state.in_(("open", "claimed"))
            )
        )
