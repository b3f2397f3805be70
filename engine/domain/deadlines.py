"""Deadlines of a dossier and its steps, in working time: the clock-start rule, the legal limit
(a working duration, or "same day"), the appointment, pauses that stop the clock, step budgets and
warnings, early / on time / late.

Standard library only; every function takes the unit's WorkingCalendar.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime
from datetime import time

from engine.domain.calendar import DEFAULT_PERIODS
from engine.domain.calendar import MINUTES_PER_DAY
from engine.domain.calendar import Periods
from engine.domain.calendar import WorkingCalendar
from engine.domain.errors import InvalidAction
from engine.domain.model import Classification

_SHORT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(d|h|m|ngày|giờ|phút)\s*$", re.IGNORECASE)
_ISO = re.compile(r"^P(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?)?$", re.IGNORECASE)
_UNIT_MINUTES = {"d": MINUTES_PER_DAY, "ngày": MINUTES_PER_DAY, "h": 60, "giờ": 60, "m": 1, "phút": 1}

#: The stored legal limit of a procedure settled on the day its clock starts ("giải quyết trong
#: ngày"): the appointment is the end of that working day, whatever time is left in it.
SAME_DAY = 0
#: What a modeller may write for it (compared without accents, case, spaces, '-' or '_').
_SAME_DAY_WORDS = frozenset({"sameday", "trongngay", "ngaytrongngay", "giaiquyettrongngay"})
SAME_DAY_TEXT = "same day"


def parse_working_duration(text: str) -> int:
    """Working minutes in '30m', '4h', '0.5d', '2d', '1d 4h', 'PT4H', 'P2D', 'P1DT4H' (a day = 8 working hours)."""
    parts = str(text).split() if text is not None else []
    if not parts:
        raise ValueError("a working duration is required (e.g. 4h, 0.5d, 2d or PT4H)")
    return sum(_one_duration(part, text) for part in parts)


def _one_duration(part: str, text) -> int:
    short = _SHORT.match(part)
    if short:
        return round(float(short.group(1).replace(",", ".")) * _UNIT_MINUTES[short.group(2).lower()])
    iso = _ISO.match(part.upper())
    if iso is None or part.upper() in ("P", "PT") or part.upper().endswith("T"):
        raise ValueError(f"{text!r} is not a working duration (use e.g. 4h, 0.5d, 2d or PT4H)")
    days, hours, minutes = (float(g.replace(",", ".")) if g else 0.0 for g in iso.groups())
    return round(days * MINUTES_PER_DAY + hours * 60 + minutes)


def format_working_duration(minutes: int) -> str:
    """480 -> '1d', 660 -> '1d 3h', 30 -> '30m'; negative values keep their sign."""
    sign, minutes = ("-", -minutes) if minutes < 0 else ("", minutes)
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{mins}m"] * bool(mins)
    return sign + (" ".join(parts) or "0m")


def is_same_day(legal_minutes: int | None) -> bool:
    """Whether a stored legal limit means "same day" (None means no limit at all)."""
    return legal_minutes == SAME_DAY


def parse_legal_limit(text: str) -> int:
    """A legal limit in working minutes: a working duration ('3d', '24h', 'P3D'), or 'same day' /
    'trong ngày' / any zero duration ('0d'), which give SAME_DAY."""
    if is_same_day_text(text):
        return SAME_DAY
    return parse_working_duration(text)


def is_same_day_text(text) -> bool:
    """'same day', 'Same-day', 'trong ngày', 'Trong ngay', 'ngay trong ngày' (not '0d': a duration)."""
    return _plain(text) in _SAME_DAY_WORDS


def format_legal_limit(minutes: int) -> str:
    """SAME_DAY -> 'same day'; otherwise the working duration ('3d', '1d 4h')."""
    return SAME_DAY_TEXT if is_same_day(minutes) else format_working_duration(minutes)


def _plain(text) -> str:
    decomposed = unicodedata.normalize("NFD", str(text or "").lower().replace("đ", "d"))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def same_day_budget(cutoff: time | None, periods: Periods = DEFAULT_PERIODS) -> int:
    """The working minutes a same-day procedure's steps may take together, so that a dossier
    received just before the cut-off is still done by the end of that day: the working time of a
    standard day left after the cut-off (15:00 on an 08:00-17:00 day -> 120); one working day
    without a cut-off."""
    if cutoff is None:
        return MINUTES_PER_DAY
    at = cutoff.hour * 60 + cutoff.minute
    return sum(end - max(start, at) for start, end in periods if end > at)


@dataclass(frozen=True)
class ClockStartRule:
    """When the legal clock starts for a dossier received at a given instant.

    cutoff: received at or after this local time, counting starts the next working day
        (e.g. 15:00 for certification and the 3-in-1 birth interconnection).
    last_hour_rule: received within the last working hour of the day, counting starts the next
        working day (Decree 297/2025 for portal dossiers).
    """

    cutoff: time | None = None
    last_hour_rule: bool = False


def clock_start(calendar: WorkingCalendar, received_at: datetime, rule: ClockStartRule = ClockStartRule()) -> datetime:
    """The instant from which the legal time counts."""
    start = calendar.next_working_instant(received_at)
    if not (rule.cutoff or rule.last_hour_rule):
        return start
    local = calendar.local(received_at)
    if start.date() != local.date():
        return start  # received on a day off or after hours: already the next working day
    late_by_cutoff = rule.cutoff is not None and local.time() >= rule.cutoff
    if late_by_cutoff or (rule.last_hour_rule and _in_last_working_hour(calendar, start)):
        return calendar.next_working_day_start(start.date())
    return start


def _in_last_working_hour(calendar: WorkingCalendar, start: datetime) -> bool:
    """Decree 297/2025: within one working hour of the end of the working day (16:00 counts)."""
    return calendar.between(start, calendar.end_of_working_day(start)) <= 60


Pause = tuple[datetime, "datetime | None"]


def merged_pauses(
    pauses: Iterable[Pause], now: datetime | None = None, since: datetime | None = None
) -> list[tuple[datetime, datetime]]:
    """The pauses as sorted, non-overlapping intervals, clipped to start no earlier than `since`.

    An open pause (end None) runs to `now`: the appointment is then provisional, what it would
    be if the citizen supplied the missing papers right now. Without `now` it is an error,
    because an open pause has no length yet.
    """
    spans = []
    for start, end in pauses:
        end = end if end is not None else now
        if end is None:
            raise ValueError("an open pause needs `now` to be measured")
        if since is not None:
            start = max(start, since)
        if end > start:
            spans.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def paused_minutes(
    calendar: WorkingCalendar, pauses: Iterable[Pause], now: datetime | None = None, since: datetime | None = None
) -> int:
    """Working minutes covered by the pauses (overlaps counted once; an open pause runs to `now`)."""
    return sum(calendar.between(start, end) for start, end in merged_pauses(pauses, now, since))


def extend_by_pauses(
    calendar: WorkingCalendar, start: datetime, minutes: int, pauses: Iterable[Pause] = (), now: datetime | None = None
) -> datetime:
    """`minutes` of working time from `start`, not counting the working time inside pauses.

    A pause counts only if it begins before the clock has run out: a pause after the due instant
    cannot give back time that was already over.
    """
    return calendar.add_excluding(start, minutes, merged_pauses(pauses, now, since=start))


def granted_minutes(calendar: WorkingCalendar, start: datetime, legal_minutes: int) -> int:
    """The working minutes the legal limit grants from the clock start: the limit itself, or for
    a same-day procedure what is left of the clock start's working day."""
    if is_same_day(legal_minutes):
        return calendar.between(start, calendar.end_of_working_day(start))
    return legal_minutes


