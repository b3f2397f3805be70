"""The engine steps a workflow with engine.bpmn.stepping instead of SpiffWorkflow's own
`do_engine_steps` (and `update_waiting_tasks`): at every operation of every model the tests
run (the shipped library's paths, the corpus's runs, the test models with boundary events,
timers, gateways, multi-instance, subprocesses, call activities, messages, signals and errors),
a twin of the workflow is run through the same operation with the library's own stepping, and
both must write the very same state text (the same tasks created in the same order, the same
states changed in the same order, the same data) or fail with the same error."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from uuid import UUID

import pytest
import SpiffWorkflow.task as spiff_task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import runner
from engine.bpmn import stepping
from engine.bpmn.parser import parse_bundle
from engine.bpmn.script_env import make_script_engine
from engine.bpmn.serializer import dump_state
from engine.clock import FrozenClock
from engine.domain.errors import ExpressionError
from tests.corpus import CORPUS
from tests.factories import BPMN_DIR
from tests.processes import test_paths

#: The operations of runner.Run that run engine steps (or complete a task, which updates the
#: workflow's WAITING tasks).
OPERATIONS = ("advance", "complete", "fire_timers", "_send", "finish_service_call")


class Deterministic:
    """SpiffWorkflow's new task ids and state-change times, from counters that can be started
    again: a workflow and its twin run the same operation from the same numbers."""

    def __init__(self, monkeypatch):
        self.base = 0
        self.ids = itertools.count()
        self.ticks = itertools.count()
        monkeypatch.setattr(spiff_task, "uuid4", lambda: UUID(int=(self.base << 32) + next(self.ids)))
        clock = type("Clock", (), {"time": staticmethod(lambda: 1e9 + self.base + next(self.ticks) / 1e3)})
        monkeypatch.setattr(spiff_task, "time", clock)

    def restart(self, base: int) -> None:
        self.base = base
        self.ids = itertools.count()
        self.ticks = itertools.count()


class ComparedSteps:
    """Wraps the operations: each runs on the workflow with the engine's stepping and on a deep
    copy of it (specs and script engine shared) with the library's; the states must be equal."""

    def __init__(self, monkeypatch):
        self.count = 0
        self.mismatches: list[str] = []
        self.numbers = Deterministic(monkeypatch)
        self.library_only = False
        library_steps = stepping.do_engine_steps
        library_install = stepping.install

        def steps(workflow):
            if self.library_only:
                return workflow.do_engine_steps()
            return library_steps(workflow)

        def install(workflow):
            if not self.library_only:
                library_install(workflow)

        monkeypatch.setattr(stepping, "do_engine_steps", steps)
        monkeypatch.setattr(stepping, "install", install)
        for name in OPERATIONS:
            monkeypatch.setattr(runner.Run, name, self._compared(getattr(runner.Run, name)))

    def _compared(self, operation):
        def compared(run: runner.Run, *args, **kwargs):
            self._compare_walks(run)
            base = self.count + 1
            self.library_only = True
            try:
                twin = runner.Run(run.bundle, _twin(run), run.clock)
                self.numbers.restart(base)
                expected = _outcome(operation, twin, args, kwargs)
            finally:
                self.library_only = False
            self.numbers.restart(base)
            found = _outcome(operation, run, args, kwargs)
            self.count += 1
            if found[1:] != expected[1:]:
                self.mismatches.append(f"{operation.__name__} #{base}: {found[1]} / {expected[1]}")
            if found[0] is not None:
                raise found[0]
            return None

        return compared

    def _compare_walks(self, run: runner.Run) -> None:
        """The READY tasks in the order the library's walk lists them, of the workflow and of
        each of its subprocesses (the walks the engine steps start from)."""
        for workflow in (run.workflow, *run.workflow.subprocesses.values()):
            found = [task.id for task in stepping.ready_in_order(workflow)]
            expected = [task.id for task in workflow.get_tasks(state=TaskState.READY)]
            if found != expected:
                self.mismatches.append(f"ready tasks of {workflow.spec.name}: {found} / {expected}")
        found_queries = ([t.task_id for t in run.human_tasks()], run.ready_task_ids(), run.last_reached_status())
        expected_queries = _queries_through_properties(run)
        if found_queries != expected_queries:
            self.mismatches.append(f"the runner's queries: {found_queries} / {expected_queries}")


