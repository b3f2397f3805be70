"""Building units' calendars: the holidays package, national additions, province and unit days,
settings from the database, and what the package says about 2025 and 2026."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from engine import calendars
from engine.calendars import CalendarOverride
from engine.calendars import CalendarSettings
from engine.calendars import build_calendar
from engine.calendars import cached_calendar
from engine.calendars import calendar_chain
from engine.calendars import parse_period_settings
from engine.store import all_records  # noqa: F401  (every table on Base.metadata)
from engine.store import calendar_records
from engine.store.base import Base
from tests.conftest import vn


def test_what_the_holidays_package_knows_for_2025_and_2026():
    days = calendars.national_days(range(2025, 2027))
    off = lambda *ymd: date(*ymd) in days.off  # noqa: E731
    # Tết 2025 (Mon 27 Jan - Sat 1 Feb) and 2026 (Mon 16 - Fri 20 Feb; with the weekends, the
    # civil servants' 14-22 Feb break of Công văn 9859/VPCP-KGVX).
    assert all(off(2025, 1, d) for d in range(27, 32)) and off(2025, 2, 1)
    assert all(off(2026, 2, d) for d in range(16, 21)) and not off(2026, 2, 23)
    # National Day: 1-2 Sep both years; 2026 adds Monday 31 Aug, paid back on Saturday 22 Aug.
    assert off(2025, 9, 1) and off(2025, 9, 2) and off(2026, 9, 1) and off(2026, 9, 2)
    assert off(2026, 8, 31) and date(2026, 8, 22) in days.working
    # 30 April 2025: Friday 2 May off, paid back on Saturday 26 April.
    assert off(2025, 5, 2) and date(2025, 4, 26) in days.working
    # The package also has Vietnam Cultural Day (24 Nov) from 2026 (Resolution 80-NQ/TW).
    assert days.reasons[date(2026, 11, 24)] == "Ngày Văn hóa Việt Nam"
    # Not in the package, added as NATIONAL_OVERRIDES: New Year 2026 swap (off 2 Jan, work 10 Jan).
    assert off(2026, 1, 2) and date(2026, 1, 10) in days.working


def test_unit_days_win_over_the_province_and_the_province_over_the_nation():
    chain = [CalendarSettings("00070"), CalendarSettings("01"), CalendarSettings("VN")]
    overrides = [
        CalendarOverride("VN", date(2026, 3, 16), date(2026, 3, 16), "off", "Nghỉ toàn quốc"),
        CalendarOverride("01", date(2026, 3, 16), date(2026, 3, 16), "working", "Hà Nội làm việc"),
        CalendarOverride("00070", date(2026, 3, 16), date(2026, 3, 16), "off", "Phường nghỉ"),
        CalendarOverride("79", date(2026, 3, 17), date(2026, 3, 17), "off", "another province"),
    ]
    assert not build_calendar(chain, overrides).is_working_day(date(2026, 3, 16))
    assert build_calendar(chain[1:], overrides).is_working_day(date(2026, 3, 16))
    assert not build_calendar(chain[2:], overrides).is_working_day(date(2026, 3, 16))
    assert build_calendar(chain, overrides).is_working_day(date(2026, 3, 17))


def test_a_swap_is_one_day_off_and_one_working_day():
    swap = [
        CalendarOverride("01", date(2026, 3, 13), date(2026, 3, 13), "off", "Nghỉ hoán đổi"),
        CalendarOverride("01", date(2026, 3, 21), date(2026, 3, 21), "working", "Làm bù 13/3"),
    ]
    cal = build_calendar([CalendarSettings("01"), CalendarSettings("VN")], swap)
    assert cal.add(vn(2026, 3, 12, 16, 0), 2 * 60) == vn(2026, 3, 16, 9, 0)
    assert cal.is_working_day(date(2026, 3, 21)) and cal.reason(date(2026, 3, 21)) == "Làm bù 13/3"


def test_periods_and_time_zone_come_from_the_most_specific_level():
    chain = [
        CalendarSettings(
            "00070", periods='{"default": [["07:30", "11:30"], ["13:30", "17:30"]], "sat": [["08:00", "12:00"]]}'
        ),
        CalendarSettings("01", periods='[["08:00", "12:00"]]'),
        CalendarSettings("VN", timezone="Asia/Bangkok"),
    ]
    cal = build_calendar(chain, [])
    assert cal.timezone == "Asia/Bangkok"
    assert cal.periods_on(date(2026, 3, 2)) == ((450, 690), (810, 1050))
    assert cal.periods_on(date(2026, 3, 7)) == ((480, 720),)
    assert parse_period_settings("08:00-12:00,13:00-17:00") == (((480, 720), (780, 1020)), {})
    with pytest.raises(ValueError, match="not a weekday"):
        parse_period_settings('{"someday": [["08:00", "12:00"]]}')


def test_bad_overrides_are_refused():
    with pytest.raises(ValueError, match="before it starts"):
        CalendarOverride("01", date(2026, 3, 2), date(2026, 3, 1), "off", "x")
    with pytest.raises(ValueError, match="kind must be one of off, working"):
        CalendarOverride("01", date(2026, 3, 2), date(2026, 3, 2), "holiday", "x")


def test_the_cache_reuses_a_calendar_until_an_override_changes():
    calendars.clear_calendar_cache()
    chain = [CalendarSettings("01"), CalendarSettings("VN")]
    one = [CalendarOverride("01", date(2026, 3, 9), date(2026, 3, 9), "off", "a")]
    first = cached_calendar(chain, one)
    assert cached_calendar(chain, list(one)) is first
    edited = [CalendarOverride("01", date(2026, 3, 9), date(2026, 3, 10), "off", "a")]
    assert cached_calendar(chain, edited) is not first
    assert not cached_calendar(chain, edited).is_working_day(date(2026, 3, 10))


def test_a_ward_falls_back_to_its_province_then_the_nation():
    assert calendar_chain("00070") == ["00070", "01", "VN"]  # Phường Hoàn Kiếm, Hà Nội
    assert calendar_chain("01") == ["01", "VN"]
    assert calendar_chain("VN") == ["VN"]


def test_the_chain_follows_the_unit_table_when_given_and_stops_at_a_loop():
    parents = {"T01": "T0", "T0": "T", "LOOP": "LOOP"}
    assert calendar_chain("T01", parents.get) == ["T01", "T0", "T", "VN"]  # the runtime's units, not vietnam-provinces
    assert calendar_chain("LOOP", parents.get) == ["LOOP", "VN"]


@pytest.fixture
def session(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'calendar.sqlite3'}")
    Base.metadata.create_all(engine)  # the whole schema: a changed day also re-checks running dossiers
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_calendars_load_from_records_and_missing_records_inherit(session):
    calendar_records.save_calendar(
        session, "01", name="Hà Nội", parent_code="VN", periods='[["07:30", "11:30"], ["13:00", "17:00"]]'
    )
    added = calendar_records.add_override(
        session,
        calendar_code="00070",
        date_from=date(2026, 3, 9),
        date_to=date(2026, 3, 10),
        kind="off",
        note="Phường tổ chức bầu cử",
        created_by="admin",
    )
    calendar_records.add_override(
        session, calendar_code="01", date_from=date(2026, 3, 9), date_to=date(2026, 3, 9), kind="working", note="x"
    )
    cal = calendar_records.load_calendar(session, calendar_chain("00070"))
    assert cal.periods_on(date(2026, 3, 11)) == ((450, 690), (780, 1020))  # the province's hours
    assert [cal.is_working_day(date(2026, 3, d)) for d in (9, 10, 11)] == [False, False, True]
    assert [r.id for r in calendar_records.list_overrides(session, "00070")] == [added.id]
    assert session.get(calendar_records.CalendarRecord, "00070") is not None  # created for the FK
    calendar_records.delete_override(session, added.id)
    assert calendar_records.load_calendar(session, calendar_chain("00070")).is_working_day(date(2026, 3, 10))
    with pytest.raises(LookupError, match="no calendar override"):
        calendar_records.delete_override(session, added.id)


def test_override_records_are_validated(session):
    with pytest.raises(ValueError, match="before it starts"):
        calendar_records.add_override(
            session, calendar_code="01", date_from=date(2026, 3, 2), date_to=date(2026, 3, 1), kind="off", note="x"
        )
    with pytest.raises(ValueError, match="kind must be one of"):
        calendar_records.add_override(
            session, calendar_code="01", date_from=date(2026, 3, 2), date_to=date(2026, 3, 2), kind="closed", note="x"
        )
    with pytest.raises(ValueError, match="say why"):
        calendar_records.add_override(
            session, calendar_code="01", date_from=date(2026, 3, 2), date_to=date(2026, 3, 2), kind="off", note="  "
        )