def appointment(
    calendar: WorkingCalendar,
    received_at: datetime,
    legal_minutes: int,
    rule: ClockStartRule = ClockStartRule(),
    pauses: Iterable[Pause] = (),
    now: datetime | None = None,
) -> datetime:
    """The appointment (giờ hẹn trả): the legal time counted from the clock start (for SAME_DAY
    the end of the clock start's working day), moved later by the working time spent in pauses
    (supplement requested, financial obligation, any excluded period). An open pause is counted up
    to `now` (a provisional appointment); without `now` an open pause raises ValueError."""
    start = clock_start(calendar, received_at, rule)
    return _appointment_from(calendar, start, legal_minutes, pauses, now)


def _appointment_from(
    calendar: WorkingCalendar, start: datetime, legal_minutes: int, pauses: Iterable[Pause], now: datetime | None
) -> datetime:
    return extend_by_pauses(calendar, start, granted_minutes(calendar, start, legal_minutes), pauses, now)


def after_pause(
    calendar: WorkingCalendar, appointment_at: datetime, paused_from: datetime, paused_to: datetime
) -> datetime:
    """An appointment already set, moved later by the working time of a pause that has just
    ended (the same for a same-day limit: its time was fixed when the clock started)."""
    return calendar.add(appointment_at, max(0, calendar.between(paused_from, paused_to)))