def _queries_through_properties(run: runner.Run) -> tuple:
    """The runner's human tasks (in the order of the task dicts), their ids and the last reached
    status, found through SpiffWorkflow's public properties (`Task.state`), where the runner
    reads the tasks' `_state`: they must agree, and hold the tasks `get_tasks` lists."""
    tasks = [*run.workflow.tasks.values()]
    for subprocess in run.workflow.subprocesses.values():
        tasks.extend(subprocess.tasks.values())
    human = [str(t.id) for t in tasks if t.state == TaskState.READY and t.task_spec.manual]
    assert set(human) == {str(t.id) for t in run.workflow.get_tasks(state=TaskState.READY, manual=True)}
    latest = None
    for task in tasks:
        if task.state not in (TaskState.WAITING, TaskState.COMPLETED):
            continue
        element_id = getattr(task.task_spec, "bpmn_id", None)
        status = next(
            (p.node_statuses[element_id] for p in run.bundle.policies.values() if element_id in p.node_statuses), None
        )
        if status is None:
            continue
        if task.state == TaskState.WAITING:
            return human, frozenset(human), status
        if latest is None or task.last_state_change >= latest[0]:
            latest = (task.last_state_change, status)
    return human, frozenset(human), latest[1] if latest else None


def _outcome(operation, run: runner.Run, args, kwargs) -> tuple:
    """(the error raised or None, its text, the state written, the events waited for)."""
    try:
        operation(run, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the twin must fail the same way
        return exc, f"{type(exc).__name__}: {exc}", None, None
    waiting = sorted(str(task.id) for task in run.workflow.event_manager.tasks.values())
    return None, None, dump_state(run.workflow), waiting


def _twin(run: runner.Run):
    """A deep copy of the workflow, sharing what is not its state: the specs and the script engine."""
    memo: dict = {id(run.workflow.script_engine): run.workflow.script_engine}
    for spec in (run.bundle.spec, *run.bundle.subprocess_specs.values()):
        memo[id(spec)] = spec
        for task_spec in spec.task_specs.values():
            memo[id(task_spec)] = task_spec
    twin = copy.deepcopy(run.workflow, memo)
    for workflow in (twin, *twin.subprocesses.values()):
        workflow.__dict__.pop("update_waiting_tasks", None)
    return twin


@pytest.fixture
def compared_steps(monkeypatch) -> ComparedSteps:
    return ComparedSteps(monkeypatch)


@pytest.mark.parametrize("procedure", test_paths.PROCEDURES, ids=[p.key for p in test_paths.PROCEDURES])
def test_every_step_of_the_library_paths_is_the_librarys(sqlite_database, clock, procedure, compared_steps):
    test_paths.test_paths_of_every_library_procedure(sqlite_database, clock, procedure)
    assert compared_steps.count > 5
    assert not compared_steps.mismatches


def _cases():
    if not CORPUS.is_dir():  # pragma: no cover - the corpus lives outside the repository
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=f"BPMN corpus not found at {CORPUS}"))]
    from tests.engine import test_corpus

    return [pytest.param(rel, pid, case, id=f"{rel}[{pid}]") for (rel, pid), case in test_corpus.RUN_CASES.items()]


@pytest.mark.parametrize("rel,pid,case", _cases())
def test_every_step_of_the_corpus_runs_is_the_librarys(rel, pid, case, compared_steps):
    from tests.engine import test_corpus

    case = test_corpus.RunCase(**{**case.__dict__, "events": dict(case.events)})
    try:
        test_corpus.drive(rel, pid, case)
    except ExpressionError:
        assert case.expect == "refused" or case.xfail
    except (Exception, pytest.fail.Exception):
        if not case.xfail:  # a known engine bug: its steps are compared all the same
            raise
    assert compared_steps.count >= 1
    assert not compared_steps.mismatches


#: The test models (file -> process id, start data, answers by element id).
MODELS = {
    "five_steps": ("five_steps", {}, {"tham_dinh": {"hop_le": True}}),
    "escalate_to_leader": ("escalate_to_leader", {}, {}),
    "service_steps": ("service_steps", {"dia_chi_dich_vu": "https://dich-vu.test"}, {}),
    "fee_and_notice": ("phi_va_thong_bao", {"hinh_thuc_nop": "truc_tiep", "so_ban": 2, "le_phi_ket_qua": 0}, {}),
    "portal_sync_step": ("portal_sync_step", {"y_kien": "dat"}, {}),
    "stepping/parallel": ("stepping_parallel", {}, {}),
    "stepping/subprocess": ("stepping_subprocess", {}, {}),
}


