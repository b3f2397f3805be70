"""`motcua serve --with-worker` (what `make run` starts): a real worker process runs beside the
server on the same database, fires what falls due, and stops cleanly with the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from engine.services import dossiers
from engine.store.records import AuditEventRecord
from engine.store.records import WorkItemRecord
from tests.factories import RECEPTION
from tests.factories import add_units
from tests.factories import deploy_fixture
from web import cli

MOTCUA = Path(sys.executable).with_name("motcua")


def _arm_a_timer(rt) -> int:
    definition = deploy_fixture(rt, "five_steps")
    dossier = dossiers.start_dossier(
        rt, definition_id=definition.id, unit_code="00070", applicant_name="Công dân", actor=RECEPTION
    )
    with rt.db.session() as s:
        item_id = s.scalar(select(WorkItemRecord.id).where(WorkItemRecord.dossier_id == dossier.id))
    dossiers.complete_work_item(rt, item_id, RECEPTION, {})  # arms the step's boundary timer
    return dossier.id


def _timer_fired(rt, dossier_id: int) -> bool:
    with rt.db.read_session() as s:
        return (
            s.scalar(
                select(AuditEventRecord.id).where(
                    AuditEventRecord.dossier_id == dossier_id, AuditEventRecord.action == "timer"
                )
            )
            is not None
        )


def test_the_worker_beside_the_server_fires_due_timers_and_stops_with_it(runtime, clock, monkeypatch):
    add_units(runtime)
    dossier_id = _arm_a_timer(runtime)
    monkeypatch.setenv("DATABASE_URL", runtime.db.url)
    later = (clock.now() + timedelta(days=1)).isoformat()
    with cli.worker_beside(
        "--now", later, "--poll", "0.05", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ)
    ) as worker:
        deadline = time.monotonic() + 60
        while not _timer_fired(runtime, dossier_id) and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # polling a real process's progress; no test clock is involved
        assert worker.poll() is None, worker.stderr.read().decode()
    assert _timer_fired(runtime, dossier_id)
    assert worker.returncode == 0  # SIGTERM lets it finish and exit cleanly, not killed


def test_serve_with_worker_serves_while_the_worker_runs_and_stops_it_after(monkeypatch):
    events = []

    class FakeWorker:
        def __enter__(self):
            events.append("worker started")

        def __exit__(self, *exc):
            events.append("worker stopped")

    monkeypatch.setattr(cli, "worker_beside", FakeWorker)
    monkeypatch.setattr(cli, "_serve", lambda host, port, workers, threads: events.append(f"serving {host}:{port}"))
    answer = CliRunner().invoke(cli.main, ["serve", "--with-worker", "--port", "5005"])
    assert answer.exit_code == 0, answer.output
    assert events == ["worker started", "serving 127.0.0.1:5005", "worker stopped"]
    events.clear()
    CliRunner().invoke(cli.main, ["serve", "--port", "5005"])
    assert events == ["serving 127.0.0.1:5005"]  # without the flag no worker is started


def _gone(pid: int) -> bool:
    """The process has exited (a zombie waiting to be reaped counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_a_sigtermed_server_stops_its_worker(runtime, tmp_path):
    from engine.store.operations_records import WorkerHeartbeatRecord

    env = {**os.environ, "DATABASE_URL": runtime.db.url}
    log = (tmp_path / "serve.log").open("wb")
    with subprocess.Popen(
        [str(MOTCUA), "serve", "--with-worker", "--port", "0"], env=env, stdout=log, stderr=subprocess.STDOUT
    ) as server:
        deadline, beat = time.monotonic() + 60, None
        while beat is None and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for a real process's first pass; no test clock is involved
            with runtime.db.read_session() as s:
                beat = s.scalar(select(WorkerHeartbeatRecord))
        assert beat is not None, (tmp_path / "serve.log").read_text()
        worker_pid = int(beat.worker_id.rsplit(":", 1)[1])
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    log.close()
    deadline = time.monotonic() + 10
    while not _gone(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(worker_pid)


def test_a_served_worker_has_the_holiday_calendar_before_its_first_request(tmp_path):
    """The `holidays` package imports every country's module at its first use (about a second):
    a worker pays it while it boots, not inside the first dossier someone receives."""
    probe = "import sys, web.wsgi; print('holidays.countries.vietnam' in sys.modules)"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'motcua.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "True"


def test_a_served_worker_leaves_what_it_built_while_booting_out_of_the_collectors_walks(tmp_path):
    """web.wsgi freezes the boot heap (gc.freeze): a full collection during a request walks only
    what requests created since, not the modules and the app."""
    probe = "import gc, web.wsgi; print(gc.get_freeze_count() > 100_000)"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'motcua.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "True"