def step_due(calendar: WorkingCalendar, start: datetime, budget_minutes: int) -> datetime:
    """When a step with a budget of working minutes, started at `start`, is due."""
    return calendar.add(start, budget_minutes)


def group_due(calendar: WorkingCalendar, group_started_at: datetime, group_budget_minutes: int) -> datetime:
    """The due of every step in a shared budget group: the group's budget counts from the moment
    its first step was created, so the steps share one due instead of each getting the budget."""
    return step_due(calendar, group_started_at, group_budget_minutes)


def warn_time(calendar: WorkingCalendar, start: datetime, budget_minutes: int, warn_at: str | None) -> datetime | None:
    """'75%' of the budget after start, or a working duration ('2h') before due."""
    if not warn_at or budget_minutes <= 0:
        return None
    text = warn_at.strip()
    if text.endswith("%"):
        share = float(text[:-1]) / 100
        if not 0 < share < 1:
            raise ValueError(f"warnAt {warn_at!r} must be between 0% and 100%")
        return calendar.add(start, round(budget_minutes * share))
    before = parse_working_duration(text)
    return calendar.add(start, max(0, budget_minutes - before))


def classify(calendar: WorkingCalendar, due_at: datetime, completed_at: datetime) -> tuple[Classification, int]:
    """Early / on time / late, with the working-time margin (positive = time to spare).

    Late: completed after the due instant. On time: on the due instant's working day, not after
    it. Early: on an earlier working day.
    """
    margin = calendar.between(completed_at, due_at)
    if completed_at > due_at:
        return Classification.LATE, margin
    if calendar.local(completed_at).date() >= calendar.local(due_at).date():
        return Classification.ON_TIME, margin
    return Classification.EARLY, margin


def projected_finish(calendar: WorkingCalendar, now: datetime, remaining_minutes: int) -> datetime:
    """When the dossier would be done if the remaining steps each used their whole budget."""
    return calendar.add(now, remaining_minutes)


def remaining_fits(
    calendar: WorkingCalendar, now: datetime, remaining_budget_minutes: int, appointment_at: datetime
) -> bool:
    """Whether the remaining steps' budgets still fit before the appointment."""
    return projected_finish(calendar, now, remaining_budget_minutes) <= appointment_at


def will_miss(calendar: WorkingCalendar, now: datetime, remaining_minutes: int, appointment_at: datetime) -> bool:
    """Whether the remaining steps' budgets no longer fit before the appointment."""
    return not remaining_fits(calendar, now, remaining_minutes, appointment_at)


def apology_deadline(calendar: WorkingCalendar, appointment_at: datetime) -> datetime:
    """The apology letter must be issued at least one working day before the appointment."""
    return calendar.add(appointment_at, -MINUTES_PER_DAY)


class ReappointmentError(InvalidAction, ValueError):
    pass


@dataclass(frozen=True)
class DossierClock:
    """The dates a dossier promises: the original appointment, and beside it the single
    re-appointment an apology letter may set (Mẫu 04); `appointment` is the one in force."""

    received_at: datetime
    clock_start: datetime
    legal_minutes: int  # SAME_DAY (0) for a same-day limit
    original_appointment: datetime
    re_appointment: datetime | None = None
    pauses: tuple[Pause, ...] = ()

    @classmethod
    def compute(
        cls,
        calendar: WorkingCalendar,
        received_at: datetime,
        legal_minutes: int,
        rule: ClockStartRule = ClockStartRule(),
        pauses: Iterable[Pause] = (),
        now: datetime | None = None,
    ) -> DossierClock:
        start = clock_start(calendar, received_at, rule)
        pauses = tuple(pauses)
        return cls(
            received_at,
            start,
            legal_minutes,
            _appointment_from(calendar, start, legal_minutes, pauses, now),
            pauses=pauses,
        )

    @property
    def appointment(self) -> datetime:
        return self.re_appointment or self.original_appointment

    effective_appointment = appointment

    def reappoint(self, new_appointment: datetime, now: datetime) -> DossierClock:
        """The appointment may move once, to a time still ahead and later than the original one
        (the apology letter promises the citizen a new date: a past one is no promise)."""
        if self.re_appointment is not None:
            raise ReappointmentError("the appointment has already been moved once")
        if new_appointment <= now:
            raise ReappointmentError("the new appointment must be later than now", field="new_appointment")
        if new_appointment <= self.original_appointment:
            raise ReappointmentError("a new appointment must be later than the original one", field="new_appointment")
        return replace(self, re_appointment=new_appointment)
