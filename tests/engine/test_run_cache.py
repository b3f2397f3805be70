"""The workflows a process keeps between changes (engine.bpmn.run_cache): one that leaves the cache
without being handed to a change is freed at once, by reference counting, so that a process serving
more dossiers than it keeps leaves no task trees for the garbage collector to find; one handed over
is whole."""

from __future__ import annotations

import functools
import gc
import weakref
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from engine.bpmn import runner
from engine.bpmn.parser import parse_bundle
from engine.bpmn.run_cache import RunCache
from engine.bpmn.script_env import make_script_engine
from engine.clock import FrozenClock
from tests.factories import BPMN_DIR

MODELS = {"five_steps": "five_steps.bpmn", "stepping_subprocess": "stepping/subprocess.bpmn"}


@functools.cache
def _bundle(process_id: str):
    path = BPMN_DIR / MODELS[process_id]
    return parse_bundle({path.name: path.read_bytes()}, process_id)


def _started(process_id: str) -> tuple[runner.Run, str]:
    bundle = _bundle(process_id)
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    engine = make_script_engine(
        {"add_working_hours": lambda start, hours: (clock.now() + timedelta(hours=hours)).isoformat()}
    )
    run = runner.start(bundle, clock, engine, {"ho_so": {"giay_to": ["cccd"]}})
    return run, run.dump()


def _tree(run: runner.Run) -> list[weakref.ref]:
    """Weak references to the workflow, its subprocesses and every task of them."""
    workflows = [run.workflow, *run.workflow.subprocesses.values()]
    return [weakref.ref(held) for workflow in workflows for held in (workflow, *workflow.tasks.values())]


@pytest.fixture
def no_collector() -> Iterator[None]:
    """What is freed here is freed by reference counting alone."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.parametrize("process_id", sorted(MODELS))
def test_a_workflow_pushed_out_by_newer_ones_is_freed_at_once(process_id, no_collector):
    cache = RunCache(size=1)
    run, state = _started(process_id)
    tree = _tree(run)
    cache.keep(1, state, run.workflow)
    del run
    newer, newer_state = _started(process_id)
    cache.keep(2, newer_state, newer.workflow)

    assert [ref for ref in tree if ref() is not None] == []
    kept = cache.take(2, newer_state, newer.bundle)
    assert kept is newer.workflow and len(kept.tasks) > 1  # the newest is whole


def test_a_workflow_found_stale_or_forgotten_is_freed_at_once(no_collector):
    cache = RunCache()
    run, state = _started("five_steps")
    tree = _tree(run)
    bundle = run.bundle
    cache.keep(1, state, run.workflow)
    del run

    assert cache.take(1, state + " ", bundle) is None  # another process saved the dossier since
    assert [ref for ref in tree if ref() is not None] == []

    other, other_state = _started("five_steps")
    tree = _tree(other)
    cache.keep(2, other_state, other.workflow)
    del other
    cache.clear()
    assert [ref for ref in tree if ref() is not None] == []


def test_a_workflow_kept_by_a_cache_of_no_size_is_freed_at_once(no_collector):
    """`engine.py`'s cold runs keep nothing: what a change kept goes at once."""
    run, state = _started("five_steps")
    tree = _tree(run)
    RunCache(size=0).keep(1, state, run.workflow)
    del run
    assert [ref for ref in tree if ref() is not None] == []


def test_a_workflow_handed_over_after_others_were_pushed_out_is_whole(no_collector):
    """Letting go of the oldest touches nothing of the ones still kept."""
    cache = RunCache(size=2)
    states = {}
    for dossier_id in (1, 2, 3):  # the third pushes the first out
        run, states[dossier_id] = _started("five_steps")
        cache.keep(dossier_id, states[dossier_id], run.workflow)
    second = cache.take(2, states[2], run.bundle)
    assert cache.take(1, states[1], run.bundle) is None

    resumed = runner.resume(run.bundle, second, run.clock, run.workflow.script_engine)
    step = resumed.human_tasks()[0]
    assert step.element_id == "tiep_nhan"
    resumed.complete(step.task_id, {})
    assert resumed.human_tasks()[0].element_id == "tham_dinh"
    assert resumed.dump() != states[2]