#: The messages the models wait for (the others they wait for are signals).
MESSAGES = ("answer", "bo_sung_xong")


def _helpers(clock: FrozenClock) -> dict:
    return {"add_working_hours": lambda start, hours: (clock.now() + timedelta(hours=hours)).isoformat()}


def _drive(name: str, pick: int, timers_at: int) -> runner.Run:
    """Runs a test model to its end: service calls answered, timers fired when due (every few
    steps while people still have work, so that boundary timers fire), messages sent, and the
    ready human tasks completed first to last or last to first; reloaded every other step."""
    process_id, data, answers = MODELS[name]
    files = {f"{name.rsplit('/', 1)[-1]}.bpmn": (BPMN_DIR / f"{name}.bpmn").read_bytes()}
    files.update({p.name: p.read_bytes() for p in BPMN_DIR.glob("*.dmn")})
    bundle = parse_bundle(files, process_id)
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    engine = make_script_engine(_helpers(clock))
    run = runner.start(bundle, clock, engine, data)
    for step in range(80):
        if step % 2:
            run = runner.load(bundle, run.dump(), clock, engine)
        else:
            run.dump()
        if run.is_completed():
            return run
        calls = run.pending_service_calls()
        if calls:
            run.finish_service_call(calls[0].task_id, {"ok": True})
            continue
        tasks, due = run.human_tasks(), run.next_timer_at()
        messages = [name for name in run.waiting_messages() if name in MESSAGES]
        if due is not None and (not tasks or step % 3 == timers_at):
            clock.set(max(due, clock.now()))
            run.fire_timers()
        elif messages and (not tasks or step % 4 == 3):
            run.send_message(messages[0], {"answered": step})
        elif tasks:
            task = tasks[0] if pick == 0 else tasks[-1]
            run.complete(task.task_id, answers.get(task.element_id, {}))
        else:
            return run
    return run


@pytest.mark.parametrize("pick,timers_at", [(0, 0), (-1, 1), (0, 2)], ids=["first", "last", "late-timers"])
@pytest.mark.parametrize("name", list(MODELS))
def test_every_step_of_the_test_models_is_the_librarys(name, pick, timers_at, compared_steps):
    run = _drive(name, pick, timers_at)
    assert compared_steps.count > 2
    assert not compared_steps.mismatches
    assert run.is_completed()


def _with_a_chain_before_the_ready_step(tasks: int):
    """five_steps with a chain of completed tasks put first under its root, so that the workflow
    holds `tasks` tasks and a READY task ends the chain: the walk descends the chain, then climbs
    back to the root's other children to descend again to the first step."""
    from SpiffWorkflow.task import Task

    run = runner.start(
        parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()}, "five_steps"),
        FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)),
        make_script_engine(_helpers(FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)))),
        {},
    )
    workflow = run.workflow
    step = workflow.get_tasks(state=TaskState.READY)[0]
    root = workflow.task_tree
    assert workflow.tasks[step._parent] is not root
    link = Task(workflow, step.task_spec, parent=root, state=TaskState.COMPLETED)
    root._children.insert(0, root._children.pop())  # the chain before the step's branch
    while len(workflow.tasks) < tasks - 1:
        link = Task(workflow, step.task_spec, parent=link, state=TaskState.COMPLETED)
    Task(workflow, step.task_spec, parent=link, state=TaskState.READY)
    return workflow


def test_the_ready_walk_stops_at_the_librarys_depth_limit_as_the_library_does():
    """Past a depth of 1000 the library's walk no longer descends (spiffworkflow.md §8): the
    engine's walk finds the same READY tasks in trees either side of that, including trees of
    at most 1000 tasks, which it walks without counting its climbs back from the leaves."""
    seen = {}
    for tasks in (990, 1000, 1001, 1010, 1030):
        workflow = _with_a_chain_before_the_ready_step(tasks)
        expected = [task.id for task in workflow.get_tasks(state=TaskState.READY)]
        assert [task.id for task in stepping.ready_in_order(workflow)] == expected
        seen[tasks] = len(expected)
    assert seen[990] == seen[1000] == 2  # the chain's end and the step
    assert seen[1030] == 1  # the chain's end is past the limit; the step after it is found
