"""The one place that drives SpiffWorkflow: start, complete a human task, fire timers, events.

Every operation runs on a freshly deserialized workflow, under the operation's clock, and
returns what the store must persist; a failure leaves nothing to persist.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from itertools import chain
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import service_tasks
from engine.bpmn import state_size
from engine.bpmn import stepping
from engine.bpmn import timers
from engine.bpmn.parser import SpecBundle
from engine.bpmn.script_env import step_time_limit
from engine.bpmn.serializer import load_state
from engine.bpmn.serializer import reserved_key_path
from engine.bpmn.state_writer import StateWriter
from engine.bpmn.state_writer import writer_for
from engine.bpmn.task_logs import quiet_task_logs
from engine.clock import Clock
from engine.domain.errors import EngineError
from engine.domain.errors import ExpressionError
from engine.domain.errors import InvalidAction

#: SpiffWorkflow compares `due < now` strictly; waking a second later always fires the timer.
TIMER_SLACK = timedelta(seconds=1)
#: SpiffWorkflow stops seeing READY tasks past a tree depth of 1000 (spiffworkflow.md §8).
MAX_TREE_SIZE = 5000

TIMER_EVENT_TYPES = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}

_READY = TaskState.READY
_WAITING = TaskState.WAITING
_COMPLETED = TaskState.COMPLETED


@dataclass(frozen=True)
class MessageWait:
    element_id: str
    name: str
    event: str


@dataclass(frozen=True)
class HumanTask:
    """A READY user or manual task as the store projects it into a work item."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    process_id: str
    data: dict


