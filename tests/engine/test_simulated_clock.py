"""MOTCUA_SIMULATED_CLOCK: every process given the same setting reads the same accelerated time
(benchmarks/province_day.py replays a day in minutes); production refuses it."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from engine.clock import AcceleratedClock
from engine.clock import SystemClock
from engine.clock import clock_from_env

OPENING = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)


def test_without_the_setting_the_wall_clock_runs(monkeypatch):
    monkeypatch.delenv("MOTCUA_SIMULATED_CLOCK", raising=False)
    assert isinstance(clock_from_env(), SystemClock)


def test_two_processes_with_one_setting_read_the_same_accelerated_time(monkeypatch):
    anchor = datetime.now(UTC) - timedelta(seconds=10)
    monkeypatch.setenv("MOTCUA_SIMULATED_CLOCK", f"{OPENING.isoformat()},60,{anchor.isoformat()}")
    web, worker = clock_from_env(), clock_from_env()
    assert isinstance(web, AcceleratedClock)
    # Ten real seconds after the anchor are ten simulated minutes after opening time.
    assert timedelta(minutes=10) <= web.now() - OPENING < timedelta(minutes=11)
    assert abs(worker.now() - web.now()) < timedelta(seconds=60)


def test_production_refuses_simulated_time(monkeypatch):
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("MOTCUA_SIMULATED_CLOCK", f"{OPENING.isoformat()},60,{OPENING.isoformat()}")
    with pytest.raises(RuntimeError, match="production runs on the wall clock"):
        clock_from_env()


@pytest.mark.parametrize(
    "setting",
    [
        "2026-12-07T07:30:00+07:00,60",
        "2026-12-07T07:30:00+07:00,-1,2026-12-03T10:00:00+00:00",
        "2026-12-07T07:30:00,60,2026-12-03T10:00:00+00:00",
    ],
)
def test_a_malformed_setting_names_the_variable_and_the_expected_form(monkeypatch, setting):
    monkeypatch.delenv("MOTCUA_ENV", raising=False)
    monkeypatch.setenv("MOTCUA_SIMULATED_CLOCK", setting)
    with pytest.raises(ValueError, match="MOTCUA_SIMULATED_CLOCK=.*START,RATE,WALL_ANCHOR"):
        clock_from_env()
