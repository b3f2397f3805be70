"""`motcua status` and `motcua incidents`: an operator sees readiness and the parked work, and
retries or resolves it."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from engine.clock import SystemClock
from engine.services import worker
from engine.services.delivery import default_channels
from engine.store.operations_records import IncidentRecord
from tests.engine.test_incidents import _break_state
from tests.engine.test_incidents import _dossiers_waiting_on_a_timer
from tests.factories import add_units
from web.cli import main


def _invoke(runtime, monkeypatch, *args):
    monkeypatch.setenv("DATABASE_URL", runtime.db.url)
    return CliRunner().invoke(main, list(args))


def test_status_is_not_ready_until_a_worker_has_beaten(runtime, monkeypatch):
    before = _invoke(runtime, monkeypatch, "status", "--json")
    report = json.loads(before.output)
    assert before.exit_code == 1 and report["checks"]["database"]["ok"] and report["checks"]["migrations"]["ok"]
    assert report["checks"]["worker"] == {
        "ok": False,
        "last_beat_seconds_ago": None,
        "worker_id": None,
        "limit_seconds": 300.0,
    }
    runtime.clock = SystemClock()  # `motcua status` compares the heartbeat with the real time
    worker.run_once(runtime, default_channels())
    after = _invoke(runtime, monkeypatch, "status")
    assert after.exit_code == 0 and after.output.startswith("ready"), after.output


def test_incidents_are_listed_retried_and_resolved(runtime, clock, monkeypatch):
    add_units(runtime)
    ids = _dossiers_waiting_on_a_timer(runtime, 2)
    _break_state(runtime, ids[0])
    clock.advance(timedelta(days=1))
    worker.run_once(runtime, default_channels())
    listed = _invoke(runtime, monkeypatch, "incidents", "list", "--json")
    [row] = [json.loads(line) for line in listed.output.splitlines()]
    assert (row["kind"], row["status"], row["dossier_id"], row["attempts"]) == ("timer", "retrying", ids[0], 1)

    retried = _invoke(runtime, monkeypatch, "incidents", "retry", str(row["id"]), "--by", "quan_tri")
    assert retried.exit_code == 0, retried.output
    resolved = _invoke(runtime, monkeypatch, "incidents", "resolve", str(row["id"]), "--by", "quan_tri")
    assert resolved.exit_code == 0 and "resolved" in resolved.output
    with runtime.db.read_session() as s:
        incident = s.scalar(select(IncidentRecord))
        assert (incident.status, incident.resolved_by, incident.resolution) == ("resolved", "quan_tri", "resolved")
    assert _invoke(runtime, monkeypatch, "incidents", "list").output.strip() == "no incidents"
    twice = _invoke(runtime, monkeypatch, "incidents", "resolve", str(row["id"]))
    assert twice.exit_code != 0 and "already resolved" in twice.output
