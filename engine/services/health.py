"""Readiness as operators and load balancers read it (`/readyz`, `motcua status`): the database
answers, its schema is the one this code ships, some worker finished a pass recently, and the
outbox and incident backlogs are under their thresholds. Thresholds come from the environment
(deploy/README.md lists them)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.services.runtime import Runtime
from engine.store import migrate
from engine.store import operations_records as records


@dataclass(frozen=True)
class Thresholds:
    heartbeat_seconds: float = 300.0
    outbox_due: int = 500
    open_incidents: int = 50

    @classmethod
    def from_env(cls) -> Thresholds:
        return cls(
            float(os.environ.get("MOTCUA_READY_HEARTBEAT_SECONDS", cls.heartbeat_seconds)),
            int(os.environ.get("MOTCUA_READY_OUTBOX_DUE", cls.outbox_due)),
            int(os.environ.get("MOTCUA_READY_OPEN_INCIDENTS", cls.open_incidents)),
        )


def readiness(rt: Runtime, thresholds: Thresholds | None = None) -> dict:
    """{"ready": bool, "checks": {name: {"ok": bool, ...figures}}}; never raises."""
    thresholds = thresholds or Thresholds.from_env()
    checks = {"database": _database(rt)}
    if checks["database"]["ok"]:
        checks["migrations"] = _migrations(rt)
        checks.update(_backlogs(rt, thresholds))
    return {"ready": all(check["ok"] for check in checks.values()), "checks": checks}


def _database(rt: Runtime) -> dict:
    try:
        with rt.db.read_session() as s:
            records.ping(s)
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - an unreachable database is the answer, not an error
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _migrations(rt: Runtime) -> dict:
    current, head = migrate.current(rt.db.engine), migrate.head()
    return {"ok": current == head, "current": current, "head": head}


def _backlogs(rt: Runtime, thresholds: Thresholds) -> dict:
    now = rt.clock.now()
    with rt.db.read_session() as s:
        beat = records.latest_beat(s)
        outbox = records.outbox_backlog(s, now)
        incidents = records.count_by_status(s)
    age = (now - beat.beat_at).total_seconds() if beat else None
    open_incidents = incidents.get("open", 0)
    return {
        "worker": {
            "ok": age is not None and age <= thresholds.heartbeat_seconds,
            "last_beat_seconds_ago": None if age is None else round(age, 1),
            "worker_id": beat.worker_id if beat else None,
            "limit_seconds": thresholds.heartbeat_seconds,
        },
        "outbox": {"ok": outbox["due"] <= thresholds.outbox_due, **outbox, "limit_due": thresholds.outbox_due},
        "incidents": {
            "ok": open_incidents <= thresholds.open_incidents,
            "open": open_incidents,
            "retrying": incidents.get("retrying", 0),
            "limit_open": thresholds.open_incidents,
        },
    }
