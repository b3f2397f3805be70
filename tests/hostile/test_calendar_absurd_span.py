"""Attack: a template asks the calendar for an absurd span (`add_working_days(None, 1000000)`, a
date in 9999). Outcome: refused at once with an error naming the element; the dossier stays as it
was; the calendar's work stays bounded whatever the span."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.calendars import CalendarSettings
from engine.calendars import build_calendar
from engine.domain.calendar import MAX_SPAN_MINUTES
from engine.domain.calendar import MINUTES_PER_DAY
from engine.domain.calendar import CalendarBoundsError
from engine.domain.calendar import WorkingCalendar
from engine.domain.errors import ExpressionError
from engine.services import definitions
from engine.services import dossiers
from engine.store.records import DossierRecord
from engine.store.records import WorkItemRecord
from tests.conftest import BPMN_DIR
from tests.factories import RECEPTION
from tests.factories import add_units

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
#: Every day from 1990 to 2100 is a row of the table: no computation may build more than twice that.
ROWS_1990_TO_2100 = 111 * 366


def national() -> WorkingCalendar:
    return build_calendar([CalendarSettings("VN")], [])


def test_a_million_working_days_is_refused_without_building_the_table():
    calendar = national()
    before = calendar.rows_built
    with pytest.raises(CalendarBoundsError, match="more than ten years"):
        calendar.add(START, 1_000_000 * MINUTES_PER_DAY)
    assert calendar.rows_built == before


@pytest.mark.parametrize("minutes", [MAX_SPAN_MINUTES, -MAX_SPAN_MINUTES + MINUTES_PER_DAY * 400])
def test_ten_years_of_working_time_is_computed(minutes):
    calendar = national()
    due = calendar.add(START, minutes)
    assert calendar.between(START, due) == minutes


def test_a_calendar_without_working_days_stops_at_2100_instead_of_searching_forever():
    closed = WorkingCalendar(working_weekdays=(), first_year=2026, last_year=2026)
    with pytest.raises(CalendarBoundsError, match="no working time left before 2101"):
        closed.next_working_instant(START)
    assert closed.rows_built <= 2 * ROWS_1990_TO_2100


@pytest.mark.parametrize("instant", [datetime(9999, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)])
def test_dates_outside_1990_to_2100_are_refused(instant):
    with pytest.raises(CalendarBoundsError, match="from 1990 to 2100"):
        national().add(instant, 60)


def deploy_with_timer(runtime, expression: str):
    bpmn = (BPMN_DIR / "five_steps.bpmn").read_text().replace("add_working_hours(None, 6)", expression)
    return definitions.deploy(runtime, {"five_steps.bpmn": bpmn.encode()})


@pytest.mark.parametrize(
    "expression",
    [
        "add_working_days(None, 1000000)",
        "add_working_hours(None, 1e300)",
        "add_working_days('9999-01-01T08:00:00+07:00', 1)",
    ],
)
def test_a_timer_asking_for_an_absurd_span_fails_the_step_naming_the_element(runtime, clock, expression):
    add_units(runtime)
    definition = deploy_with_timer(runtime, expression)
    dossier = dossiers.start_dossier(
        runtime, definition_id=definition.id, unit_code="00070", applicant_name="Nguyễn Văn A", actor=RECEPTION
    )
    with runtime.db.session() as s:
        [item] = s.scalars(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id))
        version = s.get(DossierRecord, dossier.id).version

    with pytest.raises(ExpressionError) as refused:
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {})  # arms the timer on tham_dinh

    assert refused.value.element_id == "nhac_viec_timer"
    assert "CalendarBoundsError" in str(refused.value)
    with runtime.db.session() as s:
        assert s.get(DossierRecord, dossier.id).version == version
        assert s.get(WorkItemRecord, item.id).state == "open"
