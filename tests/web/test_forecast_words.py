"""The words that say why a dossier is forecast to miss its appointment, on the desk's step page
(with the apology letter's deadline) and in the supervisor's at-risk list (without it)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from types import SimpleNamespace

from flask import render_template_string

LATE_STEP = SimpleNamespace(
    step="Thẩm định hồ sơ",
    step_late_minutes=90,
    remaining_minutes=600,
    minutes_left=0,
    appointment_passed=False,
    apology_deadline=datetime(2026, 3, 4, 2, 0, tzinfo=UTC),
    letter_overdue=False,
)


def _words(app, forecast, deadline: bool = True) -> str:
    with app.test_request_context("/"):
        return render_template_string("{{ forecast_why(f, deadline) }}", f=forecast, deadline=deadline)


def test_a_late_step_says_which_step_how_late_the_work_left_and_when_the_letter_is_due(app):
    assert _words(app, LATE_STEP) == (
        '<span class="forecast-why">Bước «Thẩm định hồ sơ» trễ 1 giờ 30 phút; còn lại 1 ngày 2 giờ làm việc, '
        "không còn giờ làm việc nào trước hạn trả. Phiếu xin lỗi và hẹn lại ban hành trước 09:00 ngày 04/03/2026.</span>"
    )


def test_the_at_risk_list_leaves_the_letter_out_and_an_overdue_letter_is_asked_for_now(app):
    on_time_step = SimpleNamespace(**{**vars(LATE_STEP), "step_late_minutes": 0, "minutes_left": 45})
    assert _words(app, on_time_step, deadline=False) == (
        '<span class="forecast-why">Bước «Thẩm định hồ sơ» chưa xong; còn lại 1 ngày 2 giờ làm việc, '
        "hẹn trả còn 45 phút.</span>"
    )
    overdue = SimpleNamespace(**{**vars(LATE_STEP), "step": None, "appointment_passed": True, "letter_overdue": True})
    assert _words(app, overdue).endswith("đã quá hạn trả. Phiếu xin lỗi và hẹn lại cần ban hành ngay.</span>")


def test_a_step_name_is_escaped(app):
    hostile = SimpleNamespace(**{**vars(LATE_STEP), "step": "<b>x</b>"})
    assert "&lt;b&gt;x&lt;/b&gt;" in _words(app, hostile) and "<b>" not in _words(app, hostile)
