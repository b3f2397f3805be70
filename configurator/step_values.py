"""The editor panel's values of one step, checked as they are typed, by the rules a saved template's
steps are checked by (configurator.validation): a budget is a working duration of at least a
minute, a warning is a share of the budget or a duration before due, an escalation's delay a
working duration."""

from __future__ import annotations

from collections.abc import Mapping

from engine.bpmn import bounds
from engine.domain.deadlines import parse_working_duration
from engine.domain.errors import Reason


def problems(values: Mapping[str, str | list[str]]) -> dict[str, Reason]:
    """field -> why its value is refused, for `budget`, `warnAt` and each escalation's `after-N`;
    empty values are not checked (the template's default applies)."""
    found: dict[str, Reason] = {}
    budget = _text(values.get("budget"))
    if budget:
        _keep(found, "budget", _duration_problem(budget, minimum=1))
    warn_at = _text(values.get("warnAt"))
    if warn_at:
        _keep(found, "warnAt", _quoted(warn_at, bounds.warn_at_problem(warn_at)))
    afters = values.get("after") or []
    for index, after in enumerate([afters] if isinstance(afters, str) else afters):
        if _text(after):
            _keep(found, f"after-{index}", _duration_problem(after.strip(), minimum=0))
    return found


def _duration_problem(text: str, *, minimum: int) -> Reason | None:
    try:
        minutes = parse_working_duration(text)
    except (ValueError, OverflowError):
        return Reason.of("'%(text)s' is not a working duration like 4h, 0.5d or 2d", text=text)
    return _quoted(text, bounds.working_duration_problem(text, minutes, minimum))


def _quoted(text: str, problem: Reason | None) -> Reason | None:
    return None if problem is None else Reason.of("'%(text)s' %(problem)s", text=text, problem=problem)


def _keep(found: dict, name: str, problem: Reason | None) -> None:
    if problem is not None:
        found[name] = problem


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""
