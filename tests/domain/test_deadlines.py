"""Appointments, clock-start rules, pauses, step budgets and classification on real dates."""

from __future__ import annotations

from datetime import time

import pytest

from engine.calendars import CalendarSettings
from engine.calendars import build_calendar
from engine.domain import deadlines
from engine.domain.calendar import MINUTES_PER_DAY
from engine.domain.model import Classification
from tests.conftest import vn

CUTOFF_15 = deadlines.ClockStartRule(cutoff=time(15, 0))


@pytest.fixture(scope="module")
def cal():
    return build_calendar([CalendarSettings("VN")], [])


@pytest.mark.parametrize(
    "text, minutes",
    [
        ("30m", 30),
        ("4h", 240),
        ("0.5d", 240),
        ("2d", 960),
        ("16h", 960),
        ("1.5h", 90),
        ("1d 4h", 720),
        ("PT4H", 240),
        ("P2D", 960),
        ("P0.5D", 240),
        ("P1DT4H", 720),
        ("PT30M", 30),
        ("0h", 0),
    ],
)
def test_working_durations(text, minutes):
    assert deadlines.parse_working_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "4", "h", "PT", "P", "4 hours", "-2d", "2x"])
def test_bad_durations_are_refused_naming_the_text(text):
    with pytest.raises(ValueError, match="working duration"):
        deadlines.parse_working_duration(text)


def test_format_working_duration():
    assert [deadlines.format_working_duration(m) for m in (480, 660, 30, 0, -90)] == [
        "1d",
        "1d 3h",
        "30m",
        "0m",
        "-1h 30m",
    ]


def test_friday_after_15h_before_a_holiday_counts_from_the_next_working_day(cal):
    # Received Friday 28 Aug 2026 at 15:30; Monday 31 Aug (swapped day), 1-2 Sep are off.
    received = vn(2026, 8, 28, 15, 30)
    assert deadlines.clock_start(cal, received, CUTOFF_15) == vn(2026, 9, 3, 8, 0)
    assert deadlines.appointment(cal, received, MINUTES_PER_DAY, CUTOFF_15) == vn(2026, 9, 3, 17, 0)
    # Without the cut-off the same receipt counts from 15:30 and is due the next working day at 15:30.
    assert deadlines.appointment(cal, received, MINUTES_PER_DAY) == vn(2026, 9, 3, 15, 30)


def test_last_hour_rule(cal):
    rule = deadlines.ClockStartRule(last_hour_rule=True)
    assert deadlines.clock_start(cal, vn(2026, 3, 2, 16, 0), rule) == vn(2026, 3, 3, 8, 0)
    assert deadlines.clock_start(cal, vn(2026, 3, 2, 15, 59), rule) == vn(2026, 3, 2, 15, 59)


def test_receipt_on_a_day_off_counts_from_the_next_working_morning(cal):
    assert deadlines.clock_start(cal, vn(2026, 2, 15, 9, 0), CUTOFF_15) == vn(2026, 2, 23, 8, 0)


def test_a_pause_across_tet_moves_the_appointment_by_the_working_time_paused(cal):
    received = vn(2026, 2, 9, 8, 0)  # Monday before Tết; legal limit 5 working days
    plain = deadlines.appointment(cal, received, 5 * MINUTES_PER_DAY)
    assert plain == vn(2026, 2, 13, 17, 0)
    # Supplement requested Thursday 12 Feb 10:00, supplied Tuesday 24 Feb 10:00: the pause covers
    # Thu 10:00-17:00 (6h), Fri 13 (8h), Tết, Mon 23 (8h), Tue 08:00-10:00 (2h) = 24 working hours.
    pauses = [(vn(2026, 2, 12, 10, 0), vn(2026, 2, 24, 10, 0))]
    assert deadlines.paused_minutes(cal, pauses) == 24 * 60
    # Three working days after Friday 13 Feb 17:00: Mon 23, Tue 24, Wed 25 Feb.
    assert deadlines.appointment(cal, received, 5 * MINUTES_PER_DAY, pauses=pauses) == vn(2026, 2, 25, 17, 0)


