"""Dates as Vietnamese documents write them, in the unit's local time."""

from datetime import UTC
from datetime import date
from datetime import datetime

from engine.domain import vn_dates


def test_an_appointment_on_a_letter_reads_hour_then_day_month_year_in_local_time():
    at = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
    assert vn_dates.document_datetime(at) == "10 giờ 00, ngày 04 tháng 12 năm 2026"


def test_the_place_and_date_line_names_the_day_not_a_time():
    assert vn_dates.place_and_date("Hà Nội", date(2026, 11, 20)) == "Hà Nội, ngày 20 tháng 11 năm 2026"
    late_evening_utc = datetime(2026, 11, 20, 19, 2, tzinfo=UTC)  # 02:02 on the 21st locally
    assert vn_dates.place_and_date("Hà Nội", late_evening_utc) == "Hà Nội, ngày 21 tháng 11 năm 2026"


def test_a_notification_time_is_local_never_utc():
    at = datetime(2026, 3, 16, 2, 0, tzinfo=UTC)
    assert vn_dates.short_datetime(at) == "09:00 ngày 16/03/2026"


def test_working_time_reads_in_days_hours_and_minutes_of_work():
    assert vn_dates.working_time(120) == "2 giờ"
    assert vn_dates.working_time(11 * 60) == "1 ngày 3 giờ"
    assert vn_dates.working_time(30) == "30 phút"
    assert vn_dates.working_time(0) == "0 phút"


def test_the_day_of_an_instant_is_its_local_day():
    late_evening_utc = datetime(2026, 11, 20, 19, 2, tzinfo=UTC)  # 02:02 on the 21st locally
    assert vn_dates.document_date(late_evening_utc) == "ngày 21 tháng 11 năm 2026"
    assert vn_dates.document_date(date(2026, 3, 2)) == "ngày 02 tháng 03 năm 2026"
