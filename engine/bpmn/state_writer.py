"""Writes the state of a workflow kept in memory between changes (engine.bpmn.run_cache),
rewriting only the tasks that changed since its last state: a state is mostly the same tasks'
text, change after change. The text is the one `serializer.dump_state` writes.
"""

from __future__ import annotations

import pickle
import threading
import weakref
from json.encoder import c_make_encoder  # type: ignore[attr-defined]
from json.encoder import encode_basestring_ascii as _string  # what json.dumps writes a str as

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.task import Task

from engine.bpmn.serializer import thread_serializer
from engine.bpmn.state_size import MAX_STATE_CHARS
from engine.bpmn.state_size import tasks_of
from engine.bpmn.state_size import text_size


class StateWriter:
    """Writes one workflow's state change after change, reusing the JSON text of every task that
    did not change since the last write: the result is the text `dump_state` gives, character for
    character (tests/engine/test_state_writer.py compares the two at every step of every model).

    A task's text is a function of its own fields, its data and internal data, and its parent's
    data (SpiffWorkflow stores a delta against it). Those are compared through their pickles:
    nested values are shared between tasks' data (SpiffWorkflow's merge copies one level), so a
    script may change an old task's data in place, which neither its state nor its last change
    would show. Equal pickles mean the same types, values and key order, hence the same JSON;
    what pickle cannot write is written in full every time.
    """

    def __init__(self):
        self._texts: dict = {}  # id(task) -> (what its text depends on, '"id": {its text}')
        self._sizes: dict = {}  # a task's data's pickle -> that data's size as text
        self._pickles: dict | None = None  # id(task) -> its data's pickle, from measure to write
        self._ids = _IdTexts()

    def measure(self, workflow: BpmnWorkflow, limit: int) -> tuple[str | None, int, int]:
        """`state_size.largest_data` (the same walk, in one loop), a size remembered per distinct
        data while some task holds it: a size depends on the data alone, and a task that is
        reached copies its parent's data, so most tasks a change adds or changes hold data of a
        size already known. `write` follows, with the data as measured."""
        tasks = tasks_of(workflow)
        pickles = self._pickles = _pickle_data(tasks)
        sizes, kept = self._sizes, {}
        total = text_size(workflow.data, limit)
        largest: tuple[str | None, int] = (None, -1)
        for task in tasks:
            if total > limit:
                break
            key = pickles[id(task)]
            size = sizes.get(key)  # None for data pickle refused (never kept)
            if size is None or size > limit - total:  # a walk cut short is no size to reuse
                size = text_size(task.data, limit - total)
                if key is not None and size <= limit - total:
                    kept[key] = size
            else:
                kept[key] = size
            total += size
            if size > largest[1]:
                largest = (getattr(task.task_spec, "bpmn_id", None), size)
        self._sizes = kept
        return largest[0], largest[1], total

    def remember(self, workflow: BpmnWorkflow, texts: list[str]) -> None:
        """Take `texts` as the text of each task of `workflow` (in the order of `workflow.tasks`,
        as `task_texts` gives them) as it stands now: the next write reuses each one whose task
        is unchanged by then. For a workflow whose tasks' texts are known without writing them
        (engine.bpmn.fresh_starts: a copy of a start already written); a text that is not the
        task's would be written as it is."""
        tasks = list(workflow.tasks.values())
        if len(texts) != len(tasks) or workflow.subprocesses:
            raise ValueError("a text for each task of a workflow without subprocesses")
        pickles = _pickle_data(tasks)
        ats = [*map(id, tasks)]
        remembered: dict = {}
        self._tasks_text(workflow, None, None, remembered, pickles, dict(zip(ats, texts, strict=True)))
        self._texts = remembered
        sizes = self._sizes  # a size per distinct data: a copy's tasks hold few
        for at, task in zip(ats, tasks, strict=True):
            key = pickles[at]
            if key is not None and key not in sizes:
                size = text_size(task.data, MAX_STATE_CHARS)
                if size <= MAX_STATE_CHARS:
                    sizes[key] = size

    def write(self, workflow: BpmnWorkflow) -> str:
        pickles = self._pickles if self._pickles is not None else _pickle_data(tasks_of(workflow))
        self._pickles = None
        ser = thread_serializer()
        registry = ser.registry
        encode = _encoder(ser)
        texts: dict = {}
        registry._encoder_mode = True
        try:
            subprocesses = [
                (str(key), _object(self._workflow_pairs(sub, registry, encode, texts, pickles), encode))
                for key, sub in workflow.subprocesses.items()
            ]
            pairs = [
                *self._workflow_pairs(workflow, registry, encode, texts, pickles),
                ("subprocesses", _object(subprocesses, encode)),
                ("bpmn_events", encode(registry.convert(workflow.bpmn_events))),
                ("typename", _string(registry.typenames[type(workflow)])),
                (ser.VERSION_KEY, _string(ser.VERSION) if type(ser.VERSION) is str else encode(ser.VERSION)),
            ]
        finally:
            registry._encoder_mode = False
        self._texts = texts
        if len(self._ids) > 2 * len(pickles) + 64:  # ids of tasks gone from the workflow
            self._ids.clear()
        return _object(pairs, encode)

    def _workflow_pairs(self, workflow, registry, encode, texts: dict, pickles: dict) -> list[tuple[str, str]]:
        """The pairs of SpiffWorkflow's WorkflowConverter.to_dict, and BpmnSubWorkflowConverter's
        for a subprocess, its tasks' texts reused where unchanged."""
        last_task = workflow.last_task
        quoted_id = self._ids.quoted
        pairs = [
            ("data", encode(registry.convert(registry.clean(workflow.data)))),
            ("correlations", encode(workflow.correlations)),
            ("last_task", quoted_id(last_task.id) if last_task is not None else "null"),
            ("success", _LITERALS[success] if type(success := workflow.success) is bool else encode(success)),
            ("completed", _LITERALS[done] if type(done := workflow.completed) is bool else encode(done)),
            ("tasks", self._tasks_text(workflow, registry, encode, texts, pickles)),
            ("root", quoted_id(workflow.task_tree.id)),
        ]
        if not isinstance(workflow, BpmnWorkflow):
            pairs += [
                ("parent_task_id", _string(str(workflow.parent_task_id))),
                ("spec", _string(workflow.spec.name)),
                ("typename", _string(registry.typenames[type(workflow)])),
            ]
        return pairs

    def _tasks_text(self, workflow, registry, encode, texts: dict, pickles: dict, given: dict | None = None) -> str:
        """TaskConverter.to_dict's text of every task, as json.dumps writes `workflow.tasks`, or
        as `given` holds it by id(task) (`remember`). Entries are found by the task object (a
        UUID's hash is Python code); the task's id is part of what its text depends on."""
        known_texts = self._texts
        tasks = workflow.tasks
        task_text = _task_text if given is None and _library_converts_tasks(registry) else None
        typename = _string(registry.typenames.get(Task)) if given is None else ""
        quoted_id = self._ids.quoted
        parts = []
        for task_id, task in tasks.items():
            at = id(task)
            parent = tasks.get(task._parent)  # what Task.parent reads
            internal = task.internal_data
            own_data = pickles[at]
            parent_data = pickles[id(parent)] if parent is not None else b"root"
            internal_data = _pickled(internal) if internal else b""
            key = (
                task_id,
                task._parent,
                list(task._children),
                task.last_state_change,
                task._state,
                task.task_spec.name,
                task.triggered,
                own_data,
                parent_data,
                internal_data,
            )
            known = known_texts.get(at)
            if known is None or own_data is None or parent_data is None or internal_data is None or known[0] != key:
                if given is not None:
                    known = (key, given[at])
                elif task_text is not None and type(task) is Task:
                    known = (key, task_text(task, parent, registry, encode, quoted_id, typename))
                else:
                    known = (key, f"{quoted_id(task_id)}: {encode(registry.convert(task))}")
            texts[at] = known
            parts.append(known[1])
        return "{" + ", ".join(parts) + "}"


