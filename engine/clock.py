"""The injected clock: every 'now' in the engine, its timers, workers and SLA comes from here."""

from __future__ import annotations

import os
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""


class SystemClock:
    """The wall clock, used in production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to: tests and simulations move it instead of sleeping."""

    def __init__(self, start: datetime):
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = _aware(instant)

    def advance(self, delta: timedelta | None = None, **kwargs) -> datetime:
        self._now = self._now + (delta if delta is not None else timedelta(**kwargs))
        return self._now


class AcceleratedClock:
    """Simulated time running `rate` times faster than the wall clock from a shared anchor: every
    process given the same anchor reads the same instant (load tests replaying a day in minutes)."""

    def __init__(self, start: datetime, rate: float, wall_anchor: datetime):
        if rate <= 0:
            raise ValueError("the simulated clock's rate must be positive")
        self.start, self.rate, self.wall_anchor = _aware(start), rate, _aware(wall_anchor)

    def now(self) -> datetime:
        return self.start + (datetime.now(UTC) - self.wall_anchor) * self.rate


#: `START,RATE,WALL_ANCHOR` (ISO instants with offsets, simulated seconds per real second): see clock_from_env.
SIMULATED_CLOCK_VARIABLE = "MOTCUA_SIMULATED_CLOCK"


def clock_from_env() -> Clock:
    """The wall clock, unless MOTCUA_SIMULATED_CLOCK asks for simulated time (load tests and
    simulations only: benchmarks/province_day.py). Refused in production, where it would put
    every deadline and audit time off."""
    setting = os.environ.get(SIMULATED_CLOCK_VARIABLE)
    if not setting:
        return SystemClock()
    if os.environ.get("MOTCUA_ENV") == "production":
        raise RuntimeError(f"{SIMULATED_CLOCK_VARIABLE} is for load tests; production runs on the wall clock")
    try:
        start, rate, anchor = (part.strip() for part in setting.split(","))
        return AcceleratedClock(datetime.fromisoformat(start), float(rate), datetime.fromisoformat(anchor))
    except ValueError as exc:
        raise ValueError(
            f"{SIMULATED_CLOCK_VARIABLE}={setting!r}: expected 'START,RATE,WALL_ANCHOR' "
            f"(ISO instants with offsets, a positive rate): {exc}"
        ) from None


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("clock instants must be timezone-aware")
    return instant.astimezone(UTC)
