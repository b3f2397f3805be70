"""The dossier's data as one record: what every completed step entered (read from its work item's
outcome, with who, when and on whose behalf), grouped by step with the form's labels, the latest
entry first. Also what a step's form starts with: the last entry of the same step when it comes
back (returned, re-opened), and the fields its form declares to carry forward from earlier steps.

Plain Python over plain values: the services hand in the completed steps and their forms.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from engine.domain.decisions import DECISION_KEY
from engine.domain.decisions import SUPPLEMENT_DECISIONS

#: A form property declaring where its value comes from: "<step id>.<field>" (or "<field>": the
#: latest value of that field in any earlier step). See docs/bpmn-extensions.md, "Step forms".
CARRY_FORWARD = "x-carry-forward"
#: The opinion that goes with a decision in the library's forms.
OPINION_KEY = "y_kien"
#: The decision a return records (engine.services.actions): not something to offer again.
RETURN_DECISION = "tra_lai"
#: What a supplement request wrote: answered once the step comes back with the supplement.
SUPPLEMENT_REQUEST_FIELDS = (DECISION_KEY, "noi_dung_bo_sung")


@dataclass(frozen=True)
class CompletedStep:
    """One completed work item, as the summary reads it; or another agency's answer to a
    waiting step (no work item: its id is None)."""

    work_item_id: int | None
    element_id: str
    name: str
    form_key: str | None
    completed_by: str | None
    on_behalf_of: str | None
    completed_at: datetime
    outcome: Mapping[str, Any]


@dataclass(frozen=True)
class FieldValue:
    name: str
    label: str
    value: Any
    shown: Any  # the enum's label for a choice, the value otherwise (booleans stay booleans)
    format: str | None = None  # the form's "format" (date, date-time), for the page to write it


@dataclass(frozen=True)
class Entry:
    work_item_id: int | None
    completed_by: str | None
    on_behalf_of: str | None
    completed_at: datetime
    fields: tuple[FieldValue, ...]


@dataclass(frozen=True)
class StepData:
    element_id: str
    name: str
    entries: tuple[Entry, ...]  # latest first

    @property
    def latest(self) -> Entry:
        return self.entries[0]

    @property
    def earlier(self) -> tuple[Entry, ...]:
        return self.entries[1:]


@dataclass(frozen=True)
class Proposal:
    """The decision (and opinion) of the step before a decision: what a leader signs off."""

    step: str
    element_id: str
    decision: str
    decision_label: str
    opinion: str | None
    completed_by: str | None
    completed_at: datetime


@dataclass(frozen=True)
class DossierData:
    steps: tuple[StepData, ...] = field(default_factory=tuple)

    def as_dict(self) -> list[dict]:
        """The summary as JSON-ready data (the API's and the archive's form)."""
        return [
            {
                "step": s.element_id,
                "name": s.name,
                "entries": [
                    {
                        "work_item_id": e.work_item_id,
                        "completed_by": e.completed_by,
                        "on_behalf_of": e.on_behalf_of,
                        "completed_at": e.completed_at.isoformat(),
                        "fields": [
                            {"name": f.name, "label": f.label, "value": f.value, "shown": f.shown, "format": f.format}
                            for f in e.fields
                        ],
                    }
                    for e in s.entries
                ],
            }
            for s in self.steps
        ]


def _shown(spec: Mapping, value: Any) -> Any:
    if "enum" in spec and value in spec["enum"]:
        names = spec.get("enumNames") or spec["enum"]
        return names[list(spec["enum"]).index(value)]
    return value


def _fields(outcome: Mapping[str, Any], form: Mapping | None) -> tuple[FieldValue, ...]:
    """The entered values labelled by the form, the decision and its opinion first, then the form's
    order; values the form no longer names (an older version's) keep their field name as label.
    Blank values are left out."""
    properties = (form or {}).get("properties", {})
    leading = [name for name in (DECISION_KEY, OPINION_KEY) if name in outcome]
    ordered = (
        leading
        + [name for name in properties if name in outcome and name not in leading]
        + sorted(set(outcome) - set(properties) - set(leading))
    )
    return tuple(
        FieldValue(
            name,
            properties.get(name, {}).get("title", name),
            outcome[name],
            _shown(properties.get(name, {}), outcome[name]),
            properties.get(name, {}).get("format"),
        )
        for name in ordered
        if outcome[name] not in (None, "")
    )


def summary(steps: Iterable[CompletedStep], forms: Mapping[str, Mapping]) -> DossierData:
    """Completed steps grouped by step (in the order the dossier first reached them), each step's
    entries latest first. `forms` maps a form key to its form."""
    ordered = sorted(steps, key=lambda s: (s.completed_at, s.work_item_id or 0))
    groups: dict[str, list[CompletedStep]] = {}
    for step in ordered:
        groups.setdefault(step.element_id, []).append(step)
    return DossierData(
        tuple(
            StepData(
                element_id,
                runs[-1].name,
                tuple(
                    Entry(
                        s.work_item_id,
                        s.completed_by,
                        s.on_behalf_of,
                        s.completed_at,
                        _fields(s.outcome or {}, forms.get(s.form_key or "")),
                    )
                    for s in reversed(runs)
                ),
            )
            for element_id, runs in groups.items()
        )
    )


def _latest(steps: Iterable[CompletedStep], element_id: str | None = None) -> CompletedStep | None:
    chosen = [s for s in steps if element_id is None or s.element_id == element_id]
    return max(chosen, key=lambda s: (s.completed_at, s.work_item_id or 0), default=None)


def carried_forward(form: Mapping | None, steps: Iterable[CompletedStep]) -> dict[str, Any]:
    """The values a form declares (CARRY_FORWARD) to take from earlier steps, where they exist."""
    steps = list(steps)
    values = {}
    for name, spec in (form or {}).get("properties", {}).items():
        source = spec.get(CARRY_FORWARD)
        if not source:
            continue
        element_id, _, source_field = source.rpartition(".")
        found = [
            s
            for s in steps
            if (not element_id or s.element_id == element_id) and (s.outcome or {}).get(source_field) not in (None, "")
        ]
        latest = _latest(found)
        if latest is not None:
            values[name] = latest.outcome[source_field]
    return values


def prefill(form: Mapping | None, element_id: str, steps: Iterable[CompletedStep]) -> dict[str, Any]:
    """What the step's form starts with: carried-forward values, overridden by what was last
    entered in this same step of this dossier (a returned or re-opened step comes back filled).
    A return sent from this step is not an entry to start from, nor is a supplement request once
    the supplement has come: their decision is taken afresh."""
    steps = list(steps)
    values = carried_forward(form, steps)
    last = _latest([s for s in steps if (s.outcome or {}).get(DECISION_KEY) != RETURN_DECISION], element_id)
    if last is not None:
        names = set((form or {}).get("properties", {})) or set(last.outcome or {})
        if (last.outcome or {}).get(DECISION_KEY) in SUPPLEMENT_DECISIONS:
            names -= set(SUPPLEMENT_REQUEST_FIELDS)  # the supplement came: the check is decided afresh
        values.update({k: v for k, v in (last.outcome or {}).items() if k in names and v not in (None, "")})
    return values


def proposal(steps: Iterable[CompletedStep], forms: Mapping[str, Mapping], element_id: str) -> Proposal | None:
    """The latest decision taken in another step than `element_id` (the specialist's proposal
    on the leader's page), with its opinion; None when no earlier step decided anything."""
    deciding = [s for s in steps if s.element_id != element_id and (s.outcome or {}).get(DECISION_KEY)]
    latest = _latest(deciding)
    if latest is None:
        return None
    decision = latest.outcome[DECISION_KEY]
    spec = (forms.get(latest.form_key or "") or {}).get("properties", {}).get(DECISION_KEY, {})
    opinion = str(latest.outcome.get(OPINION_KEY) or "").strip() or None
    return Proposal(
        latest.name,
        latest.element_id,
        decision,
        str(_shown(spec, decision)),
        opinion,
        latest.completed_by,
        latest.completed_at,
    )
