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
Its tasks' texts, too, are the pristine's with the copy's ids, stamps and values filled in
(`TaskTexts`), handed to the state writer: the start's state is written without SpiffWorkflow's
converter (two thirds of the calls of its first write), and its next change rewrites only the
tasks it changed.

Anything else falls back to `runner.start`: a start that asked the engine anything, data holding
containers (SpiffWorkflow's merge shares or copies them in ways a copy would have to mirror), a
workflow or task holding attributes this module does not know (another SpiffWorkflow version),
subprocesses, waiting events, or SpiffWorkflow's own INFO logs switched on (MOTCUA_SPIFF_LOG:
the copy logs no task's state change).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
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
from engine.bpmn.state_writer import task_texts
from engine.bpmn.state_writer import value_texts
from engine.bpmn.state_writer import writer_for
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
class Links:
    """The pristine's tree by its tasks' positions in `workflow.tasks`, so that a copy links its
    tasks without hashing the pristine's ids (a UUID's hash is Python code): each task's parent
    and children, which of `keys` its data holds, the root's and the last task's positions."""

    parents: tuple[int | None, ...]
    children: tuple[tuple[int, ...], ...]
    data_keys: tuple[int, ...]
    keys: tuple[tuple[str, ...], ...]
    root: int
    last_task: int | None

    @classmethod
    def of(cls, workflow: BpmnWorkflow) -> Links:
        at = {task_id: number for number, task_id in enumerate(workflow.tasks)}
        tasks = workflow.tasks.values()
        keys = list(dict.fromkeys(tuple(task.data) for task in tasks))
        return cls(
            parents=tuple(at[task._parent] if task._parent is not None else None for task in tasks),
            children=tuple(tuple(at[child] for child in task._children) for task in tasks),
            data_keys=tuple(keys.index(tuple(task.data)) for task in tasks),
            keys=tuple(keys),
            root=at[workflow.task_tree.id],
            last_task=at[workflow.last_task.id] if workflow.last_task is not None else None,
        )


@dataclass(frozen=True)
class Pristine:
    """A workflow started on marker values (`marks`) at `started` (time.time()); `texts`, where
    its tasks' state texts could be cut around what differs from one copy to another, writes a
    copy's without SpiffWorkflow's converter."""

    workflow: BpmnWorkflow
    marks: dict
    started: float
    links: Links
    texts: TaskTexts | None = None

    def copied(self, data: dict) -> BpmnWorkflow:
        """A new workflow, as the start on `data` would have left it now; its state writer knows
        its tasks' texts where `texts` can write them for `data`."""
        workflow, ids = self.copy_and_ids(data)
        if self.texts is not None and _writable_data(data):
            texts = self.texts.written(ids, [task.last_state_change for task in workflow.tasks.values()], data)
            writer_for(workflow).remember(workflow, texts)
        return workflow

    def copy_and_ids(self, data: dict) -> tuple[BpmnWorkflow, list[uuid.UUID]]:
        """The copied workflow and its tasks' ids, in the order of the pristine's tasks."""
        source, links = self.workflow, self.links
        workflow = object.__new__(BpmnWorkflow)
        ids = [uuid.uuid4() for _ in source.tasks]  # in the order the start drew them
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
        datas = [{key: data[key] for key in keys} for keys in links.keys]  # the marks' keys, in the tasks' order
        parents, children, data_keys = links.parents, links.children, links.data_keys
        for number, task in enumerate(source.tasks.values()):
            copy = object.__new__(Task)
            copy.__dict__.update(task.__dict__)
            copy.id = ids[number]
            copy.workflow = workflow
            parent = parents[number]
            copy._parent = ids[parent] if parent is not None else None
            copy._children = [ids[child] for child in children[number]]
            copy.data = datas[data_keys[number]].copy()
            copy.internal_data = dict(task.internal_data)  # flags the start set (a start event fired)
            copy.last_state_change = task.last_state_change + shift
            tasks[copy.id] = copy
        ordered = list(tasks.values())
        workflow.task_tree = ordered[links.root]
        workflow.last_task = ordered[links.last_task] if links.last_task is not None else None
        return workflow, ids


class TaskTexts:
    """The pristine's tasks' state texts as format strings, with a field for each task id, each
    task's clock stamp and each value of the start data: a copy's texts are these filled with
    its own (`written`). Made only where the pristine's own texts, cut so and filled with another
    copy's values, are that copy's texts as the writer writes them (`of`)."""

    def __init__(self, formats: list[str], keys: tuple[str, ...]):
        self.formats = formats
        self.keys = keys

    @classmethod
    def of(cls, pristine: Pristine) -> TaskTexts | None:
        workflow, marks = pristine.workflow, pristine.marks
        ids = [str(task_id) for task_id in workflow.tasks]
        fields = {text: number for number, text in enumerate(ids)}
        stamps = len(ids)
        values = 2 * len(ids)
        fields |= {text: values + number for number, text in enumerate(value_texts(marks.values()))}
        formats = []
        for number, (task, text) in enumerate(zip(workflow.tasks.values(), task_texts(workflow), strict=True)):
            stamp = repr(task.last_state_change)
            if text.count(stamp) != 1:
                return None
            cut = re.split("(" + "|".join(map(re.escape, [*fields, stamp])) + ")", text)
            formats.append(
                "".join(
                    f"{{{stamps + number if part == stamp else fields[part]}}}"
                    if at % 2
                    else part.replace("{", "{{").replace("}", "}}")
                    for at, part in enumerate(cut)
                )
            )
        made = cls(formats, tuple(marks))
        return made if made.writes_a_copy(pristine) else None

    def written(self, ids: list[uuid.UUID], stamps: list[float], data: dict) -> list[str]:
        """The texts of a copy's tasks: its tasks' ids and stamps in the pristine's order."""
        fields = [*map(str, ids), *map(repr, stamps), *value_texts([data[key] for key in self.keys])]
        return [text.format(*fields) for text in self.formats]

    def writes_a_copy(self, pristine: Pristine) -> bool:
        """Whether a copy on values other than the marks (each kind of scalar) gets its texts."""
        probe = dict(zip(self.keys, itertools.cycle(_PROBE_VALUES), strict=False))
        workflow, ids = pristine.copy_and_ids(probe)
        stamps = [task.last_state_change for task in workflow.tasks.values()]
        return self.written(ids, stamps, probe) == task_texts(workflow)


#: Values of each kind a copy's data may hold, written as the state writes them: quotes,
#: escapes and non-ASCII text included.
_PROBE_VALUES = ('Nguy\u1ec5n "V\u0103n" A\\ \n{0} \u2028', 0, -7, 1.25, True, False, None, "")


def _writable_data(data: dict) -> bool:
    """Plain values equal to themselves: SpiffWorkflow stores a task's data as what differs from
    its parent's, and a value unequal to itself (NaN) or of a subclass comparing its own way
    would differ where the marks did not."""
    return all(type(value) in _PLAIN and value == value for value in data.values())


_PLAIN = frozenset(SCALARS)


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
    if not _copyable(workflow, marks):
        return None
    pristine = Pristine(workflow, marks, started, Links.of(workflow))
    return dataclasses.replace(pristine, texts=TaskTexts.of(pristine))


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
