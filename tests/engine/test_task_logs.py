"""Within the engine's operations, SpiffWorkflow's tasks build their log extras only when a
record that carries them can be written (engine.bpmn.task_logs): the records written at INFO
keep the library's extras, and the library uses the method for its log records only."""

from __future__ import annotations

import ast
import logging
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import SpiffWorkflow
from SpiffWorkflow.task import Task

from engine.bpmn import runner
from engine.bpmn import stepping
from engine.bpmn.parser import parse_bundle
from engine.bpmn.script_env import make_script_engine
from engine.clock import FrozenClock
from tests.factories import BPMN_DIR

LIBRARY_EXTRAS = Task.__dict__["collect_log_extras"]


def _five_steps() -> runner.Run:
    bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()}, "five_steps")
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    engine = make_script_engine(
        {"add_working_hours": lambda start, hours: (clock.now() + timedelta(hours=hours)).isoformat()}
    )
    return runner.start(bundle, clock, engine)


def _complete_next(run: runner.Run) -> None:
    run.complete(run.human_tasks()[0].task_id, {})


def test_state_changes_logged_at_info_carry_the_librarys_extras(caplog):
    run = _five_steps()
    caplog.set_level(logging.INFO, logger="spiff.task")

    _complete_next(run)

    changes = [r for r in caplog.records if r.name == "spiff.task" and r.getMessage().startswith("State changed")]
    assert changes
    for record in changes:
        task = run.workflow.get_task_from_id(record.task_id)
        assert (record.workflow_spec, record.task_spec, record.task_type) == (
            task.workflow.spec.name,
            task.task_spec.name,
            type(task.task_spec).__name__,
        )
        assert record.parent == (task.parent.id if task.parent is not None else None)
        assert record.state == "COMPLETED" or record.elapsed >= 0


def test_at_warning_an_operation_builds_no_extras_and_leaves_the_library_as_it_was(monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="spiff.task")
    caplog.set_level(logging.WARNING, logger="spiff.data")
    during: list = []
    do_engine_steps = stepping.do_engine_steps

    def seen(workflow):
        during.append(Task.__dict__["collect_log_extras"])
        do_engine_steps(workflow)

    monkeypatch.setattr(stepping, "do_engine_steps", seen)
    run = _five_steps()

    _complete_next(run)

    assert during and all(method is not LIBRARY_EXTRAS for method in during)
    assert Task.__dict__["collect_log_extras"] is LIBRARY_EXTRAS
    assert not [r for r in caplog.records if r.name.startswith("spiff")]


def test_the_library_passes_a_tasks_extras_to_its_log_records_only():
    """Every call of `collect_log_extras` in SpiffWorkflow is a logging call's `extra`, or a
    workflow's own method asking its parent class's."""
    calls = []
    for path in Path(SpiffWorkflow.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        extras = {
            id(keyword.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            for keyword in node.keywords
            if keyword.arg == "extra"
        }
        inside_own = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, ast.FunctionDef) and function.name == "collect_log_extras"
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "collect_log_extras":
                calls.append((path.name, node.lineno, id(node) in extras or id(node) in inside_own))
    assert len(calls) >= 5
    assert [call for call in calls if not call[2]] == []
