"""Deadline computations per second: appointment with a 15:00 cut-off and one pause over a year
of real holidays, against a naive minute-by-minute loop written here, measured in the same run.
Both must agree on a sample. Prints a summary, then one JSON object as the last line.

BENCH_CASES sets the number of fast computations (default 20,000)."""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import date
from datetime import datetime
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# This file's own folder would shadow the standard library's `calendar`: put the project there instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from engine.calendars import CalendarSettings  # noqa: E402
from engine.calendars import build_calendar  # noqa: E402
from engine.domain import deadlines  # noqa: E402

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CUTOFF = clock_time(15, 0)
RULE = deadlines.ClockStartRule(cutoff=CUTOFF)
LEGAL = 3 * 480
NAIVE_SAMPLE = 40
MINUTE = timedelta(minutes=1)


def cases(n: int, seed: int = 7) -> list[tuple[datetime, tuple[datetime, datetime]]]:
    """Random receipt minutes over 2026, each with one pause of 1-120 hours starting 1-48 h later."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        received = datetime(2026, 1, 1, tzinfo=VN) + timedelta(minutes=rng.randrange(365 * 24 * 60))
        pause_start = received + timedelta(hours=rng.randrange(1, 48))
        out.append((received, (pause_start, pause_start + timedelta(hours=rng.randrange(1, 120)))))
    return out


class NaiveCalendar:
    """The obvious implementation: is this minute a working minute? Walk until enough were counted."""

    def __init__(self, days_off: set[date], extra_working_days: set[date]):
        self.days_off, self.extra = days_off, extra_working_days

    def working_day(self, day: date) -> bool:
        return day in self.extra or (day.weekday() < 5 and day not in self.days_off)

    def working_minute(self, t: datetime) -> bool:
        hhmm = (t.hour, t.minute)
        return self.working_day(t.date()) and ((8, 0) <= hhmm < (12, 0) or (13, 0) <= hhmm < (17, 0))

    def clock_start(self, received: datetime) -> datetime:
        t = received
        if self.working_day(t.date()) and t.time() >= CUTOFF:
            t = datetime.combine(t.date() + timedelta(days=1), clock_time(0), tzinfo=VN)
        while not self.working_minute(t):
            t += MINUTE
        return t

    def appointment(self, received: datetime, legal: int, pause: tuple[datetime, datetime]) -> datetime:
        t, counted = self.clock_start(received), 0
        while True:
            if self.working_minute(t) and not pause[0] <= t < pause[1]:
                counted += 1
                if counted == legal:
                    return t + MINUTE  # the end of the last counted minute
            t += MINUTE


def main() -> None:
    cal = build_calendar([CalendarSettings("VN")], [])
    naive_cal = NaiveCalendar(set(cal.days_off), set(cal.extra_working_days))
    sample = cases(int(os.environ.get("BENCH_CASES", "20000")))

    t0 = time.perf_counter()
    results = [deadlines.appointment(cal, received, LEGAL, RULE, pauses=[pause]) for received, pause in sample]
    fast = len(sample) / (time.perf_counter() - t0)

    checked = sample[: min(NAIVE_SAMPLE, len(sample))]
    t0 = time.perf_counter()
    naive = [naive_cal.appointment(received, LEGAL, pause) for received, pause in checked]
    slow = len(checked) / (time.perf_counter() - t0)
    disagreements = [(r, a, b) for (r, _), a, b in zip(checked, results, naive) if a != b]

    print(f"calendar  {fast:,.0f} appointments/s (3 working days, 15:00 cut-off, one pause, 2026 holidays)")
    print(
        f"naive     {slow:,.1f} appointments/s (minute-by-minute loop); "
        f"agree on {len(checked) - len(disagreements)}/{len(checked)}"
    )
    for received, a, b in disagreements[:5]:
        print(f"  DISAGREE received {received}: calendar {a}, naive {b}")
    print(
        json.dumps(
            {
                "benchmark": "calendar",
                "ops_per_s": round(fast),
                "naive_ops_per_s": round(slow, 1),
                "ratio": round(fast / slow, 1),
                "agree": len(checked) - len(disagreements),
                "checked": len(checked),
            }
        )
    )
    if disagreements:
        sys.exit(1)


if __name__ == "__main__":
    main()
