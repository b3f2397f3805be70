"""A workflow kept in memory between changes has its state written by serializer.StateWriter,
which rewrites only the tasks that changed: what it writes must be, character for character,
what SpiffWorkflow's serializer writes for the whole workflow, at every step of every model that
runs (the shipped library's paths, the corpus's runs), and that state, loaded again, must give
the same workflow as the one kept in memory."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from uuid import UUID

import pytest

from engine.bpmn import runner
from engine.bpmn import state_size
from engine.bpmn import state_writer
from engine.bpmn.parser import parse_bundle
from engine.bpmn.script_env import make_script_engine
from engine.bpmn.serializer import dump_state
from engine.bpmn.serializer import load_state
from engine.bpmn.state_writer import StateWriter
from engine.clock import FrozenClock
from engine.domain.errors import ExpressionError
from tests.corpus import CORPUS
from tests.factories import BPMN_DIR
from tests.processes import test_paths


def _picture(run: runner.Run) -> dict:
    """What a change goes on from: every task's state and data, the ready steps, the timers."""
    tasks = [*run.workflow.tasks.values()]
    for sub in run.workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return {
        # Events a gateway saw are objects without equality: compared as the serializer sees them.
        "tasks": {str(t.id): (t.task_spec.name, t.state, t.data, _registry().convert(t.internal_data)) for t in tasks},
        "ready": [(h.task_id, h.element_id, h.data) for h in run.human_tasks()],
        "data": run.data,
        "timer": run.next_timer_at(),
        "messages": sorted(map(str, run.waiting_messages())),
        "completed": run.is_completed(),
    }


class CheckedDumps:
    """Wraps Run.dump: each state written must equal the full dump of the same workflow, and
    load again into the same workflow."""

    def __init__(self, monkeypatch):
        self.count = 0
        self.runs: dict[str, runner.Run] = {}
        original = runner.Run.dump

        def checked(run: runner.Run) -> str:
            state = original(run)
            assert state == dump_state(run.workflow)
            loaded = runner.resume(run.bundle, load_state(state, run.bundle), run.clock, run.workflow.script_engine)
            assert _picture(loaded) == _picture(run)
            self.count += 1
            self.runs[state] = run
            return state

        monkeypatch.setattr(runner.Run, "dump", checked)
        measure = StateWriter.measure

        def checked_measure(writer: StateWriter, workflow, limit: int):
            # The sizes it remembers between changes must name the element and total the walk
            # without them would (the element named when a state grows too large).
            measured = measure(writer, workflow, limit)
            assert measured == state_size.largest_data(workflow, limit)
            return measured

        monkeypatch.setattr(StateWriter, "measure", checked_measure)


@pytest.fixture
def checked_dumps(monkeypatch) -> CheckedDumps:
    return CheckedDumps(monkeypatch)


@pytest.mark.parametrize("procedure", test_paths.PROCEDURES, ids=[p.key for p in test_paths.PROCEDURES])
def test_every_state_of_the_library_paths_is_the_full_dump(sqlite_database, clock, procedure, checked_dumps):
    """The shipped procedures through the services, whose run cache keeps each dossier's workflow
    between its changes: the writer reuses texts there."""
    test_paths.test_paths_of_every_library_procedure(sqlite_database, clock, procedure)
    assert checked_dumps.count > 5


def _cases():
    if not CORPUS.is_dir():  # pragma: no cover - the corpus lives outside the repository
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=f"BPMN corpus not found at {CORPUS}"))]
    from tests.engine import test_corpus

    return [
        pytest.param(rel, pid, case, id=f"{rel}[{pid}]")
        for (rel, pid), case in test_corpus.RUN_CASES.items()
        if not case.xfail
    ]


@pytest.mark.parametrize("rel,pid,case", _cases())
def test_every_state_of_the_corpus_runs_is_the_full_dump(rel, pid, case, checked_dumps, monkeypatch):
    """The corpus driven with its workflow kept in memory between steps (instead of reloaded)."""
    from tests.engine import test_corpus

    def kept(bundle, state, clock, engine):
        return runner.resume(bundle, checked_dumps.runs[state].workflow, clock, engine)

    monkeypatch.setattr(runner, "load", kept)
    case = test_corpus.RunCase(**{**case.__dict__, "events": dict(case.events)})
    try:
        test_corpus.drive(rel, pid, case)
    except ExpressionError:
        assert case.expect == "refused"  # some are refused as they start, before a first state
    else:
        assert checked_dumps.count >= 1


