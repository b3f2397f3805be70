"""The worker loop: fire due timers, deliver the outbox; every pass is idempotent."""

from __future__ import annotations

import logging
import threading

from engine.services import absences
from engine.services import outbox
from engine.services import sla
from engine.services import timers
from engine.services.channels import Channel
from engine.services.runtime import Runtime

log = logging.getLogger("motcua.worker")


def run_once(rt: Runtime, channels: dict[str, Channel], batch: int = 50) -> dict[str, int]:
    """One pass over everything due now; returns what was done."""
    done = {"timers": 0}
    while True:
        fired = timers.fire_due_timers(rt, batch)
        done["timers"] += fired
        if fired < batch:
            break
    for key, value in sla.sweep(rt, batch * 4).items():
        done[key] = value
    for key, value in absences.route_to_substitutes(rt).items():
        done[key] = value
    for key, value in outbox.deliver_due(rt, channels, batch * 2).items():
        done[key] = done.get(key, 0) + value
    return done


def run_forever(rt: Runtime, channels: dict[str, Channel], *, poll_seconds: float = 5.0,
                stop: threading.Event | None = None, batch: int = 50) -> None:
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            done = run_once(rt, channels, batch)
            if any(done.values()):
                log.info("worker pass: %s", done)
        except Exception:  # keep serving; the failed pass is retried on the next poll
            log.exception("worker pass failed")
        stop.wait(poll_seconds)
