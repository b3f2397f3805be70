"""A dossier's workflow as its start leaves it, copied from one started once per template version.

Starting a workflow builds its task tree from the spec, predicts every branch and runs the engine
steps up to the first waiting element: about a third of a served start's Python calls, the same
work for every dossier of a template whose start runs no code. When the start evaluated nothing
(no script, condition, timer or service: the engine was never asked) and only carried the start
data down the tree, the result differs between two dossiers in their task ids, their clock
stamps and those data only. Such a start is made once per template version and data keys (the
*pristine* workflow, started on marker values) and each dossier gets a copy: new ids in the
order SpiffWorkflow would have drawn them, the stamps moved to now, each task's data made of
the dossier's own values. The copy's state is the text the start itself would write
(tests/engine/test_fresh_starts.py compares them with SpiffWorkflow's ids and clock fixed).

Anything else falls back to `runner.start`: a start that asked the engine anything, data holding
containers (SpiffWorkflow's merge shares or copies them in ways a copy would have to mirror), a
workflow or task holding attributes this module does not know (another SpiffWorkflow version),
subprocesses, waiting events, or SpiffWorkflow's own INFO logs switched on (MOTCUA_SPIFF_LOG:
the copy logs no task's state change).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.event import Event

from engine.bpmn import runner
from engine.bpmn.parser import SpecBundle
from engine.clock import Clock

#: What SpiffWorkflow 3.2's BpmnWorkflow and Task hold after a start; any other attribute means
#: another version, whose workflow this module does not know how to copy.
WORKFLOW_ATTRIBUTES = frozenset(
    {
        "spec",
        "data",
        "locks",
        "last_task",
        "success",
        "tasks",
        "completed",
        "completed_event",
        "task_removed_event",
        "task_tree",
        "subprocess_specs",
        "subprocesses",
        "bpmn_events",
        "correlations",
        "event_manager",
        "_BpmnWorkflow__script_engine",
    }
)
TASK_ATTRIBUTES = frozenset(
    {
        "id",
        "workflow",
        "_parent",
        "_children",
        "_state",
        "triggered",
        "task_spec",
        "thread_id",
        "data",
        "internal_data",
        "last_state_change",
    }
)
#: Values a copy may share with the dossier's data: SpiffWorkflow's merge copies any container.
SCALARS = (str, int, float, bool, type(None))
#: The engine's own, bound to the workflow it was installed on (engine.bpmn.stepping): never
#: copied, each Run installs it on its workflow.
ENGINE_ATTRIBUTES = frozenset({"update_waiting_tasks"})
#: (template version, data keys) remembered at most.
CAPACITY = 512
_SPIFF_TASK_LOG = logging.getLogger("spiff.task")


def start(bundle: SpecBundle, clock: Clock, script_engine: PythonScriptEngine, data: Mapping | None = None):
    """`runner.start(bundle, clock, script_engine, data)`, by a copy when the template's start
    allows one (the module's docstring)."""
    given = dict(data or {})
    if not _copyable_data(given) or _SPIFF_TASK_LOG.isEnabledFor(logging.INFO):
        return runner.start(bundle, clock, script_engine, data)
    pristine = _PRISTINE.of(bundle, tuple(given), clock)
    if pristine is None:
        return runner.start(bundle, clock, script_engine, data)
    runner.refuse_reserved_keys(given)
    workflow = pristine.copied(given)
    workflow.script_engine = script_engine  # not copied: every operation attaches its own
    return runner.Run(bundle, workflow, clock)


def _copyable_data(data: dict) -> bool:
    return all(type(key) is str and isinstance(value, SCALARS) for key, value in data.items())


@dataclass(frozen=True)
class Pristine:
    """A workflow started on marker values (`marks`) at `started` (time.time())."""

    workflow: BpmnWorkflow
    marks: dict
    started: float

    def copied(self, data: dict) -> BpmnWorkflow:
        """A new workflow, as the start on `data` would have left it now."""
        source = self.workflow
        workflow = object.__new__(BpmnWorkflow)
        ids = {old: uuid.uuid4() for old in source.tasks}  # in the order the start drew them
        tasks: dict = {}
        state = dict(source.__dict__)  # the spec, the subprocess specs, flags: shared or immutable
        for name in ENGINE_ATTRIBUTES:
            state.pop(name, None)
        state.update(
            # The bundle's own dict when it has subprocesses, a new one when not (as the start makes it).
            subprocess_specs=source.subprocess_specs or {},
            data=_copied_data(source.data),
            locks={},
            tasks=tasks,
            completed_event=Event(),
            task_removed_event=Event(),
            subprocesses={},
            bpmn_events=[],
            correlations={},
            event_manager=EventManager(workflow),
        )
        workflow.__dict__.update(state)
        shift = time.time() - self.started
        for old_id, task in source.tasks.items():
            copy = object.__new__(Task)
            copy.__dict__.update(task.__dict__)
            copy.id = ids[old_id]
            copy.workflow = workflow
            copy._parent = ids[task._parent] if task._parent is not None else None
            copy._children = [ids[child] for child in task._children]
            copy.data = {key: data[key] for key in task.data}  # the marks' keys, in the task's order
            copy.internal_data = dict(task.internal_data)  # flags the start set (a start event fired)
            copy.last_state_change = task.last_state_change + shift
            tasks[copy.id] = copy
        workflow.task_tree = tasks[ids[source.task_tree.id]]
        workflow.last_task = tasks[ids[source.last_task.id]] if source.last_task is not None else None
        return workflow


def _copied_data(data: dict) -> dict:
    """The workflow's own data after a start: its data objects, none set yet."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}


class _AskedTheEngine(Exception):
    """The start evaluated or ran something: its result may depend on the data or the time."""


class _Refusing(PythonScriptEngine):
    """A script engine that answers nothing: a start that asks it anything is not copied."""

    def evaluate(self, task, expression, external_context=None):
        raise _AskedTheEngine()

    def execute(self, task, script, external_context=None):
        raise _AskedTheEngine()

    def call_service(self, task, **kwargs):
        raise _AskedTheEngine()


class _Pristines:
    """The pristine workflow of each (template version, data keys), or None where a start cannot
    be copied; made on first use, bounded, shared by the process's threads (read only)."""

    def __init__(self, size: int = CAPACITY):
        self.size = size
        self._entries: dict[tuple, tuple[SpecBundle, Pristine | None]] = {}
        self._lock = threading.Lock()

    def of(self, bundle: SpecBundle, keys: tuple[str, ...], clock: Clock) -> Pristine | None:
        key = (id(bundle), keys)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is bundle:
            return entry[1]
        pristine = _started_once(bundle, keys, clock)
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (bundle, pristine)
        return pristine


def _started_once(bundle: SpecBundle, keys: tuple[str, ...], clock: Clock) -> Pristine | None:
    marks = {key: f"\x00pristine start data: {key}" for key in keys}
    started = time.time()
    try:
        run = runner.start(bundle, clock, _Refusing(), marks)
    except Exception:  # noqa: BLE001 - asked the engine, or failed: each start then runs itself (and says why)
        return None
    workflow = run.workflow
    return Pristine(workflow, marks, started) if _copyable(workflow, marks) else None


def _copyable(workflow: BpmnWorkflow, marks: dict) -> bool:
    """Only the start data carried down the tree distinguishes one dossier's start from another's."""
    if type(workflow) is not BpmnWorkflow or set(workflow.__dict__) - ENGINE_ATTRIBUTES != WORKFLOW_ATTRIBUTES:
        return False
    if workflow.subprocesses or workflow.bpmn_events or workflow.correlations or workflow.locks:
        return False
    if workflow.event_manager.tasks or not workflow.success or workflow.completed:
        return False
    if any(value is not None for value in workflow.data.get("data_objects", {}).values()):
        return False
    if set(workflow.data) - {"data_objects"}:
        return False
    return all(_copyable_task(task, marks) for task in workflow.tasks.values())


def _copyable_task(task: Task, marks: dict) -> bool:
    if type(task) is not Task or set(task.__dict__) != TASK_ATTRIBUTES:
        return False
    if not all(isinstance(value, SCALARS) for value in task.internal_data.values()):
        return False
    return task.data == {} or task.data == marks


_PRISTINE = _Pristines()
