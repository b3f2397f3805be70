"""Working-time arithmetic on real Vietnamese calendars (holidays from the `holidays` package)."""

from __future__ import annotations

import os
import time as time_module
from datetime import UTC
from datetime import date
from datetime import datetime

import pytest

from engine.calendars import CalendarOverride
from engine.calendars import CalendarSettings
from engine.calendars import build_calendar
from engine.domain.calendar import MINUTES_PER_DAY
from engine.domain.calendar import WorkingCalendar
from tests.conftest import vn

NATIONAL = [CalendarSettings("VN")]


@pytest.fixture(scope="module")
def cal():
    return build_calendar(NATIONAL, [])


def test_tet_2026_break_for_civil_servants_is_nine_days_off(cal):
    # Công văn 9859/VPCP-KGVX: 14-22 February 2026 (Saturday to Sunday, Tết 16-20 February).
    assert [cal.is_working_day(date(2026, 2, d)) for d in range(13, 24)] == [True] + [False] * 9 + [True]
    # A step due in one working day, started Friday 13 Feb at 10:00, is due Monday 23 Feb at 10:00.
    assert cal.add(vn(2026, 2, 13, 10, 0), MINUTES_PER_DAY) == vn(2026, 2, 23, 10, 0)


def test_national_day_holidays(cal):
    # 2025: 1-2 September (Monday, Tuesday). 2026: 1-2 September (Tuesday, Wednesday).
    assert not cal.is_working_day(date(2025, 9, 1)) and not cal.is_working_day(date(2025, 9, 2))
    assert cal.is_working_day(date(2025, 9, 3))
    assert not cal.is_working_day(date(2026, 9, 1)) and not cal.is_working_day(date(2026, 9, 2))
    assert cal.add(vn(2026, 8, 28, 16, 0), 2 * 60) == vn(2026, 9, 3, 9, 0)  # Fri, then Mon 31 Aug is off too


def test_make_up_saturday_works_and_the_swapped_day_is_off(cal):
    assert cal.is_working_day(date(2026, 8, 22))  # make-up Saturday
    assert not cal.is_working_day(date(2026, 8, 31))  # the Monday it pays for
    assert cal.reason(date(2026, 8, 31)) == "Ngày nghỉ (thay cho ngày 22/08/2026)"
    assert cal.reason(date(2026, 8, 22)) == "Ngày làm bù"
    assert cal.add(vn(2026, 8, 21, 16, 0), 2 * 60) == vn(2026, 8, 22, 9, 0)


def test_lunch_break_and_period_ends(cal):
    assert cal.add(vn(2026, 3, 2, 11, 0), 60) == vn(2026, 3, 2, 12, 0)  # lands on the period end: stays
    assert cal.add(vn(2026, 3, 2, 11, 0), 61) == vn(2026, 3, 2, 13, 1)
    assert cal.between(vn(2026, 3, 2, 11, 30), vn(2026, 3, 2, 13, 30)) == 60
    assert cal.add(vn(2026, 3, 2, 12, 30), 30) == vn(2026, 3, 2, 13, 30)  # starts counting at 13:00


def test_weekend_and_after_hours_start_at_the_next_working_instant(cal):
    assert cal.next_working_instant(vn(2026, 3, 7, 10, 0)) == vn(2026, 3, 9, 8, 0)  # Saturday
    assert cal.next_working_instant(vn(2026, 3, 6, 18, 0)) == vn(2026, 3, 9, 8, 0)  # Friday evening
    assert cal.add(vn(2026, 3, 6, 18, 0), 60) == vn(2026, 3, 9, 9, 0)


def test_year_boundary_and_the_new_year_2026_swap(cal):
    # 1 Jan 2026 is a holiday and Friday 2 Jan was swapped with Saturday 10 Jan (Government,
    # 25 Dec 2025): 31 Dec 2025 (Wednesday) 16:00 + 2 working hours is Monday 5 Jan 09:00.
    assert cal.add(vn(2025, 12, 31, 16, 0), 120) == vn(2026, 1, 5, 9, 0)
    assert cal.between(vn(2025, 12, 31, 16, 0), vn(2026, 1, 5, 9, 0)) == 120
    assert not cal.is_working_day(date(2026, 1, 2)) and cal.is_working_day(date(2026, 1, 10))
    assert cal.working_days(date(2025, 12, 29), date(2026, 1, 11)) == [
        date(2025, 12, 29),
        date(2025, 12, 30),
        date(2025, 12, 31),
        date(2026, 1, 5),
        date(2026, 1, 6),
        date(2026, 1, 7),
        date(2026, 1, 8),
        date(2026, 1, 9),
        date(2026, 1, 10),
    ]


