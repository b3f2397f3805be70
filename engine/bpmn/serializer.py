"""Serializes workflow state without its spec: the spec comes from the template cache on load.

Keeping the spec out halves the size and the cost of every request (reference/spiffworkflow.md §7).
The output is JSON text with SpiffWorkflow's task order preserved: it must be stored as text,
never JSONB, because task order carries the data deltas.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn.parser import SpecBundle

#: Stored beside each state so a future format change can be migrated explicitly.
STATE_FORMAT = "spiff-1.5/specless-1"


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """The top workflow without `spec`/`subprocess_specs`; restored against the bundle in use."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        bundle: SpecBundle = self.registry.bundle_in_use
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _uuid(value):
    from uuid import UUID

    return UUID(value)


def _configure() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Form data often carries dates and amounts; SpiffWorkflow refuses them unless registered.
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    return BpmnWorkflowSerializer(registry)


#: Keys SpiffWorkflow's serializer reads in any dict of task data, at any depth: a dict with
#: `typename` is restored as the registered type of that name, and fails to load when there is
#: none, after which no action on the dossier works. User data and scripts may not use them.
RESERVED_KEYS = frozenset({"typename"})
_CONTAINERS = (dict, list, tuple, set)


def reserved_key_path(value) -> str | None:
    """Where the first reserved key sits in `value` ('applicant.typename', 'items[2].typename'),
    or None. Walks iteratively and once per container, so deep or cyclic data cannot hang it."""
    stack, seen = [(value, "")], set()
    while stack:
        item, where = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                if key in RESERVED_KEYS:
                    return name
                if isinstance(child, _CONTAINERS):
                    stack.append((child, name))
        else:
            for index, child in enumerate(item):
                if isinstance(child, _CONTAINERS):
                    stack.append((child, f"{where}[{index}]"))
    return None


_local = threading.local()


def thread_serializer() -> BpmnWorkflowSerializer:
    """This thread's serializer of the engine's state format (engine.bpmn.state_writer writes
    the same text): the registry toggles a mutable flag while encoding, so one per thread."""
    ser = getattr(_local, "serializer", None)
    if ser is None:
        ser = _local.serializer = _configure()
    return ser


def dump_state(workflow: BpmnWorkflow) -> str:
    return thread_serializer().serialize_json(workflow)


def load_state(state: str, bundle: SpecBundle) -> BpmnWorkflow:
    ser = thread_serializer()
    dct = json.loads(state)
    if dct.get(ser.VERSION_KEY) != ser.VERSION:
        raise ValueError(
            f"stored state has serializer version {dct.get(ser.VERSION_KEY)!r}, "
            f"this engine reads {ser.VERSION!r}: migrate the state first"
        )
    dct.pop(ser.VERSION_KEY)
    ser.registry.bundle_in_use = bundle
    try:
        return ser.from_dict(dct)
    finally:
        ser.registry.bundle_in_use = None