@dataclass
class Run:
    """A workflow loaded for one operation, with the bundle and clock it runs under."""

    bundle: SpecBundle
    workflow: BpmnWorkflow
    clock: Clock

    # -- queries -----------------------------------------------------------------------------
    def _all_tasks(self):
        """Every task of the workflow and its subprocesses, straight from SpiffWorkflow's task
        dicts (its TaskIterator is several times slower), chained in C: a generator of ours cost a
        Python call per task, and these walks run several times a change."""
        tasks = self.workflow.tasks.values()
        subprocesses = self.workflow.subprocesses
        if not subprocesses:
            return tasks
        return chain(tasks, *[subprocess.tasks.values() for subprocess in subprocesses.values()])

    def _ready_human(self):
        # `_state` is what Task.state returns (tests/engine/test_stepping.py compares the walks
        # with ones through the library's properties): the property is a Python call per task.
        return [t for t in self._all_tasks() if t._state == _READY and t.task_spec.manual]

    def human_tasks(self) -> list[HumanTask]:
        return [
            HumanTask(
                task_id=str(t.id),
                element_id=t.task_spec.bpmn_id,
                name=t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                lane=t.task_spec.lane,
                process_id=t.workflow.spec.name,
                data=dict(t.data),
            )
            for t in self._ready_human()
        ]

    def ready_task_ids(self) -> frozenset[str]:
        return frozenset([str(t.id) for t in self._ready_human()])

    def is_completed(self) -> bool:
        return self.workflow.is_completed()

    def waiting_events(self) -> list:
        """Every event the workflow waits for, looking inside event-based gateways (which
        SpiffWorkflow reports as one anonymous MultipleEventDefinition)."""
        events = []
        for task in self.workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            parts = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
            events.extend(part.details(task) for part in parts)
        return events

    def next_timer_at(self) -> datetime | None:
        dues = [
            timers.parse_due(event.value)
            for event in self.waiting_events()
            if event.event_type in TIMER_EVENT_TYPES and isinstance(event.value, str)
        ]
        return min(dues) + TIMER_SLACK if dues else None

    def waiting_messages(self) -> list[str]:
        return [e.name for e in self.waiting_events() if e.event_type not in TIMER_EVENT_TYPES]

    def message_waits(self) -> list[MessageWait]:
        """The elements waiting for a message or signal (a receive task, a catch event), with the
        event's name: what another agency's answer moves on."""
        waits = []
        for task in self.workflow.event_manager.tasks.values():
            definition = task.task_spec.event_definition
            parts = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
            spec = task.task_spec
            element_id = getattr(spec, "bpmn_id", None) or spec.name
            waits.extend(
                MessageWait(element_id, getattr(spec, "bpmn_name", None) or element_id, part.name)
                for part in parts
                if part.details(task).event_type not in TIMER_EVENT_TYPES
            )
        return waits

    def completed_element_ids(self) -> list[str]:
        return [
            t.task_spec.bpmn_id
            for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "bpmn_id", None)
        ]

    def last_reached_status(self) -> int | None:
        """The portal status of the node the dossier waits at (a catch event), else of the most
        recently completed node that declares one."""
        statuses = self.bundle.node_statuses
        if not statuses:  # the template gives no node a status: nothing to find
            return None
        latest = None
        for task in self._all_tasks():
            state = task._state
            if state != _COMPLETED and state != _WAITING:
                continue
            status = statuses.get(getattr(task.task_spec, "bpmn_id", None))
            if status is None:
                continue
            if state == _WAITING:
                return status
            if latest is None or task.last_state_change >= latest[0]:
                latest = (task.last_state_change, status)
        return latest[1] if latest else None

    @property
    def data(self) -> dict:
        return self.workflow.data

    def dump(self) -> str:
        if len(self.workflow.tasks) > MAX_TREE_SIZE:
            raise InvalidAction(
                "dossier workflow grew to %(count)s tasks; a loop in the template runs away",
                count=len(self.workflow.tasks),
            )
        # The workflow may be kept in memory for the dossier's next change (engine.bpmn.run_cache):
        # its writer then rewrites only the tasks that changed.
        writer = writer_for(self.workflow)
        self._refuse_oversized_state(writer=writer)
        state = writer.write(self.workflow)
        if len(state) > state_size.MAX_STATE_CHARS:  # the walk's estimate was under: escapes, dates
            self._refuse_oversized_state(measured=len(state))
        return state

    def _refuse_oversized_state(self, measured: int | None = None, writer: StateWriter | None = None) -> None:
        """Refuse, naming the element holding the most data, a state over the cap; the dossier
        keeps its last saved state."""
        limit = state_size.MAX_STATE_CHARS
        if writer is not None:
            element, _, total = writer.measure(self.workflow, limit)
        else:
            element, _, total = state_size.largest_data(self.workflow, limit)
        if measured is None and total <= limit:
            return
        raise ExpressionError(
            "the dossier's data would grow past %(limit)s characters (the state "
            "to save); the largest data is at this step",
            limit=limit,
            element_id=element,
        )

    # -- commands ----------------------------------------------------------------------------
    @contextmanager
    def _operation(self) -> Iterator[None]:
        """What every operation on the workflow runs within: the timers' clock, the task errors
        named by element, the step's time limit, the engine's stepping hooks and the library's
        task log extras left unbuilt (one generator's few calls, against five copies of the list)."""
        with (
            timers.clock_in_use(self.clock),
            _expression_errors(),
            step_time_limit(),
            stepping.steps_of(self.workflow),
            quiet_task_logs(),
        ):
            yield

    def advance(self) -> None:
        """Run engine steps until only human tasks or waiting events remain."""
        with self._operation():
            stepping.do_engine_steps(self.workflow)

    def complete(self, task_id: str, data: Mapping) -> None:
        refuse_reserved_keys(data)
        task = self._ready_human_task(task_id)
        with self._operation():
            task.data.update(data)
            task.run()
            stepping.do_engine_steps(self.workflow)

    def pending_service_calls(self) -> list[service_tasks.PendingCall]:
        """Service tasks waiting for a worker to run their connector."""
        return service_tasks.pending_calls(self._all_tasks())

    def waiting_service_task(self, task_id: str):
        """The SpiffWorkflow task of a waiting service task (a connector may read its data), or None."""
        return next(
            (
                t
                for t in self._all_tasks()
                if str(t.id) == task_id and task_id in {call.task_id for call in self.pending_service_calls()}
            ),
            None,
        )

    def finish_service_call(self, task_id: str, result) -> None:
        """Complete a waiting service task with its connector's result and run on."""
        refuse_reserved_keys(result if isinstance(result, Mapping) else {})
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (TaskNotFoundException, ValueError):
            task = None
        if (
            task is None
            or task.task_spec.bpmn_id is None
            or task_id not in {call.task_id for call in self.pending_service_calls()}
        ):
            raise InvalidAction("the service task %(task)s no longer waits for its connector", task=task_id)
        with self._operation():
            service_tasks.finish(task, result)
            stepping.do_engine_steps(self.workflow)

    def fire_timers(self) -> None:
        with self._operation():
            self.workflow.refresh_timers()
            stepping.do_engine_steps(self.workflow)

    def send_message(self, name: str, payload: Mapping | None = None) -> None:
        from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition

        self._send(MessageEventDefinition(name), payload)

    def send_signal(self, name: str) -> None:
        from SpiffWorkflow.bpmn.specs.event_definitions.simple import SignalEventDefinition

        self._send(SignalEventDefinition(name), None)

    def cancel(self) -> None:
        self.workflow.cancel()

    def _send(self, definition, payload) -> None:
        refuse_reserved_keys(payload or {})
        with self._operation():
            try:
                self.workflow.send_event(BpmnEvent(definition, payload=dict(payload or {})))
            except SpiffWorkflowException as exc:
                raise InvalidAction(
                    "nothing in this dossier waits for '%(event)s': %(error)s", event=definition.name, error=str(exc)
                ) from None
            stepping.do_engine_steps(self.workflow)

    def _ready_human_task(self, task_id: str):
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (TaskNotFoundException, ValueError):
            raise InvalidAction("task %(task)s is not part of this dossier", task=task_id) from None
        if not task.task_spec.manual or task.state != TaskState.READY:
            raise InvalidAction(
                "step '%(step)s' is not waiting for a person (state %(state)s)",
                step=task.task_spec.bpmn_id,
                state=TaskState.get_name(task.state),
            )
        return task


