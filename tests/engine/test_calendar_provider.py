"""A day added by another process (the CLI, another server worker) reaches running processes."""

from __future__ import annotations

from datetime import date

from engine.services.runtime import CalendarProvider
from engine.store import calendar_records
from tests.factories import add_units

SWAPPED_DAY = date(2026, 3, 10)  # a Tuesday


def _add_day_off(db):
    with db.session() as s:
        calendar_records.add_override(s, calendar_code="00070", date_from=SWAPPED_DAY, date_to=SWAPPED_DAY,
                                      kind="off", note="Quyết định của UBND phường (thử)")


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
