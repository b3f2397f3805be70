"""Attack: timer values that published and then gave raw 500s or flooded the inbox ('abc', year
9999, P9999Y, PT99999999999999H, R999999/PT1S making two work items a second), and helpers asked
for centuries. Outcome: the one validation report (`bpmn check`, the editor's publish,
`processes load`) refuses each, naming the timer's event and the attribute."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from configurator.commands import bpmn_group
from configurator.validation import validate_template
from tests.conftest import BPMN_DIR

FIVE = (BPMN_DIR / "five_steps.bpmn").read_text()
ESCALATE = (BPMN_DIR / "escalate_to_leader.bpmn").read_text()


def with_date(expression: str) -> bytes:
    """five_steps whose boundary timer on tham_dinh (event nhac_viec_timer) has this timeDate."""
    return FIVE.replace("add_working_hours(None, 6)", expression).encode()


def with_timer(tag: str, expression: str) -> bytes:
    return (
        FIVE.replace("<bpmn:timeDate", f"<bpmn:{tag}")
        .replace("</bpmn:timeDate>", f"</bpmn:{tag}>")
        .replace("add_working_hours(None, 6)", expression)
        .encode()
    )


def errors(content: bytes) -> list[tuple[str, str | None, str]]:
    return [(f.code, f.element_id, f.message) for f in validate_template({"t.bpmn": content}).errors]


@pytest.mark.parametrize(
    "tag,expression,says",
    [
        ("timeDate", "'abc'", "bpmn:timeDate 'abc' is not an ISO 8601 date-time"),
        ("timeDate", "'9999-01-01T08:00:00+07:00'", "falls outside 1990 to 2100"),
        ("timeDate", "'1970-01-01T08:00:00+07:00'", "falls outside 1990 to 2100"),
        ("timeDate", "'P3D'", "is not an ISO 8601 date-time"),
        ("timeDate", "42", "must give ISO 8601 text, not 42"),
        ("timeDuration", "'P9999Y'", "bpmn:timeDuration 'P9999Y' is more than ten years"),
        ("timeDuration", "'PT99999999999999H'", "is more than ten years"),
        ("timeDuration", "'P99999999999Y'", "is more than ten years"),
        ("timeDuration", "'abc'", "is not an ISO 8601 duration"),
        ("timeCycle", "'R999999/PT1S'", "repeats more than 1000 times"),
        ("timeCycle", "'R10/PT1S'", "repeats faster than once a minute"),
        ("timeCycle", "'R/P1D'", "repeats more than 1000 times"),
        ("timeCycle", "'R3/P20Y'", "is more than ten years"),
        ("timeCycle", "'R2/9999-01-01T08:00:00+07:00/P1D'", "falls outside 1990 to 2100"),
        ("timeCycle", "'every day'", "is not an ISO 8601 cycle"),
    ],
)
def test_a_timer_out_of_bounds_is_refused_naming_its_event(tag, expression, says):
    [(code, element, message)] = errors(with_timer(tag, expression))
    assert (code, element) == ("timer", "nhac_viec_timer")
    assert says in message and f"bpmn:{tag}" in message


@pytest.mark.parametrize(
    "tag,expression",
    [
        ("timeDate", "'2030-01-01T08:00:00+07:00'"),
        ("timeDate", "add_working_hours(None, 6)"),
        ("timeDate", "han_xu_ly"),
        ("timeDuration", "'PT4H'"),
        ("timeDuration", "'P3D'"),
        ("timeCycle", "'R3/PT1H'"),
        ("timeCycle", "'R1000/P1D'"),
        ("timeCycle", "'R2/2030-01-01T08:00:00+07:00/P1D'"),
    ],
)
def test_sane_timers_pass(tag, expression):
    assert errors(with_timer(tag, expression)) == []


@pytest.mark.parametrize(
    "expression",
    [
        "add_working_days(None, 1000000)",
        "add_working_hours(None, hours=1e300)",
        "add_working_days(received_at, -99999).upper()",
    ],
)
def test_a_helper_asked_for_more_than_ten_years_is_refused(expression):
    [(code, element, message)] = errors(with_date(expression))
    assert (code, element) == ("helper-span", "nhac_viec_timer")
    assert "more than ten years of working time" in message


def test_a_condition_asking_a_helper_for_centuries_is_refused_too():
    content = FIVE.replace("hop_le == True", "hop_le == True and add_working_days(None, 1000000) &gt; now()")
    [(code, element, _)] = errors(content.encode())
    assert (code, element) == ("helper-span", "f4")


def test_checking_an_absurd_timer_takes_no_time():
    """SpiffWorkflow's own duration arithmetic walks month by month (P99999999999Y would hang it);
    the check computes the length without walking."""
    started = time.process_time()
    errors(with_timer("timeDuration", "'P99999999999Y'"))
    assert time.process_time() - started < 2


def test_bpmn_check_names_the_event_and_exits_1(tmp_path):
    path = tmp_path / "t.bpmn"
    path.write_bytes(with_timer("timeCycle", "'R999999/PT1S'"))
    answer = CliRunner().invoke(bpmn_group, ["check", "--json", str(path)])
    assert answer.exit_code == 1
    [report] = json.loads(answer.output)
    assert [(f["code"], f["element_id"]) for f in report["errors"]] == [("timer", "nhac_viec_timer")]


def test_the_shipped_fixture_with_a_literal_duration_still_passes():
    assert errors(ESCALATE.encode()) == []


# --- values computed while the dossier runs (from its data): the same bounds, naming the event --

from sqlalchemy import select  # noqa: E402

from engine.domain.errors import ExpressionError  # noqa: E402
from engine.services import definitions  # noqa: E402
from engine.services import dossiers  # noqa: E402
from engine.store.records import DossierRecord  # noqa: E402
from engine.store.records import WorkItemRecord  # noqa: E402
from tests.factories import RECEPTION  # noqa: E402
from tests.factories import add_units  # noqa: E402


def arm_timer_from_data(runtime, tag: str, value):
    """Start five_steps whose timer on tham_dinh reads `han_xu_ly` from the dossier's data, then
    complete tiep_nhan, which arms it; returns the dossier and its open item."""
    add_units(runtime)
    definition = definitions.deploy(runtime, {"t.bpmn": with_timer(tag, "han_xu_ly")})
    dossier = dossiers.start_dossier(
        runtime,
        definition_id=definition.id,
        unit_code="00070",
        applicant_name="Nguyễn Văn A",
        actor=RECEPTION,
        data={"han_xu_ly": value},
    )
    with runtime.db.session() as s:
        [item] = s.scalars(select(WorkItemRecord).where(WorkItemRecord.dossier_id == dossier.id))
    return dossier, item


@pytest.mark.parametrize(
    "tag,value,says",
    [
        ("timeDuration", "P99999999Y", "is more than ten years"),  # SpiffWorkflow would walk 1.2 billion months
        ("timeCycle", "R999999/PT1S", "repeats more than 1000 times"),
        ("timeDate", "9999-01-01T08:00:00+07:00", "falls outside 1990 to 2100"),
    ],
)
def test_a_timer_value_from_data_out_of_bounds_fails_its_step_naming_the_event(runtime, tag, value, says):
    dossier, item = arm_timer_from_data(runtime, tag, value)
    with runtime.db.session() as s:
        version = s.get(DossierRecord, dossier.id).version
    started = time.process_time()

    with pytest.raises(ExpressionError) as refused:
        dossiers.complete_work_item(runtime, item.id, RECEPTION, {})

    assert time.process_time() - started < 5
    assert refused.value.element_id == "nhac_viec_timer" and says in str(refused.value)
    with runtime.db.session() as s:
        assert s.get(DossierRecord, dossier.id).version == version


def test_a_sane_timer_value_from_data_arms_the_timer(runtime):
    dossier, item = arm_timer_from_data(runtime, "timeDuration", "PT4H")
    dossiers.complete_work_item(runtime, item.id, RECEPTION, {})
    with runtime.db.session() as s:
        assert s.get(DossierRecord, dossier.id).next_timer_at is not None
