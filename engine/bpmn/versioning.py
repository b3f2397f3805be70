"""Comparing two versions of a template and moving a loaded workflow from one to the other.

Pure SpiffWorkflow work (its SpecDiff, diff_workflow and migrate_workflow), with no database:
the services decide when to call it. Elements are named by their BPMN ids throughout.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from dataclasses import field

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.bpmn.util.diff import diff_workflow
from SpiffWorkflow.bpmn.util.diff import migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import runner
from engine.bpmn import timers
from engine.bpmn.extensions import StepPolicy
from engine.bpmn.parser import SpecBundle
from engine.clock import Clock
from engine.domain.errors import Reason

#: A task in one of these states has run or is running: its element must survive unchanged.
TOUCHED = TaskState.COMPLETED | TaskState.STARTED | TaskState.READY | TaskState.WAITING | TaskState.ERROR
#: Attributes our own comparison reports more readably (flows, name, type).
STRUCTURAL = frozenset({"inputs", "outputs", "bpmn_name", "typename"})
POLICY_FIELDS = ("role", "assignee", "budget", "budget_group", "warn_at", "clock_start")


@dataclass(frozen=True)
class ElementChange:
    """An element (BPMN id) added, removed or changed; `changes` says what, e.g. "name: 'A' -> 'B'"."""

    element_id: str
    name: str | None
    type: str
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyChange:
    """A budget, role or escalation that differs for a step (or the process, or a budget group)."""

    element_id: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class VersionDiff:
    key: str
    from_version: int
    to_version: int
    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)
    budgets: list[PolicyChange] = field(default_factory=list)
    decisions: list[ElementChange] = field(default_factory=list)  # decision tables and their rules

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.budgets or self.decisions)


@dataclass(frozen=True)
class MigrationCheck:
    ok: bool
    reasons: list[Reason]
    notes: list[Reason] = field(default_factory=list)  # safe differences worth knowing (open step budget)


def diff_bundles(
    old: SpecBundle, new: SpecBundle, *, key: str = "", from_version: int = 0, to_version: int = 0
) -> VersionDiff:
    before, after = _elements(old), _elements(new)
    attributes = _spiff_changes(old, new)
    changed = []
    for element_id in sorted(before.keys() & after.keys()):
        changes = _element_changes(before[element_id], after[element_id]) + [
            f"{name} changed" for name in attributes.get(element_id, ()) if name not in STRUCTURAL
        ]
        if changes:
            changed.append(_describe(after[element_id], tuple(changes)))
    return VersionDiff(
        key=key or new.process_id,
        from_version=from_version,
        to_version=to_version,
        added=[_describe(after[i]) for i in sorted(after.keys() - before.keys())],
        removed=[_describe(before[i]) for i in sorted(before.keys() - after.keys())],
        changed=changed,
        budgets=_policy_changes(old, new),
    )


def _elements(bundle: SpecBundle) -> dict[str, object]:
    """BPMN elements of the process and its subprocesses (SpiffWorkflow's helper specs skipped)."""
    found = {}
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None):
                found.setdefault(task_spec.bpmn_id, task_spec)
    return found


def _flows(task_spec) -> list[str]:
    """The elements a step leads to, looking through SpiffWorkflow's helper specs (boundary
    event splits and joins, end joins)."""
    targets, seen, todo = [], set(), list(task_spec.outputs)
    while todo:
        output = todo.pop(0)
        if output.name in seen:
            continue
        seen.add(output.name)
        if getattr(output, "bpmn_id", None):
            targets.append(output.bpmn_id)
        else:
            todo.extend(o for o in output.outputs if type(o).__name__ != "BoundaryEvent")
    return sorted(targets)


def _element_changes(old, new) -> list[str]:
    changes = []
    if type(old).__name__ != type(new).__name__:
        changes.append(f"type: {type(old).__name__} -> {type(new).__name__}")
    if old.bpmn_name != new.bpmn_name:
        changes.append(f"name: {old.bpmn_name!r} -> {new.bpmn_name!r}")
    if _flows(old) != _flows(new):
        changes.append(f"flows: {_flows(old)} -> {_flows(new)}")
    return changes


def _describe(task_spec, changes: tuple[str, ...] = ()) -> ElementChange:
    return ElementChange(task_spec.bpmn_id, task_spec.bpmn_name, type(task_spec).__name__, changes)


def _spiff_changes(old: SpecBundle, new: SpecBundle) -> dict[str, list[str]]:
    """Attributes SpiffWorkflow sees changed (scripts, conditions, data, lanes...) per element id."""
    pairs = [(old.spec, new.spec)] + [
        (spec, new.subprocess_specs[name])
        for name, spec in old.subprocess_specs.items()
        if name in new.subprocess_specs
    ]
    found: dict[str, list[str]] = {}
    for before, after in pairs:
        spec_diff = SpecDiff(_registry(), before, after)
        for task_spec, names in spec_diff.changed.items():
            aligned = spec_diff.alignment.get(task_spec)
            if getattr(task_spec, "bpmn_id", None) and aligned is not None and aligned.name == task_spec.name:
                found.setdefault(task_spec.bpmn_id, []).extend(names)
    return found


