"""`motcua calendar`: support staff can see why an appointment is what it is, and edit days."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from engine import calendars
from engine.commands.calendar import calendar_group
from engine.store import all_records  # noqa: F401  (every table on Base.metadata)
from engine.store.base import Base


@pytest.fixture
def database_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'motcua.sqlite3'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)  # the whole schema: a changed day also re-checks running dossiers
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    calendars.clear_calendar_cache()
    return url


def run(*args):
    return CliRunner().invoke(calendar_group, list(args), catch_exceptions=False)


def test_appointment_friday_after_the_cut_off_before_tet(database_url):
    result = run(
        "appointment", "--unit", "00070", "--received", "2026-02-13T15:30", "--days", "1", "--cutoff", "15:00", "--json"
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["chain"] == ["00070", "01", "VN"]
    assert answer["clock_start"] == "2026-02-23T08:00:00+07:00"
    assert "15:00 cut-off" in answer["clock_start_reason"]
    assert answer["appointment"] == "2026-02-23T17:00:00+07:00"
    skipped = {d["date"]: d["reason"] for d in answer["days_skipped"]}
    assert list(skipped) == [f"2026-02-{d}" for d in range(14, 23)]  # the whole 9-day break
    assert skipped["2026-02-17"] == "Tết Nguyên Đán" and skipped["2026-02-14"] == "cuối tuần"


def test_same_day_appointment_is_the_end_of_the_clock_start_day(database_url):
    morning = json.loads(
        run(
            "appointment",
            "--unit",
            "00070",
            "--received",
            "2026-12-01T10:00",
            "--same-day",
            "--cutoff",
            "15:00",
            "--json",
        ).output
    )
    assert (morning["legal_limit"], morning["legal_minutes"]) == ("same day", 0)
    assert morning["appointment"] == "2026-12-01T17:00:00+07:00"  # Tuesday 10:00 -> Tuesday 17:00

    # Friday 28 Aug 2026 after the cut-off: Monday 31 Aug (swapped), 1-2 Sep (National Day) are off.
    friday = run("appointment", "--unit", "00070", "--received", "2026-08-28T15:30", "--same-day", "--cutoff", "15:00")
    assert friday.exit_code == 0, friday.output
    assert "legal limit  same day: the end of the working day the clock starts on" in friday.output
    assert "skipped    2026-09-02 Wed  Quốc khánh" in friday.output
    assert friday.output.rstrip().endswith("appointment  2026-09-03T17:00:00+07:00")


def test_appointment_explained_in_text_with_the_make_up_saturday(database_url):
    result = run("appointment", "--unit", "VN", "--received", "2026-08-21T10:00", "--hours", "16")
    assert result.exit_code == 0, result.output
    assert "make-up    2026-08-22  Ngày làm bù" in result.output
    assert "skipped    2026-08-23 Sun  cuối tuần" in result.output
    assert result.output.rstrip().endswith("appointment  2026-08-24T10:00:00+07:00")


def test_show_lists_days_off_with_reasons_and_make_up_days(database_url):
    result = run("show", "--unit", "VN", "--from", "2026-08-21", "--to", "2026-09-03", "--json")
    days = {d["date"]: (d["kind"], d["reason"]) for d in json.loads(result.output)["days"]}
    assert days["2026-08-22"] == ("make-up", "Ngày làm bù")
    assert days["2026-08-31"] == ("off", "Ngày nghỉ (thay cho ngày 22/08/2026)")
    assert days["2026-09-02"] == ("off", "Quốc khánh")
    assert days["2026-09-03"] == ("working", None)
    text = run("show", "--unit", "VN", "--from", "2026-08-29", "--to", "2026-09-03")
    assert "2026-09-01 Tue  nghỉ      Quốc khánh" in text.output
    assert text.output.rstrip().endswith("1 working days (0 make-up), 5 days off, of 6")


def test_an_administrator_adds_a_province_day_off_and_wards_inherit_it(database_url):
    added = run(
        "add-day",
        "--unit",
        "01",
        "--from",
        "2026-03-09",
        "--to",
        "2026-03-10",
        "--kind",
        "off",
        "--note",
        "Nghỉ theo thông báo của UBND Thành phố",
    )
    assert added.exit_code == 0, added.output
    shown = json.loads(run("show", "--unit", "00070", "--from", "2026-03-09", "--to", "2026-03-11", "--json").output)
    assert [(d["date"], d["working"], d["reason"]) for d in shown["days"]] == [
        ("2026-03-09", False, "Nghỉ theo thông báo của UBND Thành phố"),
        ("2026-03-10", False, "Nghỉ theo thông báo của UBND Thành phố"),
        ("2026-03-11", True, None),
    ]
    override_id = added.output.split("#")[1].split(":")[0]
    assert f"#{override_id}  2026-03-09..2026-03-10  off" in run("list-days", "--unit", "01").output
    assert run("remove-day", override_id).exit_code == 0
    shown = json.loads(run("show", "--unit", "00070", "--from", "2026-03-09", "--to", "2026-03-09", "--json").output)
    assert shown["days"][0]["working"] is True


def test_bad_input_is_refused_clearly(database_url):
    both = run("appointment", "--received", "2026-03-02T08:00", "--days", "1", "--hours", "2")
    assert both.exit_code == 2 and "exactly one of --days, --hours or --same-day" in both.output
    same_day_and_days = run("appointment", "--received", "2026-03-02T08:00", "--days", "1", "--same-day")
    assert same_day_and_days.exit_code == 2 and "exactly one of" in same_day_and_days.output
    garbled = run("appointment", "--received", "2 March", "--days", "1")
    assert garbled.exit_code == 2 and "not a date-time" in garbled.output
    backwards = run(
        "add-day", "--unit", "VN", "--from", "2026-03-10", "--to", "2026-03-09", "--kind", "off", "--note", "x"
    )
    assert backwards.exit_code == 2 and "before it starts" in backwards.output
    missing = run("remove-day", "999")
    assert missing.exit_code == 2 and "no calendar override 999" in missing.output