def test_overlapping_pauses_count_once_and_an_open_pause_runs_to_now(cal):
    pauses = [(vn(2026, 3, 2, 8, 0), vn(2026, 3, 2, 12, 0)), (vn(2026, 3, 2, 10, 0), vn(2026, 3, 2, 14, 0))]
    assert deadlines.paused_minutes(cal, pauses) == 5 * 60
    assert deadlines.paused_minutes(cal, [(vn(2026, 3, 2, 8, 0), None)], now=vn(2026, 3, 2, 9, 0)) == 60
    with pytest.raises(ValueError, match="open pause"):
        deadlines.paused_minutes(cal, [(vn(2026, 3, 2, 8, 0), None)])


def test_step_due_and_warning(cal):
    start = vn(2026, 3, 2, 8, 0)
    assert deadlines.step_due(cal, start, 480) == vn(2026, 3, 2, 17, 0)
    assert deadlines.warn_time(cal, start, 480, "75%") == vn(2026, 3, 2, 15, 0)
    assert deadlines.warn_time(cal, start, 480, "2h") == vn(2026, 3, 2, 15, 0)
    assert deadlines.warn_time(cal, start, 0, "75%") is None
    with pytest.raises(ValueError, match="between 0% and 100%"):
        deadlines.warn_time(cal, start, 480, "150%")


def test_classification_and_margin(cal):
    due = vn(2026, 3, 4, 17, 0)
    assert deadlines.classify(cal, due, vn(2026, 3, 3, 10, 0)) == (Classification.EARLY, 6 * 60 + 8 * 60)
    assert deadlines.classify(cal, due, vn(2026, 3, 4, 9, 0)) == (Classification.ON_TIME, 7 * 60)
    assert deadlines.classify(cal, due, due) == (Classification.ON_TIME, 0)
    assert deadlines.classify(cal, due, vn(2026, 3, 5, 9, 0)) == (Classification.LATE, -60)


def test_apology_must_come_one_working_day_before_the_appointment(cal):
    assert deadlines.apology_deadline(cal, vn(2026, 2, 23, 10, 0)) == vn(2026, 2, 13, 10, 0)
    assert deadlines.will_miss(cal, vn(2026, 3, 4, 9, 0), 16 * 60, vn(2026, 3, 4, 17, 0))
    assert not deadlines.will_miss(cal, vn(2026, 3, 4, 9, 0), 8 * 60, vn(2026, 3, 5, 9, 0))


def test_the_appointment_moves_once_and_only_later(cal):
    clock = deadlines.DossierClock(vn(2026, 3, 2, 8, 0), vn(2026, 3, 2, 8, 0), 480, vn(2026, 3, 2, 17, 0))
    now = vn(2026, 3, 2, 10, 0)
    moved = clock.reappoint(vn(2026, 3, 6, 17, 0), now)
    assert (moved.original_appointment, moved.appointment) == (vn(2026, 3, 2, 17, 0), vn(2026, 3, 6, 17, 0))
    with pytest.raises(deadlines.ReappointmentError, match="already been moved once"):
        moved.reappoint(vn(2026, 3, 9, 17, 0), now)
    for not_later in (vn(2026, 3, 2, 16, 0), vn(2026, 3, 2, 17, 0)):
        with pytest.raises(deadlines.ReappointmentError, match="later than the original") as refused:
            clock.reappoint(not_later, now)
        assert refused.value.field == "new_appointment"


def test_a_new_appointment_must_still_be_ahead_even_after_a_missed_original(cal):
    clock = deadlines.DossierClock(vn(2026, 3, 2, 8, 0), vn(2026, 3, 2, 8, 0), 480, vn(2026, 3, 2, 17, 0))
    now = vn(2026, 3, 5, 10, 0)  # the original appointment has passed
    for not_ahead in (vn(2026, 3, 4, 17, 0), now):
        with pytest.raises(deadlines.ReappointmentError, match="later than now") as refused:
            clock.reappoint(not_ahead, now)
        assert refused.value.field == "new_appointment"
    assert clock.reappoint(vn(2026, 3, 6, 17, 0), now).appointment == vn(2026, 3, 6, 17, 0)


