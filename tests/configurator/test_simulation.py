"""Simulating a template for a unit: appointment and each step's due time, before publishing."""

from __future__ import annotations

from configurator import library
from configurator.simulation import LocalSettings
from configurator.simulation import simulate
from tests.conftest import BPMN_DIR
from tests.conftest import vn
from tests.factories import add_units


def test_each_step_due_time_and_the_appointment_on_the_unit_calendar(runtime):
    add_units(runtime)
    files = {"five.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()}
    # Received Friday 13 Feb 2026 at 10:00, the last working day before Tết.
    result = simulate(runtime, files, "00070", vn(2026, 2, 13, 10, 0), answers={"tham_dinh": {"hop_le": True}})
    assert [s.element_id for s in result.steps] == ["tiep_nhan", "tham_dinh", "du_thao", "ky_duyet", "tra_ket_qua"]
    assert [s.due_at for s in result.steps] == [
        vn(2026, 2, 13, 15, 0),
        vn(2026, 2, 23, 15, 0),
        vn(2026, 2, 24, 10, 0),
        vn(2026, 2, 24, 15, 0),
        vn(2026, 2, 25, 10, 0),
    ]
    assert result.appointment == vn(2026, 2, 25, 10, 0)  # 3 working days from Friday 10:00
    assert result.fits and result.finishes_at == result.appointment  # 24 working hours of budgets


def test_budgets_that_overrun_the_limit_show_where(runtime):
    add_units(runtime)
    slow = (BPMN_DIR / "five_steps.bpmn").read_bytes().replace(b'budget="0.5d"', b'budget="2d"')
    result = simulate(
        runtime, {"slow.bpmn": slow}, "00070", vn(2026, 3, 2, 8, 0), answers={"tham_dinh": {"hop_le": True}}
    )
    assert not result.fits and result.finishes_at == vn(2026, 3, 6, 12, 0)


def test_library_birth_registration_with_a_late_receipt(runtime):
    add_units(runtime)
    [birth] = [p for p in library.procedures() if p.key == "dang_ky_khai_sinh"]
    result = simulate(runtime, {"b.bpmn": birth.bpmn("v1")}, "00070", vn(2026, 3, 2, 15, 30), cutoff="15:00")
    assert result.clock_start == vn(2026, 3, 3, 8, 0)
    assert result.appointment == vn(2026, 3, 3, 17, 0)
    assert result.fits and result.steps[-1].due_at <= result.appointment


def test_a_same_day_birth_registration_received_before_the_cut_off_is_done_that_day(runtime):
    add_units(runtime)
    [birth] = [p for p in library.procedures() if p.key == "dang_ky_khai_sinh"]
    # Received Tuesday 1 Dec 2026 at 14:59, a minute before the cut-off: the 2 h of budgets end at 17:00.
    result = simulate(runtime, {"b.bpmn": birth.bpmn("v1")}, "00070", vn(2026, 12, 1, 14, 59), cutoff="15:00")
    assert result.appointment == vn(2026, 12, 1, 17, 0)
    assert result.fits and result.finishes_at == vn(2026, 12, 1, 16, 59)


def test_a_step_the_commune_skips_takes_no_time_and_its_budgets_are_its_own(runtime):
    add_units(runtime)
    five = (
        (BPMN_DIR / "five_steps.bpmn")
        .read_bytes()
        .replace(
            b'<motcua:step role="chuyen_vien" budget="0.5d"/>',
            b'<motcua:step role="chuyen_vien" budget="0.5d" optional="true"/>',
        )
    )
    answers = {"tham_dinh": {"hop_le": True}}
    local = LocalSettings.of({"skip": ["du_thao"], "budgets": {"tiep_nhan": "1h"}, "roles": {"chuyen_vien": "cv_1"}})

    as_template = simulate(runtime, {"five.bpmn": five}, "00070", vn(2026, 3, 2, 8, 0), answers=answers)
    as_commune = simulate(runtime, {"five.bpmn": five}, "00070", vn(2026, 3, 2, 8, 0), answers=answers, local=local)

    skipped = next(s for s in as_commune.steps if s.element_id == "du_thao")
    assert skipped.skipped and skipped.due_at is None and skipped.holder == "cv_1"
    assert as_commune.steps[0].budget_minutes == 60 and as_commune.steps[0].local_budget
    assert (as_template.finishes_at, as_commune.finishes_at) == (vn(2026, 3, 4, 17, 0), vn(2026, 3, 4, 9, 0))
