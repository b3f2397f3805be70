"""Workers stop within seconds on SIGTERM: the item in hand finishes (or, stuck, is rolled back
after a short grace), the rest of the batch is released at once, and nothing is lost or repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta

from sqlalchemy import select

from engine.services import timers
from engine.services.watchdog import Watchdog
from engine.store.operations_records import IncidentRecord
from engine.store.records import DossierRecord
from tests.engine.test_incidents import _dossiers_waiting_on_a_timer
from tests.engine.test_worker_kill import DOSSIERS
from tests.engine.test_worker_kill import MOTCUA
from tests.engine.test_worker_kill import _arm_timers
from tests.engine.test_worker_kill import _timer_events
from tests.factories import add_units


def test_a_sigtermed_worker_exits_within_seconds_and_leaves_no_lease(runtime, clock, tmp_path):
    add_units(runtime)
    _arm_timers(runtime)
    url, now = runtime.db.url, clock.now() + timedelta(days=1)
    err = (tmp_path / "worker.err").open("wb")
    worker = subprocess.Popen(
        [str(MOTCUA), "worker", "--now", now.isoformat(), "--poll", "0.01", "--batch", "3"],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    deadline = time.monotonic() + 60
    while sum(_timer_events(runtime).values()) < 4 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # polling a real process's progress; no test clock is involved
    asked = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, (tmp_path / "worker.err").read_text()
    err.close()
    # Seconds, not the item watchdog's 30 s nor the lease's two minutes: a loose bound, since a
    # 2-core CI machine under load took 5.8 s to start, stop and exit the worker's interpreter.
    assert time.monotonic() - asked < 20
    with runtime.db.read_session() as s:
        assert s.scalars(select(DossierRecord.id).where(DossierRecord.lease_owner.is_not(None))).all() == []

    # Released, not held for the lease's two minutes: a worker at the same instant does the rest.
    rest = subprocess.run(
        [str(MOTCUA), "worker", "--once", "--now", now.isoformat()],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rest.returncode == 0, rest.stderr
    events = _timer_events(runtime)
    assert len(events) == DOSSIERS and set(events.values()) == {1}


def test_a_stop_during_a_stuck_item_rolls_it_back_and_releases_the_batch_without_an_incident(
    runtime, clock, monkeypatch
):
    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 3)
    clock.advance(timedelta(days=1))
    watchdog = Watchdog(item_seconds=30)

    def stuck(rt, dossier_id):
        while True:
            pass  # never returns: only the stop's grace period ends it

    monkeypatch.setattr(timers, "fire_dossier_timers", stuck)
    previous = signal.signal(signal.SIGUSR1, lambda *_: watchdog.hurry(grace_seconds=0.2))
    try:
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1)).start()  # as SIGTERM would
        started = time.monotonic()
        assert timers.fire_due_timers(runtime, 10, watchdog) == 0
        assert time.monotonic() - started < 5
    finally:
        signal.signal(signal.SIGUSR1, previous)
    with runtime.db.read_session() as s:
        assert s.scalars(select(DossierRecord.id).where(DossierRecord.lease_owner.is_not(None))).all() == []
        assert s.scalars(select(IncidentRecord)).all() == []  # stopping is not the dossier's fault
        assert {
            d.id for d in s.scalars(select(DossierRecord).where(DossierRecord.next_timer_at <= clock.now()))
        } == set(ids)
