"""Invariants of working-time arithmetic, over random instants and durations (hypothesis)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from engine.calendars import CalendarSettings
from engine.calendars import build_calendar
from engine.domain import deadlines
from engine.domain.calendar import MAX_SPAN_MINUTES
from engine.domain.calendar import CalendarBoundsError
from engine.domain.calendar import WorkingCalendar

CAL = build_calendar([CalendarSettings("VN")], [])
instants = st.datetimes(min_value=datetime(2024, 6, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
durations = st.integers(min_value=0, max_value=60 * 8 * 40)
# Generation can be slow on a loaded 2-core CI machine; that is not a failure of the calendar.
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(instants, durations)
def test_adding_then_measuring_gives_back_the_working_time(start, minutes):
    assert CAL.between(start, CAL.add(start, minutes)) == minutes


@FAST
@given(instants, st.integers(min_value=1, max_value=60 * 8 * 40))
def test_due_times_fall_inside_working_hours_or_on_a_period_end(start, minutes):
    due = CAL.add(start, minutes)
    local = due.astimezone(CAL.tz)
    minute = local.hour * 60 + local.minute
    periods = CAL.periods_on(local.date())
    assert any(s < minute <= e for s, e in periods), local


@FAST
@given(instants, durations, durations)
def test_more_time_never_gives_an_earlier_instant(start, a, b):
    low, high = sorted((a, b))
    assert CAL.add(start, low) <= CAL.add(start, high)


@FAST
@given(instants, durations, instants)
def test_a_pause_of_zero_length_changes_nothing(received, minutes, pause_at):
    plain = deadlines.appointment(CAL, received, minutes)
    assert deadlines.appointment(CAL, received, minutes, pauses=[(pause_at, pause_at)]) == plain


@FAST
@given(instants, instants)
def test_between_is_antisymmetric(a, b):
    assert CAL.between(a, b) == -CAL.between(b, a)


@FAST
@given(instants)
def test_the_next_working_instant_is_never_earlier_and_is_working(t):
    nxt = CAL.next_working_instant(t)
    assert nxt >= t and CAL.is_working_instant(nxt)
    assert nxt - t < timedelta(days=15)


@FAST
@given(instants, durations, instants, st.integers(min_value=0, max_value=60 * 24 * 20))
def test_a_pause_never_brings_the_appointment_earlier(received, minutes, pause_at, pause_length):
    pause = (pause_at, pause_at + timedelta(minutes=pause_length))
    plain = deadlines.appointment(CAL, received, minutes)
    assert deadlines.appointment(CAL, received, minutes, pauses=[pause]) >= plain


@FAST
@given(instants, st.integers(min_value=1, max_value=60 * 8 * 40))
def test_going_back_then_forward_measures_the_same_working_time(start, minutes):
    earlier = CAL.add(start, -minutes)
    assert earlier < start and CAL.between(earlier, start) == minutes


START_2026 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
#: Every day from 1990 to 2100 is a row of the table: no computation may build more than twice that.
ROWS_1990_TO_2100 = 111 * 366


spans = st.one_of(
    st.integers(min_value=-MAX_SPAN_MINUTES // 2, max_value=MAX_SPAN_MINUTES),
    st.integers(min_value=-(10**12), max_value=10**12),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spans)
def test_any_span_costs_a_bounded_number_of_day_rows(minutes):
    """Counted in day rows built, not wall-clock: an allowed span (up to ten years) costs under
    three tables' worth, since each growth at least doubles the table (growing two years at a
    time rebuilt it once per two years of distance, quadratic in the span); a longer one is
    refused before any row is built."""
    calendar = WorkingCalendar(first_year=2026, last_year=2026)
    built_at_start = calendar.rows_built
    try:
        due = calendar.add(START_2026, minutes)
    except CalendarBoundsError:
        assert abs(minutes) > MAX_SPAN_MINUTES
        assert calendar.rows_built == built_at_start
        return
    calendar.between(START_2026, due)
    calendar.next_working_day_start(due.date())
    assert calendar.rows_built <= 3 * calendar.table_days <= 3 * ROWS_1990_TO_2100
