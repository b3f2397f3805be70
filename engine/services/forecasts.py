"""Forecasts of open dossiers against their appointments (engine.domain.forecast), measured on
their templates: what is left of each open step, plus the budgets of the longest path after it to
an end (a unit's own step budgets first; a shared budget counted once per path; loops once).

The SLA sweep asks it whether a dossier needs an apology; the supervisor's at-risk list and the
desk's badge show the same forecast.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from engine.bpmn.extensions import process_flow
from engine.bpmn.parser import SpecBundle
from engine.domain import deadlines
from engine.domain.forecast import Forecast
from engine.domain.forecast import OpenStepOutlook
from engine.domain.forecast import forecast
from engine.domain.graphs import forward_edges
from engine.domain.graphs import heaviest_path
from engine.services.projection import CLOCK_PAUSING
from engine.services.runtime import Runtime
from engine.store import statistics
from engine.store.records import ProcessDefinitionRecord
from engine.store.records import TemplateBlobRecord


class Forecaster:
    """Forecasts many dossiers in one session, walking each template's paths once per set of
    unit budgets."""

    def __init__(self, rt: Runtime, session):
        self.rt, self.session = rt, session
        self._walkers: dict[tuple, object] = {}

    def of(self, dossier: statistics.OpenDossier, now: datetime) -> Forecast:
        calendar = self.rt.calendars.for_unit(self.session, dossier.unit_code)
        after = self._after(dossier)
        steps = [
            OpenStepOutlook(step.element_id, step.name, step.due_at, step.budget_minutes or 0, after(step))
            for step in dossier.steps
        ]
        return forecast(calendar, now, dossier.appointment_at, steps)

    def paused(self, dossier: statistics.OpenDossier) -> bool:
        """Whether its legal clock is stopped: waiting for the citizen (supplement, fees) or at a
        step the procedure excludes from its time limit (a public posting)."""
        if dossier.status in CLOCK_PAUSING:
            return True
        bundle = self.rt.bundle_for_definition(self.session, dossier.definition_id)
        return any(
            (policy := bundle.step(step.element_id)) is not None and policy.pauses_clock for step in dossier.steps
        )

    def _after(self, dossier: statistics.OpenDossier):
        budgets = tuple(sorted(((dossier.overrides or {}).get("budgets") or {}).items()))
        key = (dossier.definition_id, budgets)
        if key not in self._walkers:
            self._walkers[key] = _downstream(self.rt, self.session, dossier.definition_id, dict(budgets))
        return self._walkers[key]


def _downstream(rt: Runtime, s, definition_id: int, budgets: dict[str, str]):
    """A function: open step -> budget minutes of the longest path after it to an end."""
    definition = s.get(ProcessDefinitionRecord, definition_id)
    graph = _graph(definition.digest, definition.key, s)
    weights = _Weights(rt.bundle_for_definition(s, definition_id), budgets)

    def after(step: statistics.OpenStep) -> int:
        counted = frozenset({step.budget_group}) if step.budget_group else frozenset()
        return _longest_after(graph, weights, step.element_id, counted)

    return after


# -- the template's flow graph --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Graph:
    """Forward edges of a process (back edges of loops dropped, so a loop counts once)."""

    forward: dict[str, tuple[str, ...]]


_GRAPHS: dict[tuple[str, str], _Graph] = {}


def _graph(digest: str, key: str, s) -> _Graph:
    """The flow graph of a template's process; content never changes for a digest, so it is kept."""
    cached = _GRAPHS.get((digest, key))
    if cached is None:
        blob = s.get(TemplateBlobRecord, digest)
        cached = _GRAPHS[(digest, key)] = _read_graph(blob.files, key)
    return cached


def _read_graph(files: dict[str, str], key: str) -> _Graph:
    starts, edges = process_flow(files, key)
    return _Graph(_without_back_edges(starts, edges))


def _without_back_edges(starts: list[str], edges) -> dict[str, tuple[str, ...]]:
    return {node: tuple(targets) for node, targets in forward_edges(starts, edges).items()}


class _Weights:
    """Budget minutes of a node: its step budget (the unit's override first); a step of a shared
    budget group weighs the group's budget once per path."""

    def __init__(self, bundle: SpecBundle, overrides: dict[str, str]):
        self.bundle, self.overrides = bundle, overrides

    def of(self, element_id: str, counted: frozenset[str]) -> tuple[int, frozenset[str]]:
        step = self.bundle.step(element_id)
        if step is None:
            return 0, counted
        group = self.bundle.policy.budget_groups.get(step.budget_group) if step.budget_group else None
        if group is not None:
            if group.group_id in counted:
                return 0, counted
            return _minutes(group.budget), counted | {group.group_id}
        return _minutes(self.overrides.get(element_id) or step.budget), counted


def _longest_after(graph: _Graph, weights: _Weights, element_id: str, counted: frozenset[str]) -> int:
    """Budget minutes of the heaviest path after `element_id` (its own budget is not counted)."""

    def weight(node: str, groups: frozenset[str]) -> tuple[int, frozenset[str]]:
        return (0, groups) if node == element_id else weights.of(node, groups)

    return heaviest_path(graph.forward, [element_id], weight, counted=counted)[1]


@lru_cache(maxsize=256)
def _minutes(text: str | None) -> int:
    return deadlines.parse_working_duration(text) if text else 0