def task_texts(workflow: BpmnWorkflow) -> list[str]:
    """The text the state holds for each task of `workflow` (without subprocesses), in the order
    of `workflow.tasks`, as SpiffWorkflow's serializer writes it: its id as a JSON string, ": ",
    its TaskConverter.to_dict as JSON."""
    ser = thread_serializer()
    registry = ser.registry
    encode = _encoder(ser)
    registry._encoder_mode = True
    try:
        return [
            f"{_string(str(task_id))}: {encode(registry.convert(task))}" for task_id, task in workflow.tasks.items()
        ]
    finally:
        registry._encoder_mode = False


def value_texts(values) -> list[str]:
    """The text the state holds for each of `values` in a task's data (as json.dumps writes it)."""
    encode = _encoder(thread_serializer())
    return [encode(value) for value in values]


def _task_text(task: Task, parent: Task | None, registry, encode, quoted_id, typename: str) -> str:
    """'"id": {its dict}' for the dict SpiffWorkflow's TaskConverter.to_dict gives a task (with
    its typename, as the serializer's registry gives it while encoding), as json.dumps writes
    it: the same keys in the same order, each value written as the encoder writes it, from the
    parent the caller has in hand (the library looks it up three times) and the task's fields
    read directly. Put together from the values' texts rather than encoded as one dict: ids,
    names and literals are written here, and the encoder is asked only for data, numbers and
    the internal data (`typename` comes written). The writer's tests compare the texts at every
    step of every model."""
    if parent is None:
        parent_text, data, delta = "null", encode(task.data), "{}"
    else:
        before, after = parent.data, task.data
        parent_text, data = quoted_id(task._parent), "{}"
        # DeepMerge.get_updated_keys and get_deleted_keys
        updates = {key: after[key] for key in after if key not in before or after[key] != before[key]}
        deletions = [key for key in before if key not in after]
        delta = f'{{"updates": {encode(updates) if updates else "{}"}, "deletions": {encode(deletions) if deletions else "[]"}}}'
    internal = task.internal_data
    own, state, name, triggered = quoted_id(task.id), task._state, task.task_spec.name, task.triggered
    stamp = task.last_state_change
    return (
        f'{own}: {{"id": {own}, "parent": {parent_text}, '
        f'"children": [{", ".join([quoted_id(child) for child in task._children])}], '
        f'"last_state_change": {repr(stamp) if type(stamp) is float and stamp - stamp == 0 else encode(stamp)}, '
        f'"state": {str(state) if type(state) is int else encode(state)}, '
        f'"task_spec": {_string(name) if type(name) is str else encode(name)}, '
        f'"triggered": {_LITERALS[triggered] if type(triggered) is bool else encode(triggered)}, '
        f'"internal_data": {encode(registry.convert(internal)) if internal else "{}"}, '
        f'"data": {data}, "delta": {delta}, "typename": {typename}}}'
    )


