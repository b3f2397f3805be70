"""Officers' KPIs (issue 20): what each measure counts, and the working-time histogram that lets a
median and a 90th percentile be read from daily rollups (engine.store.officer_rollups).

Per officer, for a period:
- dossiers handled: dossiers in which the officer completed a step, each counted once, on the day
  of the officer's first completed step in it (per unit: on the unit's first completed step);
- steps completed early / on time / late (engine.domain.deadlines.classify), and without a deadline;
- working time per step: working minutes from the step's arrival to its completion, under the
  unit's calendar; its median and p90 are read from a histogram, so they are estimates within one
  bucket (the drill-down lists each step's exact time);
- returns caused: steps the officer had completed that a later step sent back (trả lại);
- supplement requests: the officer's completions that asked the applicant for a supplement;
- reassignments: steps a leader took from the officer and gave to someone else or the pool;
- apology letters: letters for dossiers in which the officer held a late step when the letter was
  recorded (per unit: every letter of the unit).
Citizens' satisfaction is not counted here but read from their ratings (engine.store.kpi_queries,
the mean score 0-2 of the rated dossiers an officer worked on), shown when any officer has one.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from dataclasses import field

#: Upper bounds (working minutes, inclusive) of the histogram's buckets; the last bucket is open.
BUCKET_BOUNDS = (15, 30, 60, 120, 240, 480, 960, 1440, 2400, 4800, 9600, 19200)
BUCKETS = len(BUCKET_BOUNDS) + 1
#: The counted columns of a KPI rollup row, in order.
COUNTS = (
    "dossiers",
    "step_early",
    "step_on_time",
    "step_late",
    "step_no_deadline",
    "returns_caused",
    "supplements",
    "reassigned",
    "apologies",
)
HISTOGRAM = tuple(f"time_{i:02d}" for i in range(BUCKETS))
COLUMNS = COUNTS + HISTOGRAM


def bucket_of(minutes: int) -> int:
    """The histogram bucket of a step's working time."""
    return bisect_left(BUCKET_BOUNDS, max(0, minutes))


def quantile(histogram: list[int] | tuple[int, ...], q: float) -> int | None:
    """The q-quantile (0 < q < 1) of the working times counted in `histogram`, interpolated within
    its bucket (the open last bucket answers its lower bound); None when nothing was counted."""
    total = sum(histogram)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            low = BUCKET_BOUNDS[i - 1] if i else 0
            if i == len(BUCKET_BOUNDS):
                return low
            return round(low + (BUCKET_BOUNDS[i] - low) * (rank - seen) / n)
        seen += n
    return BUCKET_BOUNDS[-1]


def exact_quantile(values: list[int], q: float) -> int | None:
    """The same quantile read from the values themselves (nearest rank), for the drill-down."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Kpi:
    """One officer's (or unit's) figures for a period."""

    key: str  # the user name, or the unit code
    name: str  # the officer's full name, or the unit's name
    unit: str = ""  # the officer's unit(s), names joined
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    satisfaction: float | None = None  # citizens' rating, filled where ratings exist

    def add(self, values) -> None:
        for name, n in zip(COUNTS, values[: len(COUNTS)]):
            self.counts[name] += int(n or 0)
        for i, n in enumerate(values[len(COUNTS) :]):
            self.histogram[i] += int(n or 0)

    @property
    def steps_done(self) -> int:
        return self.counts["step_early"] + self.counts["step_on_time"] + self.counts["step_late"]

    @property
    def on_time_rate(self) -> float | None:
        done = self.steps_done
        return (self.counts["step_early"] + self.counts["step_on_time"]) / done if done else None

    @property
    def median_minutes(self) -> int | None:
        return quantile(self.histogram, 0.5)

    @property
    def p90_minutes(self) -> int | None:
        return quantile(self.histogram, 0.9)

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("counts") or {}
        if name in counts:
            return counts[name]
        raise AttributeError(name)