def test_a_pause_that_starts_after_the_due_instant_gives_nothing_back(cal):
    received = vn(2026, 3, 2, 8, 0)  # Monday; legal limit 1 working day -> Monday 17:00
    late_pause = [(vn(2026, 3, 3, 9, 0), vn(2026, 3, 4, 9, 0))]
    assert deadlines.appointment(cal, received, MINUTES_PER_DAY, pauses=late_pause) == vn(2026, 3, 2, 17, 0)
    # A pause before the due instant extends it, and a second pause that now falls before the
    # extended due extends it again.
    pauses = [(vn(2026, 3, 2, 10, 0), vn(2026, 3, 2, 11, 0)), (vn(2026, 3, 3, 8, 0), vn(2026, 3, 3, 8, 30))]
    assert deadlines.appointment(cal, received, MINUTES_PER_DAY, pauses=pauses) == vn(2026, 3, 3, 9, 30)


def test_an_open_supplement_request_gives_a_provisional_appointment(cal):
    received = vn(2026, 3, 2, 8, 0)
    open_pause = [(vn(2026, 3, 2, 10, 0), None)]
    assert deadlines.appointment(cal, received, MINUTES_PER_DAY, pauses=open_pause, now=vn(2026, 3, 3, 10, 0)) == vn(
        2026, 3, 3, 17, 0
    )
    with pytest.raises(ValueError, match="open pause"):
        deadlines.appointment(cal, received, MINUTES_PER_DAY, pauses=open_pause)


def test_a_shared_budget_group_has_one_due_for_all_its_steps(cal):
    group_started = vn(2026, 3, 2, 14, 0)
    due = deadlines.group_due(cal, group_started, deadlines.parse_working_duration("1d"))
    assert due == vn(2026, 3, 3, 14, 0)  # whichever step of the group, started whenever


def test_remaining_budget_against_the_appointment(cal):
    appointment_at = vn(2026, 2, 13, 17, 0)  # Friday before Tết
    now = vn(2026, 2, 12, 8, 0)  # Thursday morning: 16 working hours left before the appointment
    assert deadlines.remaining_fits(cal, now, 16 * 60, appointment_at)
    assert not deadlines.remaining_fits(cal, now, 16 * 60 + 1, appointment_at)
    assert deadlines.projected_finish(cal, now, 16 * 60 + 60) == vn(2026, 2, 23, 9, 0)  # over Tết
    # The apology must be issued by Thursday 12 Feb 17:00, one working day before.
    assert deadlines.apology_deadline(cal, appointment_at) == vn(2026, 2, 12, 17, 0)


def test_dossier_clock_from_receipt_to_re_appointment(cal):
    pauses = ((vn(2026, 8, 24, 8, 0), vn(2026, 8, 24, 12, 0)),)
    clock = deadlines.DossierClock.compute(cal, vn(2026, 8, 21, 16, 30), 2 * MINUTES_PER_DAY, CUTOFF_15, pauses)
    # After the cut-off on Friday 21 Aug: the clock starts on make-up Saturday 22 Aug, 08:00;
    # two working days (Sat 22, Mon 24), then the 4 hours paused on Monday morning.
    assert clock.clock_start == vn(2026, 8, 22, 8, 0)
    assert clock.original_appointment == clock.effective_appointment == vn(2026, 8, 25, 12, 0)
    moved = clock.reappoint(vn(2026, 8, 28, 17, 0), now=vn(2026, 8, 24, 9, 0))
    assert (moved.effective_appointment, moved.pauses) == (vn(2026, 8, 28, 17, 0), pauses)


def test_a_pause_outside_working_hours_does_not_move_the_appointment(cal):
    received = vn(2026, 2, 13, 8, 0)  # Friday before Tết; 3 working days -> Tuesday 24 Feb 17:00
    weekend_pause = [(vn(2026, 2, 14, 14, 1), vn(2026, 2, 15, 6, 1))]
    assert deadlines.appointment(cal, received, 3 * MINUTES_PER_DAY, pauses=weekend_pause) == vn(2026, 2, 24, 17, 0)