def test_going_back_in_working_time(cal):
    assert cal.add(vn(2026, 3, 9, 9, 0), -MINUTES_PER_DAY) == vn(2026, 3, 6, 9, 0)


def test_results_are_in_the_unit_time_zone_whatever_the_server_zone(cal, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time_module.tzset()
    try:
        start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
        assert cal.add(start, 60) == vn(2026, 3, 2, 9, 0)
        assert cal.add(start, 60).utcoffset().total_seconds() == 7 * 3600
    finally:
        monkeypatch.delenv("TZ")
        time_module.tzset()
    assert os.environ.get("TZ") is None


def test_province_and_unit_overrides_fall_back_in_order():
    chain = [CalendarSettings("00070"), CalendarSettings("01"), CalendarSettings("VN")]
    overrides = [
        CalendarOverride("01", date(2026, 3, 9), date(2026, 3, 10), "off", "UBND Thành phố cho nghỉ"),
        CalendarOverride("00070", date(2026, 3, 10), date(2026, 3, 10), "working", "Phường làm việc"),
        CalendarOverride("00070", date(2026, 3, 14), date(2026, 3, 14), "working", "Làm bù thứ Bảy"),
    ]
    unit = build_calendar(chain, overrides)
    province = build_calendar(chain[1:], overrides)
    assert not province.is_working_day(date(2026, 3, 10))
    assert [unit.is_working_day(date(2026, 3, d)) for d in (9, 10, 14)] == [False, True, True]
    assert unit.reason(date(2026, 3, 9)) == "UBND Thành phố cho nghỉ"


def test_custom_hours_per_unit():
    cal = build_calendar([CalendarSettings("00070", periods="07:30-11:30,13:30-17:30"), CalendarSettings("VN")], [])
    assert cal.add(vn(2026, 3, 2, 7, 0), 240) == vn(2026, 3, 2, 11, 30)
    assert cal.add(vn(2026, 3, 2, 7, 0), 241) == vn(2026, 3, 2, 13, 31)


def test_a_saturday_morning_office():
    cal = WorkingCalendar(weekday_periods={5: ((8 * 60, 12 * 60),)}, days_off=[date(2026, 3, 14)])
    assert cal.is_working_day(date(2026, 3, 7)) and not cal.is_working_day(date(2026, 3, 8))
    assert cal.add(vn(2026, 3, 6, 16, 0), 2 * 60) == vn(2026, 3, 7, 9, 0)  # Friday, then Saturday morning
    assert cal.add(vn(2026, 3, 7, 11, 0), 2 * 60) == vn(2026, 3, 9, 9, 0)  # Saturday noon closes the week
    assert not cal.is_working_day(date(2026, 3, 14))  # a Saturday can still be a day off
    assert cal.working_minutes_on(date(2026, 3, 7)) == 240


def test_instants_outside_the_table_grow_it():
    cal = WorkingCalendar(first_year=2026, last_year=2026)
    assert cal.add(vn(2026, 12, 31, 16, 0), 2 * 60) == vn(2027, 1, 1, 9, 0)  # no holidays given
    assert cal.add(vn(2026, 1, 2, 9, 0), -3 * MINUTES_PER_DAY) == vn(2025, 12, 30, 9, 0)
    assert cal.between(vn(2026, 1, 2, 9, 0), vn(2019, 1, 1, 9, 0)) == -cal.between(
        vn(2019, 1, 1, 9, 0), vn(2026, 1, 2, 9, 0)
    )
    assert cal.next_working_instant(vn(2040, 6, 2, 18, 0)) == vn(2040, 6, 4, 8, 0)


def test_an_instant_asked_again_counts_in_the_table_as_it_has_grown_since():
    """The calendar remembers the last instants it placed: once the table grew backwards (its
    positions all moved), the same instant is placed again, as a calendar that grew first does."""
    now, long_ago = vn(2026, 3, 2, 9, 0), vn(2019, 1, 1, 9, 0)
    asked_before, grown_first = WorkingCalendar(first_year=2026), WorkingCalendar(first_year=2026)
    first = asked_before.position(now)
    assert asked_before.position(now) == first
    asked_before.position(long_ago)
    grown_first.position(long_ago)
    assert asked_before.position(now) == grown_first.position(now) > first
    assert asked_before.between(now, vn(2026, 3, 3, 9, 0)) == MINUTES_PER_DAY


def test_working_instants_and_naive_instants(cal):
    assert cal.is_working_instant(vn(2026, 3, 2, 8, 0)) and not cal.is_working_instant(vn(2026, 3, 2, 12, 0))
    assert not cal.is_working_instant(vn(2026, 2, 17, 10, 0))  # Tết
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add(datetime(2026, 3, 2, 8, 0), 60)
