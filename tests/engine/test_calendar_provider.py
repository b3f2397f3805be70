"""A day added by another process (the CLI, another server worker) reaches running processes."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from engine.clock import FrozenClock
from engine.domain.calendar import MINUTES_PER_DAY
from engine.services.runtime import CalendarProvider
from engine.store import calendar_records
from tests.factories import add_units

SWAPPED_DAY = date(2026, 3, 10)  # a Tuesday


def _add_day_off(db):
    with db.session() as s:
        calendar_records.add_override(
            s,
            calendar_code="00070",
            date_from=SWAPPED_DAY,
            date_to=SWAPPED_DAY,
            kind="off",
            note="Quyết định của UBND phường (thử)",
        )


def test_a_day_added_elsewhere_is_seen_once_the_cached_calendar_ages_out(runtime):
    add_units(runtime)
    fresh, patient = CalendarProvider(max_age_s=0), CalendarProvider(max_age_s=3600)
    with runtime.db.read_session() as s:
        assert fresh.for_unit(s, "00070").is_working_day(SWAPPED_DAY)
        assert patient.for_unit(s, "00070").is_working_day(SWAPPED_DAY)
    _add_day_off(runtime.db)
    with runtime.db.read_session() as s:
        assert not fresh.for_unit(s, "00070").is_working_day(SWAPPED_DAY)
        assert patient.for_unit(s, "00070").is_working_day(SWAPPED_DAY)  # still within its age
        patient.invalidate()
        assert not patient.for_unit(s, "00070").is_working_day(SWAPPED_DAY)


def test_communes_without_days_of_their_own_share_one_built_calendar(runtime):
    add_units(runtime)
    _add_day_off(runtime.db)  # 00070 has a day of its own; 00073 has none
    provider = CalendarProvider()
    with runtime.db.read_session() as s:
        hoan_kiem, cua_nam = provider.for_unit(s, "00070"), provider.for_unit(s, "00073")
        assert calendar_records.load_calendar(s, ["00073", "01", "VN"]) is calendar_records.load_calendar(
            s, ["00074", "01", "VN"]
        )  # built once, shared
    assert hoan_kiem is not cua_nam
    assert not hoan_kiem.is_working_day(SWAPPED_DAY) and cua_nam.is_working_day(SWAPPED_DAY)


def test_template_code_counts_in_the_calendar_as_rebuilt_and_reads_the_runtimes_clock(runtime):
    """A runtime makes a script engine once per calendar: a rebuilt calendar, or another clock,
    gets one of its own."""
    add_units(runtime)
    runtime.calendars = CalendarProvider(max_age_s=3600)
    monday = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)

    def in_template_code(expression: str):
        with runtime.db.read_session() as s:
            calendar = runtime.calendars.for_unit(s, "00070")
        return calendar, runtime.script_engine(calendar).environment.evaluate(expression, {})

    calendar, before = in_template_code(f"add_working_days('{monday.isoformat()}', 2)")
    _add_day_off(runtime.db)
    runtime.calendars.invalidate()
    rebuilt, after = in_template_code(f"add_working_days('{monday.isoformat()}', 2)")
    assert rebuilt is not calendar
    assert after == rebuilt.add(monday, 2 * MINUTES_PER_DAY).isoformat() != before

    runtime.clock = FrozenClock(datetime(2026, 3, 12, 2, 30, tzinfo=UTC))
    assert in_template_code("now()")[1] == "2026-03-12T09:30:00+07:00"
