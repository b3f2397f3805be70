"""Sliding-window brakes against guessing: failed log-ins per user name and per address, every
citizen lookup per address and wrong lookups per dossier code. Hits live in the database, so every server
worker and every restart sees the same counts."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from engine.store import account_records
from engine.store.database import Session

WINDOW = timedelta(minutes=15)
WINDOW_MINUTES = int(WINDOW.total_seconds() // 60)


def blocked(s: Session, limits: dict[str, int], now: datetime, window: timedelta = WINDOW) -> bool:
    """Whether any bucket has reached its limit within the window."""
    since = now - window
    return any(account_records.hits_since(s, bucket, since) >= limit for bucket, limit in limits.items())


def hit(s: Session, buckets: list[str], now: datetime) -> None:
    for bucket in buckets:
        account_records.record_hit(s, bucket, now)


def forgive(s: Session, bucket: str, now: datetime) -> None:
    account_records.forget_hits(s, bucket, older_than=now - WINDOW)


def forget_expired(s: Session, now: datetime, window: timedelta = WINDOW) -> None:
    """Drop everyone's hits older than the longest window any brake uses (the table stays small)."""
    account_records.forget_expired_hits(s, older_than=now - max(window, WINDOW))
