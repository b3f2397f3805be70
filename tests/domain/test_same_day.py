"""Same-day legal limits ("giải quyết trong ngày"): the appointment is the end of the working day
the clock starts on, after the cut-off the next working day's end, moved later by pauses."""

from __future__ import annotations

from datetime import time

import pytest

from engine.calendars import CalendarSettings
from engine.calendars import build_calendar
from engine.domain import deadlines
from tests.conftest import vn

CUTOFF_15 = deadlines.ClockStartRule(cutoff=time(15, 0))


@pytest.fixture(scope="module")
def cal():
    return build_calendar([CalendarSettings("VN")], [])


def same_day(cal, received, rule=CUTOFF_15, **kw):
    return deadlines.appointment(cal, received, deadlines.SAME_DAY, rule, **kw)


def test_received_tuesday_morning_is_due_tuesday_at_the_end_of_the_day(cal):
    assert same_day(cal, vn(2026, 12, 1, 10, 0)) == vn(2026, 12, 1, 17, 0)
    assert same_day(cal, vn(2026, 12, 1, 14, 59)) == vn(2026, 12, 1, 17, 0)


def test_received_after_the_cut_off_is_due_at_the_end_of_the_next_working_day(cal):
    assert same_day(cal, vn(2026, 12, 1, 15, 30)) == vn(2026, 12, 2, 17, 0)
    assert same_day(cal, vn(2026, 12, 1, 15, 0)) == vn(2026, 12, 2, 17, 0)  # at the cut-off counts as after


def test_received_friday_after_the_cut_off_is_due_monday(cal):
    assert same_day(cal, vn(2026, 12, 4, 15, 30)) == vn(2026, 12, 7, 17, 0)


def test_received_before_national_day_after_the_cut_off_skips_the_holidays(cal):
    # Friday 28 Aug 2026, 15:30: Monday 31 Aug (swapped for make-up Saturday 22 Aug), 1-2 Sep are off.
    assert same_day(cal, vn(2026, 8, 28, 15, 30)) == vn(2026, 9, 3, 17, 0)
    # On a day off (Sunday) the clock starts the next working morning: due that evening.
    assert same_day(cal, vn(2026, 12, 6, 9, 0)) == vn(2026, 12, 7, 17, 0)


def test_without_a_cut_off_a_late_receipt_is_still_due_that_day(cal):
    assert same_day(cal, vn(2026, 12, 1, 16, 30), rule=deadlines.ClockStartRule()) == vn(2026, 12, 1, 17, 0)
    last_hour = deadlines.ClockStartRule(last_hour_rule=True)  # Decree 297: the last hour counts from tomorrow
    assert same_day(cal, vn(2026, 12, 1, 16, 0), rule=last_hour) == vn(2026, 12, 2, 17, 0)


def test_a_supplement_pause_moves_a_same_day_appointment_by_its_working_time(cal):
    # Received Tuesday 10:00; supplement requested at 11:00, supplied Wednesday 09:00: the wait
    # covers 11:00-12:00 and 13:00-17:00 on Tuesday and 08:00-09:00 on Wednesday (6 working hours).
    pause = [(vn(2026, 12, 1, 11, 0), vn(2026, 12, 2, 9, 0))]
    moved = same_day(cal, vn(2026, 12, 1, 10, 0), pauses=pause)
    assert moved == vn(2026, 12, 2, 15, 0)
    assert deadlines.after_pause(cal, vn(2026, 12, 1, 17, 0), *pause[0]) == moved  # as the engine moves it
    clock = deadlines.DossierClock.compute(cal, vn(2026, 12, 1, 10, 0), deadlines.SAME_DAY, CUTOFF_15, pause)
    assert (clock.clock_start, clock.appointment) == (vn(2026, 12, 1, 10, 0), moved)


@pytest.mark.parametrize(
    "text", ["same day", "Same-day", "trong ngày", "Trong ngay", "ngay trong ngày", "0d", "0h", "P0D"]
)
def test_same_day_is_written_many_ways_and_stored_as_zero(text):
    assert deadlines.parse_legal_limit(text) == deadlines.SAME_DAY
    assert deadlines.is_same_day(deadlines.parse_legal_limit(text))


def test_other_legal_limits_are_working_durations():
    assert [deadlines.parse_legal_limit(t) for t in ("3d", "24h", "P1DT4H")] == [1440, 1440, 720]
    assert not deadlines.is_same_day(None)  # no limit at all is not a same-day limit
    assert [deadlines.format_legal_limit(m) for m in (0, 480, 720)] == ["same day", "1d", "1d 4h"]
    with pytest.raises(ValueError, match="working duration"):
        deadlines.parse_legal_limit("trong tuần")


def test_the_steps_of_a_same_day_procedure_share_the_time_left_after_the_cut_off():
    assert deadlines.same_day_budget(time(15, 0)) == 120
    assert deadlines.same_day_budget(time(11, 0)) == 60 + 240  # the lunch break does not count
    assert deadlines.same_day_budget(None) == 480  # without a cut-off: one working day
