"""Will a dossier keep its appointment? The forecast behind the apology request and the at-risk list.

The dossier is projected to finish when its slowest open step is done and the steps after it have
each used their whole budget (the longest budgeted path to an end, which the caller measures on the
template). An open step that is on time is projected to finish at its due; a late one, now; a step
whose clock has not started (it starts when claimed), its whole budget from now. The forecast says
the dossier misses when that projection passes the appointment, and otherwise when (if nothing
moves) it will start to: the instant a step still open makes the rest no longer fit.

Standard library only; every function takes the unit's WorkingCalendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from engine.domain.calendar import WorkingCalendar
from engine.domain.deadlines import apology_deadline


@dataclass(frozen=True)
class OpenStepOutlook:
    """An open step as the forecast sees it."""

    element_id: str
    name: str
    due_at: datetime | None  # None: its clock starts when it is claimed
    budget_minutes: int  # its own budget (used while its clock has not started)
    after_minutes: int  # budgets of the longest path after it to an end


@dataclass(frozen=True)
class Forecast:
    appointment_at: datetime
    projected_finish: datetime
    misses: bool
    step: str | None  # the name of the step the projection hangs on
    element_id: str | None
    step_late_minutes: int  # how late that step already is, in working minutes
    remaining_minutes: int  # working minutes the remaining path needs from now
    minutes_left: int  # working minutes from now to the appointment (0 once it has passed)
    next_check_at: datetime | None  # while it fits: when it stops fitting if nothing moves
    apology_deadline: datetime  # the letter must be issued by then (one working day before)
    letter_overdue: bool  # that instant has passed: the letter is due at once
    appointment_passed: bool  # minutes_left is 0 because the appointment is over, not just no hours left

    def as_detail(self) -> dict:
        """The figures a leader is shown (why the apology is needed), as JSON-ready values."""
        return {
            "step": self.step,
            "element_id": self.element_id,
            "step_late_minutes": self.step_late_minutes,
            "remaining_minutes": self.remaining_minutes,
            "minutes_left": self.minutes_left,
            "projected_finish": self.projected_finish.isoformat(),
            "appointment_at": self.appointment_at.isoformat(),
            "apology_deadline": self.apology_deadline.isoformat(),
        }

    @classmethod
    def of_missed(cls, detail: dict, now: datetime) -> Forecast:
        """A forecast that missed, as as_detail gave it: its figures as of when it was made, what
        follows from the clock (the letter's deadline passed, the appointment passed) as of now."""
        appointment_at = datetime.fromisoformat(detail["appointment_at"])
        deadline = datetime.fromisoformat(detail["apology_deadline"])
        return cls(
            appointment_at,
            datetime.fromisoformat(detail["projected_finish"]),
            True,
            detail["step"],
            detail["element_id"],
            detail["step_late_minutes"],
            detail["remaining_minutes"],
            detail["minutes_left"],
            None,
            deadline,
            deadline <= now,
            appointment_at <= now,
        )


def forecast(
    calendar: WorkingCalendar, now: datetime, appointment_at: datetime, steps: Iterable[OpenStepOutlook]
) -> Forecast:
    """The dossier's forecast as of `now` (the caller leaves paused dossiers out: their clock stops)."""
    projections = [_project(calendar, now, appointment_at, step) for step in steps]
    deadline = apology_deadline(calendar, appointment_at)
    minutes_left = calendar.between(now, appointment_at) if appointment_at > now else 0
    if not projections:
        return Forecast(
            appointment_at,
            now,
            False,
            None,
            None,
            0,
            0,
            minutes_left,
            None,
            deadline,
            deadline <= now,
            appointment_at <= now,
        )
    slowest = max(projections, key=lambda p: (p.finish, p.remaining))
    misses = slowest.finish > appointment_at
    next_check = None if misses else min((p.stops_fitting_at for p in projections), default=None)
    return Forecast(
        appointment_at,
        slowest.finish,
        misses,
        slowest.step.name,
        slowest.step.element_id,
        slowest.late_minutes,
        slowest.remaining,
        minutes_left,
        next_check,
        deadline,
        deadline <= now,
        appointment_at <= now,
    )


@dataclass(frozen=True)
class _Projection:
    step: OpenStepOutlook
    finish: datetime  # when the dossier would be done if this step were the last one open
    remaining: int  # working minutes from now to `finish`
    late_minutes: int
    stops_fitting_at: datetime  # the instant past which this step still open makes the dossier miss


def _project(calendar: WorkingCalendar, now: datetime, appointment_at: datetime, step: OpenStepOutlook) -> _Projection:
    if step.due_at is None:  # not started: the whole budget counts from whenever it is claimed
        rest = step.budget_minutes + step.after_minutes
        return _Projection(step, calendar.add(now, rest), rest, 0, calendar.add(appointment_at, -rest))
    step_done = max(now, step.due_at)
    late = calendar.between(step.due_at, now) if now > step.due_at else 0
    finish = calendar.add(step_done, step.after_minutes)
    remaining = calendar.between(now, step_done) + step.after_minutes
    return _Projection(step, finish, remaining, late, calendar.add(appointment_at, -step.after_minutes))
