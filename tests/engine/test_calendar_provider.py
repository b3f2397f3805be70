"""A day added by another process (the CLI, another server worker) reaches running processes."""

from __future__ import annotations

from datetime import date

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