def _policy_changes(old: SpecBundle, new: SpecBundle) -> list[PolicyChange]:
    changes = []
    if old.policy.legal_limit != new.policy.legal_limit:
        changes.append(PolicyChange(new.process_id, "legal_limit", old.policy.legal_limit, new.policy.legal_limit))
    if old.policy.warn_at != new.policy.warn_at:
        changes.append(PolicyChange(new.process_id, "warn_at", old.policy.warn_at, new.policy.warn_at))
    old_groups, new_groups = old.policy.budget_groups, new.policy.budget_groups
    for group_id in sorted(old_groups.keys() | new_groups.keys()):
        before = old_groups[group_id].budget if group_id in old_groups else None
        after = new_groups[group_id].budget if group_id in new_groups else None
        if before != after:
            changes.append(PolicyChange(group_id, "budget", before, after))
    for element_id in sorted(_steps(old).keys() & _steps(new).keys()):
        changes.extend(_step_policy_changes(_steps(old)[element_id], _steps(new)[element_id]))
    return changes


def _steps(bundle: SpecBundle) -> dict[str, StepPolicy]:
    return {element_id: step for policy in bundle.policies.values() for element_id, step in policy.steps.items()}


def _step_policy_changes(old: StepPolicy, new: StepPolicy) -> list[PolicyChange]:
    changes = [
        PolicyChange(new.element_id, name, getattr(old, name), getattr(new, name))
        for name in POLICY_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    if old.escalations != new.escalations:
        changes.append(PolicyChange(new.element_id, "escalations", _levels(old), _levels(new)))
    return changes


def _levels(step: StepPolicy) -> str:
    return ", ".join(f"{e.after} {e.action}{' ' + e.target if e.target else ''}" for e in step.escalations)


_local = threading.local()


def _registry():
    # SpecDiff compares task specs through a serializer registry; one per thread, like the engine's.
    registry = getattr(_local, "registry", None)
    if registry is None:
        registry = _local.registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    return registry


# -- migration ----------------------------------------------------------------------------------


def check_workflow(run: runner.Run, old: SpecBundle, new: SpecBundle) -> MigrationCheck:
    top_diff, sp_diffs = diff_workflow(_registry(), run.workflow, new.spec, new.subprocess_specs)
    reasons: list[Reason] = []
    spec_changes = SpecDiff(_registry(), run.workflow.spec, new.spec).changed
    _touched_reasons(top_diff, spec_changes, reasons)
    for sp_id, sp_diff in sp_diffs.items():
        subprocess = run.workflow.subprocesses[sp_id]
        if sp_diff is None:
            if any(t.has_state(TOUCHED) for t in subprocess.tasks.values()):
                reasons.append(
                    Reason.of(
                        "subprocess %(process)s was removed while the dossier is in it", process=subprocess.spec.name
                    )
                )
            continue
        changes = SpecDiff(_registry(), subprocess.spec, new.subprocess_specs[subprocess.spec.name]).changed
        _touched_reasons(sp_diff, changes, reasons)
    notes = _open_step_notes(run, old, new) if not reasons else []
    return MigrationCheck(not reasons, reasons, notes)


def _touched_reasons(workflow_diff, spec_changes, reasons: list[Reason]) -> None:
    """Reasons naming BPMN elements; SpiffWorkflow's helper specs (boundary event splits, end
    joins) are named only when no element explains the refusal."""
    found: dict[bool, list[Reason]] = {True: [], False: []}
    for kind, tasks in (("removed", workflow_diff.removed), ("changed", workflow_diff.changed)):
        for task in tasks:
            if not task.has_state(TOUCHED):
                continue
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            step, state = bpmn_id or task.task_spec.name, TaskState.get_name(task.state).lower()
            if kind == "removed":
                reason = Reason.of(
                    "step %(step)s (%(state)s) was removed in the target version", step=step, state=state
                )
            else:
                reason = Reason.of(
                    "step %(step)s (%(state)s) was changed in the target version (%(fields)s)",
                    step=step,
                    state=state,
                    fields=", ".join(_names_for(task.task_spec, spec_changes)),
                )
            if reason not in found[bool(bpmn_id)]:
                found[bool(bpmn_id)].append(reason)
    reasons.extend(found[True] or found[False])


def _names_for(task_spec, spec_changes) -> list[str]:
    return sorted({name for spec, names in spec_changes.items() if spec.name == task_spec.name for name in names})


def _open_step_notes(run: runner.Run, old: SpecBundle, new: SpecBundle) -> list[Reason]:
    notes = []
    for task in run.human_tasks():
        before, after = old.step(task.element_id), new.step(task.element_id)
        if before is not None and after is not None:
            for change in _step_policy_changes(before, after):
                notes.append(
                    Reason.of(
                        "open step %(step)s: %(field)s %(old)s -> %(new)s; its work item keeps the deadline it has",
                        step=change.element_id,
                        field=change.field,
                        old=change.old,
                        new=change.new,
                    )
                )
    return notes


def migrate(run: runner.Run, new: SpecBundle, clock: Clock) -> runner.Run:
    """Point the loaded workflow at the new specs; SpiffWorkflow re-predicts its open branches."""
    workflow = run.workflow
    top_diff, sp_diffs = diff_workflow(_registry(), workflow, new.spec, new.subprocess_specs)
    with timers.clock_in_use(clock):
        migrate_workflow(top_diff, workflow, new.spec)
        for sp_id, sp_diff in sp_diffs.items():
            subprocess = workflow.subprocesses[sp_id]
            if sp_diff is not None:
                migrate_workflow(sp_diff, subprocess, new.subprocess_specs[subprocess.spec.name])
        workflow.subprocess_specs = new.subprocess_specs
    migrated = runner.Run(new, workflow, clock)
    migrated.advance()
    return migrated