def refuse_reserved_keys(data: Mapping) -> None:
    """Refuse user data (form, start data, message payload) that uses a key the state's
    serializer reserves: stored, it would make the dossier impossible to load."""
    path = reserved_key_path(data)
    if path is not None:
        field = path.split(".")[0].split("[")[0]
        raise InvalidAction(
            "the field '%(path)s' uses a name the engine reserves ('%(key)s'); rename it",
            field=field,
            path=path,
            key=path.rsplit(".", 1)[-1],
        )


class _expression_errors:
    """Turns SpiffWorkflow's task errors into ExpressionError naming the element."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            return False
        if isinstance(exc, EngineError):
            # Some SpiffWorkflow paths call the environment directly: name the element ourselves.
            if exc.element_id is None:
                task = _failing_task(tb)
                exc.element_id = getattr(task.task_spec, "bpmn_id", None) if task is not None else None
            return False
        if not isinstance(
            exc,
            (SpiffWorkflowException, TypeError, ValueError, NameError, AttributeError, KeyError, NotImplementedError),
        ):
            return False
        task = getattr(exc, "task", None) or _failing_task(tb)
        element_id = getattr(task.task_spec, "bpmn_id", None) if task is not None else None
        raise ExpressionError(_describe(exc), element_id=element_id) from exc


def _failing_task(tb):
    """The SpiffWorkflow task whose code raised, found in the traceback's frames (innermost)."""
    from SpiffWorkflow.task import Task

    found = None
    while tb is not None:
        for name in ("my_task", "task"):
            candidate = tb.tb_frame.f_locals.get(name)
            if isinstance(candidate, Task) and getattr(candidate.task_spec, "bpmn_id", None):
                found = candidate
        tb = tb.tb_next
    return found


def _describe(exc: Exception) -> str:
    if not isinstance(exc, SpiffWorkflowException):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, WorkflowTaskException):
        parts = [str(exc).split("\n")[0]]
        if getattr(exc, "error_type", None):
            parts.append(f"({exc.error_type})")
        return " ".join(parts)
    return str(exc)


def start(bundle: SpecBundle, clock: Clock, script_engine: PythonScriptEngine, data: Mapping | None = None) -> Run:
    refuse_reserved_keys(data or {})
    workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=script_engine)
    if data:
        workflow.task_tree.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
    run = Run(bundle, workflow, clock)
    run.advance()
    return run


def load(bundle: SpecBundle, state: str, clock: Clock, script_engine: PythonScriptEngine) -> Run:
    return resume(bundle, load_state(state, bundle), clock, script_engine)


def resume(bundle: SpecBundle, workflow: BpmnWorkflow, clock: Clock, script_engine: PythonScriptEngine) -> Run:
    """A workflow in hand (loaded, or kept in memory as it was saved) run under this operation."""
    workflow.script_engine = script_engine  # not serialized: re-attach for every operation
    return Run(bundle, workflow, clock)
