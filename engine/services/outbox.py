"""The outbox: notifications written in the transaction of the change that caused them, and
delivered later by workers, with retries, backoff and a visible dead-letter state."""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timedelta

from engine import logs
from engine.services import incidents
from engine.services.channels import Channel
from engine.services.channels import ChannelOff
from engine.services.channels import Undeliverable
from engine.services.runtime import Runtime
from engine.services.watchdog import ItemTimedOut
from engine.services.watchdog import StopRequested
from engine.services.watchdog import Watchdog
from engine.store import leases
from engine.store import repositories
from engine.store.database import Session
from engine.store.records import OutboxRecord

log = logging.getLogger("motcua.outbox")

MAX_ATTEMPTS = 6
LEASE_TTL = timedelta(minutes=2)
#: How long a message waits while an earlier one of its recipient is still unsent (in-order channels).
BLOCKED_WAIT = timedelta(seconds=20)


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    dossier_id: int | None = None,
) -> None:
    """Add a message unless one with the same key exists (so a repeated effect sends once)."""
    repositories.insert_outbox_once(
        session,
        dedupe_key=key,
        dossier_id=dossier_id,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        status="pending",
        attempts=0,
        created_at=now,
        available_at=now,
        request_id=logs.request_id.get(),
    )


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8... minutes, capped at an hour."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def deliver_due(
    rt: Runtime, channels: dict[str, Channel], limit: int = 100, watchdog: Watchdog | None = None
) -> dict[str, int]:
    """Deliver a leased batch, each message on its own; when the watchdog ends the pass the rest
    of the batch is released for the next pass (or another worker)."""
    watchdog = watchdog or Watchdog.unbounded()
    counts = {"sent": 0, "retry": 0, "dead": 0}
    sent = []
    with rt.db.session() as s:
        ids = leases.lease(
            s,
            OutboxRecord,
            due_column=OutboxRecord.available_at,
            ready_filter=OutboxRecord.status == "pending",
            owner=rt.worker_id,
            now=rt.clock.now(),
            ttl=LEASE_TTL,
            limit=limit,
        )
    for index, message_id in enumerate(ids):
        if watchdog.should_stop():
            with rt.db.session() as s:
                leases.release(s, OutboxRecord, ids[index:], rt.worker_id)
            break
        try:
            outcome = _deliver_bounded(rt, channels, message_id, watchdog)
        except StopRequested:
            with rt.db.session() as s:
                leases.release(s, OutboxRecord, ids[index:], rt.worker_id)
            break
        if outcome:
            counts[outcome] = counts.get(outcome, 0) + 1  # "waiting" only when something waited
        if outcome == "sent":
            sent.append(message_id)
    if sent:  # a message an administrator sent again closes its incident once delivered
        with rt.db.session() as s:
            incidents.succeeded(s, "outbox", sent, rt.clock.now())
    return counts


def _deliver_bounded(rt: Runtime, channels, message_id: int, watchdog: Watchdog) -> str | None:
    try:
        with watchdog.item():
            return _deliver_one(rt, channels, message_id)
    except ItemTimedOut as exc:  # a channel that hangs (an SMTP server that never answers)
        return _record_failure(rt, message_id, exc)


def _deliver_one(rt: Runtime, channels, message_id: int) -> str | None:
    try:
        with rt.db.session() as s:
            message = s.get(OutboxRecord, message_id)
            now = rt.clock.now()
            if message is None or message.status != "pending" or not leases.holds_lease(message, rt.worker_id, now):
                return None
            channel = channels.get(message.channel)
            if channel is None:
                raise LookupError(f"no {message.channel!r} channel is configured")
            blocked = getattr(channel, "blocked", None)
            if blocked is not None and blocked(s, message):
                message.available_at = now + BLOCKED_WAIT
                message.lease_owner = message.lease_expires_at = None
                return "waiting"
            with logs.bound(request=message.request_id):
                channel.deliver(s, message, now)
                log.info("delivered %s message %s to %s", message.channel, message.id, message.recipient)
            message.status, message.sent_at, message.attempts = "sent", now, message.attempts + 1
            message.lease_owner = message.lease_expires_at = None
            return "sent"
    except StopRequested:
        raise
    except ChannelOff as off:
        return _record_off(rt, message_id, off)
    except Exception as exc:  # noqa: BLE001 - a failed delivery must never stop the worker
        return _record_failure(rt, message_id, exc)


def _record_off(rt: Runtime, message_id: int, off: ChannelOff) -> str:
    """No provider for the channel there: nothing to retry; `off` stays visible on the dossier."""
    with rt.db.session() as s:
        message = s.get(OutboxRecord, message_id)
        message.status, message.last_error = "off", str(off)[:2000]
        message.attempts += 1
        message.lease_owner = message.lease_expires_at = None
    return "off"


def _record_failure(rt: Runtime, message_id: int, exc: Exception) -> str:
    with rt.db.session() as s:
        message = s.get(OutboxRecord, message_id)
        now = rt.clock.now()
        message.attempts += 1
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        message.lease_owner = message.lease_expires_at = None
        if message.attempts >= MAX_ATTEMPTS or isinstance(exc, Undeliverable):
            message.status = "dead"
            incidents.open_now(
                s,
                incidents.Subject("outbox", message.id, dossier_id=message.dossier_id),
                message.last_error,
                message.attempts,
                now,
            )
            return "dead"
        message.available_at = now + backoff(message.attempts)
        return "retry"
