"""Working-time arithmetic on a unit's calendar: working days, working hours, holidays.

Instants map to a *working-time position*: the working minutes elapsed since the start of the
calendar's table. Adding working time is then one addition and one inverse lookup (bisect over
per-day cumulative minutes), whatever the distance, so a deadline costs microseconds.

Conventions (they are what the slip prints):
- counting from an instant outside working hours starts at the next working instant;
- a result that lands exactly at the end of a working period stays there (17:00, not the next
  morning's 08:00; 12:00, not 13:00);
- 1 working day = 8 working hours (MINUTES_PER_DAY), whatever a unit's actual hours;
- instants may be in any time zone (they must be aware); results are in the calendar's zone,
  and nothing depends on the server's own zone (TZ).

The table covers `first_year..last_year` and grows (forwards or backwards) the first time an
instant outside it is asked about; each growth at least doubles the years covered, so reaching a
far date costs time linear in the days covered, never quadratic. The calendar computes only
inside MIN_YEAR..MAX_YEAR and spans of at most MAX_SPAN_MINUTES (ten years of working time):
beyond that it raises CalendarBoundsError (a ValueError) instead of building tables for
centuries, since no administrative deadline needs them and a template asking for them is a
mistake or an attack.

Standard library only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 8 * 60
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
#: Working periods as (start, end) minutes after midnight: 08:00-12:00 and 13:00-17:00.
DEFAULT_PERIODS: tuple[tuple[int, int], ...] = ((8 * 60, 12 * 60), (13 * 60, 17 * 60))
WORKING_WEEKDAYS = frozenset(range(5))  # Monday to Friday (Decision 188/1999/QĐ-TTg)
_YEARS_PER_EXTENSION = 2
#: The years a calendar computes in: dossiers are received from 1990 on, and nothing is due after 2100.
MIN_YEAR, MAX_YEAR = 1990, 2100
#: Ten years of Monday-to-Friday working days, in working minutes: the longest span computed.
MAX_SPAN_MINUTES = 10 * 261 * MINUTES_PER_DAY
_MIN_SPAN = -MAX_SPAN_MINUTES

Periods = tuple[tuple[int, int], ...]


def parse_periods(text: str) -> Periods:
    """'08:00-12:00,13:00-17:00' -> ((480, 720), (780, 1020))."""
    periods = []
    for part in text.split(","):
        start, end = (time.fromisoformat(x.strip()) for x in part.split("-"))
        periods.append((start.hour * 60 + start.minute, end.hour * 60 + end.minute))
    return _checked(tuple(periods))


def format_periods(periods: Periods) -> str:
    return ",".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in periods)


class CalendarBoundsError(ValueError):
    """A date outside MIN_YEAR..MAX_YEAR or a span over MAX_SPAN_MINUTES was asked for."""


def check_span(minutes: float) -> None:
    """Refuse a working-time span longer than ten years (either way), or not a number."""
    if not abs(minutes) <= MAX_SPAN_MINUTES:
        raise CalendarBoundsError(
            f"a working-time span of {minutes / MINUTES_PER_DAY:g} working days is more than ten years "
            f"({MAX_SPAN_MINUTES // MINUTES_PER_DAY} working days)"
        )


def check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarBoundsError(f"the calendar computes dates from {MIN_YEAR} to {MAX_YEAR}, not in {year}")


def _checked(periods: Periods) -> Periods:
    previous_end = 0
    for start, end in periods:
        if not (previous_end <= start < end <= 24 * 60):
            raise ValueError(f"working periods must be ordered and not overlap: {format_periods(periods)}")
        previous_end = end
    return periods


#: No instant: what `WorkingCalendar.position` remembers before it is asked.
_NOTHING = object()


class WorkingCalendar:
    """Working days and hours of one unit, in the unit's time zone."""

    def __init__(
        self,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        periods: Periods = DEFAULT_PERIODS,
        weekday_periods: Mapping[int, Periods] | None = None,
        working_weekdays: Iterable[int] = WORKING_WEEKDAYS,
        days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        reasons: Mapping[date, str] | None = None,
        first_year: int = 2020,
        last_year: int = 2035,
    ):
        """`weekday_periods` gives some weekdays their own hours (0 = Monday); a weekday listed
        there with periods is a working weekday even if not in `working_weekdays`, so an office
        open on Saturday mornings is `weekday_periods={5: ((480, 720),)}`; an empty tuple closes
        that weekday."""
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.periods = _checked(tuple(periods))
        self.weekday_periods = {wd: _checked(tuple(p)) for wd, p in (weekday_periods or {}).items()}
        self.working_weekdays = frozenset(
            (set(working_weekdays) | {wd for wd, p in self.weekday_periods.items() if p})
            - {wd for wd, p in self.weekday_periods.items() if not p}
        )
        self.days_off = frozenset(days_off)
        self.extra_working_days = frozenset(extra_working_days)
        self.reasons = dict(reasons or {})
        if first_year > last_year:
            raise ValueError(f"the calendar's years are backwards: {first_year}..{last_year}")
        #: Day rows built so far, over every growth of the table (tests bound the work with it).
        self.rows_built = 0
        #: The last two instants `position` was asked for, their positions, and the table they
        #: count in (a change asks for its `now` several times: the step it closes and that
        #: step's verdict, the new step's due and warning times).
        self._positions: tuple = (_NOTHING, 0.0, _NOTHING, 0.0, None)
        self._build(max(first_year, MIN_YEAR), min(last_year, MAX_YEAR))

    # -- the day table -------------------------------------------------------------------------
    def _build(self, first_year: int, last_year: int) -> None:
        """Per-day periods and cumulative working minutes, one row per calendar day.

        The rows are built aside and swapped in at once, so a thread reading the old table while
        another grows it never sees half a table.
        """
        first = date(first_year, 1, 1)
        first_ordinal = first.toordinal()
        day_periods: list[Periods] = []
        starts: list[int] = []  # working minutes before each day
        ends: list[int] = []  # working minutes up to the end of each day
        total = 0
        for ordinal in range(first_ordinal, date(last_year, 12, 31).toordinal() + 1):
            periods = self.periods_on(date.fromordinal(ordinal))
            day_periods.append(periods)
            starts.append(total)
            total += sum(end - start for start, end in periods)
            ends.append(total)
        self.rows_built += len(starts)
        (self._first, self._first_ordinal, self._day_periods, self._starts, self._ends, self._last_year) = (
            first,
            first_ordinal,
            day_periods,
            starts,
            ends,
            last_year,
        )

    def _index(self, day: date) -> int:
        """The table row of `day`, growing the table when the day is outside it."""
        index = day.toordinal() - self._first_ordinal
        if index < 0:
            check_year(day.year)
            self._build(
                max(MIN_YEAR, min(day.year - _YEARS_PER_EXTENSION, self._first.year - self._span_years())),
                self._last_year,
            )
            return day.toordinal() - self._first_ordinal
        if index >= len(self._starts):
            check_year(day.year)
            self._build(
                self._first.year,
                min(MAX_YEAR, max(day.year + _YEARS_PER_EXTENSION, self._last_year + self._span_years())),
            )
        return index

    @property
    def table_days(self) -> int:
        """How many days the table covers now."""
        return len(self._starts)

    def _span_years(self) -> int:
        """How many years one growth adds: as many as the table has, so growing stays linear."""
        return max(_YEARS_PER_EXTENSION, self._last_year - self._first.year + 1)

    def _extend_backwards(self) -> None:
        if self._first.year <= MIN_YEAR:
            raise CalendarBoundsError(
                f"the calendar computes dates from {MIN_YEAR} to {MAX_YEAR}, "
                f"and this one has no working time left before {MIN_YEAR}"
            )
        self._build(max(MIN_YEAR, self._first.year - self._span_years()), self._last_year)

    def _extend_forwards(self) -> None:
        if self._last_year >= MAX_YEAR:
            raise CalendarBoundsError(
                f"the calendar computes dates from {MIN_YEAR} to {MAX_YEAR}, "
                f"and this one has no working time left before {MAX_YEAR + 1}"
            )
        self._build(self._first.year, min(MAX_YEAR, self._last_year + self._span_years()))

    # -- days ---------------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        return day.weekday() in self.working_weekdays and day not in self.days_off

    def periods_on(self, day: date) -> Periods:
        if not self.is_working_day(day):
            return ()
        return self.weekday_periods.get(day.weekday(), self.periods)

    def reason(self, day: date) -> str | None:
        """Why a day is off or an extra working day (holiday name, announcement), if known."""
        if day in self.reasons:
            return self.reasons[day]
        if day.weekday() not in self.working_weekdays and day not in self.extra_working_days:
            return "cuối tuần"
        return None

    def working_days(self, date_from: date, date_to: date) -> list[date]:
        """The working days from `date_from` to `date_to`, both included."""
        check_year(date_from.year)
        check_year(date_to.year)
        return [
            date.fromordinal(o)
            for o in range(date_from.toordinal(), date_to.toordinal() + 1)
            if self.is_working_day(date.fromordinal(o))
        ]

    def working_minutes_on(self, day: date) -> int:
        index = self._index(day)
        return self._ends[index] - self._starts[index]

    # -- instants -----------------------------------------------------------------------------
    def local(self, instant: datetime) -> datetime:
        """`instant` in the calendar's zone (never the server's: naive instants are refused)."""
        if instant.tzinfo is self.tz:
            return instant
        if instant.tzinfo is None:
            raise ValueError("calendar arithmetic needs timezone-aware instants")
        return instant.astimezone(self.tz)

    def position(self, instant: datetime) -> float:
        """Working minutes from the table's start to `instant` (fractions are seconds)."""
        remembered, starts = self._positions, self._starts
        if remembered[4] is starts:
            if remembered[0] is instant:
                return remembered[1]
            if remembered[2] is instant:
                return remembered[3]
        position = self._position(instant)
        if self._starts is starts:  # counted in the table read before (not grown meanwhile)
            if remembered[4] is not starts:
                remembered = (_NOTHING, 0.0, _NOTHING, 0.0, starts)
            self._positions = (instant, position, remembered[0], remembered[1], starts)
        return position

    def _position(self, instant: datetime) -> float:
        local = self.local(instant)
        index = local.toordinal() - self._first_ordinal
        if not 0 <= index < len(self._starts):
            index = self._index(local.date())
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
        worked = 0.0
        for start, end in self._day_periods[index]:
            if minute <= start:
                break
            worked += (end if minute > end else minute) - start
        return self._starts[index] + worked

    def instant_at(self, position: float) -> datetime:
        """The earliest instant at which `position` working minutes have elapsed."""
        while position > self._ends[-1]:
            self._extend_forwards()
        index = bisect_left(self._ends, position)
        while self._ends[index] == self._starts[index]:  # only at position 0 before a day off
            index += 1
            if index >= len(self._ends):
                self._extend_forwards()
        offset = position - self._starts[index]
        day = date.fromordinal(self._first_ordinal + index)
        for start, end in self._day_periods[index]:
            if offset <= end - start:
                return self._at(day, start + offset)
            offset -= end - start
        raise AssertionError("position beyond the day's periods")  # pragma: no cover

    def _at(self, day: date, minute: float) -> datetime:
        whole = int(minute)
        if whole == minute and whole < 24 * 60:  # the common case: whole minutes
            return datetime(day.year, day.month, day.day, whole // 60, whole % 60, tzinfo=self.tz)
        seconds = round((minute - whole) * 60, 6)
        base = datetime.combine(day, time(0), tzinfo=self.tz)
        return base + timedelta(minutes=whole, seconds=seconds)

    def add(self, start: datetime, minutes: float) -> datetime:
        """`start` plus `minutes` of working time (negative goes back).

        Counting from outside working hours starts at the next working instant; a result that
        lands on the end of a period stays there (the slip prints 17:00, not 08:00 next day).
        Adding 0 gives the next working instant.
        """
        if not _MIN_SPAN <= minutes <= MAX_SPAN_MINUTES:  # inline: add() is the hot path
            check_span(minutes)
        if minutes == 0:
            return self.next_working_instant(start)
        target = self.position(start) + minutes
        while target <= 0:  # before the table's first working minute: grow it backwards
            self._extend_backwards()
            target = self.position(start) + minutes
        return self.instant_at(target)

    def add_excluding(self, start: datetime, minutes: float, excluded: Iterable[tuple[datetime, datetime]]) -> datetime:
        """`start` plus `minutes` of working time that does not count the working time inside
        `excluded` intervals (sorted, not overlapping, none before `start`). An interval counts
        only if it begins before the time has run out."""
        if not _MIN_SPAN <= minutes <= MAX_SPAN_MINUTES:
            check_span(minutes)
        start_position = self.position(start)
        target = start_position + minutes
        for interval_start, interval_end in excluded:
            begins = self.position(interval_start)
            if begins >= target:  # starts at or after the due instant: nothing to give back
                break
            target += self.position(interval_end) - begins
        if target == start_position:  # no working time at all: as add(start, 0)
            return self.next_working_instant(start)
        return self.instant_at(target) if target > 0 else self.add(start, minutes)

    def next_working_day_start(self, day: date) -> datetime:
        """The start of the first working period on a working day after `day`."""
        index = self._index(day) + 1
        while True:  # linear in the days off that follow; growth stops at MAX_YEAR
            if index >= len(self._starts):
                self._extend_forwards()  # forwards only: `index` stays the same day
            if self._day_periods[index]:
                return self._at(date.fromordinal(self._first_ordinal + index), self._day_periods[index][0][0])
            index += 1

    def between(self, start: datetime, end: datetime) -> int:
        """Working minutes from `start` to `end` (negative when end is earlier)."""
        start_position = self.position(start)
        first = self._first_ordinal
        end_position = self.position(end)
        if self._first_ordinal != first:  # `end` grew the table backwards: positions moved
            start_position = self.position(start)
        return round(end_position - start_position)

    def is_working_instant(self, instant: datetime) -> bool:
        local = self.local(instant)
        minute = local.hour * 60 + local.minute + local.second / 60
        index = self._index(local.date())  # first: it may grow the table
        return any(start <= minute < end for start, end in self._day_periods[index])

    def next_working_instant(self, instant: datetime) -> datetime:
        """`instant` itself during working hours, else the start of the next working period."""
        local = self.local(instant)
        day = local.date()
        minute = local.hour * 60 + local.minute + local.second / 60
        index = self._index(day)  # first: it may grow the table
        for start, end in self._day_periods[index]:
            if minute < start:
                return self._at(day, start)
            if minute < end:
                return local
        return self.next_working_day_start(day)

    def end_of_working_day(self, instant: datetime) -> datetime:
        """The end of the last period of the working day `instant` falls on (or the next one)."""
        first = self.next_working_instant(instant)
        day = first.date()
        index = self._index(day)
        return self._at(day, self._day_periods[index][-1][1])
