"""Which changes to a dossier run a template author's code (scripts, conditions, expressions).

Read from the parsed spec and cached per template version (its content digest): starting a
dossier, completing a step, delivering a message or signal, or firing a timer runs the engine
from some elements up to the next element that waits (a person's step, a catch event). When
nothing on those paths evaluates code, the change is short and SQLite's write lock may be taken
at once; when something might, the services run the change on a read snapshot first.

The answer errs on the side of "runs code": an element whose behaviour is not understood here,
or a path that leaves a subprocess, counts as code.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from dataclasses import field

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn.parser import SpecBundle

#: Attributes of a task spec that hold code SpiffWorkflow evaluates when the task runs.
CODE_ATTRIBUTES = ("script", "prescript", "postscript", "condition", "cardinality")
#: Task spec classes that call out (DMN tables, services) or run a whole process of their own.
CALLING_CLASSES = (
    "BusinessRuleTask",
    "ServiceTask",
    "CallActivity",
    "SubWorkflowTask",
    "TransactionSubprocess",
    "EventSubprocess",
    "AdHocSubprocess",
)
#: Template versions analysed at most (the template cache keeps 1024 bundles too).
CAPACITY = 1024


@dataclass
class ScriptedPaths:
    """One template version's answers, computed on first question."""

    bundle: SpecBundle
    anywhere: bool
    _answers: dict = field(default_factory=dict)

    def on_start(self) -> bool:
        """Does starting a dossier run code before its first waiting element?"""
        return self._answer(("start",), lambda: self._walk_from(self.bundle.spec, [self.bundle.spec.start]))

    def on_reception(self) -> bool:
        """Does starting a dossier and completing its first step run code? (True when the
        template does not begin with exactly one step: the receipt is then refused anyway.)"""
        firsts = self.first_steps()
        return self.on_start() or len(firsts) != 1 or self.after_step(firsts[0])

    def first_steps(self) -> list[str]:
        """The people's steps a dossier's start reaches first (element ids)."""
        seen, todo, found = set(), [self.bundle.spec.start], []
        while todo:
            spec = todo.pop()
            if spec.name in seen:
                continue
            seen.add(spec.name)
            if getattr(spec, "manual", False):
                found.append(spec.bpmn_id)
            elif not _waits_for_event(spec):
                todo.extend(spec.outputs)
        return sorted(found)

    def after_step(self, element_id: str) -> bool:
        """Does completing step `element_id` run code (its post-script, the paths after it)?"""
        return self._answer(
            ("step", element_id), lambda: self._after(lambda spec: getattr(spec, "bpmn_id", None) == element_id)
        )

    def after_message(self, name: str) -> bool:
        return self._answer(("message", name), lambda: self._after(lambda spec: _catches(spec, name)))

    def after_signal(self, name: str) -> bool:
        return self._answer(("signal", name), lambda: self._after(lambda spec: _catches(spec, name)))

    def after_timers(self) -> bool:
        """Does firing any of the template's timers run code after the timer?"""
        return self._answer(("timers",), lambda: self._after(_is_timer, cycles_run_code=True))

    def _answer(self, key: tuple, compute) -> bool:
        if not self.anywhere:
            return False
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]

    def _after(self, matches, *, cycles_run_code: bool = False) -> bool:
        """Code runs after any element `matches` picks: found in a subprocess (whose end hands
        back to its parent) it is assumed to; in the main process, its paths are walked."""
        found = False
        for process, in_main in _processes(self.bundle):
            for spec in process.task_specs.values():
                if not matches(spec):
                    continue
                found = True
                if not in_main or _own_code(spec) or (cycles_run_code and _is_cycle(spec)):
                    return True
                if self._walk_from(process, list(spec.outputs)):
                    return True
        return not found  # nothing matched: unknown ground, assume code

    def _walk_from(self, process, first: list) -> bool:
        seen, todo = set(), list(first)
        while todo:
            spec = todo.pop()
            if spec.name in seen:
                continue
            seen.add(spec.name)
            if _runs_code_when_reached(spec):
                return True
            if getattr(spec, "manual", False) or _waits_for_event(spec):
                continue  # the change stops here; what follows belongs to a later change
            todo.extend(spec.outputs)
        return False


def paths_of(bundle: SpecBundle) -> ScriptedPaths:
    """The cached answers for `bundle`'s template version."""
    key = (bundle.digest, bundle.process_id)
    with _lock:
        paths = _cache.get(key)
        if paths is None:
            if len(_cache) >= CAPACITY:
                _cache.clear()
            paths = _cache[key] = ScriptedPaths(bundle, anywhere=_any_code(bundle))
        return paths


_cache: dict[tuple[str, str], ScriptedPaths] = {}
_lock = threading.Lock()


def _processes(bundle: SpecBundle):
    yield bundle.spec, True
    for process in bundle.subprocess_specs.values():
        yield process, False


def _any_code(bundle: SpecBundle) -> bool:
    return any(
        _runs_code_when_reached(spec) or _own_code(spec)
        for process, _ in _processes(bundle)
        for spec in process.task_specs.values()
    )


def _own_code(spec) -> bool:
    return any(getattr(spec, name, None) for name in CODE_ATTRIBUTES)


def _runs_code_when_reached(spec) -> bool:
    if _own_code(spec) or type(spec).__name__ in CALLING_CLASSES or hasattr(spec, "dmnEngine"):
        return True
    if any(condition is not None for condition, _ in getattr(spec, "cond_task_specs", ())):
        return True
    return any(_definition_runs_code(d) for d in _event_definitions(spec))


def _event_definitions(spec) -> list:
    definition = getattr(spec, "event_definition", None)
    if definition is None:
        return []
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _definition_runs_code(definition) -> bool:
    return (
        isinstance(definition, TimerEventDefinition)
        or getattr(definition, "expression", None) is not None
        or bool(getattr(definition, "correlation_properties", None))
    )


def _waits_for_event(spec) -> bool:
    return type(spec).__name__ in (
        "IntermediateCatchEvent",
        "BoundaryEvent",
        "ReceiveTask",
        "EventBasedGateway",
    ) and bool(_event_definitions(spec))


def _catches(spec, name: str) -> bool:
    return any(getattr(d, "name", None) == name for d in _event_definitions(spec)) and type(spec).__name__ not in (
        "IntermediateThrowEvent",
        "EndEvent",
        "SendTask",
    )


def _is_timer(spec) -> bool:
    return any(isinstance(d, TimerEventDefinition) for d in _event_definitions(spec))


def _is_cycle(spec) -> bool:
    return any(isinstance(d, CycleTimerEventDefinition) for d in _event_definitions(spec))