#: What json.dumps writes True and False as (a finite float it writes as its repr).
_LITERALS = {True: "true", False: "false"}


class _IdTexts(dict):
    """id(UUID) -> (the UUID, its text as a JSON string): a task's id is written again each time
    the task, its parent or a child changes, and a UUID's text costs about ten times a look-up
    here (Python code in uuid). The UUID is held, so its id names no other object while here."""

    def quoted(self, uuid) -> str:
        known = self.get(id(uuid))
        if known is not None and known[0] is uuid:
            return known[1]
        text = _string(str(uuid))
        self[id(uuid)] = (uuid, text)
        return text


def _library_converts_tasks(registry) -> bool:
    """Whether the registry converts a Task with SpiffWorkflow's own TaskConverter.to_dict, the
    dict `_task_text` writes (another converter registered for tasks is asked as usual). The
    registry keeps `partial(_obj_to_dict, typename, to_dict)` per typename."""
    converter = registry.convert_to_dict.get(registry.typenames.get(Task))
    to_dict = getattr(converter, "args", (None,))[-1]
    return getattr(to_dict, "__func__", None) is TaskConverter.to_dict


def _pickle_data(tasks: list) -> dict:
    """id(task) -> the pickle of its data (None where pickle refuses it). By the object: a
    subprocess's tasks live in dicts of their own."""
    try:
        return {id(task): pickle.dumps(task.data, pickle.HIGHEST_PROTOCOL) for task in tasks}
    except Exception:  # noqa: BLE001 - one task's data refused: find which, one by one
        return {id(task): _pickled(task.data) for task in tasks}


def _pickled(value) -> bytes | None:
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - what pickle refuses is written in full every time
        return None


def _object(pairs, encode) -> str:
    """A JSON object from already encoded values, written as json.dumps writes one."""
    return "{" + ", ".join([f"{_string(key)}: {value}" for key, value in pairs]) + "}"


#: This thread's encoder settings (the serializer's encoder class, made once per thread as it is).
_local = threading.local()


def _encoder(ser):
    """`json.dumps(value, cls=...)` as serialize_json calls it, for many values: the C encoder
    JSONEncoder.encode builds per call (with its own circular-reference markers) built once per
    write, which a write's few dozen values would otherwise pay each."""
    settings = getattr(_local, "encoder", None)
    if settings is None:
        settings = _local.encoder = ser._encoder_cls()
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return settings.encode
    encode = c_make_encoder(
        {},
        settings.default,
        _string,
        settings.indent,
        settings.key_separator,
        settings.item_separator,
        settings.sort_keys,
        settings.skipkeys,
        settings.allow_nan,
    )
    return lambda value: "".join(encode(value, 0))


_writers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def writer_for(workflow: BpmnWorkflow) -> StateWriter:
    """The writer that last wrote `workflow` (a workflow kept in memory between changes), or a new one."""
    writer = _writers.get(workflow)
    if writer is None:
        writer = _writers[workflow] = StateWriter()
    return writer
