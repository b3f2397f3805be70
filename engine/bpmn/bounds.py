"""The sane bounds a template's times must keep, checked before it is published (the
configurator's validation report turns each problem into a finding) and, for timer values
computed from a dossier's data, when the timer is armed (engine/bpmn/script_env.py).

A budget, a shared budget or a legal limit is one minute to ten years of working time (or a
written zero: a step waiting for the applicant spends none of the budget), an
escalation fires at most ten years after the due time, a warning is a share of the budget or a
working duration before it. A timer's literal value must parse as ISO 8601 (a duration, a
date-time from 1990 to 2100, or a cycle repeating at most MAX_CYCLE_REPETITIONS times, not faster
than once a minute), and a helper such as add_working_days may not be asked for more than ten
years. Beyond these, a template that passed every check could hang a dossier's start or the
worker (issue 12). Each check returns a Reason (None when the value is fine); the validator
turns it into a finding naming the element and the attribute.
"""

from __future__ import annotations

import ast
from datetime import datetime
from datetime import timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.domain.calendar import MAX_SPAN_MINUTES
from engine.domain.calendar import MAX_YEAR
from engine.domain.calendar import MIN_YEAR
from engine.domain.calendar import MINUTES_PER_DAY
from engine.domain.deadlines import format_working_duration
from engine.domain.deadlines import parse_working_duration
from engine.domain.errors import Reason
from engine.domain.errors import english

#: Ten calendar years, for timers (which count calendar time, not working time).
MAX_TIMER_SPAN = timedelta(days=3653)
MIN_CYCLE_INTERVAL = timedelta(minutes=1)
MAX_CYCLE_REPETITIONS = 1000
#: The helpers whose second argument is an amount of working time, and its unit in minutes.
SPAN_HELPERS = {"add_working_days": MINUTES_PER_DAY, "add_working_hours": 60}
_NOT_ISO = {
    "timeDuration": english("is not an ISO 8601 duration such as PT4H or P3D"),
    "timeDate": english("is not an ISO 8601 date-time such as 2030-01-01T08:00:00+07:00"),
    "timeCycle": english("is not an ISO 8601 cycle such as R3/PT1H"),
}


def working_duration_problem(text: str, minutes: int, minimum: int = 0) -> Reason | None:
    """Beyond ten years, or under `minimum` minutes. A written zero ('0h') stays allowed: it is
    how a step that waits for the applicant says it spends none of the budget."""
    if minutes > MAX_SPAN_MINUTES:
        return Reason.of(
            "is more than ten years of working time (at most %(limit)s)",
            limit=format_working_duration(MAX_SPAN_MINUTES),
        )
    if minutes < minimum and any(digit in text for digit in "123456789"):
        return Reason.of("is shorter than one minute")
    return None


def warn_at_problem(text: str) -> Reason | None:
    """warnAt is '75%' of the budget (strictly between 0% and 100%) or a working duration before due."""
    value = text.strip()
    if value.endswith("%"):
        try:
            share = float(value[:-1])
        except ValueError:
            share = None
        if share is not None and 0 < share < 100:
            return None
    else:
        try:
            return working_duration_problem(value, parse_working_duration(value))
        except (ValueError, OverflowError):
            pass
    return Reason.of(
        "is neither a percentage between %(low)s and %(high)s nor a working duration such as 2h", low="0%", high="100%"
    )


def timer_problem(tag: str, source: str) -> Reason | None:
    """The problem of a timer whose expression is a literal; None for computed values (a helper
    call, a variable), which the calendar and the sandbox bound when they run."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None  # the expression check reports it
    if not isinstance(node, ast.Constant):
        return None
    return timer_value_problem(tag, node.value)


def timer_value_problem(tag: str, value) -> Reason | None:
    """The problem of a timer's value, written in the template or computed when the dossier runs."""
    if not isinstance(value, str):
        return Reason.of("must give ISO 8601 text, not %(value)s", value=repr(value)[:80])
    try:
        return _literal_problem(tag, value.strip())
    except Exception:  # noqa: BLE001 - whatever SpiffWorkflow's parsers raise, the text is bad
        return Reason.of(_NOT_ISO[tag])


def _literal_problem(tag: str, text: str) -> Reason | None:
    if tag == "timeDuration":
        return _span_problem(_duration(text))
    if tag == "timeDate":
        return _date_problem(_date(text))
    return _cycle_problem(text)


def _duration(text: str) -> timedelta:
    """An ISO duration's length, months and years at their average length (SpiffWorkflow's own
    computation walks month by month and would itself hang on P99999999Y)."""
    if not text.upper().startswith("P"):
        raise ValueError(text)
    parts = TimerEventDefinition.parse_iso_duration(text)
    days = (
        parts.get("years", 0) * 365.25
        + parts.get("months", 0) * 30.44
        + parts.get("weeks", 0) * 7
        + parts.get("days", 0)
    )
    seconds = parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)
    if days > MAX_TIMER_SPAN.days * 2 or seconds > MAX_TIMER_SPAN.total_seconds() * 2:
        return MAX_TIMER_SPAN * 2  # far beyond the bound; timedelta itself overflows on some
    return timedelta(days=days, seconds=seconds)


def _date(text: str) -> datetime:
    if "W" in text.upper():
        return TimerEventDefinition.parse_iso_week(text)
    return datetime.fromisoformat(text)


def _span_problem(span: timedelta) -> Reason | None:
    if span > MAX_TIMER_SPAN:
        return Reason.of("is more than ten years")
    return None


def _date_problem(moment: datetime) -> Reason | None:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return Reason.of("falls outside %(first)s to %(last)s", first=MIN_YEAR, last=MAX_YEAR)
    return None


def _cycle_problem(text: str) -> Reason | None:
    if not text.upper().startswith("R"):
        raise ValueError(text)
    count, *ends = text[1:].replace("--", "/").split("/")
    if len(ends) not in (1, 2):
        raise ValueError(text)
    durations = [_duration(e) for e in ends if e.upper().startswith("P")]
    dates = [_date(e) for e in ends if not e.upper().startswith("P")]
    if len(durations) != 1:
        raise ValueError(text)
    if not count or int(count) > MAX_CYCLE_REPETITIONS:
        return Reason.of("repeats more than %(limit)s times", limit=MAX_CYCLE_REPETITIONS)
    if durations[0] < MIN_CYCLE_INTERVAL:
        return Reason.of("repeats faster than once a minute")
    return _span_problem(durations[0]) or next(filter(None, map(_date_problem, dates)), None)


def helper_span_problems(source: str, mode: str) -> list[tuple[str, Reason]]:
    """(helper, problem) for each call of a working-time helper with a literal amount beyond ten
    years, e.g. add_working_days(None, 1000000) in a condition, script or timer."""
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SPAN_HELPERS):
            continue
        amount = (
            node.args[1]
            if len(node.args) > 1
            else next((k.value for k in node.keywords if k.arg in ("days", "hours")), None)
        )
        if isinstance(amount, ast.UnaryOp) and isinstance(amount.op, ast.USub):
            amount = amount.operand
        if isinstance(amount, ast.Constant) and isinstance(amount.value, (int, float)):
            minutes = amount.value * SPAN_HELPERS[node.func.id]
            if not minutes <= MAX_SPAN_MINUTES:  # also NaN
                found.append(
                    (
                        node.func.id,
                        Reason.of("asks for %(amount)s, more than ten years of working time", amount=amount.value),
                    )
                )
    return found
