"""A real worker process killed with SIGKILL at arbitrary moments loses no timer and repeats none."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from engine.bpmn import runner
from engine.services import dossiers
from engine.services.scripting import script_engine_for
from engine.store.records import AuditEventRecord
from engine.store.records import DossierRecord
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture

DOSSIERS = 40
MOTCUA = Path(sys.executable).with_name("motcua")


def _arm_timers(rt) -> None:
    definition = deploy_fixture(rt, "five_steps")
    for n in range(DOSSIERS):
        d = dossiers.start_dossier(
            rt, definition_id=definition.id, unit_code="00070", applicant_name=f"Công dân {n}", actor=RECEPTION
        )
        with rt.db.session() as s:
            item_id = s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == d.id))
        dossiers.complete_work_item(rt, item_id, RECEPTION, {})


def _worker(url: str, now, *extra) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.Popen(
        [str(MOTCUA), "worker", "--now", now.isoformat(), "--poll", "0.01", "--batch", "3", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _timer_events(rt) -> dict[int, int]:
    with rt.db.read_session() as s:
        rows = s.execute(
            select(AuditEventRecord.dossier_id, func.count())
            .where(AuditEventRecord.action == "timer")
            .group_by(AuditEventRecord.dossier_id)
        )
        return dict(rows.all())


def _kill_after_progress(worker: subprocess.Popen, rt, done_before: int, steps: int) -> int:
    """Let the worker fire `steps` more timers (as seen in the database), then SIGKILL it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and worker.poll() is None:
        done = sum(_timer_events(rt).values())
        if done >= min(DOSSIERS, done_before + steps):
            break
        time.sleep(0.01)  # polling a real process's progress; no test clock is involved
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    return sum(_timer_events(rt).values())


def test_sigkilled_workers_lose_and_repeat_nothing(runtime, clock):
    add_units(runtime)
    _arm_timers(runtime)
    url = runtime.db.url
    now = clock.now() + timedelta(days=1)
    rng = random.Random(20261122)
    mid_work_kills, done = 0, 0
    while done < DOSSIERS:
        worker = _worker(url, now)
        done = _kill_after_progress(worker, runtime, done, rng.randint(1, 6))
        mid_work_kills += done < DOSSIERS
        now += timedelta(minutes=3)  # past the 2-minute lease the killed worker may hold
    # A last worker sweeps up whatever a killed one had leased, then exits.
    final = subprocess.run(
        [str(MOTCUA), "worker", "--once", "--now", now.isoformat()],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stderr

    assert mid_work_kills >= 3
    events = _timer_events(runtime)
    assert len(events) == DOSSIERS and set(events.values()) == {1}, events
    with runtime.db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(DossierRecord).where(DossierRecord.next_timer_at.is_not(None)))
            == 0
        )
        definition = s.scalars(select(ProcessDefinitionRecord)).one()
        bundle = runtime.bundle_for(s, definition)
        calendar = runtime.calendars.for_unit(s, "00070")
        for d in s.scalars(select(DossierRecord)):
            run = runner.load(bundle, d.state, runtime.clock, script_engine_for(calendar, runtime.clock))
            assert run.completed_element_ids().count("nhac_viec") == 1
            assert [t.element_id for t in run.human_tasks()] == ["tham_dinh"]
