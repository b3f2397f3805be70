"""The helpers a template's expressions may call, bound to the dossier's calendar and clock."""

from __future__ import annotations

from datetime import datetime

from engine.bpmn.script_env import ScriptEngine
from engine.bpmn.script_env import make_script_engine
from engine.clock import Clock
from engine.domain.calendar import MINUTES_PER_DAY
from engine.domain.calendar import check_span


def _instant(value, clock: Clock) -> datetime:
    if value is None:
        return clock.now()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        raise ValueError("instants in expressions need a UTC offset, e.g. 2026-01-05T08:00:00+07:00")
    return value


def _minutes(amount, minutes_per_unit: int) -> int:
    """`amount` units of working time in minutes, refused (naming the span) beyond ten years."""
    minutes = float(amount) * minutes_per_unit
    check_span(minutes)  # before round(), which raises OverflowError on inf; NaN is refused too
    return round(minutes)


def helpers_for(calendar, clock: Clock) -> dict:
    """Whitelisted helpers; results are ISO-8601 text with an offset, as BPMN timers require."""

    def now() -> str:
        return clock.now().astimezone(calendar.tz).isoformat()

    def add_working_days(start=None, days=1) -> str:
        return calendar.add(_instant(start, clock), _minutes(days, MINUTES_PER_DAY)).isoformat()

    def add_working_hours(start=None, hours=1) -> str:
        return calendar.add(_instant(start, clock), _minutes(hours, 60)).isoformat()

    def working_days_between(start, end) -> float:
        return calendar.between(_instant(start, clock), _instant(end, clock)) / MINUTES_PER_DAY

    return {
        "now": now,
        "add_working_days": add_working_days,
        "add_working_hours": add_working_hours,
        "working_days_between": working_days_between,
    }


def script_engine_for(calendar, clock: Clock) -> ScriptEngine:
    return make_script_engine(helpers_for(calendar, clock))
