"""Makes SpiffWorkflow's timers read the engine's clock instead of the wall clock.

SpiffWorkflow 3.2 calls `datetime.now(timezone.utc)` inside its timer module and offers no hook,
so the module's `datetime` name is replaced once by a subclass whose `now()` asks the clock of
the operation in progress (a context variable), and falls back to the wall clock outside one.
"""

from __future__ import annotations

import contextvars
from datetime import UTC
from datetime import datetime

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module

from engine.clock import Clock

_current_clock: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("motcua_clock", default=None)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        clock = _current_clock.get()
        if clock is None:
            return datetime.now(tz)
        instant = clock.now()
        return instant.astimezone(tz) if tz else instant.astimezone().replace(tzinfo=None)


def install() -> None:
    if _timer_module.datetime is not _ClockedDatetime:
        _timer_module.datetime = _ClockedDatetime


class clock_in_use:
    """Within this block SpiffWorkflow timers see `clock`. A class, not a generator: it wraps
    every operation on a workflow, and contextlib's wrapper costs several calls more."""

    __slots__ = ("clock", "token")

    def __init__(self, clock: Clock):
        self.clock = clock

    def __enter__(self) -> None:
        install()
        self.token = _current_clock.set(self.clock)

    def __exit__(self, *exc) -> None:
        _current_clock.reset(self.token)


def parse_due(value: str) -> datetime:
    """A PendingBpmnEvent value (ISO text) as an aware UTC instant."""
    due = datetime.fromisoformat(value)
    if due.tzinfo is None:
        due = due.replace(tzinfo=_timer_module.LOCALTZ)
    return due.astimezone(UTC)


install()