def _five_steps() -> runner.Run:
    bundle = parse_bundle({"five_steps.bpmn": (BPMN_DIR / "five_steps.bpmn").read_bytes()}, "five_steps")
    clock = FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    engine = make_script_engine(
        {"add_working_hours": lambda start, hours: (clock.now() + timedelta(hours=hours)).isoformat()}
    )
    return runner.start(bundle, clock, engine, {"ho_so": {"giay_to": ["cccd"], "ngay": date(2026, 3, 2)}})


def _complete_next(run: runner.Run, data: dict) -> None:
    run.complete(run.human_tasks()[0].task_id, data)


def test_an_unchanged_workflow_is_written_without_converting_a_task(monkeypatch):
    run = _five_steps()
    writer = StateWriter()
    first = writer.write(run.workflow)
    converted = []
    registry_convert = type(_registry()).convert
    monkeypatch.setattr(
        type(_registry()), "convert", lambda self, obj: converted.append(obj) or registry_convert(self, obj)
    )

    task_text = state_writer._task_text
    monkeypatch.setattr(
        state_writer, "_task_text", lambda task, *args: converted.append(task) or task_text(task, *args)
    )

    assert writer.write(run.workflow) == first
    assert not [obj for obj in converted if type(obj).__name__ == "Task"]


def test_tasks_are_written_as_the_librarys_task_converter_writes_them(monkeypatch):
    """The writer writes a task's text itself only while the serializer's registry converts tasks
    with SpiffWorkflow's own TaskConverter (what `_task_text` writes): a change of the library's
    registration shows here."""
    run = _five_steps()
    _complete_next(run, {"ghi_chu": "xong"})
    written = []
    task_text = state_writer._task_text
    monkeypatch.setattr(state_writer, "_task_text", lambda task, *args: written.append(task) or task_text(task, *args))

    assert StateWriter().write(run.workflow) == dump_state(run.workflow)
    assert len(written) == len(run.workflow.tasks)


def test_an_old_tasks_data_changed_in_place_is_written_again():
    """SpiffWorkflow copies one level of data from parent to child: a nested value is shared by
    the tasks, so a later step changes a completed task's data without touching its state."""
    run = _five_steps()
    _complete_next(run, {})
    writer = StateWriter()
    writer.write(run.workflow)
    completed = [t for t in run.workflow.tasks.values() if t.task_spec.name == "tiep_nhan"][0]
    ready = run.workflow.get_task_from_id(UUID(run.human_tasks()[0].task_id))
    assert ready.data["ho_so"]["giay_to"] is completed.data["ho_so"]["giay_to"]

    ready.data["ho_so"]["giay_to"].append("so_ho_khau")

    assert writer.write(run.workflow) == dump_state(run.workflow)
    assert "so_ho_khau" in writer.write(run.workflow)


@pytest.mark.parametrize("stamp", [float("inf"), float("-inf"), float("nan"), 1772413200, 0.1 + 0.2, 1e22])
def test_a_tasks_clock_stamp_is_written_as_json_dumps_writes_it(stamp):
    """The writer writes a finite float stamp as its repr, as the JSON encoder does; any other
    stamp (infinite, not a number, an int) is left to the encoder."""
    run = _five_steps()
    _complete_next(run, {})
    writer = StateWriter()
    writer.write(run.workflow)
    completed = [t for t in run.workflow.tasks.values() if t.task_spec.name == "tiep_nhan"][0]
    completed.last_state_change = stamp

    assert writer.write(run.workflow) == dump_state(run.workflow)


def test_a_state_grown_in_place_past_the_cap_is_refused(monkeypatch):
    """The writer remembers each task's size while its data is unchanged: data grown in place is
    sized again."""
    run = _five_steps()
    _complete_next(run, {})
    state = run.dump()
    monkeypatch.setattr(state_size, "MAX_STATE_CHARS", len(state) + 5_000)
    run.dump()
    completed = [t for t in run.workflow.tasks.values() if t.task_spec.name == "tiep_nhan"][0]
    completed.data["ho_so"]["giay_to"].append("x" * 20_000)

    with pytest.raises(ExpressionError, match="would grow past"):
        run.dump()


def _registry():
    from engine.bpmn.serializer import thread_serializer

    return thread_serializer().registry
