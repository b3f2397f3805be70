"""The supervisor's figures: what each number of the statistics means, written once.

For a scope (communes, optionally one procedure) and a period [from, to), every dossier that was
open at some moment of the period is counted exactly once on each side of the balance

    carried over + received = done + withdrawn / stopped + in progress + paused

where *in progress* and *paused* are read at the period's end, or now when the period ends
later ("as of"). The SQL of each counted figure is in engine/store/statistics.py (one condition per
key below); the pages, the exports and the API show these names and meanings. Names and meanings
are English templates, translated for the pages by the engine catalogue like the engine's errors.

The officers' table counts steps, not dossiers: `STEP_FIGURES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import fields
from operator import attrgetter

from engine.domain.errors import english
from engine.domain.model import Channel
from engine.domain.model import DossierStatus

#: A dossier waiting for the applicant (supplement, fees and taxes): counted as paused, never overdue.
PAUSED_STATUSES = frozenset({DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.FINANCIAL_OBLIGATION})
CLASSIFICATIONS = ("early", "on_time", "late")
CHANNELS = tuple(channel.value for channel in Channel)  # the receipt split of the report


@dataclass(frozen=True)
class Figure:
    key: str
    name: str
    meaning: str
    counted: bool = True  # counted in SQL; otherwise derived from counted figures


FIGURES = (
    Figure("carried_over", english("Carried over"), english("Received before the period and still open at its start.")),
    Figure("received", english("Received"), english("Received within the period.")),
    Figure(
        "received_counter",
        english("Received at the counter"),
        english("Received within the period in person at the one-stop desk."),
    ),
    Figure(
        "received_online",
        english("Received online"),
        english("Received within the period through the public service portal."),
    ),
    Figure(
        "received_post", english("Received by post"), english("Received within the period by public postal service.")
    ),
    Figure(
        "in_progress",
        english("In progress"),
        english(
            "Open at the period's end (or now, if the period ends later) and not paused: not yet due plus overdue."
        ),
        counted=False,
    ),
    Figure(
        "not_due",
        english("In progress, not yet due"),
        english("In progress, with its appointment not passed at the period's end (or now, if the period ends later)."),
    ),
    Figure(
        "overdue",
        english("In progress, overdue"),
        english("In progress, with its appointment before the period's end (or now, if the period ends later)."),
    ),
    Figure(
        "paused",
        english("Paused"),
        english(
            "Open at the period's end (or now, if the period ends later) and waiting for the "
            "applicant: supplement or financial obligation requested; never counted as overdue."
        ),
    ),
    Figure(
        "done",
        english("Done"),
        english("Finished with a result within the period: early plus on time plus late."),
        counted=False,
    ),
    Figure(
        "early",
        english("Done early"),
        english("Finished within the period, on a working day before its appointment's."),
    ),
    Figure(
        "on_time",
        english("Done on time"),
        english("Finished within the period, on its appointment's working day and not after it."),
    ),
    Figure("late", english("Done late"), english("Finished within the period, after its appointment.")),
    Figure(
        "withdrawn_stopped",
        english("Withdrawn / stopped"),
        english(
            "Closed within the period without an on-time verdict: withdrawn by the applicant, "
            "stopped, refused, or finished on a procedure that has no appointment."
        ),
    ),
    Figure(
        "on_time_rate",
        english("On-time rate"),
        english("Early plus on time, divided by done; none when nothing was done."),
        counted=False,
    ),
)
BY_KEY = {figure.key: figure for figure in FIGURES}
COUNTED = tuple(figure.key for figure in FIGURES if figure.counted)
#: The figures a table shows, in order (the channel split is in the export and the API).
TABLE_COLUMNS = (
    "carried_over",
    "received",
    "not_due",
    "overdue",
    "paused",
    "done",
    "early",
    "on_time",
    "late",
    "withdrawn_stopped",
    "on_time_rate",
)
#: Figures whose dossiers can be listed (every figure that counts dossiers).
LISTABLE = tuple(figure.key for figure in FIGURES if figure.key != "on_time_rate")


@dataclass(frozen=True)
class Figures:
    """The counted figures of one scope and period; the others are derived here."""

    carried_over: int = 0
    received: int = 0
    received_counter: int = 0
    received_online: int = 0
    received_post: int = 0
    not_due: int = 0
    overdue: int = 0
    paused: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    withdrawn_stopped: int = 0

    @property
    def in_progress(self) -> int:
        return self.not_due + self.overdue

    @property
    def done(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def on_time_rate(self) -> float | None:
        """(early + on time) / done; None when nothing was done."""
        return (self.early + self.on_time) / self.done if self.done else None

    @property
    def balances(self) -> bool:
        """Whether the period's two sides agree (they always should: a dossier is counted once on each)."""
        return self.carried_over + self.received == self.done + self.withdrawn_stopped + self.in_progress + self.paused

    def value(self, key: str) -> int | float | None:
        """A figure by its key, counted or derived."""
        if key not in BY_KEY:
            raise KeyError(key)
        return getattr(self, key)

    def as_dict(self) -> dict[str, int | float | None]:
        return {figure.key: self.value(figure.key) for figure in FIGURES}

    def __add__(self, other: Figures) -> Figures:
        # Field by field, not dataclasses.astuple (a deep copy): the dashboard adds thousands of cells.
        return Figures(*(x + y for x, y in zip(_counted(self), _counted(other))))


_counted = attrgetter(*(f.name for f in fields(Figures)))


# -- the officers' table: steps, not dossiers ------------------------------------------------------------

STEP_FIGURES = (
    Figure(
        "steps_done",
        english("Steps done"),
        english("Steps the officer completed within the period that had a due time: early plus on time plus late."),
        counted=False,
    ),
    Figure("step_early", english("Steps early"), english("Completed on a working day before the step's due time's.")),
    Figure(
        "step_on_time",
        english("Steps on time"),
        english("Completed on the working day of the step's due time and not after it."),
    ),
    Figure("step_late", english("Steps late"), english("Completed after the step's due time.")),
    Figure(
        "steps_without_deadline",
        english("Steps without a due time"),
        english("Steps completed within the period that had no due time (counted apart)."),
    ),
    Figure(
        "step_on_time_rate",
        english("Steps on-time rate"),
        english("Steps early plus on time, divided by steps done."),
        counted=False,
    ),
)
STEP_BY_KEY = {figure.key: figure for figure in STEP_FIGURES}
STEP_COLUMNS = ("steps_done", "step_early", "step_on_time", "step_late", "steps_without_deadline", "step_on_time_rate")
