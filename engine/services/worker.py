"""The worker loop: fire due timers, run the SLA sweep and the apology forecast, route work of
absent officers, take dossiers submitted on the portal and alert the desk of those waiting, deliver
the outbox; every pass is idempotent, bounded by a watchdog, and ends
with a heartbeat that readiness checks read.

A failing dossier, step or message becomes an incident (engine.services.incidents) and never
stops the pass; a stop request (SIGTERM) or the pass deadline ends the pass between items, with
the leases of the batch in hand released."""

from __future__ import annotations

import logging
import threading
import time

from engine.services import absences
from engine.services import online_intake
from engine.services import outbox
from engine.services import results
from engine.services import service_calls
from engine.services import sla
from engine.services import timers
from engine.services.channels import Channel
from engine.services.runtime import Runtime
from engine.services.watchdog import StopRequested
from engine.services.watchdog import Watchdog
from engine.store import operations_records

log = logging.getLogger("motcua.worker")


def run_once(
    rt: Runtime, channels: dict[str, Channel], batch: int = 50, watchdog: Watchdog | None = None
) -> dict[str, int]:
    """One pass over everything due now (or until the watchdog ends it); returns what was done."""
    watchdog = watchdog or Watchdog()
    started = time.monotonic()
    done = {"timers": 0}
    try:
        _pass(rt, channels, batch, watchdog, done)
    except StopRequested:
        pass  # the interrupted batch was rolled back; the next worker does it
    done["cut_short"] = int(watchdog.cut_short)
    _heartbeat(rt, time.monotonic() - started, done)
    return done


def _pass(rt: Runtime, channels: dict[str, Channel], batch: int, watchdog: Watchdog, done: dict) -> None:
    while not watchdog.should_stop():
        fired, leased = timers.fire_due_batch(rt, batch, watchdog)
        done["timers"] += fired
        if leased < batch:
            break
    if not watchdog.should_stop():
        done["service_calls"] = service_calls.run_due(rt, batch, watchdog)
    _add(done, sla.sweep(rt, batch * 4, watchdog))
    if not watchdog.should_stop():
        _add(done, absences.route_to_substitutes(rt))
    if not watchdog.should_stop():  # dossiers submitted on the portal, and those waiting too long
        _add(done, online_intake.pull(rt))
        _add(done, online_intake.alert_waiting(rt))
    if not watchdog.should_stop():
        _add(done, results.issue_due(rt, batch, watchdog))
    _add(done, outbox.deliver_due(rt, channels, batch * 2, watchdog))


def _add(done: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        done[key] = done.get(key, 0) + value


def _heartbeat(rt: Runtime, seconds: float, done: dict[str, int]) -> None:
    with rt.db.session() as s:
        operations_records.beat(s, rt.worker_id, rt.clock.now(), round(seconds, 3), done)


def run_forever(
    rt: Runtime,
    channels: dict[str, Channel],
    *,
    poll_seconds: float = 5.0,
    stop: threading.Event | None = None,
    batch: int = 50,
    watchdog: Watchdog | None = None,
) -> None:
    """Pass after pass until the watchdog's stop is set; a stop during a pass ends it at the next item."""
    watchdog = watchdog or Watchdog(stop=stop)
    stop = watchdog.stop
    while not stop.is_set():
        try:
            done = run_once(rt, channels, batch, watchdog.restart())
            if any(done.values()):
                log.info("worker pass: %s", done)
        except Exception:  # keep serving; the failed pass is retried on the next poll
            log.exception("worker pass failed")
        stop.wait(poll_seconds)
    log.info("worker %s stopped", rt.worker_id)
